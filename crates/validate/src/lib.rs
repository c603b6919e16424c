//! validate: decides whether an execution's event may be processed. It answers `{isValid, reason}` for
//! any input and never fails, so the state machine's Choice state, not an error path, routes bad events
//! to the dead-letter queue with the reason.

use gcx_core::events::{kind, TopicFamily};
use gcx_core::pipeline::Validation;
use serde_json::Value;

/// Judges fanout's execution input (docs/contracts.md).
pub fn validate(input: &Value) -> Validation {
    match check(input) {
        Ok(()) => Validation {
            is_valid: true,
            reason: String::new(),
        },
        Err(reason) => Validation {
            is_valid: false,
            reason,
        },
    }
}

fn check(input: &Value) -> Result<(), String> {
    let obj = input
        .as_object()
        .ok_or_else(|| format!("input must be an object, got {}", kind(input)))?;
    let conversation_id = match obj.get("conversationId") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(format!(
                "conversationId must be a string, got {}",
                kind(other)
            ))
        }
        None => return Err("conversationId is missing".into()),
    };
    if !is_hyphenated_uuid(conversation_id) {
        return Err("conversationId is not a UUID".into());
    }
    match obj.get("eventId") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => return Err("eventId is missing or not a non-empty string".into()),
    }
    let event_type = match obj.get("eventType") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("eventType must be a string, got {}", kind(other))),
        None => return Err("eventType is missing".into()),
    };
    match TopicFamily::of(event_type) {
        TopicFamily::ConversationDetail(_) => {}
        _ => {
            return Err(format!(
                "eventType {:?} is not a supported conversation topic",
                truncate(event_type)
            ))
        }
    }
    match obj.get("eventTime") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|t| t > 0) => Ok(()),
        Some(Value::Null) | None => Err("eventTime is missing".into()),
        Some(other) => Err(format!(
            "eventTime must be a positive integer of epoch milliseconds, got {}",
            kind(other)
        )),
    }
}

/// Genesys ids are lowercase-or-uppercase hyphenated UUIDs (8-4-4-4-12); other UUID spellings are not ids.
fn is_hyphenated_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": "adbcfa5b-0116-4baa-b66b-a3f5902e95bf",
            "eventType": "v2.detail.events.conversation.{id}.customer.end",
            "eventTime": 1_649_237_444_949_i64,
            "correlationId": "x",
            "detail": {}
        })
    }

    #[test]
    fn a_conversation_event_is_valid() {
        assert_eq!(
            validate(&good()),
            Validation {
                is_valid: true,
                reason: String::new()
            }
        );
    }

    #[test]
    fn each_rule_gives_its_reason() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "conversationId",
                json!("not-a-uuid"),
                "conversationId is not a UUID",
            ),
            (
                "conversationId",
                json!("1bc96a39672540c49345db72aa67b8c6"),
                "conversationId is not a UUID",
            ),
            (
                "conversationId",
                json!(5),
                "conversationId must be a string, got a number",
            ),
            (
                "eventType",
                json!("v2.audits.entitytype.{id}.entityid.{id}"),
                "is not a supported conversation topic",
            ),
            (
                "eventType",
                json!(null),
                "eventType must be a string, got null",
            ),
            ("eventTime", json!(null), "eventTime is missing"),
            (
                "eventTime",
                json!("2022-04-06T09:30:45Z"),
                "eventTime must be a positive integer of epoch milliseconds, got a string",
            ),
            (
                "eventTime",
                json!(-5),
                "eventTime must be a positive integer",
            ),
            ("eventId", json!(""), "eventId is missing"),
        ];
        for (field, value, want) in cases {
            let mut input = good();
            input[field] = value;
            let v = validate(&input);
            assert!(!v.is_valid, "{field}");
            assert!(
                v.reason.contains(want),
                "{field}: {} does not contain {want}",
                v.reason
            );
        }
        let mut missing = good();
        missing.as_object_mut().unwrap().remove("eventTime");
        assert_eq!(validate(&missing).reason, "eventTime is missing");
        assert_eq!(
            validate(&json!([1])).reason,
            "input must be an object, got an array"
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        test_support::arb::json_with_keys(&[
            "conversationId",
            "eventId",
            "eventType",
            "eventTime",
            "detail",
        ])
    }

    proptest! {
        #[test]
        fn never_panics_and_explains_every_rejection(v in arb_json()) {
            let out = validate(&v);
            prop_assert_eq!(out.is_valid, out.reason.is_empty());
        }
    }
}
