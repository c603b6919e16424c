//! The Genesys client and token cache against a real HTTP server on loopback (wiremock) that speaks the
//! Genesys OAuth and analytics contracts: single-flight, expiry, the 401 refresh, the multi-get with
//! partial answers, the request budget, and every error kind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gcx_core::names::StableName;
use gcx_genesys::{
    Credentials, Endpoints, Fetched, GenesysClient, GenesysError, RateLimiter, TokenCache,
};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CONVERSATION: &str = "1bc96a39-6725-40c4-9345-db72aa67b8c6";
const OTHER: &str = "2f7bf00a-0fc2-4d6a-9b56-92238191433e";
const DETAILS_PATH: &str = "/api/v2/analytics/conversations/details";
const DETAILS: &str = include_str!("fixtures/analytics_conversation_details_1.json");

/// A multi-get answer holding the sample conversation.
fn multi_get() -> String {
    format!("{{\"conversations\":[{DETAILS}]}}")
}

async fn fetch(c: &GenesysClient, ids: &[&str]) -> Result<Fetched, GenesysError> {
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    c.conversations(&ids, Duration::from_secs(5)).await
}
/// `Basic base64("client-id:client-secret")`.
const BASIC: &str = "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=";

/// Issues `tok-1`, `tok-2`, ... so tests can tell tokens apart.
struct CountingTokens {
    issued: Arc<AtomicUsize>,
    expires_in: u64,
    delay: Duration,
}

impl Respond for CountingTokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": format!("tok-{n}"), "token_type": "bearer", "expires_in": self.expires_in}))
            .set_delay(self.delay)
    }
}

async fn token_endpoint(server: &MockServer, expires_in: u64, delay: Duration) -> Arc<AtomicUsize> {
    let issued = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(CountingTokens {
            issued: issued.clone(),
            expires_in,
            delay,
        })
        .mount(server)
        .await;
    issued
}

fn client(server: &MockServer) -> GenesysClient {
    client_with(server, None)
}

fn client_with(server: &MockServer, budget: Option<RateLimiter>) -> GenesysClient {
    let endpoints = Endpoints::from_env(&[
        ("GENESYS_ENV", "local"),
        ("GENESYS_LOGIN_URL", server.uri().as_str()),
        ("GENESYS_API_URL", server.uri().as_str()),
    ])
    .unwrap();
    let http = gcx_core::http::client("test", Duration::from_secs(2));
    GenesysClient::new(
        http,
        endpoints,
        Credentials::new("client-id", "client-secret"),
        Duration::from_secs(2),
        budget,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_callers_cause_exactly_one_token_request() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 86_400, Duration::from_millis(100)).await;
    let c = client(&server);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.tokens().token().await.map(|t| t.expose().to_owned()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "tok-1");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    assert_eq!(c.tokens().requests_sent(), 1);
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_it_expires() {
    let server = MockServer::start().await;
    // 2 s lifetime: the refresh margin (a tenth) makes it stale after 1.8 s.
    let issued = token_endpoint(&server, 2, Duration::ZERO).await;
    let c = client(&server);
    assert_eq!(c.tokens().token().await.unwrap().expose(), "tok-1");
    assert_eq!(c.tokens().token().await.unwrap().expose(), "tok-1");
    tokio::time::sleep(Duration::from_millis(1900)).await;
    assert_eq!(c.tokens().token().await.unwrap().expose(), "tok-2");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_invalidates_the_token_and_retries_once() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"message": "expired", "code": "bad.credentials", "status": 401}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string(multi_get()))
        .expect(1)
        .mount(&server)
        .await;
    let fetched = fetch(&client(&server), &[CONVERSATION]).await.unwrap();
    assert_eq!(fetched.found[0].0.conversation_id, CONVERSATION);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_401_is_auth_failed() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let e = fetch(&client(&server), &[CONVERSATION]).await.unwrap_err();
    assert_eq!(e.name(), "Genesys.AuthFailed");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bad_credentials_and_an_unavailable_token_endpoint_are_distinct() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "invalid_client", "description": "client not found", "error_description": "client not found"})))
        .up_to_n_times(1)
        .mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c.tokens().token().await.unwrap_err();
    assert_eq!(e.name(), "Genesys.AuthFailed");
    assert!(
        e.to_string().contains("invalid_client: client not found"),
        "{e}"
    );
    let e = c.tokens().token().await.unwrap_err();
    assert_eq!(e.name(), "Genesys.Unavailable");
    assert!(!e.to_string().contains("client-secret"));
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoints = Endpoints::from_env(&[
        (
            "GENESYS_LOGIN_URL",
            format!("http://127.0.0.1:{port}").as_str(),
        ),
        ("GENESYS_API_URL", "http://127.0.0.1:1"),
    ])
    .unwrap();
    let tokens = TokenCache::new(
        gcx_core::http::client("t", Duration::from_secs(1)),
        endpoints.token_url(),
        Credentials::new("a", "b"),
        Duration::from_secs(1),
        None,
    );
    assert_eq!(
        tokens.token().await.unwrap_err().name(),
        "Genesys.Unavailable"
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after_and_the_error_body() {
    let server = MockServer::start().await;
    token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET")).and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7").set_body_json(serde_json::json!({
            "message": "Rate limit exceeded the maximum. [300] requests for [60] seconds", "code": "too.many.requests", "status": 429, "contextId": "ctx-1"})))
        .mount(&server).await;
    match fetch(&client(&server), &[CONVERSATION]).await.unwrap_err() {
        GenesysError::RateLimited { retry_after, body } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
            assert_eq!(body.code.as_deref(), Some("too.many.requests"));
            assert_eq!(body.context_id.as_deref(), Some("ctx-1"));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn statuses_and_bodies_map_to_error_kinds() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (ResponseTemplate::new(500), "Genesys.Unavailable"),
        (ResponseTemplate::new(503), "Genesys.Unavailable"),
        (ResponseTemplate::new(403), "Genesys.AuthFailed"),
        (
            ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
            "Genesys.BadResponse",
        ),
        (
            ResponseTemplate::new(200).set_body_string("[]"),
            "Genesys.BadResponse",
        ),
        (ResponseTemplate::new(400), "Genesys.BadResponse"),
        (
            ResponseTemplate::new(200)
                .set_body_string(multi_get())
                .set_delay(Duration::from_secs(3)),
            "Genesys.Unavailable",
        ),
    ];
    for (response, want) in cases {
        let server = MockServer::start().await;
        token_endpoint(&server, 86_400, Duration::ZERO).await;
        Mock::given(method("GET"))
            .and(path(DETAILS_PATH))
            .respond_with(response)
            .mount(&server)
            .await;
        let e = fetch(&client(&server), &[CONVERSATION]).await.unwrap_err();
        assert_eq!(e.name(), want, "{e}");
    }
}

