//! The three shapes of fanout's input, flattened into items: one EventBridge event (a rule target), a JSON
//! array of events (custom-bus subscribers), or an SQS event from the buffer queue whose record bodies
//! are events or arrays of events. Anything else is one item that will be dead-lettered as malformed.

use serde_json::Value;

/// An SQS body that is not JSON: why, and the text to dead-letter as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Why it cannot be read.
    pub reason: String,
    /// The body as received ("" when there was none).
    pub text: String,
}

/// One event (or what should have been one).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The SQS record it came from (its position), for SQS input.
    pub message: Option<usize>,
    /// The event's JSON, or why there is none.
    pub raw: Result<Value, Unreadable>,
}

/// An invocation payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// One value: normally an EventBridge event.
    Single(Value),
    /// A JSON array of events.
    Array(Vec<Value>),
    /// An SQS batch: `(messageId, body)` pairs, the body still raw.
    Sqs(Vec<(String, Option<String>)>),
}

impl Payload {
    /// Recognises the shape; never fails (what is not an event becomes an item to dead-letter).
    pub fn parse(v: Value) -> Self {
        match v {
            Value::Array(items) => Self::Array(items),
            Value::Object(ref o) if o.contains_key("Records") => {
                match serde_json::from_value::<aws_lambda_events::event::sqs::SqsEvent>(v.clone()) {
                    Ok(event) if event.records.iter().all(|r| r.message_id.is_some()) => Self::Sqs(
                        event
                            .records
                            .into_iter()
                            .map(|r| (r.message_id.unwrap_or_default(), r.body))
                            .collect(),
                    ),
                    _ => Self::Single(v),
                }
            }
            other => Self::Single(other),
        }
    }

    /// The SQS message ids (empty unless SQS) and every item, in order.
    pub fn items(self) -> (Vec<String>, Vec<Item>) {
        match self {
            Self::Single(v) => (
                Vec::new(),
                vec![Item {
                    message: None,
                    raw: Ok(v),
                }],
            ),
            Self::Array(values) => (
                Vec::new(),
                values
                    .into_iter()
                    .map(|v| Item {
                        message: None,
                        raw: Ok(v),
                    })
                    .collect(),
            ),
            Self::Sqs(records) => {
                let mut ids = Vec::with_capacity(records.len());
                let mut items = Vec::with_capacity(records.len());
                for (i, (id, body)) in records.into_iter().enumerate() {
                    ids.push(id);
                    let text = body.unwrap_or_default();
                    match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Array(values)) => {
                            items.extend(values.into_iter().map(|v| Item {
                                message: Some(i),
                                raw: Ok(v),
                            }));
                        }
                        Ok(v) => items.push(Item {
                            message: Some(i),
                            raw: Ok(v),
                        }),
                        Err(e) => items.push(Item {
                            message: Some(i),
                            raw: Err(Unreadable {
                                reason: if text.is_empty() {
                                    "the SQS record has no body".into()
                                } else {
                                    format!("the SQS body is not JSON ({e})")
                                },
                                text,
                            }),
                        }),
                    }
                }
                (ids, items)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn shapes_are_recognised_and_flattened() {
        assert_eq!(
            Payload::parse(json!({"detail-type": "x"})),
            Payload::Single(json!({"detail-type": "x"}))
        );
        assert_eq!(Payload::parse(json!([])), Payload::Array(vec![]));
        let sqs = json!({"Records": [
            {"messageId": "m1", "body": "{\"a\":1}", "eventSource": "aws:sqs"},
            {"messageId": "m2", "body": "[{\"b\":1},{\"c\":1}]", "eventSource": "aws:sqs"},
            {"messageId": "m3", "body": "not json", "eventSource": "aws:sqs"}]});
        let (ids, items) = Payload::parse(sqs).items();
        assert_eq!(ids, ["m1", "m2", "m3"]);
        let messages: Vec<Option<usize>> = items.iter().map(|i| i.message).collect();
        assert_eq!(messages, [Some(0), Some(1), Some(1), Some(2)]);
        let bad = items[3].raw.clone().unwrap_err();
        assert_eq!(bad.text, "not json");
        assert!(
            bad.reason.starts_with("the SQS body is not JSON"),
            "{}",
            bad.reason
        );
        // Records without message ids cannot be handed back: the whole thing is one malformed item.
        assert!(matches!(
            Payload::parse(json!({"Records": [{"body": "{}"}]})),
            Payload::Single(_)
        ));
        assert!(matches!(Payload::parse(json!("text")), Payload::Single(_)));
    }

    proptest! {
        /// The payload parser never panics, and nothing vanishes: only an empty array or an SQS event
        /// with no records yields no item.
        #[test]
        fn any_payload_flattens(v in test_support::arb::json_with_keys(
            &["Records", "messageId", "body", "eventSource", "detail-type", "detail", "id"]
        )) {
            let nothing_in_it = v.as_array().is_some_and(Vec::is_empty)
                || v.get("Records").and_then(Value::as_array).is_some_and(Vec::is_empty);
            let (_, items) = Payload::parse(v).items();
            prop_assert_eq!(items.is_empty(), nothing_in_it);
        }
    }
}
