//! The built `data-action` binary under the Lambda Runtime API emulator (`test_support`), against a real
//! HTTP upstream on loopback (wiremock, or a raw stand-in where wiremock cannot help). One process per
//! test, so tests are independent and run in parallel.

mod common;

use std::time::Duration;

use common::{
    answered, closed_port_url, endless_chunked, failed_with, invocation_lines, keep_alive_ok,
    last_line, start, RawServer,
};
use gcx_core::redact::pii_ref;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PATH: &str = "/v1/user-info";

fn seed_body() -> Value {
    json!({"data": {"name": "John Doe", "tier": "gold", "balance": 150.00}, "status": "active"})
}

async fn upstream() -> (MockServer, String) {
    let server = MockServer::start().await;
    let url = format!("{}{PATH}", server.uri());
    (server, url)
}

fn ok_with(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Any GET on the path.
fn any_lookup() -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path(PATH))
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/* ------------------------------------------ success ------------------------------------------ */

#[tokio::test(flavor = "multi_thread")]
async fn maps_the_upstream_answer() {
    let (server, url) = upstream().await;
    any_lookup()
        .and(query_param("id", "12345"))
        .and(query_param("locale", "en-US"))
        .and(header("accept", "application/json"))
        .respond_with(ok_with(seed_body()))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    let r = f.invoke(&json!({"customer_id": "12345", "locale": "en-US"}));
    assert_eq!(
        answered(&r),
        &json!({
            "success": true, "customer_name": "John Doe", "customer_tier": "gold", "customer_balance": 150.0,
            "account_status": "active", "message": "", "error": ""
        })
    );
    let line = last_line(&f);
    assert_eq!(
        (
            line["outcome"].as_str(),
            line["upstream_status"].as_u64(),
            line["attempts"].as_u64()
        ),
        (Some("ok"), Some(200), Some(1))
    );
    assert_eq!(line["customer_ref"], pii_ref("12345"));
    assert!(line["upstream_latency_ms"].is_number());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_fields_take_the_defaults_and_locale_defaults_to_en_us() {
    let (server, url) = upstream().await;
    any_lookup()
        .and(query_param("locale", "en-US"))
        .respond_with(ok_with(json!({"data": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    let r = f.invoke(&json!({"customer_id": "1"}));
    assert_eq!(
        answered(&r),
        &json!({
            "success": true, "customer_name": "Unknown", "customer_tier": "standard", "customer_balance": 0.0,
            "account_status": "unknown", "message": "", "error": ""
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn numeric_string_balances_are_numbers() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ok_with(
            json!({"data": {"balance": "150.25"}, "status": "active"}),
        ))
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    let body = answered(&f.invoke(&json!({"customer_id": "1"}))).clone();
    assert_eq!(body["customer_balance"], json!(150.25));
    assert_eq!(body["success"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn numeric_ids_and_the_seed_000_wrapper_are_accepted() {
    let (server, url) = upstream().await;
    any_lookup()
        .and(query_param("id", "12345"))
        .and(query_param("locale", "fr-CA"))
        .respond_with(ok_with(seed_body()))
        .expect(2)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    assert_eq!(
        answered(&f.invoke(&json!({"customer_id": 12345, "locale": "fr-CA"})))["success"],
        true
    );
    assert_eq!(
        answered(&f.invoke(&json!({"inputs": {"customer_id": "12345", "locale": "fr-CA"}})))
            ["success"],
        true
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_with_url_syntax_arrive_as_exactly_one_id_parameter() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ok_with(seed_body()))
        .expect(1)
        .mount(&server)
        .await;
    // The configured URL's own query is kept.
    let f = start(&format!("{url}?apiVersion=2"), &[]);
    assert_eq!(
        answered(&f.invoke(&json!({"customer_id": "a&id=b#c"})))["success"],
        true
    );
    let requests = received(&server).await;
    let pairs: Vec<(String, String)> = requests[0]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(ids, ["a&id=b#c"]);
    assert!(
        pairs.contains(&("apiVersion".into(), "2".into())),
        "{pairs:?}"
    );
    assert!(
        pairs.contains(&("locale".into(), "en-US".into())),
        "{pairs:?}"
    );
    assert_eq!(requests[0].url.fragment(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bearer_token_is_sent_only_when_configured() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ok_with(seed_body()))
        .expect(2)
        .mount(&server)
        .await;
    let with = start(&url, &[("EXTERNAL_API_TOKEN", "tok-S3CRET-42")]);
    assert_eq!(
        answered(&with.invoke(&json!({"customer_id": "1"})))["success"],
        true
    );
    let without = start(&url, &[]);
    assert_eq!(
        answered(&without.invoke(&json!({"customer_id": "1"})))["success"],
        true
    );
    let auth: Vec<Option<String>> = received(&server)
        .await
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert!(
        auth.contains(&Some("Bearer tok-S3CRET-42".into())),
        "{auth:?}"
    );
    assert!(auth.contains(&None), "{auth:?}");
    assert!(!with.logs().contains("S3CRET"));
}

/* ---------------------------------------- upstream says no ---------------------------------------- */

#[tokio::test(flavor = "multi_thread")]
async fn not_found() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    failed_with(&f.invoke(&json!({"customer_id": "1"})), "NotFound");
    assert_eq!(last_line(&f)["upstream_status"], 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_and_forbidden_are_external_api_errors_without_retry() {
    for status in [401, 403] {
        let (server, url) = upstream().await;
        any_lookup()
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let f = start(&url, &[("EXTERNAL_API_TOKEN", "t")]);
        failed_with(&f.invoke(&json!({"customer_id": "1"})), "ExternalApiError");
        assert_eq!(last_line(&f)["upstream_status"], status);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_not_retried() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    failed_with(&f.invoke(&json!({"customer_id": "1"})), "ExternalApiError");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_client_errors_and_redirects_are_internal_errors() {
    for status in [400, 422, 304] {
        let (server, url) = upstream().await;
        any_lookup()
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let f = start(&url, &[]);
        failed_with(
            &f.invoke(&json!({"customer_id": "1"})),
            "InternalServerError",
        );
    }
}

/* --------------------------------------------- retries --------------------------------------------- */

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_retried_once_honouring_retry_after() {
    for retry_after in ["0", "1"] {
        let (server, url) = upstream().await;
        any_lookup()
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", retry_after))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        any_lookup()
            .respond_with(ok_with(seed_body()))
            .expect(1)
            .mount(&server)
            .await;
        let f = start(&url, &[]);
        let r = f.invoke(&json!({"customer_id": "1"}));
        assert_eq!(answered(&r)["success"], true, "Retry-After: {retry_after}");
        if retry_after == "1" {
            assert!(
                r.elapsed >= Duration::from_secs(1),
                "waited {:?}",
                r.elapsed
            );
        }
        assert_eq!(last_line(&f)["attempts"], 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_beyond_the_budget_is_not_waited_for() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    let r = f.invoke(&json!({"customer_id": "1"}));
    failed_with(&r, "ExternalApiError");
    assert_eq!(last_line(&f)["attempts"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unavailable_is_retried_once() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    any_lookup()
        .respond_with(ok_with(seed_body()))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    assert_eq!(
        answered(&f.invoke(&json!({"customer_id": "1"})))["success"],
        true
    );

    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    failed_with(&f.invoke(&json!({"customer_id": "1"})), "ExternalApiError");
    assert_eq!(last_line(&f)["attempts"], 2);
}

#[test]
fn connection_refused_is_an_external_api_error_after_one_retry() {
    let f = start(&closed_port_url(), &[]);
    failed_with(&f.invoke(&json!({"customer_id": "1"})), "ExternalApiError");
    let line = last_line(&f);
    assert_eq!(line["attempts"], 2);
    assert!(line.get("upstream_status").is_none(), "{line}");
}

/* ------------------------------------------ time budget ------------------------------------------ */

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_upstream_times_out_at_external_api_timeout() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ok_with(seed_body()).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let f = start(&url, &[("EXTERNAL_API_TIMEOUT", "0.3")]);
    let r = f.invoke(&json!({"customer_id": "1"}));
    failed_with(&r, "ExternalApiTimeout");
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_answer_comes_before_a_deadline_shorter_than_the_timeout() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ok_with(seed_body()).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    let deadline = Duration::from_millis(600);
    let r = f.invoke_with_deadline(&json!({"customer_id": "1"}), deadline);
    failed_with(&r, "ExternalApiTimeout");
    assert!(r.elapsed < deadline, "answered after {:?}", r.elapsed);
}

/* ---------------------------------------- unusable bodies ---------------------------------------- */

#[tokio::test(flavor = "multi_thread")]
async fn unusable_bodies_are_invalid_external_responses() {
    let big = format!(
        "{{\"data\": {{\"name\": \"{}\"}}}}",
        "x".repeat(1024 * 1024 + 1)
    );
    let bodies: Vec<(&str, ResponseTemplate)> = vec![
        (
            "not json",
            ResponseTemplate::new(200).set_body_string("<html>oops</html>"),
        ),
        ("array", ok_with(json!([seed_body()]))),
        ("no data", ok_with(json!({"status": "active"}))),
        ("data not object", ok_with(json!({"data": "John"}))),
        ("bad balance", ok_with(json!({"data": {"balance": "lots"}}))),
        ("bool balance", ok_with(json!({"data": {"balance": true}}))),
        (
            "over 1 MiB",
            ResponseTemplate::new(200).set_body_raw(big.into_bytes(), "application/json"),
        ),
        ("empty", ResponseTemplate::new(200)),
    ];
    for (what, template) in bodies {
        let (server, url) = upstream().await;
        any_lookup()
            .respond_with(template)
            .expect(1)
            .mount(&server)
            .await;
        let f = start(&url, &[]);
        let r = f.invoke(&json!({"customer_id": "1"}));
        assert_eq!(
            answered(&r)["error"],
            "InvalidExternalResponse",
            "{what}: {}",
            r.body
        );
        failed_with(&r, "InvalidExternalResponse");
    }
}

#[test]
fn an_endless_chunked_body_is_cut_at_1_mib() {
    let server = RawServer::start(endless_chunked);
    let f = start(&server.url(), &[]);
    failed_with(
        &f.invoke(&json!({"customer_id": "1"})),
        "InvalidExternalResponse",
    );
    let rss = f.peak_rss_kb().unwrap_or(0);
    assert!(rss < 64 * 1024, "the body was buffered: peak RSS {rss} KiB");
}

/* ------------------------------------------- validation ------------------------------------------- */

#[tokio::test(flavor = "multi_thread")]
async fn invalid_events_are_rejected_without_calling_upstream() {
    let (server, url) = upstream().await;
    Mock::given(method("GET"))
        .respond_with(ok_with(seed_body()))
        .expect(0)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    let events = [
        json!({}),
        json!({"customer_id": null}),
        json!({"customer_id": ""}),
        json!({"customer_id": "   "}),
        json!({"customer_id": "x".repeat(129)}),
        json!({"customer_id": "12\u{0}3"}),
        json!({"customer_id": true}),
        json!({"customer_id": "1", "locale": "not a locale"}),
        json!({"customer_id": "1", "locale": 7}),
        json!({"inputs": {"customer_id": ""}}),
        json!([{"customer_id": "1"}]),
        json!("12345"),
        json!(12345),
        Value::Null,
    ];
    for event in &events {
        let message = failed_with(&f.invoke(event), "ValidationError");
        assert!(!message.contains("12"), "{message}");
    }
    assert_eq!(invocation_lines(&f).len(), events.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_payloads_non_json_fails_in_the_runtime_and_large_objects_are_answered() {
    let (server, url) = upstream().await;
    any_lookup()
        .and(query_param("id", "7"))
        .respond_with(ok_with(seed_body()))
        .expect(1)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    // Lambda's Invoke API rejects non-JSON payloads before they reach a function; if one ever did, the
    // runtime (not the handler) fails the invocation, and the function keeps serving.
    let r = f.invoke_raw(b"customer_id=7", Duration::from_secs(5));
    assert!(!r.ok, "{r:?}");
    assert!(!f.logs().contains("customer_id=7"));
    let padding = "p".repeat(5 * 1024 * 1024);
    let big = serde_json::to_vec(&json!({"customer_id": "7", "notes": padding})).unwrap();
    let r = f.invoke_raw(&big, Duration::from_secs(5));
    assert_eq!(answered(&r)["success"], true);
}

/* ----------------------------------------------- init ----------------------------------------------- */

#[test]
fn a_missing_or_invalid_url_fails_init_naming_the_variable() {
    for url in ["", "not a url", "ftp://example.com/x"] {
        let f = start(url, &[]);
        let error = f
            .init_error()
            .unwrap_or_else(|| panic!("init should fail for {url:?}"));
        let diagnostic: Value = serde_json::from_str(&error).unwrap_or_else(|_| panic!("{error}"));
        assert_eq!(diagnostic["errorType"], "Config.Invalid");
        assert!(
            diagnostic["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains("EXTERNAL_API_URL"),
            "{error}"
        );
        let logs = f.logs();
        assert_eq!(logs.lines().count(), 1, "one JSON line: {logs}");
        let line: Value = serde_json::from_str(logs.trim()).expect("the init failure line is JSON");
        assert!(line["variable"] == "EXTERNAL_API_URL", "{line}");
        let r = f.invoke(&json!({"customer_id": "1"}));
        assert!(!r.ok);
    }
}

#[test]
fn other_bad_settings_fail_init_naming_the_variable() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("EXTERNAL_API_TIMEOUT", "soon")], "EXTERNAL_API_TIMEOUT"),
        (
            &[
                ("EXTERNAL_API_TOKEN", "t"),
                ("EXTERNAL_API_TOKEN_SECRET_ARN", "arn:x"),
            ],
            "EXTERNAL_API_TOKEN_SECRET_ARN",
        ),
        (
            &[("EXTERNAL_API_TOKEN", "tok\u{1}en")],
            "EXTERNAL_API_TOKEN",
        ),
    ];
    for (env, variable) in cases {
        let f = start("http://127.0.0.1:9/x", env);
        let error = f
            .init_error()
            .unwrap_or_else(|| panic!("init should fail for {env:?}"));
        assert!(error.contains(variable), "{error}");
        assert!(!f.logs().contains("tok\u{1}en"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_secret_is_read_once_at_init() {
    let secrets = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:api-token","Name":"api-token","SecretString":"tok-from-secret\n"}"#,
            "application/x-amz-json-1.1",
        ))
        .expect(1)
        .mount(&secrets)
        .await;
    let (server, url) = upstream().await;
    any_lookup()
        .and(header("authorization", "Bearer tok-from-secret"))
        .respond_with(ok_with(seed_body()))
        .expect(2)
        .mount(&server)
        .await;
    let f = start(
        &url,
        &[
            (
                "EXTERNAL_API_TOKEN_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-token",
            ),
            ("AWS_ENDPOINT_URL", &secrets.uri()),
        ],
    );
    for _ in 0..2 {
        assert_eq!(
            answered(&f.invoke(&json!({"customer_id": "1"})))["success"],
            true
        );
    }
    assert!(!f.logs().contains("tok-from-secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_token_secret_fails_init_naming_the_variable() {
    let secrets = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&secrets)
        .await;
    let f = start(
        "http://127.0.0.1:9/x",
        &[
            (
                "EXTERNAL_API_TOKEN_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope",
            ),
            ("AWS_ENDPOINT_URL", &secrets.uri()),
        ],
    );
    let error = f.init_error().expect("init should fail");
    assert!(error.contains("EXTERNAL_API_TOKEN_SECRET_ARN"), "{error}");
    assert!(error.contains("Config.Invalid"), "{error}");
}

/* ---------------------------------------- runtime behaviour ---------------------------------------- */

#[test]
fn connections_are_reused_across_invocations() {
    let server = RawServer::start(keep_alive_ok);
    let f = start(&server.url(), &[]);
    for _ in 0..3 {
        assert_eq!(
            answered(&f.invoke(&json!({"customer_id": "1"})))["customer_name"],
            "Keep Alive"
        );
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_never_hold_the_id_the_token_or_the_url_and_have_one_line_per_invocation() {
    let id = "cust-9876543-private";
    let token = "tok-V3RY-S3CRET";
    let (server, url) = upstream().await;
    let respond = |locale: &str, template: ResponseTemplate| {
        any_lookup()
            .and(query_param("locale", locale))
            .respond_with(template)
    };
    respond("en-US", ok_with(seed_body())).mount(&server).await;
    respond("en-GB", ResponseTemplate::new(404))
        .mount(&server)
        .await;
    respond("en-AU", ResponseTemplate::new(503))
        .mount(&server)
        .await;
    respond("en-CA", ResponseTemplate::new(200).set_body_string("nope"))
        .mount(&server)
        .await;
    respond("en-IE", ResponseTemplate::new(400))
        .mount(&server)
        .await;
    respond(
        "en-NZ",
        ok_with(seed_body()).set_delay(Duration::from_secs(2)),
    )
    .mount(&server)
    .await;
    let f = start(
        &url,
        &[
            ("EXTERNAL_API_TOKEN", token),
            ("EXTERNAL_API_TIMEOUT", "0.3"),
            ("AWS_LAMBDA_LOG_LEVEL", "trace"),
        ],
    );
    let cases = [
        ("en-US", "ok"),
        ("en-GB", "NotFound"),
        ("en-AU", "ExternalApiError"),
        ("en-CA", "InvalidExternalResponse"),
        ("en-IE", "InternalServerError"),
        ("en-NZ", "ExternalApiTimeout"),
        ("bad locale", "ValidationError"),
    ];
    for (locale, _) in cases {
        f.invoke(&json!({"customer_id": id, "locale": locale}));
    }
    f.invoke(&json!({"customer_id": format!("{id}-{}", "x".repeat(200))}));
    f.invoke(&json!(id));

    let logs = f.logs();
    for secret in [id, token, "id=cust", PATH, "9876543"] {
        assert!(!logs.contains(secret), "logs contain {secret:?}:\n{logs}");
    }
    let lines = invocation_lines(&f);
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or("?"))
        .collect();
    let mut expected: Vec<&str> = cases.iter().map(|(_, outcome)| *outcome).collect();
    expected.extend(["ValidationError", "ValidationError"]);
    assert_eq!(outcomes, expected);
    for line in &lines[..cases.len()] {
        assert_eq!(line["customer_ref"], pii_ref(id), "{line}");
    }
    for line in logs.lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
}

/// Figures for the report; nothing is asserted about speed (the debug build on a shared machine).
#[test]
fn reports_init_time_memory_and_warm_latency() {
    let server = RawServer::start(keep_alive_ok);
    let f = start(&server.url(), &[]);
    let init = f.init_duration().expect("init");
    let mut warm: Vec<Duration> = (0..50)
        .map(|_| f.invoke(&json!({"customer_id": "1"})).elapsed)
        .collect();
    warm.sort_unstable();
    eprintln!(
        "data-action (this build): init {:?}, warm median {:?} (min {:?}, max {:?}), peak RSS {:?} KiB",
        init,
        warm[warm.len() / 2],
        warm[0],
        warm[warm.len() - 1],
        f.peak_rss_kb()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_log_line_of_an_invocation_carries_its_request_id() {
    let (server, url) = upstream().await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ok_with(seed_body()))
        .mount(&server)
        .await;
    let f = start(&url, &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
    for event in [json!({"customer_id": "12345"}), json!({"customer_id": " "})] {
        let out = f.invoke(&event);
        let line = f.assert_logged_with_request_id(&out);
        assert_eq!(line["function"], "data-action");
    }
}

/* ------------------------------------- several actions ------------------------------------- */

#[tokio::test(flavor = "multi_thread")]
async fn the_action_field_routes_and_an_unknown_name_lists_the_served_actions() {
    let (server, url) = upstream().await;
    any_lookup()
        .and(query_param("id", "12345"))
        .respond_with(ok_with(seed_body()))
        .expect(2)
        .mount(&server)
        .await;
    let f = start(&url, &[]);
    // The request template's form, and the flat form with the name.
    for event in [
        json!({"action": "customer-lookup", "inputs": {"customer_id": "12345"}}),
        json!({"action": " customer-lookup ", "customer_id": "12345"}),
    ] {
        assert_eq!(answered(&f.invoke(&event))["success"], true, "{event}");
    }
    // Unknown names (recent-contact included: this function has no TABLE_NAME) and names that are not
    // text: the default action's full shape, a ValidationError naming what is served, no upstream call.
    for action in [
        json!("customer_lookup"),
        json!("recent-contact"),
        json!(""),
        json!(7),
        json!({"name": "customer-lookup"}),
        json!("<script>".repeat(100)),
    ] {
        let r = f.invoke(&json!({"action": action, "customer_id": "12345"}));
        let message = failed_with(&r, "ValidationError");
        assert_eq!(
            message, "Unknown action. This function serves: customer-lookup.",
            "{action}"
        );
        let line = last_line(&f);
        assert_eq!(line["action"], "unknown");
        assert!(!f.logs().contains("<script>"), "the name is not echoed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_action_answers_a_repeat_from_memory_and_says_so() {
    let (server, url) = upstream().await;
    any_lookup()
        .respond_with(ok_with(seed_body()))
        .mount(&server)
        .await;
    any_lookup()
        .and(query_param("id", "missing"))
        .respond_with(ResponseTemplate::new(404))
        .with_priority(1)
        .mount(&server)
        .await;
    let f = start(
        &url,
        &[("CACHE_ACTIONS", "customer-lookup"), ("CACHE_TTL", "60")],
    );
    let first = f.invoke(&json!({"customer_id": "12345"}));
    assert_eq!(last_line(&f)["cache"], "miss");
    let second = f.invoke(&json!({"customer_id": "12345", "locale": "en-US"}));
    assert_eq!(last_line(&f)["cache"], "hit");
    assert_eq!(last_line(&f)["attempts"], 0);
    assert_eq!(answered(&first), answered(&second));
    // Another locale is another key; a failure is never cached.
    f.invoke(&json!({"customer_id": "12345", "locale": "fr-FR"}));
    assert_eq!(last_line(&f)["cache"], "miss");
    for _ in 0..2 {
        failed_with(&f.invoke(&json!({"customer_id": "missing"})), "NotFound");
        assert_eq!(last_line(&f)["cache"], "miss");
    }
    assert_eq!(
        received(&server).await.len(),
        4,
        "12345 twice (two locales), missing twice"
    );

    // Off by default: no cache field, every call goes upstream.
    let uncached = start(&url, &[]);
    uncached.invoke(&json!({"customer_id": "12345"}));
    uncached.invoke(&json!({"customer_id": "12345"}));
    assert!(last_line(&uncached).get("cache").is_none());
    assert_eq!(received(&server).await.len(), 6);
}
