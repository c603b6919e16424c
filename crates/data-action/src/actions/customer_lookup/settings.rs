//! customer-lookup's settings, declared once: the upstream URL, its token and the time budget.

use std::time::Duration;

use gcx_core::config::{secret_source, url, ConfigError, Env, SecretSource};
use gcx_core::setting::Setting;

/// The upstream endpoint.
pub const EXTERNAL_API_URL: Setting = Setting::optional(
    "EXTERNAL_API_URL",
    "required for customer-lookup",
)
.doc("customer-lookup's upstream endpoint (`http`/`https`; its own query is kept); setting it serves customer-lookup, and a missing or invalid value fails init naming the variable.");
/// A bearer token for the upstream, given directly.
pub const EXTERNAL_API_TOKEN: Setting = Setting::optional("EXTERNAL_API_TOKEN", "no token")
    .doc("Bearer token for the upstream (local use; in AWS prefer the secret).");
/// The bearer token's secret.
pub const EXTERNAL_API_TOKEN_SECRET_ARN: Setting =
    Setting::optional("EXTERNAL_API_TOKEN_SECRET_ARN", "no token")
        .doc("Secrets Manager secret whose SecretString is the bearer token, read once at init; at most one of the two.");
/// Lets a bearer token go to an `http://` upstream.
pub const EXTERNAL_API_ALLOW_HTTP: Setting = Setting::flag("EXTERNAL_API_ALLOW_HTTP", false)
    .doc("`true` lets a bearer token go to an `http://` upstream: local stand-ins and test upstreams (the template sets it only with its explicit `ExternalApiInsecureUrl`).");
/// Seconds the whole upstream exchange may take.
pub const EXTERNAL_API_TIMEOUT: Setting = Setting::seconds(
    "EXTERNAL_API_TIMEOUT",
    DEFAULT_TIMEOUT,
    MIN_TIMEOUT,
    MAX_TIMEOUT,
)
// Deployed, the function times out at 25 s: the upstream must answer well before.
.deployed_between(10, 20_000)
.parameter("ExternalApiTimeout")
.doc("Seconds for the whole upstream call, retry included (fractions allowed); never past the Lambda deadline minus 250 ms. Deployed, it stays under the function's 25 s timeout; Genesys gives up at its action timeout (at most 60 s).");

/// The upstream endpoint; required, an absolute http(s) URL (its own query is kept).
pub const URL_VAR: &str = EXTERNAL_API_URL.variable;
/// A bearer token for the upstream, given directly.
pub const TOKEN_VAR: &str = EXTERNAL_API_TOKEN.variable;
/// A Secrets Manager secret whose `SecretString` is the bearer token, read once at init.
pub const TOKEN_SECRET_VAR: &str = EXTERNAL_API_TOKEN_SECRET_ARN.variable;
/// `true` lets a bearer token go to an `http://` upstream.
pub const ALLOW_HTTP_VAR: &str = EXTERNAL_API_ALLOW_HTTP.variable;
/// Seconds the whole upstream exchange (retry included) may take; fractions allowed.
pub const TIMEOUT_VAR: &str = EXTERNAL_API_TIMEOUT.variable;

/// Default for [`TIMEOUT_VAR`] (the original Python tutorial's value).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Smallest accepted [`TIMEOUT_VAR`].
const MIN_TIMEOUT: Duration = Duration::from_millis(10);
/// Largest accepted [`TIMEOUT_VAR`]: a Genesys action gives up after 60 s at most.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the token comes from: [`TOKEN_VAR`], the secret [`TOKEN_SECRET_VAR`] names, or neither (no
/// `Authorization` header); at most one may be configured.
pub type TokenSource = SecretSource;

/// customer-lookup's settings.
#[derive(Debug, Clone)]
pub struct LookupSettings {
    /// The upstream URL, parsed once.
    pub url: reqwest::Url,
    /// Where the bearer token comes from.
    pub token: TokenSource,
    /// Budget for the upstream exchange.
    pub timeout: Duration,
}

/// Every variable customer-lookup reads.
pub const SETTINGS: &[Setting] = &[
    EXTERNAL_API_URL,
    EXTERNAL_API_TOKEN,
    EXTERNAL_API_TOKEN_SECRET_ARN,
    EXTERNAL_API_TIMEOUT,
    EXTERNAL_API_ALLOW_HTTP,
];

