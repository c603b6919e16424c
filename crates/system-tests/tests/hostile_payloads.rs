//! Every function, run as Lambda runs it, answers hostile payloads (10,000 levels of nesting, a 5 MiB
//! string, bytes that are not JSON) with a clear result or error, never a crash, and keeps serving.

use serde_json::json;
use std::time::Duration;
use test_support::{binary_path, FunctionProcess};

fn start(name: &str) -> FunctionProcess {
    let bin = binary_path(name);
    assert!(
        bin.exists(),
        "{} not built: run `make build`",
        bin.display()
    );
    let env = [
        ("EXTERNAL_API_URL", "http://127.0.0.1:9/v1/user-info"),
        (
            "STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:none",
        ),
        ("DYNAMODB_TABLE_NAME", "none"),
        ("EVENT_DEAD_LETTER_QUEUE_URL", "http://127.0.0.1:9/q"),
        ("ENRICHMENT_QUEUE_URL", "http://127.0.0.1:9/q"),
        ("ENRICHMENT_DEAD_LETTER_QUEUE_URL", "http://127.0.0.1:9/q"),
        ("DEAD_LETTER_QUEUE_URL", "http://127.0.0.1:9/q"),
        ("GENESYS_LOGIN_URL", "http://127.0.0.1:9"),
        ("GENESYS_API_URL", "http://127.0.0.1:9"),
        ("GENESYS_CLIENT_ID", "a"),
        ("GENESYS_CLIENT_SECRET", "b"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ];
    FunctionProcess::start(bin.to_str().unwrap(), &env)
}

#[test]
fn hostile_payloads_get_clear_answers_and_the_process_survives() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let huge_string = serde_json::to_vec(&json!({ "customer_id": "x".repeat(5 * 1024 * 1024), "detail-type": "y".repeat(1024 * 1024) })).unwrap();
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("10,000 nested arrays", deep.into_bytes()),
        ("10,000 nested objects", deep_object.into_bytes()),
        ("5 MiB string", huge_string),
        ("not JSON", b"\xff\xfe not json".to_vec()),
    ];
    for name in [
        "data-action",
        "fanout",
        "validate",
        "process",
        "save",
        "enrich",
    ] {
        let f = start(name);
        for (what, body) in &payloads {
            let out = f.invoke_raw(body, Duration::from_secs(10));
            let error_type = out.error_type.clone().unwrap_or_default();
            assert!(
                !matches!(
                    error_type.as_str(),
                    "Runtime.ExitError" | "Sandbox.Timedout" | "Emulator.NotPolled"
                ),
                "{name} crashed or hung on {what}: {out:?}\n{}",
                f.logs()
            );
            if !out.ok {
                let message = out.body["errorMessage"].as_str().unwrap_or_default();
                assert!(
                    !message.is_empty(),
                    "{name} on {what}: an error without a message: {out:?}"
                );
                assert!(
                    message.len() < 4096,
                    "{name} on {what}: the error echoes the payload ({} bytes)",
                    message.len()
                );
            }
        }
        // Still alive and serving.
        let after = f.invoke(&json!({"customer_id": "12345"}));
        assert!(
            !matches!(
                after.error_type.as_deref(),
                Some("Runtime.ExitError" | "Sandbox.Timedout")
            ),
            "{name} died: {after:?}"
        );
        assert!(
            !f.logs().contains("panicked"),
            "{name} panicked:\n{}",
            f.logs()
        );
    }
}
