//! The dead-letter message: one event (or one enrichment request) given up on, and why.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use sha2::{Digest, Sha256};

use super::{is_hyphenated_uuid, EnrichmentRequest, PipelineEvent};
use crate::names::StableName;

/// The key of an element of an execution input in a dead letter's id: its `eventId`, or, for an element
/// without one, `#<its index in the execution input>` (what the state machine's dead-letter Map uses for
/// every element, from `$$.Map.Item.Index`), or `#input` for a whole input that is not a batch.
pub fn event_key(event_id: Option<&str>, index: usize) -> String {
    match event_id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("#{index}"),
    }
}

/// The key of a whole input that is not a batch (it has no elements to number).
pub const WHOLE_INPUT_KEY: &str = "#input";

/// A dead letter's deterministic id: the lowercase hex SHA-256 of `<executionId>|<stage>|<key>`
/// (`executionId` empty outside an execution). The state machine computes the same with
/// `States.Hash(States.Format('{}|{}|#{}', $$.Execution.Id, stage, index), 'SHA-256')`.
///
/// SQS standard queues and retried Tasks can deliver a dead letter twice; the two copies carry the same
/// id, so a reader (`gcx redrive`) recognises the repeat.
pub fn dead_letter_id(execution_id: Option<&str>, stage: Stage, key: &str) -> String {
    let text = format!(
        "{}|{}|{key}",
        execution_id.unwrap_or_default(),
        stage.as_str()
    );
    hex(&Sha256::digest(text.as_bytes()))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
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

impl Stage {
    /// The name in a dead letter's `stage` (serde's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fanout => "fanout",
            Self::Validate => "validate",
            Self::Process => "process",
            Self::Save => "save",
            Self::Enrich => "enrich",
        }
    }
}

/// One dead-letter message: one event (or one enrichment request) and why it was given up on.
///
/// `input` can be re-driven as is: an execution input `{"events": [event]}` for the pipeline queue, an
/// enrichment message `{"requests": [request]}` for the enrichment queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Deterministic: the same event, dead-lettered by the same stage of the same execution, always has
    /// the same id ([`dead_letter_id`]), so a repeated send is recognisable. Empty only in letters
    /// written before 0.4.
    #[serde(default)]
    pub dead_letter_id: String,
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
            dead_letter_id = %self.dead_letter_id,
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
            dead_letter_id: dead_letter_id(execution_id, stage, &event.event_id),
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
            dead_letter_id: dead_letter_id(execution_id, stage, WHOLE_INPUT_KEY),
            input: input.clone(),
            ..Self::for_raw(&Value::Null, 0, error, stage, execution_id)
        }
    }

    /// A dead letter for the element at `index` of an execution input that is not a valid event: whatever
    /// identity it carries is kept (each of `eventId`, `conversationId`, `eventType` that is text, and a
    /// text `correlationId`).
    pub fn for_raw<E: StableName + std::fmt::Display>(
        raw: &Value,
        index: usize,
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
        let event_id = text("eventId");
        Self {
            dead_letter_id: dead_letter_id(execution_id, stage, &event_key(Some(&event_id), index)),
            event_id,
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

    /// A dead letter for an enrichment request; `input` is an enrichment message holding it alone, so
    /// re-driving it is sending it back to the enrichment queue. Its id is derived from the execution that
    /// queued the request and its event, so the copies of a request that a retried save queued twice give
    /// the same id.
    pub fn for_request<E: StableName + std::fmt::Display>(
        request: &EnrichmentRequest,
        error: &E,
    ) -> Self {
        let mut fresh = request.clone();
        fresh.attempt = 0;
        fresh.unavailable = 0;
        Self {
            dead_letter_id: dead_letter_id(
                request.execution_id.as_deref(),
                Stage::Enrich,
                &request.event_id,
            ),
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

    /// What `gcx redrive` treats as one event of one execution, whatever stage dead-lettered it (a stage
    /// that fails whole dead-letters the events an earlier stage already had): the execution and the
    /// event key, or the letter's own id when it names neither.
    pub fn repeat_key(&self) -> String {
        let read = DeadLetterRead {
            dead_letter_id: Some(self.dead_letter_id.clone()).filter(|id| !id.is_empty()),
            execution_id: self.execution_id.clone(),
            ..DeadLetterRead::default()
        };
        read.repeat_key(Some(self.event_id.as_str()).filter(|id| !id.is_empty()))
            .unwrap_or_else(|| {
                format!(
                    "{}|{}",
                    self.execution_id.as_deref().unwrap_or_default(),
                    self.input
                )
            })
    }
}
/// A dead letter as an operator tool reads it back from a queue: the fields of [`DeadLetter`], each optional
/// and blank read as absent, since letters written before 0.4 lack some and a message moved by hand may lack
/// any. `gcx redrive` reads letters through it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeadLetterRead {
    /// [`DeadLetter::dead_letter_id`].
    pub dead_letter_id: Option<String>,
    /// [`DeadLetter::event_id`].
    pub event_id: Option<String>,
    /// [`DeadLetter::conversation_id`].
    pub conversation_id: Option<String>,
    /// [`DeadLetter::error`].
    pub error: Option<String>,
    /// [`DeadLetter::execution_id`].
    pub execution_id: Option<String>,
    /// [`DeadLetter::input`].
    pub input: Option<Value>,
}

impl DeadLetterRead {
    /// Reads `body`; what is not a dead letter reads as one without fields.
    pub fn from_body(body: &Value) -> Self {
        let read: Self = serde_json::from_value(body.clone()).unwrap_or_default();
        let blank = |v: Option<String>| v.filter(|s| !s.is_empty());
        Self {
            dead_letter_id: blank(read.dead_letter_id),
            event_id: blank(read.event_id),
            conversation_id: blank(read.conversation_id),
            error: blank(read.error),
            execution_id: blank(read.execution_id),
            input: read.input,
        }
    }

    /// [`DeadLetter::repeat_key`] of a letter read back, with `event_id` standing for the event it carries
    /// (the letter's own, or its input's first); `None` when it names neither an execution and an event nor
    /// its own id.
    pub fn repeat_key(&self, event_id: Option<&str>) -> Option<String> {
        match (&self.execution_id, event_id) {
            (Some(execution), Some(event)) => Some(format!("{execution}|{event}")),
            _ => self.dead_letter_id.clone(),
        }
    }
}
