//! The framework a data action is written in. An action is an input type, an output type (both derive
//! `schemars::JsonSchema`, so `make actions` writes their Genesys contracts from the code) and one async
//! function ([`Action::run`]). The framework supplies the rest, identically for every action:
//!
//! - validation of the flat input ([`Action::parse`], with the helpers in [`fields`]);
//! - the time budget: [`Action::run`] is cut off at the invocation's deadline minus the safety margin,
//!   and the answer is then `ExternalApiTimeout`, so Genesys always gets an answer;
//! - the full output shape on every path: a failure is [`Action::failure`] (`success: false`, `error`,
//!   `message` and the action's defaults), because Genesys rejects any output that misses a field;
//! - the per-invocation log line (action, outcome, a one-way reference to the subject, never raw input);
//! - the optional cache ([`crate::cache`]);
//! - test support: [`Served::answer`] runs an action without the Lambda runtime;
//! - construction at init ([`Build`]): an action reads its own settings and builds itself, and
//!   `actions/mod.rs`'s [`crate::actions::ACTIONS`] is the one list of them.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use gcx_core::config::{ConfigError, Env};
use gcx_core::setting::Setting;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::cache::{Cache, CacheUse};
use crate::error::{ActionError, InvalidInput};
use crate::schema::ActionContract;

/// One data action. See the module documentation for what the framework does around it, and
/// `crates/data-action/src/actions/recent_contact.rs` for a complete example.
pub trait Action: Send + Sync + 'static {
    /// The name a request template puts in the event's `action` field (`customer-lookup`).
    const NAME: &'static str;
    /// The action's name in Genesys (the import file's `name`).
    const TITLE: &'static str;
    /// The validated input. Its JSON Schema is the action's input contract: flat (text, numbers, booleans).
    type Input: JsonSchema + Send;
    /// The flat output. Its JSON Schema is the output contract: it must have `success`, `message` and
    /// `error`, and every field on every path.
    type Output: Serialize + JsonSchema;

    /// Validates the event's fields (the flat object, or its `inputs` object: see [`fields::inputs`]).
    /// A rejection names the rule that failed, never the value.
    fn parse(event: &Map<String, Value>) -> Result<Self::Input, Rejected>;

    /// The answer for a failure: `success: false`, `error` = [`ActionError::name`], `message` =
    /// [`ActionError::message`], and the action's defaults in every other field.
    fn failure(error: &ActionError) -> Self::Output;

    /// A log-safe reference to what the input is about ([`gcx_core::redact::pii_ref`]), for the log line.
    fn subject_ref(_input: &Self::Input) -> Option<String> {
        None
    }

    /// The cache key of an input, for an idempotent lookup; `None` (the default) never caches.
    fn cache_key(_input: &Self::Input) -> Option<String> {
        None
    }

    /// Answers one validated input. `call` carries the deadline and collects facts for the log line.
    fn run(
        &self,
        input: Self::Input,
        call: &mut Call,
    ) -> impl Future<Output = Result<Self::Output, ActionError>> + Send;
}

/// How an action is made at init: its settings, read once, and its construction. With [`Action`], all an
/// action's module declares; [`entry`] turns it into its line of [`crate::actions::ACTIONS`].
pub trait Build: Action + Sized {
    /// What it reads from the environment.
    type Settings: std::fmt::Debug + Send + Sync + 'static;
    /// Every variable it reads, declared once (`make generate` documents them).
    const SETTINGS: &'static [Setting];

    /// Its settings when this function serves it, `None` when its variables are not set. `required`: it is
    /// `DEFAULT_ACTION`, so it is served and a missing variable is an error naming it.
    fn settings(env: &dyn Env, required: bool) -> Result<Option<Self::Settings>, ConfigError>;

    /// Builds it, once per container; [`Aws::sdk`] loads the AWS configuration the first time an action
    /// asks, so an action that needs none keeps init free of it.
    fn build(
        settings: Self::Settings,
        aws: &Aws,
    ) -> impl Future<Output = Result<Self, ConfigError>> + Send;
}

/// The AWS SDK configuration, loaded at most once, when the first action needs it.
#[derive(Debug, Default)]
pub struct Aws {
    sdk: OnceCell<aws_config::SdkConfig>,
}

impl Aws {
    /// The configuration, loaded on first use.
    pub async fn sdk(&self) -> &aws_config::SdkConfig {
        self.sdk.get_or_init(gcx_core::aws::sdk_config).await
    }
}

/// What [`Configured::build`] gives: the action, ready to serve.
pub type Building<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Served>, ConfigError>> + Send + 'a>>;

/// [`Build::settings`], its type erased: the action's settings when it is served.
pub type Configure = fn(&dyn Env, bool) -> Result<Option<Box<dyn Configured>>, ConfigError>;

/// An action's settings, read at init and waiting for [`Configured::build`]; its type erased.
pub trait Configured: std::fmt::Debug + Send + Sync {
    /// [`Action::NAME`].
    fn name(&self) -> &'static str;
    /// Builds the action and attaches its cache.
    fn build<'a>(self: Box<Self>, aws: &'a Aws, cache: Option<Cache>) -> Building<'a>;
}

