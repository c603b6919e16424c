//! The built `save` binary through the Lambda Runtime API, against real DynamoDB and SQS APIs (moto on
//! loopback, which enforces condition expressions): ordering, replay, ties, TTL, per-event isolation,
//! enrichment requests and dead letters, whole-batch failures, the customer index.

use gcx_core::contract::{
    ConversationRecord, DeadLetter, EnrichmentRequest, PipelineEvent, Processed, Stage,
};
use serde_json::{json, Value};
use test_support::aws::LocalAws;
use test_support::FunctionProcess;

const TABLE: &str = "conversations";
const CONVERSATION: &str = "1bc96a39-6725-40c4-9345-db72aa67b8c6";
const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:pipeline:b1";

struct Stack {
    aws: LocalAws,
    enrich: String,
    dlq: String,
}

impl Stack {
    fn new() -> Self {
        let aws = LocalAws::start(false);
        aws.create_table(TABLE);
        let enrich = aws.create_queue("enrichment");
        let dlq = aws.create_queue("pipeline-dlq");
        Self { aws, enrich, dlq }
    }

    fn save(&self, extra: &[(&str, &str)]) -> FunctionProcess {
        let mut env: Vec<(String, String)> = self.aws.env();
        env.push(("DYNAMODB_TABLE_NAME".into(), TABLE.into()));
        env.push(("ENRICHMENT_QUEUE_URL".into(), self.enrich.clone()));
        env.push(("DEAD_LETTER_QUEUE_URL".into(), self.dlq.clone()));
        env.push(("ENRICH_DELAY_SECONDS".into(), "0".into()));
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionProcess::start(env!("CARGO_BIN_EXE_save"), &env_refs)
    }

    fn item(&self) -> Value {
        self.aws.item(TABLE, CONVERSATION).expect("an item")
    }
}

/// An event of `topic` with `id` and `time`, its body `body`.
fn event(id: &str, time: i64, topic: &str, body: Value) -> PipelineEvent {
    let mut body = body;
    body["conversationId"] = json!(CONVERSATION);
    PipelineEvent {
        conversation_id: CONVERSATION.into(),
        event_id: id.into(),
        event_type: format!("v2.detail.events.conversation.{{id}}.{topic}"),
        event_time: time,
        correlation_id: Some(format!("corr-{id}")),
        detail: json!({ "eventBody": body }),
    }
}

fn record(e: &PipelineEvent) -> ConversationRecord {
    process::record::from_event(e, None)
}

/// Save's Task input for `events` (enriching those with `enrich`), plus `dead_letters`.
fn task(events: &[(PipelineEvent, bool)], dead_letters: Vec<DeadLetter>) -> Value {
    let batch = Processed {
        events: events.iter().map(|(e, _)| e.clone()).collect(),
        records: events.iter().map(|(e, _)| record(e)).collect(),
        enrich: events
            .iter()
            .filter(|(_, enrich)| *enrich)
            .map(|(e, _)| EnrichmentRequest::for_event(e, Some(EXECUTION), 1))
            .collect(),
        dead_letters,
        manifest: None,
    };
    json!({"batch": batch, "executionId": EXECUTION})
}

fn outcomes(out: &Value) -> Vec<(String, String)> {
    out["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["eventId"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// One conversation's events in one batch are one write: the newest event wins the item (the older ones are
/// `stale`: a newer event of the conversation is stored), every gap is filled as writing them one by one would
/// have, and nothing is lost.
#[test]
fn a_batch_is_stored_each_event_answered_and_enrichment_queued() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    let start = event(
        "e-1",
        1_000,
        "customer.start",
        json!({"mediaType": "VOICE"}),
    );
    let end = event("e-2", 2_000, "customer.end", json!({"queueId": "q1"}));
    let input = task(&[(start, false), (end, true)], vec![]);
    let out = f.invoke(&input);
    assert!(out.ok, "{out:?}\n{}", f.logs());
    assert_eq!(
        outcomes(&out.body),
        [
            ("e-1".to_owned(), "stale".to_owned()),
            ("e-2".to_owned(), "stored".to_owned())
        ]
    );
    let line = f.assert_logged_with_request_id(&out);
    assert_eq!(line["enrichmentQueued"], 1);
    assert_eq!(
        (line["stored"].clone(), line["stale"].clone()),
        (json!(1), json!(1))
    );
    test_support::assert_line_correlates(&line, &input);
    let item = stack.item();
    assert_eq!(item["lastEventId"], "e-2");
    assert_eq!(item["correlationId"], "corr-e-2");
    assert_eq!(item["enriched"], false);
    assert_eq!(
        item["mediaType"], "voice",
        "an attribute only an earlier event had is kept"
    );
    assert_eq!(item["queueIds"], json!(["q1"]));

    let queued = stack.aws.drain(&stack.enrich);
    let [message] = queued.as_slice() else {
        panic!("{queued:?}")
    };
    assert_eq!(message.body["requests"][0]["eventId"], "e-2");
    assert_eq!(message.body["requests"][0]["executionId"], EXECUTION);
    // The batch again (a retried Task, a redelivery): the newest is a duplicate, the older still stale.
    let again = f.invoke(&input);
    assert_eq!(
        outcomes(&again.body),
        [
            ("e-1".to_owned(), "stale".to_owned()),
            ("e-2".to_owned(), "duplicate".to_owned())
        ]
    );
}

#[test]
fn an_older_event_never_overwrites_a_newer_one_and_a_replay_is_a_no_op() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    let newer = event("e-new", 2_000, "acw", json!({}));
    let older = event("e-old", 1_000, "customer.start", json!({}));
    assert_eq!(
        outcomes(&f.invoke(&task(&[(newer.clone(), false)], vec![])).body)[0].1,
        "stored"
    );
    assert_eq!(
        outcomes(&f.invoke(&task(&[(older, false)], vec![])).body)[0].1,
        "stale"
    );
    assert_eq!(
        outcomes(&f.invoke(&task(&[(newer, false)], vec![])).body)[0].1,
        "duplicate"
    );
    assert_eq!(stack.item()["lastEventId"], "e-new");
}

