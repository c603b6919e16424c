//! Phase: what the stand-ins cost on their own, and the emulator's own round trip. Each stand-in is
//! timed alone from the bench's reqwest client over one keep-alive connection (the client's own cost is
//! in the figure); the emulator's round trip is bench-bare echoing a small event (its warm loop) and the
//! batch Tasks' 100-event batch.

use serde_json::{json, Value};

use crate::context::{Context, BATCH, STATE_MACHINE_ARN};
use crate::entries::{Entry, BARE};
use crate::fixtures::{compact_len, conversation_id, task_input};
use crate::http::Req;
use crate::measure::{self, Summary, Target};
use crate::results::Results;
use crate::say;

/// `base64("local-client-id:local-client-secret")`: the stand-in's default client, HTTP Basic.
const BASIC: &str = "Basic bG9jYWwtY2xpZW50LWlkOmxvY2FsLWNsaWVudC1zZWNyZXQ=";

/// The wiremock stand-ins' requests, as the functions make them.
fn wiremock_requests(ctx: &Context) -> Vec<(String, Req)> {
    let stage = &ctx.stage;
    let (sfn, aws) = (stage.sfn.server.uri(), stage.aws.server.uri());
    let start = json!({"stateMachineArn": STATE_MACHINE_ARN, "name": "overhead", "input": "{}"});
    let update = json!({"TableName": "conversations", "Key": {"conversationId": {"S": "overhead"}},
        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}});
    let send = json!({"QueueUrl": stage.aws.queue_url("enrichment"),
        "Entries": [{"Id": "0", "MessageBody": "{}"}]});
    vec![
        (
            "upstream GET /v1/user-info (wiremock)".into(),
            Req::get(format!("{}?id=12345&locale=en-US", stage.upstream.url())),
        ),
        (
            "Step Functions StartExecution, no delay (wiremock)".into(),
            Req::aws(&sfn, "AWSStepFunctions.StartExecution", &start),
        ),
        (
            "DynamoDB UpdateItem (wiremock)".into(),
            Req::aws(&aws, "DynamoDB_20120810.UpdateItem", &update),
        ),
        (
            "SQS SendMessageBatch (wiremock)".into(),
            Req::aws(&aws, "AmazonSQS.SendMessageBatch", &send),
        ),
    ]
}

/// The Genesys stand-in's multi-get of the batch's conversations, with a token of its own.
fn genesys_request(ctx: &Context) -> Result<(String, Req), String> {
    let (http, base) = (&ctx.stage.http, &ctx.stage.genesys.base);
    let token = http.json(
        &Req::post(
            format!("{base}/oauth/token"),
            "grant_type=client_credentials",
        )
        .header("Authorization", BASIC)
        .header("Content-Type", "application/x-www-form-urlencoded"),
    )?;
    let ids: Vec<String> = (0..BATCH).map(conversation_id).collect();
    let url = format!(
        "{base}/api/v2/analytics/conversations/details?id={}",
        ids.join(",")
    );
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    );
    let name = format!("Genesys multi-get of {BATCH} conversations (local/genesys_standin.py)");
    Ok((name, Req::get(url).header("Authorization", bearer)))
}

/// Times every stand-in, then the emulator's round trip with the batch.
pub fn run(ctx: &Context, entries: &[Entry], results: &mut Results) -> Result<(), String> {
    let http = &ctx.stage.http;
    let n = ctx.settings.warm_runs;
    let mut out: Vec<Value> = Vec::new();
    for (name, req) in wiremock_requests(ctx) {
        out.push(json!({"name": name, "ms": http.time(&req, n)?.to_json()}));
    }
    let (name, req) = genesys_request(ctx)?;
    out.push(json!({"name": name, "ms": http.time(&req, ctx.settings.slow_runs())?.to_json()}));
    say("stand-ins timed on their own");
    if let Some(bare) = entries.iter().find(|e| e.name == BARE) {
        let small = compact_len(&ctx.fixtures.flat);
        let warm = results
            .function(BARE)
            .get("warm_ms")
            .cloned()
            .unwrap_or(Value::Null);
        out.push(json!({"name": format!("runtime API round trip, {small} B event (bench-bare)"), "ms": warm}));
        let batch = task_input(&ctx.fixtures.batch(BATCH));
        let echo = |v: &Value| {
            (*v == batch)
                .then_some(())
                .ok_or("bench-bare did not echo the batch".to_owned())
        };
        let target: &Target = &bare.target;
        let big = measure::warm_loop(target, n.div_ceil(5), &mut |_| batch.clone(), &echo)?;
        let name = format!(
            "runtime API round trip, {BATCH}-event batch, {} B (bench-bare)",
            compact_len(&batch)
        );
        out.push(json!({"name": name, "ms": Summary::of(&big.samples_ms).to_json()}));
    }
    results.set("standins", Value::Array(out));
    Ok(())
}
