//! What each dead-letter queue holds and what of it goes back: [`read`] is the one place that knows, for all
//! four queues ([`Letter`]). Pipeline and enrichment letters are read through the contract's type
//! (`gcx_core::contract::DeadLetterRead`).

use gcx_core::contract::DeadLetterRead;
use serde_json::Value;

use crate::cli::Kind;
use crate::queue::Received;

/// What gcx reads of one dead-lettered message, whatever its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// What makes two letters the same event to redrive (docs/contracts.md, Dead letter): the execution and
    /// the event (`<executionId>|<eventId>`), else the letter's `deadLetterId`; none for letters that carry
    /// neither (raw events, Lambda records, letters written before 0.4).
    pub repeat_key: Option<String>,
    /// The EventBridge event id, when there is one.
    pub event_id: Option<String>,
    /// The conversations it is about (a raw batch can hold several).
    pub conversations: Vec<String>,
    /// Its stable error name, when known.
    pub error: Option<String>,
    /// What to redeliver, serialized, or why nothing can be.
    pub payload: Result<String, String>,
}

/// Reads `m` the way its queue wrote it (docs/contracts.md, "Dead letter").
pub fn read(kind: Kind, m: &Received) -> Letter {
    let parsed: Option<Value> = serde_json::from_str(&m.body).ok();
    let Some(body) = parsed else {
        return Letter {
            repeat_key: None,
            event_id: None,
            conversations: Vec::new(),
            error: m.error_code.clone(),
            payload: Err("the body is not JSON".into()),
        };
    };
    match kind {
        // {eventId, conversationId, ..., error, stage, input: {"events": [...]}}: input is an execution input.
        Kind::Pipeline => dead_letter(m, &body, "events"),
        // The same with input: {"requests": [...]}; or, moved by EnrichmentQueue's redrive policy after 10
        // receives, an enrichment message {"requests": [...]} itself, re-queued as it is.
        Kind::Enrichment => {
            if body.get("input").is_none() && non_empty(body.get("requests")).is_some() {
                let requests = non_empty(body.get("requests")).unwrap_or_default();
                Letter {
                    repeat_key: None,
                    event_id: requests.first().and_then(|r| text(r, "eventId")),
                    conversations: requests
                        .iter()
                        .filter_map(|r| text(r, "conversationId"))
                        .collect(),
                    error: m.error_code.clone(),
                    payload: Ok(m.body.clone()),
                }
            } else {
                dead_letter(m, &body, "requests")
            }
        }
        // A raw EventBridge event (or a buffer message: an event or an array of them), as received, with
        // ERROR_CODE / ERROR_MESSAGE attributes: fanout takes the body as it is.
        Kind::Events => Letter {
            repeat_key: None,
            event_id: events_of(&body).first().and_then(|e| text(e, "id")),
            conversations: conversations_of_events(&body),
            error: m.error_code.clone(),
            payload: Ok(m.body.clone()),
        },
        // A Lambda on-failure record: requestPayload is what fanout was invoked with.
        Kind::Fanout => {
            let payload = body.get("requestPayload").filter(|p| !p.is_null());
            Letter {
                repeat_key: None,
                event_id: payload.and_then(|p| events_of(p).first().and_then(|e| text(e, "id"))),
                conversations: payload.map(conversations_of_events).unwrap_or_default(),
                error: body
                    .pointer("/responsePayload/errorType")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        body.pointer("/requestContext/condition")
                            .and_then(Value::as_str)
                    })
                    .map(str::to_owned)
                    .or_else(|| m.error_code.clone()),
                payload: payload
                    .map(Value::to_string)
                    .ok_or_else(|| "not a Lambda on-failure record: no requestPayload".into()),
            }
        }
    }
}

