//! The one HTTP client setup every function uses, and bounded body reads.
//!
//! A `reqwest::Client` is an `Arc` inside: build it once at init and clone it into handlers so that
//! connections (and their TLS sessions) are reused across invocations.

use std::time::Duration;

/// Builds the shared HTTP client: rustls, connection pool kept warm across invocations, no proxy lookup.
pub fn client(user_agent: &str, connect_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(50))
        .pool_max_idle_per_host(32)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        // The only failure is a TLS backend that cannot initialise, which no configuration here can fix.
        .expect("the rustls HTTP client builds with static settings")
}

/// Why a body could not be read within its bound.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the bound; reading stopped there.
    #[error("response body exceeds {limit} bytes")]
    TooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// The transfer failed (reset, timeout) before the body ended.
    #[error("reading the response body failed: {0}")]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body, stopping with [`BodyError::TooLarge`] as soon as it passes `limit` bytes, so a
/// huge or endless upstream body never gets buffered whole.
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(8 * 1024, |n| n as usize)
            .min(limit),
    );
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = raw.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
