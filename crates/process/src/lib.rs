//! process: turns one validated conversation event into the compact record that save stores.
//!
//! Topics listed in `ENRICH_TOPICS` fetch the analytics conversation details through the core Genesys
//! client; the others are recorded from the event alone, which keeps the Genesys API budget
//! (300 requests/min per token) for the events that need it. Genesys failures are raised with core's
//! error names so the state machine retries per kind.

use std::time::Duration;

use gcx_core::config::{flag, optional, seconds, ConfigError, Env};
use gcx_core::genesys::{GenesysClient, GenesysError};
use gcx_core::pipeline::{ConversationRecord, ExecutionInput};
use serde_json::Value;

/// Topics enriched when `ENRICH_TOPICS` is not set: the ones after which the analytics record is complete
/// enough to be worth a call.
pub const DEFAULT_ENRICH_TOPICS: &[&str] = &["customer.end", "acw", "user.end"];

/// Largest raw details kept in the record: Step Functions states are capped at 256 KiB.
pub const MAX_RAW_DETAILS: usize = 192 * 1024;

/// Longest `Retry-After` process waits in-function before raising `Genesys.RateLimited` to the state machine.
pub const MAX_IN_FUNCTION_WAIT: Duration = Duration::from_secs(5);

/// Settings read once at init.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Topic suffixes (e.g. `customer.end`) that are enriched from the analytics API.
    pub enrich_topics: Vec<String>,
    /// Keep the analytics details verbatim in the record.
    pub store_raw_details: bool,
    /// Per-request timeout for Genesys calls.
    pub genesys_timeout: Duration,
}

impl Settings {
    /// Reads `ENRICH_TOPICS`, `STORE_RAW_DETAILS` and `GENESYS_TIMEOUT`.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let enrich_topics = match optional(env, "ENRICH_TOPICS") {
            None => DEFAULT_ENRICH_TOPICS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            Some(raw) if raw.eq_ignore_ascii_case("none") => Vec::new(),
            Some(raw) => {
                let topics: Vec<String> = raw
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                for t in &topics {
                    if !gcx_core::events::CONVERSATION_DETAIL_TOPICS.contains(&t.as_str()) {
                        return Err(ConfigError::new(
                            "ENRICH_TOPICS",
                            format!(
                                "unknown topic {t:?}; use a comma list of: {} (or none)",
                                gcx_core::events::CONVERSATION_DETAIL_TOPICS.join(", ")
                            ),
                        ));
                    }
                }
                topics
            }
        };
        Ok(Self {
            enrich_topics,
            store_raw_details: flag(env, "STORE_RAW_DETAILS", false)?,
            genesys_timeout: seconds(
                env,
                "GENESYS_TIMEOUT",
                Duration::from_secs(10),
                Duration::from_millis(100),
                Duration::from_secs(60),
            )?,
        })
    }
}

/// Why process failed; the Lambda `error_type` is the stable name.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A Genesys failure, named by kind (`Genesys.*`).
    #[error(transparent)]
    Genesys(#[from] GenesysError),
    /// The state is not what validate hands on.
    #[error("{0}")]
    InvalidInput(String),
}

impl ProcessError {
    /// Every name [`ProcessError::name`] can return, for coverage checks against the state machine.
    pub const NAMES: [&'static str; 6] = [
        "Genesys.RateLimited",
        "Genesys.Unavailable",
        "Genesys.NotYetAvailable",
        "Genesys.AuthFailed",
        "Genesys.BadResponse",
        "Pipeline.InvalidInput",
    ];

    /// The stable name used as the Lambda `error_type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Genesys(e) => e.name(),
            Self::InvalidInput(_) => "Pipeline.InvalidInput",
        }
    }
}

impl From<ProcessError> for lambda_runtime::Diagnostic {
    fn from(e: ProcessError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().into(),
            error_message: e.to_string(),
        }
    }
}

/// The function's state, built once at init. Cheap to clone.
#[derive(Clone)]
pub struct Process {
    /// The Genesys client (token cache and connection pool shared by clones).
    pub genesys: GenesysClient,
    /// Settings.
    pub settings: std::sync::Arc<Settings>,
}

impl Process {
    /// Builds the record for one execution state. `time_left` is how long until the Lambda deadline.
    pub async fn handle(
        &self,
        state: Value,
        time_left: Duration,
    ) -> Result<ConversationRecord, ProcessError> {
        let input: ExecutionInput = serde_json::from_value(state).map_err(|e| {
            ProcessError::InvalidInput(format!("the state is not an execution input: {e}"))
        })?;
        let event_time = input
            .event_time
            .ok_or_else(|| ProcessError::InvalidInput("eventTime is missing".into()))?;
        let topic = input.topic().ok_or_else(|| {
            ProcessError::InvalidInput(format!(
                "eventType {:?} is not a supported conversation topic",
                input.event_type
            ))
        })?;
        if !self.settings.enrich_topics.iter().any(|t| t == topic) {
            return Ok(ConversationRecord::from_event(&input, event_time));
        }
        let raw = self
            .fetch_details(&input.conversation_id, time_left)
            .await?;
        let details = gcx_core::genesys::client::parse_details(&raw)?;
        let mut record = ConversationRecord::from_details(&input, event_time, &details);
        if self.settings.store_raw_details {
            if raw.len() <= MAX_RAW_DETAILS {
                record.raw_details = serde_json::from_slice(&raw).ok();
            } else {
                tracing::warn!(
                    bytes = raw.len(),
                    "raw details exceed what a Step Functions state can carry; not stored"
                );
            }
        }
        Ok(record)
    }

    /// Fetches the details, waiting out one short `Retry-After` in-function when the deadline allows;
    /// longer waits are left to the state machine's retrier so no Lambda time is spent sleeping.
    async fn fetch_details(
        &self,
        conversation_id: &str,
        time_left: Duration,
    ) -> Result<Vec<u8>, GenesysError> {
        let started = std::time::Instant::now();
        match self.genesys.conversation_details_raw(conversation_id).await {
            Err(GenesysError::RateLimited {
                retry_after: Some(wait),
                ..
            }) if wait <= MAX_IN_FUNCTION_WAIT
                && started.elapsed() + wait + self.settings.genesys_timeout
                    < time_left.saturating_sub(Duration::from_millis(500)) =>
            {
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "rate limited; waiting Retry-After once"
                );
                tokio::time::sleep(wait).await;
                self.genesys.conversation_details_raw(conversation_id).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_and_errors() {
        let s = Settings::from_env(&[("X", "")]).unwrap();
        assert_eq!(s.enrich_topics, vec!["customer.end", "acw", "user.end"]);
        assert!(!s.store_raw_details);
        assert_eq!(s.genesys_timeout, Duration::from_secs(10));
        let s = Settings::from_env(&[
            ("ENRICH_TOPICS", " acw , customer.start"),
            ("STORE_RAW_DETAILS", "true"),
        ])
        .unwrap();
        assert_eq!(s.enrich_topics, vec!["acw", "customer.start"]);
        assert!(s.store_raw_details);
        assert!(Settings::from_env(&[("ENRICH_TOPICS", "none")])
            .unwrap()
            .enrich_topics
            .is_empty());
        let e = Settings::from_env(&[("ENRICH_TOPICS", "acw,bogus")]).unwrap_err();
        assert_eq!(e.variable, "ENRICH_TOPICS");
        assert!(e.problem.contains("\"bogus\""));
    }
}