#[tokio::test]
async fn the_multi_get_asks_for_every_id_in_one_request_and_reports_the_missing() {
    let server = MockServer::start().await;
    token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .and(query_param("id", format!("{CONVERSATION},{OTHER}")))
        .respond_with(ResponseTemplate::new(200).set_body_string(multi_get()))
        .expect(1)
        .mount(&server)
        .await;
    let fetched = fetch(&client(&server), &[CONVERSATION, OTHER])
        .await
        .unwrap();
    assert_eq!(fetched.found.len(), 1);
    assert_eq!(fetched.found[0].1["conversationId"], CONVERSATION);
    assert_eq!(fetched.missing, [OTHER]);
}

#[tokio::test]
async fn nothing_indexed_yet_is_every_id_missing() {
    let server = MockServer::start().await;
    token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            serde_json::json!({"message": "not found", "code": "not.found", "status": 404}),
        ))
        .mount(&server)
        .await;
    let fetched = fetch(&client(&server), &[CONVERSATION, OTHER])
        .await
        .unwrap();
    assert!(fetched.found.is_empty());
    assert_eq!(fetched.missing, [CONVERSATION, OTHER]);
}

#[tokio::test]
async fn details_with_missing_and_unknown_fields_parse_and_a_bad_one_costs_only_itself() {
    let server = MockServer::start().await;
    token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET")).and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"conversations": [
            {"conversationId": CONVERSATION, "brandNew": {"x": 1}, "participants": [{"purpose": "customer", "sessions": null}]},
            {"conversationId": OTHER, "participants": "not a list"}]})))
        .mount(&server).await;
    let fetched = fetch(&client(&server), &[CONVERSATION, OTHER])
        .await
        .unwrap();
    assert_eq!(fetched.found.len(), 1);
    assert_eq!(fetched.found[0].0.participants.len(), 1);
    assert_eq!(fetched.unreadable.len(), 1);
    assert_eq!(fetched.missing, [OTHER]);
}

#[tokio::test]
async fn every_request_spends_the_budget_the_tokens_too() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string(multi_get()))
        .mount(&server)
        .await;
    let c = client_with(&server, Some(RateLimiter::per_minute(3)));
    fetch(&c, &[CONVERSATION]).await.unwrap();
    fetch(&c, &[CONVERSATION]).await.unwrap();
    let ids = vec![CONVERSATION.to_owned()];
    match c.conversations(&ids, Duration::ZERO).await.unwrap_err() {
        GenesysError::OverBudget { wait } => assert!(wait > Duration::from_secs(55), "{wait:?}"),
        other => panic!("expected OverBudget, got {other:?}"),
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_429_pauses_the_budget_for_its_retry_after() {
    let server = MockServer::start().await;
    token_endpoint(&server, 86_400, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(DETAILS_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let c = client_with(&server, Some(RateLimiter::per_minute(100)));
    assert_eq!(
        fetch(&c, &[CONVERSATION]).await.unwrap_err().name(),
        "Genesys.RateLimited"
    );
    let wait = c.budget().unwrap().wait();
    assert!(wait > Duration::from_secs(29), "{wait:?}");
}
