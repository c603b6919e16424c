//! The contract between the parts of the pipeline: what fanout starts, what each Task of the state
//! machine takes and answers, what save queues for enrich, and the dead-letter message. docs/contracts.md
//! describes the same types; the code, the state machine and the tests follow them.
//!
//! [`check`] is the one place that decides whether an execution input (or one event of it) is valid:
//! validate answers from it, process and save read through it, fanout builds through [`PipelineEvent`].
//! Nothing here calls anything, and nothing here knows Genesys's API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::events::{kind, DetailTopic, GenesysEvent};
use crate::names::StableName;

/// Longest accepted EventBridge event id (UUIDs are 36).
pub const MAX_EVENT_ID_CHARS: usize = 256;

/// One event of an execution's batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineEvent {
    /// `detail.eventBody.conversationId`: a hyphenated UUID.
    pub conversation_id: String,
    /// The EventBridge event id (unique per event; redeliveries keep it).
    pub event_id: String,
    /// The topic pattern (`detail-type`), e.g. `v2.detail.events.conversation.{id}.customer.end`.
    pub event_type: String,
    /// `detail.eventBody.eventTime`, epoch milliseconds.
    pub event_time: i64,
    /// `detail.metadata.CorrelationId`: Genesys's id for this notification. Always written (null when
    /// absent), so the state machine can test its presence.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The EventBridge `detail` as received (`{topicName, version, eventBody, metadata, timestamp}`).
    pub detail: Value,
}

/// Why an EventBridge event cannot become an element of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Incomplete {
    /// No EventBridge `id`: a redelivery could not be told apart.
    #[error("no event id")]
    NoEventId,
    /// No `detail.eventBody.conversationId`.
    #[error("no eventBody.conversationId")]
    NoConversationId,
    /// No `detail.eventBody.eventTime` in epoch milliseconds.
    #[error("no eventBody.eventTime")]
    NoEventTime,
}

impl PipelineEvent {
    /// The element fanout puts in a batch for `event`, or why there is none.
    pub fn from_event(event: &GenesysEvent) -> Result<Self, Incomplete> {
        let event_id = event.id.clone().ok_or(Incomplete::NoEventId)?;
        let conversation_id = event
            .conversation_id()
            .ok_or(Incomplete::NoConversationId)?
            .to_owned();
        let event_time = event.event_time_ms().ok_or(Incomplete::NoEventTime)?;
        Ok(Self {
            conversation_id,
            event_id,
            event_type: event.detail_type.clone(),
            event_time,
            correlation_id: event.correlation_id().map(str::to_owned),
            detail: Value::Object(event.detail.clone()),
        })
    }

    /// The event's topic; every event that passed [`check_event`] has one.
    pub fn topic(&self) -> Option<DetailTopic> {
        DetailTopic::of(&self.event_type).ok()
    }

    /// `detail.eventBody`.
    pub fn body(&self) -> Option<&Map<String, Value>> {
        self.detail.get("eventBody")?.as_object()
    }

    /// The execution input that holds only this event (what a dead letter's `input` is).
    pub fn alone(&self) -> Value {
        serde_json::json!({ "events": [self] })
    }
}

/// An execution's input: a batch of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInput {
    /// The events, each with today's per-event fields.
    pub events: Vec<PipelineEvent>,
}

/// Why an input, or one event of it, breaks the contract. `path` is a JSON path into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct Rejection {
    /// Where, e.g. `$.events[2].conversationId`.
    pub path: String,
    /// What is wrong, e.g. `is not a UUID`.
    pub problem: String,
}

impl Rejection {
    fn at(path: &str, field: &str, problem: impl Into<String>) -> Self {
        Self {
            path: if field.is_empty() {
                path.to_owned()
            } else {
                format!("{path}.{field}")
            },
            problem: problem.into(),
        }
    }
}

