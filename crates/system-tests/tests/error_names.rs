//! Every stable name the code can produce is handled by `state_machine.asl.json` where it matters, listed
//! in docs/contracts.md, and written to `docs/catalogue.json` (the list the Python harness reads: topics,
//! error names, dead-letter fields). The names come from the code's own enums, so a new one fails here
//! until the state machine, the docs and the catalogue know it.
//!
//! `UPDATE_CATALOGUE=1 cargo test -p system-tests --test error_names` rewrites the catalogue.

use std::collections::BTreeSet;

use gcx_core::names::StableName;
use serde_json::{json, Value};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn asl() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("state_machine.asl.json")).unwrap())
        .unwrap()
}

/// Every name, by where it comes from.
fn catalogue() -> Value {
    let letter = gcx_core::contract::DeadLetter::for_raw(
        &Value::Null,
        0,
        &gcx_core::contract::ContractError::InvalidInput(gcx_core::contract::Rejection {
            path: "$".into(),
            problem: "x".into(),
        }),
        gcx_core::contract::Stage::Validate,
        None,
    );
    let dead_letter_fields: Vec<String> = serde_json::to_value(letter)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let state_machine_fails: BTreeSet<String> = asl()["States"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["Type"] == "Fail")
        .map(|s| s["Error"].as_str().unwrap().to_owned())
        .collect();
    let outcomes: Vec<Value> = [
        gcx_core::contract::SaveOutcome::Stored,
        gcx_core::contract::SaveOutcome::Stale,
        gcx_core::contract::SaveOutcome::Duplicate,
        gcx_core::contract::SaveOutcome::DeadLettered,
    ]
    .iter()
    .map(|o| serde_json::to_value(o).unwrap())
    .collect();
    json!({
        "generatedBy": "UPDATE_CATALOGUE=1 cargo test -p system-tests --test error_names (do not edit)",
        "detailTopics": gcx_core::events::DetailTopic::ALL.iter().map(|t| t.suffix()).collect::<Vec<_>>(),
        "detailTopicModels": gcx_core::events::DetailTopic::ALL.iter().map(|t| (t.suffix(), t.sdk_model())).collect::<std::collections::BTreeMap<_, _>>(),
        "defaultEnrichTopics": gcx_core::events::default_enrich_topics().iter().map(|t| t.suffix()).collect::<Vec<_>>(),
        "errors": {
            "init": ["Config.Invalid"],
            "fanout": {"invocation": fanout::FanoutError::names(), "event": fanout::EventFailure::names()},
            "validate": {"event": validate::EventFailure::names()},
            "process": {"task": gcx_core::contract::ContractError::names(), "event": gcx_core::contract::ContractError::names()},
            "save": {"task": save::SaveError::names(), "event": save::RecordFailure::names()},
            "enrich": {"request": enrich::RequestFailure::names()},
            "stateMachine": state_machine_fails,
            "dataAction": data_action::ActionError::EXAMPLES.iter().map(|e| e.name()).collect::<BTreeSet<_>>(),
        },
        "deadLetterFields": dead_letter_fields,
        "saveOutcomes": outcomes,
    })
}

#[test]
fn the_catalogue_is_current() {
    let path = root().join("docs/catalogue.json");
    let fresh = serde_json::to_string_pretty(&catalogue()).unwrap() + "\n";
    if std::env::var_os("UPDATE_CATALOGUE").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/catalogue.json is stale: run UPDATE_CATALOGUE=1 cargo test -p system-tests --test error_names"
    );
}

/// The Task state invoking `${<Function>FunctionArn}`.
fn task<'a>(asl: &'a Value, substitution: &str) -> &'a Value {
    asl["States"]
        .as_object()
        .unwrap()
        .values()
        .find(|s| s["Resource"] == format!("${{{substitution}}}"))
        .unwrap_or_else(|| panic!("no Task with Resource ${{{substitution}}}"))
}

