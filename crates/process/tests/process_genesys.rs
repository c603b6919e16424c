//! The built `process` binary, run through the Lambda Runtime API, against a Genesys Cloud stand-in on
//! loopback (wiremock) serving the real analytics sample and its variants.

use std::time::Duration;

use serde_json::{json, Value};
use test_support::FunctionProcess;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CONVERSATION: &str = "1bc96a39-6725-40c4-9345-db72aa67b8c6";
const DETAILS_PATH: &str =
    "/api/v2/analytics/conversations/1bc96a39-6725-40c4-9345-db72aa67b8c6/details";
const DETAILS: &str =
    include_str!("../../core/tests/fixtures/analytics_conversation_details_1.json");
const SECRET: &str = "s3cret-client-value";
const TOKEN: &str = "access-token-abc123";

fn input(topic: &str) -> Value {
    let mut s: Value =
        serde_json::from_str(include_str!("../../../events/pipeline/process-input.json")).unwrap();
    s["conversationId"] = json!(CONVERSATION);
    s["eventType"] = json!(format!("v2.detail.events.conversation.{{id}}.{topic}"));
    s
}

async fn genesys() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400}),
        ))
        .mount(&server)
        .await;
    server
}

fn process(server: &MockServer, extra: &[(&str, &str)]) -> FunctionProcess {
    let uri = server.uri();
    let mut env = vec![
        ("GENESYS_ENV", "mypurecloud.com"),
        ("GENESYS_LOGIN_URL", uri.as_str()),
        ("GENESYS_API_URL", uri.as_str()),
        ("GENESYS_CLIENT_ID", "client-id"),
        ("GENESYS_CLIENT_SECRET", SECRET),
        ("GENESYS_TIMEOUT", "1"),
    ];
    env.extend_from_slice(extra);
    FunctionProcess::start(env!("CARGO_BIN_EXE_process"), &env)
}