/// Checks a whole execution input: valid only if every event is.
pub fn check(input: &Value) -> Result<ExecutionInput, Rejection> {
    let events = events_of(input)?
        .iter()
        .enumerate()
        .map(|(i, e)| check_event(e, &format!("$.events[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ExecutionInput { events })
}

/// The `events` array of an execution input.
pub fn events_of(input: &Value) -> Result<&Vec<Value>, Rejection> {
    let Value::Object(top) = input else {
        return Err(Rejection::at(
            "$",
            "",
            format!(
                "must be an object with an events array, got {}",
                kind(input)
            ),
        ));
    };
    match top.get("events") {
        Some(Value::Array(events)) => Ok(events),
        Some(other) => Err(Rejection::at(
            "$",
            "events",
            format!("must be an array, got {}", kind(other)),
        )),
        None => Err(Rejection::at("$", "events", "is missing")),
    }
}

/// Checks one event of a batch; `path` names it in the rejection (`$.events[3]`).
pub fn check_event(value: &Value, path: &str) -> Result<PipelineEvent, Rejection> {
    let Value::Object(o) = value else {
        return Err(Rejection::at(
            path,
            "",
            format!("must be an object, got {}", kind(value)),
        ));
    };
    let text = |field: &str| -> Result<&str, Rejection> {
        match o.get(field) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(Rejection::at(
                path,
                field,
                format!("must be a string, got {}", kind(other)),
            )),
            None => Err(Rejection::at(path, field, "is missing")),
        }
    };
    let conversation_id = text("conversationId")?;
    if !is_hyphenated_uuid(conversation_id) {
        return Err(Rejection::at(path, "conversationId", "is not a UUID"));
    }
    let event_id = text("eventId")?;
    if event_id.trim().is_empty() || event_id.chars().count() > MAX_EVENT_ID_CHARS {
        return Err(Rejection::at(
            path,
            "eventId",
            format!("must be 1 to {MAX_EVENT_ID_CHARS} characters"),
        ));
    }
    let event_type = text("eventType")?;
    if let Err(why) = DetailTopic::of(event_type) {
        return Err(Rejection::at(path, "eventType", why.to_string()));
    }
    let event_time = match o.get("eventTime") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|t| t > 0) => n.as_i64().unwrap_or(0),
        Some(Value::Null) | None => return Err(Rejection::at(path, "eventTime", "is missing")),
        Some(other) => {
            return Err(Rejection::at(
                path,
                "eventTime",
                format!(
                    "must be a positive integer of epoch milliseconds, got {}",
                    kind(other)
                ),
            ))
        }
    };
    let correlation_id = match o.get("correlationId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(Rejection::at(
                path,
                "correlationId",
                format!("must be a string or null, got {}", kind(other)),
            ))
        }
    };
    let detail = match o.get("detail") {
        Some(d @ Value::Object(_)) => d,
        Some(other) => {
            return Err(Rejection::at(
                path,
                "detail",
                format!("must be an object, got {}", kind(other)),
            ))
        }
        None => return Err(Rejection::at(path, "detail", "is missing")),
    };
    match detail.get("eventBody") {
        Some(Value::Object(body)) => {
            if let Some(inner) = body.get("conversationId").and_then(Value::as_str) {
                if inner != conversation_id {
                    return Err(Rejection::at(
                        path,
                        "detail.eventBody.conversationId",
                        "differs from conversationId",
                    ));
                }
            }
        }
        Some(other) => {
            return Err(Rejection::at(
                path,
                "detail.eventBody",
                format!("must be an object, got {}", kind(other)),
            ))
        }
        None => return Err(Rejection::at(path, "detail.eventBody", "is missing")),
    }
    Ok(PipelineEvent {
        conversation_id: conversation_id.to_owned(),
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        event_time,
        correlation_id,
        detail: detail.clone(),
    })
}

/// Genesys ids are hyphenated UUIDs (8-4-4-4-12, either case); other UUID spellings are not ids.
pub fn is_hyphenated_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// The failure every stage reports when the state it was handed breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The batch, or one event of it, is not the documented shape.
    #[error("{0}")]
    InvalidInput(Rejection),
}
crate::stable_names!(ContractError {
    InvalidInput(..) => "Pipeline.InvalidInput",
});

/// What a Task receives: the state machine passes `{"batch.$": "$", "executionId.$": "$$.Execution.Id"}`,
/// so the whole state arrives under `batch` whatever its shape (a missing field cannot break the
/// state machine itself), with the execution's id for the dead letters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    /// The state: the execution input for validate, the previous Task's answer for the others.
    #[serde(default)]
    pub batch: Value,
    /// `$$.Execution.Id`.
    #[serde(default)]
    pub execution_id: Option<String>,
}

impl TaskInput {
    /// Reads a Task's input; anything else is [`ContractError::InvalidInput`].
    pub fn parse(event: Value) -> Result<Self, ContractError> {
        match event {
            Value::Object(ref o) if o.contains_key("batch") => serde_json::from_value(event)
                .map_err(|e| invalid("$", format!("is not a Task input: {e}"))),
            other => Err(invalid(
                "$",
                format!(
                    "must be {{\"batch\": ..., \"executionId\": ...}} (the state machine's Parameters), got {}",
                    kind(&other)
                ),
            )),
        }
    }