impl LookupSettings {
    /// Reads and validates customer-lookup's variables; errors name the variable at fault.
    pub fn from_env(env: &dyn Env) -> Result<LookupSettings, ConfigError> {
        let url = url(env, URL_VAR)?;
        let token = secret_source(env, TOKEN_VAR, TOKEN_SECRET_VAR)?;
        let timeout = EXTERNAL_API_TIMEOUT.read_seconds(env)?;
        let allow_http = EXTERNAL_API_ALLOW_HTTP.read_flag(env)?;
        if url.scheme() == "http" && !matches!(token, TokenSource::None) && !allow_http {
            return Err(ConfigError::new(
                URL_VAR,
                format!(
                    "is http://, so the bearer token would travel in cleartext; use https (or {ALLOW_HTTP_VAR}=true for a local stand-in)"
                ),
            ));
        }
        Ok(LookupSettings {
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
        let c =
            LookupSettings::from_env(&[(URL_VAR, "https://api.example.com/v1/user-info")]).unwrap();
        assert_eq!(c.url.as_str(), "https://api.example.com/v1/user-info");
        assert!(matches!(c.token, TokenSource::None));
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_token_never_goes_to_plain_http_unless_allowed() {
        let e =
            LookupSettings::from_env(&[(URL_VAR, "http://h/"), (TOKEN_VAR, "tok")]).unwrap_err();
        assert_eq!(e.variable, URL_VAR);
        assert!(e.to_string().contains("cleartext") && !e.to_string().contains("tok\""));
        let e = LookupSettings::from_env(&[(URL_VAR, "http://h/"), (TOKEN_SECRET_VAR, "arn:x")])
            .unwrap_err();
        assert_eq!(e.variable, URL_VAR);
        assert!(LookupSettings::from_env(&[(URL_VAR, "https://h/"), (TOKEN_VAR, "tok")]).is_ok());
        assert!(
            LookupSettings::from_env(&[(URL_VAR, "http://h/")]).is_ok(),
            "no token, nothing to leak"
        );
        assert!(LookupSettings::from_env(&[
            (URL_VAR, "http://h/"),
            (TOKEN_VAR, "tok"),
            (ALLOW_HTTP_VAR, "true")
        ])
        .is_ok());
        let e = LookupSettings::from_env(&[(URL_VAR, "http://h/"), (ALLOW_HTTP_VAR, "maybe")])
            .unwrap_err();
        assert_eq!(e.variable, ALLOW_HTTP_VAR);
    }

    #[test]
    fn token_timeout_and_secret() {
        let c = LookupSettings::from_env(&[
            (URL_VAR, "http://127.0.0.1:9/x?k=v"),
            (TOKEN_VAR, " tok "),
            (TIMEOUT_VAR, "0.3"),
            (ALLOW_HTTP_VAR, "true"),
        ])
        .unwrap();
        assert!(matches!(&c.token, TokenSource::Direct(t) if t.expose_secret() == "tok"));
        assert_eq!(c.timeout, Duration::from_millis(300));
        let c = LookupSettings::from_env(&[
            (URL_VAR, "https://h/"),
            (TOKEN_SECRET_VAR, "arn:aws:secretsmanager:x"),
        ])
        .unwrap();
        assert!(matches!(&c.token, TokenSource::Secret(a) if a == "arn:aws:secretsmanager:x"));
    }

    #[test]
    fn errors_name_the_variable() {
        let missing: [(&str, &str); 0] = [];
        assert_eq!(
            LookupSettings::from_env(&missing).unwrap_err().variable,
            URL_VAR
        );
        assert_eq!(
            LookupSettings::from_env(&[(URL_VAR, "not a url")])
                .unwrap_err()
                .variable,
            URL_VAR
        );
        assert_eq!(
            LookupSettings::from_env(&[(URL_VAR, "ftp://h/x")])
                .unwrap_err()
                .variable,
            URL_VAR
        );
        for bad in ["abc", "0", "61", "-1"] {
            assert_eq!(
                LookupSettings::from_env(&[(URL_VAR, "http://h/"), (TIMEOUT_VAR, bad)])
                    .unwrap_err()
                    .variable,
                TIMEOUT_VAR
            );
        }
        let both = LookupSettings::from_env(&[
            (URL_VAR, "http://h/"),
            (TOKEN_VAR, "t"),
            (TOKEN_SECRET_VAR, "arn"),
        ])
        .unwrap_err();
        assert!(both.to_string().contains(TOKEN_SECRET_VAR));
        assert!(!both.to_string().contains(": t"), "{both}");
    }
}
