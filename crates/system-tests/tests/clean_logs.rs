//! Runs every function binary through the Lambda Runtime API at TRACE level, across success and failure
//! paths, captures everything it prints, and finds no secret (client secret, bearer or access token) and
//! no raw customer id or customer name.

use serde_json::{json, Value};
use test_support::{binary_path, FunctionProcess};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_SECRET: &str = "client-secret-7f3a9c";
const ACCESS_TOKEN: &str = "access-token-55e1d0";
const UPSTREAM_TOKEN: &str = "upstream-bearer-91bb2e";
const CUSTOMER_ID: &str = "cust-8675309";
const CUSTOMER_NAME: &str = "Jolene Quartermaine";
const DETAILS: &str =
    include_str!("../../genesys/tests/fixtures/analytics_conversation_details_1.json");

fn start(name: &str, env: &[(&str, &str)]) -> FunctionProcess {
    let bin = binary_path(name);
    assert!(
        bin.exists(),
        "{} not built: run `cargo build --workspace --bins` (make build)",
        bin.display()
    );
    let mut all = vec![("LOG_LEVEL", "TRACE")];
    all.extend_from_slice(env);
    FunctionProcess::start(bin.to_str().unwrap(), &all)
}

fn event(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../../events/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap()
}

fn assert_clean(function: &str, logs: &str) {
    assert!(
        !logs.is_empty(),
        "{function} printed nothing: the check would be vacuous"
    );
    for needle in [
        CLIENT_SECRET,
        ACCESS_TOKEN,
        UPSTREAM_TOKEN,
        CUSTOMER_ID,
        CUSTOMER_NAME,
        "Bearer ",
    ] {
        assert!(
            !logs.contains(needle),
            "{function} logged {needle:?}:\n{logs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn data_action_logs_hold_no_token_and_no_customer_id() {
    let upstream = MockServer::start().await;
    Mock::given(method("GET")).and(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"name": CUSTOMER_NAME, "tier": "gold", "balance": 1}, "status": "active"})))
        .mount(&upstream).await;
    Mock::given(method("GET"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&upstream)
        .await;
    for route in ["ok", "down", "missing"] {
        let url = format!("{}/{route}", upstream.uri());
        let f = start(
            "data-action",
            &[
                ("EXTERNAL_API_URL", &url),
                ("EXTERNAL_API_TOKEN", UPSTREAM_TOKEN),
                ("EXTERNAL_API_ALLOW_HTTP", "true"),
                ("EXTERNAL_API_TIMEOUT", "1"),
            ],
        );
        for e in [
            json!({"customer_id": CUSTOMER_ID}),
            json!({"inputs": {"customer_id": CUSTOMER_ID, "locale": "not a locale!"}}),
            json!([CUSTOMER_ID]),
        ] {
            assert!(f.invoke(&e).ok);
        }
        assert_clean("data-action", &f.logs());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn enrich_logs_hold_no_client_secret_no_token_and_no_customer_name() {
    let genesys = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 86400}),
        ))
        .mount(&genesys)
        .await;
    let details = format!(
        "{{\"conversations\":[{}]}}",
        DETAILS.replace("John Doe", CUSTOMER_NAME)
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(details))
        .up_to_n_times(1)
        .mount(&genesys)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&genesys)
        .await;
    let aws = tokio::task::spawn_blocking(|| {
        let aws = test_support::aws::LocalAws::start(false);
        aws.create_table("conversations");
        let q = aws.create_queue("enrichment");
        let d = aws.create_queue("enrichment-dlq");
        (aws, q, d)
    })
    .await
    .unwrap();
    let (aws, queue, dlq) = aws;
    let uri = genesys.uri();
    let mut env: Vec<(String, String)> = aws.env();
    for (k, v) in [
        ("GENESYS_LOGIN_URL", uri.as_str()),
        ("GENESYS_API_URL", uri.as_str()),
        ("GENESYS_CLIENT_ID", "client-id"),
        ("GENESYS_CLIENT_SECRET", CLIENT_SECRET),
        ("STORE_RAW_DETAILS", "true"),
        ("DYNAMODB_TABLE_NAME", "conversations"),
        ("ENRICHMENT_QUEUE_URL", queue.as_str()),
        ("ENRICHMENT_DEAD_LETTER_QUEUE_URL", dlq.as_str()),
    ] {
        env.push((k.into(), v.into()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let f = start("enrich", &env);
    let request = json!({"requests": [{"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6", "eventId": "e",
        "eventType": "v2.detail.events.conversation.{id}.customer.end", "eventTime": 1, "firstQueuedAt": 1}]});
    assert_eq!(f.invoke(&request).body["enriched"], 1, "{}", f.logs());
    assert_eq!(
        f.invoke(&request).body["deadLettered"],
        1,
        "the 401 after a refresh"
    );
    assert_clean("enrich", &f.logs());
    tokio::task::spawn_blocking(move || drop(aws))
        .await
        .unwrap();
}

/// An event whose body carries a caller's name and number, as Genesys events do (`callbackUserName`,
/// `ani`).
fn event_with_pii(name: &str) -> Value {
    let mut e = event(name);
    e["detail"]["eventBody"]["callbackUserName"] = json!(CUSTOMER_NAME);
    e["detail"]["eventBody"]["ani"] = json!(format!("tel:{CUSTOMER_ID}"));
    e
}

#[test]
fn pipeline_function_logs_hold_no_customer_data() {
    let aws = test_support::aws::LocalAws::start(false);
    aws.create_table("conversations");
    let queue = aws.create_queue("q");
    let env: Vec<(String, String)> = aws.env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([
        (
            "STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:none",
        ),
        ("EVENT_DEAD_LETTER_QUEUE_URL", queue.as_str()),
        ("DYNAMODB_TABLE_NAME", "conversations"),
        ("ENRICHMENT_QUEUE_URL", queue.as_str()),
        ("DEAD_LETTER_QUEUE_URL", queue.as_str()),
    ]);
    let raw = event_with_pii("eventbridge/customer-end.json");
    let parsed = gcx_core::events::GenesysEvent::parse(raw.clone()).unwrap();
    let element = gcx_core::contract::PipelineEvent::from_event(&parsed).unwrap();
    let task = json!({"batch": {"events": [element, {"conversationId": CUSTOMER_ID}]}, "executionId": "arn:x"});
    let validated = validate::App::validate(task.clone());
    let process_task = json!({"batch": validated, "executionId": "arn:x"});
    let processed = process::App::new(process::Settings::from_env(&[("X", "")]).unwrap())
        .process(process_task.clone(), 1)
        .unwrap();
    let save_task = json!({"batch": processed, "executionId": "arn:x"});
    for (function, inputs) in [
        ("fanout", vec![raw.clone(), json!([raw]), json!("garbage")]),
        (
            "validate",
            vec![task, json!({"conversationId": CUSTOMER_ID})],
        ),
        (
            "process",
            vec![
                process_task,
                json!({"batch": {"events": [{"conversationId": CUSTOMER_ID}]}}),
            ],
        ),
        ("save", vec![save_task, json!({})]),
    ] {
        let f = start(function, &env);
        for i in &inputs {
            f.invoke(i);
        }
        assert_clean(function, &f.logs());
    }
}