    /// The batch read as `T`; a mismatch is [`ContractError::InvalidInput`] naming the path.
    pub fn batch<T: serde::de::DeserializeOwned>(&self) -> Result<T, ContractError> {
        T::deserialize(&self.batch).map_err(|e| {
            invalid(
                "$.batch",
                format!("is not the previous stage's answer: {e}"),
            )
        })
    }
}

fn invalid(path: &str, problem: String) -> ContractError {
    ContractError::InvalidInput(Rejection {
        path: path.to_owned(),
        problem,
    })
}

/// Where in the pipeline a dead letter was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// fanout (malformed events, to the event dead-letter queue).
    Fanout,
    /// The ValidateBatch Task.
    Validate,
    /// The ProcessBatch Task.
    Process,
    /// The SaveBatch Task.
    Save,
    /// The enrichment consumer.
    Enrich,
}

/// One dead-letter message: one event (or one enrichment request) and why it was given up on.
///
/// `input` can be re-driven as is: an execution input `{"events": [event]}` for the pipeline queue, an
/// enrichment message `{"requests": [request]}` for the enrichment queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The EventBridge event id ("" when the event had none).
    pub event_id: String,
    /// The conversation id ("" when unknown).
    pub conversation_id: String,
    /// The topic pattern ("" when unknown).
    pub event_type: String,
    /// Genesys's `CorrelationId` of the event, when known.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The stable error name, e.g. `Event.Invalid`, `Store.Rejected`, `Genesys.NotYetAvailable`.
    pub error: String,
    /// What happened, for a person.
    pub cause: String,
    /// The stage that gave up.
    pub stage: Stage,
    /// The execution that carried the event (`$$.Execution.Id`), when there was one.
    #[serde(default)]
    pub execution_id: Option<String>,
    /// What to re-drive.
    pub input: Value,
}

impl DeadLetter {
    /// One log line for it, so a dead letter can be found from its event id or Genesys correlation id
    /// without reading the queue (the cause is already free of PII and secrets).
    pub fn log(&self) {
        // A conversation id that is not a UUID may be anything a producer put there: only its reference.
        let conversation =
            if is_hyphenated_uuid(&self.conversation_id) || self.conversation_id.is_empty() {
                self.conversation_id.clone()
            } else {
                format!("ref:{}", crate::redact::pii_ref(&self.conversation_id))
            };
        tracing::warn!(
            event_id = %self.event_id,
            conversation_id = %conversation,
            correlation_id = self.correlation_id.as_deref().unwrap_or_default(),
            error = %self.error,
            stage = ?self.stage,
            cause = %self.cause,
            "dead-lettered"
        );
    }

    /// A dead letter for a valid event.
    pub fn for_event<E: StableName + std::fmt::Display>(
        event: &PipelineEvent,
        error: &E,
        stage: Stage,
        execution_id: Option<&str>,
    ) -> Self {
        Self {
            event_id: event.event_id.clone(),
            conversation_id: event.conversation_id.clone(),
            event_type: event.event_type.clone(),
            correlation_id: event.correlation_id.clone(),
            error: error.name().to_owned(),
            cause: error.to_string(),
            stage,
            execution_id: execution_id.map(str::to_owned),
            input: event.alone(),
        }
    }

    /// A dead letter for a whole input that is not a batch at all (`input` is that input, as it came).
    pub fn for_input<E: StableName + std::fmt::Display>(
        input: &Value,
        error: &E,
        stage: Stage,
        execution_id: Option<&str>,
    ) -> Self {
        Self {
            input: input.clone(),
            ..Self::for_raw(&Value::Null, error, stage, execution_id)
        }
    }

