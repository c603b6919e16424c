//! Budgets (PASS/FAIL), the printed table and `bench/results.json`.
//!
//! Units: ms are milliseconds; MB are 10^6 bytes (RSS is read in KiB and converted), the stricter reading
//! of "12 MB" and "5 MB".

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::measure::{ms, Summary};
use crate::suite::{
    FnResult, Results, BARE, FUNCTIONS, SEED_DATA_ACTION, SEED_FANOUT, SEED_FANOUT_FN, SFN_DELAY,
};

/// One budget and its verdict.
pub struct Budget {
    /// The function it is about (`data-action`, `fanout`, ...), or `all`.
    pub subject: String,
    /// Short tag for the table's verdict column (`init`, `rss`, `zip`, ...).
    pub tag: &'static str,
    /// What is required.
    pub rule: String,
    /// What was measured.
    pub value: String,
    /// Whether it holds.
    pub pass: bool,
}

fn budget(subject: &str, tag: &'static str, rule: String, value: String, pass: bool) -> Budget {
    Budget {
        subject: subject.to_owned(),
        tag,
        rule,
        value,
        pass,
    }
}

/// Bytes to MB (10^6).
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// KiB (VmHWM) to MB (10^6 bytes).
fn rss_mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

/// Every budget of the issue that this run can evaluate.
pub fn budgets(r: &Results) -> Vec<Budget> {
    let mut out = Vec::new();
    let da = r.function("data-action");
    let bare = r.function(BARE);
    if let Some(da) = da {
        let init = da.init().p50;
        out.push(budget(
            "data-action",
            "init",
            "data-action init (median) <= 10 ms".into(),
            format!("{init:.2} ms"),
            init <= 10.0,
        ));
        if let Some(bare) = bare {
            let b = bare.init().p50;
            let ratio = init / b;
            out.push(budget(
                "data-action",
                "init/bare",
                "data-action init <= 2x a bare lambda_runtime binary's (medians)".into(),
                format!("{init:.2} / {b:.2} ms = {ratio:.2}x"),
                ratio <= 2.0,
            ));
        }
        let warm = da.warm().p50;
        out.push(budget(
            "data-action",
            "warm",
            "data-action warm invocation (median) <= 1 ms, loopback upstream".into(),
            format!("{warm:.3} ms"),
            warm <= 1.0,
        ));
    }
    for name in FUNCTIONS {
        let Some(f) = r.function(name) else { continue };
        let init = f.init().p50;
        out.push(budget(
            name,
            "init",
            format!("{name} init (median) <= 15 ms"),
            format!("{init:.2} ms"),
            init <= 15.0,
        ));
        let rss = rss_mb(f.peak_rss_kb());
        out.push(budget(
            name,
            "rss",
            format!("{name} peak RSS <= 12 MB"),
            rss_breakdown(f, r.settings.fanout_events),
            rss <= 12.0,
        ));
        if let Some(a) = &f.artifact {
            let zip = mb(a.zip_bytes);
            out.push(budget(
                name,
                "zip",
                format!("{name} release zip <= 5 MB"),
                format!("{zip:.2} MB"),
                zip <= 5.0,
            ));
        }
        if let Some(a) = &f.arm64 {
            let zip = mb(a.zip_bytes);
            out.push(budget(
                name,
                "zip-arm64",
                format!("{name} arm64 release zip <= 5 MB"),
                format!("{zip:.2} MB"),
                zip <= 5.0,
            ));
        }
    }
    let run = |label: &str| r.fanout.iter().find(|t| t.label == label);
    if let (Some(bounded), Some(serial)) =
        (run("FANOUT_CONCURRENCY=16"), run("FANOUT_CONCURRENCY=1"))
    {
        let speedup = serial.run.elapsed_ms / bounded.run.elapsed_ms;
        out.push(budget(
            "fanout",
            "throughput",
            format!(
                "fanout {} events: FANOUT_CONCURRENCY=16 >= 10x faster than =1",
                r.settings.fanout_events
            ),
            format!(
                "{:.0} vs {:.0} ms = {speedup:.1}x",
                bounded.run.elapsed_ms, serial.run.elapsed_ms
            ),
            speedup >= 10.0,
        ));
        if let Some(seed) = run(SEED_FANOUT) {
            let speedup = seed.run.elapsed_ms / bounded.run.elapsed_ms;
            out.push(budget(
                "fanout",
                "vs-seed",
                format!(
                    "fanout {} events: >= 10x faster than the Python seed",
                    r.settings.fanout_events
                ),
                format!(
                    "{:.0} vs {:.0} ms = {speedup:.1}x",
                    bounded.run.elapsed_ms, seed.run.elapsed_ms
                ),
                speedup >= 10.0,
            ));
        }
    }
    let (tokens, invocations) = r.tokens;
    out.push(budget(
        "process",
        "tokens",
        "token requests per 1,000 process invocations = 1".into(),
        format!("{tokens} in {invocations} invocations"),
        tokens == 1,
    ));
    if let (Some(da), Some(seed)) = (da, r.function(SEED_DATA_ACTION)) {
        let (rust, py) = (da.init().p50, seed.init().p50);
        out.push(budget(
            "data-action",
            "init/seed",
            "data-action init <= 1/20 of the Python seed's (medians)".into(),
            format!("{rust:.2} vs {py:.1} ms = 1/{:.0}", py / rust),
            rust * 20.0 <= py,
        ));
    }
    for (name, seed) in [
        ("data-action", SEED_DATA_ACTION),
        ("fanout", SEED_FANOUT_FN),
    ] {
        if let (Some(f), Some(s)) = (r.function(name), r.function(seed)) {
            let (rust, py) = (rss_mb(f.peak_rss_kb()), rss_mb(s.peak_rss_kb()));
            out.push(budget(
                name,
                "rss/seed",
                format!("{name} peak RSS <= 1/5 of the Python seed's"),
                format!("{rust:.2} vs {py:.1} MB = 1/{:.1}", py / rust),
                rust * 5.0 <= py,
            ));
        }
    }
    out
}

