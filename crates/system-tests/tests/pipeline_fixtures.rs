//! The sample Task inputs in `events/pipeline/` are what the real functions hand each other:
//! `validate-input.json` through validate is `process-input.json`'s batch, and that through process is
//! `save-input.json`'s. `UPDATE_FIXTURES=1 cargo test -p system-tests --test pipeline_fixtures` rewrites
//! the two derived files after a contract change.

use serde_json::{json, Value};

/// The `now` process stamps on enrichment requests in the fixtures (2021-04-01T12:45:00Z).
const NOW_MS: i64 = 1_617_281_100_000;

fn path(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/pipeline")
        .join(name)
}

fn read(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path(name)).unwrap()).unwrap()
}

fn check_or_update(name: &str, fresh: &Value) {
    let text = serde_json::to_string_pretty(fresh).unwrap() + "\n";
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path(name), &text).unwrap();
    }
    assert_eq!(
        &read(name),
        fresh,
        "events/pipeline/{name} is stale: UPDATE_FIXTURES=1 cargo test -p system-tests --test pipeline_fixtures"
    );
}

#[test]
fn the_pipeline_fixtures_chain_through_the_functions() {
    let validate_input = read("validate-input.json");
    let execution_id = validate_input["executionId"].clone();
    let validated = validate::App::validate(validate_input);
    assert_eq!(
        (validated.events.len(), validated.dead_letters.len()),
        (2, 1)
    );
    let process_input = json!({"batch": validated, "executionId": execution_id});
    check_or_update("process-input.json", &process_input);

    let settings = process::Settings::from_env(&[("X", "")]).unwrap();
    let processed = process::App::new(settings)
        .process(process_input, NOW_MS)
        .unwrap();
    assert_eq!((processed.records.len(), processed.enrich.len()), (2, 2));
    let save_input = json!({"batch": processed, "executionId": execution_id});
    check_or_update("save-input.json", &save_input);
    gcx_core::contract::TaskInput::parse(save_input)
        .unwrap()
        .batch::<gcx_core::contract::Processed>()
        .expect("save reads it");
}
