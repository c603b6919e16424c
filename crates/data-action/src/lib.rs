//! The Genesys Cloud Architect data action backed by Lambda: looks a customer up in an external REST API
//! and returns the flat seven-field output object (`docs/contracts.md`, section data-action).
//!
//! Every business outcome, including validation failures and upstream outages, is a *successful*
//! invocation with `success: false`, because Architect only takes its failure path on a thrown error and
//! voice flows cannot read failure outputs. Each invocation writes exactly one JSON log line; the raw
//! customer id, the token and the request URL never appear in logs.
//!
//! Modules: [`input`] (event validation), [`upstream`] (the HTTP call), [`output`] (the answer's shape),
//! [`config`] (environment), [`error`] (outcome names and messages).

#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod input;
pub mod output;
pub mod upstream;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gcx_core::config::{ConfigError, Env};
use gcx_core::redact::pii_ref;
use lambda_runtime::LambdaEvent;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::{Config, TokenSource, TOKEN_SECRET_VAR};
pub use crate::error::{ActionError, InvalidInput};
pub use crate::output::Output;
use crate::upstream::Upstream;

/// Time kept in hand before the Lambda deadline to serialize and post the answer, so the function
/// always answers before Lambda would stop it.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(250);
/// The `User-Agent` sent upstream.
const USER_AGENT: &str = concat!("gcx-data-action/", env!("CARGO_PKG_VERSION"));

/// Everything built once at init and shared by all invocations; cheap to clone (an `Arc` inside).
#[derive(Debug, Clone)]
pub struct App {
    upstream: Arc<Upstream>,
}

/// What an invocation did, for its single log line.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// `None` on success.
    pub error: Option<ActionError>,
    /// [`pii_ref`] of the customer id, when there was one.
    pub customer_ref: Option<String>,
    /// The last upstream HTTP status, if a response arrived.
    pub upstream_status: Option<u16>,
    /// Upstream requests started.
    pub attempts: u32,
    /// Time spent in upstream requests.
    pub upstream_latency: Duration,
}

impl App {
    /// Reads the environment and builds the app; reads the token secret (the only AWS call) if one is
    /// configured, so init without a secret loads no SDK configuration.
    pub async fn from_env(env: &dyn Env) -> Result<App, ConfigError> {
        let config = Config::from_env(env)?;
        let token = match &config.token {
            TokenSource::None => None,
            TokenSource::Direct(token) => Some(token.clone()),
            TokenSource::Secret(arn) => Some(read_token(arn).await?),
        };
        App::new(&config, token.as_ref())
    }

    /// Builds the app from a validated config and the token, if any (one HTTP client, reused).
    pub fn new(config: &Config, token: Option<&SecretString>) -> Result<App, ConfigError> {
        let client = gcx_core::http::client(USER_AGENT, config.timeout);
        let upstream = Upstream::new(client, config.url.clone(), token, config.timeout)?;
        Ok(App {
            upstream: Arc::new(upstream),
        })
    }

    /// Answers one event by `deadline`: validation, lookup, mapping. Never fails and never panics on input.
    pub async fn answer(&self, event: &Value, deadline: Instant) -> (Output, Record) {
        let request = match input::parse(event) {
            Ok(request) => request,
            Err(rejected) => {
                let error = ActionError::Validation(rejected.reason);
                let record = Record {
                    error: Some(error),
                    customer_ref: rejected.customer_ref,
                    ..Record::default()
                };
                return (Output::failure(&error), record);
            }
        };
        let exchange = self.upstream.fetch(&request, deadline).await;
        let (output, error) = match exchange
            .outcome
            .and_then(|body| Output::from_upstream(&body))
        {
            Ok(output) => (output, None),
            Err(error) => (Output::failure(&error), Some(error)),
        };
        let record = Record {
            error,
            customer_ref: Some(pii_ref(&request.customer_id)),
            upstream_status: exchange.status,
            attempts: exchange.attempts,
            upstream_latency: exchange.latency,
        };
        (output, record)
    }
}

/// The Lambda handler: takes the raw JSON (so a non-object event is a `ValidationError` answer, not a
/// deserialization failure), answers before the deadline minus [`SAFETY_MARGIN`], logs one line.
pub async fn handle(event: LambdaEvent<Value>, app: &App) -> Result<Output, Infallible> {
    let started = Instant::now();
    let deadline = started + time_left(event.context.deadline);
    let (output, record) = app.answer(&event.payload, deadline).await;
    log_invocation(&record, &event.context.request_id, started.elapsed());
    Ok(output)
}

/// Time until `deadline_ms` (epoch milliseconds, from the Runtime API) minus [`SAFETY_MARGIN`].
fn time_left(deadline_ms: u64) -> Duration {
    gcx_core::lambda::time_left(deadline_ms).saturating_sub(SAFETY_MARGIN)
}

/// Writes the invocation's one log line: outcome, upstream status, latency, attempts, `customer_ref`.
fn log_invocation(record: &Record, request_id: &str, duration: Duration) {
    let outcome = record.error.map_or("ok", |e| e.name());
    let detail = record.error.map_or("", |e| e.detail());
    let customer_ref = record.customer_ref.as_deref().unwrap_or("");
    let upstream_status = record.upstream_status.map(u64::from);
    let upstream_latency_ms = millis(record.upstream_latency);
    let duration_ms = millis(duration);
    let attempts = record.attempts;
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                outcome,
                detail,
                customer_ref,
                upstream_status,
                upstream_latency_ms,
                attempts,
                duration_ms,
                request_id,
                "data action invocation"
            )
        };
    }
    match record.error {
        None | Some(ActionError::Validation(_) | ActionError::NotFound) => line!(info),
        Some(ActionError::Internal(_)) => line!(error),
        Some(_) => line!(warn),
    }
}

/// Milliseconds with microsecond resolution (warm invocations take well under one millisecond).
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Reads the bearer token from Secrets Manager, once, at init.
async fn read_token(arn: &str) -> Result<SecretString, ConfigError> {
    let sdk = gcx_core::aws::sdk_config().await;
    let secret = gcx_core::aws::read_secret(&sdk, arn)
        .await
        .map_err(|e| ConfigError::new(TOKEN_SECRET_VAR, format!("could not be read: {e}")))?;
    let token = secret.expose_secret().trim();
    if token.is_empty() {
        return Err(ConfigError::new(
            TOKEN_SECRET_VAR,
            "names a secret whose value is blank",
        ));
    }
    Ok(SecretString::from(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn time_left_keeps_the_safety_margin() {
        let now_ms = u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let left = time_left(now_ms + 1000);
        assert!(
            left <= Duration::from_millis(750) && left > Duration::from_millis(650),
            "{left:?}"
        );
        assert_eq!(time_left(now_ms + 100), Duration::ZERO);
        // A deadline already past is an emulator's constant, not a real one: the configured timeout rules.
        assert_eq!(time_left(0), Duration::from_secs(900) - SAFETY_MARGIN);
    }

    #[test]
    fn millis_keeps_microseconds() {
        assert_eq!(millis(Duration::from_micros(1234)), 1.234);
    }
}