fn error_lists(state: &Value, field: &str) -> BTreeSet<String> {
    state[field]
        .as_array()
        .map(|a| {
            a.iter()
                .flat_map(|r| {
                    r["ErrorEquals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e.as_str().unwrap().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Errors a retry cannot fix: retrying them only delays the dead letter.
const PERMANENT: &[&str] = &["Store.Rejected", "Pipeline.InvalidInput"];

fn check(substitution: &str, names: &[&str]) {
    let asl = asl();
    let state = task(&asl, substitution);
    let retried = error_lists(state, "Retry");
    let caught = error_lists(state, "Catch");
    assert!(
        caught.contains("States.ALL"),
        "{substitution} must catch everything into the dead letters"
    );
    assert!(
        !retried.contains("States.ALL"),
        "{substitution} must not retry permanent errors"
    );
    for name in names {
        if PERMANENT.contains(name) {
            assert!(
                !retried.contains(*name),
                "{name} is permanent but retried in {substitution}"
            );
        } else {
            assert!(
                retried.contains(*name),
                "{name} is transient but not retried in {substitution}"
            );
        }
    }
    // validate gets the whole state (the execution input); the next Tasks the previous answer, which each
    // Task puts at $.events (so a null answer cannot break a path).
    let (batch, result) = if substitution == "ValidateFunctionArn" {
        ("$", "$.events")
    } else if substitution == "SaveFunctionArn" {
        ("$.events", "")
    } else {
        ("$.events", "$.events")
    };
    assert_eq!(
        state["Parameters"]["batch.$"], batch,
        "{substitution} gets the previous answer, whatever its shape"
    );
    assert_eq!(
        state["ResultPath"].as_str().unwrap_or_default(),
        result,
        "{substitution}'s answer goes to $.events (save's is the execution's output)"
    );
    assert_eq!(state["Parameters"]["executionId.$"], "$$.Execution.Id");
}

#[test]
fn every_task_error_is_retried_or_dead_lettered_by_the_state_machine() {
    check("ValidateFunctionArn", &[]);
    check(
        "ProcessFunctionArn",
        &gcx_core::contract::ContractError::names(),
    );
    check("SaveFunctionArn", &save::SaveError::names());
}

#[test]
fn every_name_is_documented() {
    let docs = std::fs::read_to_string(root().join("docs/contracts.md")).unwrap();
    let catalogue = catalogue();
    let mut names: BTreeSet<String> = BTreeSet::new();
    fn collect(v: &Value, into: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                into.insert(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, into)),
            Value::Object(o) => o.values().for_each(|x| collect(x, into)),
            _ => {}
        }
    }
    collect(&catalogue["errors"], &mut names);
    for name in names {
        assert!(
            docs.contains(&format!("`{name}`")),
            "docs/contracts.md does not list `{name}`"
        );
    }
    for field in catalogue["deadLetterFields"].as_array().unwrap() {
        let field = field.as_str().unwrap();
        assert!(
            docs.contains(&format!("`{field}`")),
            "docs/contracts.md does not describe the dead-letter field `{field}`"
        );
    }
}

#[test]
fn the_state_machine_dead_letters_with_every_field_the_tasks_write() {
    let asl = asl();
    let fields: BTreeSet<String> = catalogue()["deadLetterFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    let map = &asl["States"]["DeadLetterEachEvent"]["ItemProcessor"]["States"];
    for state in [
        "SendDeadLetter",
        "SendPartialDeadLetter",
        "SendUnidentifiedDeadLetter",
    ] {
        let body = map[state]["Parameters"]["MessageBody"].as_object().unwrap();
        let keys: BTreeSet<String> = body
            .keys()
            .map(|k| k.trim_end_matches(".$").to_owned())
            .collect();
        assert_eq!(keys, fields, "{state}");
    }
    let whole = asl["States"]["DeadLetterWholeInput"]["Parameters"]["MessageBody"]
        .as_object()
        .unwrap();
    let keys: BTreeSet<String> = whole
        .keys()
        .map(|k| k.trim_end_matches(".$").to_owned())
        .collect();
    assert_eq!(keys, fields, "DeadLetterWholeInput");
}
