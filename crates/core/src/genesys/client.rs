//! The Genesys Cloud Platform API client: bearer auth from the [`TokenCache`], one refresh on 401,
//! status-to-[`GenesysError`] mapping, bounded body reads. Built once per container; clones share the
//! connection pool and the token cache.

use std::sync::Arc;
use std::time::Duration;

use super::auth::TokenCache;
use super::error::{ApiErrorBody, GenesysError};
use super::models::ConversationDetails;
use super::region::Endpoints;
use crate::http::{read_bounded, retry_after};

/// Largest API body read. Analytics details of a long conversation run to hundreds of KiB.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The Platform API client.
#[derive(Clone)]
pub struct GenesysClient {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    tokens: TokenCache,
    timeout: Duration,
}

/// What a 404 means for an endpoint.
#[derive(Clone, Copy)]
enum NotFound<'a> {
    /// Analytics has not indexed the conversation yet: retry later.
    NotYetIndexed(&'a str),
}

impl GenesysClient {
    /// A client for `endpoints`, authenticating with `tokens`, each request bounded by `timeout`.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        tokens: TokenCache,
        timeout: Duration,
    ) -> Self {
        Self {
            http,
            endpoints: Arc::new(endpoints),
            tokens,
            timeout,
        }
    }

    /// The token cache (shared with clones).
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// `GET /api/v2/analytics/conversations/{id}/details`, returned raw (see [`parse_details`]).
    pub async fn conversation_details_raw(
        &self,
        conversation_id: &str,
    ) -> Result<Vec<u8>, GenesysError> {
        let url =
            self.endpoints
                .api_url(&["analytics", "conversations", conversation_id, "details"]);
        self.get(url, NotFound::NotYetIndexed(conversation_id))
            .await
    }

    /// `GET /api/v2/analytics/conversations/{id}/details`, parsed.
    pub async fn conversation_details(
        &self,
        conversation_id: &str,
    ) -> Result<ConversationDetails, GenesysError> {
        parse_details(&self.conversation_details_raw(conversation_id).await?)
    }

    /// An authenticated GET. A 401 invalidates the token and the call is retried once with a new one.
    async fn get(
        &self,
        url: reqwest::Url,
        not_found: NotFound<'_>,
    ) -> Result<Vec<u8>, GenesysError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.token().await?;
            let mut bearer =
                reqwest::header::HeaderValue::try_from(format!("Bearer {}", token.expose()))
                    .map_err(|_| GenesysError::BadResponse {
                        reason: "access token is not a valid header value".into(),
                    })?;
            bearer.set_sensitive(true);
            let response = self
                .http
                .get(url.clone())
                .header(reqwest::header::AUTHORIZATION, bearer)
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(self.timeout)
                .send()
                .await
                .map_err(|e| GenesysError::transport("API request", &e))?;
            let status = response.status().as_u16();
            if status == 401 && !refreshed {
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            let headers = response.headers().clone();
            let body = read_bounded(response, MAX_BODY)
                .await
                .map_err(|e| match e {
                    crate::http::BodyError::TooLarge { .. } => GenesysError::BadResponse {
                        reason: e.to_string(),
                    },
                    crate::http::BodyError::Transport(t) => {
                        GenesysError::transport("API response", &t)
                    }
                })?;
            return match status {
                200..=299 => Ok(body),
                401 | 403 => {
                    let b = ApiErrorBody::parse(&body);
                    Err(GenesysError::AuthFailed {
                        reason: format!(
                            "API answered HTTP {status} {}{}",
                            b.code.as_deref().unwrap_or(""),
                            if status == 403 {
                                " (check the OAuth client's roles)"
                            } else {
                                " after a token refresh"
                            }
                        ),
                    })
                }
                404 => match not_found {
                    NotFound::NotYetIndexed(id) => Err(GenesysError::NotYetAvailable {
                        conversation_id: id.to_owned(),
                        body: ApiErrorBody::parse(&body),
                    }),
                },
                429 => Err(GenesysError::RateLimited {
                    retry_after: retry_after(&headers),
                    body: ApiErrorBody::parse(&body),
                }),
                500..=599 => {
                    let b = ApiErrorBody::parse(&body);
                    Err(GenesysError::Unavailable {
                        reason: format!(
                            "API answered HTTP {status} {}",
                            b.code.as_deref().unwrap_or("")
                        )
                        .trim_end()
                        .to_owned(),
                    })
                }
                _ => {
                    let b = ApiErrorBody::parse(&body);
                    Err(GenesysError::BadResponse {
                        reason: format!(
                            "API answered HTTP {status} {}",
                            b.code.as_deref().unwrap_or("")
                        )
                        .trim_end()
                        .to_owned(),
                    })
                }
            };
        }
    }
}

/// Parses an analytics conversation details body; anything that is not one is `Genesys.BadResponse`.
pub fn parse_details(body: &[u8]) -> Result<ConversationDetails, GenesysError> {
    serde_json::from_slice(body).map_err(|e| GenesysError::BadResponse {
        reason: format!("conversation details are not the expected JSON ({e})"),
    })
}
