//! Direct mode (no buffer queue): the event and fanout dead-letter queues are redriven by invoking
//! fanout asynchronously. moto's Lambda without Docker (`use_docker: false`) accepts the Invoke; moto's
//! request recorder shows what reached it. One test in its own binary: the recorder is configured by
//! moto's environment, which this process sets before it starts moto.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::*;
use serde_json::{json, Value};
use test_support::aws::LocalAws;

/// POSTs `body` to moto's `path`; answers the response body.
fn moto_api(aws: &LocalAws, method: &str, path: &str, body: &str) -> String {
    let host = aws.moto.endpoint.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).expect("connect to moto");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 20") || answer.starts_with("HTTP/1.0 20"),
        "{answer}"
    );
    answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// Every Invoke moto received: (invocation type, function in the path, payload).
fn invocations(recording: &str) -> Vec<(String, String, Value)> {
    recording
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| {
            r["url"].as_str().is_some_and(|u| {
                u.contains("/2015-03-31/functions/") && u.ends_with("/invocations")
            })
        })
        .map(|r| {
            let headers = r["headers"].as_object().unwrap();
            let kind = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Invocation-Type"))
                .and_then(|(_, v)| v.as_str())
                .unwrap_or("RequestResponse")
                .to_owned();
            let url = r["url"].as_str().unwrap().to_owned();
            let body = r["body"].as_str().unwrap_or_default();
            let bytes = if r["body_encoded"] == json!(true) {
                decode_base64(body)
            } else {
                body.as_bytes().to_vec()
            };
            (
                kind,
                url,
                serde_json::from_slice(&bytes).expect("a JSON payload"),
            )
        })
        .collect()
}

fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn without_a_buffer_queue_events_and_records_invoke_fanout_asynchronously() {
    let recording = tempfile_path();
    // Read by moto at start-up (inherited environment): record every request to this file.
    std::env::set_var("MOTO_ENABLE_RECORDING", "true");
    std::env::set_var("MOTO_RECORDER_FILEPATH", &recording);
    let aws = LocalAws::start(false);
    moto_api(
        &aws,
        "POST",
        "/moto-api/config",
        r#"{"lambda": {"use_docker": false}}"#,
    );

    // A direct-mode stack: fanout is a function, there is no buffer queue.
    let outputs = create_stack(
        &aws,
        "direct",
        &json!({
            "Resources": {
                "FanoutRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
                "FanoutFunction": {"Type": "AWS::Lambda::Function", "Properties": {
                    "Runtime": "provided.al2023", "Handler": "bootstrap", "Code": {"ZipFile": "bootstrap"},
                    "Role": {"Fn::GetAtt": ["FanoutRole", "Arn"]}}},
                "EventDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
                "FanoutDeadLetterQueue": {"Type": "AWS::SQS::Queue"}
            },
            "Outputs": {
                "FanoutFunctionArn": {"Value": {"Fn::GetAtt": ["FanoutFunction", "Arn"]}},
                "EventDeadLetterQueueUrl": {"Value": {"Ref": "EventDeadLetterQueue"}},
                "FanoutDeadLetterQueueUrl": {"Value": {"Ref": "FanoutDeadLetterQueue"}}
            }
        }),
    );
    let function = outputs["FanoutFunctionArn"].clone();
    let event_dlq = outputs["EventDeadLetterQueueUrl"].clone();
    let fanout_dlq = outputs["FanoutDeadLetterQueueUrl"].clone();
    let s = Stack {
        aws,
        dlq: String::new(),
        enrichment_dlq: String::new(),
        event_dlq: event_dlq.clone(),
        fanout_dlq: fanout_dlq.clone(),
        enrichment: String::new(),
        buffer: String::new(),
        state_machine: String::new(),
    };
    let raw = raw_event("ev-1", CONV_A);
    s.send(&event_dlq, &raw.to_string(), Some("SDK_CLIENT_ERROR"));
    s.send(
        &event_dlq,
        &malformed_event(),
        Some("Fanout.MalformedEvent"),
    );
    let payload = raw_event("ev-2", CONV_B);
    s.send(&fanout_dlq, &on_failure_record(&payload).to_string(), None);

    let dry = s.gcx(&["redrive", "--stack", "direct", "--dry-run"]);
    dry.assert_code(0);
    assert!(
        dry.stdout.contains("would invoke fanout asynchronously"),
        "{dry}"
    );
    let recorded = std::fs::read_to_string(&recording).unwrap_or_default();
    assert!(
        invocations(&recorded).is_empty(),
        "a dry run invokes nothing"
    );

    let run = s.gcx(&["redrive", "--stack", "direct"]);
    run.assert_code(0);
    assert_eq!(run.summary("events"), (2, 1, 1, 1), "{run}");
    assert_eq!(run.summary("fanout"), (1, 1, 1, 0), "{run}");
    assert!(
        run.stdout.contains("invoked fanout asynchronously"),
        "{run}"
    );

    let recorded = std::fs::read_to_string(&recording).unwrap();
    let mut calls = invocations(&recorded);
    calls.sort_by_key(|(_, _, p)| p["id"].to_string());
    let function_name = function.rsplit(':').next().unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for ((kind, url, sent), want) in calls.iter().zip([&raw, &payload]) {
        assert_eq!(kind, "Event", "asynchronous");
        assert!(url.contains(function_name), "{url}");
        assert_eq!(sent, want, "the payload as it was");
    }
    assert_eq!(s.depth(&event_dlq), (1, 0), "the malformed event stays");
    assert_eq!(s.depth(&fanout_dlq), (0, 0));
    let _ = std::fs::remove_file(&recording);
}

fn tempfile_path() -> String {
    let dir = std::env::temp_dir();
    dir.join(format!("gcx-moto-recording-{}.jsonl", std::process::id()))
        .to_string_lossy()
        .into_owned()
}
