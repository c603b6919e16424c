//! The built `fanout` binary through the Lambda Runtime API, against a real Step Functions and SQS API
//! (moto on loopback): batches and their limits, deterministic names and redelivery, skips, malformed
//! events to the event dead-letter queue, a state machine that does not exist, partial batch failures.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use test_support::aws::LocalAws;
use test_support::FunctionProcess;

fn event(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

/// `customer-start-sample.json` as another event (new EventBridge id, same conversation).
fn copy(id: &str) -> Value {
    let mut e = event("eventbridge/customer-start-sample.json");
    e["id"] = json!(id);
    e
}

fn sqs(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m{i}"), "receiptHandle": format!("r{i}"), "body": b,
                             "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:buffer",
                             "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}}))
        .collect();
    json!({ "Records": records })
}

struct Stack {
    aws: LocalAws,
    arn: String,
    dlq: String,
}

impl Stack {
    /// With `execute`, moto runs executions (the one-state machine succeeds at once), so a redelivery
    /// meets a closed execution; without, executions stay RUNNING.
    fn new(execute: bool) -> Self {
        let aws = LocalAws::start(execute);
        let arn = aws.create_state_machine(
            "pipeline",
            r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#,
        );
        let dlq = aws.create_queue("events-dlq");
        Self { aws, arn, dlq }
    }

    fn fanout(&self, arn: &str, extra: &[(&str, &str)]) -> FunctionProcess {
        let mut env: Vec<(String, String)> = self.aws.env();
        env.push(("STATE_MACHINE_ARN".into(), arn.into()));
        env.push(("EVENT_DEAD_LETTER_QUEUE_URL".into(), self.dlq.clone()));
        env.push(("FANOUT_CONCURRENCY".into(), "4".into()));
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionProcess::start(env!("CARGO_BIN_EXE_fanout"), &env_refs)
    }
}

#[test]
fn one_event_starts_one_execution_named_after_it_with_a_batch_of_one() {
    let stack = Stack::new(false);
    let f = stack.fanout(&stack.arn, &[]);
    let input = event("eventbridge/customer-start-sample.json");
    let out = f.invoke(&input);
    assert!(out.ok, "{out:?}\n{}", f.logs());
    assert_eq!(
        out.body,
        json!({"events": 1, "executions": 1, "started": 1, "duplicates": 0, "skipped": [], "deadLettered": [], "failed": []})
    );
    let line = f.assert_logged_with_request_id(&out);
    assert_eq!(
        (line["function"].clone(), line["executions"].clone()),
        (json!("fanout"), json!(1))
    );
    test_support::assert_line_correlates(&line, &input);
    let executions = stack.aws.executions(&stack.arn);
    let [(name, input)] = executions.as_slice() else {
        panic!("{executions:?}")
    };
    assert_eq!(name, "adbcfa5b-0116-4baa-b66b-a3f5902e95bf");
    let checked = gcx_core::contract::check(input).expect("the input follows the contract");
    let e = &checked.events[0];
    assert_eq!(e.conversation_id, "2f7bf00a-0fc2-4d6a-9b56-92238191433e");
    assert_eq!(e.event_time, 1_649_237_444_949);
    assert_eq!(
        e.correlation_id.as_deref(),
        Some("fe8a8579-b83f-4f07-b371-2b39398f91a8")
    );
    assert_eq!(
        e.detail,
        event("eventbridge/customer-start-sample.json")["detail"]
    );
}

#[test]
fn an_sqs_batch_is_packed_into_as_few_executions_as_the_limit_allows_and_a_redelivery_starts_none()
{
    let stack = Stack::new(false);
    let f = stack.fanout(&stack.arn, &[("BATCH_MAX_EVENTS", "4")]);
    let bodies: Vec<String> = (0..10)
        .map(|i| copy(&format!("ev-{i:02}")).to_string())
        .collect();
    let out = f.invoke(&sqs(&bodies));
    assert!(out.ok, "{out:?}");
    assert_eq!(
        (out.body["executions"].clone(), out.body["started"].clone()),
        (json!(3), json!(10))
    );
    assert_eq!(out.body["batchItemFailures"], json!([]));
    let executions = stack.aws.executions(&stack.arn);
    let sizes: Vec<usize> = executions
        .iter()
        .map(|(_, i)| i["events"].as_array().unwrap().len())
        .collect();
    let mut sorted = sizes;
    sorted.sort_unstable();
    assert_eq!(sorted, [2, 4, 4]);
    let ids: BTreeSet<String> = executions
        .iter()
        .flat_map(|(_, i)| {
            i["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["eventId"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(ids.len(), 10);
    assert!(executions.iter().all(|(n, _)| n.starts_with("batch-")));

    // The same batch again, in another order: the same names, nothing new. (A success for a still
    // RUNNING execution counts as a duplicate once its start date is over a second old.)
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let mut reversed = bodies;
    reversed.reverse();
    let again = f.invoke(&sqs(&reversed));
    assert_eq!(
        (
            again.body["executions"].clone(),
            again.body["duplicates"].clone()
        ),
        (json!(0), json!(10))
    );
    assert_eq!(stack.aws.executions(&stack.arn).len(), 3);
}

#[test]
fn a_batch_is_bounded_by_bytes_too() {
    let stack = Stack::new(false);
    let padded = |id: &str| {
        let mut e = copy(id);
        e["detail"]["eventBody"]["subject"] = json!("x".repeat(8000));
        e
    };
    // BATCH_MAX_BYTES bounds the largest state an execution reaches (process's answer: each event again,
    // with its record and its enrichment request), so two padded events fit and three do not.
    let budget_of = |events: &[Value]| {
        let arn_len = gcx_core::contract::budget::execution_id_bound(&stack.arn);
        let mut b = gcx_core::contract::budget::Budget::new(usize::MAX, arn_len);
        for e in events {
            let parsed = gcx_core::events::GenesysEvent::parse(e.clone()).unwrap();
            let element = gcx_core::contract::PipelineEvent::from_event(&parsed).unwrap();
            let cost = b.cost(&element);
            b.add(&cost);
        }
        b.largest()
    };
    let two = budget_of(&[padded("b-0"), padded("b-1")]);
    let three = budget_of(&[padded("b-0"), padded("b-1"), padded("b-2")]);
    assert!(three > two + 8000 && two > 2 * serde_json::to_vec(&padded("b-0")).unwrap().len());
    let max = ((two + three) / 2).to_string();
    let f = stack.fanout(&stack.arn, &[("BATCH_MAX_BYTES", max.as_str())]);
    let events: Vec<Value> = (0..6).map(|i| padded(&format!("b-{i}"))).collect();
    let out = f.invoke(&json!(events));
    assert!(out.ok, "{out:?}");
    for (_, input) in stack.aws.executions(&stack.arn) {
        assert_eq!(input["events"].as_array().unwrap().len(), 2, "{input}");
    }
    assert_eq!(stack.aws.executions(&stack.arn).len(), 3);
}

#[test]
fn skips_and_dead_letters_say_why_and_nothing_is_lost() {
    let stack = Stack::new(false);
    let f = stack.fanout(&stack.arn, &[]);
    let mut no_time = copy("no-time");
    no_time["detail"]["eventBody"]
        .as_object_mut()
        .unwrap()
        .remove("eventTime");
    let mut no_id = copy("x");
    no_id.as_object_mut().unwrap().remove("id");
    let payload = json!([
        copy("good-1"),
        event("eventbridge/audit.json"),
        event("eventbridge/queue-conversation.json"),
        no_time,
        no_id,
        "just a string",
        copy("good-1"),
    ]);
    let out = f.invoke(&payload);
    assert!(out.ok, "{out:?}");
    let b = &out.body;
    assert_eq!(
        (
            b["events"].clone(),
            b["started"].clone(),
            b["duplicates"].clone()
        ),
        (json!(7), json!(1), json!(1))
    );
    let reasons: Vec<&str> = b["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].starts_with("not a conversation detail event: v2.audits"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("not a conversation detail event: v2.routing"),
        "{reasons:?}"
    );
    assert!(reasons[2].starts_with("no event id"), "{reasons:?}");
    let letters = stack.aws.drain(&stack.dlq);
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].attributes["ERROR_CODE"], "Fanout.MalformedEvent");
    assert_eq!(
        letters[0].attributes["ERROR_MESSAGE"],
        "a conversation detail event with no eventBody.eventTime"
    );
    assert_eq!(
        letters[0].body["id"], "no-time",
        "the event itself, to redrive"
    );
    assert_eq!(letters[1].body, json!("just a string"));
    assert_eq!(b["deadLettered"].as_array().unwrap().len(), 2);
}

#[test]
fn a_state_machine_that_does_not_exist_fails_direct_input_and_hands_sqs_records_back() {
    let stack = Stack::new(false);
    let f = stack.fanout(
        "arn:aws:states:us-east-1:123456789012:stateMachine:missing",
        &[],
    );
    let out = f.invoke(&copy("lost-1"));
    assert!(!out.ok);
    assert_eq!(out.error_type.as_deref(), Some("Fanout.StartFailed"));
    assert!(
        out.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("StateMachineDoesNotExist"),
        "{}",
        out.body
    );
    f.assert_logged_with_request_id(&out);

    let bodies = vec![
        copy("s-1").to_string(),
        event("eventbridge/audit.json").to_string(),
        "{not json".to_owned(),
    ];
    let out = f.invoke(&sqs(&bodies));
    assert!(out.ok, "{out:?}");
    assert_eq!(
        out.body["batchItemFailures"],
        json!([{"itemIdentifier": "m0"}]),
        "only the record that was not started"
    );
    assert_eq!(stack.aws.drain(&stack.dlq)[0].body, json!("{not json"));
}

#[test]
fn a_closed_execution_with_the_same_name_is_a_duplicate() {
    let stack = Stack::new(true);
    let f = stack.fanout(&stack.arn, &[]);
    assert_eq!(f.invoke(&copy("once")).body["executions"], 1);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let again = f.invoke(&copy("once"));
    assert_eq!(
        (
            again.body["executions"].clone(),
            again.body["duplicates"].clone()
        ),
        (json!(0), json!(1))
    );
}

#[test]
fn bad_settings_fail_init_naming_the_variable() {
    let stack = Stack::new(false);
    let f = stack.fanout(&stack.arn, &[("BATCH_MAX_EVENTS", "0")]);
    let error = f.init_error().expect("init fails");
    assert!(
        error.contains("Config.Invalid") && error.contains("BATCH_MAX_EVENTS"),
        "{error}"
    );
}