/// The printed report: per-function table, fanout and token lines, baseline ratios, budgets.
pub fn table(r: &Results, budgets: &[Budget], duration_s: f64) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "\nLambda functions through the Runtime API ({} cold starts, {} warm invocations each; medians are nearest-rank)\n",
        r.settings.cold_runs, r.settings.warm_runs
    );
    let _ = writeln!(
        w,
        "{:<22} {:>22} {:>8} {:>17} {:>8} {:>8} {:>7}  budgets",
        "function",
        "init ms min/med/max",
        "1st inv",
        "warm p50/p99 ms",
        "RSS MB",
        "bin MB",
        "zip MB",
    );
    let _ = writeln!(w, "{}", "-".repeat(112));
    for f in &r.functions {
        let init = f.init();
        let first = Summary::of(&f.cold.first_invoke_ms);
        let warm = f.warm();
        let (bin, zip) = f
            .artifact
            .as_ref()
            .map_or(("-".to_owned(), "-".to_owned()), |a| {
                (
                    format!("{:.2}", mb(a.binary_bytes)),
                    format!("{:.2}", mb(a.zip_bytes)),
                )
            });
        let _ = writeln!(
            w,
            "{:<22} {:>6.2} /{:>6.2} /{:>6.2} {:>8.2} {:>8.3} /{:>7.3} {:>8.2} {:>8} {:>7}  {}",
            f.name,
            init.min,
            init.p50,
            init.max,
            first.p50,
            warm.p50,
            warm.p99,
            rss_mb(f.peak_rss_kb()),
            bin,
            zip,
            verdict(f, budgets)
        );
    }
    let _ = writeln!(w, "\n  1st inv = median first invocation of a fresh process; RSS = peak VmHWM of any of its processes.");
    for f in &r.functions {
        let _ = writeln!(w, "  {:<22} against {}", f.name, f.against);
    }
    if r.functions.iter().any(|f| f.arm64.is_some()) {
        let _ = writeln!(
            w,
            "\n  arm64 (cargo lambda build --release --arm64 --output-format zip):"
        );
        for f in r.functions.iter().filter(|f| f.arm64.is_some()) {
            let a = f.arm64.as_ref().expect("filtered");
            let _ = writeln!(
                w,
                "  {:<22} binary {:.2} MB, zip {:.2} MB",
                f.name,
                mb(a.binary_bytes),
                mb(a.zip_bytes)
            );
        }
    }

    let _ = writeln!(
        w,
        "\nfanout, {} events in one invocation (Step Functions stand-in adds {} ms per call):",
        r.settings.fanout_events,
        SFN_DELAY.as_millis()
    );
    let fastest = r.fanout.first().map_or(1.0, |t| t.run.elapsed_ms);
    for t in &r.fanout {
        let _ = writeln!(
            w,
            "  {:<30} {:>8.0} ms  {:>6.0} events/s  {:>5.1}x the time of =16   peak {:>2} calls in flight, RSS {:.1} MB",
            t.label,
            t.run.elapsed_ms,
            t.calls as f64 / (t.run.elapsed_ms / 1e3),
            t.run.elapsed_ms / fastest,
            t.max_in_flight,
            rss_mb(t.run.peak_rss_kb)
        );
    }
    let (tokens, invocations) = r.tokens;
    let _ = writeln!(
        w,
        "\ntoken cache: {tokens} token request(s) to the Genesys stand-in in {invocations} invocations of one `process` process"
    );
    let m = &r.save_moto;
    let stored = Summary::of(&m.stored.samples_ms);
    let duplicate = Summary::of(&m.duplicate.samples_ms);
    let standin_put = r
        .standins
        .iter()
        .find(|(n, _)| n.starts_with("dynamodb"))
        .map_or(f64::NAN, |(_, s)| s.p50);
    let _ = writeln!(
        w,
        "save against moto (real conditional writes): stored p50/p99 {:.3}/{:.3} ms, duplicate p50/p99 {:.3}/{:.3} ms;\n  \
         moto's own UpdateItem costs {:.3} ms p50 (the DynamoDB stand-in: {standin_put:.3} ms), so the table's save row\n  \
         runs against the stand-in to show save's own cost",
        stored.p50, stored.p99, duplicate.p50, duplicate.p99, m.moto_put.p50,
    );
    let _ = writeln!(
        w,
        "\nstand-ins' own cost per call (keep-alive client on loopback), p50 / p99:"
    );
    for (name, summary) in &r.standins {
        let _ = writeln!(
            w,
            "  {:<60} {:>7.3} / {:>7.3} ms",
            name, summary.p50, summary.p99
        );
    }
    if let Some((_, big)) = r
        .standins
        .iter()
        .find(|(n, _)| n.starts_with(crate::suite::BIG_EVENT_ROUND_TRIP))
    {
        if big.p50 > 5.0 {
            let _ = writeln!(
                w,
                "  WARNING: the emulator takes {:.0} ms to hand over an event > ~0.6 KB: test_support's tiny_http server\n  \
                 writes the body after a 1 KiB buffer without TCP_NODELAY, so it waits for the function's delayed ACK.\n  \
                 Warm figures of functions whose events are that big (fanout, validate, process, save) include this stall.",
                big.p50
            );
        }
    }

    if let (Some(dir), Some(da), Some(seed)) = (
        &r.baseline,
        r.function("data-action"),
        r.function(SEED_DATA_ACTION),
    ) {
        let _ = writeln!(
            w,
            "\nRust vs the Python seed, same run (baseline: {}):",
            dir.display()
        );
        let _ = writeln!(
            w,
            "  {:<34} {:>10} {:>10} {:>9}",
            "", "Rust", "Python", "ratio"
        );
        let mut ratio_row = |label: &str, rust: f64, py: f64, unit: &str| {
            let _ = writeln!(
                w,
                "  {label:<34} {:>7.2} {unit:<2} {:>7.1} {unit:<2} {:>8.1}x",
                rust,
                py,
                py / rust
            );
        };
        ratio_row(
            "data-action init (median)",
            da.init().p50,
            seed.init().p50,
            "ms",
        );
        ratio_row(
            "data-action 1st invocation",
            Summary::of(&da.cold.first_invoke_ms).p50,
            Summary::of(&seed.cold.first_invoke_ms).p50,
            "ms",
        );
        ratio_row("data-action warm p50", da.warm().p50, seed.warm().p50, "ms");
        ratio_row("data-action warm p99", da.warm().p99, seed.warm().p99, "ms");
        ratio_row(
            "data-action peak RSS",
            rss_mb(da.peak_rss_kb()),
            rss_mb(seed.peak_rss_kb()),
            "MB",
        );
        if let (Some(f), Some(s)) = (r.function("fanout"), r.function(SEED_FANOUT_FN)) {
            ratio_row("fanout init (median)", f.init().p50, s.init().p50, "ms");
            ratio_row(
                "fanout warm p50 (1 event)",
                f.warm().p50,
                s.warm().p50,
                "ms",
            );
            ratio_row(
                "fanout peak RSS",
                rss_mb(f.peak_rss_kb()),
                rss_mb(s.peak_rss_kb()),
                "MB",
            );
        }
        let run = |label: &str| r.fanout.iter().find(|t| t.label == label);
        if let (Some(b), Some(s)) = (run("FANOUT_CONCURRENCY=16"), run(SEED_FANOUT)) {
            ratio_row(
                &format!("fanout {} events", r.settings.fanout_events),
                b.run.elapsed_ms,
                s.run.elapsed_ms,
                "ms",
            );
        }
    } else if let Some(note) = &r.baseline_note {
        let _ = writeln!(w, "\nbaseline: {note}");
    }

    let _ = writeln!(w, "\nbudgets (this machine, through the Runtime API):");
    for b in budgets {
        let _ = writeln!(
            w,
            "  {}  {:<66} {}",
            if b.pass { "PASS" } else { "FAIL" },
            b.rule,
            b.value
        );
    }
    let passed = budgets.iter().filter(|b| b.pass).count();
    let _ = writeln!(
        w,
        "\n{passed} of {} budgets pass; run took {duration_s:.0} s",
        budgets.len()
    );
    s
}

