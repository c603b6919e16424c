//! The data action's environment, read once at init (see `docs/contracts.md`, section data-action).
//!
//! A missing or invalid value is a [`ConfigError`] naming the variable; the runtime shell reports it and
//! exits, so a misconfigured function fails at init instead of answering every call with an error.

use std::time::Duration;

use gcx_core::config::{flag, optional, seconds, url, ConfigError, Env};
use secrecy::SecretString;

/// The upstream endpoint; required, an absolute http(s) URL (its own query is kept).
pub const URL_VAR: &str = "EXTERNAL_API_URL";
/// A bearer token for the upstream, given directly.
pub const TOKEN_VAR: &str = "EXTERNAL_API_TOKEN";
/// A Secrets Manager secret whose `SecretString` is the bearer token, read once at init.
pub const TOKEN_SECRET_VAR: &str = "EXTERNAL_API_TOKEN_SECRET_ARN";
/// `true` lets a bearer token go to an `http://` upstream: for local stand-ins only (the template never
/// sets it, and its `ExternalApiUrl` takes https only).
pub const ALLOW_HTTP_VAR: &str = "EXTERNAL_API_ALLOW_HTTP";
/// Seconds the whole upstream exchange (retry included) may take; fractions allowed.
pub const TIMEOUT_VAR: &str = "EXTERNAL_API_TIMEOUT";

/// Default for [`TIMEOUT_VAR`] (the original Python tutorial's value).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Smallest accepted [`TIMEOUT_VAR`].
const MIN_TIMEOUT: Duration = Duration::from_millis(10);
/// Largest accepted [`TIMEOUT_VAR`]: a Genesys action gives up after 60 s at most.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the token comes from; at most one source may be configured.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// No `Authorization` header is sent.
    None,
    /// [`TOKEN_VAR`] holds the token.
    Direct(SecretString),
    /// [`TOKEN_SECRET_VAR`] names the secret to read at init.
    Secret(String),
}

/// The validated environment of the data action.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The upstream URL, parsed once.
    pub url: reqwest::Url,
    /// Where the bearer token comes from.
    pub token: TokenSource,
    /// Budget for the upstream exchange.
    pub timeout: Duration,
}

impl Settings {
    /// Reads and validates the environment; errors name the variable at fault.
    pub fn from_env(env: &dyn Env) -> Result<Settings, ConfigError> {
        let url = url(env, URL_VAR)?;
        let token = match (optional(env, TOKEN_VAR), optional(env, TOKEN_SECRET_VAR)) {
            (None, None) => TokenSource::None,
            (Some(token), None) => TokenSource::Direct(SecretString::from(token)),
            (None, Some(arn)) => TokenSource::Secret(arn),
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    TOKEN_VAR,
                    format!("and {TOKEN_SECRET_VAR} are both set; set only one of them"),
                ))
            }
        };
        let timeout = seconds(env, TIMEOUT_VAR, DEFAULT_TIMEOUT, MIN_TIMEOUT, MAX_TIMEOUT)?;
        let allow_http = flag(env, ALLOW_HTTP_VAR, false)?;
        if url.scheme() == "http" && !matches!(token, TokenSource::None) && !allow_http {
            return Err(ConfigError::new(
                URL_VAR,
                format!(
                    "is http://, so the bearer token would travel in cleartext; use https (or {ALLOW_HTTP_VAR}=true for a local stand-in)"
                ),
            ));
        }
        Ok(Settings {
            url,
            token,
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn minimal_environment() {
        let c = Settings::from_env(&[(URL_VAR, "https://api.example.com/v1/user-info")]).unwrap();
        assert_eq!(c.url.as_str(), "https://api.example.com/v1/user-info");
        assert!(matches!(c.token, TokenSource::None));
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_token_never_goes_to_plain_http_unless_allowed() {
        let e = Settings::from_env(&[(URL_VAR, "http://h/"), (TOKEN_VAR, "tok")]).unwrap_err();
        assert_eq!(e.variable, URL_VAR);
        assert!(e.to_string().contains("cleartext") && !e.to_string().contains("tok\""));
        let e =
            Settings::from_env(&[(URL_VAR, "http://h/"), (TOKEN_SECRET_VAR, "arn:x")]).unwrap_err();
        assert_eq!(e.variable, URL_VAR);
        assert!(Settings::from_env(&[(URL_VAR, "https://h/"), (TOKEN_VAR, "tok")]).is_ok());
        assert!(
            Settings::from_env(&[(URL_VAR, "http://h/")]).is_ok(),
            "no token, nothing to leak"
        );
        assert!(Settings::from_env(&[
            (URL_VAR, "http://h/"),
            (TOKEN_VAR, "tok"),
            (ALLOW_HTTP_VAR, "true")
        ])
        .is_ok());
        let e =
            Settings::from_env(&[(URL_VAR, "http://h/"), (ALLOW_HTTP_VAR, "maybe")]).unwrap_err();
        assert_eq!(e.variable, ALLOW_HTTP_VAR);
    }

    #[test]
    fn token_timeout_and_secret() {
        let c = Settings::from_env(&[
            (URL_VAR, "http://127.0.0.1:9/x?k=v"),
            (TOKEN_VAR, " tok "),
            (TIMEOUT_VAR, "0.3"),
            (ALLOW_HTTP_VAR, "true"),
        ])
        .unwrap();
        assert!(matches!(&c.token, TokenSource::Direct(t) if t.expose_secret() == "tok"));
        assert_eq!(c.timeout, Duration::from_millis(300));
        let c = Settings::from_env(&[
            (URL_VAR, "https://h/"),
            (TOKEN_SECRET_VAR, "arn:aws:secretsmanager:x"),
        ])
        .unwrap();
        assert!(matches!(&c.token, TokenSource::Secret(a) if a == "arn:aws:secretsmanager:x"));
    }

    #[test]
    fn errors_name_the_variable() {
        let missing: [(&str, &str); 0] = [];
        assert_eq!(Settings::from_env(&missing).unwrap_err().variable, URL_VAR);
        assert_eq!(
            Settings::from_env(&[(URL_VAR, "not a url")])
                .unwrap_err()
                .variable,
            URL_VAR
        );
        assert_eq!(
            Settings::from_env(&[(URL_VAR, "ftp://h/x")])
                .unwrap_err()
                .variable,
            URL_VAR
        );
        for bad in ["abc", "0", "61", "-1"] {
            assert_eq!(
                Settings::from_env(&[(URL_VAR, "http://h/"), (TIMEOUT_VAR, bad)])
                    .unwrap_err()
                    .variable,
                TIMEOUT_VAR
            );
        }
        let both = Settings::from_env(&[
            (URL_VAR, "http://h/"),
            (TOKEN_VAR, "t"),
            (TOKEN_SECRET_VAR, "arn"),
        ])
        .unwrap_err();
        assert!(both.to_string().contains(TOKEN_SECRET_VAR));
        assert!(!both.to_string().contains(": t"), "{both}");
    }
}
