//! Structured JSON logs through `tracing`, one subscriber per process.
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) or `LOG_LEVEL`,
//! default INFO. `lambda_runtime` is capped at DEBUG, because at TRACE it logs every raw event payload
//! (customer ids, conversation details). Fields are the only place data goes: never log a secret or a raw
//! customer id (see [`crate::redact`]).

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber on stdout. Call once, first thing in `main`.
pub fn init() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().and_then(|v| parse_level(&v)))
        .unwrap_or(LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .finish()
        .with(filter(level))
        .init();
}

/// Libraries whose TRACE output carries payloads or headers (events, HTTP frames, SDK bodies).
const PAYLOAD_TRACERS: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "aws_smithy_runtime",
    "aws_smithy_http",
    "aws_smithy_runtime_api",
    "aws_sigv4",
    "aws_config",
];

/// Everything at `level`, except the libraries' payload-bearing TRACE events.
fn filter(level: LevelFilter) -> Targets {
    PAYLOAD_TRACERS
        .iter()
        .fold(Targets::new().with_default(level), |t, target| {
            t.with_target(*target, level.min(LevelFilter::DEBUG))
        })
}

/// Lambda's level names (any case); `FATAL` is ERROR.
fn parse_level(v: &str) -> Option<LevelFilter> {
    match v.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(LevelFilter::TRACE),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "INFO" => Some(LevelFilter::INFO),
        "WARN" => Some(LevelFilter::WARN),
        "ERROR" | "FATAL" => Some(LevelFilter::ERROR),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn lambda_runtime_never_logs_at_trace() {
        let f = filter(LevelFilter::TRACE);
        assert!(!f.would_enable("lambda_runtime::layers::api_response", &Level::TRACE));
        assert!(!f.would_enable("h2::frame", &Level::TRACE));
        assert!(!f.would_enable("aws_smithy_runtime::client::orchestrator", &Level::TRACE));
        assert!(f.would_enable("lambda_runtime::layers::api_response", &Level::DEBUG));
        assert!(f.would_enable("fanout", &Level::TRACE));
        let f = filter(LevelFilter::INFO);
        assert!(!f.would_enable("lambda_runtime", &Level::DEBUG));
        assert!(f.would_enable("lambda_runtime", &Level::INFO));
        assert!(!f.would_enable("fanout", &Level::DEBUG));
    }

    #[test]
    fn levels_parse_like_lambda_names_them() {
        assert_eq!(parse_level(" debug "), Some(LevelFilter::DEBUG));
        assert_eq!(parse_level("FATAL"), Some(LevelFilter::ERROR));
        assert_eq!(parse_level("loud"), None);
    }
}
