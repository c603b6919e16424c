//! The events the bench sends, all made from the repository's fixtures (`events/`): EventBridge events
//! with new ids, the execution-input batch fanout would start from them, the Task inputs, and the SQS
//! event save's enrichment message arrives in.

use std::path::Path;

use serde_json::{json, Value};

/// Prefix of every conversation detail topic (the 16 of the SDK).
const DETAIL_PREFIX: &str = "v2.detail.events.conversation.{id}.";
/// The execution id the Tasks' inputs carry.
pub const EXECUTION_ID: &str = "arn:aws:states:us-east-1:123456789012:execution:bench:batch";

/// Reads a workspace file as JSON.
pub fn load_json(root: &Path, path: &str) -> Result<Value, String> {
    let full = root.join(path);
    let text = std::fs::read_to_string(&full).map_err(|e| format!("{}: {e}", full.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", full.display()))
}

/// Conversation `i`'s id: a hyphenated UUID, distinct per `i`.
pub fn conversation_id(i: usize) -> String {
    format!("1bc96a39-6725-40c4-9345-{i:012x}")
}

/// The fixtures, loaded once.
pub struct Fixtures {
    /// `events/data-action/wrapped.json` (the Architect shape; the seed takes only this one).
    pub wrapped: Value,
    /// `events/data-action/flat.json` (bench-bare's echo).
    pub flat: Value,
    /// `events/eventbridge/customer-end.json`.
    pub customer_end: Value,
    /// Every conversation detail event of `events/eventbridge/`, by file name.
    pub detail_events: Vec<Value>,
}

impl Fixtures {
    /// Loads them from `root/events`.
    pub fn load(root: &Path) -> Result<Fixtures, String> {
        let dir = root.join("events/eventbridge");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        let mut detail_events = Vec::new();
        for name in names {
            let event = load_json(root, &format!("events/eventbridge/{name}"))?;
            let detail = event["detail-type"].as_str().unwrap_or_default();
            let body = &event["detail"]["eventBody"];
            if detail.starts_with(DETAIL_PREFIX) && body["eventTime"].is_i64() {
                detail_events.push(event);
            }
        }
        if detail_events.is_empty() {
            return Err(format!("no conversation detail event in {}", dir.display()));
        }
        Ok(Fixtures {
            wrapped: load_json(root, "events/data-action/wrapped.json")?,
            flat: load_json(root, "events/data-action/flat.json")?,
            customer_end: load_json(root, "events/eventbridge/customer-end.json")?,
            detail_events,
        })
    }

    /// `template` as event `i` of a run tagged `tag`: a new EventBridge id, correlation id and
    /// conversation (`conversation_id(i)`), the topic name to match.
    fn renew(template: &Value, tag: &str, i: usize) -> Value {
        let mut event = template.clone();
        let conversation = conversation_id(i);
        let suffix = template["detail-type"]
            .as_str()
            .and_then(|t| t.strip_prefix(DETAIL_PREFIX))
            .unwrap_or("customer.end")
            .to_owned();
        event["id"] = json!(format!("bench-{tag}-{i:06}"));
        event["detail"]["eventBody"]["conversationId"] = json!(conversation);
        event["detail"]["topicName"] = json!(format!(
            "v2.detail.events.conversation.{conversation}.{suffix}"
        ));
        event["detail"]["metadata"]["CorrelationId"] = json!(format!("corr-{tag}-{i:06}"));
        event
    }

    /// `customer-end.json` as event `i` of run `tag` (fanout's one-event invocations).
    pub fn customer_end(&self, tag: &str, i: usize) -> Value {
        Self::renew(&self.customer_end, tag, i)
    }

    /// `n` events of run `tag`, cycling through every conversation detail fixture.
    pub fn events(&self, tag: &str, n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| Self::renew(&self.detail_events[i % self.detail_events.len()], tag, i))
            .collect()
    }

    /// An execution input of `n` events, each the element fanout builds from an event
    /// (`PipelineEvent::from_event`): what validate receives as its batch.
    pub fn batch(&self, n: usize) -> Value {
        let events: Vec<Value> = self.events("batch", n).iter().map(element).collect();
        json!({ "events": events })
    }
}

/// The execution-input element of an EventBridge event.
fn element(event: &Value) -> Value {
    let detail = &event["detail"];
    json!({
        "conversationId": detail["eventBody"]["conversationId"],
        "eventId": event["id"],
        "eventType": event["detail-type"],
        "eventTime": detail["eventBody"]["eventTime"],
        "correlationId": detail["metadata"]["CorrelationId"],
        "detail": detail,
    })
}

/// A Task's input: `{"batch": <state>, "executionId"}`, as the state machine passes it.
pub fn task_input(batch: &Value) -> Value {
    json!({ "batch": batch, "executionId": EXECUTION_ID })
}

/// save's input with every record `step` ms newer than in `input` (so every write is newer).
pub fn newer_records(input: &Value, step: u64) -> Value {
    let mut input = input.clone();
    if let Some(records) = input["batch"]["records"].as_array_mut() {
        for record in records {
            let t = record["lastEventTime"].as_u64().unwrap_or(0);
            record["lastEventTime"] = json!(t + step);
        }
    }
    input
}

/// The SQS event enrich receives: one message `{"requests": [...]}` asking for conversations `0..n`.
pub fn enrichment_event(n: usize, queued_at_ms: i64) -> Value {
    let requests: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "conversationId": conversation_id(i),
                "eventId": format!("bench-enrich-{i:06}"),
                "eventType": format!("{DETAIL_PREFIX}customer.end"),
                "eventTime": 1_617_281_003_303_i64 + i as i64,
                "correlationId": format!("corr-enrich-{i:06}"),
                "executionId": EXECUTION_ID,
                "attempt": 0,
                "firstQueuedAt": queued_at_ms,
            })
        })
        .collect();
    let body = json!({ "requests": requests }).to_string();
    json!({ "Records": [{
        "messageId": "bench-enrich-message", "receiptHandle": "bench-receipt", "body": body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:enrichment", "awsRegion": "us-east-1",
    }]})
}

/// Now, epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Size of `value` as the emulator sends it (compact JSON).
pub fn compact_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}
