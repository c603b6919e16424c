//! enrich: the consumer of the enrichment queue. It takes many requests per invocation, deduplicates
//! their conversations, fetches them with one multi-get per `GENESYS_MULTIGET_MAX` ids
//! (`GET /api/v2/analytics/conversations/details?id=a,b,...`) and writes each conversation's analytics
//! view onto its item ([`write`]).
//!
//! It never sends more than its share of `GENESYS_REQUESTS_PER_MINUTE` (the budget divided by
//! `ENRICH_MAX_CONCURRENCY`, the event source's maximum concurrency) in any minute: every request, the
//! token's too, takes a slot of the container's [`gcx_genesys::RateLimiter`] first. What it cannot
//! do now it hands back, re-queued with a delay, and acknowledges the original message:
//!
//! - not indexed yet (absent from the answer): only those ids, after `ENRICH_RETRY_SECONDS` doubling per
//!   try, and dead-lettered (`Genesys.NotYetAvailable`) after `ENRICH_MAX_ATTEMPTS` tries;
//! - the budget spent, or a 429: no more calls in this invocation, the rest re-queued for when a slot frees
//!   (or after `Retry-After`); never dead-lettered for the rate;
//! - Genesys unavailable: no more calls, re-queued with backoff, dead-lettered after
//!   `ENRICH_MAX_UNAVAILABLE` tries;
//! - authentication failures and unusable answers: dead-lettered with the cause.
//!
//! A message whose re-queue or dead letter could not be sent is returned in `batchItemFailures`, so SQS
//! delivers it again; every write is conditional, so a redelivery changes nothing twice.

pub mod mapping;
pub mod settings;
pub mod write;

pub use settings::{Settings, SETTINGS};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{DeadLetter, EnrichmentMessage, EnrichmentRequest};
use gcx_core::lambda::{Function, Invocation, Never, Outcome};
use gcx_core::metrics::Unit;
use gcx_core::names::StableName;
use gcx_core::queue::{self, Outgoing};
use gcx_core::setting::Schedule;
use gcx_genesys::{GenesysClient, GenesysError, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::write::{WriteError, Written};

/// Why a request was given up on, or not dealt with now.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestFailure {
    /// The queue message is not an enrichment message.
    #[error("{0}")]
    Malformed(String),
    /// A Genesys failure, named by kind.
    #[error(transparent)]
    Genesys(GenesysError),
    /// DynamoDB refused the write.
    #[error("DynamoDB rejected the enrichment: {0}")]
    Rejected(String),
}
gcx_core::stable_names!(RequestFailure {
    Malformed(..) => "Enrich.MalformedRequest",
    Rejected(..) => "Store.Rejected";
    Genesys(GenesysError),
});

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Requests received.
    pub requests: usize,
    /// Distinct conversations among them.
    pub conversations: usize,
    /// Multi-get requests sent to Genesys.
    pub genesys_requests: usize,
    /// Conversations whose view was written.
    pub enriched: usize,
    /// Conversations whose view was not written because a later one is stored.
    pub superseded: usize,
    /// Conversations Genesys has not indexed yet (re-queued or dead-lettered).
    pub not_indexed: usize,
    /// Requests re-queued for later.
    pub requeued: usize,
    /// Requests dead-lettered.
    pub dead_lettered: usize,
    /// Whether the budget or a 429 stopped the invocation early.
    pub rate_limited: bool,
    /// The longest time from queueing to enrichment among the conversations written, ms.
    pub lag_ms: i64,
    /// The age of the oldest request this invocation was handed (since it was first queued), ms, whatever
    /// became of it: a request that keeps being handed back (not indexed, over budget, Genesys down) is seen
    /// again at each try, so this grows with it. What the enrichment-lag alarm watches.
    pub oldest_waiting_ms: i64,
    /// Each Genesys API request's time, ms (the first 100: what one metric record holds).
    #[serde(skip)]
    pub genesys_latency_ms: Vec<f64>,
    /// Genesys answers 429 (Too Many Requests).
    #[serde(skip)]
    pub genesys_rate_limited: usize,
    /// Genesys answers 5xx, and requests that got no answer.
    #[serde(skip)]
    pub genesys_unavailable: usize,
    /// Token requests made (a new container, an expired or revoked token).
    #[serde(skip)]
    pub token_requests: u64,
    /// The messages to deliver again (Lambda's partial batch response).
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// An SQS record to hand back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The SQS `messageId`.
    pub item_identifier: String,
}

