//! The `process` Lambda: enriches a validated conversation event from the Genesys analytics API.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use gcx_core::config::{ConfigError, ProcessEnv};
use gcx_core::genesys::{Credentials, Endpoints, GenesysClient, TokenCache};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

async fn init(env: &ProcessEnv) -> Result<process::Process, ConfigError> {
    let settings = process::Settings::from_env(env)?;
    let endpoints = Endpoints::from_env(env)?;
    let credentials = Credentials::from_env(env, gcx_core::aws::sdk_config).await?;
    let http = gcx_core::http::client("gcx-process/0.1", Duration::from_secs(3));
    let tokens = TokenCache::new(
        http.clone(),
        endpoints.token_url(),
        credentials,
        settings.genesys_timeout,
    );
    let genesys = GenesysClient::new(http, endpoints, tokens, settings.genesys_timeout);
    Ok(process::Process {
        genesys,
        settings: Arc::new(settings),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    gcx_core::logging::init();
    let env = ProcessEnv;
    let app = match init(&env).await {
        Ok(app) => app,
        Err(e) => {
            gcx_core::lambda::report_init_error(&e).await;
            return ExitCode::FAILURE;
        }
    };
    // Fetching a token at init warms the TLS connection to the login host and fills the cache.
    gcx_core::aws::warm_if_asked(&env, app.genesys.tokens().token()).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let app = app.clone();
        async move {
            let time_left = gcx_core::lambda::time_left(event.context.deadline);
            let started = std::time::Instant::now();
            let result = app.handle(event.payload, time_left).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(r) => tracing::info!(enriched = r.enriched, event_type = %r.last_event_type, elapsed_ms, "processed"),
                Err(e) => tracing::warn!(error_type = e.name(), elapsed_ms, "{e}"),
            }
            result
        }
    }))
    .await
    .map_or(ExitCode::FAILURE, |()| ExitCode::SUCCESS)
}
