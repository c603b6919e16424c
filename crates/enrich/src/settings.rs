//! Every variable enrich reads, declared once, and its two retry schedules as values: `Settings::from_env`
//! reads them, and `make generate` writes the template's parameter constraints, the README's table and the
//! schedules' delays and totals in the docs from the same declarations.

use std::time::Duration;

use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{
    record_ttl_days, DYNAMODB_TABLE_NAME, ENRICHMENT_QUEUE_URL, RECORD_TTL_DAYS,
};
use gcx_core::setting::{Schedule, Setting};
use gcx_genesys::{CredentialSource, Endpoints};

/// Where requests given up on go.
pub const ENRICHMENT_DEAD_LETTER_QUEUE_URL: Setting =
    Setting::required("ENRICHMENT_DEAD_LETTER_QUEUE_URL")
        .doc("Where requests given up on go (`EnrichmentDeadLetterQueue`), with the cause.");

/// Per Genesys request.
pub const GENESYS_TIMEOUT: Setting = Setting::seconds(
    "GENESYS_TIMEOUT",
    Duration::from_secs(10),
    Duration::from_millis(100),
    Duration::from_secs(60),
)
.parameter("GenesysTimeout")
.doc("Seconds one Genesys HTTP request may take; keep well under the enrich function's 120 s timeout.");

/// The budget of every enrich instance together.
pub const GENESYS_REQUESTS_PER_MINUTE: Setting =
    Setting::whole("GENESYS_REQUESTS_PER_MINUTE", 240, 1, 100_000)
        // Deployed, each of up to 50 instances needs a share of at least one request a minute.
        .deployed_between(50, 100_000)
        .unit("requests a minute")
        .parameter("GenesysRequestsPerMinute")
        .doc("Genesys requests per minute that enrichment may make in all, the token's included; default 80 % of the 300 an OAuth client may make. Each enrich instance takes its share (this / ENRICH_MAX_CONCURRENCY).");

/// The event source's maximum concurrency.
pub const ENRICH_MAX_CONCURRENCY: Setting = Setting::whole("ENRICH_MAX_CONCURRENCY", 2, 1, 1000)
    // Deployed it is the event source's MaximumConcurrency, at least 2 (SQS's minimum); at most 50 so that
    // each instance gets a share of the budget.
    .deployed_between(2, 50)
    .unit("instances")
    .parameter("EnrichMaxConcurrency")
    .doc("Most enrich instances at once (the event source's MaximumConcurrency); each takes GENESYS_REQUESTS_PER_MINUTE / this of the budget.");

/// Ids per multi-get.
pub const GENESYS_MULTIGET_MAX: Setting = Setting::whole("GENESYS_MULTIGET_MAX", 100, 1, 1000)
    .unit("conversation ids")
    .parameter("GenesysMultigetMax")
    .doc("Conversation ids per analytics multi-get request. The documented maximum is unknown: verify it against your org (a 400 on the multi-get means lower it).");

/// The first delay for a conversation not indexed yet.
pub const ENRICH_RETRY_SECONDS: Setting = Setting::whole("ENRICH_RETRY_SECONDS", 30, 1, 900)
    .unit("seconds")
    .parameter("EnrichRetrySeconds")
    .doc("Seconds before the first retry of a conversation the analytics API has not indexed yet; doubled each try, at most 900.");

/// Tries for a conversation not indexed yet.
pub const ENRICH_MAX_ATTEMPTS: Setting = Setting::whole("ENRICH_MAX_ATTEMPTS", 5, 0, 20)
    .unit("tries")
    .parameter("EnrichMaxAttempts")
    .doc("Retries of a conversation not indexed yet before it is dead-lettered as Genesys.NotYetAvailable.");

/// The first delay through a Genesys outage.
pub const ENRICH_UNAVAILABLE_RETRY_SECONDS: Setting =
    Setting::whole("ENRICH_UNAVAILABLE_RETRY_SECONDS", 10, 1, 900)
        .unit("seconds")
        .parameter("EnrichUnavailableRetrySeconds")
        .doc("Seconds before the first retry through a Genesys outage (5xx, timeouts, token endpoint down); doubled each try, at most 900.");

/// Tries through a Genesys outage.
pub const ENRICH_MAX_UNAVAILABLE: Setting = Setting::whole("ENRICH_MAX_UNAVAILABLE", 8, 0, 50)
    .unit("tries")
    .parameter("EnrichMaxUnavailable")
    .doc("Retries through a Genesys outage before a request is dead-lettered as Genesys.Unavailable.");

/// How long an invocation waits for a slot of the budget.
pub const ENRICH_MAX_WAIT_SECONDS: Setting = Setting::seconds(
    "ENRICH_MAX_WAIT_SECONDS",
    Duration::from_secs(5),
    Duration::ZERO,
    Duration::from_secs(60),
)
.doc("How long an invocation waits for a slot of the budget before handing the rest back.");

/// Also keep the details verbatim.
pub const STORE_RAW_DETAILS: Setting = Setting::flag("STORE_RAW_DETAILS", false)
    .parameter("StoreRawDetails")
    .doc("Also store the raw analytics details in each record (`rawDetails`): bigger items, more write units; DynamoDB's 400 KB item limit applies.");