    /// A dead letter for an element that is not a valid event: whatever identity it has is kept.
    pub fn for_raw<E: StableName + std::fmt::Display>(
        raw: &Value,
        error: &E,
        stage: Stage,
        execution_id: Option<&str>,
    ) -> Self {
        let text = |k: &str| {
            raw.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            event_id: text("eventId"),
            conversation_id: text("conversationId"),
            event_type: text("eventType"),
            correlation_id: raw
                .get("correlationId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            error: error.name().to_owned(),
            cause: error.to_string(),
            stage,
            execution_id: execution_id.map(str::to_owned),
            input: serde_json::json!({ "events": [raw] }),
        }
    }
}

impl DeadLetter {
    /// A dead letter for an enrichment request; `input` is an enrichment message holding it alone, so
    /// re-driving it is sending it back to the enrichment queue.
    pub fn for_request<E: StableName + std::fmt::Display>(
        request: &EnrichmentRequest,
        error: &E,
    ) -> Self {
        let mut fresh = request.clone();
        fresh.attempt = 0;
        fresh.unavailable = 0;
        Self {
            event_id: request.event_id.clone(),
            conversation_id: request.conversation_id.clone(),
            event_type: request.event_type.clone(),
            correlation_id: request.correlation_id.clone(),
            error: error.name().to_owned(),
            cause: error.to_string(),
            stage: Stage::Enrich,
            execution_id: request.execution_id.clone(),
            input: serde_json::json!({ "requests": [fresh] }),
        }
    }
}

/// validate's answer, and process's batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validated {
    /// The events that may be processed.
    pub events: Vec<PipelineEvent>,
    /// The events that may not, each with its reason.
    #[serde(default)]
    pub dead_letters: Vec<DeadLetter>,
}

/// The `CorrelationId`s of a batch's events, then of its dead letters, in order (missing ones as `None`):
/// what validate, process and save give `Invocation::correlate`.
fn batch_correlation_ids<'a>(
    events: &'a [PipelineEvent],
    dead_letters: &'a [DeadLetter],
) -> impl Iterator<Item = Option<&'a str>> + 'a {
    let events = events.iter().map(|e| e.correlation_id.as_deref());
    events.chain(dead_letters.iter().map(|d| d.correlation_id.as_deref()))
}

impl Validated {
    /// The correlation ids of its events, then of its dead letters (for the invocation's log line).
    pub fn correlation_ids(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        batch_correlation_ids(&self.events, &self.dead_letters)
    }
}

impl Processed {
    /// The correlation ids of its events, then of its dead letters (for the invocation's log line).
    pub fn correlation_ids(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        batch_correlation_ids(&self.events, &self.dead_letters)
    }
}

/// process's answer, and save's batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Processed {
    /// The events, carried on so that save can dead-letter one with its full input.
    pub events: Vec<PipelineEvent>,
    /// One record per event (same order), to write.
    pub records: Vec<ConversationRecord>,
    /// The events whose conversations the analytics API should enrich.
    #[serde(default)]
    pub enrich: Vec<EnrichmentRequest>,
    /// Dead letters so far (validate's and process's).
    #[serde(default)]
    pub dead_letters: Vec<DeadLetter>,
}

/// What became of one event at save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SaveOutcome {
    /// Written: the newest event of its conversation so far.
    Stored,
    /// Not written: the table holds a newer event of the conversation (an older event arrived late).
    Stale,
    /// Not written: the table already holds this very event (a redelivery).
    Duplicate,
    /// Given up on; its dead letter is in the pipeline dead-letter queue.
    DeadLettered,
}

/// One event's fate, in save's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOutcome {
    /// The EventBridge event id.
    pub event_id: String,
    /// What happened to it.
    pub outcome: SaveOutcome,
}

/// save's answer: the execution's output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    /// Records written.
    pub stored: usize,
    /// Records not written because a newer event is stored.
    pub stale: usize,
    /// Records not written because the same event is stored.
    pub duplicate: usize,
    /// Dead letters sent (validate's, process's and save's).
    pub dead_lettered: usize,
    /// Enrichment requests queued.
    pub enrichment_queued: usize,
    /// Every event of the batch, with its fate.
    pub events: Vec<EventOutcome>,
}

/// An agent who handled the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Genesys user id.
    pub user_id: Option<String>,
    /// Display name, when the analytics details give one.
    #[serde(default)]
    pub name: Option<String>,
}