#[test]
fn equal_event_times_are_ordered_by_event_id() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    for (id, want) in [("b", "stored"), ("a", "stale"), ("c", "stored")] {
        let out = f.invoke(&task(
            &[(event(id, 1_000, "acw", json!({})), false)],
            vec![],
        ));
        assert_eq!(outcomes(&out.body)[0].1, want, "{id}");
    }
    assert_eq!(stack.item()["lastEventId"], "c");
}

#[test]
fn ttl_adds_expires_at_in_epoch_seconds() {
    let stack = Stack::new();
    let f = stack.save(&[("RECORD_TTL_DAYS", "30")]);
    f.invoke(&task(&[(event("e", 1, "acw", json!({})), false)], vec![]));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = stack.item()["expiresAt"].as_u64().unwrap();
    assert!(
        at >= now + 30 * 86_400 - 60 && at <= now + 30 * 86_400 + 60,
        "{at}"
    );
}

#[test]
fn a_rejected_item_costs_only_its_event_and_every_dead_letter_is_sent() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    let fine = event("fine", 1_000, "acw", json!({}));
    let other = "2f7bf00a-0fc2-4d6a-9b56-92238191433e";
    let mut huge = event("huge", 2_000, "acw", json!({}));
    huge.conversation_id = other.into();
    huge.detail["eventBody"]["conversationId"] = json!(other);
    let mut big_task = task(&[(fine, true), (huge.clone(), true)], vec![]);
    // A record over DynamoDB's 400 KB item limit.
    big_task["batch"]["records"][1]["conversationId"] = json!(huge.conversation_id);
    big_task["batch"]["records"][1]["queueIds"] = json!(["q".repeat(450 * 1024)]);
    let earlier = DeadLetter::for_raw(
        &json!({"eventId": "bad"}),
        0,
        &gcx_core::contract::ContractError::InvalidInput(gcx_core::contract::Rejection {
            path: "$.events[0]".into(),
            problem: "is broken".into(),
        }),
        Stage::Validate,
        Some(EXECUTION),
    );
    big_task["batch"]["deadLetters"] = json!([earlier]);
    let out = f.invoke(&big_task);
    assert!(out.ok, "{out:?}\n{}", f.logs());
    let mut got = outcomes(&out.body);
    got.sort();
    assert_eq!(
        got,
        [
            ("bad".into(), "deadLettered".into()),
            ("fine".into(), "stored".into()),
            ("huge".into(), "deadLettered".into())
        ]
    );
    let letters = stack.aws.drain(&stack.dlq);
    assert_eq!(letters.len(), 2);
    let huge_letter = letters
        .iter()
        .find(|l| l.body["eventId"] == "huge")
        .expect("huge's dead letter");
    assert_eq!(huge_letter.body["error"], "Store.Rejected");
    assert_eq!(huge_letter.body["stage"], "save");
    assert_eq!(huge_letter.attributes["ERROR_CODE"], "Store.Rejected");
    assert_eq!(
        gcx_core::contract::check(&huge_letter.body["input"])
            .unwrap()
            .events[0],
        huge,
        "the full event, to redrive"
    );
    let requests = stack.aws.drain(&stack.enrich);
    assert_eq!(
        requests[0].body["requests"].as_array().unwrap().len(),
        1,
        "no enrichment for a dead-lettered event"
    );
}

