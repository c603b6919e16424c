//! The data that flows through the state machine: fanout's execution input, validate's verdict,
//! process's record, save's outcome (docs/contracts.md), and the rules that shape them (execution names,
//! supported topics, record mapping).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::events::{GenesysEvent, TopicFamily};
use crate::genesys::ConversationDetails;

/// The input of one execution: one conversation event, as fanout starts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    /// `detail.eventBody.conversationId`.
    pub conversation_id: String,
    /// The EventBridge event id, which also names the execution.
    pub event_id: String,
    /// The topic pattern (`detail-type`), e.g. `v2.detail.events.conversation.{id}.customer.end`.
    pub event_type: String,
    /// `detail.eventBody.eventTime`, epoch milliseconds.
    pub event_time: Option<i64>,
    /// `detail.metadata.CorrelationId`.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The EventBridge `detail` as received.
    pub detail: Value,
}

impl ExecutionInput {
    /// Builds the input from a parsed event; `None` when it has no event id or conversation id.
    pub fn from_event(event: &GenesysEvent) -> Option<Self> {
        Some(Self {
            conversation_id: event.conversation_id()?.to_owned(),
            event_id: event.id.clone()?,
            event_type: event.detail_type.clone(),
            event_time: event.event_time_ms(),
            correlation_id: event.correlation_id().map(str::to_owned),
            detail: Value::Object(event.detail.clone()),
        })
    }

    /// `detail.eventBody` when it is an object.
    pub fn event_body(&self) -> Option<&serde_json::Map<String, Value>> {
        self.detail.get("eventBody")?.as_object()
    }

    /// The topic suffix after `v2.detail.events.conversation.{id}.`, for supported topics.
    pub fn topic(&self) -> Option<&str> {
        match TopicFamily::of(&self.event_type) {
            TopicFamily::ConversationDetail(t) => Some(t),
            _ => None,
        }
    }
}

/// Validate's verdict, stored at `$.validation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// Whether the event may be processed.
    pub is_valid: bool,
    /// Why not; empty when valid.
    pub reason: String,
}

/// Longest execution name Step Functions accepts.
pub const MAX_EXECUTION_NAME: usize = 80;

/// Whether `c` may appear in a Step Functions execution name (spec/genesys.md §5).
pub fn execution_name_char_ok(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '?' | '*'
                | '<'
                | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '"'
                | '#'
                | '%'
                | '\\'
                | '^'
                | '|'
                | '~'
                | '`'
                | '$'
                | '&'
                | ','
                | ';'
                | ':'
                | '/'
        ))
}

/// The execution name for an EventBridge event id: deterministic, at most 80 characters, valid.
///
/// An id that is already a valid name (Genesys/EventBridge ids are UUIDs) is used as is, so operators can
/// search executions by event id. Any other id is sanitised to ASCII alphanumerics, `-` and `_`, cut, and
/// suffixed with 16 hex characters of its SHA-256 so that two different ids never share a name.
pub fn execution_name(event_id: &str) -> String {
    let valid_as_is = !event_id.is_empty()
        && event_id.len() <= MAX_EXECUTION_NAME
        && event_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid_as_is {
        return event_id.to_owned();
    }
    let digest = Sha256::digest(event_id.as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let prefix: String = event_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_EXECUTION_NAME - 1 - hash.len())
        .collect();
    format!("{prefix}-{hash}")
}

/// An agent who handled the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Genesys user id.
    pub user_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

/// The compact record process produces and save stores, keyed by `conversationId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRecord {
    /// Table key.
    pub conversation_id: String,
    /// ISO-8601.
    pub conversation_start: Option<String>,
    /// ISO-8601; null while live.
    pub conversation_end: Option<String>,
    /// End minus start, when both are known.
    pub duration_ms: Option<i64>,
    /// Lowercase media type (`voice`, `chat`, ...), as the analytics API spells it.
    pub media_type: Option<String>,
    /// `inbound` / `outbound`.
    pub originating_direction: Option<String>,
    /// Divisions.
    #[serde(default)]
    pub division_ids: Vec<String>,
    /// Queues the conversation passed through, in first-seen order.
    #[serde(default)]
    pub queue_ids: Vec<String>,
    /// Agents, in first-seen order.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// The customer's display name.
    pub customer_participant_name: Option<String>,
    /// Wrap-up code ids, in first-seen order.
    #[serde(default)]
    pub wrap_up_codes: Vec<String>,
    /// The topic of the newest event stored.
    pub last_event_type: String,
    /// Its `eventTime` (epoch ms): the ordering key of conditional writes.
    pub last_event_time: i64,
    /// Its EventBridge id: the tie-breaker for equal times, and what makes a replay a no-op.
    pub last_event_id: String,
    /// Whether the analytics API was called for this record.
    pub enriched: bool,
    /// The analytics details as received, only with `STORE_RAW_DETAILS=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_details: Option<Value>,
}

