//! Phase: the data action's other paths. recent-contact against moto (its table and `CustomerRecency`
//! index, one Query and one GetItem per invocation), and customer-lookup with the answer cache on (`CACHE_ACTIONS`), where
//! every timed invocation is a hit. moto's own Query cost is timed alone, since it dominates the first.

use gcx_core::customer::CustomerKeyer;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::context::Context;
use crate::entries::expect;
use crate::http::Req;
use crate::measure::{self, Summary, Target};
use crate::results::{samples, Results};
use crate::say;

/// The table the phase fills; its own, so no other phase's items are counted.
const TABLE: &str = "actions-conversations";
/// A bench key (not a secret).
const KEY: &str = "bench-customer-key-0123456789abcdef";
/// The caller the phase asks about, and how many conversations it had in the window.
const CALLER: &str = "tel:+3212345678";
const CONTACTS: usize = 20;
/// As in `phase::moto`: moto reads the region from the header, never the signature.
const MOTO_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";

fn moto_call(ctx: &Context, target: &str, body: &Value) -> Req {
    Req::aws(&ctx.stage.moto.moto.endpoint, target, body).header("Authorization", MOTO_AUTH)
}

/// Stores `CONTACTS` conversations of the caller, as save and enrich write them, within the last hours.
fn store_contacts(ctx: &Context, customer_key: &str) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    for i in 0..CONTACTS {
        let at = now - (i as i64 + 1) * 600_000;
        let item = json!({
            "conversationId": {"S": format!("bench-conversation-{i}")},
            "customerKey": {"S": customer_key},
            "customerContactAt": {"N": at.to_string()},
            "queueIds": {"L": [{"S": "queue-1"}]},
            "agents": {"L": [{"M": {"userId": {"S": "agent-1"}}}]},
            "wrapUpCodes": {"L": [{"S": "wrapup-1"}]},
        });
        let body = json!({"TableName": TABLE, "Item": item});
        ctx.stage
            .http
            .time(&moto_call(ctx, "DynamoDB_20120810.PutItem", &body), 1)?;
    }
    Ok(())
}

fn loop_json(warm: &measure::Warm) -> Value {
    json!({
        "ms": Summary::of(&warm.samples_ms).to_json(),
        "samples_ms": samples(&warm.samples_ms),
        "peak_rss_kb": warm.peak_rss_kb,
    })
}

/// recent-contact's warm loop against moto, moto's own Query, and customer-lookup's cache hits.
pub fn run(ctx: &Context, results: &mut Results) -> Result<(), String> {
    let stage = &ctx.stage;
    stage.moto.create_table(TABLE);
    let keyer = CustomerKeyer::new(&SecretString::from(KEY)).map_err(|e| e.to_string())?;
    let customer_key = keyer
        .key(CALLER)
        .ok_or("the bench caller does not normalize")?;
    store_contacts(ctx, &customer_key)?;
    let query = json!({
        "TableName": TABLE, "IndexName": "CustomerRecency",
        "KeyConditionExpression": "customerKey = :k", "ExpressionAttributeValues": {":k": {"S": customer_key}},
        "ScanIndexForward": false, "Limit": 100,
    });
    let runs = ctx.settings.slow_runs().max(50);
    let moto_query = stage
        .http
        .time(&moto_call(ctx, "DynamoDB_20120810.Query", &query), runs)?;

    let program = ctx.settings.binary("data-action")?;
    let recent = Target::new("data-action", program.clone())
        .with("TABLE_NAME", TABLE)
        .with("CUSTOMER_KEY", KEY)
        .with("EXTERNAL_API_URL", &stage.upstream.url())
        .with_all(&stage.moto.env());
    say(&format!(
        "data-action recent-contact against moto: {runs} warm invocations"
    ));
    let event = json!({"action": "recent-contact", "inputs": {"ani": CALLER}});
    let recent_warm = measure::warm_loop(&recent, runs, &mut |_| event.clone(), &|v: &Value| {
        expect(v, "/found", &json!(true))?;
        expect(v, "/contacts_in_window", &json!(CONTACTS))
    })?;

    let cached = Target::new("data-action", program)
        .with("EXTERNAL_API_URL", &stage.upstream.url())
        .with("CACHE_ACTIONS", "customer-lookup");
    let warm_runs = ctx.settings.warm_runs;
    say(&format!("data-action customer-lookup with the cache on: {warm_runs} warm invocations, every one a hit"));
    let lookup = &ctx.fixtures.wrapped;
    let hits = measure::warm_loop(&cached, warm_runs, &mut |_| lookup.clone(), &|v: &Value| {
        expect(v, "/success", &json!(true))
    })?;
    let (recent_p50, hit_p50) = (
        Summary::of(&recent_warm.samples_ms).p50,
        Summary::of(&hits.samples_ms).p50,
    );
    say(&format!(
        "data-action: recent-contact warm p50 {recent_p50:.3} ms (moto's own Query {:.3} ms); cache hit p50 {hit_p50:.3} ms",
        moto_query.p50
    ));
    results.set(
        "data_actions",
        json!({
            "recent_contact": {
                "against": "moto (DynamoDB Query on the CustomerRecency index)",
                "contacts_per_caller": CONTACTS,
                "warm": loop_json(&recent_warm),
                "moto_query_ms": moto_query.to_json(),
            },
            "customer_lookup_cached": {
                "against": "upstream stand-in, CACHE_ACTIONS=customer-lookup (every timed invocation a hit)",
                "warm": loop_json(&hits),
            },
        }),
    );
    Ok(())
}
