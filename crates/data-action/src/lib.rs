//! The Genesys Cloud Architect data actions backed by one Lambda: several actions in one function, chosen by
//! the event's `action` field (`DEFAULT_ACTION` when it has none), each written in the small framework of
//! [`action`] (`docs/contracts.md`, section data-action).
//!
//! Every business outcome, including validation failures and upstream outages, is a *successful*
//! invocation with `success: false`, because Architect only takes its failure path on a thrown error and
//! voice flows cannot read failure outputs. Each invocation writes exactly one JSON log line; the raw
//! customer id, the token and the request URL never appear in logs.
//!
//! Modules: [`action`] (the framework), [`actions`] (customer-lookup, recent-contact), [`cache`] (the
//! optional answer cache), [`contract`] (the Genesys files `make actions` writes, and their lint),
//! [`config`] (environment), [`error`] (outcome names and messages).

#![warn(missing_docs)]

pub mod action;
pub mod actions;
pub mod cache;
pub mod config;
pub mod contract;
pub mod error;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gcx_core::config::{ConfigError, Env};
use gcx_core::lambda::{Function, Invocation, Never, Outcome};
use gcx_core::metrics::Unit;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub use crate::action::{Answer, Record};
use crate::action::{Registered, Served};
pub use crate::actions::customer_lookup::output::Output;
use crate::actions::customer_lookup::CustomerLookup;
use crate::actions::recent_contact::RecentContactAction;
use crate::cache::Cache;
use crate::config::{Settings, TokenSource, TOKEN_SECRET_VAR};
pub use crate::error::{ActionError, InvalidInput};

/// Time kept in hand before the Lambda deadline to serialize and post the answer, so the function
/// always answers before Lambda would stop it.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(250);

/// Everything built once at init and shared by all invocations: the actions served, by name.
#[derive(Clone)]
pub struct App {
    actions: Arc<[Box<dyn Served>]>,
    /// Index in `actions` of the action for events without an `action` field.
    default: usize,
    /// The unknown-action message, listing the served actions (built once).
    unknown: &'static str,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.actions.iter().map(|a| a.name()).collect();
        f.debug_struct("App")
            .field("actions", &names)
            .field("default", &names[self.default])
            .finish()
    }
}

impl Outcome for Answer {
    fn outcome(&self) -> &'static str {
        self.record.error.map_or("ok", |e| e.name())
    }

    fn level(&self) -> tracing::Level {
        match self.record.error {
            None | Some(ActionError::Validation(_) | ActionError::NotFound) => tracing::Level::INFO,
            Some(ActionError::Internal(_)) => tracing::Level::ERROR,
            Some(_) => tracing::Level::WARN,
        }
    }

    /// `action`, `detail` (a fixed phrase), `customer_ref`, `upstream_status`, `upstream_latency_ms`,
    /// `attempts`, `cache`: never the input, the token or the URL.
    fn fields(&self, fields: &mut Map<String, Value>) {
        let r = &self.record;
        fields.insert("action".into(), r.action.into());
        fields.insert("detail".into(), r.error.map_or("", |e| e.detail()).into());
        fields.insert(
            "customer_ref".into(),
            r.customer_ref.clone().unwrap_or_default().into(),
        );
        if let Some(status) = r.facts.upstream_status {
            fields.insert("upstream_status".into(), status.into());
        }
        fields.insert(
            "upstream_latency_ms".into(),
            millis(r.facts.upstream_latency).into(),
        );
        fields.insert("attempts".into(), r.facts.attempts.into());
        if let Some(cache) = r.cache {
            fields.insert("cache".into(), cache.name().into());
        }
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[
            ("upstream_latency_ms", Unit::Milliseconds),
            ("attempts", Unit::Count),
        ]
    }
}

impl App {
    /// An app serving customer-lookup only (what a function without `TABLE_NAME` serves), with `token`
    /// as its bearer token: no AWS call, for tests and local runs.
    pub fn new(settings: &Settings, token: Option<&SecretString>) -> Result<App, ConfigError> {
        App::serving(settings, token, None)
    }

