//! fanout: one Step Functions execution per Genesys conversation event.
//!
//! Input comes in three shapes (one EventBridge event, a JSON array of them, an SQS batch whose bodies are
//! events). Each conversation detail event becomes one `StartExecution` whose name is derived from the
//! EventBridge event id, so at-least-once redelivery never starts a second execution. Starts run with
//! bounded concurrency; throttling is retried by the SDK's standard retry strategy with backoff and jitter.
//! A start that still fails keeps the event: the invocation fails (Lambda's async retries and on-failure
//! destination keep it) or, for SQS, only the failed records are returned in `batchItemFailures`.

use aws_sdk_sfn::error::{DisplayErrorContext, SdkError};
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use futures_util::stream::{self, StreamExt};
use gcx_core::events::{kind, GenesysEvent, TopicFamily};
use gcx_core::pipeline::{execution_name, ExecutionInput};
use serde::Serialize;
use serde_json::Value;

/// What fanout needs, built once at init. Cheap to clone.
#[derive(Clone)]
pub struct Fanout {
    /// Step Functions client (connection pool shared by clones).
    pub sfn: aws_sdk_sfn::Client,
    /// `STATE_MACHINE_ARN`.
    pub state_machine_arn: String,
    /// `FANOUT_CONCURRENCY`: StartExecution calls in flight at once.
    pub concurrency: usize,
}

/// An event not started, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The EventBridge id, when the event had one.
    pub event_id: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// An event that could not be started, and the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    /// The EventBridge id, when the event had one.
    pub event_id: Option<String>,
    /// `<ErrorName>: <message>`.
    pub error: String,
}

/// An SQS record to hand back for redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The SQS `messageId`.
    pub item_identifier: String,
}

/// The result of one invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Executions started.
    pub started: usize,
    /// Events whose execution already existed (a redelivery).
    pub duplicates: usize,
    /// Events that need no execution, each with its reason.
    pub skipped: Vec<Skipped>,
    /// Events that could not be started.
    pub failed: Vec<Failed>,
    /// SQS input only: the records to redeliver (Lambda's partial batch response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
}

/// Why an invocation fails. The Lambda `error_type` is the stable name.
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    /// The payload is none of the three accepted shapes, or every event in it is malformed.
    #[error("{0}")]
    MalformedEvent(String),
    /// At least one start still failed after retries; the whole report is in the message.
    #[error("{failed} of {total} events could not be started: {summary}")]
    StartFailed {
        /// Failed events.
        failed: usize,
        /// Events in the invocation.
        total: usize,
        /// The report as JSON, so the on-failure destination records what happened.
        summary: String,
    },
}

impl FanoutError {
    /// Every name [`FanoutError::name`] can return.
    pub const NAMES: [&'static str; 2] = ["Fanout.MalformedEvent", "Fanout.StartFailed"];

    /// The stable name used as the Lambda `error_type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MalformedEvent(_) => "Fanout.MalformedEvent",
            Self::StartFailed { .. } => "Fanout.StartFailed",
        }
    }
}

impl From<FanoutError> for lambda_runtime::Diagnostic {
    fn from(e: FanoutError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().into(),
            error_message: e.to_string(),
        }
    }
}

/// The three accepted payload shapes.
#[derive(Debug)]
pub enum Payload {
    /// One EventBridge event (classic bus rule → Lambda).
    Single(Value),
    /// A JSON array of events (custom-bus subscribers).
    Array(Vec<Value>),
    /// An SQS batch: `(messageId, body)` pairs, the body still raw.
    Sqs(Vec<(String, Option<String>)>),
}

impl Payload {
    /// Recognises the shape of an invocation payload.
    pub fn parse(v: Value) -> Result<Self, FanoutError> {
        match v {
            Value::Array(items) => Ok(Self::Array(items)),
            Value::Object(ref o) if o.contains_key("Records") => {
                let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(v)
                    .map_err(|e| {
                        FanoutError::MalformedEvent(format!(
                            "an object with Records must be an SQS event: {e}"
                        ))
                    })?;
                let mut records = Vec::with_capacity(event.records.len());
                for (i, r) in event.records.into_iter().enumerate() {
                    let id = r.message_id.ok_or_else(|| {
                        FanoutError::MalformedEvent(format!(
                            "SQS record {i} has no messageId; cannot report it for redelivery"
                        ))
                    })?;
                    records.push((id, r.body));
                }
                Ok(Self::Sqs(records))
            }
            Value::Object(_) => Ok(Self::Single(v)),
            other => Err(FanoutError::MalformedEvent(format!(
                "expected an EventBridge event, an array of events or an SQS event, got {}",
                kind(&other)
            ))),
        }
    }
}

