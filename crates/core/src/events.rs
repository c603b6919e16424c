//! The Genesys Cloud event as Amazon EventBridge delivers it (spec/genesys.md §2), and topic
//! classification.
//!
//! Parsing takes a `serde_json::Value` and reports what is wrong by path (`detail.eventBody is not an
//! object`), so a malformed event yields a clear error instead of a serde message or a panic.

use serde_json::{Map, Value};

/// The conversation detail topics (`v2.detail.events.conversation.{id}.<suffix>`) the pipeline supports.
pub const CONVERSATION_DETAIL_TOPICS: &[&str] = &[
    "customer.start",
    "customer.end",
    "acd.start",
    "acd.end",
    "acw",
    "attributes",
    "flow.start",
    "flow.end",
    "outbound",
    "user.start",
    "user.end",
    "voicemail.start",
    "voicemail.end",
];

/// The prefix of every conversation detail topic pattern.
pub const CONVERSATION_DETAIL_PREFIX: &str = "v2.detail.events.conversation.{id}.";

/// What family a topic (the EventBridge `detail-type`, a pattern with a literal `{id}`) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicFamily<'a> {
    /// `v2.detail.events.conversation.{id}.<suffix>` with a supported suffix.
    ConversationDetail(&'a str),
    /// A conversation detail pattern whose suffix this version does not know.
    UnsupportedConversationDetail(&'a str),
    /// `v2.routing.queues.{id}.conversations`.
    QueueConversations,
    /// `v2.conversations.{id}.transcription`.
    Transcription,
    /// `v2.audits.entitytype.{id}.entityid.{id}`.
    Audit,
    /// Anything else.
    Other,
}

impl<'a> TopicFamily<'a> {
    /// Classifies a `detail-type`.
    pub fn of(detail_type: &'a str) -> Self {
        if let Some(suffix) = detail_type.strip_prefix(CONVERSATION_DETAIL_PREFIX) {
            return if CONVERSATION_DETAIL_TOPICS.contains(&suffix) {
                Self::ConversationDetail(suffix)
            } else {
                Self::UnsupportedConversationDetail(suffix)
            };
        }
        match detail_type {
            "v2.routing.queues.{id}.conversations" => Self::QueueConversations,
            "v2.conversations.{id}.transcription" => Self::Transcription,
            t if t.starts_with("v2.audits.") => Self::Audit,
            _ => Self::Other,
        }
    }

    /// True for the conversation detail events the pipeline processes.
    pub fn is_conversation_detail(self) -> bool {
        matches!(self, Self::ConversationDetail(_))
    }
}

/// Why an input is not a Genesys EventBridge event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct MalformedEvent(pub String);

/// A Genesys Cloud event in its EventBridge envelope, the fields the pipeline needs borrowed out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct GenesysEvent {
    /// EventBridge event `id` (unique per event; redeliveries keep it).
    pub id: Option<String>,
    /// `detail-type`: the topic pattern with a literal `{id}`.
    pub detail_type: String,
    /// The `detail` object: `{topicName, version, eventBody, metadata, timestamp}`.
    pub detail: Map<String, Value>,
}

impl GenesysEvent {
    /// Reads an EventBridge envelope out of `value`, saying precisely what is missing or mistyped.
    pub fn parse(value: Value) -> Result<Self, MalformedEvent> {
        let Value::Object(mut envelope) = value else {
            return Err(MalformedEvent(format!(
                "expected an EventBridge event object, got {}",
                kind(&value)
            )));
        };
        let detail_type = match envelope.remove("detail-type") {
            Some(Value::String(s)) if !s.is_empty() => s,
            Some(other) => {
                return Err(MalformedEvent(format!(
                    "detail-type must be a non-empty string, got {}",
                    kind(&other)
                )))
            }
            None => return Err(MalformedEvent("detail-type is missing".into())),
        };
        let detail = match envelope.remove("detail") {
            Some(Value::Object(d)) => d,
            Some(other) => {
                return Err(MalformedEvent(format!(
                    "detail must be an object, got {}",
                    kind(&other)
                )))
            }
            None => return Err(MalformedEvent("detail is missing".into())),
        };
        if let Some(body) = detail.get("eventBody") {
            if !body.is_object() {
                return Err(MalformedEvent(format!(
                    "detail.eventBody must be an object, got {}",
                    kind(body)
                )));
            }
        } else if TopicFamily::of(&detail_type).is_conversation_detail() {
            return Err(MalformedEvent("detail.eventBody is missing".into()));
        }
        let id = match envelope.remove("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            _ => None,
        };
        Ok(Self {
            id,
            detail_type,
            detail,
        })
    }