/// The record process builds from one event and save writes, keyed by `conversationId`.
///
/// The `last*` fields and `correlationId` say which event the item reflects: save writes them only when
/// the event is newer than the stored one. The other fields fill what the item does not have yet; the
/// analytics details (enrich) overwrite them, because they are the conversation's own view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRecord {
    /// Table key.
    pub conversation_id: String,
    /// Lowercase media type (`voice`, `chat`, ...), as the analytics API spells it.
    pub media_type: Option<String>,
    /// `inbound` / `outbound` (an event's session direction until the details say otherwise).
    pub originating_direction: Option<String>,
    /// Divisions.
    #[serde(default)]
    pub division_ids: Vec<String>,
    /// Queues, in first-seen order.
    #[serde(default)]
    pub queue_ids: Vec<String>,
    /// Agents, in first-seen order.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// Wrap-up code ids, in first-seen order.
    #[serde(default)]
    pub wrap_up_codes: Vec<String>,
    /// The topic of the event.
    pub last_event_type: String,
    /// Its `eventTime` (epoch ms): the ordering key of the conditional write.
    pub last_event_time: i64,
    /// Its EventBridge id: the tie-breaker for equal times, and what makes a replay a no-op.
    pub last_event_id: String,
    /// Its Genesys `CorrelationId`.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The customer's key ([`crate::customer::CustomerKeyer::key`] of the event's `ani`, or `dnis` when the
    /// event is outbound): the hash key of the table's `CustomerRecency` index. Only when a customer key is
    /// configured and the event names a customer address; never the address itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_key: Option<String>,
    /// The `eventTime` (epoch ms) of the event that gave [`Self::customer_key`]: the index's range key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_contact_at: Option<i64>,
}

/// What enrich writes from the analytics details of a conversation (genesys::mapping builds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrichment {
    /// ISO-8601.
    pub conversation_start: Option<String>,
    /// ISO-8601; null while live.
    pub conversation_end: Option<String>,
    /// End minus start, when both are known.
    pub duration_ms: Option<i64>,
    /// The customer's session media type, lowercase.
    pub media_type: Option<String>,
    /// The conversation's `originatingDirection`.
    pub originating_direction: Option<String>,
    /// Divisions.
    pub division_ids: Vec<String>,
    /// Queues, in first-seen order.
    pub queue_ids: Vec<String>,
    /// Agents (participants with purpose `agent` or `user` and a `userId`), in first-seen order.
    pub agents: Vec<Agent>,
    /// The customer's display name.
    pub customer_participant_name: Option<String>,
    /// Wrap-up code ids, in first-seen order.
    pub wrap_up_codes: Vec<String>,
    /// The details as received, only with `STORE_RAW_DETAILS=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_details: Option<Value>,
}

/// One conversation to enrich, queued by save (and re-queued by enrich while it is not indexed yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichmentRequest {
    /// The conversation.
    pub conversation_id: String,
    /// The event that asked for it.
    pub event_id: String,
    /// Its topic pattern.
    pub event_type: String,
    /// Its `eventTime`.
    pub event_time: i64,
    /// Its Genesys `CorrelationId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The execution that saved the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Retries so far because the conversation was not indexed yet (0 on the first try).
    #[serde(default)]
    pub attempt: u32,
    /// Retries so far because Genesys was unavailable (5xx, timeouts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unavailable: u32,
    /// When the request was first queued, epoch ms (the not-yet-indexed budget counts from here).
    #[serde(default)]
    pub first_queued_at: i64,
}

