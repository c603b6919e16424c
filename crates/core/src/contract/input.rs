//! The execution input: what fanout starts and validate reads, and its one check ([`check`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::events::{kind, DetailTopic, GenesysEvent};

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
