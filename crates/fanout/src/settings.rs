//! Every variable fanout reads, declared once: `Settings::from_env` reads them, and `make generate` writes the
//! template's parameter constraints and the README's table from the same declarations.

use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::budget::{FAILURE_ALLOWANCE, STATE_BUDGET};
use gcx_core::events::DetailTopic;
use gcx_core::setting::Setting;

/// The pipeline state machine fanout starts.
pub const STATE_MACHINE_ARN: Setting =
    Setting::required("STATE_MACHINE_ARN").doc("The pipeline state machine fanout starts.");

/// Where malformed events go.
pub const EVENT_DEAD_LETTER_QUEUE_URL: Setting = Setting::required("EVENT_DEAD_LETTER_QUEUE_URL")
    .doc("Where malformed events go, with `ERROR_CODE` and `ERROR_MESSAGE`.");

/// Most events in one execution.
pub const BATCH_MAX_EVENTS: Setting = Setting::whole("BATCH_MAX_EVENTS", 100, 1, 1000)
    .unit("events")
    .parameter("BatchMaxEvents")
    .doc("Most events one execution carries; fewer when they are large, as no state of an execution may exceed BATCH_MAX_BYTES.");

/// Smallest `BATCH_MAX_BYTES`: an event of a few KB alone, plus the room a failed stage's error takes in the
/// state that dead-letters it ([`FAILURE_ALLOWANCE`]).
pub const MIN_BATCH_MAX_BYTES: usize = 32 * 1024;
const _: () = assert!(MIN_BATCH_MAX_BYTES > FAILURE_ALLOWANCE);

/// The most bytes any state of an execution may reach; the default and the largest is the state budget, 56 KiB
/// under Step Functions' 256 KiB quota.
pub const BATCH_MAX_BYTES: Setting = Setting::whole(
    "BATCH_MAX_BYTES",
    STATE_BUDGET as u64,
    MIN_BATCH_MAX_BYTES as u64,
    STATE_BUDGET as u64,
)
.unit("bytes")
.doc("Most bytes any state of an execution may reach: its input, or a Task's input or answer (Step Functions' quota is 256 KiB).");

/// StartExecution calls in flight.
pub const FANOUT_CONCURRENCY: Setting = Setting::whole("FANOUT_CONCURRENCY", 16, 1, 256)
    .parameter("FanoutConcurrency")
    .doc("StartExecution calls one fanout invocation makes in parallel.");

/// Every variable fanout reads (besides those of every function, `gcx_core::lambda::COMMON_SETTINGS`).
pub const SETTINGS: &[Setting] = &[
    STATE_MACHINE_ARN,
    EVENT_DEAD_LETTER_QUEUE_URL,
    BATCH_MAX_EVENTS,
    BATCH_MAX_BYTES,
    FANOUT_CONCURRENCY,
    gcx_core::events::ENRICH_TOPICS,
];

/// Default `BATCH_MAX_EVENTS`.
pub const DEFAULT_BATCH_MAX_EVENTS: usize = BATCH_MAX_EVENTS.default_whole() as usize;

/// Default (and largest) `BATCH_MAX_BYTES`.
pub const DEFAULT_BATCH_MAX_BYTES: usize = STATE_BUDGET;

/// Settings read once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// [`STATE_MACHINE_ARN`].
    pub state_machine_arn: String,
    /// [`FANOUT_CONCURRENCY`].
    pub concurrency: usize,
    /// [`BATCH_MAX_EVENTS`].
    pub batch_max_events: usize,
    /// [`BATCH_MAX_BYTES`].
    pub batch_max_bytes: usize,
    /// [`EVENT_DEAD_LETTER_QUEUE_URL`].
    pub event_dead_letter_queue_url: String,
    /// `ENRICH_TOPICS`, as process reads it: which events process answers with an enrichment request, so that
    /// the payload budget counts a request only for them.
    pub enrich_topics: Vec<DetailTopic>,
}

impl Settings {
    /// Reads [`SETTINGS`].
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            state_machine_arn: STATE_MACHINE_ARN.read_required(env)?,
            concurrency: FANOUT_CONCURRENCY.read_whole(env)? as usize,
            batch_max_events: BATCH_MAX_EVENTS.read_whole(env)? as usize,
            batch_max_bytes: BATCH_MAX_BYTES.read_whole(env)? as usize,
            event_dead_letter_queue_url: EVENT_DEAD_LETTER_QUEUE_URL.read_required(env)?,
            enrich_topics: gcx_core::events::enrich_topics(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_bound_the_batch() {
        let base = [
            ("STATE_MACHINE_ARN", "arn:sm"),
            ("EVENT_DEAD_LETTER_QUEUE_URL", "http://q"),
        ];
        let s = Settings::from_env(&base).unwrap();
        assert_eq!(
            (s.concurrency, s.batch_max_events, s.batch_max_bytes),
            (16, 100, DEFAULT_BATCH_MAX_BYTES)
        );
        for (var, bad) in [
            ("BATCH_MAX_EVENTS", "0"),
            ("BATCH_MAX_BYTES", "300000"),
            ("FANOUT_CONCURRENCY", "x"),
        ] {
            let env: std::collections::HashMap<String, String> = base
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .chain([(var.to_owned(), bad.to_owned())])
                .collect();
            assert_eq!(Settings::from_env(&env).unwrap_err().variable, var);
        }
    }
}
