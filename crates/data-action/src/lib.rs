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

use std::sync::Arc;
use std::time::{Duration, Instant};

use gcx_core::config::{ConfigError, Env};
use gcx_core::lambda::{Function, Invocation, Never, Outcome};
use gcx_core::metrics::Unit;
use gcx_core::redact::pii_ref;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub use crate::config::Settings;
use crate::config::{TokenSource, TOKEN_SECRET_VAR};
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

/// The answer: the seven-field output (all Genesys sees) and what the log line says about it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The output object.
    pub output: Output,
    /// The invocation's facts for the log line.
    pub record: Record,
}

impl serde::Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.output.serialize(serializer)
    }
}

impl Outcome for Answer {
    fn outcome(&self) -> &'static str {
        self.record.error.map_or("ok", |e| e.name())
    }

    fn level(&self) -> tracing::Level {
        match self.record.error {
            None | Some(ActionError::Validation(_) | ActionError::NotFound) => tracing::Level::INFO,
            Some(ActionError::Internal(_)) => tracing::Level::ERROR,
            Some(_) => tracing::Level::WARN,
        }
    }

    /// `detail` (a fixed phrase), `customer_ref`, `upstream_status`, `upstream_latency_ms`, `attempts`:
    /// never the id, the token or the URL.
    fn fields(&self, fields: &mut Map<String, Value>) {
        let r = &self.record;
        fields.insert("detail".into(), r.error.map_or("", |e| e.detail()).into());
        fields.insert(
            "customer_ref".into(),
            r.customer_ref.clone().unwrap_or_default().into(),
        );
        if let Some(status) = r.upstream_status {
            fields.insert("upstream_status".into(), status.into());
        }
        fields.insert(
            "upstream_latency_ms".into(),
            millis(r.upstream_latency).into(),
        );
        fields.insert("attempts".into(), r.attempts.into());
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[
            ("upstream_latency_ms", Unit::Milliseconds),
            ("attempts", Unit::Count),
        ]
    }
}

impl App {
    /// Builds the app from validated settings and the token, if any (one HTTP client, reused).
    pub fn new(settings: &Settings, token: Option<&SecretString>) -> Result<App, ConfigError> {
        let client = gcx_core::http::client(USER_AGENT, settings.timeout);
        let upstream = Upstream::new(client, settings.url.clone(), token, settings.timeout)?;
        Ok(App {
            upstream: Arc::new(upstream),
        })
    }

    /// Answers one event by `deadline`: validation, lookup, mapping. Never fails and never panics on input.
    pub async fn answer(&self, event: &Value, deadline: Instant) -> Answer {
        let request = match input::parse(event) {
            Ok(request) => request,
            Err(rejected) => {
                let error = ActionError::Validation(rejected.reason);
                return Answer {
                    output: Output::failure(&error),
                    record: Record {
                        error: Some(error),
                        customer_ref: rejected.customer_ref,
                        ..Record::default()
                    },
                };
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
        Answer {
            output,
            record: Record {
                error,
                customer_ref: Some(pii_ref(&request.customer_id)),
                upstream_status: exchange.status,
                attempts: exchange.attempts,
                upstream_latency: exchange.latency,
            },
        }
    }
}

impl Function for App {
    const NAME: &'static str = "data-action";
    type Settings = Settings;
    type Output = Answer;
    /// Every outcome is an answer: Architect only takes its Failure path on a thrown error.
    type Error = Never;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    /// Reads the token secret (the only AWS call) if one is configured, so init without a secret loads
    /// no SDK configuration.
    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        let token = match &settings.token {
            TokenSource::None => None,
            TokenSource::Direct(token) => Some(token.clone()),
            TokenSource::Secret(arn) => {
                let sdk = gcx_core::aws::sdk_config().await;
                let secret = gcx_core::aws::read_secret(&sdk, TOKEN_SECRET_VAR, arn).await?;
                Some(gcx_core::aws::trimmed(&secret))
            }
        };
        App::new(&settings, token.as_ref())
    }

    /// Answers before the deadline minus [`SAFETY_MARGIN`].
    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Answer, Never> {
        let deadline = invocation.deadline - SAFETY_MARGIN.min(invocation.remaining());
        Ok(self.answer(&event, deadline).await)
    }
}

/// Milliseconds with microsecond resolution (warm invocations take well under one millisecond).
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_keeps_microseconds() {
        assert_eq!(millis(Duration::from_micros(1234)), 1.234);
    }

    #[tokio::test]
    async fn the_answer_keeps_the_safety_margin() {
        let settings = Settings::from_env(&[("EXTERNAL_API_URL", "http://127.0.0.1:9/x")]).unwrap();
        let app = App::new(&settings, None).unwrap();
        // Less time left than the margin: no request is made, the answer is a timeout, at once.
        let invocation = Invocation::new("r", Duration::from_millis(100));
        let answer = app
            .handle(serde_json::json!({"customer_id": "1"}), &invocation)
            .await
            .unwrap();
        assert_eq!(answer.output.error, "ExternalApiTimeout");
        assert_eq!(answer.record.attempts, 0);
    }
}
