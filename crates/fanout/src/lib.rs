//! fanout: from Genesys events to pipeline executions that carry batches.
//!
//! Input comes in three shapes ([`payload::Payload`]): one EventBridge event (a rule target), a JSON
//! array of them (custom-bus subscribers), or an SQS batch from the buffer queue whose bodies are events
//! (or arrays). Each conversation detail event becomes one element of an execution input
//! ([`gcx_core::contract::PipelineEvent`]); the elements are packed into as few executions as the limits
//! allow ([`batch::pack`]) and each execution is named from its events' ids, so a redelivered batch
//! starts nothing new.
//!
//! - Not a conversation detail event, or no event id: skipped, with the reason.
//! - Malformed, or too large for an execution: sent to the event dead-letter queue with `ERROR_CODE`
//!   and `ERROR_MESSAGE` attributes (as EventBridge's own dead letters have), never retried.
//! - A start that still fails after the SDK's retries keeps its events: the invocation fails
//!   (`Fanout.StartFailed`: Lambda's async retries, then the on-failure queue), or, for SQS input, the
//!   records of those events are returned in `batchItemFailures`.

pub mod batch;
pub mod payload;
pub mod settings;

pub use settings::{
    Settings, DEFAULT_BATCH_MAX_BYTES, DEFAULT_BATCH_MAX_EVENTS, MIN_BATCH_MAX_BYTES, SETTINGS,
};

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use aws_sdk_sfn::error::{DisplayErrorContext, SdkError};
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use futures_util::stream::{self, StreamExt};
use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{Incomplete, PipelineEvent};
use gcx_core::events::GenesysEvent;
use gcx_core::lambda::{Function, Invocation, Outcome};
use gcx_core::metrics::Unit;
use gcx_core::queue::{self, Outgoing, SendError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::batch::{pack, Batch, Limits};
use crate::payload::{Item, Payload};

/// Why an invocation fails; the Lambda `errorType` is the stable name.
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    /// At least one execution could not be started after retries; the report is in the message.
    #[error("{failed} of {total} events could not be started: {report}")]
    StartFailed {
        /// Events not started.
        failed: usize,
        /// Events in the invocation.
        total: usize,
        /// The report as JSON, so the on-failure destination records what happened.
        report: String,
    },
    /// Malformed events could not be sent to the event dead-letter queue.
    #[error("{0}")]
    DeadLetterUnavailable(SendError),
}
gcx_core::stable_names!(FanoutError {
    StartFailed { .. } => "Fanout.StartFailed",
    DeadLetterUnavailable(..) => "Fanout.DeadLetterUnavailable",
});

/// Why one event went to the event dead-letter queue (its `ERROR_CODE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventFailure {
    /// Not an EventBridge event, or a conversation event without its conversation id or time.
    #[error("{0}")]
    Malformed(String),
    /// Too big for an execution of its own: a state of it would exceed `BATCH_MAX_BYTES`.
    #[error("an execution of this event alone would reach a state of {bytes} bytes; BATCH_MAX_BYTES is {max}")]
    TooLarge {
        /// The largest state an execution of the event alone would reach.
        bytes: usize,
        /// `BATCH_MAX_BYTES`.
        max: usize,
    },
}
gcx_core::stable_names!(EventFailure {
    Malformed(..) => "Fanout.MalformedEvent",
    TooLarge { .. } => "Fanout.EventTooLarge",
});

/// An event not started, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The EventBridge id, when the event had one.
    pub event_id: Option<String>,
    /// Why it needs no execution.
    pub reason: String,
}

/// An event given up on: dead-lettered, or not started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    /// The EventBridge id, when the event had one.
    pub event_id: Option<String>,
    /// The stable name.
    pub error: String,
    /// What happened.
    pub cause: String,
}

/// An SQS record to hand back for redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The SQS `messageId`.
    pub item_identifier: String,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Events in the payload.
    pub events: usize,
    /// Executions started.
    pub executions: usize,
    /// Events in the executions started.
    pub started: usize,
    /// Events whose execution already existed, or that came twice in this payload.
    pub duplicates: usize,
    /// Events that need no execution, each with its reason.
    pub skipped: Vec<Skipped>,
    /// Events sent to the event dead-letter queue, each with its reason.
    pub dead_lettered: Vec<Failed>,
    /// Events that could not be started.
    pub failed: Vec<Failed>,
    /// SQS input only: the records to redeliver (Lambda's partial batch response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
}

impl Outcome for Report {
    fn outcome(&self) -> &'static str {
        if self.failed.is_empty() {
            "ok"
        } else {
            "partial"
        }
    }

    fn fields(&self, fields: &mut Map<String, Value>) {
        for (name, n) in [
            ("events", self.events),
            ("executions", self.executions),
            ("started", self.started),
            ("duplicates", self.duplicates),
            ("skipped", self.skipped.len()),
            ("deadLettered", self.dead_lettered.len()),
            ("failed", self.failed.len()),
        ] {
            fields.insert(name.into(), n.into());
        }
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[
            ("events", Unit::Count),
            ("executions", Unit::Count),
            ("started", Unit::Count),
            ("duplicates", Unit::Count),
            ("skipped", Unit::Count),
            ("deadLettered", Unit::Count),
            ("failed", Unit::Count),
        ]
    }
}

