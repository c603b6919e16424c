//! The kinds of Genesys Cloud failure, each with the stable name that enrich reports in dead letters and
//! logs, and the Genesys error body (`ErrorBody` in the Platform API).

use std::time::Duration;

use serde_json::Value;

/// A rate limit named in an error body (`limit`): which one was hit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limit {
    /// e.g. `client.credentials.token.rate.per.minute`.
    pub key: Option<String>,
    /// e.g. `platform.api`.
    pub namespace: Option<String>,
    /// The limit's value, e.g. 300.
    pub value: Option<i64>,
}

/// One `details[]` entry of an error body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    /// Machine code of the detail.
    pub error_code: Option<String>,
    /// The request field it is about.
    pub field_name: Option<String>,
}

/// A Genesys Cloud error body: the parts worth reporting. Parsed leniently, field by field: a field of
/// the wrong type is dropped alone, so one surprise never loses the whole body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiErrorBody {
    /// Human-readable message.
    pub message: Option<String>,
    /// Machine code, e.g. `too.many.requests`, `not.found`, `bad.credentials`.
    pub code: Option<String>,
    /// HTTP status as Genesys reports it.
    pub status: Option<u16>,
    /// Genesys's correlation id for support cases.
    pub context_id: Option<String>,
    /// The message with its parameters filled in (when Genesys sends one).
    pub message_with_params: Option<String>,
    /// Field-level details.
    pub details: Vec<Detail>,
    /// The rate limit that was hit, on a 429.
    pub limit: Option<Limit>,
}

impl ApiErrorBody {
    /// Parses an error body; anything that is not a JSON object gives the empty body.
    pub fn parse(body: &[u8]) -> Self {
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let details = o
            .get("details")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter(|d| d.is_object())
                    .map(|d| Detail {
                        error_code: text(d.get("errorCode")),
                        field_name: text(d.get("fieldName")),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let limit = o.get("limit").and_then(Value::as_object).map(|l| Limit {
            key: text(l.get("key")),
            namespace: text(l.get("namespace")),
            value: l.get("value").and_then(Value::as_i64),
        });
        Self {
            message: text(o.get("message")),
            code: text(o.get("code")),
            status: o
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            context_id: text(o.get("contextId")),
            message_with_params: text(o.get("messageWithParams")),
            details,
            limit,
        }
    }

    /// One line for logs and dead letters: code, message, the limit hit, contextId.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if let Some(code) = &self.code {
            out.push_str(code);
        }
        if let Some(m) = self.message_with_params.as_ref().or(self.message.as_ref()) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&truncate(m, 200));
        }
        if let Some(limit) = &self.limit {
            let key = limit.key.as_deref().unwrap_or("?");
            match limit.value {
                Some(v) => out.push_str(&format!(" (limit {key} = {v})")),
                None => out.push_str(&format!(" (limit {key})")),
            }
        }
        for detail in self.details.iter().take(3) {
            if let Some(code) = &detail.error_code {
                out.push_str(&format!(" [{code}"));
                if let Some(field) = &detail.field_name {
                    out.push_str(&format!(" on {field}"));
                }
                out.push(']');
            }
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
        /// The error body (boxed: it is large, and errors travel by value).
        body: Box<ApiErrorBody>,
    },
    /// The request was not sent: the configured budget (`GENESYS_REQUESTS_PER_MINUTE`) is spent until
    /// `wait` from now.
    #[error("the Genesys request budget is spent; next request in {} s", .wait.as_secs_f64())]
    OverBudget {
        /// How long until the budget allows a request.
        wait: Duration,
    },
    /// 5xx, timeout or connection failure, at the API or the token endpoint. Retry with backoff.
    #[error("Genesys unavailable: {reason}")]
    Unavailable {
        /// What happened, without secrets.
        reason: String,
    },
    /// A conversation analytics has not indexed yet (404, or absent from a multi-get). Retry later.
    #[error("conversation {conversation_id} is not available in Genesys analytics yet{}", fmt_body(.body))]
    NotYetAvailable {
        /// The conversation asked for.
        conversation_id: String,
        /// The error body, when there was one.
        body: Box<ApiErrorBody>,
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
gcx_core::stable_names!(GenesysError {
    RateLimited { .. } => "Genesys.RateLimited",
    OverBudget { .. } => "Genesys.OverBudget",
    Unavailable { .. } => "Genesys.Unavailable",
    NotYetAvailable { .. } => "Genesys.NotYetAvailable",
    AuthFailed { .. } => "Genesys.AuthFailed",
    BadResponse { .. } => "Genesys.BadResponse",
});

fn fmt_after(d: Option<Duration>) -> String {
    d.map(|d| format!(", retry after {} s", d.as_secs_f64()))
        .unwrap_or_default()
}

fn fmt_body(body: &ApiErrorBody) -> String {
    let summary = body.summary();
    if summary.is_empty() {
        String::new()
    } else {
        format!("; {summary}")
    }
}

impl GenesysError {
    /// Maps a transport error (connect, timeout, reset) to [`GenesysError::Unavailable`]; the URL is left
    /// out (it may carry ids), the kind of failure is what an operator needs.
    pub fn transport(what: &str, e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "transfer failed"
        };
        Self::Unavailable {
            reason: format!("{what} {kind}"),
        }
    }

    /// Whether trying again later can succeed (rate limit, budget, outage, not indexed yet).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::OverBudget { .. }
                | Self::Unavailable { .. }
                | Self::NotYetAvailable { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::names::StableName;

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let e = GenesysError::AuthFailed { reason: "x".into() };
        let d: gcx_core::lambda_runtime::Diagnostic = e.clone().into();
        assert_eq!(d.error_type, "Genesys.AuthFailed");
        assert_eq!(d.error_message, e.to_string());
        assert_eq!(GenesysError::names().len(), 6);
    }

    #[test]
    fn error_body_keeps_limit_details_and_params() {
        let raw = br#"{"message":"Rate limit exceeded the maximum","messageWithParams":"Rate limit exceeded the maximum. [300] requests for [60] seconds","code":"too.many.requests","status":429,"contextId":"abc","details":[{"errorCode":"x.y","fieldName":"id"}],"errors":[],"limit":{"key":"client.credentials.token.rate.per.minute","namespace":"platform.api","value":300}}"#;
        let body = ApiErrorBody::parse(raw);
        assert_eq!(body.code.as_deref(), Some("too.many.requests"));
        assert_eq!(body.limit.as_ref().unwrap().value, Some(300));
        assert_eq!(body.details[0].field_name.as_deref(), Some("id"));
        let e = GenesysError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
            body: Box::new(body),
        };
        assert_eq!(e.to_string(), "Genesys rate limit reached (HTTP 429), retry after 2 s; too.many.requests: Rate limit exceeded the maximum. [300] requests for [60] seconds (limit client.credentials.token.rate.per.minute = 300) [x.y on id] (contextId abc)");
    }

    #[test]
    fn a_mistyped_field_loses_only_itself() {
        let body = ApiErrorBody::parse(br#"{"message":"m","code":5,"status":"429","contextId":"c","limit":[1],"details":"no"}"#);
        assert_eq!(body.message.as_deref(), Some("m"));
        assert_eq!(body.context_id.as_deref(), Some("c"));
        assert_eq!((body.code, body.status, body.limit), (None, None, None));
        assert!(body.details.is_empty());
        assert_eq!(ApiErrorBody::parse(b"<html>"), ApiErrorBody::default());
    }
}
