//! validate: the first Task of the state machine. It splits an execution's batch into the events that
//! may be processed and a dead letter for each that may not (`Event.Invalid`, with the JSON path of what
//! is wrong), using the one contract check ([`gcx_core::contract::check_event`]). It never fails on bad
//! input: a bad event costs only itself, and a bad batch is one dead letter carrying it whole.

use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{
    check_event, events_of, DeadLetter, Manifest, Rejection, Stage, TaskInput, Validated,
};
use gcx_core::lambda::{Function, Invocation, Never, Outcome};
use gcx_core::metrics::Unit;
use serde_json::{Map, Value};

/// Why an event may not be processed; the dead letter's `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventFailure {
    /// The event breaks the execution-input contract.
    #[error("{0}")]
    Invalid(Rejection),
}
gcx_core::stable_names!(EventFailure { Invalid(..) => "Event.Invalid" });

/// validate reads no settings.
#[derive(Debug, Clone, Default)]
pub struct Settings;

impl Settings {
    /// Nothing to read.
    pub fn from_env(_env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

/// The function.
#[derive(Debug, Clone, Default)]
pub struct App;

impl App {
    /// Splits a Task input. `{"batch": <execution input>, "executionId": ...}` as the state machine sends
    /// it; any other event is taken as the execution input itself (a direct invoke).
    pub fn validate(event: Value) -> Validated {
        let task = match TaskInput::parse(event.clone()) {
            Ok(task) => task,
            Err(_) => TaskInput {
                batch: event,
                execution_id: None,
            },
        };
        let execution_id = task.execution_id.as_deref();
        // What process and save check the answers against: every element handed in, by id.
        let manifest = Some(Manifest::of_input(&task.batch));
        let events = match events_of(&task.batch) {
            Ok(events) => events,
            Err(rejection) => {
                return Validated {
                    events: Vec::new(),
                    dead_letters: vec![DeadLetter::for_input(
                        &task.batch,
                        &EventFailure::Invalid(rejection),
                        Stage::Validate,
                        execution_id,
                    )],
                    manifest,
                }
            }
        };
        let mut out = Validated {
            manifest,
            ..Validated::default()
        };
        for (i, raw) in events.iter().enumerate() {
            match check_event(raw, &format!("$.events[{i}]")) {
                Ok(event) => out.events.push(event),
                Err(rejection) => out.dead_letters.push(DeadLetter::for_raw(
                    raw,
                    i,
                    &EventFailure::Invalid(rejection),
                    Stage::Validate,
                    execution_id,
                )),
            }
        }
        out
    }
}

/// validate's answer with its counts for the log line.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Answer(pub Validated);

impl Outcome for Answer {
    fn fields(&self, fields: &mut Map<String, Value>) {
        fields.insert("valid".into(), self.0.events.len().into());
        fields.insert("invalid".into(), self.0.dead_letters.len().into());
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[("valid", Unit::Count), ("invalid", Unit::Count)]
    }
}

impl Function for App {
    const NAME: &'static str = "validate";
    type Settings = Settings;
    type Output = Answer;
    /// validate answers every input.
    type Error = Never;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    async fn build(_settings: Settings) -> Result<Self, ConfigError> {
        Ok(App)
    }

    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Answer, Never> {
        let validated = Self::validate(event);
        invocation.correlate(validated.correlation_ids());
        Ok(Answer(validated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::names::StableName;
    use serde_json::json;

    fn good(id: &str) -> Value {
        json!({
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": id,
            "eventType": "v2.detail.events.conversation.{id}.customer.end",
            "eventTime": 1_649_237_444_949_i64,
            "detail": {"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6"}}
        })
    }

    #[test]
    fn a_bad_event_costs_only_itself() {
        let mut bad = good("e2");
        bad.as_object_mut().unwrap().remove("detail");
        let out = App::validate(
            json!({"batch": {"events": [good("e1"), bad, good("e3")]}, "executionId": "arn:x"}),
        );
        let ids: Vec<&str> = out.events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["e1", "e3"]);
        let [letter] = out.dead_letters.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!(letter.event_id, "e2");
        assert_eq!(letter.error, EventFailure::names()[0]);
        assert_eq!(letter.cause, "$.events[1].detail: is missing");
        assert_eq!(letter.execution_id.as_deref(), Some("arn:x"));
    }

    #[test]
    fn the_old_per_event_input_without_detail_is_rejected_not_passed_on() {
        let out = App::validate(json!({"events": [{
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6", "eventId": "e",
            "eventType": "v2.detail.events.conversation.{id}.acw", "eventTime": 5}]}));
        assert!(out.events.is_empty());
        assert_eq!(out.dead_letters[0].cause, "$.events[0].detail: is missing");
    }

    #[test]
    fn an_input_that_is_no_batch_is_one_dead_letter_carrying_it() {
        let input = json!({"conversationId": "x"});
        let out = App::validate(json!({"batch": input, "executionId": "arn:x"}));
        assert!(out.events.is_empty());
        assert_eq!(out.dead_letters[0].cause, "$.events: is missing");
        assert_eq!(out.dead_letters[0].input, input);
        assert_eq!(out.dead_letters[0].error, "Event.Invalid");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every event of any batch is either passed on or dead-lettered with a reason: none is lost.
        #[test]
        fn every_event_is_passed_on_or_dead_lettered(events in proptest::collection::vec(
            test_support::arb::json_with_keys(&["conversationId", "eventId", "eventType", "eventTime", "detail", "eventBody"]),
            0..8,
        )) {
            let n = events.len();
            let out = App::validate(serde_json::json!({"batch": {"events": events}}));
            prop_assert_eq!(out.events.len() + out.dead_letters.len(), n);
            // Its own answer always passes the accounting the next stages apply.
            prop_assert_eq!(out.check(None), Ok(()));
            prop_assert!(out.dead_letters.iter().all(|d| !d.cause.is_empty() && d.error == "Event.Invalid"));
        }
    }
}
