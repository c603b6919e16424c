//! The built `save` binary, run through the Lambda Runtime API, against a real DynamoDB API (moto on
//! loopback, which enforces condition expressions): ordering, replay, ties, TTL and failures.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use serde_json::{json, Value};
use test_support::moto::MotoServer;
use test_support::FunctionProcess;

const TABLE: &str = "conversations";
const CONVERSATION: &str = "1bc96a39-6725-40c4-9345-db72aa67b8c6";

struct Stack {
    moto: MotoServer,
    dynamo: aws_sdk_dynamodb::Client,
    runtime: tokio::runtime::Runtime,
}

impl Stack {
    fn new() -> Self {
        let moto = MotoServer::start();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dynamo = runtime.block_on(async {
            let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&moto.endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load()
                .await;
            let client = aws_sdk_dynamodb::Client::new(&conf);
            client
                .create_table()
                .table_name(TABLE)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("conversationId")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("conversationId")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("create the table in moto");
            client
        });
        Self {
            moto,
            dynamo,
            runtime,
        }
    }

    fn save(&self, extra: &[(&str, &str)]) -> FunctionProcess {
        let mut env: Vec<(String, String)> = self.moto.env();
        env.push(("DYNAMODB_TABLE_NAME".into(), TABLE.into()));
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionProcess::start(env!("CARGO_BIN_EXE_save"), &env_refs)
    }

    fn stored(&self) -> Option<HashMap<String, AttributeValue>> {
        self.runtime.block_on(async {
            self.dynamo
                .get_item()
                .table_name(TABLE)
                .key("conversationId", AttributeValue::S(CONVERSATION.into()))
                .send()
                .await
                .unwrap()
                .item
        })
    }
}

/// Save's input for one event of the conversation: the pipeline state with a `record`.
fn state(event_id: &str, event_time: i64, event_type: &str) -> Value {
    let base: Value =
        serde_json::from_str(include_str!("../../../events/pipeline/save-input.json")).unwrap();
    let mut s = base;
    s["eventId"] = json!(event_id);
    s["eventTime"] = json!(event_time);
    s["record"]["conversationId"] = json!(CONVERSATION);
    s["record"]["lastEventId"] = json!(event_id);
    s["record"]["lastEventTime"] = json!(event_time);
    s["record"]["lastEventType"] =
        json!(format!("v2.detail.events.conversation.{{id}}.{event_type}"));
    s
}

fn stored_event(item: &HashMap<String, AttributeValue>) -> (String, String) {
    (
        item["lastEventId"].as_s().unwrap().clone(),
        item["lastEventTime"].as_n().unwrap().clone(),
    )
}

#[test]
fn a_new_conversation_is_stored_with_its_record_fields() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    let out = f.invoke(&state("e-1", 1_000, "customer.end"));
    assert!(out.ok, "{out:?}\n{}", f.logs());
    assert_eq!(out.body, json!({"saved": true, "reason": "stored"}));
    let item = stack.stored().expect("item stored");
    assert_eq!(stored_event(&item), ("e-1".into(), "1000".into()));
    assert_eq!(
        item["lastEventType"].as_s().unwrap(),
        "v2.detail.events.conversation.{id}.customer.end"
    );
    assert!(item.contains_key("agents") && item.contains_key("queueIds"));
    assert!(!item.contains_key("expiresAt"));
}

#[test]
fn an_older_event_never_overwrites_a_newer_one() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    assert_eq!(f.invoke(&state("e-new", 2_000, "acw")).body["saved"], true);
    let late = f.invoke(&state("e-old", 1_000, "customer.start"));
    assert!(
        late.ok,
        "a stale write is an outcome, not an error: {late:?}"
    );
    assert_eq!(
        late.body,
        json!({"saved": false, "reason": "stale: stored event is newer"})
    );
    assert_eq!(
        stored_event(&stack.stored().unwrap()),
        ("e-new".into(), "2000".into())
    );
    // A newer one still goes through.
    assert_eq!(
        f.invoke(&state("e-newer", 3_000, "user.end")).body["saved"],
        true
    );
    assert_eq!(
        stored_event(&stack.stored().unwrap()),
        ("e-newer".into(), "3000".into())
    );
}

