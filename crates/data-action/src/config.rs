//! The data action's environment, read once at init (see `docs/contracts.md`, section data-action): which
//! actions the function serves, each action's settings, and the cache.
//!
//! A missing or invalid value is a [`ConfigError`] naming the variable; the runtime shell reports it and
//! exits, so a misconfigured function fails at init instead of answering every call with an error.

use std::num::NonZeroUsize;
use std::time::Duration;

use gcx_core::config::{
    flag, integer, list_of, optional, seconds, secret_source, url, ConfigError, Env, SecretSource,
};
use gcx_core::customer::{customer_key_source, CustomerKeySource};

use crate::actions::{ACTION_NAMES, CUSTOMER_LOOKUP, RECENT_CONTACT};

/// The action an event without an `action` field goes to.
pub const DEFAULT_ACTION_VAR: &str = "DEFAULT_ACTION";
/// Actions whose successful answers are cached (comma list; unset or `none`: no cache).
pub const CACHE_ACTIONS_VAR: &str = "CACHE_ACTIONS";
/// Seconds a cached answer is kept.
pub const CACHE_TTL_VAR: &str = "CACHE_TTL";
/// Answers kept per cached action.
pub const CACHE_MAX_ENTRIES_VAR: &str = "CACHE_MAX_ENTRIES";
/// The pipeline's conversations table (recent-contact); setting it serves recent-contact.
pub const TABLE_VAR: &str = "TABLE_NAME";
/// The table's index by customer key and contact time (recent-contact).
pub const CUSTOMER_INDEX_VAR: &str = "CUSTOMER_INDEX";
/// Seconds a recent-contact query may take.
pub const STORE_TIMEOUT_VAR: &str = "STORE_TIMEOUT";

/// Default for [`CUSTOMER_INDEX_VAR`]: the index `template.yaml` creates.
pub const DEFAULT_CUSTOMER_INDEX: &str = "CustomerRecency";
/// Default for [`CACHE_TTL_VAR`].
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default for [`CACHE_MAX_ENTRIES_VAR`].
pub const DEFAULT_CACHE_MAX_ENTRIES: usize = 1000;
/// Default for [`STORE_TIMEOUT_VAR`].
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything the data action reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// [`DEFAULT_ACTION_VAR`], one of [`ACTION_NAMES`].
    pub default_action: &'static str,
    /// customer-lookup, when served: `EXTERNAL_API_URL` is set, or it is the default action.
    pub lookup: Option<LookupSettings>,
    /// recent-contact, when served: `TABLE_NAME` is set, or it is the default action.
    pub recent: Option<RecentSettings>,
    /// The answer cache.
    pub cache: CacheSettings,
}

/// recent-contact's settings.
#[derive(Debug, Clone)]
pub struct RecentSettings {
    /// The conversations table.
    pub table: String,
    /// Its index by `customerKey` and `customerContactAt`.
    pub index: String,
    /// Where the HMAC key of customer addresses comes from (the pipeline's key).
    pub key: CustomerKeySource,
    /// Budget for the query.
    pub timeout: Duration,
}

/// The cache's settings.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// The cached actions (empty: the cache is off).
    pub actions: Vec<String>,
    /// How long an answer is kept.
    pub ttl: Duration,
    /// Answers kept per action.
    pub max_entries: NonZeroUsize,
}

impl Settings {
    /// Reads and validates the environment; errors name the variable at fault.
    pub fn from_env(env: &dyn Env) -> Result<Settings, ConfigError> {
        let default_action = match optional(env, DEFAULT_ACTION_VAR) {
            None => CUSTOMER_LOOKUP,
            Some(name) => ACTION_NAMES
                .iter()
                .copied()
                .find(|known| *known == name)
                .ok_or_else(|| {
                    ConfigError::new(
                        DEFAULT_ACTION_VAR,
                        format!(
                            "unknown action {name:?}; use one of: {}",
                            ACTION_NAMES.join(", ")
                        ),
                    )
                })?,
        };
        let lookup = if default_action == CUSTOMER_LOOKUP || optional(env, URL_VAR).is_some() {
            Some(LookupSettings::from_env(env)?)
        } else {
            None
        };
        let recent = if default_action == RECENT_CONTACT || optional(env, TABLE_VAR).is_some() {
            Some(RecentSettings::from_env(env)?)
        } else {
            None
        };
        let cache = CacheSettings::from_env(env)?;
        Ok(Settings {
            default_action,
            lookup,
            recent,
            cache,
        })
    }
}

impl RecentSettings {
    fn from_env(env: &dyn Env) -> Result<RecentSettings, ConfigError> {
        let table = optional(env, TABLE_VAR)
            .ok_or_else(|| ConfigError::new(TABLE_VAR, "is required to serve recent-contact"))?;
        let key = customer_key_source(env)?;
        if matches!(key, CustomerKeySource::None) {
            return Err(ConfigError::new(
                gcx_core::customer::CUSTOMER_KEY_SECRET_VAR,
                "is required to serve recent-contact (the pipeline's customer key)",
            ));
        }
        Ok(RecentSettings {
            table,
            index: optional(env, CUSTOMER_INDEX_VAR)
                .unwrap_or_else(|| DEFAULT_CUSTOMER_INDEX.to_owned()),
            key,
            timeout: seconds(
                env,
                STORE_TIMEOUT_VAR,
                DEFAULT_STORE_TIMEOUT,
                Duration::from_millis(10),
                MAX_TIMEOUT,
            )?,
        })
    }
}

