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

    let broken = f.invoke(&json!({"events": []}));
    assert!(!broken.ok);
    assert_eq!(broken.error_type.as_deref(), Some("Pipeline.InvalidInput"));
    let line = f.assert_logged_with_request_id(&broken);
    assert_eq!(line["outcome"], "Pipeline.InvalidInput");
}
