//! The upstream lookup: `GET {EXTERNAL_API_URL}?id=<id>&locale=<locale>`, bounded in time and size,
//! with at most one retry, classified into the contract's outcomes.
//!
//! Everything that can be prepared once is prepared in [`Upstream::new`] (parsed URL, header map with the
//! sensitive `Authorization` value, the shared client). Nothing here logs: reqwest's error text contains the
//! full URL with the customer id, so errors are reduced to fixed phrases ([`ActionError`]) right away.

use std::time::{Duration, Instant};

use gcx_core::config::ConfigError;
use gcx_core::http::{read_bounded, retry_after, BodyError};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};

use super::input::Request;
use super::settings::TOKEN_VAR;
use crate::error::ActionError;

/// Largest upstream body read; a larger one is an invalid response, and reading stops there.
pub const MAX_BODY: usize = 1024 * 1024;
/// At most this many requests per invocation: the first and one retry.
pub const MAX_ATTEMPTS: u32 = 2;
/// Wait before the retry when the upstream gave no `Retry-After`.
const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// A retry is only worth making if at least this much budget is left after its delay.
const MIN_RETRY_BUDGET: Duration = Duration::from_millis(100);
/// An error body is read (so the connection can be reused) only if it is this small...
const DRAIN_LIMIT: usize = 16 * 1024;
/// ...and arrives this fast; otherwise the connection is dropped.
const DRAIN_TIME: Duration = Duration::from_millis(50);

/// The prepared upstream: client (connection pool), base URL and headers, built once at init.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    timeout: Duration,
}

/// What one lookup did, for the answer and for the invocation's log line.
#[derive(Debug)]
pub struct Exchange {
    /// The 2xx body, or why there is none.
    pub outcome: Result<Vec<u8>, ActionError>,
    /// The last HTTP status received, if any.
    pub status: Option<u16>,
    /// Requests started (0 when the budget was gone before the first).
    pub attempts: u32,
    /// Time spent in requests (retry delay excluded).
    pub latency: Duration,
}

/// What one attempt leads to.
enum Step {
    /// Final: a body or an outcome that a retry would not change.
    Done(Result<Vec<u8>, ActionError>),
    /// Worth one retry, after the upstream's `Retry-After` if it gave one.
    Retry(ActionError, Option<Duration>),
}

