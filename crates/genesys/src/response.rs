//! The one mapping from a Genesys HTTP answer to a body or a [`GenesysError`], for the token endpoint and
//! the Platform API alike, so the two can never disagree about what a status means.

use reqwest::header::HeaderMap;

use super::error::{ApiErrorBody, GenesysError};
use gcx_core::http::{retry_after, BodyError};

/// Which Genesys endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST login.<domain>/oauth/token`.
    Token,
    /// `api.<domain>/api/v2/...`.
    Api,
}

/// A usable HTTP answer from Genesys: a body, or a 404 the caller reads (every other status is a `GenesysError`).
#[derive(Debug, Clone, PartialEq)]
pub enum Usable {
    /// 2xx, with its body.
    Body(Vec<u8>),
    /// 404 from the API: what it means depends on the call (not indexed yet, for analytics).
    NotFound(ApiErrorBody),
}

/// Maps one answer: `status`, its headers and the body as read (bounded).
pub fn classify(
    endpoint: Endpoint,
    status: u16,
    headers: &HeaderMap,
    body: Result<Vec<u8>, BodyError>,
) -> Result<Usable, GenesysError> {
    let body = match body {
        Ok(b) => b,
        Err(e @ BodyError::TooLarge { .. }) => {
            return Err(GenesysError::BadResponse {
                reason: format!("{} answer: {e}", endpoint.label()),
            })
        }
        Err(BodyError::Transport(t)) => {
            return Err(GenesysError::transport(
                &format!("{} answer", endpoint.label()),
                &t,
            ))
        }
    };
    let said = || said(endpoint, &body);
    match (status, endpoint) {
        (200..=299, _) => Ok(Usable::Body(body)),
        (404, Endpoint::Api) => Ok(Usable::NotFound(ApiErrorBody::parse(&body))),
        (429, _) => Err(GenesysError::RateLimited {
            retry_after: retry_after(headers),
            body: Box::new(ApiErrorBody::parse(&body)),
        }),
        (400 | 401 | 403, Endpoint::Token) => Err(GenesysError::AuthFailed {
            reason: format!(
                "token endpoint refused the client credentials (HTTP {status}) {}",
                said()
            )
            .trim_end()
            .to_owned(),
        }),
        (401, Endpoint::Api) => Err(GenesysError::AuthFailed {
            reason: format!("API answered HTTP 401 after a token refresh {}", said())
                .trim_end()
                .to_owned(),
        }),
        (403, Endpoint::Api) => Err(GenesysError::AuthFailed {
            reason: format!(
                "API answered HTTP 403 {} (check the OAuth client's roles and divisions)",
                said()
            ),
        }),
        (500..=599, _) => Err(GenesysError::Unavailable {
            reason: format!("{} answered HTTP {status} {}", endpoint.label(), said())
                .trim_end()
                .to_owned(),
        }),
        _ => Err(GenesysError::BadResponse {
            reason: format!("{} answered HTTP {status} {}", endpoint.label(), said())
                .trim_end()
                .to_owned(),
        }),
    }
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Token => "token endpoint",
            Endpoint::Api => "API",
        }
    }
}

/// What the error body says, in one short phrase (never the request, never a token).
fn said(endpoint: Endpoint, body: &[u8]) -> String {
    match endpoint {
        Endpoint::Token => {
            // The token endpoint's error body is `{error, description, error_description}`.
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
            [
                text("error"),
                text("error_description").or_else(|| text("description")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ")
        }
        Endpoint::Api => ApiErrorBody::parse(body).summary(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::names::StableName;

    fn name(endpoint: Endpoint, status: u16) -> &'static str {
        match classify(endpoint, status, &HeaderMap::new(), Ok(b"{}".to_vec())) {
            Ok(Usable::Body(_)) => "ok",
            Ok(Usable::NotFound(_)) => "not found",
            Err(e) => e.name(),
        }
    }

    #[test]
    fn both_endpoints_map_statuses_the_same_way_where_they_mean_the_same() {
        for endpoint in [Endpoint::Token, Endpoint::Api] {
            assert_eq!(name(endpoint, 200), "ok");
            assert_eq!(name(endpoint, 429), "Genesys.RateLimited");
            assert_eq!(name(endpoint, 503), "Genesys.Unavailable");
            assert_eq!(name(endpoint, 401), "Genesys.AuthFailed");
            assert_eq!(name(endpoint, 403), "Genesys.AuthFailed");
            assert_eq!(name(endpoint, 302), "Genesys.BadResponse");
            let too_large = classify(
                endpoint,
                200,
                &HeaderMap::new(),
                Err(BodyError::TooLarge { limit: 1 }),
            );
            assert_eq!(too_large.unwrap_err().name(), "Genesys.BadResponse");
        }
        assert_eq!(name(Endpoint::Api, 404), "not found");
        assert_eq!(name(Endpoint::Token, 404), "Genesys.BadResponse");
        assert_eq!(name(Endpoint::Api, 400), "Genesys.BadResponse");
        assert_eq!(name(Endpoint::Token, 400), "Genesys.AuthFailed");
    }

    #[test]
    fn token_errors_quote_the_oauth_error_never_the_request() {
        let e = classify(
            Endpoint::Token,
            401,
            &HeaderMap::new(),
            Ok(br#"{"error":"invalid_client","description":"client not found","error_description":"client not found"}"#.to_vec()),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "Genesys authentication failed: token endpoint refused the client credentials (HTTP 401) invalid_client: client not found");
    }
}
