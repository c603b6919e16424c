//! process: the second Task of the state machine. It builds the record of each validated event
//! ([`record::from_event`]) and says which conversations the analytics API should enrich
//! (`ENRICH_TOPICS`). It calls nothing per batch: enrichment happens later, in bulk and under the Genesys request
//! budget, in the `enrich` function, so a batch is never held up by Genesys.
//!
//! With a customer key configured (`CUSTOMER_KEY_SECRET_ARN`, or `CUSTOMER_KEY` locally; read once at init),
//! each record also carries the customer's key, a keyed hash of the caller's address (`gcx_core::customer`).
//! The address itself is never logged, stored or put in a record.

pub mod record;

use std::time::{SystemTime, UNIX_EPOCH};

use gcx_core::config::{ConfigError, Env};
use gcx_core::contract::{
    check_accounts, check_event, events_of, ContractError, DeadLetter, EnrichmentRequest, Manifest,
    Processed, Stage, TaskInput,
};
use gcx_core::customer::{
    customer_key_source, load_customer_keyer, CustomerKeySource, CustomerKeyer,
};
use gcx_core::events::DetailTopic;
use gcx_core::lambda::{Function, Invocation, Outcome};
use gcx_core::metrics::Unit;
use serde_json::{Map, Value};

/// Settings read once at init.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Topics whose conversations are enriched from the analytics API.
    pub enrich_topics: Vec<DetailTopic>,
    /// Where the customer key comes from (none: records carry no customer key).
    pub customer_key: CustomerKeySource,
}

/// Every variable process reads, declared once (docs and template derive from these: `make generate`).
pub const SETTINGS: &[gcx_core::setting::Setting] = &[
    gcx_core::events::ENRICH_TOPICS,
    gcx_core::customer::CUSTOMER_KEY_SECRET_ARN,
    gcx_core::customer::CUSTOMER_KEY,
];

impl Settings {
    /// Reads `ENRICH_TOPICS` (a comma list of topic suffixes, or `none`) and `CUSTOMER_KEY` /
    /// `CUSTOMER_KEY_SECRET_ARN` (at most one).
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            enrich_topics: gcx_core::events::enrich_topics(env)?,
            customer_key: customer_key_source(env)?,
        })
    }
}

/// The function's state, built once at init.
#[derive(Debug, Clone)]
pub struct App {
    settings: Settings,
    customer_keyer: Option<CustomerKeyer>,
}

impl App {
    /// The app for `settings`, without customer keys ([`Function::build`] loads the configured key and adds
    /// it with [`Self::with_customer_keyer`]).
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            customer_keyer: None,
        }
    }

    /// The same app, keying customers with `keyer` (none: records carry no customer key).
    pub fn with_customer_keyer(mut self, keyer: Option<CustomerKeyer>) -> Self {
        self.customer_keyer = keyer;
        self
    }

    /// Builds the records of a Task input `{"batch": <validate's answer>, "executionId"}`. A batch that
    /// is not validate's answer, or that does not account for every element the execution was handed
    /// (validate dropped, added or garbled one), fails whole (`Pipeline.InvalidInput`): the state machine then
    /// dead-letters every event of the execution input. An event that breaks the contract (only a
    /// hand-edited state machine can hand one over) is dead-lettered alone.
    pub fn process(&self, event: Value, now_ms: i64) -> Result<Processed, ContractError> {
        let task = TaskInput::parse(event)?;
        let execution_id = task.execution_id.as_deref();
        let events = events_of(&task.batch)
            .map_err(|r| ContractError::InvalidInput(rejection_in_batch(r)))?;
        // The rest of validate's answer: its dead letters (required) and the manifest.
        let Handed {
            dead_letters,
            manifest,
        } = task.batch()?;
        let ids = events
            .iter()
            .map(|e| e.get("eventId").and_then(Value::as_str).unwrap_or_default())
            .chain(dead_letters.iter().map(|d| d.event_id.as_str()));
        check_accounts("validate", manifest.as_ref(), execution_id, ids)
            .map_err(ContractError::InvalidInput)?;
        let mut out = Processed {
            dead_letters,
            manifest,
            ..Processed::default()
        };
        for (i, raw) in events.iter().enumerate() {
            let event = match check_event(raw, &format!("$.batch.events[{i}]")) {
                Ok(event) => event,
                Err(rejection) => {
                    out.dead_letters.push(DeadLetter::for_raw(
                        raw,
                        i,
                        &ContractError::InvalidInput(rejection),
                        Stage::Process,
                        execution_id,
                    ));
                    continue;
                }
            };
            if event
                .topic()
                .is_some_and(|t| self.settings.enrich_topics.contains(&t))
            {
                out.enrich
                    .push(EnrichmentRequest::for_event(&event, execution_id, now_ms));
            }
            out.records
                .push(record::from_event(&event, self.customer_keyer.as_ref()));
            out.events.push(event);
        }
        Ok(out)
    }
}

/// validate's answer but its events, which process reads one by one (a broken one costs only itself).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Handed {
    dead_letters: Vec<DeadLetter>,
    #[serde(default)]
    manifest: Option<Manifest>,
}

