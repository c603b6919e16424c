//! The framework's environment, read once at init (see `docs/contracts.md`, section data-action): the default
//! action, which actions the function serves (each reads its own settings: [`crate::action::Build`]), and the
//! cache.
//!
//! A missing or invalid value is a [`ConfigError`] naming the variable; the runtime shell reports it and
//! exits, so a misconfigured function fails at init instead of answering every call with an error.

use std::num::NonZeroUsize;
use std::time::Duration;

use gcx_core::config::{ConfigError, Env};
use gcx_core::setting::Setting;

use crate::action::Configured;
use crate::actions::{ACTIONS, ACTION_NAMES};

/// The action an event without an `action` field goes to.
pub const DEFAULT_ACTION: Setting = Setting::optional("DEFAULT_ACTION", "`customer-lookup`")
    .doc("The action for events without an `action` field: one of the actions this binary knows.");
/// Actions whose successful answers are cached.
pub const CACHE_ACTIONS: Setting = Setting::list("CACHE_ACTIONS", "none", &ACTION_NAMES)
    .parameter("DataActionCacheActions")
    .doc("Data actions whose successful answers are cached in the function's memory (off by default: cache only lookups whose data may be that old).");
/// Seconds a cached answer is kept.
pub const CACHE_TTL: Setting = Setting::seconds(
    "CACHE_TTL",
    Duration::from_secs(60),
    Duration::from_millis(1),
    Duration::from_secs(24 * 3600),
)
.parameter("DataActionCacheTtl")
.doc("Seconds a cached answer is kept.");
/// Answers kept per cached action.
pub const CACHE_MAX_ENTRIES: Setting = Setting::whole("CACHE_MAX_ENTRIES", 1000, 1, 1_000_000)
    .unit("answers")
    .doc("Answers kept per cached action; the least recently used goes first.");

/// The action an event without an `action` field goes to.
pub const DEFAULT_ACTION_VAR: &str = DEFAULT_ACTION.variable;
/// Actions whose successful answers are cached (comma list; unset or `none`: no cache).
pub const CACHE_ACTIONS_VAR: &str = CACHE_ACTIONS.variable;
/// Seconds a cached answer is kept.
pub const CACHE_TTL_VAR: &str = CACHE_TTL.variable;
/// Answers kept per cached action.
pub const CACHE_MAX_ENTRIES_VAR: &str = CACHE_MAX_ENTRIES.variable;

/// The framework's variables (each action declares its own: [`crate::action::Build::SETTINGS`]).
pub const SETTINGS: &[Setting] = &[DEFAULT_ACTION, CACHE_ACTIONS, CACHE_TTL, CACHE_MAX_ENTRIES];

/// Everything the data action reads from its environment.
#[derive(Debug)]
pub struct Settings {
    /// [`DEFAULT_ACTION_VAR`], one of [`ACTION_NAMES`] (the first when unset).
    pub default_action: &'static str,
    /// The actions served, in [`ACTIONS`] order, with their settings: the default one, and each other one
    /// whose variables are set.
    pub actions: Vec<Box<dyn Configured>>,
    /// The answer cache.
    pub cache: CacheSettings,
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
        let default_action = match DEFAULT_ACTION.read_optional(env) {
            None => ACTION_NAMES[0],
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
        let mut actions = Vec::new();
        for entry in ACTIONS {
            if let Some(configured) = (entry.configure)(env, entry.name == default_action)? {
                actions.push(configured);
            }
        }
        Ok(Settings {
            default_action,
            actions,
            cache: CacheSettings::from_env(env)?,
        })
    }

    /// Whether `action` is served.
    pub fn serves(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name() == action)
    }
}

impl CacheSettings {
    fn from_env(env: &dyn Env) -> Result<CacheSettings, ConfigError> {
        let actions = CACHE_ACTIONS.read_list(env)?.unwrap_or_default();
        let ttl = CACHE_TTL.read_seconds(env)?;
        let max_entries = CACHE_MAX_ENTRIES.read_whole(env)? as usize;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::customer_lookup::settings::URL_VAR;
    use crate::actions::recent_contact::{DEFAULT_CUSTOMER_INDEX, TABLE_VAR};
    use crate::actions::{CUSTOMER_LOOKUP, RECENT_CONTACT};

    #[test]
    fn the_default_action_and_which_actions_are_served() {
        let s = Settings::from_env(&[(URL_VAR, "https://h/")]).unwrap();
        assert_eq!(s.default_action, CUSTOMER_LOOKUP);
        assert!(s.serves(CUSTOMER_LOOKUP) && !s.serves(RECENT_CONTACT));
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
        assert!(!s.serves(CUSTOMER_LOOKUP) && s.serves(RECENT_CONTACT));
        let read = format!("{:?}", s.actions[0]);
        assert!(
            read.contains("\"t\"") && read.contains(DEFAULT_CUSTOMER_INDEX),
            "{read}"
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
