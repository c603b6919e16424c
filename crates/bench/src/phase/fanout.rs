//! Phase: fanout throughput. One invocation carrying a JSON array of 1,000 conversation events (every
//! detail fixture in turn, new ids), in a fresh process after one untimed single-event invocation, with
//! the Step Functions stand-in adding 5 ms to every StartExecution. fanout packs the events into
//! executions of up to 100 (so 10 StartExecution calls); the Python seed starts one execution per event.

use std::time::Duration;

use serde_json::{json, Value};

use crate::context::Context;
use crate::entries::{expect, fanout_target, find, seed_processed, Entry, SEED_FANOUT};
use crate::measure::{self, BoxedCheck, Target};
use crate::results::{rss_mb, Results};
use crate::say;

/// Latency the Step Functions stand-in adds to each call in these runs.
pub const SFN_DELAY: Duration = Duration::from_millis(5);
/// Deadline for the big invocations (the seed's one-at-a-time run takes seconds).
const LONG_DEADLINE: Duration = Duration::from_secs(600);

/// One run: its key in the results, its label, the target and the answer check.
struct Run<'a> {
    key: &'static str,
    label: &'static str,
    target: Target,
    check: BoxedCheck<'a>,
}

fn runs<'a>(ctx: &Context, entries: &mut [Entry], events: usize) -> Result<Vec<Run<'a>>, String> {
    let all_started = move |v: &Value| {
        expect(v, "/started", &json!(events))?;
        expect(v, "/failed", &json!([]))
    };
    let mut runs = vec![
        Run {
            key: "concurrency-16",
            label: "fanout FANOUT_CONCURRENCY=16",
            target: fanout_target(ctx, 16)?,
            check: Box::new(all_started),
        },
        Run {
            key: "concurrency-1",
            label: "fanout FANOUT_CONCURRENCY=1",
            target: fanout_target(ctx, 1)?,
            check: Box::new(all_started),
        },
    ];
    if let Some(seed) = find(entries, SEED_FANOUT) {
        runs.push(Run {
            key: "seed",
            label: "Python seed (one at a time)",
            target: seed.target.clone(),
            check: Box::new(seed_processed(events)),
        });
    }
    Ok(runs)
}

/// Every run; records time, executions, calls, peak concurrency and RSS of each.
pub fn run(ctx: &Context, entries: &mut [Entry], results: &mut Results) -> Result<(), String> {
    let sfn = &ctx.stage.sfn;
    let events = ctx.settings.fanout_events;
    let payload = serde_json::to_vec(&ctx.fixtures.events("throughput", events))
        .map_err(|e| format!("the throughput payload: {e}"))?;
    let mut out = serde_json::Map::new();
    sfn.set_delay(SFN_DELAY);
    for (i, run) in runs(ctx, entries, events)?.into_iter().enumerate() {
        say(&format!(
            "fanout throughput: {events} events in one invocation, {}",
            run.label
        ));
        sfn.reset();
        let prime = ctx.fixtures.customer_end("prime", i);
        let single =
            measure::primed_invocation(&run.target, &prime, &payload, LONG_DEADLINE, &*run.check)?;
        // The priming invocation made one call.
        let calls = sfn.calls().saturating_sub(1);
        let executions = single.body["executions"].as_u64().unwrap_or(calls as u64);
        say(&format!(
            "fanout throughput, {}: {:.0} ms, {calls} StartExecution calls, RSS {:.1} MB",
            run.label,
            single.elapsed_ms,
            rss_mb(single.peak_rss_kb)
        ));
        let owner = if run.key == "seed" {
            SEED_FANOUT
        } else {
            "fanout"
        };
        results.rss(owner, "other", single.peak_rss_kb);
        out.insert(
            run.key.into(),
            json!({
                "label": run.label, "elapsed_ms": measure::ms(single.elapsed_ms),
                "init_ms": measure::ms(single.init_ms), "executions": executions,
                "start_execution_calls": calls, "max_in_flight": sfn.max_in_flight(),
                "events_per_s": (events as f64 / (single.elapsed_ms / 1e3)).round(),
                "peak_rss_kb": single.peak_rss_kb, "answer": single.body,
            }),
        );
    }
    sfn.set_delay(Duration::ZERO);
    out.insert("events".into(), json!(events));
    out.insert("payload_bytes".into(), json!(payload.len()));
    out.insert("sfn_delay_ms".into(), json!(SFN_DELAY.as_millis() as u64));
    results.set("fanout_throughput", Value::Object(out));
    Ok(())
}