#[test]
fn a_missing_table_fails_the_batch_whole_and_bad_input_is_named() {
    let stack = Stack::new();
    let f = stack.save(&[("DYNAMODB_TABLE_NAME", "nope")]);
    let input = task(&[(event("e", 1, "acw", json!({})), false)], vec![]);
    let out = f.invoke(&input);
    assert!(!out.ok);
    assert_eq!(out.error_type.as_deref(), Some("Store.Rejected"), "{out:?}");
    // The failed batch's line still leads to its events.
    let line = f.assert_logged_with_request_id(&out);
    test_support::assert_line_correlates(&line, &input);
    for bad in [
        json!({}),
        json!({"batch": {"events": []}}),
        json!({"batch": {"records": "x"}}),
    ] {
        let out = f.invoke(&bad);
        assert_eq!(
            out.error_type.as_deref(),
            Some("Pipeline.InvalidInput"),
            "{bad}: {out:?}"
        );
    }
}

#[test]
fn an_unreachable_dynamodb_is_unavailable() {
    let stack = Stack::new();
    let f = stack.save(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")]);
    let out = f.invoke(&task(&[(event("e", 1, "acw", json!({})), false)], vec![]));
    assert_eq!(
        out.error_type.as_deref(),
        Some("Store.Unavailable"),
        "{out:?}"
    );
}

/// `event` moved to conversation `id`.
fn in_conversation(mut e: PipelineEvent, id: &str) -> PipelineEvent {
    e.conversation_id = id.into();
    e.detail["eventBody"]["conversationId"] = json!(id);
    e
}

#[test]
fn a_customer_keyed_record_lands_in_the_customer_index_and_keeps_its_first_contact() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    let keyer =
        gcx_core::customer::CustomerKeyer::new(&secrecy::SecretString::from("0123456789abcdef"))
            .unwrap();
    let second = "2f7bf00a-0fc2-4d6a-9b56-92238191433e";
    let other = "6f52126a-ea0c-47c5-a488-3cd1c4fa5f36";
    let inbound = |ani: &str| json!({"mediaType": "VOICE", "direction": "INBOUND", "ani": ani});
    let events = [
        event("c1", 1_000, "customer.start", inbound("tel:+3212345678")),
        in_conversation(
            event(
                "c2",
                5_000,
                "customer.start",
                inbound("sip:+32-12-34-56-78@edge;user=phone"),
            ),
            second,
        ),
        in_conversation(
            event("c3", 3_000, "customer.start", inbound("tel:+3298765432")),
            other,
        ),
    ];
    let keyed = |events: &[PipelineEvent]| {
        let mut t = task(
            &events
                .iter()
                .map(|e| (e.clone(), false))
                .collect::<Vec<_>>(),
            vec![],
        );
        let records: Vec<ConversationRecord> = events
            .iter()
            .map(|e| process::record::from_event(e, Some(&keyer)))
            .collect();
        t["batch"]["records"] = json!(records);
        t
    };
    let out = f.invoke(&keyed(&events));
    assert!(out.ok, "{out:?}\n{}", f.logs());
    assert_eq!(out.body["stored"], 3);

    let customer = keyer.key("+3212345678").unwrap();
    let contacts = stack.aws.customer_contacts(TABLE, &customer);
    let found: Vec<(&str, i64)> = contacts
        .iter()
        .map(|i| {
            (
                i["conversationId"].as_str().unwrap(),
                i["customerContactAt"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(second, 5_000), (CONVERSATION, 1_000)],
        "newest first"
    );
    assert_eq!(contacts[0]["customerKey"], customer.as_str());
    assert_eq!(
        contacts[0].as_object().unwrap().len(),
        3,
        "the index holds the keys only (KEYS_ONLY): {:?}",
        contacts[0]
    );

    // A later event of the conversation names the caller again: the first contact stays.
    let later = event("c4", 9_000, "acw", inbound("tel:+3212345678"));
    let out = f.invoke(&keyed(&[later]));
    assert_eq!(outcomes(&out.body)[0].1, "stored");
    let item = stack.item();
    assert_eq!(
        (
            item["lastEventId"].as_str(),
            item["customerContactAt"].as_i64()
        ),
        (Some("c4"), Some(1_000))
    );
    // An event without a keyer or an address leaves the key alone.
    f.invoke(&task(
        &[(event("c5", 10_000, "wrapup", json!({})), false)],
        vec![],
    ));
    assert_eq!(stack.item()["customerKey"], customer.as_str());

    let table = serde_json::to_string(&stack.aws.items(TABLE)).unwrap();
    for spelling in ["3212345678", "3298765432"] {
        assert!(
            !table.contains(spelling),
            "the table holds {spelling}: {table}"
        );
    }
}