struct Pending<A: Build>(A::Settings);

impl<A: Build> std::fmt::Debug for Pending<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple(A::NAME).field(&self.0).finish()
    }
}

impl<A: Build> Configured for Pending<A> {
    fn name(&self) -> &'static str {
        A::NAME
    }

    fn build<'a>(self: Box<Self>, aws: &'a Aws, cache: Option<Cache>) -> Building<'a> {
        Box::pin(async move {
            let action = A::build(self.0, aws).await?;
            Ok(Box::new(Registered::new(action, cache)) as Box<dyn Served>)
        })
    }
}

/// One line of [`crate::actions::ACTIONS`]: what the framework needs of an action, its type erased.
#[derive(Clone, Copy)]
pub struct Entry {
    /// [`Action::NAME`].
    pub name: &'static str,
    /// [`Build::SETTINGS`].
    pub settings: &'static [Setting],
    /// [`Build::settings`], boxed.
    pub configure: Configure,
    /// Its Genesys contract, for `make actions`.
    pub contract: fn() -> ActionContract,
}

/// The entry of action `A`.
pub const fn entry<A: Build>() -> Entry {
    Entry {
        name: A::NAME,
        settings: A::SETTINGS,
        configure: configure::<A>,
        contract: crate::schema::of::<A>,
    }
}

fn configure<A: Build>(
    env: &dyn Env,
    required: bool,
) -> Result<Option<Box<dyn Configured>>, ConfigError> {
    Ok(A::settings(env, required)?.map(|s| Box::new(Pending::<A>(s)) as Box<dyn Configured>))
}

/// A rejected event: why, and a log-safe reference to its subject when there was one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The validation rule that failed.
    pub reason: InvalidInput,
    /// [`gcx_core::redact::pii_ref`] of the subject (the customer id), when there was one.
    pub customer_ref: Option<String>,
}

impl Rejected {
    /// A rejection without a subject reference.
    pub fn because(reason: InvalidInput) -> Rejected {
        Rejected {
            reason,
            customer_ref: None,
        }
    }
}

/// One invocation of an action: its deadline, and what it did, for the log line.
#[derive(Debug, Clone)]
pub struct Call {
    /// When the answer must be ready (the Lambda deadline minus the safety margin).
    pub deadline: Instant,
    /// The facts the action reports.
    pub facts: Facts,
}

impl Call {
    /// A call that must be answered by `deadline`.
    pub fn new(deadline: Instant) -> Call {
        Call {
            deadline,
            facts: Facts::default(),
        }
    }

    /// The time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// What an action did outside the function, for the log line and the metrics.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The last HTTP status received from the upstream, if any.
    pub upstream_status: Option<u16>,
    /// Requests started (upstream or table).
    pub attempts: u32,
    /// Time spent in those requests.
    pub upstream_latency: Duration,
    /// A log-safe reference to the subject that only the action can make (a keyed one); it replaces
    /// [`Action::subject_ref`]'s.
    pub subject_ref: Option<String>,
}

/// What an invocation did, for its single log line.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The action that answered (`unknown` for an unknown name).
    pub action: &'static str,
    /// `None` on success.
    pub error: Option<ActionError>,
    /// [`gcx_core::redact::pii_ref`] of the subject, when there was one.
    pub customer_ref: Option<String>,
    /// Calls made.
    pub facts: Facts,
    /// Whether the cache answered, when the action is cached.
    pub cache: Option<CacheUse>,
}

/// What the function responds to Genesys: the output object (all Genesys sees), and what the log line says about it.
#[derive(Debug, Clone)]
pub struct Response {
    /// The output object, with every field of the action's output contract.
    pub output: Value,
    /// The invocation's facts for the log line.
    pub record: Record,
}

/// Genesys sees the output only.
impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.output.serialize(serializer)
    }
}

impl Response {
    /// The failure answer of action `A`.
    pub fn failure<A: Action>(error: ActionError, customer_ref: Option<String>) -> Response {
        Response {
            output: to_output::<A>(&A::failure(&error)),
            record: Record {
                action: A::NAME,
                error: Some(error),
                customer_ref,
                ..Record::default()
            },
        }
    }
}

/// An action as the router holds it: its type erased, its cache attached.
pub trait Served: Send + Sync {
    /// [`Action::NAME`].
    fn name(&self) -> &'static str;
    /// The failure answer of this action, for a rejection made before the action was chosen.
    fn failure(&self, error: ActionError) -> Response;
    /// Validates `event`, answers it by `deadline` (from the cache when it can), never panics.
    fn answer<'a>(
        &'a self,
        event: &'a Map<String, Value>,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>>;
}

/// An action with its optional cache.
#[derive(Debug)]
pub struct Registered<A> {
    action: A,
    cache: Option<Cache>,
}

impl<A: Action> Registered<A> {
    /// Serves `action`, with `cache` when the action is configured to be cached.
    pub fn new(action: A, cache: Option<Cache>) -> Registered<A> {
        Registered { action, cache }
    }

