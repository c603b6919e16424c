//! The built `process` binary through the Lambda Runtime API: a batch in, records and enrichment requests
//! out, a broken input refused with its stable name, and every log line carrying the invocation's request id.

use serde_json::{json, Value};
use test_support::FunctionProcess;

fn input() -> Value {
    serde_json::from_str(include_str!("../../../events/pipeline/process-input.json")).unwrap()
}

#[test]
fn a_batch_becomes_records_and_enrichment_requests_with_the_request_id_on_every_line() {
    let f = FunctionProcess::start(
        env!("CARGO_BIN_EXE_process"),
        &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")],
    );
    let input = input();
    let events = input["batch"]["events"].as_array().unwrap().len();
    let out = f.invoke(&input);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.body["records"].as_array().unwrap().len(), events);
    // The dead letters validate found travel on untouched.
    assert_eq!(out.body["deadLetters"], input["batch"]["deadLetters"]);
    let line = f.assert_logged_with_request_id(&out);
    assert_eq!(line["function"], "process");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["records"], json!(events));
    test_support::assert_line_correlates(&line, &input);

    let broken = f.invoke(&json!({"events": []}));
    assert!(!broken.ok);
    assert_eq!(broken.error_type.as_deref(), Some("Pipeline.InvalidInput"));
    let line = f.assert_logged_with_request_id(&broken);
    assert_eq!(line["outcome"], "Pipeline.InvalidInput");
}

#[test]
fn with_a_customer_key_the_record_carries_the_hash_and_no_line_holds_the_number() {
    let key = "local-dev-customer-key-not-a-secret";
    let f = FunctionProcess::start(
        env!("CARGO_BIN_EXE_process"),
        &[("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("CUSTOMER_KEY", key)],
    );
    let event = json!({
        "conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
        "eventId": "2b210248-9483-4cc8-8df0-4630b6980803",
        "eventType": "v2.detail.events.conversation.{id}.customer.start",
        "eventTime": 1_617_280_073_386_i64,
        "correlationId": null,
        "detail": {"eventBody": {"conversationId": "1bc96a39-6725-40c4-9345-db72aa67b8c6",
            "mediaType": "VOICE", "direction": "INBOUND", "ani": "tel:+3212345678"}},
    });
    let out =
        f.invoke(&json!({"batch": {"events": [event], "deadLetters": []}, "executionId": "arn:x"}));
    assert!(out.ok, "{out:?}\n{}", f.logs());
    let record = &out.body["records"][0];
    // python3 -c "import hmac,hashlib;print(hmac.new(b'local-dev-customer-key-not-a-secret',b'+3212345678',hashlib.sha256).hexdigest())"
    assert_eq!(
        record["customerKey"],
        "4bf16d21fe490db3732851588dd866c76e5aab69e445c04df2357bf53aec7894"
    );
    assert_eq!(record["customerContactAt"], 1_617_280_073_386_i64);
    let mut made = out.body.clone();
    made.as_object_mut().unwrap().remove("events");
    f.assert_logged_with_request_id(&out);
    for (what, text) in [("the answer", made.to_string()), ("the logs", f.logs())] {
        for needle in ["3212345678", key] {
            assert!(!text.contains(needle), "{what} hold {needle:?}:\n{text}");
        }
    }
}

#[test]
fn both_customer_key_variables_fail_init_naming_them() {
    let f = FunctionProcess::start(
        env!("CARGO_BIN_EXE_process"),
        &[
            ("CUSTOMER_KEY", "local-dev-customer-key-not-a-secret"),
            (
                "CUSTOMER_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
            ),
        ],
    );
    let error = f.init_error().expect("an init error");
    assert!(
        error.contains("Config.Invalid")
            && error.contains("CUSTOMER_KEY")
            && error.contains("CUSTOMER_KEY_SECRET_ARN"),
        "{error}"
    );
    assert!(!f.logs().contains("local-dev-customer-key"));
}
