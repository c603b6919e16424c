//! Every `error_type` a pipeline function can return is handled by `state_machine.asl.json` and listed in
//! docs/contracts.md. The names come from the code's own enums, so a new error kind fails here until the
//! state machine and the docs know it.

use std::collections::BTreeSet;

use serde_json::Value;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn asl() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("state_machine.asl.json")).unwrap())
        .unwrap()
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

fn error_lists(state: &Value, field: &str) -> Vec<BTreeSet<String>> {
    state[field]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    r["ErrorEquals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e.as_str().unwrap().to_owned())
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Errors that a retry cannot fix: retrying them only delays the dead letter.
const PERMANENT: &[&str] = &[
    "Genesys.AuthFailed",
    "Genesys.BadResponse",
    "Store.Rejected",
    "Pipeline.InvalidInput",
];

fn check(substitution: &str, names: &[&str]) {
    let asl = asl();
    let state = task(&asl, substitution);
    let retried: BTreeSet<String> = error_lists(state, "Retry").into_iter().flatten().collect();
    let caught: BTreeSet<String> = error_lists(state, "Catch").into_iter().flatten().collect();
    for name in names {
        let handled =
            retried.contains(*name) || caught.contains(*name) || caught.contains("States.ALL");
        assert!(
            handled,
            "{name} from {substitution} is neither retried nor caught"
        );
        if PERMANENT.contains(name) {
            assert!(
                !retried.contains(*name) && !retried.contains("States.ALL"),
                "{name} is permanent but retried in {substitution}"
            );
        } else {
            assert!(
                retried.contains(*name),
                "{name} is transient but not retried in {substitution}"
            );
        }
    }
    assert!(
        caught.contains("States.ALL"),
        "{substitution} must catch everything else into the dead letter"
    );
}

#[test]
fn process_errors_are_retried_or_dead_lettered() {
    check("ProcessFunctionArn", &process::ProcessError::NAMES);
}

#[test]
fn save_errors_are_retried_or_dead_lettered() {
    check("SaveFunctionArn", &save::SaveError::NAMES);
}

#[test]
fn validate_never_fails_but_is_still_caught() {
    check("ValidateFunctionArn", &[]);
}

#[test]
fn every_error_name_is_documented_in_the_contracts() {
    let contracts = std::fs::read_to_string(root().join("docs/contracts.md")).unwrap();
    let all = process::ProcessError::NAMES
        .iter()
        .chain(save::SaveError::NAMES.iter())
        .chain(fanout::FanoutError::NAMES.iter())
        .chain(gcx_core::genesys::GenesysError::NAMES.iter());
    for name in all {
        assert!(
            contracts.contains(&format!("| `{name}` |")),
            "{name} is missing from docs/contracts.md's table"
        );
    }
}

#[test]
fn names_are_what_the_variants_return() {
    use process::ProcessError;
    use save::SaveError;
    assert!(ProcessError::NAMES.contains(&ProcessError::InvalidInput(String::new()).name()));
    for e in [
        SaveError::Unavailable(String::new()),
        SaveError::Rejected(String::new()),
        SaveError::InvalidInput(String::new()),
    ] {
        assert!(SaveError::NAMES.contains(&e.name()), "{}", e.name());
    }
    for e in [
        fanout::FanoutError::MalformedEvent(String::new()),
        fanout::FanoutError::StartFailed {
            failed: 1,
            total: 1,
            summary: String::new(),
        },
    ] {
        assert!(fanout::FanoutError::NAMES.contains(&e.name()));
    }
    assert_eq!(
        &ProcessError::NAMES[..5],
        &gcx_core::genesys::GenesysError::NAMES[..]
    );
}