/// What fanout needs, built once at init. Cheap to clone.
#[derive(Clone)]
pub struct App {
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    settings: Arc<Settings>,
}

/// How one batch's StartExecution ended.
enum Started {
    New,
    Existing,
    Failed(String),
}

impl App {
    /// The app over existing clients.
    pub fn new(sfn: aws_sdk_sfn::Client, sqs: aws_sdk_sqs::Client, settings: Settings) -> Self {
        Self {
            sfn,
            sqs,
            settings: Arc::new(settings),
        }
    }

    /// Handles one invocation payload.
    pub async fn fan_out(
        &self,
        payload: Value,
        invocation: &Invocation,
    ) -> Result<Report, FanoutError> {
        let parsed = Payload::parse(payload);
        let is_sqs = matches!(parsed, Payload::Sqs(_));
        let (message_ids, items) = parsed.items();
        let mut report = Report {
            events: items.len(),
            ..Report::default()
        };
        // Messages to hand back (SQS) because one of their events was not dealt with.
        let mut retry: BTreeSet<usize> = BTreeSet::new();
        let mut letters: Vec<(Option<usize>, Outgoing)> = Vec::new();
        let mut candidates: Vec<(Option<usize>, PipelineEvent)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();

        for Item { message, raw } in items {
            match self.route(raw) {
                Route::Start(event) => {
                    if seen.insert(event.event_id.clone()) {
                        candidates.push((message, event));
                    } else {
                        report.duplicates += 1;
                    }
                }
                Route::Skip(skipped) => {
                    tracing::info!(event_id = ?skipped.event_id, reason = %skipped.reason, "skipped");
                    report.skipped.push(skipped);
                }
                Route::DeadLetter {
                    event_id,
                    failure,
                    body,
                } => {
                    tracing::warn!(event_id = ?event_id, error = %failure, "dead-lettered");
                    letters.push((
                        message,
                        Outgoing::new(body)
                            .attribute("ERROR_CODE", gcx_core::names::StableName::name(&failure))
                            .attribute("ERROR_MESSAGE", cut(&failure.to_string(), 1000)),
                    ));
                    report.dead_lettered.push(Failed {
                        event_id,
                        error: gcx_core::names::StableName::name(&failure).to_owned(),
                        cause: failure.to_string(),
                    });
                }
            }
        }

        invocation.correlate(candidates.iter().map(|(_, e)| e.correlation_id.as_deref()));
        // Which messages each event came from, to hand back the right ones.
        let origin: Vec<(String, Option<usize>)> = candidates
            .iter()
            .map(|(m, e)| (e.event_id.clone(), *m))
            .collect();
        let batches = pack(
            candidates.into_iter().map(|(_, e)| e).collect(),
            &self.limits(),
        );
        let results: Vec<(Batch, Started)> = stream::iter(batches)
            .map(|b| async move {
                let started = self.start(&b).await;
                (b, started)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        for (batch, started) in results {
            // Genesys's correlation ids lead from a notification to the execution carrying it.
            let correlation_ids: Vec<&str> = batch
                .events
                .iter()
                .filter_map(|e| e.correlation_id.as_deref())
                .collect();
            match started {
                Started::New => {
                    report.executions += 1;
                    report.started += batch.events.len();
                    tracing::info!(execution = %batch.name, events = batch.events.len(), largest_state = batch.largest_state, correlation_ids = ?correlation_ids, "execution started");
                }
                Started::Existing => report.duplicates += batch.events.len(),
                Started::Failed(cause) => {
                    tracing::warn!(execution = %batch.name, cause = %cause, correlation_ids = ?correlation_ids, "StartExecution failed");
                    for event in &batch.events {
                        if let Some((_, Some(m))) =
                            origin.iter().find(|(id, _)| *id == event.event_id)
                        {
                            retry.insert(*m);
                        }
                        report.failed.push(Failed {
                            event_id: Some(event.event_id.clone()),
                            error: "Fanout.StartFailed".into(),
                            cause: cause.clone(),
                        });
                    }
                }
            }
        }

        let outgoing: Vec<Outgoing> = letters.iter().map(|(_, o)| o.clone()).collect();
        let sent = queue::send_all(
            &self.sqs,
            &self.settings.event_dead_letter_queue_url,
            &outgoing,
        )
        .await;
        if is_sqs {
            if let Err(e) = &sent {
                for &p in &e.positions {
                    if let Some(m) = letters[p].0 {
                        retry.insert(m);
                    }
                }
            }
            report.batch_item_failures = Some(
                retry
                    .into_iter()
                    .map(|m| BatchItemFailure {
                        item_identifier: message_ids[m].clone(),
                    })
                    .collect(),
            );
            return Ok(report);
        }
        sent.map_err(FanoutError::DeadLetterUnavailable)?;
        if !report.failed.is_empty() {
            return Err(FanoutError::StartFailed {
                failed: report.failed.len(),
                total: report.events,
                report: serde_json::to_string(&report).unwrap_or_default(),
            });
        }
        Ok(report)
    }

    /// Decides what one item needs.
    fn route(&self, raw: Result<Value, payload::Unreadable>) -> Route {
        let value = match raw {
            Ok(v) => v,
            Err(unreadable) => {
                return Route::DeadLetter {
                    event_id: None,
                    failure: EventFailure::Malformed(unreadable.reason),
                    body: unreadable.text,
                }
            }
        };
        let body = value.to_string();
        let event = match GenesysEvent::parse(value) {
            Ok(e) => e,
            Err(e) => {
                return Route::DeadLetter {
                    event_id: None,
                    failure: EventFailure::Malformed(e.0),
                    body,
                }
            }
        };
        if let Err(why) = event.topic() {
            return Route::Skip(Skipped {
                event_id: event.id,
                reason: why.to_string(),
            });
        }
        let element = match PipelineEvent::from_event(&event) {
            Ok(element) => element,
            Err(Incomplete::NoEventId) => {
                return Route::Skip(Skipped {
                    event_id: None,
                    reason: "no event id: without one, a redelivery could not be told apart".into(),
                })
            }
            Err(why @ (Incomplete::NoConversationId | Incomplete::NoEventTime)) => {
                return Route::DeadLetter {
                    event_id: event.id.clone(),
                    failure: EventFailure::Malformed(format!(
                        "a conversation detail event with {why}"
                    )),
                    body,
                }
            }
        };
        if let Some(bytes) = self.limits().too_large(&element) {
            return Route::DeadLetter {
                event_id: Some(element.event_id),
                failure: EventFailure::TooLarge {
                    bytes,
                    max: self.settings.batch_max_bytes,
                },
                body,
            };
        }
        Route::Start(element)
    }

    /// What every execution is packed to.
    fn limits(&self) -> Limits {
        Limits {
            max_events: self.settings.batch_max_events,
            max_state_bytes: self.settings.batch_max_bytes,
            execution_id_len: gcx_core::contract::budget::execution_id_bound(
                &self.settings.state_machine_arn,
            ),
            enrich_topics: Some(self.settings.enrich_topics.clone()),
        }
    }

    async fn start(&self, batch: &Batch) -> Started {
        let sent_ms = epoch_ms(std::time::SystemTime::now());
        let result = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.settings.state_machine_arn)
            .name(&batch.name)
            .input(&batch.input)
            .send()
            .await;
        match result {
            // A Standard execution still RUNNING with the same name and input is returned again without
            // an error (StartExecution is idempotent); its start date then predates this call.
            Ok(out)
                if out
                    .start_date()
                    .to_millis()
                    .is_ok_and(|t| t + IDEMPOTENT_REPLAY_SKEW_MS < sent_ms) =>
            {
                Started::Existing
            }
            Ok(_) => Started::New,
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), StartExecutionError::ExecutionAlreadyExists(_)) =>
            {
                Started::Existing
            }
            Err(e) => {
                let code = match e.as_service_error() {
                    Some(StartExecutionError::StateMachineDoesNotExist(_)) => {
                        "StateMachineDoesNotExist"
                    }
                    Some(StartExecutionError::InvalidExecutionInput(_)) => "InvalidExecutionInput",
                    Some(StartExecutionError::ExecutionLimitExceeded(_)) => {
                        "ExecutionLimitExceeded"
                    }
                    Some(_) => "StartExecutionError",
                    None => "StepFunctionsUnreachable",
                };
                Started::Failed(format!("{code}: {}", DisplayErrorContext(&e)))
            }
        }
    }
}

