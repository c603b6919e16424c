//! Structured JSON logs, one line per event, on stdout (Lambda's JSON log format passes them through).
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) or `LOG_LEVEL`,
//! default INFO. Every line written while an invocation runs carries its `requestId` at the top level:
//! `lambda_runtime` opens a span with it and the subscriber flattens span fields onto each line, so an
//! operator can pull every line of one invocation with one Logs Insights filter.
//!
//! `lambda_runtime` and the HTTP/SDK stack are capped at DEBUG, because at TRACE they log raw payloads
//! (customer ids, conversation details) and headers. Fields are the only place data goes: never log a
//! secret or a raw customer id (see [`crate::redact`]).

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Map, Value};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static LEVEL: OnceLock<LevelFilter> = OnceLock::new();

/// Installs the JSON subscriber on stdout. The runtime shell calls it once, first thing.
pub fn init() {
    let level = level_from_env();
    let _ = LEVEL.set(level);
    let mut json = json_subscriber::JsonLayer::stdout();
    json.with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
        .with_level("level")
        .with_target("target")
        .with_flattened_event()
        .with_top_level_flattened_span_list();
    // A second init (tests that build two apps in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(json)
        .with(filter(level))
        .try_init();
}

/// The level read at [`init`] (INFO before it ran).
pub fn level() -> LevelFilter {
    LEVEL.get().copied().unwrap_or(LevelFilter::INFO)
}

/// The log level; `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) wins over it.
pub const LOG_LEVEL: crate::setting::Setting =
    crate::setting::Setting::optional("LOG_LEVEL", "`INFO`")
        .doc("The log level (`AWS_LAMBDA_LOG_LEVEL`, set by Lambda's logging controls, wins).");

fn level_from_env() -> LevelFilter {
    ["AWS_LAMBDA_LOG_LEVEL", LOG_LEVEL.variable]
        .iter()
        .find_map(|name| std::env::var(name).ok().and_then(|v| parse_level(&v)))
        .unwrap_or(LevelFilter::INFO)
}

/// Writes one JSON line built by the caller (the per-invocation line), in the same shape as the
/// subscriber's lines: `timestamp`, `level`, `message`, then `fields`. Skipped below the configured level.
///
/// This bypasses `tracing` because the line's fields differ per function (counts, metrics), and tracing
/// fields must be named at compile time.
pub fn write_line(level: tracing::Level, message: &str, fields: Map<String, Value>) {
    if LevelFilter::from_level(level) > self::level() {
        return;
    }
    let mut line = Map::with_capacity(fields.len() + 3);
    line.insert("timestamp".into(), Value::String(now_rfc3339()));
    line.insert("level".into(), Value::String(level.to_string()));
    line.insert("message".into(), Value::String(message.to_owned()));
    line.extend(fields);
    let Ok(mut bytes) = serde_json::to_vec(&Value::Object(line)) else {
        return;
    };
    bytes.push(b'\n');
    // One write of the whole line, so it never interleaves with the subscriber's lines.
    let _ = std::io::stdout().lock().write_all(&bytes);
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
