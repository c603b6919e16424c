//! The built `fanout` binary, run through the Lambda Runtime API, against a real Step Functions API
//! (a moto server on loopback): single, array and SQS input, duplicates, skips, malformed events and a
//! state machine that does not exist.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use test_support::moto::MotoServer;
use test_support::FunctionProcess;

fn event(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

struct Stack {
    moto: MotoServer,
    sfn: aws_sdk_sfn::Client,
    arn: String,
    runtime: tokio::runtime::Runtime,
}

impl Stack {
    fn new() -> Self {
        Self::with_execution(false)
    }

    /// With `execute`, moto runs executions (the one-state machine succeeds at once), so a redelivery
    /// meets a closed execution; without, executions stay RUNNING.
    fn with_execution(execute: bool) -> Self {
        let moto = MotoServer::start();
        if execute {
            moto.enable_execution();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sfn = runtime.block_on(async {
            let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&moto.endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load()
                .await;
            aws_sdk_sfn::Client::new(&conf)
        });
        let arn = runtime.block_on(async {
            sfn.create_state_machine()
                .name("pipeline")
                .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
                .role_arn("arn:aws:iam::123456789012:role/sfn")
                .send()
                .await
                .expect("create the state machine in moto")
                .state_machine_arn
        });
        Self {
            moto,
            sfn,
            arn,
            runtime,
        }
    }

    fn fanout(&self, arn: &str) -> FunctionProcess {
        let mut env: Vec<(String, String)> = self.moto.env();
        env.push(("STATE_MACHINE_ARN".into(), arn.into()));
        env.push(("FANOUT_CONCURRENCY".into(), "4".into()));
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionProcess::start(env!("CARGO_BIN_EXE_fanout"), &env_refs)
    }

    /// Execution name → parsed input.
    fn executions(&self) -> Vec<(String, Value)> {
        self.runtime.block_on(async {
            let list = self
                .sfn
                .list_executions()
                .state_machine_arn(&self.arn)
                .max_results(1000)
                .send()
                .await
                .unwrap();
            let mut out = Vec::new();
            for e in list.executions() {
                let d = self
                    .sfn
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .unwrap();
                out.push((
                    e.name().to_owned(),
                    serde_json::from_str(d.input().unwrap_or("null")).unwrap(),
                ));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        })
    }
}

#[test]
fn one_eventbridge_event_starts_one_execution_with_the_documented_input() {
    let stack = Stack::new();
    let f = stack.fanout(&stack.arn);
    let out = f.invoke(&event("eventbridge/customer-start-sample.json"));
    assert!(out.ok, "{out:?}\n{}", f.logs());
    assert_eq!(
        out.body,
        json!({"started": 1, "duplicates": 0, "skipped": [], "failed": []})
    );
    let executions = stack.executions();
    assert_eq!(executions.len(), 1);
    let (name, input) = &executions[0];
    assert_eq!(name, "adbcfa5b-0116-4baa-b66b-a3f5902e95bf");
    assert_eq!(
        input["conversationId"],
        "2f7bf00a-0fc2-4d6a-9b56-92238191433e"
    );
    assert_eq!(input["eventId"], "adbcfa5b-0116-4baa-b66b-a3f5902e95bf");
    assert_eq!(
        input["eventType"],
        "v2.detail.events.conversation.{id}.customer.start"
    );
    assert_eq!(input["eventTime"], 1_649_237_444_949_i64);
    assert_eq!(
        input["correlationId"],
        "fe8a8579-b83f-4f07-b371-2b39398f91a8"
    );
    assert_eq!(
        input["detail"],
        event("eventbridge/customer-start-sample.json")["detail"]
    );
}

#[test]
fn a_redelivered_event_is_a_duplicate_not_a_second_execution() {
    let stack = Stack::with_execution(true);
    let f = stack.fanout(&stack.arn);
    let e = event("eventbridge/customer-end.json");
    assert_eq!(f.invoke(&e).body["started"], 1);
    let again = f.invoke(&e);
    assert!(again.ok, "{again:?}");
    assert_eq!(
        again.body,
        json!({"started": 0, "duplicates": 1, "skipped": [], "failed": []})
    );
    assert_eq!(stack.executions().len(), 1);
}

#[test]
fn a_redelivery_while_the_execution_runs_is_an_idempotent_duplicate() {
    let stack = Stack::new();
    let f = stack.fanout(&stack.arn);
    let e = event("eventbridge/acw.json");
    assert_eq!(f.invoke(&e).body["started"], 1);
    // StartExecution answers success for a RUNNING execution with the same name and input; fanout tells
    // it from a new start by its start date, which must be older than the skew allowance.
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let again = f.invoke(&e);
    assert_eq!(
        again.body,
        json!({"started": 0, "duplicates": 1, "skipped": [], "failed": []})
    );
    assert_eq!(stack.executions().len(), 1);
}

#[test]
fn an_array_starts_conversation_events_and_skips_the_rest_with_reasons() {
    let stack = Stack::with_execution(true);
    let f = stack.fanout(&stack.arn);
    let array = event("fanout/array.json");
    let items = array.as_array().unwrap();
    let conversation_events: BTreeSet<String> = items
        .iter()
        .filter(|e| {
            e["detail-type"]
                .as_str()
                .unwrap()
                .starts_with("v2.detail.events.conversation.")
        })
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let out = f.invoke(&array);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.body["started"], conversation_events.len());
    let skipped = out.body["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), items.len() - conversation_events.len());
    for s in skipped {
        assert!(
            s["reason"]
                .as_str()
                .unwrap()
                .starts_with("not a conversation event: v2."),
            "{s}"
        );
    }
    let names: BTreeSet<String> = stack.executions().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, conversation_events);
    // Redelivering the whole array starts nothing new.
    let again = f.invoke(&array);
    assert_eq!(
        (
            again.body["started"].as_u64(),
            again.body["duplicates"].as_u64()
        ),
        (Some(0), Some(conversation_events.len() as u64))
    );
}

#[test]
fn sqs_input_reports_only_failed_records_for_redelivery() {
    let stack = Stack::new();
    let f = stack.fanout(&stack.arn);
    let mut sqs = event("fanout/sqs.json");
    let records = sqs["Records"].as_array_mut().unwrap();
    let mut broken = records[0].clone();
    broken["messageId"] = json!("broken-1");
    broken["body"] = json!("{not json");
    records.push(broken);
    let total = records.len();
    let out = f.invoke(&sqs);
    assert!(out.ok, "{out:?}");
    assert_eq!(
        out.body["batchItemFailures"],
        json!([{"itemIdentifier": "broken-1"}])
    );
    assert_eq!(
        out.body["started"].as_u64().unwrap()
            + out.body["skipped"].as_array().unwrap().len() as u64
            + 1,
        total as u64
    );
    assert!(out.body["failed"][0]["error"]
        .as_str()
        .unwrap()
        .starts_with("Fanout.MalformedEvent: SQS body is not JSON"));
    assert_eq!(
        stack.executions().len() as u64,
        out.body["started"].as_u64().unwrap()
    );
}

#[test]
fn malformed_events_fail_with_a_clear_error_and_start_nothing() {
    let stack = Stack::new();
    let f = stack.fanout(&stack.arn);
    let cases = [
        (
            "fanout/malformed-string.json",
            "expected an EventBridge event, an array of events or an SQS event, got a string",
        ),
        ("fanout/malformed-number.json", "got a number"),
        ("fanout/malformed-no-detail.json", "detail is missing"),
        (
            "fanout/malformed-eventbody-string.json",
            "detail.eventBody must be an object, got a string",
        ),
    ];
    for (file, want) in cases {
        let out = f.invoke(&event(file));
        assert!(!out.ok, "{file}: {out:?}");
        assert_eq!(
            out.error_type.as_deref(),
            Some("Fanout.MalformedEvent"),
            "{file}"
        );
        assert!(
            out.body["errorMessage"].as_str().unwrap().contains(want),
            "{file}: {}",
            out.body
        );
    }
    for (file, reason) in [
        ("fanout/malformed-missing-id.json", "no event id"),
        (
            "fanout/malformed-no-conversation-id.json",
            "no eventBody.conversationId",
        ),
    ] {
        let out = f.invoke(&event(file));
        assert!(out.ok, "{file}: {out:?}");
        assert_eq!(out.body["skipped"][0]["reason"], reason, "{file}");
    }
    assert!(stack.executions().is_empty());
    assert!(!f.logs().contains("panicked"), "{}", f.logs());
}

#[test]
fn a_missing_state_machine_fails_the_invocation_and_names_the_problem() {
    let stack = Stack::new();
    let f = stack.fanout("arn:aws:states:us-east-1:123456789012:stateMachine:does-not-exist");
    let out = f.invoke(&event("eventbridge/customer-end.json"));
    assert!(!out.ok);
    assert_eq!(out.error_type.as_deref(), Some("Fanout.StartFailed"));
    let message = out.body["errorMessage"].as_str().unwrap();
    assert!(message.contains("StateMachineDoesNotExist"), "{message}");
    assert!(
        message.contains("1 of 1 events could not be started"),
        "{message}"
    );
}

#[test]
fn missing_configuration_fails_init_naming_the_variable() {
    let f = FunctionProcess::start(env!("CARGO_BIN_EXE_fanout"), &[]);
    let out = f.invoke(&json!({}));
    assert!(!out.ok);
    assert!(
        f.init_error()
            .unwrap_or_default()
            .contains("STATE_MACHINE_ARN")
            || f.logs().contains("STATE_MACHINE_ARN"),
        "{}",
        f.logs()
    );
}