/// Every variable enrich reads (besides those of every function and the Genesys client's).
pub const SETTINGS: &[Setting] = &[
    DYNAMODB_TABLE_NAME,
    ENRICHMENT_QUEUE_URL,
    ENRICHMENT_DEAD_LETTER_QUEUE_URL,
    RECORD_TTL_DAYS,
    GENESYS_TIMEOUT,
    GENESYS_REQUESTS_PER_MINUTE,
    ENRICH_MAX_CONCURRENCY,
    GENESYS_MULTIGET_MAX,
    ENRICH_RETRY_SECONDS,
    ENRICH_MAX_ATTEMPTS,
    ENRICH_UNAVAILABLE_RETRY_SECONDS,
    ENRICH_MAX_UNAVAILABLE,
    ENRICH_MAX_WAIT_SECONDS,
    STORE_RAW_DETAILS,
];

/// Each delay is this many times the one before.
pub const BACKOFF_FACTOR: u32 = 2;

/// The longest delay SQS takes on a message, and so the longest of any schedule, in seconds.
pub const SQS_MAX_DELAY: u32 = 900;

/// How long to wait after a 429 that names no `Retry-After`: Genesys's per-minute limits refill within a
/// minute.
pub const RATE_LIMITED_WAIT: Duration = Duration::from_secs(60);

/// The schedule `base` and `attempts` give.
fn schedule(base: &Setting, attempts: &Setting) -> Schedule {
    Schedule {
        base: base.default_whole() as u32,
        factor: BACKOFF_FACTOR,
        cap: SQS_MAX_DELAY,
        attempts: attempts.default_whole() as u32,
    }
}

/// The not-indexed-yet schedule at the defaults (what the docs print).
pub fn default_not_indexed() -> Schedule {
    schedule(&ENRICH_RETRY_SECONDS, &ENRICH_MAX_ATTEMPTS)
}

/// The outage schedule at the defaults (what the docs print).
pub fn default_unavailable() -> Schedule {
    schedule(&ENRICH_UNAVAILABLE_RETRY_SECONDS, &ENRICH_MAX_UNAVAILABLE)
}

/// Settings read once at init.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GENESYS_ENV` and the URL overrides.
    pub endpoints: Endpoints,
    /// The OAuth client.
    pub credentials: CredentialSource,
    /// [`GENESYS_TIMEOUT`].
    pub genesys_timeout: Duration,
    /// [`GENESYS_REQUESTS_PER_MINUTE`].
    pub requests_per_minute: usize,
    /// [`ENRICH_MAX_CONCURRENCY`].
    pub max_concurrency: usize,
    /// [`GENESYS_MULTIGET_MAX`].
    pub multiget_max: usize,
    /// [`DYNAMODB_TABLE_NAME`].
    pub table: String,
    /// [`RECORD_TTL_DAYS`], for an item enrich creates.
    pub ttl_days: Option<u32>,
    /// [`ENRICHMENT_QUEUE_URL`]: where hand-backs go.
    pub enrichment_queue_url: String,
    /// [`ENRICHMENT_DEAD_LETTER_QUEUE_URL`].
    pub dead_letter_queue_url: String,
    /// A conversation not indexed yet: [`ENRICH_RETRY_SECONDS`] doubling, [`ENRICH_MAX_ATTEMPTS`] tries.
    pub not_indexed: Schedule,
    /// A Genesys outage: [`ENRICH_UNAVAILABLE_RETRY_SECONDS`] doubling, [`ENRICH_MAX_UNAVAILABLE`] tries.
    pub unavailable: Schedule,
    /// [`ENRICH_MAX_WAIT_SECONDS`].
    pub max_wait: Duration,
    /// [`STORE_RAW_DETAILS`].
    pub store_raw_details: bool,
}

impl Settings {
    /// Reads [`SETTINGS`] and the Genesys client's.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let requests_per_minute = GENESYS_REQUESTS_PER_MINUTE.read_whole(env)? as usize;
        let max_concurrency = ENRICH_MAX_CONCURRENCY.read_whole(env)? as usize;
        if requests_per_minute < max_concurrency {
            return Err(ConfigError::new(
                GENESYS_REQUESTS_PER_MINUTE.variable,
                format!(
                    "must be at least ENRICH_MAX_CONCURRENCY ({max_concurrency}): each consumer needs one request a minute, got {requests_per_minute}"
                ),
            ));
        }
        let read_schedule = |base: &Setting, attempts: &Setting| -> Result<Schedule, ConfigError> {
            Ok(Schedule {
                base: base.read_whole(env)? as u32,
                attempts: attempts.read_whole(env)? as u32,
                ..schedule(base, attempts)
            })
        };
        Ok(Self {
            endpoints: Endpoints::from_env(env)?,
            credentials: CredentialSource::from_env(env)?,
            genesys_timeout: GENESYS_TIMEOUT.read_seconds(env)?,
            requests_per_minute,
            max_concurrency,
            multiget_max: GENESYS_MULTIGET_MAX.read_whole(env)? as usize,
            table: DYNAMODB_TABLE_NAME.read_required(env)?,
            ttl_days: record_ttl_days(env)?,
            enrichment_queue_url: ENRICHMENT_QUEUE_URL.read_required(env)?,
            dead_letter_queue_url: ENRICHMENT_DEAD_LETTER_QUEUE_URL.read_required(env)?,
            not_indexed: read_schedule(&ENRICH_RETRY_SECONDS, &ENRICH_MAX_ATTEMPTS)?,
            unavailable: read_schedule(&ENRICH_UNAVAILABLE_RETRY_SECONDS, &ENRICH_MAX_UNAVAILABLE)?,
            max_wait: ENRICH_MAX_WAIT_SECONDS.read_seconds(env)?,
            store_raw_details: STORE_RAW_DETAILS.read_flag(env)?,
        })
    }

    /// This container's share of the budget.
    pub fn share(&self) -> usize {
        (self.requests_per_minute / self.max_concurrency).max(1)
    }
}