    /// An app serving every action `settings` configures; `recent` is recent-contact, built by the
    /// caller (it needs the AWS SDK).
    pub fn serving(
        settings: &Settings,
        token: Option<&SecretString>,
        recent: Option<RecentContactAction>,
    ) -> Result<App, ConfigError> {
        let cache = |name: &str| {
            settings
                .cache
                .caches(name)
                .then(|| Cache::new(settings.cache.ttl, settings.cache.max_entries))
        };
        let mut actions: Vec<Box<dyn Served>> = Vec::new();
        if let Some(lookup) = &settings.lookup {
            let action = CustomerLookup::new(lookup, token)?;
            actions.push(Box::new(Registered::new(
                action,
                cache(actions::CUSTOMER_LOOKUP),
            )));
        }
        if let Some(recent) = recent {
            actions.push(Box::new(Registered::new(
                recent,
                cache(actions::RECENT_CONTACT),
            )));
        }
        let default = actions
            .iter()
            .position(|a| a.name() == settings.default_action)
            .ok_or_else(|| {
                ConfigError::new(
                    config::DEFAULT_ACTION_VAR,
                    format!(
                        "names {}, which this function does not serve",
                        settings.default_action
                    ),
                )
            })?;
        let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
        // Built once per container and kept for its life: the error type holds `&'static str`s.
        let unknown: &'static str = Box::leak(
            format!(
                "Unknown action. This function serves: {}.",
                names.join(", ")
            )
            .into_boxed_str(),
        );
        Ok(App {
            actions: actions.into(),
            default,
            unknown,
        })
    }

    /// The names of the actions served.
    pub fn action_names(&self) -> Vec<&'static str> {
        self.actions.iter().map(|a| a.name()).collect()
    }

    /// Answers one event by `deadline`: the action named by its `action` field (the default action when
    /// there is none), validation, the action, the full output shape. Never fails, never panics on input.
    pub async fn answer(&self, event: &Value, deadline: Instant) -> Answer {
        let default = &self.actions[self.default];
        let Value::Object(fields) = event else {
            return default.failure(ActionError::Validation(InvalidInput::NotAnObject));
        };
        let served = match fields.get("action") {
            None | Some(Value::Null) => default,
            Some(Value::String(name)) => {
                match self.actions.iter().find(|a| a.name() == name.trim()) {
                    Some(served) => served,
                    None => return self.unknown_action(),
                }
            }
            Some(_) => return self.unknown_action(),
        };
        served.answer(fields, deadline).await
    }

    /// The default action's failure shape with a `ValidationError` listing the served actions.
    fn unknown_action(&self) -> Answer {
        let mut answer = self.actions[self.default].failure(ActionError::Validation(
            InvalidInput::UnknownAction(self.unknown),
        ));
        answer.record.action = "unknown";
        answer
    }
}

impl Function for App {
    const NAME: &'static str = "data-action";
    type Settings = Settings;
    type Output = Answer;
    /// Every outcome is an answer: Architect only takes its Failure path on a thrown error.
    type Error = Never;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    /// Reads the secrets configured (the upstream token, the customer key) and builds the table client
    /// only when recent-contact is served, so a customer-lookup-only init loads no SDK configuration.
    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        let token_source = settings.lookup.as_ref().map(|l| &l.token);
        let needs_sdk =
            matches!(token_source, Some(TokenSource::Secret(_))) || settings.recent.is_some();
        let sdk = if needs_sdk {
            Some(gcx_core::aws::sdk_config().await)
        } else {
            None
        };
        let token = match token_source {
            Some(source) => {
                gcx_core::aws::secret_value(source, TOKEN_SECRET_VAR, sdk.as_ref()).await?
            }
            None => None,
        };
        let recent = match (&settings.recent, &sdk) {
            (Some(recent), Some(sdk)) => {
                let keyer = gcx_core::customer::load_customer_keyer(&recent.key, Some(sdk))
                    .await?
                    .ok_or_else(|| {
                        ConfigError::new(
                            gcx_core::customer::CUSTOMER_KEY_SECRET_VAR,
                            "is required to serve recent-contact",
                        )
                    })?;
                let client = aws_sdk_dynamodb::Client::new(sdk);
                Some(RecentContactAction::new(client, keyer, recent))
            }
            _ => None,
        };
        App::serving(&settings, token.as_ref(), recent)
    }

    /// Answers before the deadline minus [`SAFETY_MARGIN`].
    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Answer, Never> {
        let deadline = invocation.deadline - SAFETY_MARGIN.min(invocation.remaining());
        Ok(self.answer(&event, deadline).await)
    }
}

/// Milliseconds with microsecond resolution (warm invocations take well under one millisecond).
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_keeps_microseconds() {
        assert_eq!(millis(Duration::from_micros(1234)), 1.234);
    }

    #[tokio::test]
    async fn the_answer_keeps_the_safety_margin() {
        let settings = Settings::from_env(&[("EXTERNAL_API_URL", "http://127.0.0.1:9/x")]).unwrap();
        let app = App::new(&settings, None).unwrap();
        // Less time left than the margin: no request is made, the answer is a timeout, at once.
        let invocation = Invocation::new("r", Duration::from_millis(100));
        let answer = app
            .handle(serde_json::json!({"customer_id": "1"}), &invocation)
            .await
            .unwrap();
        assert_eq!(answer.output["error"], "ExternalApiTimeout");
        assert_eq!(answer.record.facts.attempts, 0);
    }
}
