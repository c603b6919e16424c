//! `bench variants LABEL=BINARY...`: data-action builds side by side (sizes, cold starts interleaved per
//! round, a warm loop each) against the upstream stand-in; bench/README.md, "What each release setting
//! buys". Builds nothing itself.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::artifacts;
use crate::context::Settings;
use crate::entries::expect;
use crate::fixtures::load_json;
use crate::http::Http;
use crate::measure::{self, Summary, Target};
use crate::results::{mb, rss_mb};
use crate::say;
use crate::standins::Upstream;

/// Interleaved cold starts of every target: init samples per target.
fn cold_rounds(
    settings: &Settings,
    targets: &[Target],
    event: &Value,
) -> Result<Vec<Vec<f64>>, String> {
    let check = |v: &Value| expect(v, "/success", &json!(true));
    let mut init: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    for round in 1..=settings.cold_runs {
        for (i, target) in targets.iter().enumerate() {
            init[i].extend(measure::cold_starts(target, 1, event, &check)?.init_ms);
        }
        if round % 5 == 0 {
            say(&format!(
                "variants: {round} of {} cold rounds",
                settings.cold_runs
            ));
        }
    }
    Ok(init)
}

/// One JSON object per build; prints a line each.
pub fn run(settings: &Settings, builds: &[(String, PathBuf)]) -> Result<Vec<Value>, String> {
    let scratch = tempfile::Builder::new()
        .prefix("bench-variants-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    let http = Http::new()?;
    let upstream = Upstream::start(&http)?;
    let wrapped = load_json(&settings.root, "events/data-action/wrapped.json")?;
    let check = |v: &Value| expect(v, "/success", &json!(true));
    let targets: Vec<Target> = builds
        .iter()
        .map(|(label, path)| {
            Target::new(label, path.clone()).with("EXTERNAL_API_URL", &upstream.url())
        })
        .collect();
    let init = cold_rounds(settings, &targets, &wrapped)?;
    let mut out = Vec::new();
    for (i, (target, (label, path))) in targets.iter().zip(builds).enumerate() {
        let artifact = artifacts::measure(&format!("variant-{i}"), path, scratch.path())?;
        let warm =
            measure::warm_loop(target, settings.warm_runs, &mut |_| wrapped.clone(), &check)?;
        let (init, warm_s) = (Summary::of(&init[i]), Summary::of(&warm.samples_ms));
        println!(
            "{label:<12} binary {:>6.2} MB  zip {:>5.2} MB  init min/med/max {:>5.2}/{:>5.2}/{:>5.2} ms  warm p50/p99 {:.3}/{:.3} ms  RSS {:.1} MB",
            mb(artifact.binary_bytes), mb(artifact.zip_bytes), init.min, init.p50, init.max,
            warm_s.p50, warm_s.p99, rss_mb(warm.peak_rss_kb)
        );
        out.push(json!({
            "label": label, "binary": path, "binary_bytes": artifact.binary_bytes, "zip_bytes": artifact.zip_bytes,
            "init_ms": init.to_json(), "warm_ms": warm_s.to_json(), "peak_rss_kb": warm.peak_rss_kb,
        }));
    }
    Ok(out)
}