fn push_unique(list: &mut Vec<String>, value: Option<&String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        if !list.contains(v) {
            list.push(v.clone());
        }
    }
}

fn parse_ms(iso: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

impl ConversationRecord {
    /// A record from the event alone, for topics that are not enriched. `event_time` must be known.
    pub fn from_event(input: &ExecutionInput, event_time: i64) -> Self {
        let body = input.event_body();
        let text = |k: &str| {
            body.and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut division_ids = Vec::new();
        push_unique(&mut division_ids, text("divisionId").as_ref());
        let mut queue_ids = Vec::new();
        push_unique(&mut queue_ids, text("queueId").as_ref());
        let mut wrap_up_codes = Vec::new();
        push_unique(&mut wrap_up_codes, text("wrapupCode").as_ref());
        let agents = match text("userId") {
            Some(id) => vec![Agent {
                user_id: Some(id),
                name: None,
            }],
            None => Vec::new(),
        };
        Self {
            conversation_id: input.conversation_id.clone(),
            conversation_start: None,
            conversation_end: None,
            duration_ms: None,
            media_type: text("mediaType").map(|m| m.to_ascii_lowercase()),
            originating_direction: text("direction").map(|d| d.to_ascii_lowercase()),
            division_ids,
            queue_ids,
            agents,
            customer_participant_name: None,
            wrap_up_codes,
            last_event_type: input.event_type.clone(),
            last_event_time: event_time,
            last_event_id: input.event_id.clone(),
            enriched: false,
            raw_details: None,
        }
    }

    /// A record from the analytics details, stamped with the event that triggered it.
    pub fn from_details(
        input: &ExecutionInput,
        event_time: i64,
        details: &ConversationDetails,
    ) -> Self {
        let mut record = Self::from_event(input, event_time);
        record.enriched = true;
        record.conversation_start = details.conversation_start.clone();
        record.conversation_end = details.conversation_end.clone();
        record.duration_ms = match (&details.conversation_start, &details.conversation_end) {
            (Some(s), Some(e)) => parse_ms(e)
                .zip(parse_ms(s))
                .map(|(e, s)| e - s)
                .filter(|d| *d >= 0),
            _ => None,
        };
        record.originating_direction = details
            .originating_direction
            .clone()
            .or(record.originating_direction);
        for d in &details.division_ids {
            push_unique(&mut record.division_ids, Some(d));
        }
        for p in &details.participants {
            let purpose = p.purpose.as_deref().unwrap_or_default();
            if purpose == "customer" && record.customer_participant_name.is_none() {
                record.customer_participant_name = p.participant_name.clone();
            }
            if purpose == "agent" {
                // An agent the event named by id gets its display name from the details.
                match record
                    .agents
                    .iter_mut()
                    .find(|a| a.user_id.is_some() && a.user_id == p.user_id)
                {
                    Some(known) => {
                        known.name = known.name.take().or_else(|| p.participant_name.clone())
                    }
                    None => record.agents.push(Agent {
                        user_id: p.user_id.clone(),
                        name: p.participant_name.clone(),
                    }),
                }
            }
            for s in &p.sessions {
                if record.media_type.is_none() {
                    record.media_type = s.media_type.as_ref().map(|m| m.to_ascii_lowercase());
                }
                for seg in &s.segments {
                    push_unique(&mut record.queue_ids, seg.queue_id.as_ref());
                    push_unique(&mut record.wrap_up_codes, seg.wrap_up_code.as_ref());
                }
            }
        }
        record
    }
}

/// Save's answer, stored at `$.save`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveOutcome {
    /// Whether the record was written.
    pub saved: bool,
    /// `stored`, or why not.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uuid_event_ids_are_names_as_is() {
        assert_eq!(
            execution_name("adbcfa5b-0116-4baa-b66b-a3f5902e95bf"),
            "adbcfa5b-0116-4baa-b66b-a3f5902e95bf"
        );
    }

    #[test]
    fn other_ids_are_sanitised_and_hashed() {
        let n = execution_name("a b/c:d");
        assert!(n.starts_with("a_b_c_d-"), "{n}");
        assert_ne!(execution_name("a b"), execution_name("a_b"));
        assert_eq!(execution_name(&"x".repeat(200)).len(), MAX_EXECUTION_NAME);
        assert_eq!(
            execution_name(&"x".repeat(200)),
            execution_name(&"x".repeat(200))
        );
        assert_ne!(
            execution_name(&"x".repeat(200)),
            execution_name(&"x".repeat(201))
        );
    }

    proptest! {
        #[test]
        fn execution_names_are_always_valid(id in any::<String>()) {
            let n = execution_name(&id);
            prop_assert!(!n.is_empty() && n.chars().count() <= MAX_EXECUTION_NAME);
            prop_assert!(n.chars().all(execution_name_char_ok), "{n:?}");
            prop_assert_eq!(n.clone(), execution_name(&id));
        }
    }

    fn input(topic: &str, body: Value) -> ExecutionInput {
        ExecutionInput {
            conversation_id: "1bc96a39-6725-40c4-9345-db72aa67b8c6".into(),
            event_id: "e1".into(),
            event_type: format!("v2.detail.events.conversation.{{id}}.{topic}"),
            event_time: Some(10),
            correlation_id: None,
            detail: serde_json::json!({ "eventBody": body }),
        }
    }

    #[test]
    fn record_from_the_real_analytics_sample() {
        let details: ConversationDetails = serde_json::from_str(include_str!(
            "../tests/fixtures/analytics_conversation_details_1.json"
        ))
        .unwrap();
        let r = ConversationRecord::from_details(
            &input("customer.end", serde_json::json!({"mediaType": "CHAT"})),
            10,
            &details,
        );
        assert_eq!(
            r.conversation_start.as_deref(),
            Some("2021-04-01T12:27:53.386Z")
        );
        assert_eq!(r.duration_ms, Some(929_920));
        assert_eq!(r.media_type.as_deref(), Some("chat"));
        assert_eq!(r.originating_direction.as_deref(), Some("inbound"));
        assert_eq!(r.division_ids, vec!["1b6b98a6-3d70-47be-9406-61a5aa8cc570"]);
        assert_eq!(r.queue_ids, vec!["a623d83c-96d7-4baa-af1f-d46ad6700d8b"]);
        assert_eq!(r.customer_participant_name.as_deref(), Some("John Doe"));
        assert_eq!(r.agents.len(), 1);
        assert_eq!(
            r.agents[0].user_id.as_deref(),
            Some("50fcd33c-f432-4726-abc9-979f3ca01555")
        );
        assert!(r.enriched);
        assert_eq!((r.last_event_time, r.last_event_id.as_str()), (10, "e1"));
    }

    #[test]
    fn record_from_an_event_alone() {
        let r = ConversationRecord::from_event(
            &input(
                "acw",
                serde_json::json!({"mediaType": "VOICE", "direction": "INBOUND", "userId": "u1", "queueId": "q1", "wrapupCode": "w1"}),
            ),
            42,
        );
        assert_eq!(r.media_type.as_deref(), Some("voice"));
        assert_eq!(r.originating_direction.as_deref(), Some("inbound"));
        assert_eq!(
            r.agents,
            vec![Agent {
                user_id: Some("u1".into()),
                name: None
            }]
        );
        assert_eq!(r.queue_ids, vec!["q1"]);
        assert_eq!(r.wrap_up_codes, vec!["w1"]);
        assert!(!r.enriched);
        assert_eq!(r.duration_ms, None);
    }

    #[test]
    fn details_with_missing_fields_still_map() {
        let details: ConversationDetails = serde_json::from_str(
            r#"{"conversationId":"c","participants":null,"divisionIds":null,"extra":{"x":1}}"#,
        )
        .unwrap();
        let r = ConversationRecord::from_details(
            &input("customer.end", serde_json::json!({})),
            1,
            &details,
        );
        assert_eq!(r.duration_ms, None);
        assert!(r.agents.is_empty() && r.queue_ids.is_empty());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The Genesys response mapper: any JSON either parses into details (and maps without panicking)
        /// or is `Genesys.BadResponse`.
        #[test]
        fn any_details_body_maps_or_is_bad_response(v in test_support::arb::json_with_keys(&[
            "conversationId", "conversationStart", "conversationEnd", "participants", "purpose", "sessions",
            "segments", "queueId", "wrapUpCode", "userId", "participantName", "mediaType", "divisionIds",
        ])) {
            let body = serde_json::to_vec(&v).unwrap();
            match crate::genesys::client::parse_details(&body) {
                Ok(d) => {
                    let input = ExecutionInput {
                        conversation_id: d.conversation_id.clone(), event_id: "e".into(),
                        event_type: "v2.detail.events.conversation.{id}.acw".into(), event_time: Some(1),
                        correlation_id: None, detail: v.clone(),
                    };
                    let r = ConversationRecord::from_details(&input, 1, &d);
                    prop_assert!(r.enriched);
                    prop_assert!(serde_json::to_value(&r).is_ok());
                }
                Err(e) => prop_assert_eq!(e.name(), "Genesys.BadResponse"),
            }
        }

        #[test]
        fn any_bytes_are_details_or_bad_response(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(e) = crate::genesys::client::parse_details(&body) {
                prop_assert_eq!(e.name(), "Genesys.BadResponse");
            }
        }
    }
}
