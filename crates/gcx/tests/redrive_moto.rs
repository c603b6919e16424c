//! `gcx redrive` run as an operator runs it, against real SQS and Step Functions APIs (moto on loopback):
//! each queue's own way back, the filters, `--max`, `--dry-run`, failures that leave messages where they
//! are, and a re-run after a crash between StartExecution and DeleteMessage.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use test_support::aws::LocalAws;

fn redrive_pipeline(s: &Stack, extra: &[&str]) -> Run {
    let mut args = vec![
        "redrive",
        "--queue",
        &s.dlq,
        "--state-machine",
        &s.state_machine,
    ];
    args.extend_from_slice(extra);
    s.gcx(&args)
}

#[test]
fn pipeline_dead_letters_start_their_input_under_a_stable_name_and_are_deleted() {
    let s = Stack::new();
    let (id1, b1) = s.dead_letter("ev-1", CONV_A, "Store.Unavailable");
    let (id2, b2) = s.dead_letter("ev-2", CONV_B, "Queue.Unavailable");

    let run = redrive_pipeline(&s, &[]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (2, 2, 2, 0), "{run}");

    let executions = s.executions();
    let mut names = vec![expected_name(&id1), expected_name(&id2)];
    names.sort();
    assert_eq!(executions.keys().cloned().collect::<Vec<_>>(), names);
    for (id, body) in [(&id1, &b1), (&id2, &b2)] {
        let input = &executions[&expected_name(id)];
        assert_eq!(input, &body["input"]);
        gcx_core::contract::check(input).expect("the execution input follows the contract");
    }
    assert_eq!(s.depth(&s.dlq), (0, 0), "deleted once started");
    assert!(
        run.stdout.contains("event ev-1") && run.stdout.contains(CONV_A),
        "{run}"
    );
    assert!(run.stdout.contains("(Store.Unavailable)"), "{run}");
    // Never a body: the event's other fields do not appear.
    assert!(
        !run.stdout.contains("PureCloud Webchat") && !run.stdout.contains("uwu"),
        "{run}"
    );

    // Nothing left: a second run finds nothing and starts nothing.
    let again = redrive_pipeline(&s, &[]);
    again.assert_code(0);
    assert_eq!(again.summary("pipeline"), (0, 0, 0, 0));
    assert_eq!(s.executions().len(), 2);
}

#[test]
fn a_rerun_after_a_crash_between_start_and_delete_starts_no_second_execution() {
    // Without execution the first start is still RUNNING (Step Functions returns it again for the same
    // name and input); with execution it has SUCCEEDED (ExecutionAlreadyExists). Both are a success.
    for execute in [false, true] {
        let s = Stack::with(LocalAws::start(execute));
        let (id, body) = s.dead_letter("ev-crash", CONV_A, "Store.Unavailable");
        // What the crashed run did: the start, not the delete.
        s.aws
            .block_on(
                s.aws
                    .sfn
                    .start_execution()
                    .state_machine_arn(&s.state_machine)
                    .name(expected_name(&id))
                    .input(body["input"].to_string())
                    .send(),
            )
            .expect("the crashed run's start");
        if execute {
            wait_until_closed(&s);
        }

        let run = redrive_pipeline(&s, &[]);
        run.assert_code(0);
        assert_eq!(
            run.summary("pipeline"),
            (1, 1, 1, 0),
            "execute={execute}\n{run}"
        );
        assert_eq!(s.executions().len(), 1, "execute={execute}\n{run}");
        assert_eq!(s.depth(&s.dlq), (0, 0), "execute={execute}");
        if execute {
            assert!(
                run.stdout.contains("already started by an earlier run"),
                "{run}"
            );
        }
    }
}