/// A dead letter of the pipeline or enrichment queue, read through the contract's type: `input.<key>` is
/// what goes back.
fn dead_letter(m: &Received, body: &Value, key: &str) -> Letter {
    let letter = DeadLetterRead::from_body(body);
    let input = letter.input.as_ref();
    let items = input.and_then(|i| non_empty(i.get(key)));
    let mut conversations: Vec<String> = letter.conversation_id.clone().into_iter().collect();
    // The items are what a stage refused, so they are read field by field, whatever else they hold.
    for item in items.unwrap_or_default() {
        if let Some(c) = text(item, "conversationId") {
            if !conversations.contains(&c) {
                conversations.push(c);
            }
        }
    }
    let payload = match (input, items) {
        (Some(input @ Value::Object(_)), Some(_)) => Ok(input.to_string()),
        (None, _) if !body.is_object() => Err("not a dead-letter message (not a JSON object)".into()),
        (None, _) => Err("no input to redrive".into()),
        (Some(_), _) => Err(format!(
            "its input is not {{\"{key}\": [...]}} (a whole input carried as it came): nothing to redrive as it is"
        )),
    };
    let event_id = letter.event_id.clone().or_else(|| {
        items
            .and_then(|i| i.first())
            .and_then(|i| text(i, "eventId"))
    });
    Letter {
        repeat_key: letter.repeat_key(event_id.as_deref()),
        event_id,
        conversations,
        error: letter.error.clone().or_else(|| m.error_code.clone()),
        payload,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn non_empty(v: Option<&Value>) -> Option<&[Value]> {
    v.and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(Vec::as_slice)
}

/// One event, or the events of an array.
fn events_of(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn conversations_of_events(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events_of(v) {
        if let Some(c) = e
            .pointer("/detail/eventBody/conversationId")
            .and_then(Value::as_str)
        {
            if !out.iter().any(|o| o == c) {
                out.push(c.to_owned());
            }
        }
    }
    out
}

/// The ids of a message for a progress line: the SQS message id, the event and conversation ids (never
/// a body). An id that does not look like one is not printed: it could be anything a producer put there.
pub fn describe(letter: &Letter, m: &Received) -> String {
    let mut out = format!("message {}", m.id);
    if let Some(e) = letter.event_id.as_deref().filter(|e| looks_like_id(e)) {
        out.push_str(&format!(" event {e}"));
    }
    match letter.conversations.as_slice() {
        [] => {}
        [one] if is_uuid(one) => out.push_str(&format!(" conversation {one}")),
        [one, rest @ ..] if is_uuid(one) => {
            out.push_str(&format!(" conversation {one} (+{} more)", rest.len()));
        }
        _ => out.push_str(" conversation (not a UUID, not shown)"),
    }
    if let Some(e) = letter.error.as_deref().filter(|e| looks_like_id(e)) {
        out.push_str(&format!(" ({e})"));
    }
    out
}

fn looks_like_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// A hyphenated UUID.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A received message with `body` (redrive's tests use these too).
    pub(crate) fn msg(body: &Value, error_code: Option<&str>) -> Received {
        Received {
            id: "5fea7756-0ea4-451a-a703-a558b933e274".into(),
            receipt: "r".into(),
            body: body.to_string(),
            sent_ms: Some(1),
            error_code: error_code.map(str::to_owned),
        }
    }

    pub(crate) const CONV: &str = "2f7bf00a-0fc2-4d6a-9b56-92238191433e";

    /// An execution-input element of conversation [`CONV`].
    pub(crate) fn event() -> Value {
        json!({"conversationId": CONV, "eventId": "ev-1", "eventType": "v2.detail.events.conversation.{id}.acw",
               "eventTime": 1, "correlationId": null, "detail": {"eventBody": {"conversationId": CONV}}})
    }

    #[test]
    fn a_pipeline_dead_letter_gives_back_its_input() {
        let body = json!({"eventId": "ev-1", "conversationId": CONV, "eventType": "x", "correlationId": null,
                          "error": "Store.Unavailable", "cause": "c", "stage": "save", "executionId": "arn:x",
                          "input": {"events": [event()]}});
        let l = read(Kind::Pipeline, &msg(&body, Some("Store.Unavailable")));
        assert_eq!(l.event_id.as_deref(), Some("ev-1"));
        assert_eq!(l.conversations, [CONV]);
        assert_eq!(l.error.as_deref(), Some("Store.Unavailable"));
        let payload: Value = serde_json::from_str(l.payload.as_ref().unwrap()).unwrap();
        assert_eq!(payload, json!({"events": [event()]}));
    }

    #[test]
    fn a_whole_input_or_a_stranger_is_not_redriven() {
        let whole = json!({"eventId": "", "conversationId": "", "eventType": "", "correlationId": null,
                           "error": "Pipeline.InvalidInput", "cause": "c", "stage": "validate",
                           "executionId": "arn:x", "input": {"something": 1}});
        assert!(read(Kind::Pipeline, &msg(&whole, None)).payload.is_err());
        let empty = json!({"error": "x", "input": {"events": []}});
        assert!(read(Kind::Pipeline, &msg(&empty, None)).payload.is_err());
        let not_json = Received {
            body: "{oops".into(),
            ..msg(&json!({}), Some("Event.Invalid"))
        };
        let l = read(Kind::Pipeline, &not_json);
        assert_eq!(l.payload, Err("the body is not JSON".into()));
        assert_eq!(l.error.as_deref(), Some("Event.Invalid"));
        // The identity of an unidentified dead letter comes from its input.
        let unidentified = json!({"eventId": "", "conversationId": "", "error": "Store.Rejected",
                                  "input": {"events": [event()]}});
        let l = read(Kind::Pipeline, &msg(&unidentified, None));
        assert_eq!(
            (l.event_id.as_deref(), l.conversations.as_slice()),
            (Some("ev-1"), [CONV.to_owned()].as_slice())
        );
    }

    #[test]
    fn an_enrichment_dead_letter_or_a_moved_message() {
        let request = json!({"conversationId": CONV, "eventId": "ev-2", "eventType": "t", "eventTime": 1,
                             "attempt": 0, "firstQueuedAt": 5});
        let body = json!({"eventId": "ev-2", "conversationId": CONV, "eventType": "t", "correlationId": null,
                          "error": "Genesys.NotYetAvailable", "cause": "c", "stage": "enrich", "executionId": null,
                          "input": {"requests": [request]}});
        let l = read(Kind::Enrichment, &msg(&body, None));
        assert_eq!(
            serde_json::from_str::<Value>(l.payload.as_ref().unwrap()).unwrap(),
            json!({"requests": [request]})
        );
        let moved = json!({"requests": [request]});
        let m = msg(&moved, None);
        let l = read(Kind::Enrichment, &m);
        assert_eq!(l.payload.as_deref(), Ok(m.body.as_str()));
        assert_eq!(
            (l.conversations.as_slice(), l.error),
            ([CONV.to_owned()].as_slice(), None)
        );
        assert!(read(Kind::Enrichment, &msg(&json!({"requests": []}), None))
            .payload
            .is_err());
    }

    #[test]
    fn raw_events_and_lambda_records() {
        let raw = json!({"id": "ev-3", "detail-type": "v2.detail.events.conversation.{id}.acw",
                         "detail": {"eventBody": {"conversationId": CONV}}});
        let m = msg(&raw, Some("Fanout.EventTooLarge"));
        let l = read(Kind::Events, &m);
        assert_eq!(
            (l.event_id.as_deref(), l.error.as_deref()),
            (Some("ev-3"), Some("Fanout.EventTooLarge"))
        );
        assert_eq!(l.conversations, [CONV]);
        assert_eq!(l.payload.as_deref(), Ok(m.body.as_str()));
        let array =
            json!([raw, {"id": "ev-4", "detail": {"eventBody": {"conversationId": "other"}}}]);
        assert_eq!(
            read(Kind::Events, &msg(&array, None)).conversations,
            [CONV, "other"]
        );

        let record = json!({"version": "1.0", "timestamp": "2026-11-30T08:00:00.000Z",
            "requestContext": {"requestId": "r", "functionArn": "arn:f", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": raw,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "Fanout.StartFailed", "errorMessage": "m"}});
        let l = read(Kind::Fanout, &msg(&record, None));
        assert_eq!(l.error.as_deref(), Some("Fanout.StartFailed"));
        assert_eq!(l.conversations, [CONV]);
        assert_eq!(
            serde_json::from_str::<Value>(l.payload.as_ref().unwrap()).unwrap(),
            raw
        );
        let timed_out =
            json!({"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": raw});
        assert_eq!(
            read(Kind::Fanout, &msg(&timed_out, None)).error.as_deref(),
            Some("RetriesExhausted")
        );
        assert!(read(Kind::Fanout, &msg(&json!({"x": 1}), None))
            .payload
            .is_err());
    }
}
