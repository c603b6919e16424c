//! Every variable save reads, declared once: `Settings::from_env` reads them, and `make generate` writes the
//! template's parameter constraints and the README's table from the same declarations.

use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{
    record_ttl_days, DYNAMODB_TABLE_NAME, ENRICHMENT_QUEUE_URL, RECORD_TTL_DAYS,
};
use gcx_core::setting::Setting;

/// The pipeline dead-letter queue.
pub const DEAD_LETTER_QUEUE_URL: Setting = Setting::required("DEAD_LETTER_QUEUE_URL")
    .doc("The pipeline dead-letter queue: every dead letter of a batch, validate's, process's and save's.");

/// How long an enrichment request waits before its first try.
pub const ENRICH_DELAY_SECONDS: Setting = Setting::whole("ENRICH_DELAY_SECONDS", 60, 0, 900)
    .unit("seconds")
    .parameter("EnrichDelaySeconds")
    .doc("Seconds an enrichment request waits before its first try, so that analytics has indexed the conversation (SQS's longest delay is 900).");

/// Writes in flight.
pub const SAVE_CONCURRENCY: Setting =
    Setting::whole("SAVE_CONCURRENCY", 16, 1, 100).doc("Conditional writes in flight at once.");

/// Every variable save reads (besides those of every function).
pub const SETTINGS: &[Setting] = &[
    DYNAMODB_TABLE_NAME,
    ENRICHMENT_QUEUE_URL,
    DEAD_LETTER_QUEUE_URL,
    RECORD_TTL_DAYS,
    ENRICH_DELAY_SECONDS,
    SAVE_CONCURRENCY,
];

/// Settings read once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// [`DYNAMODB_TABLE_NAME`].
    pub table: String,
    /// [`RECORD_TTL_DAYS`]: adds `expiresAt` (epoch seconds) for DynamoDB TTL; `None` keeps records.
    pub ttl_days: Option<u32>,
    /// [`ENRICHMENT_QUEUE_URL`]: where enrichment requests go.
    pub enrichment_queue_url: String,
    /// [`DEAD_LETTER_QUEUE_URL`].
    pub dead_letter_queue_url: String,
    /// [`ENRICH_DELAY_SECONDS`].
    pub enrich_delay_seconds: u32,
    /// [`SAVE_CONCURRENCY`].
    pub concurrency: usize,
}

impl Settings {
    /// Reads [`SETTINGS`].
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table: DYNAMODB_TABLE_NAME.read_required(env)?,
            ttl_days: record_ttl_days(env)?,
            enrichment_queue_url: ENRICHMENT_QUEUE_URL.read_required(env)?,
            dead_letter_queue_url: DEAD_LETTER_QUEUE_URL.read_required(env)?,
            enrich_delay_seconds: ENRICH_DELAY_SECONDS.read_whole(env)? as u32,
            concurrency: SAVE_CONCURRENCY.read_whole(env)? as usize,
        })
    }
}
