//! The built `validate` binary through the Lambda Runtime API: every input gets an answer, never an error,
//! and every log line carries the invocation's request id.

use serde_json::{json, Value};
use test_support::FunctionProcess;

#[test]
fn answers_valid_and_invalid_inputs_without_failing() {
    let f = FunctionProcess::start(
        env!("CARGO_BIN_EXE_validate"),
        &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
    );
    let input: Value =
        serde_json::from_str(include_str!("../../../events/pipeline/validate-input.json")).unwrap();
    let out = f.invoke(&input);
    assert!(out.ok);
    assert_eq!(
        out.body["events"].as_array().unwrap().len(),
        2,
        "{}",
        out.body
    );
    let [letter] = out.body["deadLetters"].as_array().unwrap().as_slice() else {
        panic!("{}", out.body)
    };
    assert_eq!(letter["error"], "Event.Invalid");
    assert_eq!(letter["stage"], "validate");
    assert_eq!(letter["executionId"], input["executionId"]);
    let line = f.assert_logged_with_request_id(&out);
    test_support::assert_line_correlates(&line, &input);
    assert_eq!(
        (
            line["function"].clone(),
            line["valid"].clone(),
            line["invalid"].clone()
        ),
        (json!("validate"), json!(2), json!(1))
    );

    for bad in [
        json!(null),
        json!([]),
        json!("text"),
        json!({"conversationId": "x"}),
        json!({"batch": {"events": "nope"}}),
    ] {
        let out = f.invoke(&bad);
        assert!(out.ok, "{bad}: {out:?}");
        assert_eq!(out.body["events"], json!([]));
        assert_eq!(
            out.body["deadLetters"][0]["error"], "Event.Invalid",
            "{bad}"
        );
        f.assert_logged_with_request_id(&out);
    }
    let huge = format!("[{}]", "[".repeat(10_000) + &"]".repeat(10_000));
    let out = f.invoke_raw(huge.as_bytes(), std::time::Duration::from_secs(5));
    assert!(
        out.error_type.as_deref() != Some("Runtime.ExitError"),
        "a deep payload must not crash the process: {out:?}"
    );
}

#[test]
fn with_a_metrics_namespace_the_invocation_line_is_a_cloudwatch_metric_record() {
    let f = FunctionProcess::start(
        env!("CARGO_BIN_EXE_validate"),
        &[("METRICS_NAMESPACE", "GenesysCx/test-stack")],
    );
    let input: Value =
        serde_json::from_str(include_str!("../../../events/pipeline/validate-input.json")).unwrap();
    let out = f.invoke(&input);
    let line = f.assert_logged_with_request_id(&out);
    // Embedded Metric Format: every metric named in a directive is a number at the top level, and
    // every dimension a string.
    let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(line["_aws"]["Timestamp"].is_u64());
    let mut names = Vec::new();
    for d in directives {
        assert_eq!(d["Namespace"], "GenesysCx/test-stack");
        for dims in d["Dimensions"].as_array().unwrap() {
            for dim in dims.as_array().unwrap() {
                assert!(line[dim.as_str().unwrap()].is_string(), "{dim}: {line}");
            }
        }
        for m in d["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name}: {line}");
            names.push(name.to_owned());
        }
    }
    assert_eq!(names, ["invocations", "durationMs", "valid", "invalid"]);
    assert_eq!(
        (line["valid"].clone(), line["invalid"].clone()),
        (json!(2), json!(1))
    );
}
