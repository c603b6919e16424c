//! The built `validate` binary through the Lambda Runtime API: every input gets an answer, never an error.

use serde_json::{json, Value};
use test_support::FunctionProcess;

#[test]
fn answers_valid_and_invalid_inputs_without_failing() {
    let f = FunctionProcess::start(env!("CARGO_BIN_EXE_validate"), &[]);
    let good: Value =
        serde_json::from_str(include_str!("../../../events/pipeline/validate-input.json")).unwrap();
    let out = f.invoke(&good);
    assert!(out.ok);
    assert_eq!(out.body, json!({"isValid": true, "reason": ""}));
    for bad in [
        json!(null),
        json!([]),
        json!("text"),
        json!({"conversationId": "x"}),
    ] {
        let out = f.invoke(&bad);
        assert!(out.ok, "{bad}: {out:?}");
        assert_eq!(out.body["isValid"], false);
        assert!(!out.body["reason"].as_str().unwrap().is_empty());
    }
    let huge = format!("[{}]", "[".repeat(10_000) + &"]".repeat(10_000));
    let out = f.invoke_raw(huge.as_bytes(), std::time::Duration::from_secs(5));
    assert!(
        out.error_type.as_deref() != Some("Runtime.ExitError"),
        "a deep payload must not crash the process: {out:?}"
    );
}
