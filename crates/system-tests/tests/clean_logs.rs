//! Runs every function binary through the Lambda Runtime API at TRACE level, across success and failure
//! paths, captures everything it prints, and finds no secret (client secret, bearer or access token) and
//! no raw customer id or customer name.

use serde_json::{json, Value};
use test_support::moto::MotoServer;
use test_support::{binary_path, FunctionProcess};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_SECRET: &str = "client-secret-7f3a9c";
const ACCESS_TOKEN: &str = "access-token-55e1d0";
const UPSTREAM_TOKEN: &str = "upstream-bearer-91bb2e";
const CUSTOMER_ID: &str = "cust-8675309";
const CUSTOMER_NAME: &str = "Jolene Quartermaine";
const DETAILS: &str =
    include_str!("../../core/tests/fixtures/analytics_conversation_details_1.json");

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
async fn process_logs_hold_no_client_secret_and_no_token() {
    let genesys = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 86400}),
        ))
        .mount(&genesys)
        .await;
    let details = DETAILS.replace("John Doe", CUSTOMER_NAME);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(details))
        .up_to_n_times(1)
        .mount(&genesys)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&genesys)
        .await;
    let uri = genesys.uri();
    let f = start(
        "process",
        &[
            ("GENESYS_LOGIN_URL", &uri),
            ("GENESYS_API_URL", &uri),
            ("GENESYS_CLIENT_ID", "client-id"),
            ("GENESYS_CLIENT_SECRET", CLIENT_SECRET),
            ("STORE_RAW_DETAILS", "true"),
        ],
    );
    let mut input = event("pipeline/process-input.json");
    input["conversationId"] = json!("1bc96a39-6725-40c4-9345-db72aa67b8c6");
    input["eventType"] = json!("v2.detail.events.conversation.{id}.customer.end");
    assert!(f.invoke(&input).ok, "{}", f.logs());
    assert_eq!(
        f.invoke(&input).error_type.as_deref(),
        Some("Genesys.AuthFailed")
    );
    assert_clean("process", &f.logs());
}

#[test]
fn pipeline_function_logs_hold_no_customer_data() {
    let moto = MotoServer::start();
    let env: Vec<(String, String)> = moto.env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push((
        "STATE_MACHINE_ARN",
        "arn:aws:states:us-east-1:123456789012:stateMachine:none",
    ));
    env.push(("DYNAMODB_TABLE_NAME", "no-table"));
    let mut with_name = event("pipeline/save-input.json");
    with_name["record"]["customerParticipantName"] = json!(CUSTOMER_NAME);
    for (function, inputs) in [
        (
            "fanout",
            vec![event("eventbridge/customer-end.json"), json!("garbage")],
        ),
        (
            "validate",
            vec![
                event("pipeline/validate-input.json"),
                json!({"conversationId": CUSTOMER_ID}),
            ],
        ),
        ("save", vec![with_name, json!({})]),
    ] {
        let f = start(function, &env);
        for i in &inputs {
            f.invoke(i);
        }
        assert_clean(function, &f.logs());
    }
}
