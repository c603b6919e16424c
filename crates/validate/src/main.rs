//! The `validate` Lambda: `{isValid, reason}` for fanout's execution input. Never fails.

use std::process::ExitCode;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    gcx_core::logging::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let verdict = validate::validate(&event.payload);
        tracing::info!(valid = verdict.is_valid, reason = %verdict.reason, "validated");
        Ok::<_, std::convert::Infallible>(verdict)
    }))
    .await
    .map_or(ExitCode::FAILURE, |()| ExitCode::SUCCESS)
}