fn rejection_in_batch(r: gcx_core::contract::Rejection) -> gcx_core::contract::Rejection {
    gcx_core::contract::Rejection {
        path: r.path.replacen('$', "$.batch", 1),
        problem: r.problem,
    }
}

/// process's answer with its counts for the log line.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Answer(pub Processed);

impl Outcome for Answer {
    fn fields(&self, fields: &mut Map<String, Value>) {
        fields.insert("records".into(), self.0.records.len().into());
        fields.insert("enrich".into(), self.0.enrich.len().into());
        fields.insert("deadLetters".into(), self.0.dead_letters.len().into());
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[
            ("records", Unit::Count),
            ("enrich", Unit::Count),
            ("deadLetters", Unit::Count),
        ]
    }
}

impl Function for App {
    const NAME: &'static str = "process";
    type Settings = Settings;
    type Output = Answer;
    type Error = ContractError;

    fn settings(env: &dyn Env) -> Result<Settings, ConfigError> {
        Settings::from_env(env)
    }

    /// Reads the customer key's secret, when one is configured (the only AWS call, once per container).
    async fn build(settings: Settings) -> Result<Self, ConfigError> {
        let keyer = load_customer_keyer(&settings.customer_key, None).await?;
        Ok(Self::new(settings).with_customer_keyer(keyer))
    }

