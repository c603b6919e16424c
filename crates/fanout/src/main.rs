//! The `fanout` Lambda: starts one Step Functions execution per Genesys conversation event.

use std::process::ExitCode;

use gcx_core::config::{positive, required, ProcessEnv};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    gcx_core::logging::init();
    let env = ProcessEnv;
    let (state_machine_arn, concurrency) = match (
        required(&env, "STATE_MACHINE_ARN"),
        positive(&env, "FANOUT_CONCURRENCY", 16, 256),
    ) {
        (Ok(arn), Ok(n)) => (arn, n),
        (Err(e), _) | (_, Err(e)) => {
            gcx_core::lambda::report_init_error(&e).await;
            return ExitCode::FAILURE;
        }
    };
    let sdk = gcx_core::aws::sdk_config().await;
    let app = fanout::Fanout {
        sfn: fanout::sfn_client(&sdk),
        state_machine_arn,
        concurrency,
    };
    gcx_core::aws::warm_if_asked(&env, app.sfn.list_state_machines().max_results(1).send()).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let app = app.clone();
        async move {
            let result = app.handle(event.payload).await;
            match &result {
                Ok(r) => tracing::info!(
                    started = r.started,
                    duplicates = r.duplicates,
                    skipped = r.skipped.len(),
                    failed = r.failed.len(),
                    "fanout done"
                ),
                Err(e) => tracing::error!(error_type = e.name(), "{e}"),
            }
            result
        }
    }))
    .await
    .map_or(ExitCode::FAILURE, |()| ExitCode::SUCCESS)
}