impl CacheSettings {
    fn from_env(env: &dyn Env) -> Result<CacheSettings, ConfigError> {
        let actions = list_of(env, CACHE_ACTIONS_VAR, &ACTION_NAMES)?.unwrap_or_default();
        let ttl = seconds(
            env,
            CACHE_TTL_VAR,
            DEFAULT_CACHE_TTL,
            Duration::from_millis(1),
            Duration::from_secs(24 * 3600),
        )?;
        let max_entries = integer(
            env,
            CACHE_MAX_ENTRIES_VAR,
            DEFAULT_CACHE_MAX_ENTRIES,
            1,
            1_000_000,
        )?;
        Ok(CacheSettings {
            actions,
            ttl,
            max_entries: NonZeroUsize::new(max_entries).unwrap_or(NonZeroUsize::MIN),
        })
    }

    /// Whether `action`'s answers are cached.
    pub fn caches(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action)
    }
}

/// The upstream endpoint; required, an absolute http(s) URL (its own query is kept).
pub const URL_VAR: &str = "EXTERNAL_API_URL";
/// A bearer token for the upstream, given directly.
pub const TOKEN_VAR: &str = "EXTERNAL_API_TOKEN";
/// A Secrets Manager secret whose `SecretString` is the bearer token, read once at init.
pub const TOKEN_SECRET_VAR: &str = "EXTERNAL_API_TOKEN_SECRET_ARN";
/// `true` lets a bearer token go to an `http://` upstream: for local stand-ins and test upstreams (the template
/// sets it only with its explicit `ExternalApiInsecureUrl` parameter; its `ExternalApiUrl` takes https only).
pub const ALLOW_HTTP_VAR: &str = "EXTERNAL_API_ALLOW_HTTP";
/// Seconds the whole upstream exchange (retry included) may take; fractions allowed.
pub const TIMEOUT_VAR: &str = "EXTERNAL_API_TIMEOUT";

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

impl LookupSettings {
    /// Reads and validates customer-lookup's variables; errors name the variable at fault.
    pub fn from_env(env: &dyn Env) -> Result<LookupSettings, ConfigError> {
        let url = url(env, URL_VAR)?;
        let token = secret_source(env, TOKEN_VAR, TOKEN_SECRET_VAR)?;
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

    #[test]
    fn the_default_action_and_which_actions_are_served() {
        let s = Settings::from_env(&[(URL_VAR, "https://h/")]).unwrap();
        assert_eq!(s.default_action, CUSTOMER_LOOKUP);
        assert!(s.lookup.is_some() && s.recent.is_none());
        assert!(s.cache.actions.is_empty(), "the cache is off by default");

        let e = Settings::from_env(&[(URL_VAR, "https://h/"), (DEFAULT_ACTION_VAR, "nope")])
            .unwrap_err();
        assert_eq!(e.variable, DEFAULT_ACTION_VAR);
        assert!(
            e.to_string().contains("customer-lookup, recent-contact"),
            "{e}"
        );

        // recent-contact alone: no upstream URL needed, but the table and the key are.
        let e = Settings::from_env(&[(DEFAULT_ACTION_VAR, RECENT_CONTACT)]).unwrap_err();
        assert_eq!(e.variable, TABLE_VAR);
        let e = Settings::from_env(&[(DEFAULT_ACTION_VAR, RECENT_CONTACT), (TABLE_VAR, "t")])
            .unwrap_err();
        assert_eq!(e.variable, gcx_core::customer::CUSTOMER_KEY_SECRET_VAR);
        let s = Settings::from_env(&[
            (DEFAULT_ACTION_VAR, RECENT_CONTACT),
            (TABLE_VAR, "t"),
            (
                gcx_core::customer::CUSTOMER_KEY_VAR,
                "0123456789abcdef0123456789abcdef",
            ),
        ])
        .unwrap();
        assert!(s.lookup.is_none());
        let recent = s.recent.unwrap();
        assert_eq!(
            (recent.table.as_str(), recent.index.as_str()),
            ("t", DEFAULT_CUSTOMER_INDEX)
        );
    }

    #[test]
    fn the_cache_settings() {
        let s = Settings::from_env(&[
            (URL_VAR, "https://h/"),
            (CACHE_ACTIONS_VAR, "customer-lookup"),
            (CACHE_TTL_VAR, "2.5"),
            (CACHE_MAX_ENTRIES_VAR, "10"),
        ])
        .unwrap();
        assert!(s.cache.caches(CUSTOMER_LOOKUP) && !s.cache.caches(RECENT_CONTACT));
        assert_eq!(s.cache.ttl, Duration::from_millis(2500));
        assert_eq!(s.cache.max_entries.get(), 10);
        for (var, bad) in [
            (CACHE_ACTIONS_VAR, "customer-lookup,other"),
            (CACHE_TTL_VAR, "0"),
            (CACHE_MAX_ENTRIES_VAR, "0"),
        ] {
            let e = Settings::from_env(&[(URL_VAR, "https://h/"), (var, bad)]).unwrap_err();
            assert_eq!(e.variable, var);
        }
    }
}
