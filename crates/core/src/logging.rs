//! Structured JSON logs through `tracing`, one subscriber per process.
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) or `LOG_LEVEL`,
//! default INFO. Fields are the only place data goes: never log a secret or a raw customer id
//! (see [`crate::redact`]).

use tracing::Level;

/// Installs the JSON subscriber on stdout. Call once, first thing in `main`.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .ok()
        .and_then(|v| parse_level(&v))
        .unwrap_or(Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .init();
}

fn parse_level(v: &str) -> Option<Level> {
    match v.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" | "FATAL" => Some(Level::ERROR),
        _ => None,
    }
}