impl Outcome for Report {
    fn outcome(&self) -> &'static str {
        if !self.batch_item_failures.is_empty() {
            "partial"
        } else if self.rate_limited {
            "rateLimited"
        } else {
            "ok"
        }
    }

    fn fields(&self, fields: &mut Map<String, Value>) {
        for (name, n) in [
            ("requests", self.requests),
            ("conversations", self.conversations),
            ("genesysRequests", self.genesys_requests),
            ("enriched", self.enriched),
            ("superseded", self.superseded),
            ("notIndexed", self.not_indexed),
            ("requeued", self.requeued),
            ("deadLettered", self.dead_lettered),
        ] {
            fields.insert(name.into(), n.into());
        }
        fields.insert("lagMs".into(), self.lag_ms.into());
        fields.insert("oldestWaitingMs".into(), self.oldest_waiting_ms.into());
        fields.insert(
            "genesysLatencyMs".into(),
            self.genesys_latency_ms.clone().into(),
        );
        for (name, n) in [
            ("genesysRateLimited", self.genesys_rate_limited),
            ("genesysUnavailable", self.genesys_unavailable),
        ] {
            fields.insert(name.into(), n.into());
        }
        fields.insert("tokenRequests".into(), self.token_requests.into());
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[
            ("requests", Unit::Count),
            ("conversations", Unit::Count),
            ("genesysRequests", Unit::Count),
            ("enriched", Unit::Count),
            ("notIndexed", Unit::Count),
            ("requeued", Unit::Count),
            ("deadLettered", Unit::Count),
            ("lagMs", Unit::Milliseconds),
            ("oldestWaitingMs", Unit::Milliseconds),
            ("genesysLatencyMs", Unit::Milliseconds),
            ("genesysRateLimited", Unit::Count),
            ("genesysUnavailable", Unit::Count),
            ("tokenRequests", Unit::Count),
        ]
    }
}

/// A request and the message it came in.
#[derive(Debug, Clone)]
struct Tracked {
    message: usize,
    request: EnrichmentRequest,
}

/// The work of one invocation, accumulated, then sent.
#[derive(Default)]
struct Plan {
    /// (delay in seconds, request, source message).
    requeue: Vec<(u32, EnrichmentRequest, usize)>,
    /// (dead letter, source message).
    letters: Vec<(DeadLetter, Option<usize>)>,
}

impl Plan {
    fn requeue(&mut self, delay: u32, tracked: &[Tracked], bump: impl Fn(&mut EnrichmentRequest)) {
        for t in tracked {
            let mut request = t.request.clone();
            bump(&mut request);
            self.requeue
                .push((delay.min(settings::SQS_MAX_DELAY), request, t.message));
        }
    }

    fn dead_letter(&mut self, tracked: &[Tracked], failure: &RequestFailure) {
        for t in tracked {
            let letter = DeadLetter::for_request(&t.request, failure);
            letter.log();
            self.letters.push((letter, Some(t.message)));
        }
    }
}

