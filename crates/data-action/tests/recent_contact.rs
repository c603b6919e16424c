//! recent-contact through the built `data-action` binary and the Lambda Runtime API, against the
//! conversations table with its `CustomerRecency` index in moto: routing by `action`, the answer from
//! the stored records, the window, leaving out the current conversation, the output contract, and no raw
//! address in the logs.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use gcx_core::customer::CustomerKeyer;
use secrecy::SecretString;
use serde_json::{json, Value};
use test_support::aws::LocalAws;
use test_support::FunctionProcess;

const TABLE: &str = "conversations";
/// A local test key (not a secret).
const KEY: &str = "local-test-customer-key-0123456789";
const CALLER: &str = "tel:+3212345678";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn customer_key(address: &str) -> String {
    CustomerKeyer::new(&SecretString::from(KEY))
        .unwrap()
        .key(address)
        .unwrap()
}

/// Stores a conversation as save and enrich do: key, contact time, queues, agents, wrap-up codes, end.
fn store(aws: &LocalAws, id: &str, address: &str, contact_at: i64, end: Option<&str>) {
    let mut item = std::collections::HashMap::from([
        ("conversationId".to_owned(), AttributeValue::S(id.into())),
        (
            "customerKey".to_owned(),
            AttributeValue::S(customer_key(address)),
        ),
        (
            "customerContactAt".to_owned(),
            AttributeValue::N(contact_at.to_string()),
        ),
        (
            "queueIds".to_owned(),
            AttributeValue::L(vec![
                AttributeValue::S(format!("{id}-q1")),
                AttributeValue::S(format!("{id}-q2")),
            ]),
        ),
        (
            "wrapUpCodes".to_owned(),
            AttributeValue::L(vec![AttributeValue::S(format!("{id}-w"))]),
        ),
        (
            "agents".to_owned(),
            AttributeValue::L(vec![AttributeValue::M(std::collections::HashMap::from([
                (
                    "userId".to_owned(),
                    AttributeValue::S(format!("{id}-agent")),
                ),
            ]))]),
        ),
        (
            "lastEventTime".to_owned(),
            AttributeValue::N(contact_at.to_string()),
        ),
    ]);
    if let Some(end) = end {
        item.insert("conversationEnd".into(), AttributeValue::S(end.into()));
    }
    aws.block_on(
        aws.dynamo
            .put_item()
            .table_name(TABLE)
            .set_item(Some(item))
            .send(),
    )
    .expect("put an item");
}

fn function(aws: &LocalAws, table: &str) -> FunctionProcess {
    let mut env = aws.env();
    env.extend(
        [
            ("TABLE_NAME", table),
            ("CUSTOMER_KEY", KEY),
            ("EXTERNAL_API_URL", "http://127.0.0.1:9/unused"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    FunctionProcess::start(env!("CARGO_BIN_EXE_data-action"), &env)
}

fn recent(inputs: Value) -> Value {
    json!({"action": "recent-contact", "inputs": inputs})
}

fn output_schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../genesys/data-action/recent-contact.output.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft4::new(&schema).expect("a draft-04 schema")
}

#[test]
fn a_repeat_caller_gets_the_newest_earlier_conversation_and_the_count() {
    let aws = LocalAws::start(false);
    aws.create_table(TABLE);
    let now = now_ms();
    store(&aws, "old", CALLER, now - 100 * 3_600_000, None);
    store(
        &aws,
        "earlier",
        "+32 12 34 56 78",
        now - 30 * 3_600_000,
        Some("2026-11-29T10:00:00.000Z"),
    );
    store(
        &aws,
        "yesterday",
        "sip:+3212345678@sbc.example.com;user=phone",
        now - 20 * 3_600_000,
        Some("2026-11-29T20:00:00.000Z"),
    );
    store(&aws, "current", CALLER, now - 60_000, None);
    store(
        &aws,
        "someone-else",
        "tel:+3298765432",
        now - 3_600_000,
        None,
    );
    let f = function(&aws, TABLE);
    let schema = output_schema();

    let r = f.invoke(&recent(
        json!({"ani": CALLER, "conversation_id": "current"}),
    ));
    assert!(r.ok, "{r:?}");
    let body = &r.body;
    assert!(schema.is_valid(body), "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["found"], true);
    assert_eq!(
        body["last_conversation_id"], "yesterday",
        "the current conversation is left out"
    );
    assert_eq!(body["last_conversation_end"], "2026-11-29T20:00:00.000Z");
    assert_eq!(body["last_queue_id"], "yesterday-q2");
    assert_eq!(body["last_agent_id"], "yesterday-agent");
    assert_eq!(body["last_wrapup_code"], "yesterday-w");
    assert_eq!(
        body["contacts_in_window"], 2,
        "72 h by default: old (100 h) is outside"
    );
    let hours = body["hours_since_last"].as_f64().unwrap();
    assert!((19.9..=20.1).contains(&hours), "{hours}");

    // A narrower window, the flat form with the action name, and an integer given as text.
    let r =
        f.invoke(&json!({"action": "recent-contact", "ani": "+3212345678", "window_hours": "24"}));
    assert_eq!(
        r.body["contacts_in_window"], 2,
        "yesterday and current: {}",
        r.body
    );
    assert_eq!(r.body["last_conversation_id"], "current");

    // A caller with no history: success, not found, and still every field.
    let r = f.invoke(&recent(json!({"ani": "tel:+15550100"})));
    assert!(schema.is_valid(&r.body), "{}", r.body);
    assert_eq!(
        (r.body["success"].clone(), r.body["found"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(r.body["hours_since_last"], -1.0);

    // The log line names the action and a reference, never the number.
    let logs = f.logs();
    assert!(
        !logs.contains("3212345678"),
        "a raw number reached the logs:\n{logs}"
    );
    let lines = f.json_lines();
    let line = lines
        .iter()
        .find(|l| l["action"] == "recent-contact")
        .expect("a recent-contact log line");
    assert_eq!(
        line["customer_ref"],
        customer_key(CALLER)[..12],
        "a keyed reference: an unkeyed hash of a phone number can be reversed"
    );
    // One Query of the keys-only index, one GetItem of the newest contact.
    assert_eq!(line["attempts"], 2);
}

#[test]
fn bad_requests_and_a_missing_table_get_the_full_shape_with_a_named_error() {
    let aws = LocalAws::start(false);
    let f = function(&aws, "no-such-table");
    let schema = output_schema();
    for (event, error) in [
        (recent(json!({})), "ValidationError"),
        (recent(json!({"ani": "not a number"})), "ValidationError"),
        (
            recent(json!({"ani": CALLER, "window_hours": 0})),
            "ValidationError",
        ),
        (recent(json!({"ani": CALLER})), "StoreError"),
    ] {
        let r = f.invoke(&event);
        assert!(r.ok, "{r:?}");
        assert!(schema.is_valid(&r.body), "{}", r.body);
        assert_eq!(
            (r.body["success"].clone(), r.body["error"].clone()),
            (json!(false), json!(error)),
            "{event}"
        );
        assert!(!r.body["message"].as_str().unwrap().is_empty());
    }
}
