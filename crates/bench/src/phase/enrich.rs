//! Phase: enrich, 100 conversations per invocation, against `local/genesys_standin.py` (the Genesys
//! stand-in the local stack runs) and moto. One warm process; the stand-in's own counts say how many
//! token requests and multi-gets it served meanwhile: the token cache check (one token for the whole
//! process) and one multi-get per 100 conversations.

use serde_json::json;

use crate::context::{Context, BATCH};
use crate::entries::{find, Entry};
use crate::genesys::{api_requests, tokens};
use crate::phase::warm;
use crate::results::Results;
use crate::say;

/// The warm loop of enrich, the token cache and the multi-gets per invocation.
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
    results.set(
        "enrich",
        json!({
            "conversations_per_invocation": BATCH,
            "invocations": invocations,
            "multi_gets": multi_gets,
            "multi_gets_per_invocation": multi_gets as f64 / invocations as f64,
            "standin": "local/genesys_standin.py",
            "standin_max_requests_in_any_minute": after["maxRequestsInAnyMinute"],
        }),
    );
    Ok(())
}