/// Peak RSS, with the phases when a big invocation raised it (fanout's throughput run).
fn rss_breakdown(f: &FnResult, events: usize) -> String {
    let peak = rss_mb(f.peak_rss_kb());
    if f.other_peak_rss_kb > f.cold.peak_rss_kb.max(f.warm.peak_rss_kb) {
        format!(
            "{peak:.2} MB ({events}-event invocation; warm loop {:.2}, cold {:.2})",
            rss_mb(f.warm.peak_rss_kb),
            rss_mb(f.cold.peak_rss_kb)
        )
    } else {
        format!("{peak:.2} MB")
    }
}

/// The table's budget column for one function: PASS, FAIL with the failing tags, or `-`.
fn verdict(f: &FnResult, budgets: &[Budget]) -> String {
    let own: Vec<&Budget> = budgets.iter().filter(|b| b.subject == f.name).collect();
    if own.is_empty() {
        return "-".into();
    }
    let failed: Vec<&str> = own.iter().filter(|b| !b.pass).map(|b| b.tag).collect();
    if failed.is_empty() {
        "PASS".into()
    } else {
        format!("FAIL ({})", failed.join(", "))
    }
}

fn samples(values: &[f64]) -> Value {
    Value::Array(values.iter().map(|v| json!(ms(*v))).collect())
}