fn wait_until_closed(s: &Stack) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let out = s
            .aws
            .block_on(
                s.aws
                    .sfn
                    .list_executions()
                    .state_machine_arn(&s.state_machine)
                    .send(),
            )
            .unwrap();
        if out
            .executions()
            .iter()
            .all(|e| e.status().as_str() != "RUNNING")
        {
            return;
        }
        assert!(Instant::now() < until, "the execution did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dry_run_changes_nothing_in_any_queue() {
    let s = Stack::new();
    s.dead_letter("ev-1", CONV_A, "Store.Unavailable");
    let edl = enrichment_dead_letter("ev-2", CONV_A, "Genesys.NotYetAvailable");
    s.send(
        &s.enrichment_dlq,
        &serde_json::to_string(&edl).unwrap(),
        Some("Genesys.NotYetAvailable"),
    );
    s.send(
        &s.event_dlq,
        &raw_event("ev-3", CONV_A).to_string(),
        Some("Fanout.EventTooLarge"),
    );
    s.send(
        &s.fanout_dlq,
        &on_failure_record(&raw_event("ev-4", CONV_B)).to_string(),
        None,
    );

    let run = s.gcx_all(&["redrive", "--dry-run"]);
    run.assert_code(0);
    for q in ["pipeline", "enrichment", "events", "fanout"] {
        assert_eq!(run.summary(q), (1, 1, 1, 0), "{q}\n{run}");
    }
    assert!(
        run.stdout.contains("would start execution redrive-"),
        "{run}"
    );
    assert!(
        run.stdout.contains("would send to EnrichmentQueue"),
        "{run}"
    );
    assert!(
        run.stdout.contains("would send to FanoutBufferQueue"),
        "{run}"
    );
    assert!(run.stdout.contains("dry run"), "{run}");

    // Every message is still there and visible to others; nothing was sent or started.
    for q in [&s.dlq, &s.enrichment_dlq, &s.event_dlq, &s.fanout_dlq] {
        assert_eq!(s.depth(q), (1, 0), "{q}");
    }
    assert_eq!(s.depth(&s.enrichment), (0, 0));
    assert_eq!(s.depth(&s.buffer), (0, 0));
    assert!(s.executions().is_empty());
}

#[test]
fn enrichment_dead_letters_and_moved_requests_go_back_to_the_enrichment_queue() {
    let s = Stack::new();
    let edl = enrichment_dead_letter("ev-1", CONV_A, "Genesys.AuthFailed");
    s.send(
        &s.enrichment_dlq,
        &serde_json::to_string(&edl).unwrap(),
        Some("Genesys.AuthFailed"),
    );
    // Moved by EnrichmentQueue's redrive policy after 10 receives: an enrichment message itself.
    let moved = json!({"requests": [request("ev-2", CONV_B, 1_700_000_000_000)]}).to_string();
    s.send(&s.enrichment_dlq, &moved, None);

    let run = s.gcx(&[
        "redrive",
        "--enrichment-dead-letter-queue",
        &s.enrichment_dlq,
        "--enrichment-queue",
        &s.enrichment,
    ]);
    run.assert_code(0);
    assert_eq!(run.summary("enrichment"), (2, 2, 2, 0), "{run}");
    let mut sent = s.take_text(&s.enrichment);
    sent.sort();
    let mut want = vec![edl.input.to_string(), moved];
    want.sort();
    assert_eq!(sent, want);
    assert_eq!(s.depth(&s.enrichment_dlq), (0, 0));
}

#[test]
fn raw_events_go_back_to_the_buffer_as_they_are_and_malformed_ones_only_when_named() {
    let s = Stack::new();
    let good = raw_event("ev-1", CONV_A).to_string();
    s.send(&s.event_dlq, &good, Some("SDK_CLIENT_ERROR"));
    // Moved from the buffer after 5 receives: no attributes at all.
    let moved = raw_event("ev-2", CONV_B).to_string();
    s.send(&s.event_dlq, &moved, None);
    s.send(
        &s.event_dlq,
        &malformed_event(),
        Some("Fanout.MalformedEvent"),
    );

    let run = s.gcx(&[
        "redrive",
        "--event-dead-letter-queue",
        &s.event_dlq,
        "--buffer-queue",
        &s.buffer,
    ]);
    run.assert_code(0);
    assert_eq!(run.summary("events"), (3, 2, 2, 1), "{run}");
    assert!(
        run.stdout.contains("skipped: Fanout.MalformedEvent"),
        "{run}"
    );
    let mut sent = s.take_text(&s.buffer);
    sent.sort();
    let mut want = vec![good, moved];
    want.sort();
    assert_eq!(sent, want, "bodies byte for byte");
    assert_eq!(
        s.depth(&s.event_dlq),
        (1, 0),
        "the malformed event stays, visible"
    );

    // Named explicitly, it goes too (a pattern is not enough).
    let pattern = s.gcx(&[
        "redrive",
        "--event-dead-letter-queue",
        &s.event_dlq,
        "--buffer-queue",
        &s.buffer,
        "--error",
        "Fanout.*",
    ]);
    pattern.assert_code(0);
    assert_eq!(pattern.summary("events").2, 0, "{pattern}");
    let named = s.gcx(&[
        "redrive",
        "--event-dead-letter-queue",
        &s.event_dlq,
        "--buffer-queue",
        &s.buffer,
        "--error",
        "Fanout.MalformedEvent",
    ]);
    named.assert_code(0);
    assert_eq!(named.summary("events"), (1, 1, 1, 0), "{named}");
    assert_eq!(s.take_text(&s.buffer), [malformed_event()]);
    assert_eq!(s.depth(&s.event_dlq), (0, 0));
}