/// The fate of one event.
#[derive(Debug)]
enum Outcome {
    Started,
    Duplicate,
    Skipped(Skipped),
    Failed(Failed),
}

impl Fanout {
    /// Handles one invocation payload.
    pub async fn handle(&self, payload: Value) -> Result<Report, FanoutError> {
        match Payload::parse(payload)? {
            Payload::Single(event) => {
                let report = self.run(vec![Ok(event)]).await.0;
                finish(report, 1)
            }
            Payload::Array(events) => {
                let total = events.len();
                let report = self.run(events.into_iter().map(Ok).collect()).await.0;
                finish(report, total)
            }
            Payload::Sqs(records) => {
                let (ids, events): (Vec<String>, Vec<Result<Value, String>>) = records
                    .into_iter()
                    .map(|(id, body)| {
                        let event = match body {
                            Some(b) => serde_json::from_str::<Value>(&b).map_err(|e| {
                                format!("Fanout.MalformedEvent: SQS body is not JSON ({e})")
                            }),
                            None => Err("Fanout.MalformedEvent: SQS record has no body".to_owned()),
                        };
                        (id, event)
                    })
                    .unzip();
                let (mut report, failed_positions) = self.run(events).await;
                report.batch_item_failures = Some(
                    failed_positions
                        .into_iter()
                        .map(|i| BatchItemFailure {
                            item_identifier: ids[i].clone(),
                        })
                        .collect(),
                );
                Ok(report)
            }
        }
    }

    /// Routes every event with bounded concurrency; returns the report and the positions that failed.
    async fn run(&self, events: Vec<Result<Value, String>>) -> (Report, Vec<usize>) {
        let outcomes: Vec<Outcome> = stream::iter(events)
            .map(|e| async move {
                match e {
                    Ok(v) => self.route(v).await,
                    Err(error) => Outcome::Failed(Failed {
                        event_id: None,
                        error,
                    }),
                }
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut report = Report::default();
        let mut failed_positions = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            match o {
                Outcome::Started => report.started += 1,
                Outcome::Duplicate => report.duplicates += 1,
                Outcome::Skipped(s) => {
                    tracing::info!(event_id = ?s.event_id, reason = %s.reason, "skipped");
                    report.skipped.push(s)
                }
                Outcome::Failed(f) => {
                    tracing::warn!(event_id = ?f.event_id, error = %f.error, "failed");
                    failed_positions.push(i);
                    report.failed.push(f)
                }
            }
        }
        (report, failed_positions)
    }

    /// Decides what one event needs, and starts its execution.
    async fn route(&self, raw: Value) -> Outcome {
        let event = match GenesysEvent::parse(raw) {
            Ok(e) => e,
            Err(e) => {
                return Outcome::Failed(Failed {
                    event_id: None,
                    error: format!("Fanout.MalformedEvent: {}", e.0),
                })
            }
        };
        let skip = |reason: String| {
            Outcome::Skipped(Skipped {
                event_id: event.id.clone(),
                reason,
            })
        };
        if !matches!(event.family(), TopicFamily::ConversationDetail(_)) {
            return skip(format!("not a conversation event: {}", event.detail_type));
        }
        if event.id.is_none() {
            return skip("no event id".into());
        }
        let Some(input) = ExecutionInput::from_event(&event) else {
            return skip("no eventBody.conversationId".into());
        };
        self.start(&input).await
    }

    async fn start(&self, input: &ExecutionInput) -> Outcome {
        let fail = |error: String| {
            Outcome::Failed(Failed {
                event_id: Some(input.event_id.clone()),
                error,
            })
        };
        let body = match serde_json::to_string(input) {
            Ok(b) => b,
            Err(e) => {
                return fail(format!(
                    "Fanout.MalformedEvent: cannot serialise the execution input ({e})"
                ))
            }
        };
        let sent_ms = epoch_ms(std::time::SystemTime::now());
        let result = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(execution_name(&input.event_id))
            .input(body)
            .send()
            .await;
        match result {
            // A Standard execution that is still RUNNING with the same name and input is returned again
            // without an error (StartExecution is idempotent). Its start date then predates this call.
            Ok(out)
                if out
                    .start_date()
                    .to_millis()
                    .is_ok_and(|t| t + IDEMPOTENT_REPLAY_SKEW_MS < sent_ms) =>
            {
                Outcome::Duplicate
            }
            Ok(_) => Outcome::Started,
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), StartExecutionError::ExecutionAlreadyExists(_)) =>
            {
                Outcome::Duplicate
            }
            Err(e) => {
                let name = match e.as_service_error() {
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
                fail(format!("{name}: {}", DisplayErrorContext(&e)))
            }
        }
    }
}

