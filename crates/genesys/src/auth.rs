//! OAuth client credentials for Genesys Cloud, and the per-container access-token cache.
//!
//! `POST https://login.<domain>/oauth/token` with HTTP Basic auth and `grant_type=client_credentials`
//! (Genesys: *Client Credentials Grant*, developer.genesys.cloud/authorization/platform-auth/use-client-credentials).
//! The cache is single-flight: however many callers find it empty or expired at
//! once, exactly one token request goes out and every caller gets its result.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::GenesysError;
use super::limiter::RateLimiter;
use super::response::{classify, Endpoint, Usable};
use gcx_core::config::{optional, ConfigError, Env};
use gcx_core::http::read_bounded;
use gcx_core::setting::Setting;

/// An OAuth client's id and secret. `Debug` redacts the secret; there is no `Display`.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The OAuth client id (not secret, but not logged either).
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: Arc<SecretString>,
}

impl Credentials {
    /// Builds credentials from an id and a secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Arc::new(SecretString::from(client_secret.into())),
        }
    }

    /// Parses the secret's JSON `{"client_id", "client_secret"}`. The error never quotes the content.
    pub fn from_secret_json(json: &str) -> Result<Self, ConfigError> {
        #[derive(serde::Deserialize)]
        struct Raw {
            client_id: String,
            client_secret: String,
        }
        let raw: Raw = serde_json::from_str(json).map_err(|e| {
            ConfigError::new(
                SECRET_ARN_VAR,
                format!(
                    "the secret must be JSON {{\"client_id\": \"...\", \"client_secret\": \"...\"}} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if raw.client_id.trim().is_empty() || raw.client_secret.is_empty() {
            return Err(ConfigError::new(
                SECRET_ARN_VAR,
                "client_id and client_secret must not be empty",
            ));
        }
        Ok(Self::new(raw.client_id.trim(), raw.client_secret))
    }
}

/// The variable naming the Secrets Manager secret with the OAuth client (what the template sets).
pub const SECRET_ARN_VAR: &str = GENESYS_CREDENTIALS_SECRET_ARN.variable;

/// The OAuth client's secret, as deployed.
pub const GENESYS_CREDENTIALS_SECRET_ARN: Setting = Setting::optional(
    "GENESYS_CREDENTIALS_SECRET_ARN",
    "`GENESYS_CLIENT_ID` and `GENESYS_CLIENT_SECRET`",
)
.doc("Secrets Manager JSON `{\"client_id\",\"client_secret\"}`, read once at init (what the template sets).");

/// The OAuth client id, for local runs.
pub const GENESYS_CLIENT_ID: Setting = Setting::optional("GENESYS_CLIENT_ID", "—").doc(
    "The OAuth client id from the environment (local runs only; with `GENESYS_CLIENT_SECRET`).",
);

/// The OAuth client secret, for local runs.
pub const GENESYS_CLIENT_SECRET: Setting = Setting::optional("GENESYS_CLIENT_SECRET", "—")
    .doc("The OAuth client secret from the environment (local runs only).");

/// Every variable the Genesys client reads.
pub const SETTINGS: &[Setting] = &[
    super::region::GENESYS_ENV,
    GENESYS_CREDENTIALS_SECRET_ARN,
    GENESYS_CLIENT_ID,
    GENESYS_CLIENT_SECRET,
    super::region::GENESYS_LOGIN_URL,
    super::region::GENESYS_API_URL,
];

/// Where the OAuth client comes from, as read at init (the secret itself is read by [`Self::resolve`]).
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// `GENESYS_CLIENT_ID` + `GENESYS_CLIENT_SECRET` (local runs).
    Direct(Credentials),
    /// `GENESYS_CREDENTIALS_SECRET_ARN`: JSON `{"client_id", "client_secret"}` in Secrets Manager.
    Secret(String),
}

impl CredentialSource {
    /// Reads the variables; the secret ARN wins when set.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        if let Some(arn) = optional(env, SECRET_ARN_VAR) {
            return Ok(Self::Secret(arn));
        }
        match (
            GENESYS_CLIENT_ID.read_optional(env),
            GENESYS_CLIENT_SECRET.read_optional(env),
        ) {
            (Some(id), Some(secret)) => Ok(Self::Direct(Credentials::new(id, secret))),
            (None, _) => Err(ConfigError::new(
                "GENESYS_CLIENT_ID",
                "is required (with GENESYS_CLIENT_SECRET) unless GENESYS_CREDENTIALS_SECRET_ARN is set",
            )),
            (Some(_), None) => Err(ConfigError::new(
                "GENESYS_CLIENT_SECRET",
                "is required with GENESYS_CLIENT_ID unless GENESYS_CREDENTIALS_SECRET_ARN is set",
            )),
        }
    }

    /// The credentials, reading the secret once when that is where they are.
    pub async fn resolve(&self) -> Result<Credentials, ConfigError> {
        match self {
            Self::Direct(c) => Ok(c.clone()),
            Self::Secret(arn) => {
                let sdk = gcx_core::aws::sdk_config().await;
                let secret = gcx_core::aws::read_secret(&sdk, SECRET_ARN_VAR, arn).await?;
                Credentials::from_secret_json(secret.expose_secret())
            }
        }
    }
}

/// An access token handed out by the cache. Cheap to clone; `Debug` is redacted.
#[derive(Clone)]
pub struct AccessToken(Arc<SecretString>);

