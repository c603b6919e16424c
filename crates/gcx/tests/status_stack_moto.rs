//! `--stack` resolution from a CloudFormation stack in moto, `gcx status` against real queues, and the
//! help an operator reads.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;

#[test]
fn a_stack_names_every_queue_and_the_state_machine_and_flags_win_over_its_outputs() {
    let s = Stack::from_cloudformation("genesys-cx");
    let (id, body) = s.dead_letter("ev-1", CONV_A, "Store.Unavailable");
    let edl = enrichment_dead_letter("ev-2", CONV_A, "Genesys.NotYetAvailable");
    s.send(
        &s.enrichment_dlq,
        &serde_json::to_string(&edl).unwrap(),
        None,
    );
    s.send(
        &s.event_dlq,
        &raw_event("ev-3", CONV_B).to_string(),
        Some("SDK_CLIENT_ERROR"),
    );
    let payload = raw_event("ev-4", CONV_B);
    s.send(
        &s.fanout_dlq,
        &on_failure_record(&payload).to_string(),
        None,
    );

    // A flag wins: a state machine that does not exist fails the pipeline queue only.
    let run = s.gcx(&[
        "redrive",
        "--stack",
        "genesys-cx",
        "--state-machine",
        "arn:aws:states:us-east-1:123456789012:stateMachine:not-this-one",
        "--only",
        "pipeline",
    ]);
    run.assert_code(1);
    assert!(run.stdout.contains("StateMachineDoesNotExist"), "{run}");
    assert_eq!(s.depth(&s.dlq), (1, 0));

    let run = s.gcx(&["--stack", "genesys-cx", "redrive"]);
    run.assert_code(0);
    for q in ["pipeline", "enrichment", "events", "fanout"] {
        assert_eq!(run.summary(q), (1, 1, 1, 0), "{q}\n{run}");
    }
    assert_eq!(
        s.executions().get(&expected_name(&id)),
        Some(&body["input"])
    );
    assert_eq!(s.take_text(&s.enrichment), [edl.input.to_string()]);
    let mut buffered = s.take(&s.buffer);
    buffered.sort_by_key(|e| e["id"].to_string());
    assert_eq!(buffered, [raw_event("ev-3", CONV_B), payload]);
    for q in [&s.dlq, &s.enrichment_dlq, &s.event_dlq, &s.fanout_dlq] {
        assert_eq!(s.depth(q), (0, 0), "{q}");
    }
}

