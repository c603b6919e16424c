//! The data-action Lambda binary: logging, the app built once, then the Runtime API loop.

use std::process::ExitCode;

use data_action::{handle, App};
use gcx_core::lambda::report_init_error;
use lambda_runtime::service_fn;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    gcx_core::logging::init();
    let app = match App::from_env(&gcx_core::config::ProcessEnv).await {
        Ok(app) => app,
        Err(error) => {
            report_init_error(&error).await;
            return ExitCode::FAILURE;
        }
    };
    match lambda_runtime::run(service_fn(|event| handle(event, &app))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "runtime loop ended");
            ExitCode::FAILURE
        }
    }
}