    async fn handle(&self, event: Value, invocation: &Invocation) -> Result<Answer, ContractError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        // A batch that fails whole is not validate's answer: it has no ids to read.
        let processed = self.process(event, now_ms)?;
        invocation.correlate(processed.correlation_ids());
        Ok(Answer(processed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::names::StableName;
    use serde_json::json;

    fn input() -> Value {
        let validate_input: Value =
            serde_json::from_str(include_str!("../../../events/pipeline/validate-input.json"))
                .unwrap();
        let validated = validate::App::validate(validate_input.clone());
        json!({"batch": validated, "executionId": validate_input["executionId"]})
    }

    #[test]
    fn settings_defaults_and_errors() {
        let s = Settings::from_env(&[("X", "")]).unwrap();
        assert_eq!(s.enrich_topics, gcx_core::events::default_enrich_topics());
        let s = Settings::from_env(&[("ENRICH_TOPICS", " acw , customer.start,wrapup")]).unwrap();
        assert_eq!(
            s.enrich_topics,
            [
                DetailTopic::Acw,
                DetailTopic::CustomerStart,
                DetailTopic::Wrapup
            ]
        );
        assert!(Settings::from_env(&[("ENRICH_TOPICS", "none")])
            .unwrap()
            .enrich_topics
            .is_empty());
        let e = Settings::from_env(&[("ENRICH_TOPICS", "acw,bogus")]).unwrap_err();
        assert_eq!(e.variable, "ENRICH_TOPICS");
        assert!(e.problem.contains("\"bogus\""));
    }

    #[test]
    fn records_for_every_event_enrichment_for_enrich_topics_dead_letters_carried_on() {
        let app = App::new(Settings::from_env(&[("X", "")]).unwrap());
        let out = app.process(input(), 42).unwrap();
        assert_eq!(out.records.len(), 2);
        assert_eq!(out.events.len(), 2);
        let topics: Vec<&str> = out
            .enrich
            .iter()
            .map(|r| r.event_type.rsplit('.').next().unwrap())
            .collect();
        assert_eq!(topics, ["end", "acw"]);
        assert_eq!(out.enrich[0].first_queued_at, 42);
        assert_eq!(
            out.dead_letters.len(),
            1,
            "validate's dead letter is carried on"
        );
        let none = App::new(Settings {
            enrich_topics: vec![],
            customer_key: CustomerKeySource::None,
        });
        assert!(none.process(input(), 1).unwrap().enrich.is_empty());
    }

    const KEY: &str = "0123456789abcdef";

    /// An inbound voice `customer.start` whose caller is `ani`.
    fn inbound_call(ani: &str) -> Value {
        let event = json!({
            "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "eventId": "2b210248-9483-4cc8-8df0-4630b6980803",
            "eventType": "v2.detail.events.conversation.{id}.customer.start",
            "eventTime": 1_617_280_073_386_i64,
            "correlationId": "c1",
            "detail": {"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
                "mediaType": "VOICE", "direction": "INBOUND", "ani": ani, "dnis": "tel:+3280012345"}},
        });
        json!({"batch": {"events": [event], "deadLetters": []}, "executionId": "arn:x"})
    }

    #[test]
    fn customer_key_settings() {
        let s = Settings::from_env(&[("CUSTOMER_KEY", KEY)]).unwrap();
        assert!(matches!(s.customer_key, CustomerKeySource::Direct(_)));
        assert!(!format!("{s:?}").contains(KEY), "Debug shows no key");
        let e = Settings::from_env(&[("CUSTOMER_KEY", KEY), ("CUSTOMER_KEY_SECRET_ARN", "arn")])
            .unwrap_err();
        assert_eq!(e.variable, "CUSTOMER_KEY");
        assert!(e.problem.contains("CUSTOMER_KEY_SECRET_ARN"));
        let e = Settings::from_env(&[("CUSTOMER_KEY", "too-short")]).unwrap_err();
        assert_eq!(e.variable, "CUSTOMER_KEY");
    }

    #[tokio::test]
    async fn an_inbound_caller_is_keyed_and_the_number_is_in_no_record() {
        let app = <App as Function>::build(Settings::from_env(&[("CUSTOMER_KEY", KEY)]).unwrap())
            .await
            .unwrap();
        let out = app.process(inbound_call("tel:+3212345678"), 1).unwrap();
        let keyer = CustomerKeyer::new(&secrecy::SecretString::from(KEY)).unwrap();
        let record = &out.records[0];
        assert_eq!(record.customer_key, keyer.key("+32 12 34 56 78"));
        assert_eq!(record.customer_key.as_ref().map(String::len), Some(64));
        assert_eq!(record.customer_contact_at, Some(1_617_280_073_386));
        // The events travel on verbatim (save dead-letters them with their full input); everything process
        // made of them holds no spelling of the number.
        let mut answer = serde_json::to_value(&out).unwrap();
        assert_eq!(
            answer["records"][0]["customerKey"],
            json!(record.customer_key)
        );
        answer.as_object_mut().unwrap().remove("events");
        let text = answer.to_string();
        for spelling in ["3212345678", "12345678", "+32", "3280012345"] {
            assert!(!text.contains(spelling), "{spelling} in {text}");
        }
        // Without a key, nothing.
        let plain = App::new(Settings::from_env(&[("X", "")]).unwrap());
        let out = plain.process(inbound_call("tel:+3212345678"), 1).unwrap();
        assert_eq!(out.records[0].customer_key, None);
    }

    #[test]
    fn a_contract_breaking_event_costs_only_itself_and_a_bad_batch_fails_whole() {
        let app = App::new(Settings::from_env(&[("X", "")]).unwrap());
        let mut task = input();
        task["batch"]["events"][1]["detail"] = json!("gone");
        let out = app.process(task, 1).unwrap();
        assert_eq!(out.records.len(), 1);
        let letter = out.dead_letters.last().unwrap();
        assert_eq!(
            (letter.error.as_str(), letter.cause.as_str()),
            (
                "Pipeline.InvalidInput",
                "$.batch.events[1].detail: must be an object, got a string"
            )
        );
        let e = app
            .process(json!({"batch": {"records": []}}), 1)
            .unwrap_err();
        assert_eq!(e.name(), "Pipeline.InvalidInput");
        assert_eq!(e.to_string(), "$.batch.events: is missing");
    }

    /// validate's answer as a faulty (or older, or hand-edited) stage might give it: each fails the batch
    /// whole, so the state machine dead-letters every event, instead of a silent loss.
    #[test]
    fn a_validate_answer_that_does_not_account_for_every_event_fails_the_batch() {
        let app = App::new(Settings::from_env(&[("X", "")]).unwrap());
        let whole = input();
        assert!(app.process(whole.clone(), 1).is_ok());

        let mut no_dead_letters = whole.clone();
        no_dead_letters["batch"]
            .as_object_mut()
            .unwrap()
            .remove("deadLetters");
        let e = app.process(no_dead_letters, 1).unwrap_err();
        assert!(e.to_string().contains("missing field `deadLetters`"), "{e}");

        let mut one_fewer = whole.clone();
        one_fewer["batch"]["events"].as_array_mut().unwrap().pop();
        let e = app.process(one_fewer, 1).unwrap_err();
        assert_eq!(e.name(), "Pipeline.InvalidInput");
        assert!(
            e.to_string()
                .contains("validate's answer accounts for 2 events (valid ones and dead letters), but the batch was handed 3"),
            "{e}"
        );

        let mut garbled = whole;
        garbled["batch"]["events"][0]["eventId"] = json!("something-else");
        assert!(app
            .process(garbled, 1)
            .unwrap_err()
            .to_string()
            .contains("not the same ones"));

        for answer in [json!(null), json!("x"), json!([1]), json!({})] {
            let e = app
                .process(json!({"batch": answer, "executionId": "arn:x"}), 1)
                .unwrap_err();
            assert_eq!(e.name(), "Pipeline.InvalidInput", "{answer}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one contract: whatever validate passes on, process accepts, and every event ends as a record
        /// or a dead letter.
        #[test]
        fn process_accepts_every_event_validate_accepts(events in proptest::collection::vec(
            test_support::arb::pipeline_event(), 0..6,
        )) {
            let validated = validate::App::validate(serde_json::json!({"batch": {"events": &events}}));
            let passed = validated.events.len();
            let app = App::new(Settings::from_env(&[("X", "")]).unwrap());
            let out = app.process(serde_json::json!({"batch": validated}), 1).unwrap();
            prop_assert_eq!(out.records.len(), passed);
            prop_assert_eq!(out.records.len() + out.dead_letters.len(), events.len());
            prop_assert!(out.dead_letters.iter().all(|d| d.stage == gcx_core::contract::Stage::Validate));
            // Its own answer passes save's check.
            prop_assert_eq!(out.check(None), Ok(()));
        }
    }
}