    async fn answer_input(&self, event: &Map<String, Value>, deadline: Instant) -> Response {
        let input = match A::parse(event) {
            Ok(input) => input,
            Err(rejected) => {
                return Response::failure::<A>(
                    ActionError::Validation(rejected.reason),
                    rejected.customer_ref,
                )
            }
        };
        let customer_ref = A::subject_ref(&input);
        let cached = self.cache.as_ref().zip(A::cache_key(&input));
        if let Some((cache, key)) = &cached {
            if let Some(output) = cache.get(key) {
                return Response {
                    output,
                    record: Record {
                        action: A::NAME,
                        customer_ref,
                        cache: Some(CacheUse::Hit),
                        ..Record::default()
                    },
                };
            }
        }
        let mut call = Call::new(deadline);
        let run = self.action.run(input, &mut call);
        let result = tokio::time::timeout_at(deadline.into(), run)
            .await
            .unwrap_or(Err(ActionError::ExternalApiTimeout));
        let customer_ref = call.facts.subject_ref.take().or(customer_ref);
        let (output, error) = match result {
            Ok(output) => {
                let output = to_output::<A>(&output);
                if let Some((cache, key)) = cached.as_ref() {
                    cache.put(key.clone(), output.clone());
                }
                (output, None)
            }
            Err(error) => (to_output::<A>(&A::failure(&error)), Some(error)),
        };
        Response {
            output,
            record: Record {
                action: A::NAME,
                error,
                customer_ref,
                facts: call.facts,
                cache: cached.map(|_| CacheUse::Miss),
            },
        }
    }
}

impl<A: Action> Served for Registered<A> {
    fn name(&self) -> &'static str {
        A::NAME
    }

    fn failure(&self, error: ActionError) -> Response {
        Response::failure::<A>(error, None)
    }

    fn answer<'a>(
        &'a self,
        event: &'a Map<String, Value>,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(self.answer_input(event, deadline))
    }
}

/// The output as JSON. Outputs are plain structs of text, numbers and booleans, whose serialization
/// cannot fail; a non-finite number would become `null`, so actions keep their numbers finite.
fn to_output<A: Action>(output: &A::Output) -> Value {
    serde_json::to_value(output).unwrap_or(Value::Null)
}

/// Helpers for [`Action::parse`]: reading flat fields without echoing their values.
pub mod fields {
    use serde_json::{Map, Value};

    /// The object holding the inputs: the event itself, or its `inputs` object when the event has none
    /// of `own` at its top level. A request template writes `{"action": "name", "inputs":
    /// ${input.rawRequest}}`; the original Python tutorial sent `{"inputs": {...}}`.
    pub fn inputs<'a>(event: &'a Map<String, Value>, own: &[&str]) -> &'a Map<String, Value> {
        match event.get("inputs") {
            Some(Value::Object(inner)) if !own.iter().any(|k| event.contains_key(*k)) => inner,
            _ => event,
        }
    }

    /// A text field, trimmed: `Ok(None)` when absent, null or blank; `Err(())` when not text.
    #[allow(clippy::result_unit_err)] // the caller maps it to its own InvalidInput reason
    pub fn text<'a>(fields: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ()> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(_) => Err(()),
        }
    }

    /// A whole-number field (a JSON integer, or text holding one: Architect passes some integers as
    /// text): `Ok(None)` when absent, null or blank; `Err(())` otherwise.
    #[allow(clippy::result_unit_err)] // the caller maps it to its own InvalidInput reason
    pub fn whole_number(fields: &Map<String, Value>, key: &str) -> Result<Option<i64>, ()> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| ()),
            Some(_) => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fields::*;
    use serde_json::json;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn inputs_unwraps_only_when_the_event_has_no_field_of_its_own() {
        let wrapped = map(json!({"action": "a", "inputs": {"ani": "1"}}));
        assert_eq!(inputs(&wrapped, &["ani"])["ani"], "1");
        let both = map(json!({"ani": "flat", "inputs": {"ani": "inner"}}));
        assert_eq!(inputs(&both, &["ani"])["ani"], "flat");
        let not_object = map(json!({"inputs": "x"}));
        assert!(!inputs(&not_object, &["ani"]).contains_key("ani"));
    }

    #[test]
    fn text_and_whole_numbers() {
        let f =
            map(json!({"a": " x ", "b": "", "c": 5, "d": "12", "e": 1.5, "g": "x1", "h": null}));
        assert_eq!(text(&f, "a"), Ok(Some("x")));
        assert_eq!(text(&f, "b"), Ok(None));
        assert_eq!(text(&f, "missing"), Ok(None));
        assert_eq!(text(&f, "c"), Err(()));
        assert_eq!(whole_number(&f, "c"), Ok(Some(5)));
        assert_eq!(whole_number(&f, "d"), Ok(Some(12)));
        assert_eq!(whole_number(&f, "e"), Err(()));
        assert_eq!(whole_number(&f, "g"), Err(()));
        assert_eq!(whole_number(&f, "h"), Ok(None));
        assert_eq!(whole_number(&f, "b"), Ok(None));
    }
}
