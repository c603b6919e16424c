//! The kinds of Genesys Cloud failure, each with the stable name that becomes the Lambda `error_type`
//! and that `state_machine.asl.json` matches in `Retry`/`Catch` (see docs/contracts.md).

use std::time::Duration;

/// A Genesys Cloud error body (`ErrorBody` in the Platform API): the parts worth reporting.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// Machine code, e.g. `too.many.requests`, `not.found`, `bad.credentials`.
    #[serde(default)]
    pub code: Option<String>,
    /// HTTP status as Genesys reports it.
    #[serde(default)]
    pub status: Option<u16>,
    /// Genesys' correlation id for support cases.
    #[serde(default)]
    pub context_id: Option<String>,
}

impl ApiErrorBody {
    /// Parses an error body leniently: anything that is not a Genesys error body gives the default.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        if let Some(code) = &self.code {
            out.push_str(code);
        }
        if let Some(m) = &self.message {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&truncate(m, 200));
        }
        if let Some(c) = &self.context_id {
            out.push_str(&format!(" (contextId {c})"));
        }
        out
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A failed call to Genesys Cloud, by what the caller should do about it.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum GenesysError {
    /// 429: over the rate limit (300 requests/min per token by default). Retry after `retry_after`.
    #[error("Genesys rate limit reached (HTTP 429){}; {}", fmt_after(*.retry_after), .body.summary())]
    RateLimited {
        /// The `Retry-After` the API sent, if any.
        retry_after: Option<Duration>,
        /// The error body.
        body: ApiErrorBody,
    },
    /// 5xx, timeout or connection failure, at the API or the token endpoint. Retry with backoff.
    #[error("Genesys unavailable: {reason}")]
    Unavailable {
        /// What happened, without secrets.
        reason: String,
    },
    /// 404 for a conversation analytics has not indexed yet. Retry later.
    #[error("conversation {conversation_id} is not available in Genesys analytics yet (HTTP 404); {}", .body.summary())]
    NotYetAvailable {
        /// The conversation asked for.
        conversation_id: String,
        /// The error body.
        body: ApiErrorBody,
    },
    /// Bad client credentials, or 401/403 even after a fresh token. Not retried: fix the OAuth client.
    #[error("Genesys authentication failed: {reason}")]
    AuthFailed {
        /// What Genesys said.
        reason: String,
    },
    /// A response that cannot be used (unparseable body, unexpected status). Not retried.
    #[error("unusable Genesys response: {reason}")]
    BadResponse {
        /// What is wrong with it.
        reason: String,
    },
}

fn fmt_after(d: Option<Duration>) -> String {
    d.map(|d| format!(", retry after {} s", d.as_secs_f64()))
        .unwrap_or_default()
}

impl GenesysError {
    /// The stable name used as the Lambda `error_type` and in the state machine's `ErrorEquals`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "Genesys.RateLimited",
            Self::Unavailable { .. } => "Genesys.Unavailable",
            Self::NotYetAvailable { .. } => "Genesys.NotYetAvailable",
            Self::AuthFailed { .. } => "Genesys.AuthFailed",
            Self::BadResponse { .. } => "Genesys.BadResponse",
        }
    }

    /// Every name [`GenesysError::name`] can return, for coverage checks against the state machine.
    pub const NAMES: [&'static str; 5] = [
        "Genesys.RateLimited",
        "Genesys.Unavailable",
        "Genesys.NotYetAvailable",
        "Genesys.AuthFailed",
        "Genesys.BadResponse",
    ];

    /// Maps a transport error (connect, timeout, reset) to [`GenesysError::Unavailable`].
    pub fn transport(what: &str, e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "transfer failed"
        };
        // `without_url`: URLs may carry ids; the error kind is what an operator needs.
        Self::Unavailable {
            reason: format!("{what} {kind}"),
        }
    }
}

impl From<GenesysError> for lambda_runtime::Diagnostic {
    fn from(e: GenesysError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().into(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let cases = [
            GenesysError::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
                body: ApiErrorBody::default(),
            },
            GenesysError::Unavailable { reason: "x".into() },
            GenesysError::NotYetAvailable {
                conversation_id: "c".into(),
                body: ApiErrorBody::default(),
            },
            GenesysError::AuthFailed { reason: "x".into() },
            GenesysError::BadResponse { reason: "x".into() },
        ];
        for (e, name) in cases.into_iter().zip(GenesysError::NAMES) {
            let d: lambda_runtime::Diagnostic = e.clone().into();
            assert_eq!(d.error_type, name);
            assert_eq!(d.error_message, e.to_string());
        }
    }

    #[test]
    fn error_body_is_parsed_and_summarised() {
        let raw = br#"{"message":"Rate limit exceeded the maximum","code":"too.many.requests","status":429,"contextId":"abc","details":[],"errors":[]}"#;
        let body = ApiErrorBody::parse(raw);
        assert_eq!(body.code.as_deref(), Some("too.many.requests"));
        assert_eq!(body.context_id.as_deref(), Some("abc"));
        let e = GenesysError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
            body,
        };
        assert_eq!(e.to_string(), "Genesys rate limit reached (HTTP 429), retry after 2 s; too.many.requests: Rate limit exceeded the maximum (contextId abc)");
        assert_eq!(ApiErrorBody::parse(b"<html>"), ApiErrorBody::default());
    }
}