/// Whole seconds for an SQS delay, at least 1 (never sooner than asked).
fn delay_secs(d: Duration) -> u32 {
    (d.as_millis().div_ceil(1000) as u32).clamp(1, settings::SQS_MAX_DELAY)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The function's state, built once at init. Cheap to clone.
#[derive(Clone)]
pub struct App {
    genesys: GenesysClient,
    dynamo: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    settings: Arc<Settings>,
}

impl App {
    /// The app over existing clients.
    pub fn new(
        genesys: GenesysClient,
        dynamo: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        settings: Settings,
    ) -> Self {
        Self {
            genesys,
            dynamo,
            sqs,
            settings: Arc::new(settings),
        }
    }

    /// Handles one SQS batch of enrichment messages (or one enrichment message, invoked directly).
    pub async fn enrich(&self, event: Value, invocation: &Invocation) -> Report {
        let (message_ids, bodies) = messages(&event);
        let tokens_before = self.genesys.tokens().requests_sent();
        let mut report = Report::default();
        let mut plan = Plan::default();
        let mut pending: BTreeMap<String, Vec<Tracked>> = BTreeMap::new();
        for (i, body) in bodies.into_iter().enumerate() {
            match parse_body(&body) {
                Ok(message) => {
                    report.requests += message.requests.len();
                    for request in message.requests {
                        pending
                            .entry(request.conversation_id.clone())
                            .or_default()
                            .push(Tracked {
                                message: i,
                                request,
                            });
                    }
                }
                Err(e) => {
                    let failure =
                        RequestFailure::Malformed(format!("not an enrichment message ({e})"));
                    let letter = DeadLetter::for_input(
                        &Value::String(body),
                        &failure,
                        gcx_core::contract::Stage::Enrich,
                        None,
                    );
                    plan.letters.push((letter, Some(i)));
                }
            }
        }
        report.conversations = pending.len();
        let handed_at = now_ms();
        report.oldest_waiting_ms = pending
            .values()
            .flatten()
            .filter(|t| t.request.first_queued_at > 0)
            .map(|t| handed_at - t.request.first_queued_at)
            .max()
            .unwrap_or(0)
            .max(0);
        invocation.correlate(
            pending
                .values()
                .flatten()
                .map(|t| t.request.correlation_id.as_deref()),
        );
        let ids: Vec<String> = pending.keys().cloned().collect();
        let mut stop: Option<Stop> = None;
        for chunk in ids.chunks(self.settings.multiget_max) {
            let tracked: Vec<Tracked> = chunk.iter().flat_map(|id| pending[id].clone()).collect();
            // A request (and a token request before it) must fit before the deadline.
            if stop.is_none()
                && invocation.remaining() < self.settings.genesys_timeout + DEADLINE_MARGIN
            {
                stop = Some(Stop::Later(1));
            }
            if let Some(s) = &stop {
                s.apply(&mut plan, &tracked);
                continue;
            }
            match self
                .genesys
                .conversations(chunk, self.settings.max_wait)
                .await
            {
                Ok(fetched) => {
                    report.genesys_requests += 1;
                    self.write_all(&fetched, &pending, &mut plan, &mut report)
                        .await;
                    for id in &fetched.missing {
                        report.not_indexed += 1;
                        self.not_indexed(&pending[id], &mut plan);
                    }
                }
                Err(error) => {
                    if !matches!(error, GenesysError::OverBudget { .. }) {
                        report.genesys_requests += 1;
                    }
                    tracing::warn!(error_type = error.name(), error = %error, "multi-get failed");
                    let s = self.after(error, &mut report);
                    s.apply(&mut plan, &tracked);
                    if s.stops() {
                        stop = Some(s);
                    }
                }
            }
        }
        self.send(plan, &message_ids, &mut report).await;
        self.note_calls(&mut report, tokens_before);
        report
    }

    /// What Genesys saw of this invocation, for its metrics.
    fn note_calls(&self, report: &mut Report, tokens_before: u64) {
        for call in self.genesys.take_calls() {
            match call.status {
                429 => report.genesys_rate_limited += 1,
                0 | 500..=599 => report.genesys_unavailable += 1,
                _ => {}
            }
            if report.genesys_latency_ms.len() < 100 {
                report
                    .genesys_latency_ms
                    .push((call.latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0);
            }
        }
        report.token_requests = self
            .genesys
            .tokens()
            .requests_sent()
            .saturating_sub(tokens_before);
    }

    /// What a failed multi-get means for its chunk and the rest of the invocation.
    fn after(&self, error: GenesysError, report: &mut Report) -> Stop {
        match error {
            GenesysError::OverBudget { wait } => {
                report.rate_limited = true;
                Stop::Later(delay_secs(wait))
            }
            GenesysError::RateLimited { retry_after, .. } => {
                report.rate_limited = true;
                Stop::Later(delay_secs(
                    retry_after.unwrap_or(settings::RATE_LIMITED_WAIT),
                ))
            }
            GenesysError::Unavailable { .. } => Stop::Unavailable {
                error,
                schedule: self.settings.unavailable,
            },
            GenesysError::AuthFailed { .. } => Stop::GiveUp(RequestFailure::Genesys(error)),
            GenesysError::BadResponse { .. } | GenesysError::NotYetAvailable { .. } => {
                Stop::ThisChunk(RequestFailure::Genesys(error))
            }
        }
    }

    /// Re-queues, or dead-letters after the last try, the requests of a conversation not indexed yet.
    fn not_indexed(&self, tracked: &[Tracked], plan: &mut Plan) {
        let attempt = tracked.iter().map(|t| t.request.attempt).max().unwrap_or(0) + 1;
        let schedule = &self.settings.not_indexed;
        if attempt > schedule.attempts {
            let waited: u32 = (1..attempt).map(|a| schedule.delay(a)).sum();
            let failure = RequestFailure::Genesys(GenesysError::NotYetAvailable {
                conversation_id: tracked[0].request.conversation_id.clone(),
                body: Box::new(gcx_genesys::ApiErrorBody {
                    message: Some(format!(
                        "still absent from the analytics API after {attempt} tries over {waited} s"
                    )),
                    ..Default::default()
                }),
            });
            plan.dead_letter(tracked, &failure);
        } else {
            plan.requeue(schedule.delay(attempt), tracked, |r| {
                r.attempt = attempt;
            });
        }
    }

    /// Writes every conversation found, a few at a time.
    async fn write_all(
        &self,
        fetched: &gcx_genesys::Fetched,
        pending: &BTreeMap<String, Vec<Tracked>>,
        plan: &mut Plan,
        report: &mut Report,
    ) {
        let fetched_at = now_ms();
        let expires_at = self
            .settings
            .ttl_days
            .map(|days| (fetched_at / 1000) as u64 + u64::from(days) * 86_400);
        let results: Vec<(String, Result<Written, WriteError>)> = stream::iter(&fetched.found)
            .map(|(details, raw)| async move {
                let mut enrichment = mapping::enrichment(details);
                if self.settings.store_raw_details {
                    enrichment.raw_details = Some(raw.clone());
                }
                let result = write::write(
                    &self.dynamo,
                    &self.settings.table,
                    &details.conversation_id,
                    &enrichment,
                    fetched_at,
                    expires_at,
                )
                .await;
                (details.conversation_id.clone(), result)
            })
            .buffer_unordered(16)
            .collect()
            .await;
        for (id, result) in results {
            let Some(tracked) = pending.get(&id) else {
                continue;
            };
            match result {
                Ok(written) => {
                    if written == Written::Stored {
                        report.enriched += 1;
                    } else {
                        report.superseded += 1;
                    }
                    let queued = tracked
                        .iter()
                        .map(|t| t.request.first_queued_at)
                        .min()
                        .unwrap_or(fetched_at);
                    report.lag_ms = report.lag_ms.max(fetched_at - queued);
                }
                Err(WriteError::Unavailable(why)) => {
                    tracing::warn!(error = %why, "enrichment write throttled; handing back");
                    plan.requeue(5, tracked, |_| {});
                }
                Err(WriteError::Rejected(why)) => {
                    plan.dead_letter(tracked, &RequestFailure::Rejected(why));
                }
            }
        }
    }

    /// Sends the hand-backs and dead letters; a message whose part of them failed is handed back whole.
    async fn send(&self, plan: Plan, message_ids: &[String], report: &mut Report) {
        let mut failed: BTreeSet<usize> = BTreeSet::new();
        // One message per delay, as many requests as fit.
        let mut by_delay: BTreeMap<u32, Vec<(EnrichmentRequest, usize)>> = BTreeMap::new();
        for (delay, request, message) in plan.requeue {
            by_delay.entry(delay).or_default().push((request, message));
        }
        let mut outgoing = Vec::new();
        let mut sources: Vec<Vec<usize>> = Vec::new();
        for (delay, group) in by_delay {
            for chunk in group.chunks(REQUESTS_PER_MESSAGE) {
                let body = serde_json::to_string(&EnrichmentMessage {
                    requests: chunk.iter().map(|(r, _)| r.clone()).collect(),
                })
                .unwrap_or_default();
                outgoing.push(Outgoing::new(body).delayed(delay));
                sources.push(chunk.iter().map(|(_, m)| *m).collect());
                report.requeued += chunk.len();
            }
        }
        if let Err(e) =
            queue::send_all(&self.sqs, &self.settings.enrichment_queue_url, &outgoing).await
        {
            tracing::warn!(error = %e, "hand-back failed; the messages will be delivered again");
            for p in e.positions {
                failed.extend(&sources[p]);
            }
        }
        let letters: Vec<Outgoing> = plan
            .letters
            .iter()
            .map(|(d, _)| {
                Outgoing::new(serde_json::to_string(d).unwrap_or_default())
                    .attribute("ERROR_CODE", d.error.clone())
            })
            .collect();
        report.dead_lettered = letters.len();
        if let Err(e) =
            queue::send_all(&self.sqs, &self.settings.dead_letter_queue_url, &letters).await
        {
            tracing::warn!(error = %e, "dead letters failed; the messages will be delivered again");
            for p in e.positions {
                failed.extend(plan.letters[p].1);
            }
        }
        report.batch_item_failures = failed
            .into_iter()
            .filter_map(|m| message_ids.get(m))
            .map(|id| BatchItemFailure {
                item_identifier: id.clone(),
            })
            .collect();
    }
}

/// Time kept before the deadline for the writes and the hand-backs after the last request.
const DEADLINE_MARGIN: Duration = Duration::from_secs(3);

/// Most requests in one hand-back message (about 300 bytes each).
pub const REQUESTS_PER_MESSAGE: usize = 500;

/// What happens to a chunk (and, for some, to the rest of the invocation) after a failed multi-get.
enum Stop {
    /// Hand back for `n` seconds, no attempt counted (the budget or a 429; or out of time).
    Later(u32),
    /// Genesys is unavailable: hand back with backoff, counting an outage try; dead-letter past `max`.
    Unavailable {
        error: GenesysError,
        schedule: Schedule,
    },
    /// Dead-letter this chunk and everything after it (the credentials are refused).
    GiveUp(RequestFailure),
    /// Dead-letter this chunk only, carry on with the next.
    ThisChunk(RequestFailure),
}

impl Stop {
    /// Whether later chunks must not call Genesys either.
    fn stops(&self) -> bool {
        !matches!(self, Stop::ThisChunk(_))
    }

    fn apply(&self, plan: &mut Plan, tracked: &[Tracked]) {
        match self {
            Stop::Later(secs) => plan.requeue(*secs, tracked, |_| {}),
            Stop::Unavailable { error, schedule } => {
                let (give_up, retry): (Vec<Tracked>, Vec<Tracked>) = tracked
                    .iter()
                    .cloned()
                    .partition(|t| t.request.unavailable >= schedule.attempts);
                plan.dead_letter(&give_up, &RequestFailure::Genesys(error.clone()));
                for t in retry {
                    let n = t.request.unavailable + 1;
                    plan.requeue(schedule.delay(n), std::slice::from_ref(&t), |r| {
                        r.unavailable = n;
                    });
                }
            }
            Stop::GiveUp(failure) | Stop::ThisChunk(failure) => plan.dead_letter(tracked, failure),
        }
    }
}

/// An enrichment message, or a dead letter of one moved back from the dead-letter queue as is
/// (`aws sqs start-message-move-task`): its `input` is the message, attempts already reset.
fn parse_body(body: &str) -> Result<EnrichmentMessage, serde_json::Error> {
    #[derive(Deserialize)]
    struct Redriven {
        input: EnrichmentMessage,
    }
    serde_json::from_str::<EnrichmentMessage>(body).or_else(|first| {
        serde_json::from_str::<Redriven>(body)
            .map(|r| r.input)
            .map_err(|_| first)
    })
}

/// The SQS message ids and bodies of an SQS event; anything else is one body with no id (a direct
/// invoke with an enrichment message).
fn messages(event: &Value) -> (Vec<String>, Vec<String>) {
    if event.get("Records").is_some() {
        if let Ok(sqs) = aws_lambda_events::event::sqs::SqsEvent::deserialize(event) {
            return sqs
                .records
                .into_iter()
                .map(|r| (r.message_id.unwrap_or_default(), r.body.unwrap_or_default()))
                .unzip();
        }
    }
    (vec![String::new()], vec![event.to_string()])
}

impl Function for App {
    const NAME: &'static str = "enrich";
    type Settings = Settings;
    type Output = Report;
    /// enrich never fails as a whole: what it cannot do is handed back or dead-lettered.
    type Error = Never;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        let credentials = settings.credentials.resolve().await?;
        let sdk = gcx_core::aws::sdk_config().await;
        let http = gcx_core::http::client(
            concat!("gcx-enrich/", env!("CARGO_PKG_VERSION")),
            Duration::from_secs(3),
        );
        let genesys = GenesysClient::new(
            http,
            settings.endpoints.clone(),
            credentials,
            settings.genesys_timeout,
            Some(RateLimiter::per_minute(settings.share())),
        );
        let dynamo = gcx_core::dynamo::client(&sdk);
        Ok(Self::new(genesys, dynamo, queue::client(&sdk), settings))
    }

    /// Fetching a token warms the TLS connection to the login host and fills the cache.
    async fn warm_up(&self) {
        let _ = self.genesys.tokens().token().await;
    }

    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Report, Never> {
        Ok(self.enrich(event, invocation).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_moved_back_is_read_as_its_input_and_garbage_keeps_its_own_error() {
        let request = serde_json::json!({"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": "e", "eventType": "v2.detail.events.conversation.{id}.acw", "eventTime": 1, "attempt": 0});
        let message = serde_json::json!({"requests": [request]}).to_string();
        let dead_letter = serde_json::json!({"error": "Genesys.NotYetAvailable", "cause": "c",
            "stage": "enrich", "input": {"requests": [request]}})
        .to_string();
        let direct = parse_body(&message).unwrap();
        assert_eq!(direct.requests.len(), 1);
        assert_eq!(parse_body(&dead_letter).unwrap(), direct);
        let err = parse_body(r#"{"requests": 5}"#).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
    }

    fn env() -> std::collections::HashMap<String, String> {
        [
            ("GENESYS_CLIENT_ID", "id"),
            ("GENESYS_CLIENT_SECRET", "secret"),
            ("DYNAMODB_TABLE_NAME", "t"),
            ("ENRICHMENT_QUEUE_URL", "http://q/e"),
            ("ENRICHMENT_DEAD_LETTER_QUEUE_URL", "http://q/d"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn settings_and_the_share_of_the_budget() {
        let s = Settings::from_env(&env()).unwrap();
        assert_eq!(
            (
                s.requests_per_minute,
                s.max_concurrency,
                s.share(),
                s.multiget_max
            ),
            (240, 2, 120, 100)
        );
        let mut tight = env();
        tight.insert("GENESYS_REQUESTS_PER_MINUTE".into(), "5".into());
        tight.insert("ENRICH_MAX_CONCURRENCY".into(), "2".into());
        assert_eq!(Settings::from_env(&tight).unwrap().share(), 2);
        tight.insert("ENRICH_MAX_CONCURRENCY".into(), "6".into());
        assert_eq!(
            Settings::from_env(&tight).unwrap_err().variable,
            "GENESYS_REQUESTS_PER_MINUTE"
        );
        for (var, bad) in [
            ("GENESYS_MULTIGET_MAX", "0"),
            ("ENRICH_RETRY_SECONDS", "901"),
            ("STORE_RAW_DETAILS", "ture"),
        ] {
            let mut m = env();
            m.insert(var.into(), bad.into());
            assert_eq!(Settings::from_env(&m).unwrap_err().variable, var);
        }
    }

    #[test]
    fn the_schedules_double_to_the_sqs_maximum() {
        // Unset, the declared defaults; set, the values given, doubling up to SQS's 900 s.
        let s = Settings::from_env(&env()).unwrap();
        assert_eq!(s.not_indexed, settings::default_not_indexed());
        assert_eq!(s.unavailable, settings::default_unavailable());
        let mut m = env();
        m.insert("ENRICH_RETRY_SECONDS".into(), "30".into());
        m.insert("ENRICH_MAX_ATTEMPTS".into(), "6".into());
        let s = Settings::from_env(&m).unwrap();
        assert_eq!(
            (s.not_indexed.delays(), s.not_indexed.total()),
            (vec![30, 60, 120, 240, 480, 900], 1830)
        );
        let mut m = env();
        m.insert("ENRICH_UNAVAILABLE_RETRY_SECONDS".into(), "3".into());
        m.insert("ENRICH_MAX_UNAVAILABLE".into(), "2".into());
        let s = Settings::from_env(&m).unwrap();
        assert_eq!(s.unavailable.delays(), vec![3, 6]);
        assert_eq!(delay_secs(Duration::from_millis(1)), 1);
        assert_eq!(delay_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn names() {
        assert_eq!(
            RequestFailure::names(),
            [
                "Enrich.MalformedRequest",
                "Store.Rejected",
                "Genesys.RateLimited",
                "Genesys.OverBudget",
                "Genesys.Unavailable",
                "Genesys.NotYetAvailable",
                "Genesys.AuthFailed",
                "Genesys.BadResponse"
            ]
        );
    }
}
