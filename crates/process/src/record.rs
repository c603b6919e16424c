//! From one conversation detail event to the record save writes: the fields the event body carries
//! (Genesys spells them `mediaType`, `direction`, `divisionId`, `queueId`, `userId`, `wrapupCode`).
//! Lists hold at most the one value an event names; the analytics details complete them later.

use gcx_core::contract::{Agent, ConversationRecord, PipelineEvent};
use serde_json::Value;

/// The record of one valid event.
pub fn from_event(event: &PipelineEvent) -> ConversationRecord {
    let body = event.body();
    let text = |k: &str| {
        body.and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let one = |k: &str| text(k).into_iter().collect::<Vec<_>>();
    ConversationRecord {
        conversation_id: event.conversation_id.clone(),
        media_type: text("mediaType").map(|m| m.to_ascii_lowercase()),
        // A session's direction; `UNKNOWN` says nothing about the conversation.
        originating_direction: text("direction")
            .map(|d| d.to_ascii_lowercase())
            .filter(|d| d == "inbound" || d == "outbound"),
        division_ids: one("divisionId"),
        queue_ids: one("queueId"),
        agents: text("userId")
            .map(|id| {
                vec![Agent {
                    user_id: Some(id),
                    name: None,
                }]
            })
            .unwrap_or_default(),
        wrap_up_codes: one("wrapupCode"),
        last_event_type: event.event_type.clone(),
        last_event_time: event.event_time,
        last_event_id: event.event_id.clone(),
        correlation_id: event.correlation_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(topic: &str, body: Value) -> PipelineEvent {
        PipelineEvent {
            conversation_id: "1bc96a39-6725-40c4-9345-db72aa67b8c6".into(),
            event_id: "e1".into(),
            event_type: format!("v2.detail.events.conversation.{{id}}.{topic}"),
            event_time: 42,
            correlation_id: Some("c1".into()),
            detail: json!({ "eventBody": body }),
        }
    }

    #[test]
    fn an_acw_event_gives_its_agent_queue_and_wrap_up_code() {
        let r = from_event(&event(
            "acw",
            json!({"mediaType": "VOICE", "direction": "INBOUND", "userId": "u1", "queueId": "q1", "wrapupCode": "w1"}),
        ));
        assert_eq!(r.media_type.as_deref(), Some("voice"));
        assert_eq!(r.originating_direction.as_deref(), Some("inbound"));
        assert_eq!(
            r.agents,
            vec![Agent {
                user_id: Some("u1".into()),
                name: None
            }]
        );
        assert_eq!(
            (r.queue_ids, r.wrap_up_codes),
            (vec!["q1".to_owned()], vec!["w1".to_owned()])
        );
        assert_eq!(
            (
                r.last_event_time,
                r.last_event_id.as_str(),
                r.correlation_id.as_deref()
            ),
            (42, "e1", Some("c1"))
        );
    }

    #[test]
    fn unknown_directions_and_odd_types_are_left_out() {
        let r = from_event(&event(
            "flow.outcome",
            json!({"direction": "UNKNOWN", "mediaType": 5, "userId": ""}),
        ));
        assert_eq!((r.originating_direction, r.media_type), (None, None));
        assert!(r.agents.is_empty());
    }
}