impl Upstream {
    /// Prepares the upstream; the token goes into a sensitive header value and is never logged.
    pub fn new(
        client: reqwest::Client,
        url: reqwest::Url,
        token: Option<&SecretString>,
        timeout: Duration,
    ) -> Result<Upstream, ConfigError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = token {
            let bearer = SecretString::from(format!("Bearer {}", token.expose_secret()));
            let mut value = HeaderValue::from_str(bearer.expose_secret()).map_err(|_| {
                ConfigError::new(
                    TOKEN_VAR,
                    "contains characters that are not allowed in an HTTP header",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Upstream {
            client,
            url,
            headers,
            timeout,
        })
    }

    /// The request URL: the configured one with `id` and `locale` appended to its query, percent-encoded,
    /// so an id like `a&id=b#c` arrives as exactly one `id` parameter.
    pub fn request_url(&self, request: &Request) -> reqwest::Url {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("id", &request.customer_id)
            .append_pair("locale", &request.locale);
        url
    }

    /// Looks `request` up, finishing by `deadline` and within the configured timeout, whichever is first.
    /// One retry on 429/502/503/504 or a connection failure, only if `Retry-After` fits the budget left.
    pub async fn fetch(&self, request: &Request, deadline: Instant) -> Exchange {
        let url = self.request_url(request);
        let end = deadline.min(Instant::now() + self.timeout);
        let mut exchange = Exchange {
            outcome: Err(ActionError::ExternalApiTimeout),
            status: None,
            attempts: 0,
            latency: Duration::ZERO,
        };
        loop {
            let started = Instant::now();
            let budget = end.saturating_duration_since(started);
            if budget.is_zero() {
                exchange.outcome = Err(ActionError::ExternalApiTimeout);
                return exchange;
            }
            exchange.attempts += 1;
            let step = tokio::time::timeout(budget, self.attempt(&url, &mut exchange.status)).await;
            exchange.latency += started.elapsed();
            match step {
                Err(_elapsed) => {
                    exchange.outcome = Err(ActionError::ExternalApiTimeout);
                    return exchange;
                }
                Ok(Step::Done(outcome)) => {
                    exchange.outcome = outcome;
                    return exchange;
                }
                Ok(Step::Retry(error, retry_after)) => {
                    let delay = retry_after.unwrap_or(DEFAULT_RETRY_DELAY);
                    let left = end.saturating_duration_since(Instant::now());
                    if exchange.attempts >= MAX_ATTEMPTS || delay + MIN_RETRY_BUDGET > left {
                        exchange.outcome = Err(error);
                        return exchange;
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One request and its classification; `status` records the HTTP status as soon as it is known.
    async fn attempt(&self, url: &reqwest::Url, status: &mut Option<u16>) -> Step {
        let mut request = reqwest::Request::new(reqwest::Method::GET, url.clone());
        *request.headers_mut() = self.headers.clone();
        let response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(e) => return transport_failure(&e),
        };
        let code = response.status().as_u16();
        *status = Some(code);
        match code {
            200..=299 => Step::Done(match read_bounded(response, MAX_BODY).await {
                Ok(body) => Ok(body),
                Err(BodyError::TooLarge { .. }) => {
                    Err(ActionError::InvalidExternalResponse("body exceeds 1 MiB"))
                }
                Err(BodyError::Transport(e)) if e.is_timeout() => {
                    Err(ActionError::ExternalApiTimeout)
                }
                Err(BodyError::Transport(_)) => {
                    Err(ActionError::ExternalApi("body transfer failed"))
                }
            }),
            429 | 502..=504 => {
                let wait = retry_after(response.headers());
                drain(response).await;
                let why = if code == 429 {
                    "rate limited (429)"
                } else {
                    "upstream unavailable (502/503/504)"
                };
                Step::Retry(ActionError::ExternalApi(why), wait)
            }
            _ => {
                drain(response).await;
                Step::Done(Err(match code {
                    404 => ActionError::NotFound,
                    401 | 403 => {
                        ActionError::ExternalApi("upstream refused the credentials (401/403)")
                    }
                    500..=599 => ActionError::ExternalApi("upstream server error (5xx)"),
                    // Our request was rejected (400, 405, 410, 422, ...) or redirected somewhere reqwest would
                    // not follow: a bug or a misconfigured URL on this side, not an upstream outage.
                    400..=499 => ActionError::Internal("upstream rejected the request (4xx)"),
                    _ => ActionError::Internal("unexpected upstream status (1xx/3xx)"),
                }))
            }
        }
    }
}

/// Classifies a failure before any response, without keeping reqwest's text (it contains the URL).
fn transport_failure(e: &reqwest::Error) -> Step {
    if e.is_timeout() {
        Step::Done(Err(ActionError::ExternalApiTimeout))
    } else if e.is_redirect() {
        Step::Done(Err(ActionError::ExternalApi("too many redirects")))
    } else if e.is_connect() {
        Step::Retry(ActionError::ExternalApi("connection failed"), None)
    } else {
        // Reset or closed before a response: a GET is safe to send again.
        Step::Retry(ActionError::ExternalApi("request failed"), None)
    }
}

/// Reads a small error body so the connection goes back to the pool; gives up quickly otherwise.
async fn drain(response: reqwest::Response) {
    if response
        .content_length()
        .is_some_and(|n| n <= DRAIN_LIMIT as u64)
    {
        let _ = tokio::time::timeout(DRAIN_TIME, read_bounded(response, DRAIN_LIMIT)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(url: &str, token: Option<&str>) -> Upstream {
        let token = token.map(|t| SecretString::from(t.to_owned()));
        let client = gcx_core::http::client("test", Duration::from_secs(1));
        Upstream::new(
            client,
            url.parse().unwrap(),
            token.as_ref(),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    fn req(id: &str) -> Request {
        Request {
            customer_id: id.into(),
            locale: "en-US".into(),
        }
    }

    #[test]
    fn query_values_are_percent_encoded_and_appended() {
        let u = upstream("https://api.example.com/v1/user-info", None);
        let url = u.request_url(&req("a&id=b#c"));
        assert_eq!(
            url.as_str(),
            "https://api.example.com/v1/user-info?id=a%26id%3Db%23c&locale=en-US"
        );
        let ids: Vec<_> = url
            .query_pairs()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(ids, ["a&id=b#c"]);
        assert_eq!(url.fragment(), None);

        let u = upstream("https://api.example.com/v1/user-info?apiVersion=2", None);
        assert_eq!(
            u.request_url(&req("1 2")).query(),
            Some("apiVersion=2&id=1+2&locale=en-US")
        );
    }

    #[test]
    fn the_authorization_header_is_sensitive_and_optional() {
        let u = upstream("http://h/", Some("s3cr3t"));
        let auth = u.headers.get(AUTHORIZATION).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.as_bytes(), b"Bearer s3cr3t");
        assert!(!format!("{u:?}").contains("s3cr3t"));
        assert!(upstream("http://h/", None)
            .headers
            .get(AUTHORIZATION)
            .is_none());
        assert_eq!(
            upstream("http://h/", None).headers.get(ACCEPT).unwrap(),
            "application/json"
        );
    }

    #[test]
    fn tokens_that_cannot_be_headers_are_config_errors_without_the_token() {
        let client = gcx_core::http::client("test", Duration::from_secs(1));
        let token = SecretString::from("bad\ntoken".to_owned());
        let err = Upstream::new(
            client,
            "http://h/".parse().unwrap(),
            Some(&token),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err.variable, TOKEN_VAR);
        assert!(!err.to_string().contains("bad"));
    }

    #[tokio::test]
    async fn no_budget_means_timeout_without_a_request() {
        let u = upstream("http://127.0.0.1:9/", None);
        let ex = u.fetch(&req("1"), Instant::now()).await;
        assert_eq!(ex.outcome.unwrap_err(), ActionError::ExternalApiTimeout);
        assert_eq!(ex.attempts, 0);
    }
}
