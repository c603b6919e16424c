//! The one HTTP client setup every function uses, and bounded body reads.
//!
//! A `reqwest::Client` is an `Arc` inside: build it once at init and clone it into handlers so that
//! connections (and their TLS sessions) are reused across invocations.
//!
//! TLS trusts Mozilla's root certificates compiled into the binary (`webpki-roots`), plus the PEM
//! certificates of `SSL_CERT_FILE` when it is set (a private CA). reqwest's default verifier reads the
//! system trust store instead: on this project's benchmark machine that was 147 files at init, about 3 ms
//! of CPU and most of data-action's memory above a bare Lambda binary (bench/README.md). The compiled-in
//! roots cost nothing at init and about 230 KB of binary; what they lose is trust in CAs added to the OS
//! store only, which `SSL_CERT_FILE` restores.

use std::sync::Arc;
use std::time::Duration;

/// Certificates to trust besides the compiled-in roots.
pub const SSL_CERT_FILE: crate::setting::Setting = crate::setting::Setting::optional("SSL_CERT_FILE", "none")
    .doc("PEM certificates to trust besides the compiled-in Mozilla roots (a private CA in front of your upstream).");

/// Builds the shared HTTP client: rustls with the compiled-in roots, connection pool kept warm across
/// invocations, no proxy lookup.
pub fn client(user_agent: &str, connect_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(50))
        .pool_max_idle_per_host(32)
        .tcp_nodelay(true)
        .no_proxy()
        .tls_backend_preconfigured(tls_config(
            std::env::var_os(SSL_CERT_FILE.variable).as_deref(),
        ))
        .build()
        // The only failure is a TLS backend that cannot initialise, which no configuration here can fix.
        .expect("the rustls HTTP client builds with static settings")
}

/// The rustls configuration: the compiled-in roots, plus the certificates of `extra_pem` (a PEM file),
/// HTTP/2 and HTTP/1.1 offered by ALPN. A file that cannot be read is logged and skipped, never fatal:
/// the public roots still work.
pub fn tls_config(extra_pem: Option<&std::ffi::OsStr>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_pem {
        match extra_roots(path) {
            Ok(certs) => {
                let (added, ignored) = roots.add_parsable_certificates(certs);
                tracing::debug!(added, ignored, "SSL_CERT_FILE certificates trusted");
            }
            Err(e) => {
                tracing::warn!(error = %e, "SSL_CERT_FILE could not be read; only the built-in roots are trusted");
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// The certificates of a PEM file.
fn extra_roots(
    path: &std::ffi::OsStr,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
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
    fn the_roots_are_compiled_in_and_ssl_cert_file_adds_to_them() {
        let builtin = tls_config(None);
        assert_eq!(
            builtin.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let missing = tls_config(Some(std::ffi::OsStr::new("/nonexistent/ca.pem")));
        assert_eq!(
            missing.alpn_protocols.len(),
            2,
            "an unreadable file is not fatal"
        );
        // The system bundle, when there is one, parses as extra roots.
        for bundle in [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
        ] {
            if std::path::Path::new(bundle).exists() {
                assert!(!extra_roots(std::ffi::OsStr::new(bundle))
                    .unwrap()
                    .is_empty());
            }
        }
        let _ = client("test", Duration::from_secs(1));
    }

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