/// `bench/results.json`: every raw figure, the budgets, and where it ran.
pub fn json(r: &Results, budgets: &[Budget], info: Value, duration_s: f64) -> Value {
    let functions: serde_json::Map<String, Value> = r
        .functions
        .iter()
        .map(|f| {
            let value = json!({
                "python": f.python,
                "against": f.against,
                "binary_bytes": f.artifact.as_ref().map(|a| a.binary_bytes),
                "zip_bytes": f.artifact.as_ref().map(|a| a.zip_bytes),
                "arm64": f.arm64.as_ref().map(|a| json!({"binary_bytes": a.binary_bytes, "zip_bytes": a.zip_bytes})),
                "init_ms": f.init().to_json(),
                "init_samples_ms": samples(&f.cold.init_ms),
                "first_invoke_ms": Summary::of(&f.cold.first_invoke_ms).to_json(),
                "first_invoke_samples_ms": samples(&f.cold.first_invoke_ms),
                "warm_ms": f.warm().to_json(),
                "warm_priming_ms": ms(f.warm.first_ms),
                "warm_samples_ms": samples(&f.warm.samples_ms),
                "peak_rss_kb": f.peak_rss_kb(),
                "peak_rss_kb_by_phase": {
                    "cold": f.cold.peak_rss_kb, "warm": f.warm.peak_rss_kb, "other": f.other_peak_rss_kb,
                },
            });
            (f.name.clone(), value)
        })
        .collect();
    let fanout: Vec<Value> = r
        .fanout
        .iter()
        .map(|t| {
            json!({
                "label": t.label, "elapsed_ms": ms(t.run.elapsed_ms), "init_ms": ms(t.run.init_ms),
                "start_execution_calls": t.calls, "max_in_flight": t.max_in_flight,
                "peak_rss_kb": t.run.peak_rss_kb, "answer": t.run.body,
            })
        })
        .collect();
    let m = &r.save_moto;
    json!({
        "schema": 1,
        "date": info["date"],
        "git": info["git"],
        "machine": info["machine"],
        "toolchain": info["toolchain"],
        "duration_s": (duration_s * 10.0).round() / 10.0,
        "settings": {
            "cold_runs": r.settings.cold_runs,
            "warm_runs": r.settings.warm_runs,
            "fanout_events": r.settings.fanout_events,
            "sfn_delay_ms": SFN_DELAY.as_millis() as u64,
            "bin_dir": r.settings.bin_dir,
            "zip_tool": r.zip_tool,
            "mb": "10^6 bytes",
            "percentiles": "nearest-rank",
            "init": "spawn to first GET /runtime/invocation/next (test_support::FunctionProcess::init_duration)",
            "warm": "event handed out to answer posted (Invocation::elapsed), after one untimed priming invocation",
        },
        "functions": functions,
        "fanout_throughput": fanout,
        "token_cache": { "token_requests": r.tokens.0, "invocations": r.tokens.1 },
        "save_moto": {
            "moto_put_item_ms": m.moto_put.to_json(),
            "stored_ms": Summary::of(&m.stored.samples_ms).to_json(),
            "stored_samples_ms": samples(&m.stored.samples_ms),
            "duplicate_ms": Summary::of(&m.duplicate.samples_ms).to_json(),
            "duplicate_samples_ms": samples(&m.duplicate.samples_ms),
            "peak_rss_kb": m.stored.peak_rss_kb.max(m.duplicate.peak_rss_kb),
        },
        "standins": r.standins.iter().map(|(name, s)| json!({"name": name, "ms": s.to_json()})).collect::<Vec<_>>(),
        "baseline": { "dir": r.baseline, "note": r.baseline_note },
        "budgets": budgets.iter().map(|b| json!({
            "subject": b.subject, "rule": b.rule, "value": b.value, "pass": b.pass,
        })).collect::<Vec<_>>(),
        "all_budgets_pass": budgets.iter().all(|b| b.pass),
    })
}