/// The details endpoint, answering only requests that carry the issued token.
fn details(response: ResponseTemplate) -> Mock {
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(response)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enriched_topic_maps_the_real_analytics_sample() {
    let server = genesys().await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string(DETAILS))
        .expect(1)
        .mount(&server)
        .await;
    let f = process(&server, &[]);
    let out = f.invoke(&input("customer.end"));
    assert!(out.ok, "{out:?}\n{}", f.logs());
    let r = &out.body;
    assert_eq!(r["conversationId"], CONVERSATION);
    assert_eq!(r["conversationStart"], "2021-04-01T12:27:53.386Z");
    assert_eq!(r["conversationEnd"], "2021-04-01T12:43:23.306Z");
    assert_eq!(r["durationMs"], 929_920);
    assert_eq!(r["mediaType"], "chat");
    assert_eq!(r["originatingDirection"], "inbound");
    assert_eq!(
        r["divisionIds"],
        json!(["1b6b98a6-3d70-47be-9406-61a5aa8cc570"])
    );
    assert_eq!(
        r["queueIds"],
        json!(["a623d83c-96d7-4baa-af1f-d46ad6700d8b"])
    );
    assert_eq!(r["customerParticipantName"], "John Doe");
    assert_eq!(
        r["agents"][0]["userId"],
        "50fcd33c-f432-4726-abc9-979f3ca01555"
    );
    assert_eq!(
        r["lastEventType"],
        "v2.detail.events.conversation.{id}.customer.end"
    );
    assert_eq!(r["enriched"], true);
    assert!(r.get("rawDetails").is_none());
    let logs = f.logs();
    assert!(!logs.contains(SECRET) && !logs.contains(TOKEN), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_topics_are_recorded_from_the_event_without_calling_genesys() {
    let server = genesys().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let f = process(&server, &[]);
    let out = f.invoke(&input("customer.start"));
    assert!(out.ok, "{out:?}");
    assert_eq!(out.body["enriched"], false);
    assert_eq!(out.body["conversationStart"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_details_are_kept_only_when_asked() {
    let server = genesys().await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string(DETAILS))
        .mount(&server)
        .await;
    let f = process(
        &server,
        &[
            ("STORE_RAW_DETAILS", "true"),
            ("ENRICH_TOPICS", "customer.start"),
        ],
    );
    let out = f.invoke(&input("customer.start"));
    assert_eq!(
        out.body["rawDetails"],
        serde_json::from_str::<Value>(DETAILS).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_fields_still_give_a_record() {
    let server = genesys().await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"conversationId": CONVERSATION, "participants": [{"purpose": "agent"}]}),
        ))
        .mount(&server)
        .await;
    let out = process(&server, &[]).invoke(&input("acw"));
    assert!(out.ok, "{out:?}");
    assert_eq!(out.body["durationMs"], Value::Null);
    assert_eq!(out.body["enriched"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn genesys_failures_raise_their_error_kinds() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "not found", "code": "not.found", "status": 404})),
            "Genesys.NotYetAvailable",
        ),
        (
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_json(json!({"code": "too.many.requests", "status": 429})),
            "Genesys.RateLimited",
        ),
        (ResponseTemplate::new(503), "Genesys.Unavailable"),
        (ResponseTemplate::new(500), "Genesys.Unavailable"),
        (
            ResponseTemplate::new(200).set_body_string("{\"conversationId\": 12"),
            "Genesys.BadResponse",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_string(DETAILS)
                .set_delay(Duration::from_secs(3)),
            "Genesys.Unavailable",
        ),
        (ResponseTemplate::new(403), "Genesys.AuthFailed"),
    ];
    for (response, want) in cases {
        let server = genesys().await;
        Mock::given(method("GET"))
            .and(path(DETAILS_PATH))
            .respond_with(response)
            .mount(&server)
            .await;
        let f = process(&server, &[]);
        let out = f.invoke(&input("customer.end"));
        assert!(!out.ok, "{want}: {out:?}");
        assert_eq!(out.error_type.as_deref(), Some(want), "{out:?}");
        assert!(!f.logs().contains(SECRET));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_retry_after_is_waited_out_once_in_function() {
    let server = genesys().await;
    details(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    details(ResponseTemplate::new(200).set_body_string(DETAILS))
        .expect(1)
        .mount(&server)
        .await;
    let out = process(&server, &[]).invoke(&input("customer.end"));
    assert!(out.ok, "{out:?}");
    assert_eq!(out.body["enriched"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_client_credentials_are_auth_failed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "description": "bad", "error_description": "bad"}),
        ))
        .mount(&server)
        .await;
    let f = process(&server, &[]);
    let out = f.invoke(&input("acw"));
    assert_eq!(
        out.error_type.as_deref(),
        Some("Genesys.AuthFailed"),
        "{out:?}"
    );
    assert!(!f.logs().contains(SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_that_is_not_an_execution_input_is_invalid_input() {
    let server = genesys().await;
    let f = process(&server, &[]);
    for bad in [
        json!({}),
        json!("x"),
        json!({"conversationId": CONVERSATION, "eventId": "e", "eventType": "v2.audits.entitytype.{id}.entityid.{id}", "eventTime": 1, "detail": {}}),
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
fn configuration_errors_name_the_variable() {
    for (env, variable) in [
        (
            vec![
                ("GENESYS_ENV", "mars-1"),
                ("GENESYS_CLIENT_ID", "a"),
                ("GENESYS_CLIENT_SECRET", "b"),
            ],
            "GENESYS_ENV",
        ),
        (vec![("GENESYS_CLIENT_ID", "a")], "GENESYS_CLIENT_SECRET"),
        (
            vec![
                ("GENESYS_CLIENT_ID", "a"),
                ("GENESYS_CLIENT_SECRET", "b"),
                ("ENRICH_TOPICS", "nope"),
            ],
            "ENRICH_TOPICS",
        ),
    ] {
        let f = FunctionProcess::start(env!("CARGO_BIN_EXE_process"), &env);
        let out = f.invoke(&json!({}));
        assert!(!out.ok);
        let said = format!("{}{}", f.init_error().unwrap_or_default(), f.logs());
        assert!(said.contains(variable), "{variable}: {said}");
    }
}
