//! Phase: cold starts, interleaved. Round r starts every entry once (the project's functions,
//! bench-bare, then the seeds), so a busy spell on the machine hits them alike and the ratios (vs
//! bench-bare, vs Python) compare like with like.

use serde_json::json;

use crate::context::Context;
use crate::entries::Entry;
use crate::machine::load_average;
use crate::measure::{self, Cold};
use crate::results::Results;
use crate::say;

/// `--cold` rounds over every entry; records init, first invocation and peak RSS of each.
pub fn run(ctx: &Context, entries: &mut [Entry], results: &mut Results) -> Result<(), String> {
    let rounds = ctx.settings.cold_runs;
    say(&format!(
        "cold starts: {rounds} rounds of {} functions, interleaved",
        entries.len()
    ));
    let mut colds: Vec<Cold> = entries.iter().map(|_| Cold::default()).collect();
    for round in 1..=rounds {
        for (entry, cold) in entries.iter_mut().zip(&mut colds) {
            let event = (entry.event_for)(0);
            cold.absorb(measure::cold_starts(
                &entry.target,
                1,
                &event,
                &*entry.check,
            )?);
        }
        if round % 5 == 0 || round == rounds {
            say(&format!(
                "cold starts: {round} of {rounds} rounds (load average {})",
                load_average()
            ));
        }
    }
    for (entry, cold) in entries.iter().zip(&colds) {
        results.cold(entry.name, cold);
        let f = results.function(entry.name);
        f.insert("python".into(), json!(entry.name.ends_with("(py)")));
        f.insert("against".into(), json!(entry.against));
        f.insert("event".into(), json!(entry.event));
    }
    Ok(())
}
