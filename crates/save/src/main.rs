//! The `save` Lambda: conditional, newest-event-wins write of a conversation record to DynamoDB.

use std::sync::Arc;

use gcx_core::config::ProcessEnv;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gcx_core::logging::init();
    let env = ProcessEnv;
    let settings = match save::Settings::from_env(&env) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error_type = "Config.Invalid", variable = %e.variable, "{e}");
            return Err(e.into());
        }
    };
    let sdk = gcx_core::aws::sdk_config().await;
    let app = save::Save { dynamo: save::dynamo_client(&sdk), settings: Arc::new(settings) };
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
}