    /// The topic family of this event.
    pub fn family(&self) -> TopicFamily<'_> {
        TopicFamily::of(&self.detail_type)
    }

    /// `detail.eventBody`, when present.
    pub fn body(&self) -> Option<&Map<String, Value>> {
        self.detail.get("eventBody").and_then(Value::as_object)
    }

    /// `detail.eventBody.conversationId`, when a non-empty string.
    pub fn conversation_id(&self) -> Option<&str> {
        self.body()?
            .get("conversationId")?
            .as_str()
            .filter(|s| !s.trim().is_empty())
    }

    /// `detail.eventBody.eventTime` in epoch milliseconds (detail events send an integer).
    pub fn event_time_ms(&self) -> Option<i64> {
        self.body()?.get("eventTime")?.as_i64()
    }

    /// `detail.metadata.CorrelationId`.
    pub fn correlation_id(&self) -> Option<&str> {
        self.detail.get("metadata")?.get("CorrelationId")?.as_str()
    }
}

/// A one-word description of a JSON value's type, for error messages that never echo the value.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        serde_json::from_str(include_str!(
            "../../../events/eventbridge/customer-start-sample.json"
        ))
        .unwrap()
    }

    #[test]
    fn the_real_genesys_sample_parses() {
        let e = GenesysEvent::parse(sample()).unwrap();
        assert_eq!(
            e.id.as_deref(),
            Some("adbcfa5b-0116-4baa-b66b-a3f5902e95bf")
        );
        assert_eq!(
            e.family(),
            TopicFamily::ConversationDetail("customer.start")
        );
        assert_eq!(
            e.conversation_id(),
            Some("2f7bf00a-0fc2-4d6a-9b56-92238191433e")
        );
        assert_eq!(e.event_time_ms(), Some(1_649_237_444_949));
        assert_eq!(
            e.correlation_id(),
            Some("fe8a8579-b83f-4f07-b371-2b39398f91a8")
        );
    }

    #[test]
    fn topics_are_classified() {
        assert_eq!(
            TopicFamily::of("v2.detail.events.conversation.{id}.acw"),
            TopicFamily::ConversationDetail("acw")
        );
        assert_eq!(
            TopicFamily::of("v2.detail.events.conversation.{id}.future.thing"),
            TopicFamily::UnsupportedConversationDetail("future.thing")
        );
        assert_eq!(
            TopicFamily::of("v2.routing.queues.{id}.conversations"),
            TopicFamily::QueueConversations
        );
        assert_eq!(
            TopicFamily::of("v2.audits.entitytype.{id}.entityid.{id}"),
            TopicFamily::Audit
        );
        assert_eq!(
            TopicFamily::of("v2.conversations.{id}.transcription"),
            TopicFamily::Transcription
        );
        assert_eq!(TopicFamily::of("Conversation Update"), TopicFamily::Other);
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let cases = [
            (
                json!("text"),
                "expected an EventBridge event object, got a string",
            ),
            (json!({"detail": {}}), "detail-type is missing"),
            (
                json!({"detail-type": 5, "detail": {}}),
                "detail-type must be a non-empty string, got a number",
            ),
            (json!({"detail-type": "x"}), "detail is missing"),
            (
                json!({"detail-type": "x", "detail": []}),
                "detail must be an object, got an array",
            ),
            (
                json!({"detail-type": "v2.detail.events.conversation.{id}.acw", "detail": {"eventBody": "s"}}),
                "detail.eventBody must be an object, got a string",
            ),
            (
                json!({"detail-type": "v2.detail.events.conversation.{id}.acw", "detail": {}}),
                "detail.eventBody is missing",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(GenesysEvent::parse(input).unwrap_err().0, want);
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_json_parses_or_says_what_is_wrong(v in test_support::arb::json_with_keys(
            &["id", "detail-type", "detail", "eventBody", "conversationId", "eventTime", "metadata", "CorrelationId", "topicName"]
        )) {
            match GenesysEvent::parse(v) {
                Ok(e) => {
                    prop_assert!(!e.detail_type.is_empty());
                    let _ = (e.conversation_id(), e.event_time_ms(), e.correlation_id(), e.family());
                }
                Err(MalformedEvent(why)) => prop_assert!(!why.is_empty() && why.len() < 200, "{why}"),
            }
        }

        #[test]
        fn any_detail_type_classifies(t in ".{0,80}") {
            let _ = TopicFamily::of(&t).is_conversation_detail();
        }
    }
}