impl AccessToken {
    /// The bearer value, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// The per-container token cache. Clone it freely: clones share one cache.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    token_url: reqwest::Url,
    credentials: Credentials,
    timeout: Duration,
    state: Mutex<Option<Cached>>,
    requests: AtomicU64,
    budget: Option<RateLimiter>,
}

/// Longest a token request waits for a slot of the budget before giving up with `Genesys.OverBudget`.
pub const MAX_TOKEN_WAIT: Duration = Duration::from_secs(5);

/// How long before `expires_in` a token is refreshed: 60 s, or a tenth of a short lifetime.
fn refresh_margin(expires_in: Duration) -> Duration {
    (expires_in / 10).min(Duration::from_secs(60))
}

/// The token endpoint's success body.
#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenCache {
    /// A cache that fetches from `token_url` with `credentials`, each request bounded by `timeout`.
    ///
    /// With a `budget`, each token request takes a slot of it first (waiting up to [`MAX_TOKEN_WAIT`]):
    /// every request to Genesys counts, the token's too.
    pub fn new(
        http: reqwest::Client,
        token_url: reqwest::Url,
        credentials: Credentials,
        timeout: Duration,
        budget: Option<RateLimiter>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                token_url,
                credentials,
                timeout,
                state: Mutex::new(None),
                requests: AtomicU64::new(0),
                budget,
            }),
        }
    }

    /// A valid token: the cached one, or a new one fetched by exactly one of the concurrent callers.
    pub async fn token(&self) -> Result<AccessToken, GenesysError> {
        // Holding the lock across the fetch is what makes it single-flight: later callers wait here
        // and then find the fresh token.
        let mut state = self.inner.state.lock().await;
        if let Some(cached) = state.as_ref() {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        let (token, lifetime) = self.fetch().await?;
        *state = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - refresh_margin(lifetime),
        });
        Ok(token)
    }

    /// Drops `rejected` from the cache (after a 401), unless another caller already replaced it.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut state = self.inner.state.lock().await;
        if state
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.token.0, &rejected.0))
        {
            *state = None;
        }
    }

    /// How many token requests this cache has sent (for tests and the benchmark).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<(AccessToken, Duration), GenesysError> {
        if let Some(limiter) = &self.inner.budget {
            limiter
                .acquire(MAX_TOKEN_WAIT)
                .await
                .map_err(|wait| GenesysError::OverBudget { wait })?;
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let creds = &self.inner.credentials;
        let response = self
            .inner
            .http
            .post(self.inner.token_url.clone())
            .basic_auth(&creds.client_id, Some(creds.client_secret.expose_secret()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body("grant_type=client_credentials")
            .timeout(self.inner.timeout)
            .send()
            .await
            .map_err(|e| GenesysError::transport("token request", &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_bounded(response, 64 * 1024).await;
        let Usable::Body(body) = classify(Endpoint::Token, status, &headers, body)? else {
            return Err(GenesysError::BadResponse {
                reason: "token endpoint answered HTTP 404 (check GENESYS_LOGIN_URL)".into(),
            });
        };
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| GenesysError::BadResponse {
                reason: format!("token response is not the expected JSON ({e})"),
            })?;
        if parsed.access_token.is_empty() {
            return Err(GenesysError::BadResponse {
                reason: "token response has an empty access_token".into(),
            });
        }
        // Genesys always sends expires_in; without it, assume the shortest lifetime an org can set.
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(300).max(1));
        Ok((
            AccessToken(Arc::new(SecretString::from(parsed.access_token))),
            lifetime,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credentials::new("id", "s3cr3t-value");
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        let t = AccessToken(Arc::new(SecretString::from("tok-123".to_owned())));
        assert_eq!(format!("{t:?}"), "AccessToken([REDACTED])");
    }

    #[test]
    fn secret_json_is_parsed_without_quoting_it_on_error() {
        let c =
            Credentials::from_secret_json(r#"{"client_id":"abc","client_secret":"xyz"}"#).unwrap();
        assert_eq!(c.client_id, "abc");
        assert_eq!(c.client_secret.expose_secret(), "xyz");
        let e = Credentials::from_secret_json(r#"{"client_id":"abc","clientSecret":"leak-me"}"#)
            .unwrap_err();
        assert!(!e.to_string().contains("leak-me"), "{e}");
        assert_eq!(e.variable, "GENESYS_CREDENTIALS_SECRET_ARN");
    }

    #[test]
    fn env_needs_both_id_and_secret_unless_a_secret_is_named() {
        let e = CredentialSource::from_env(&[("GENESYS_CLIENT_ID", "a")]).unwrap_err();
        assert_eq!(e.variable, "GENESYS_CLIENT_SECRET");
        let e = CredentialSource::from_env(&[("X", "")]).unwrap_err();
        assert_eq!(e.variable, "GENESYS_CLIENT_ID");
        let direct = CredentialSource::from_env(&[
            ("GENESYS_CLIENT_ID", "a"),
            ("GENESYS_CLIENT_SECRET", "b"),
        ])
        .unwrap();
        assert!(matches!(direct, CredentialSource::Direct(c) if c.client_id == "a"));
        let secret = CredentialSource::from_env(&[
            ("GENESYS_CLIENT_ID", "a"),
            (
                SECRET_ARN_VAR,
                "arn:aws:secretsmanager:us-east-1:1:secret:x",
            ),
        ])
        .unwrap();
        assert!(matches!(secret, CredentialSource::Secret(_)));
    }

    #[test]
    fn margin_is_bounded() {
        assert_eq!(
            refresh_margin(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
    }
}