/// How much older than the request an execution's start date must be for an idempotent success to count
/// as a duplicate rather than a new start (allows for clock skew between Lambda and Step Functions).
const IDEMPOTENT_REPLAY_SKEW_MS: i64 = 1_000;

fn epoch_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Turns a single/array report into the invocation result: any failure fails the invocation.
fn finish(report: Report, total: usize) -> Result<Report, FanoutError> {
    if report.failed.is_empty() {
        return Ok(report);
    }
    let all_malformed = report
        .failed
        .iter()
        .all(|f| f.error.starts_with("Fanout.MalformedEvent"));
    let summary = serde_json::to_string(&report).unwrap_or_default();
    if all_malformed && report.started == 0 && report.duplicates == 0 {
        let first = report.failed[0]
            .error
            .trim_start_matches("Fanout.MalformedEvent: ")
            .to_owned();
        return Err(FanoutError::MalformedEvent(if total == 1 {
            first
        } else {
            format!("{first}; report: {summary}")
        }));
    }
    Err(FanoutError::StartFailed {
        failed: report.failed.len(),
        total,
        summary,
    })
}

/// The Step Functions client: the SDK's standard retry strategy (exponential backoff with jitter, retrying
/// throttling and transient errors) with more attempts than the default 3, since a throttled start that
/// gives up costs a whole redelivery.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_shapes_are_recognised() {
        assert!(matches!(
            Payload::parse(json!({"detail-type": "x"})).unwrap(),
            Payload::Single(_)
        ));
        assert!(matches!(Payload::parse(json!([])).unwrap(), Payload::Array(v) if v.is_empty()));
        let sqs = json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]});
        assert!(
            matches!(Payload::parse(sqs).unwrap(), Payload::Sqs(r) if r == vec![("m1".to_owned(), Some("{}".to_owned()))])
        );
        let e = Payload::parse(json!("hello")).unwrap_err();
        assert_eq!(e.name(), "Fanout.MalformedEvent");
        assert!(e.to_string().contains("got a string"), "{e}");
        let e = Payload::parse(json!({"Records": [{"body": "{}"}]})).unwrap_err();
        assert!(e.to_string().contains("no messageId"), "{e}");
    }

    #[test]
    fn failures_fail_the_invocation_with_the_right_name() {
        let malformed = Report {
            failed: vec![Failed {
                event_id: None,
                error: "Fanout.MalformedEvent: detail is missing".into(),
            }],
            ..Report::default()
        };
        let e = finish(malformed, 1).unwrap_err();
        assert_eq!(
            (e.name(), e.to_string().as_str()),
            ("Fanout.MalformedEvent", "detail is missing")
        );
        let start_failed = Report {
            started: 2,
            failed: vec![Failed {
                event_id: Some("e".into()),
                error: "StepFunctionsUnreachable: x".into(),
            }],
            ..Report::default()
        };
        let e = finish(start_failed, 3).unwrap_err();
        assert_eq!(e.name(), "Fanout.StartFailed");
        assert!(
            e.to_string()
                .starts_with("1 of 3 events could not be started: {\"started\":2"),
            "{e}"
        );
        assert_eq!(finish(Report::default(), 0).unwrap(), Report::default());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The payload parser (single / array / SQS) never panics and names what is wrong.
        #[test]
        fn any_payload_is_recognised_or_malformed(v in test_support::arb::json_with_keys(
            &["Records", "messageId", "body", "eventSource", "detail-type", "detail", "id"]
        )) {
            match Payload::parse(v) {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(e.name(), "Fanout.MalformedEvent");
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}