#[test]
fn fanout_on_failure_records_redeliver_their_request_payload() {
    let s = Stack::new();
    let payload = raw_event("ev-1", CONV_A);
    s.send(
        &s.fanout_dlq,
        &on_failure_record(&payload).to_string(),
        None,
    );

    let run = s.gcx(&[
        "redrive",
        "--fanout-dead-letter-queue",
        &s.fanout_dlq,
        "--buffer-queue",
        &s.buffer,
        "--error",
        "Fanout.StartFailed",
    ]);
    run.assert_code(0);
    assert_eq!(run.summary("fanout"), (1, 1, 1, 0), "{run}");
    assert_eq!(s.take(&s.buffer), [payload]);
    assert_eq!(s.depth(&s.fanout_dlq), (0, 0));
}

#[test]
fn conversation_and_error_filters_take_only_matching_messages_and_leave_the_rest_visible() {
    let s = Stack::new();
    let (a1, _) = s.dead_letter("ev-a1", CONV_A, "Store.Unavailable");
    let (b1, _) = s.dead_letter("ev-b1", CONV_B, "Store.Unavailable");
    let (a2, _) = s.dead_letter("ev-a2", CONV_A, "Event.Invalid");
    s.send(
        &s.event_dlq,
        &raw_event("ev-raw-a", CONV_A).to_string(),
        Some("SDK_CLIENT_ERROR"),
    );
    s.send(
        &s.event_dlq,
        &raw_event("ev-raw-b", CONV_B).to_string(),
        Some("SDK_CLIENT_ERROR"),
    );

    let run = s.gcx_all(&["redrive", "--conversation", CONV_A]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (3, 2, 2, 1), "{run}");
    assert_eq!(run.summary("events"), (2, 1, 1, 1), "{run}");
    assert!(
        run.stdout.contains("1 not matching --conversation"),
        "{run}"
    );
    let names: Vec<String> = s.executions().into_keys().collect();
    let mut want = vec![expected_name(&a1), expected_name(&a2)];
    want.sort();
    assert_eq!(names, want);
    let buffered = s.take(&s.buffer);
    assert_eq!(buffered.len(), 1);
    assert_eq!(buffered[0]["id"], "ev-raw-a");
    assert_eq!(
        s.depth(&s.dlq),
        (1, 0),
        "the other conversation stays, visible"
    );
    assert_eq!(s.depth(&s.event_dlq), (1, 0));

    // --error: only that name.
    s.dead_letter("ev-b2", CONV_B, "Store.Rejected");
    let run = redrive_pipeline(&s, &["--error", "Store.Rejected"]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (2, 1, 1, 1), "{run}");
    assert!(!s.executions().contains_key(&expected_name(&b1)));
    assert_eq!(s.executions().len(), 3);
    assert_eq!(s.depth(&s.dlq), (1, 0));
}

#[test]
fn since_takes_only_messages_dead_lettered_after_it() {
    let s = Stack::new();
    let (old, _) = s.dead_letter("ev-old", CONV_A, "Store.Unavailable");
    std::thread::sleep(Duration::from_millis(1500));
    let cutoff = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (new, _) = s.dead_letter("ev-new", CONV_A, "Store.Unavailable");

    let run = redrive_pipeline(&s, &["--since", &cutoff]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (2, 1, 1, 1), "{run}");
    assert!(s.executions().contains_key(&expected_name(&new)));
    assert!(!s.executions().contains_key(&expected_name(&old)));
    assert!(run.stdout.contains("1 not matching --since"), "{run}");

    // A duration: the old one was sent less than an hour ago.
    let run = redrive_pipeline(&s, &["--since", "1h"]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (1, 1, 1, 0), "{run}");
    assert_eq!(s.executions().len(), 2);

    let bad = redrive_pipeline(&s, &["--since", "yesterday"]);
    assert_eq!(bad.code, Some(2), "{bad}");
    assert!(bad.stderr.contains("RFC 3339"), "{bad}");
}

