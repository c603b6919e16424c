//! Phase: enrich, 100 conversations per invocation, against `local/genesys_standin.py` (the Genesys
//! stand-in the local stack runs) and moto. One warm process; the stand-in's own counts say how many
//! token requests and multi-gets it served meanwhile: the token cache check (one token for the whole
//! process) and one multi-get per 100 conversations. moto's writes dominate that figure, so enrich also
//! runs against the zero-latency DynamoDB stand-in: its own cost, the Genesys stand-in's included.

use serde_json::json;

use crate::context::{Context, BATCH};
use crate::entries::{find, Entry};
use crate::genesys::{api_requests, tokens};
use crate::measure::{self, Summary};
use crate::phase::warm;
use crate::results::Results;
use crate::say;

/// enrich's warm loop with DynamoDB and SQS on the zero-latency stand-in instead of moto.
fn own_cost(ctx: &Context, entry: &mut Entry) -> Result<Summary, String> {
    let aws = &ctx.stage.aws;
    let target = entry
        .target
        .clone()
        .with("AWS_ENDPOINT_URL", &aws.server.uri())
        .with("ENRICHMENT_QUEUE_URL", &aws.queue_url("enrichment"))
        .with(
            "ENRICHMENT_DEAD_LETTER_QUEUE_URL",
            &aws.queue_url("enrichment-dlq"),
        );
    say(&format!(
        "enrich: {} warm invocations against the DynamoDB stand-in",
        entry.warm_runs
    ));
    let warm = measure::warm_loop(
        &target,
        entry.warm_runs,
        &mut *entry.event_for,
        &*entry.check,
    )?;
    Ok(Summary::of(&warm.samples_ms))
}

/// The warm loop of enrich, the token cache and the multi-gets per invocation, then its own cost.
pub fn run(ctx: &Context, entries: &mut [Entry], results: &mut Results) -> Result<(), String> {
    let (http, genesys) = (&ctx.stage.http, &ctx.stage.genesys);
    let entry = find(entries, "enrich").ok_or("no enrich entry")?;
    let before = genesys.stats(http)?;
    let warm = warm::one(entry)?;
    let after = genesys.stats(http)?;
    let invocations = warm.samples_ms.len() + 1;
    let token_requests = tokens(&after) - tokens(&before);
    let multi_gets = api_requests(&after) - api_requests(&before);
    say(&format!(
        "enrich: {token_requests} token request(s) and {multi_gets} multi-gets in {invocations} invocations"
    ));
    results.warm("enrich", &warm);
    results.set(
        "token_cache",
        json!({ "token_requests": token_requests, "invocations": invocations, "function": "enrich" }),
    );
    let own = own_cost(ctx, entry)?;
    results.set(
        "enrich",
        json!({
            "conversations_per_invocation": BATCH,
            "invocations": invocations,
            "multi_gets": multi_gets,
            "multi_gets_per_invocation": multi_gets as f64 / invocations as f64,
            "standin": "local/genesys_standin.py",
            "standin_max_requests_in_any_minute": after["maxRequestsInAnyMinute"],
            "own_cost_ms": own.to_json(),
            "own_cost_against": "local/genesys_standin.py + the DynamoDB/SQS stand-in (wiremock)",
        }),
    );
    Ok(())
}