#[test]
fn replaying_the_same_event_is_a_no_op() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    assert_eq!(
        f.invoke(&state("e-1", 1_000, "customer.end")).body["saved"],
        true
    );
    let replay = f.invoke(&state("e-1", 1_000, "customer.end"));
    assert!(replay.ok);
    assert_eq!(
        replay.body,
        json!({"saved": false, "reason": "duplicate: event already stored"})
    );
}

#[test]
fn equal_event_times_are_ordered_by_event_id() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    assert_eq!(
        f.invoke(&state("b", 1_000, "customer.end")).body["saved"],
        true
    );
    assert_eq!(f.invoke(&state("a", 1_000, "acw")).body["saved"], false);
    assert_eq!(f.invoke(&state("c", 1_000, "acw")).body["saved"], true);
    assert_eq!(stored_event(&stack.stored().unwrap()).0, "c");
}

#[test]
fn ttl_adds_expires_at_in_epoch_seconds() {
    let stack = Stack::new();
    let f = stack.save(&[("RECORD_TTL_DAYS", "30")]);
    assert_eq!(
        f.invoke(&state("e-1", 1_000, "customer.end")).body["saved"],
        true
    );
    let expires: u64 = stack.stored().unwrap()["expiresAt"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let thirty_days = 30 * 86_400;
    assert!(
        (now + thirty_days - 60..=now + thirty_days + 60).contains(&expires),
        "{expires}"
    );
}

#[test]
fn a_state_without_a_record_is_invalid_input() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    for bad in [
        json!({}),
        json!({"record": {"conversationId": 5}}),
        json!([1, 2]),
    ] {
        let out = f.invoke(&bad);
        assert!(!out.ok);
        assert_eq!(
            out.error_type.as_deref(),
            Some("Pipeline.InvalidInput"),
            "{bad}: {out:?}"
        );
    }
}

#[test]
fn a_missing_table_is_rejected_not_retried_forever() {
    let stack = Stack::new();
    let f = stack.save(&[("DYNAMODB_TABLE_NAME", "no-such-table")]);
    let out = f.invoke(&state("e-1", 1_000, "customer.end"));
    assert!(!out.ok);
    assert_eq!(out.error_type.as_deref(), Some("Store.Rejected"), "{out:?}");
}

#[test]
fn an_unreachable_dynamodb_is_unavailable() {
    let port = test_support::moto::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let f = FunctionProcess::start(
        env!("CARGO_BIN_EXE_save"),
        &[
            ("DYNAMODB_TABLE_NAME", TABLE),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "x"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
        ],
    );
    let out = f.invoke(&state("e-1", 1_000, "customer.end"));
    assert_eq!(
        out.error_type.as_deref(),
        Some("Store.Unavailable"),
        "{out:?}"
    );
}

#[test]
fn a_newer_event_recorded_without_enrichment_keeps_what_enrichment_stored() {
    let stack = Stack::new();
    let f = stack.save(&[]);
    let enriched = state("e-enriched", 1_000, "customer.end");
    assert_eq!(
        enriched["record"]["enriched"], true,
        "the fixture is an enriched record"
    );
    assert_eq!(f.invoke(&enriched).body["saved"], true);
    let mut plain = state("e-attributes", 2_000, "attributes");
    let record = &mut plain["record"];
    record["enriched"] = json!(false);
    for field in [
        "conversationStart",
        "conversationEnd",
        "durationMs",
        "customerParticipantName",
    ] {
        record[field] = Value::Null;
    }
    for field in ["agents", "queueIds", "wrapUpCodes", "divisionIds"] {
        record[field] = json!([]);
    }
    assert_eq!(
        f.invoke(&plain).body,
        json!({"saved": true, "reason": "stored"})
    );
    let item = stack.stored().unwrap();
    assert_eq!(stored_event(&item), ("e-attributes".into(), "2000".into()));
    assert_eq!(
        item["lastEventType"].as_s().unwrap(),
        "v2.detail.events.conversation.{id}.attributes"
    );
    assert_eq!(item["enriched"], AttributeValue::Bool(true));
    assert_eq!(
        item["conversationStart"].as_s().unwrap(),
        enriched["record"]["conversationStart"].as_str().unwrap()
    );
    assert!(
        !item["agents"].as_l().unwrap().is_empty(),
        "agents survived"
    );
    assert!(
        !item["queueIds"].as_l().unwrap().is_empty(),
        "queues survived"
    );
}
