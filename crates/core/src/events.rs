//! The Genesys Cloud event as Amazon EventBridge delivers it (`{version, id, detail-type,
//! source, account, time, region, resources, detail: {topicName, version, eventBody, metadata}}`, see
//! `events/eventbridge/` and docs/contracts.md), and topic classification.
//!
//! Parsing takes a `serde_json::Value` and reports what is wrong by path (`detail.eventBody is not an
//! object`), so a malformed event yields a clear error instead of a serde message or a panic.

use serde_json::{Map, Value};

use crate::setting::Setting;

/// The prefix of every conversation detail topic pattern.
pub const CONVERSATION_DETAIL_PREFIX: &str = "v2.detail.events.conversation.{id}.";

macro_rules! detail_topics {
    ($($variant:ident => $suffix:literal : $model:ident),* $(,)?) => {
        /// A conversation detail topic, `v2.detail.events.conversation.{id}.<suffix>`: every one of the
        /// official SDKs' notification list (`platform-client-sdk-*`, `notifications/`). The pipeline processes all of them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DetailTopic { $(#[doc = $suffix] $variant),* }

        impl DetailTopic {
            /// Every topic, in the SDK's (alphabetical) order.
            pub const ALL: &'static [DetailTopic] = &[$(DetailTopic::$variant),*];

            /// Every topic's suffix, in the same order.
            pub const SUFFIXES: &'static [&'static str] = &[$($suffix),*];

            /// The topic suffix, e.g. `customer.end`.
            pub fn suffix(self) -> &'static str {
                match self { $(DetailTopic::$variant => $suffix),* }
            }

            /// The Genesys SDK model of the topic's `eventBody`, e.g. `CustomerEndDetailEventTopicCustomerEndEvent`
            /// (a class of `platform-client-sdk-*`). Its JSON Schema is `events/schemas/<model>.schema.json`,
            /// which `events/check_events.py` finds through `detailTopicModels` of docs/catalogue.json.
            pub fn sdk_model(self) -> &'static str {
                match self { $(DetailTopic::$variant => stringify!($model)),* }
            }

            /// The topic with this suffix.
            pub fn from_suffix(suffix: &str) -> Option<Self> {
                match suffix { $($suffix => Some(DetailTopic::$variant),)* _ => None }
            }
        }
    };
}

// Each topic: its variant => its suffix : the SDK model of its eventBody.
detail_topics! {
    AcdEnd => "acd.end": AcdEndDetailEventTopicAcdEndEvent,
    AcdStart => "acd.start": AcdStartDetailEventTopicAcdStartEvent,
    Acw => "acw": AcwDetailEventTopicAfterCallWorkEvent,
    Attributes => "attributes": AttributeDetailEventTopicAttributeUpdateEvent,
    Contact => "contact": ContactDetailEventTopicContactUpdateEvent,
    CustomerEnd => "customer.end": CustomerEndDetailEventTopicCustomerEndEvent,
    CustomerStart => "customer.start": CustomerStartDetailEventTopicCustomerStartEvent,
    FlowEnd => "flow.end": FlowEndDetailEventTopicFlowEndEvent,
    FlowOutcome => "flow.outcome": FlowOutcomeDetailEventTopicFlowOutcomeEvent,
    FlowStart => "flow.start": FlowStartDetailEventTopicFlowStartEvent,
    Outbound => "outbound": OutboundDetailEventTopicOutboundInitEvent,
    UserEnd => "user.end": UserEndDetailEventTopicUserEndEvent,
    UserStart => "user.start": UserStartDetailEventTopicUserStartEvent,
    VoicemailEnd => "voicemail.end": VoicemailEndDetailEventTopicVoicemailEndEvent,
    VoicemailStart => "voicemail.start": VoicemailStartDetailEventTopicVoicemailStartEvent,
    Wrapup => "wrapup": WrapupDetailEventTopicWrapupEvent,
}

/// Why an event's topic is not one the pipeline processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotProcessed {
    /// Not a `v2.detail.events.conversation.{id}.*` topic (audits, routing queues, transcription, ...).
    NotConversationDetail(String),
    /// A conversation detail topic that is not in the SDK's list this version knows.
    UnknownDetailTopic(String),
}

impl std::fmt::Display for NotProcessed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotConversationDetail(t) => {
                write!(f, "not a conversation detail event: {}", cut(t))
            }
            Self::UnknownDetailTopic(s) => write!(
                f,
                "unknown conversation detail topic {:?} (not in the SDK's list of {})",
                cut(s),
                DetailTopic::ALL.len()
            ),
        }
    }
}

/// At most 120 characters of `s`, for messages that quote input.
fn cut(s: &str) -> String {
    s.chars().take(120).collect()
}