#[test]
fn max_bounds_the_run_over_all_queues_and_leaves_the_rest_visible() {
    let s = Stack::new();
    for i in 0..5 {
        s.dead_letter(&format!("ev-{i}"), CONV_A, "Store.Unavailable");
    }
    s.send(
        &s.event_dlq,
        &raw_event("ev-raw", CONV_A).to_string(),
        Some("SDK_CLIENT_ERROR"),
    );
    let run = s.gcx_all(&["redrive", "--max", "2"]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline").2, 2, "{run}");
    assert_eq!(run.summary("events").2, 0, "{run}");
    assert!(run.stdout.contains("--max 2 reached"), "{run}");
    assert_eq!(s.executions().len(), 2);
    assert_eq!(s.depth(&s.dlq), (3, 0));
    assert_eq!(s.depth(&s.event_dlq), (1, 0));
}

#[test]
fn a_state_machine_that_does_not_exist_leaves_every_message_and_fails_the_run() {
    let s = Stack::new();
    for i in 0..3 {
        s.dead_letter(&format!("ev-{i}"), CONV_A, "Store.Unavailable");
    }
    let missing = format!("{}-gone", s.state_machine);
    let run = s.gcx(&["redrive", "--queue", &s.dlq, "--state-machine", &missing]);
    run.assert_code(1);
    assert!(run.stdout.contains("StateMachineDoesNotExist"), "{run}");
    assert!(run.stdout.contains("aborted"), "{run}");
    let (_, _, redriven, _) = run.summary("pipeline");
    assert_eq!(redriven, 0);
    assert_eq!(
        run.stdout.matches("StartExecution failed").count(),
        2,
        "one progress line and one summary line: the first failure stops the pass\n{run}"
    );
    assert_eq!(s.depth(&s.dlq), (3, 0), "all still there, visible");
}

#[test]
fn unusable_messages_are_reported_and_left_while_the_others_go() {
    let s = Stack::new();
    s.send(&s.dlq, "this is not JSON", Some("Store.Unavailable"));
    // The state machine's DeadLetterWholeInput: an input that is not a batch, carried as it came.
    let whole = json!({"eventId": "", "conversationId": "", "eventType": "", "correlationId": null,
                       "error": "Pipeline.InvalidInput", "cause": "no events array", "stage": "validate",
                       "executionId": EXECUTION, "input": {"hello": "world"}});
    s.send(&s.dlq, &whole.to_string(), Some("Pipeline.InvalidInput"));
    let (good, _) = s.dead_letter("ev-good", CONV_A, "Store.Unavailable");

    let run = redrive_pipeline(&s, &[]);
    run.assert_code(1);
    assert_eq!(run.summary("pipeline"), (3, 3, 1, 2), "{run}");
    assert!(run.stdout.contains("the body is not JSON"), "{run}");
    assert!(
        run.stdout.contains("its input is not {\"events\": [...]}"),
        "{run}"
    );
    assert_eq!(
        s.executions().keys().cloned().collect::<Vec<_>>(),
        [expected_name(&good)]
    );
    assert_eq!(s.depth(&s.dlq), (2, 0));
}

#[test]
fn a_fanout_function_that_does_not_exist_leaves_the_events() {
    // moto's Lambda (its default, Docker-backed mode) answers an Invoke of an unknown function with
    // ResourceNotFoundException before it would need Docker.
    let s = Stack::new();
    s.send(
        &s.event_dlq,
        &raw_event("ev-1", CONV_A).to_string(),
        Some("SDK_CLIENT_ERROR"),
    );
    let run = s.gcx(&[
        "redrive",
        "--event-dead-letter-queue",
        &s.event_dlq,
        "--fanout-function",
        "arn:aws:lambda:us-east-1:123456789012:function:no-such-fanout",
    ]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("Invoke failed: ResourceNotFoundException"),
        "{run}"
    );
    assert_eq!(s.depth(&s.event_dlq), (1, 0));
}

#[test]
fn rate_spaces_the_redrives() {
    let s = Stack::new();
    for i in 0..3 {
        s.dead_letter(&format!("ev-{i}"), CONV_A, "Store.Unavailable");
    }
    let started = Instant::now();
    let run = redrive_pipeline(&s, &["--rate", "2"]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline").2, 3);
    // Three starts at 2 a second: the third no sooner than 1 s after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn only_and_queue_names_pick_queues() {
    let s = Stack::new();
    s.dead_letter("ev-1", CONV_A, "Store.Unavailable");
    s.send(
        &s.event_dlq,
        &raw_event("ev-2", CONV_A).to_string(),
        Some("SDK_CLIENT_ERROR"),
    );
    let edl = enrichment_dead_letter("ev-3", CONV_A, "Genesys.AuthFailed");
    s.send(
        &s.enrichment_dlq,
        &serde_json::to_string(&edl).unwrap(),
        None,
    );

    let mut args: Vec<String> = vec![
        "redrive".into(),
        "--only".into(),
        "events,enrichment".into(),
    ];
    args.extend(s.flags());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = s.gcx(&refs);
    run.assert_code(0);
    assert!(!run.stdout.contains("pipeline:"), "{run}");
    assert_eq!(run.summary("events").2, 1);
    assert_eq!(run.summary("enrichment").2, 1);
    assert_eq!(s.depth(&s.dlq), (1, 0));

    // --queue NAME is the same as --only NAME.
    let run = s.gcx(&[
        "redrive",
        "--queue",
        "pipeline",
        "--dead-letter-queue",
        &s.dlq,
        "--state-machine",
        &s.state_machine,
    ]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline").2, 1);
    assert_eq!(s.executions().len(), 1);
}

#[test]
fn missing_names_and_queues_fail_before_anything_is_touched() {
    let s = Stack::new();
    s.dead_letter("ev-1", CONV_A, "Store.Unavailable");

    let run = s.gcx(&["redrive", "--queue", &s.dlq]);
    run.assert_code(3);
    assert!(run.stderr.contains("--state-machine"), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");

    let gone = s.dlq.replace("DeadLetterQueue", "NoSuchQueue");
    let run = s.gcx(&[
        "redrive",
        "--queue",
        &gone,
        "--state-machine",
        &s.state_machine,
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("NoSuchQueue") && run.stderr.contains("does not exist"),
        "{run}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run}");

    let run = s.gcx(&["redrive"]);
    run.assert_code(3);
    assert!(run.stderr.contains("--stack"), "{run}");

    let mut env: Vec<(String, String)> = s
        .aws
        .env()
        .into_iter()
        .filter(|(k, _)| !k.ends_with("REGION"))
        .collect();
    env.push(("GCX_UNUSED".into(), "x".into()));
    let run = gcx_with_env(
        &env,
        &[
            "redrive",
            "--queue",
            &s.dlq,
            "--state-machine",
            &s.state_machine,
        ],
    );
    run.assert_code(3);
    assert!(run.stderr.contains("no AWS region"), "{run}");

    let no_credentials: Vec<(String, String)> = s
        .aws
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .collect();
    let run = gcx_with_env(&no_credentials, &["status", "--queue", &s.dlq]);
    run.assert_code(3);
    assert!(run.stderr.contains("no AWS credentials found"), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(
        run.stdout.is_empty(),
        "nothing printed before the error\n{run}"
    );

    let unreachable = format!("http://127.0.0.1:{}", test_support::moto::free_port());
    let run = s.gcx(&["status", "--queue", &s.dlq, "--endpoint-url", &unreachable]);
    run.assert_code(3);
    assert!(run.stderr.contains("cannot reach AWS"), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");

    assert_eq!(s.depth(&s.dlq), (1, 0));
    assert!(s.executions().is_empty());
}

#[test]
fn a_filtered_pass_reaches_the_messages_behind_many_that_do_not_match() {
    let s = Stack::new();
    let mut wanted = Vec::new();
    for i in 0..24 {
        let conversation = if i == 19 || i == 23 { CONV_B } else { CONV_A };
        let (id, _) = s.dead_letter(&format!("ev-{i}"), conversation, "Store.Unavailable");
        if conversation == CONV_B {
            wanted.push(expected_name(&id));
        }
    }
    let run = redrive_pipeline(&s, &["--conversation", CONV_B]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (24, 2, 2, 22), "{run}");
    wanted.sort();
    assert_eq!(s.executions().into_keys().collect::<Vec<_>>(), wanted);
    assert_eq!(
        s.depth(&s.dlq),
        (22, 0),
        "every other message visible again"
    );
}

#[test]
fn letters_of_one_event_of_one_execution_are_redriven_once() {
    let s = Stack::new();
    // A retried save sent the same letter twice; and the batch's stage then failed whole, so the state
    // machine dead-lettered the event again, at another stage.
    let (key, body) = s.dead_letter("ev-twice", CONV_A, "Store.Unavailable");
    s.send(&s.dlq, &body.to_string(), Some("Store.Unavailable"));
    let mut again = body.clone();
    again["stage"] = json!("save");
    again["error"] = json!("Store.Rejected");
    again["deadLetterId"] = json!("another id: another stage");
    s.send(&s.dlq, &again.to_string(), Some("Store.Rejected"));
    let (other, _) = s.dead_letter("ev-other", CONV_B, "Store.Unavailable");

    let run = redrive_pipeline(&s, &[]);
    run.assert_code(0);
    assert_eq!(run.summary("pipeline"), (4, 4, 2, 0), "{run}");
    assert_eq!(run.repeats("pipeline"), 2, "{run}");
    let mut names = vec![expected_name(&key), expected_name(&other)];
    names.sort();
    assert_eq!(s.executions().keys().cloned().collect::<Vec<_>>(), names);
    assert_eq!(s.depth(&s.dlq), (0, 0), "the repeats are deleted too");

    // A repeat that a later run finds (its first copy was redriven by an earlier run) starts nothing.
    s.send(&s.dlq, &body.to_string(), Some("Store.Unavailable"));
    let later = redrive_pipeline(&s, &[]);
    later.assert_code(0);
    assert!(
        later.stdout.contains("already started by an earlier run"),
        "{later}"
    );
    assert_eq!(s.executions().len(), 2);
}

#[test]
fn an_execution_whose_letters_could_not_all_be_sent_is_recovered_without_running_an_event_twice() {
    let s = Stack::with(LocalAws::start(false));
    let events: Vec<_> = ["ev-r1", "ev-r2", "ev-r3"]
        .iter()
        .map(|id| element(id, CONV_A))
        .collect();
    // The failed execution: what Pipeline.DeadLetterUnavailable leaves.
    let failed = s
        .aws
        .block_on(
            s.aws
                .sfn
                .start_execution()
                .state_machine_arn(&s.state_machine)
                .name("batch-3-failed")
                .input(json!({"events": events}).to_string())
                .send(),
        )
        .unwrap()
        .execution_arn()
        .to_owned();
    s.aws
        .block_on(
            s.aws
                .sfn
                .stop_execution()
                .execution_arn(&failed)
                .error("Pipeline.DeadLetterUnavailable")
                .send(),
        )
        .unwrap();
    // One letter reached the queue before the sends failed, and was redriven already.
    let mut letter =
        serde_json::to_value(pipeline_dead_letter("ev-r2", CONV_A, "Store.Rejected")).unwrap();
    letter["executionId"] = json!(failed);
    s.send(&s.dlq, &letter.to_string(), Some("Store.Rejected"));
    redrive_pipeline(&s, &[]).assert_code(0);
    assert_eq!(
        s.executions().len(),
        2,
        "the failed one and ev-r2's redrive"
    );

    let run = s.gcx(&["redrive", "--execution", &failed, "--dry-run"]);
    run.assert_code(0);
    assert!(run.stdout.contains("would start execution"), "{run}");
    assert_eq!(s.executions().len(), 2, "a dry run starts nothing");

    let run = s.gcx(&["redrive", "--execution", &failed]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("event ev-r2: execution") && run.stdout.contains("already started"),
        "{run}"
    );
    let executions = s.executions();
    assert_eq!(executions.len(), 4, "{run}");
    for e in &events {
        let name = expected_name(&format!("{failed}|{}", e.event_id));
        assert_eq!(executions[&name], json!({"events": [e]}));
    }

    // A run over an execution that is not over (a redrive, still RUNNING here) refuses, naming why.
    let running = executions
        .keys()
        .find(|n| n.starts_with("redrive-"))
        .unwrap();
    let running = format!(
        "{}:{running}",
        s.state_machine.replace(":stateMachine:", ":execution:")
    );
    let ok = s.gcx(&["redrive", "--execution", &running]);
    ok.assert_code(3);
    assert!(ok.stderr.contains("not FAILED"), "{ok}");
}
