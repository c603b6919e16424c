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
//! optional answer cache), [`schema`] (each action's input and output JSON Schemas, from which `gcx-actions` writes the Genesys files),
//! [`config`] (environment), [`error`] (outcome names and messages).

#![warn(missing_docs)]

pub mod action;
pub mod actions;
pub mod cache;
pub mod config;
pub mod error;
pub mod schema;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gcx_core::config::{ConfigError, Env};
use gcx_core::lambda::{Function, Invocation, Never, Outcome};
use gcx_core::metrics::Unit;
use serde_json::{Map, Value};

use crate::action::{Aws, Served};
pub use crate::action::{Record, Response};
pub use crate::actions::customer_lookup::output::Output;
use crate::cache::Cache;
use crate::config::Settings;
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

impl Outcome for Response {
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
    /// Builds every action `settings` configures, each with its cache when it is cached. The AWS configuration
    /// is loaded only if an action needs it (a secret, a table), so a customer-lookup-only init makes no AWS
    /// call.
    pub async fn build_from(settings: Settings) -> Result<App, ConfigError> {
        let aws = Aws::default();
        let mut actions: Vec<Box<dyn Served>> = Vec::new();
        for configured in settings.actions {
            let cache = settings
                .cache
                .caches(configured.name())
                .then(|| Cache::new(settings.cache.ttl, settings.cache.max_entries));
            actions.push(configured.build(&aws, cache).await?);
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
    pub async fn answer(&self, event: &Value, deadline: Instant) -> Response {
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
    fn unknown_action(&self) -> Response {
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
    type Output = Response;
    /// Every outcome is an answer: Architect only takes its Failure path on a thrown error.
    type Error = Never;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    /// Each action served reads its secrets and builds its clients ([`action::Build`]).
    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        App::build_from(settings).await
    }

    /// Answers before the deadline minus [`SAFETY_MARGIN`].
    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Response, Never> {
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
        let app = App::build_from(settings).await.unwrap();
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