impl DetailTopic {
    /// Classifies an EventBridge `detail-type` (a topic pattern with a literal `{id}`).
    pub fn of(detail_type: &str) -> Result<Self, NotProcessed> {
        match detail_type.strip_prefix(CONVERSATION_DETAIL_PREFIX) {
            Some(suffix) => Self::from_suffix(suffix)
                .ok_or_else(|| NotProcessed::UnknownDetailTopic(suffix.to_owned())),
            None => Err(NotProcessed::NotConversationDetail(detail_type.to_owned())),
        }
    }

    /// The full pattern, `v2.detail.events.conversation.{id}.<suffix>`.
    pub fn detail_type(self) -> String {
        format!("{CONVERSATION_DETAIL_PREFIX}{}", self.suffix())
    }
}

/// `ENRICH_TOPICS`: the topics whose events process answers with an enrichment request, and so the ones fanout
/// counts a request for when it sizes executions. Unset: the ones after which the analytics record is complete
/// enough to be worth a request.
pub const ENRICH_TOPICS: Setting = Setting::list(
    "ENRICH_TOPICS",
    DEFAULT_ENRICH_SUFFIXES,
    DetailTopic::SUFFIXES,
)
.parameter("EnrichTopics")
.doc("Topic suffixes whose conversations are enriched from the Genesys analytics API, or none.");

const DEFAULT_ENRICH_SUFFIXES: &str = "customer.end,acw,user.end";

/// The topics [`ENRICH_TOPICS`] stands for when unset.
pub fn default_enrich_topics() -> Vec<DetailTopic> {
    DEFAULT_ENRICH_SUFFIXES
        .split(',')
        .filter_map(DetailTopic::from_suffix)
        .collect()
}

/// Reads [`ENRICH_TOPICS`].
pub fn enrich_topics(
    env: &dyn crate::config::Env,
) -> Result<Vec<DetailTopic>, crate::config::ConfigError> {
    Ok(match ENRICH_TOPICS.read_list(env)? {
        None => default_enrich_topics(),
        Some(listed) => listed
            .iter()
            .filter_map(|t| DetailTopic::from_suffix(t))
            .collect(),
    })
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
        } else if DetailTopic::of(&detail_type).is_ok() {
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

    /// The event's conversation detail topic, or why it has none the pipeline processes.
    pub fn topic(&self) -> Result<DetailTopic, NotProcessed> {
        DetailTopic::of(&self.detail_type)
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
        assert_eq!(e.topic(), Ok(DetailTopic::CustomerStart));
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
            DetailTopic::of("v2.detail.events.conversation.{id}.acw"),
            Ok(DetailTopic::Acw)
        );
        for topic in DetailTopic::ALL {
            assert_eq!(DetailTopic::of(&topic.detail_type()), Ok(*topic));
        }
        assert_eq!(
            DetailTopic::CustomerEnd.sdk_model(),
            "CustomerEndDetailEventTopicCustomerEndEvent"
        );
        assert_eq!(
            DetailTopic::of("v2.detail.events.conversation.{id}.future.thing")
                .unwrap_err()
                .to_string(),
            format!(
                "unknown conversation detail topic \"future.thing\" (not in the SDK's list of {})",
                DetailTopic::ALL.len()
            )
        );
        assert_eq!(
            DetailTopic::of("v2.audits.entitytype.{id}.entityid.{id}")
                .unwrap_err()
                .to_string(),
            "not a conversation detail event: v2.audits.entitytype.{id}.entityid.{id}"
        );
    }

    /// Each topic's SDK model is a different class, and its schema is vendored in events/schemas/ (derived from the
    /// SDK by events/schemas/derive.py; see events/schemas/SOURCE.md).
    #[test]
    fn every_topic_names_a_vendored_sdk_model() {
        let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/schemas");
        let mut seen = std::collections::BTreeSet::new();
        for topic in DetailTopic::ALL {
            let model = topic.sdk_model();
            assert!(seen.insert(model), "{model} models two topics");
            let path = schemas.join(format!("{model}.schema.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{topic:?}: {}: {e}", path.display()));
            let schema: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(schema["title"], model, "{}", path.display());
        }
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
                    let _ = (e.conversation_id(), e.event_time_ms(), e.correlation_id(), e.topic());
                }
                Err(MalformedEvent(why)) => prop_assert!(!why.is_empty() && why.len() < 200, "{why}"),
            }
        }

        #[test]
        fn any_detail_type_classifies(t in ".{0,80}") {
            if let Err(why) = DetailTopic::of(&t) {
                prop_assert!(!why.to_string().is_empty());
            }
        }
    }
}