impl EnrichmentRequest {
    /// The request for `event`, queued at `now_ms`.
    pub fn for_event(event: &PipelineEvent, execution_id: Option<&str>, now_ms: i64) -> Self {
        Self {
            conversation_id: event.conversation_id.clone(),
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            event_time: event.event_time,
            correlation_id: event.correlation_id.clone(),
            execution_id: execution_id.map(str::to_owned),
            attempt: 0,
            unavailable: 0,
            first_queued_at: now_ms,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The body of one enrichment-queue message: many requests, so that one SQS message carries a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichmentMessage {
    /// The requests.
    pub requests: Vec<EnrichmentRequest>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": "adbcfa5b-0116-4baa-b66b-a3f5902e95bf",
            "eventType": "v2.detail.events.conversation.{id}.customer.end",
            "eventTime": 1_649_237_444_949_i64,
            "correlationId": "x",
            "detail": {"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6"}}
        })
    }

    #[test]
    fn a_conversation_event_is_valid_and_round_trips() {
        let e = check_event(&good(), "$.events[0]").unwrap();
        assert_eq!(e.topic(), Some(DetailTopic::CustomerEnd));
        assert_eq!(serde_json::to_value(&e).unwrap(), good());
        let input = check(&json!({"events": [good(), good()]})).unwrap();
        assert_eq!(input.events.len(), 2);
    }

    #[test]
    fn each_rule_names_its_path() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("conversationId", json!("not-a-uuid"), "$.events[0].conversationId: is not a UUID"),
            ("conversationId", json!("1bc96a39672540c49345db72aa67b8c6"), "$.events[0].conversationId: is not a UUID"),
            ("conversationId", json!(5), "$.events[0].conversationId: must be a string, got a number"),
            ("eventType", json!("v2.audits.entitytype.{id}.entityid.{id}"), "$.events[0].eventType: not a conversation detail event"),
            ("eventType", json!(null), "$.events[0].eventType: must be a string, got null"),
            ("eventTime", json!(null), "$.events[0].eventTime: is missing"),
            ("eventTime", json!("2022-04-06T09:30:45Z"), "$.events[0].eventTime: must be a positive integer of epoch milliseconds, got a string"),
            ("eventTime", json!(-5), "$.events[0].eventTime: must be a positive integer"),
            ("eventId", json!(""), "$.events[0].eventId: must be 1 to 256 characters"),
            ("correlationId", json!(3), "$.events[0].correlationId: must be a string or null"),
            ("detail", json!("x"), "$.events[0].detail: must be an object, got a string"),
            ("detail", json!({}), "$.events[0].detail.eventBody: is missing"),
            ("detail", json!({"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c7"}}), "$.events[0].detail.eventBody.conversationId: differs from conversationId"),
        ];
        for (field, value, want) in cases {
            let mut input = good();
            input[field] = value;
            let why = check_event(&input, "$.events[0]").unwrap_err().to_string();
            assert!(
                why.starts_with(want),
                "{field}: {why:?} does not start with {want:?}"
            );
        }
        let mut no_detail = good();
        no_detail.as_object_mut().unwrap().remove("detail");
        assert_eq!(
            check_event(&no_detail, "$.events[1]")
                .unwrap_err()
                .to_string(),
            "$.events[1].detail: is missing"
        );
        assert_eq!(
            check(&json!([1])).unwrap_err().to_string(),
            "$: must be an object with an events array, got an array"
        );
        assert_eq!(
            check(&json!({})).unwrap_err().to_string(),
            "$.events: is missing"
        );
        assert_eq!(
            check(&json!({"events": [good(), 3]}))
                .unwrap_err()
                .to_string(),
            "$.events[1]: must be an object, got a number"
        );
    }

    #[test]
    fn task_inputs_and_dead_letters() {
        let task = TaskInput::parse(json!({"batch": {"events": [good()]}, "executionId": "arn:x"}))
            .unwrap();
        assert_eq!(task.execution_id.as_deref(), Some("arn:x"));
        let validated: Validated = task.batch().unwrap();
        assert_eq!(validated.events.len(), 1);
        let e = TaskInput::parse(json!({"events": []})).unwrap_err();
        assert_eq!(e.name(), "Pipeline.InvalidInput");
        let wrong: Result<Processed, _> = TaskInput::parse(json!({"batch": {"events": []}}))
            .unwrap()
            .batch();
        assert!(wrong
            .unwrap_err()
            .to_string()
            .starts_with("$.batch: is not the previous stage's answer"));

        let event = check_event(&good(), "$").unwrap();
        let rejection = ContractError::InvalidInput(Rejection {
            path: "$".into(),
            problem: "x".into(),
        });
        let letter = DeadLetter::for_event(&event, &rejection, Stage::Process, Some("arn:x"));
        let json = serde_json::to_value(&letter).unwrap();
        for field in [
            "eventId",
            "conversationId",
            "eventType",
            "correlationId",
            "error",
            "cause",
            "stage",
            "executionId",
            "input",
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
        assert_eq!(json["error"], "Pipeline.InvalidInput");
        assert_eq!(json["stage"], "process");
        assert_eq!(check(&json["input"]).unwrap().events, vec![event]);
        let raw = DeadLetter::for_raw(&json!("junk"), &rejection, Stage::Validate, None);
        assert_eq!(
            (raw.event_id.as_str(), raw.input.clone()),
            ("", json!({"events": ["junk"]}))
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any JSON either checks (and then serializes back to something that checks the same) or is
        /// rejected with a path into the input.
        #[test]
        fn any_event_checks_or_names_a_path(v in test_support::arb::json_with_keys(&[
            "conversationId", "eventId", "eventType", "eventTime", "correlationId", "detail", "eventBody",
        ])) {
            match check_event(&v, "$.events[0]") {
                Ok(e) => {
                    let again = check_event(&serde_json::to_value(&e).unwrap(), "$.events[0]").unwrap();
                    prop_assert_eq!(again, e);
                }
                Err(r) => prop_assert!(r.path.starts_with("$.events[0]") && !r.problem.is_empty()),
            }
        }
    }
}
