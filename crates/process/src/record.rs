//! From one conversation detail event to the record save writes: the fields the event body carries
//! (Genesys spells them `mediaType`, `direction`, `divisionId`, `queueId`, `userId`, `wrapupCode`).
//! Lists hold at most the one value an event names; the analytics details complete them later.
//!
//! With a [`CustomerKeyer`], the record also carries the customer's key: the hash of the customer's address
//! ([`customer_address`]), never the address.

use gcx_core::contract::body::{
    DIRECTION, DIVISION_ID, MEDIA_TYPE, QUEUE_ID, USER_ID, WRAPUP_CODE,
};
use gcx_core::contract::{Agent, ConversationRecord, PipelineEvent};
use gcx_core::customer::CustomerKeyer;
use serde_json::{Map, Value};

/// The record of one valid event; `keyer` adds the customer's key when the event names the customer.
pub fn from_event(event: &PipelineEvent, keyer: Option<&CustomerKeyer>) -> ConversationRecord {
    let body = event.body();
    let customer_key = keyer
        .zip(body.and_then(customer_address))
        .and_then(|(keyer, address)| keyer.key(address));
    let text = |k: &str| {
        body.and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let one = |k: &str| text(k).into_iter().collect::<Vec<_>>();
    ConversationRecord {
        conversation_id: event.conversation_id.clone(),
        media_type: text(MEDIA_TYPE).map(|m| m.to_ascii_lowercase()),
        // A session's direction; `UNKNOWN` says nothing about the conversation.
        originating_direction: text(DIRECTION)
            .map(|d| d.to_ascii_lowercase())
            .filter(|d| d == "inbound" || d == "outbound"),
        division_ids: one(DIVISION_ID),
        queue_ids: one(QUEUE_ID),
        agents: text(USER_ID)
            .map(|id| {
                vec![Agent {
                    user_id: Some(id),
                    name: None,
                }]
            })
            .unwrap_or_default(),
        wrap_up_codes: one(WRAPUP_CODE),
        last_event_type: event.event_type.clone(),
        last_event_time: event.event_time,
        last_event_id: event.event_id.clone(),
        correlation_id: event.correlation_id.clone(),
        customer_contact_at: customer_key.as_ref().map(|_| event.event_time),
        customer_key,
    }
}

/// The customer's address in an event body: the calling `ani`, or the called `dnis` when the session is
/// `OUTBOUND` (Genesys writes both from the call's point of view, for the customer's and the agent's sessions
/// alike). `customer.start`, `customer.end`, `acw`, `user.end` (and `outbound`, `voicemail.*`) carry them.
pub fn customer_address(body: &Map<String, Value>) -> Option<&str> {
    let outbound = body
        .get(DIRECTION)
        .and_then(Value::as_str)
        .is_some_and(|d| d.eq_ignore_ascii_case("outbound"));
    body.get(if outbound { "dnis" } else { "ani" })
        .and_then(Value::as_str)
        .filter(|a| !a.trim().is_empty())
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
        let r = from_event(
            &event(
                "acw",
                json!({"mediaType": "VOICE", "direction": "INBOUND", "userId": "u1", "queueId": "q1", "wrapupCode": "w1"}),
            ),
            None,
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
        let r = from_event(
            &event(
                "flow.outcome",
                json!({"direction": "UNKNOWN", "mediaType": 5, "userId": ""}),
            ),
            None,
        );
        assert_eq!((r.originating_direction, r.media_type), (None, None));
        assert!(r.agents.is_empty());
    }

    fn keyer() -> CustomerKeyer {
        CustomerKeyer::new(&secrecy::SecretString::from("0123456789abcdef")).unwrap()
    }

    #[test]
    fn the_customer_is_the_caller_inbound_and_the_called_outbound() {
        let keyer = keyer();
        let body = |direction: Value| json!({"direction": direction, "ani": "tel:+3212345678", "dnis": "tel:+3280012345"});
        let caller = keyer.key("+3212345678");
        let called = keyer.key("+3280012345");
        for (direction, want) in [
            (json!("INBOUND"), &caller),
            (json!("UNKNOWN"), &caller),
            (Value::Null, &caller),
            (json!("outbound"), &called),
            (json!("OUTBOUND"), &called),
        ] {
            let r = from_event(
                &event("customer.start", body(direction.clone())),
                Some(&keyer),
            );
            assert_eq!(&r.customer_key, want, "{direction}");
            assert_eq!(r.customer_contact_at, Some(42));
        }
    }

    #[test]
    fn no_key_without_a_keyer_or_a_customer_address() {
        let with_ani = event("customer.end", json!({"ani": "tel:+3212345678"}));
        let r = from_event(&with_ani, None);
        assert_eq!((r.customer_key, r.customer_contact_at), (None, None));
        let keyer = keyer();
        for body in [
            json!({}),
            json!({"ani": ""}),
            json!({"ani": 3212345678_i64}),
            json!({"ani": "sip:anonymous@anonymous.invalid"}),
            json!({"direction": "OUTBOUND", "ani": "tel:+3212345678"}),
        ] {
            let r = from_event(&event("customer.end", body.clone()), Some(&keyer));
            assert_eq!(
                (&r.customer_key, r.customer_contact_at),
                (&None, None),
                "{body}"
            );
            let json = serde_json::to_value(&r).unwrap();
            assert!(json.get("customerKey").is_none() && json.get("customerContactAt").is_none());
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use gcx_core::contract::budget::record_bound;
    use proptest::prelude::*;

    proptest! {
        /// fanout sizes executions with `record_bound`: no record process builds, with a customer key or
        /// without, may be larger (else a state could pass the 256 KiB quota).
        #[test]
        fn no_record_is_larger_than_the_bound_fanout_budgets(
            raw in test_support::arb::pipeline_event(),
            address in proptest::option::of("(tel:\\+[0-9]{1,15}|sip:[a-z]{1,20}@[a-z.]{1,20}|[0-9 ]{1,30})"),
            outbound in any::<bool>(),
        ) {
            let Ok(mut event) = gcx_core::contract::check_event(&raw, "$") else { return Ok(()) };
            if let (Some(address), Some(body)) = (address, event.detail.get_mut("eventBody").and_then(Value::as_object_mut)) {
                body.insert(if outbound { "dnis".into() } else { "ani".into() }, Value::String(address));
            }
            let keyer = CustomerKeyer::new(&secrecy::SecretString::from("0123456789abcdef")).unwrap();
            for record in [from_event(&event, Some(&keyer)), from_event(&event, None)] {
                let bytes = serde_json::to_vec(&record).unwrap().len();
                prop_assert!(bytes <= record_bound(&event), "{bytes} > {}", record_bound(&event));
            }
        }
    }
}