#[test]
fn a_stack_that_does_not_exist_or_lacks_an_output_is_one_clear_line() {
    let s = Stack::new();
    let run = s.gcx(&["redrive", "--stack", "no-such-stack"]);
    run.assert_code(3);
    assert_eq!(
        run.stderr.trim(),
        "gcx: stack no-such-stack does not exist in this account and region (check --stack, --region, AWS_PROFILE)"
    );

    // A stack with only the pipeline dead-letter queue: the state machine output is missing.
    create_stack(
        &s.aws,
        "partial",
        &json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"DeadLetterQueueUrl": {"Value": {"Ref": "Q"}}}}),
    );
    let run = s.gcx(&["redrive", "--stack", "partial"]);
    run.assert_code(3);
    assert_eq!(
        run.stderr.trim(),
        "gcx: pipeline: no state machine to restart the events on: stack partial has no output StateMachineArn; pass --state-machine ARN"
    );
    let run = s.gcx(&["status", "--stack", "partial", "--only", "events"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("no output EventDeadLetterQueueUrl"),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn status_counts_depths_failures_by_name_and_the_enrichment_lag_and_deletes_nothing() {
    let s = Stack::new();
    s.dead_letter("ev-1", CONV_A, "Store.Unavailable");
    s.dead_letter("ev-2", CONV_B, "Store.Unavailable");
    s.dead_letter("ev-3", CONV_A, "Event.Invalid");
    s.send(
        &s.event_dlq,
        &malformed_event(),
        Some("Fanout.MalformedEvent"),
    );
    s.send(&s.event_dlq, &raw_event("ev-4", CONV_A).to_string(), None);
    s.send(
        &s.fanout_dlq,
        &on_failure_record(&raw_event("ev-5", CONV_A)).to_string(),
        None,
    );
    // Waiting for enrichment: requests first queued 10 and 3 minutes ago.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let message = json!({"requests": [request("ev-6", CONV_A, now - 180_000), request("ev-7", CONV_B, now - 600_000)]});
    s.send(&s.enrichment, &message.to_string(), None);
    // A running execution.
    s.aws
        .block_on(
            s.aws
                .sfn
                .start_execution()
                .state_machine_arn(&s.state_machine)
                .input("{}")
                .send(),
        )
        .unwrap();

    let run = s.gcx_all(&["status"]);
    run.assert_code(0);
    let line = |needle: &str| -> Vec<String> {
        run.stdout
            .lines()
            .find(|l| l.starts_with(needle) || l.trim_start().starts_with(needle))
            .unwrap_or_else(|| panic!("no line {needle}\n{run}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(line("DeadLetterQueue")[1..], ["3", "0", "0"]);
    assert_eq!(line("EventDeadLetterQueue")[1..], ["2", "0", "0"]);
    assert_eq!(line("EnrichmentDeadLetterQueue")[1..], ["0", "0", "0"]);
    assert_eq!(line("EnrichmentQueue")[1..], ["1", "0", "0"]);
    assert_eq!(line("pipeline    Store.Unavailable")[2], "2");
    assert_eq!(line("pipeline    Event.Invalid")[2], "1");
    assert_eq!(line("events      Fanout.MalformedEvent")[2], "1");
    assert_eq!(line("events      (no error name)")[4], "1");
    assert_eq!(line("fanout      Fanout.StartFailed")[2], "1");
    let lag = line("enrichment lag:");
    assert!(lag[2] == "10m" || lag[2] == "9m", "{run}");
    assert!(run.stdout.contains("by firstQueuedAt"), "{run}");
    assert_eq!(line("running executions:")[2], "1");

    // Peeked, never deleted, all visible again at once.
    assert_eq!(s.depth(&s.dlq), (3, 0));
    assert_eq!(s.depth(&s.event_dlq), (2, 0));
    assert_eq!(s.depth(&s.fanout_dlq), (1, 0));
    assert_eq!(s.depth(&s.enrichment), (1, 0));

    // --no-peek receives nothing.
    let run = s.gcx_all(&["status", "--no-peek"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("Store.Unavailable"), "{run}");
    assert!(run.stdout.contains("not measured (--no-peek)"), "{run}");
}

#[test]
fn status_peeks_past_the_first_ten_messages() {
    let s = Stack::new();
    for i in 0..25 {
        let error = if i % 5 == 0 {
            "Store.Rejected"
        } else {
            "Store.Unavailable"
        };
        s.dead_letter(&format!("ev-{i}"), CONV_A, error);
    }
    let run = s.gcx(&["status", "--queue", &s.dlq]);
    run.assert_code(0);
    assert!(run.stdout.contains("25 peeked"), "{run}");
    let count = |name: &str| -> String {
        run.stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name}\n{run}"))
            .split_whitespace()
            .nth(2)
            .unwrap()
            .to_owned()
    };
    assert_eq!(count("Store.Unavailable"), "20");
    assert_eq!(count("Store.Rejected"), "5");
    assert_eq!(s.depth(&s.dlq), (25, 0));
    let run = s.gcx(&["status", "--queue", &s.dlq, "--peek", "10"]);
    assert!(run.stdout.contains("10 peeked"), "{run}");
}

#[test]
fn the_help_explains_every_command_and_flag() {
    let s = Stack::new();
    let top = s.gcx(&["--help"]);
    top.assert_code(0);
    for needle in [
        "redrive",
        "status",
        "--stack",
        "--queue",
        "--state-machine",
        "--region",
        "Exit status",
    ] {
        assert!(top.stdout.contains(needle), "{needle}\n{top}");
    }
    let redrive = s.gcx(&["redrive", "--help"]);
    redrive.assert_code(0);
    for needle in [
        "--dry-run",
        "--conversation",
        "--error",
        "--since",
        "--max",
        "--rate",
        "--only",
        "--dead-letter-queue",
        "--enrichment-dead-letter-queue",
        "--event-dead-letter-queue",
        "--fanout-dead-letter-queue",
        "--enrichment-queue",
        "--buffer-queue",
        "--fanout-function",
        "Fanout.MalformedEvent",
        "requestPayload",
        "Examples",
    ] {
        assert!(redrive.stdout.contains(needle), "{needle}\n{redrive}");
    }
    let status = s.gcx(&["status", "--help"]);
    status.assert_code(0);
    for needle in ["--peek", "--no-peek", "maxReceiveCount"] {
        assert!(status.stdout.contains(needle), "{needle}\n{status}");
    }
    let none = s.gcx(&[]);
    assert_eq!(none.code, Some(2), "{none}");
    let bad = s.gcx(&["redrive", "--only", "everything"]);
    assert_eq!(bad.code, Some(2), "{bad}");
    assert!(bad.stderr.contains("pipeline"), "{bad}");
}
