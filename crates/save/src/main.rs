//! The `save` Lambda: conditional, newest-event-wins write of a conversation record to DynamoDB.

use std::process::ExitCode;
use std::sync::Arc;

use gcx_core::config::ProcessEnv;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    gcx_core::logging::init();
    let env = ProcessEnv;
    let settings = match save::Settings::from_env(&env) {
        Ok(s) => s,
        Err(e) => {
            gcx_core::lambda::report_init_error(&e).await;
            return ExitCode::FAILURE;
        }
    };
    let sdk = gcx_core::aws::sdk_config().await;
    let app = save::Save {
        dynamo: save::dynamo_client(&sdk),
        settings: Arc::new(settings),
    };
    gcx_core::aws::warm_if_asked(&env, app.dynamo.describe_limits().send()).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let app = app.clone();
        async move {
            let result = app.handle(event.payload).await;
            match &result {
                Ok(o) => tracing::info!(saved = o.saved, reason = %o.reason, "save done"),
                Err(e) => tracing::warn!(error_type = e.name(), "{e}"),
            }
            result
        }
    }))
    .await
    .map_or(ExitCode::FAILURE, |()| ExitCode::SUCCESS)
}