/// What one item needs.
enum Route {
    Start(PipelineEvent),
    Skip(Skipped),
    DeadLetter {
        event_id: Option<String>,
        failure: EventFailure,
        body: String,
    },
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// How much older than the request an execution's start date must be for an idempotent success to count
/// as a duplicate rather than a new start (allows for clock skew between Lambda and Step Functions).
const IDEMPOTENT_REPLAY_SKEW_MS: i64 = 1_000;

fn epoch_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The Step Functions client: the SDK's standard retry strategy (exponential backoff with jitter,
/// retrying throttling and transient errors) with more attempts than the default 3, since a throttled
/// start that gives up costs a whole redelivery.
pub fn sfn_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sfn::Client {
    let retry = aws_sdk_sfn::config::retry::RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(std::time::Duration::from_millis(50))
        .with_max_backoff(std::time::Duration::from_secs(5));
    aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(sdk)
            .retry_config(retry)
            .build(),
    )
}

impl Function for App {
    const NAME: &'static str = "fanout";
    type Settings = Settings;
    type Output = Report;
    type Error = FanoutError;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        let sdk = gcx_core::aws::sdk_config().await;
        Ok(Self::new(sfn_client(&sdk), queue::client(&sdk), settings))
    }

    async fn warm_up(&self) {
        let _ = self.sfn.list_state_machines().max_results(1).send().await;
    }

    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Report, FanoutError> {
        self.fan_out(event, invocation).await
    }
}
