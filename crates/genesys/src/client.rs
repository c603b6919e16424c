//! The Genesys Cloud Platform API client: bearer auth from the [`TokenCache`], one refresh on 401, every
//! request within the budget ([`RateLimiter`]), answers mapped by [`super::response::classify`]. Built once
//! per container; clones share the connection pool, the token cache and the budget.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::auth::{Credentials, TokenCache};
use super::error::GenesysError;
use super::limiter::RateLimiter;
use super::models::MultiGet;
use super::region::Endpoints;
use super::response::{classify, Endpoint, Usable};
use gcx_core::http::read_bounded;

/// Largest API body read: a multi-get of 100 long conversations runs to a few MiB.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The Platform API client.
#[derive(Clone)]
pub struct GenesysClient {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    tokens: TokenCache,
    timeout: Duration,
    budget: Option<RateLimiter>,
    calls: Arc<Mutex<Vec<Call>>>,
}

/// One API request as it went: the HTTP status (0 when no answer came) and how long the exchange took
/// (the budget and token waits not included). The caller drains them for its metrics ([`GenesysClient::take_calls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The HTTP status; 0 for a timeout or a connection failure.
    pub status: u16,
    /// From sending the request to having the whole body.
    pub latency: Duration,
}

/// At most this many calls are kept between two drains (a caller that never drains keeps memory flat).
const MAX_KEPT_CALLS: usize = 1000;

/// What a multi-get answered, by conversation.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The conversations Genesys returned: the parsed details and the raw JSON.
    pub found: Vec<(super::models::ConversationDetails, serde_json::Value)>,
    /// Ids asked for and absent from the answer: not indexed yet.
    pub missing: Vec<String>,
    /// Elements of the answer that could not be read, with why.
    pub unreadable: Vec<String>,
}

impl GenesysClient {
    /// A client for `endpoints` with `credentials`, each request bounded by `timeout`; with a `budget`
    /// every request (the token's too) takes a slot of it first.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        credentials: Credentials,
        timeout: Duration,
        budget: Option<RateLimiter>,
    ) -> Self {
        let tokens = TokenCache::new(
            http.clone(),
            endpoints.token_url(),
            credentials,
            timeout,
            budget.clone(),
        );
        Self {
            http,
            endpoints: Arc::new(endpoints),
            tokens,
            timeout,
            budget,
            calls: Arc::default(),
        }
    }

    /// The API requests made since the last call, oldest first.
    pub fn take_calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .map(|mut calls| std::mem::take(&mut *calls))
            .unwrap_or_default()
    }

    fn note(&self, status: u16, started: Instant) {
        if let Ok(mut calls) = self.calls.lock() {
            if calls.len() < MAX_KEPT_CALLS {
                calls.push(Call {
                    status,
                    latency: started.elapsed(),
                });
            }
        }
    }

    /// The token cache (shared with clones).
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// The request budget, when there is one.
    pub fn budget(&self) -> Option<&RateLimiter> {
        self.budget.as_ref()
    }

    /// `GET /api/v2/analytics/conversations/details?id=a,b,...`: several conversations in one request.
    /// Waits up to `max_wait` for a slot of the budget; otherwise `Genesys.OverBudget`.
    pub async fn conversations(
        &self,
        ids: &[String],
        max_wait: Duration,
    ) -> Result<Fetched, GenesysError> {
        let mut url = self
            .endpoints
            .api_url(&["analytics", "conversations", "details"]);
        // Comma-separated, as the SDKs send it (`id=a,b,c`). Ids are UUIDs, so nothing needs escaping.
        url.set_query(Some(&format!("id={}", ids.join(","))));
        let body = match self.get(url, max_wait).await? {
            Usable::Body(body) => body,
            // Nothing of what was asked is indexed yet.
            Usable::NotFound(_) => b"{}".to_vec(),
        };
        let parsed =
            MultiGet::parse(&body).map_err(|reason| GenesysError::BadResponse { reason })?;
        let mut fetched = Fetched {
            unreadable: parsed.unreadable,
            ..Fetched::default()
        };
        for (details, raw) in parsed.conversations {
            if ids.contains(&details.conversation_id) {
                fetched.found.push((details, raw));
            } else {
                fetched.unreadable.push(format!(
                    "an answer for {}, which was not asked for",
                    details.conversation_id
                ));
            }
        }
        fetched.missing = ids
            .iter()
            .filter(|id| !fetched.found.iter().any(|(d, _)| &d.conversation_id == *id))
            .cloned()
            .collect();
        Ok(fetched)
    }

    /// An authenticated GET. A 401 invalidates the token and the call is retried once with a new one.
    async fn get(&self, url: reqwest::Url, max_wait: Duration) -> Result<Usable, GenesysError> {
        let mut refreshed = false;
        loop {
            if let Some(budget) = &self.budget {
                budget
                    .acquire(max_wait)
                    .await
                    .map_err(|wait| GenesysError::OverBudget { wait })?;
            }
            let token = self.tokens.token().await?;
            let mut bearer =
                reqwest::header::HeaderValue::try_from(format!("Bearer {}", token.expose()))
                    .map_err(|_| GenesysError::BadResponse {
                        reason: "access token is not a valid header value".into(),
                    })?;
            bearer.set_sensitive(true);
            let started = Instant::now();
            let response = match self
                .http
                .get(url.clone())
                .header(reqwest::header::AUTHORIZATION, bearer)
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(self.timeout)
                .send()
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    self.note(0, started);
                    return Err(GenesysError::transport("API request", &e));
                }
            };
            let status = response.status().as_u16();
            if status == 401 && !refreshed {
                self.note(status, started);
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            let headers = response.headers().clone();
            let body = read_bounded(response, MAX_BODY).await;
            self.note(status, started);
            let answer = classify(Endpoint::Api, status, &headers, body);
            if let (
                Err(GenesysError::RateLimited {
                    retry_after: Some(d),
                    ..
                }),
                Some(budget),
            ) = (&answer, &self.budget)
            {
                // Nothing more from this container until Genesys said it may.
                budget.pause_for(*d);
            }
            return answer;
        }
    }
}
