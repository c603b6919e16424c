//! Phase: save against moto, DynamoDB's real API with condition expressions (the stand-in of the batch
//! phase evaluates none). First every write newer (stored), then the same batch again and again (every
//! write refused by the condition: duplicate). moto's own cost per UpdateItem is timed alone, since it
//! dominates these figures.

use serde_json::{json, Value};

use crate::context::{Context, BATCH, SAVE_TABLE};
use crate::entries::{expect, save_target, BatchInputs};
use crate::fixtures::newer_records;
use crate::http::Req;
use crate::measure::{self, Summary, Warm};
use crate::results::{samples, Results};
use crate::say;

/// A fake SigV4 header for the bench's own calls to moto: moto reads the region from it, never the
/// signature.
const MOTO_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";

/// moto's own cost for one UpdateItem from a keep-alive client.
fn moto_update_item(ctx: &Context, n: usize) -> Result<Summary, String> {
    let body = json!({
        "TableName": SAVE_TABLE, "Key": {"conversationId": {"S": "overhead"}},
        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}},
    });
    let req = Req::aws(
        &ctx.stage.moto.moto.endpoint,
        "DynamoDB_20120810.UpdateItem",
        &body,
    )
    .header("Authorization", MOTO_AUTH);
    ctx.stage.http.time(&req, n)
}

fn outcome(pointer: &'static str) -> impl Fn(&Value) -> Result<(), String> {
    move |v: &Value| expect(v, pointer, &json!(BATCH))
}

fn summary(warm: &Warm) -> Value {
    json!({
        "ms": Summary::of(&warm.samples_ms).to_json(),
        "samples_ms": samples(&warm.samples_ms),
        "peak_rss_kb": warm.peak_rss_kb,
    })
}

/// The stored and duplicate loops, and moto's own UpdateItem cost.
pub fn run(ctx: &Context, inputs: &BatchInputs, results: &mut Results) -> Result<(), String> {
    let (stage, runs) = (&ctx.stage, ctx.settings.slow_runs());
    let moto_put = moto_update_item(ctx, ctx.settings.warm_runs.div_ceil(5))?;
    let target = save_target(
        ctx,
        SAVE_TABLE,
        &stage.queues.save_enrichment,
        &stage.queues.save_dlq,
    )?
    .with_all(&stage.moto.env());
    say(&format!(
        "save against moto: {runs} warm invocations of {BATCH} events, every write newer"
    ));
    let stored = measure::warm_loop(
        &target,
        runs,
        &mut |i| newer_records(&inputs.save, i as u64),
        &outcome("/stored"),
    )?;
    let duplicates = runs.div_ceil(2);
    say(&format!(
        "save against moto: {duplicates} warm invocations, every write a duplicate"
    ));
    let last = newer_records(&inputs.save, runs as u64);
    let duplicate = measure::warm_loop(
        &target,
        duplicates,
        &mut |_| last.clone(),
        &outcome("/duplicate"),
    )?;
    let per_event = |w: &Warm| (Summary::of(&w.samples_ms).p50 * 1e3 / BATCH as f64).round();
    results.set(
        "save_moto",
        json!({
            "events_per_invocation": BATCH,
            "moto_update_item_ms": moto_put.to_json(),
            "stored": summary(&stored),
            "stored_p50_per_event_us": per_event(&stored),
            "duplicate": summary(&duplicate),
            "duplicate_p50_per_event_us": per_event(&duplicate),
        }),
    );
    Ok(())
}
