//! The printed report, made from the results document alone (so `bench report bench/results.json`
//! prints a stored run's table again) and the budgets' verdicts.

use std::fmt::Write as _;

use serde_json::Value;

use crate::budgets::{figure, Status, Verdict};
use crate::entries::{BARE, FUNCTIONS, SEED_DATA_ACTION, SEED_FANOUT};

/// The number at `pointer`, NaN when absent.
fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

/// The table's rows, in order: the project's functions, bench-bare, the seeds (those present).
fn rows(r: &Value) -> Vec<(&str, &Value)> {
    FUNCTIONS
        .iter()
        .chain(&[BARE, SEED_DATA_ACTION, SEED_FANOUT])
        .filter_map(|name| Some((*name, r.pointer("/functions")?.get(*name)?)))
        .collect()
}

/// The whole report.
pub fn table(r: &Value, verdicts: &[Verdict]) -> String {
    let mut s = String::new();
    functions(&mut s, r, verdicts);
    batch_and_enrich(&mut s, r);
    fanout(&mut s, r);
    save_moto(&mut s, r);
    data_actions(&mut s, r);
    standins(&mut s, r);
    baseline(&mut s, r);
    budgets(&mut s, verdicts, num(r, "/duration_s"));
    s
}

/// The budget column of one row: PASS, FAIL with the failing tags, or `-`.
fn verdict(name: &str, verdicts: &[Verdict]) -> String {
    let own: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.subject() == name && v.status != Status::Skip)
        .collect();
    let failed: Vec<&str> = own
        .iter()
        .filter(|v| v.status == Status::Fail)
        .map(|v| v.tag())
        .collect();
    match (own.is_empty(), failed.is_empty()) {
        (true, _) => "-".into(),
        (false, true) => "PASS".into(),
        (false, false) => format!("FAIL ({})", failed.join(", ")),
    }
}

fn functions(w: &mut String, r: &Value, verdicts: &[Verdict]) {
    let _ = writeln!(
        w,
        "\nLambda functions through the Runtime API ({} cold starts each; medians are nearest-rank)\n",
        num(r, "/settings/cold_runs")
    );
    let _ = writeln!(
        w,
        "{:<22} {:>22} {:>8} {:>17} {:>5} {:>7} {:>7} {:>6}  budgets",
        "function",
        "init ms min/med/max",
        "1st inv",
        "warm p50/p99 ms",
        "n",
        "RSS MB",
        "bin MB",
        "zip MB"
    );
    let _ = writeln!(w, "{}", "-".repeat(118));
    for (name, f) in rows(r) {
        let size = |key: &str| {
            f.get(key)
                .and_then(Value::as_f64)
                .map_or("-".into(), |v| format!("{v:.2}"))
        };
        let _ = writeln!(
            w,
            "{name:<22} {:>6.2} /{:>6.2} /{:>6.2} {:>8.2} {:>8.3} /{:>7.3} {:>5} {:>7.2} {:>7} {:>6}  {}",
            num(f, "/init_ms/min"), num(f, "/init_ms/p50"), num(f, "/init_ms/max"),
            num(f, "/first_invoke_ms/p50"), num(f, "/warm_ms/p50"), num(f, "/warm_ms/p99"),
            num(f, "/warm_runs"), num(f, "/peak_rss_mb"), size("binary_mb"), size("zip_mb"),
            verdict(name, verdicts)
        );
    }
    let _ = writeln!(w, "\n  1st inv = median first invocation of a fresh process; n = timed warm invocations; RSS = peak VmHWM of any of its processes.");
    for (name, f) in rows(r) {
        let text = |key: &str| f.get(key).and_then(Value::as_str).unwrap_or("?").to_owned();
        let _ = writeln!(
            w,
            "  {name:<22} {} against {}",
            text("event"),
            text("against")
        );
    }
    for (name, f) in rows(r) {
        if let Some(a) = f.get("arm64").filter(|a| a.is_object()) {
            let _ = writeln!(
                w,
                "  {name:<22} arm64 (cargo lambda): binary {:.2} MB, zip {:.2} MB",
                num(a, "/binary_mb"),
                num(a, "/zip_mb")
            );
        }
    }
}

fn batch_and_enrich(w: &mut String, r: &Value) {
    let _ = writeln!(
        w,
        "\nbatch Tasks, {} events per invocation (warm p50 per event):",
        num(r, "/batch_tasks/events_per_batch")
    );
    for task in ["validate", "process", "save"] {
        let _ = write!(
            w,
            "  {task:<9} {:>7.0} us per event",
            num(
                r,
                &format!("/batch_tasks/tasks/{task}/warm_p50_per_event_us")
            )
        );
        if task == "save" {
            let _ = write!(
                w,
                "; {} UpdateItem and {} SendMessageBatch calls per invocation",
                num(r, "/batch_tasks/tasks/save/update_items_per_invocation"),
                num(
                    r,
                    "/batch_tasks/tasks/save/send_message_batches_per_invocation"
                )
            );
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(
        w,
        "enrich, {} conversations per invocation against local/genesys_standin.py and moto: {} multi-get(s) per invocation;\n  \
         warm p50/p99 {:.1}/{:.1} ms against the DynamoDB stand-in instead of moto (enrich's own cost, the Genesys stand-in's included);\n  \
         token cache: {} token request(s) in {} invocations of one enrich process",
        num(r, "/enrich/conversations_per_invocation"),
        num(r, "/enrich/multi_gets_per_invocation"),
        num(r, "/enrich/own_cost_ms/p50"),
        num(r, "/enrich/own_cost_ms/p99"),
        num(r, "/token_cache/token_requests"),
        num(r, "/token_cache/invocations")
    );
}

fn fanout(w: &mut String, r: &Value) {
    let t = &r["fanout_throughput"];
    let _ = writeln!(
        w,
        "\nfanout, {} events ({} B) in one invocation; the Step Functions stand-in adds {} ms per call:",
        num(t, "/events"), num(t, "/payload_bytes"), num(t, "/sfn_delay_ms")
    );
    for key in ["concurrency-16", "concurrency-1", "seed"] {
        let Some(run) = t.get(key) else { continue };
        let _ = writeln!(
            w,
            "  {:<30} {:>7.0} ms {:>7.0} events/s  {:>4} executions, {:>4} StartExecution calls, peak {:>2} in flight, RSS {:.1} MB",
            run["label"].as_str().unwrap_or(key),
            num(run, "/elapsed_ms"), num(run, "/events_per_s"), num(run, "/executions"),
            num(run, "/start_execution_calls"), num(run, "/max_in_flight"),
            num(run, "/peak_rss_kb") * 1024.0 / 1e6
        );
    }
}

fn save_moto(w: &mut String, r: &Value) {
    let m = &r["save_moto"];
    let _ = writeln!(
        w,
        "\nsave against moto (real conditional writes), {} events per invocation:\n  \
         stored p50/p99 {:.1}/{:.1} ms ({:.0} us per event), duplicate p50/p99 {:.1}/{:.1} ms ({:.0} us per event);\n  \
         moto's own UpdateItem costs {:.3} ms p50, so these are mostly moto: the table's save row runs against the stand-in",
        num(m, "/events_per_invocation"),
        num(m, "/stored/ms/p50"), num(m, "/stored/ms/p99"), num(m, "/stored_p50_per_event_us"),
        num(m, "/duplicate/ms/p50"), num(m, "/duplicate/ms/p99"), num(m, "/duplicate_p50_per_event_us"),
        num(m, "/moto_update_item_ms/p50")
    );
}

fn data_actions(w: &mut String, r: &Value) {
    let a = &r["data_actions"];
    if a.is_null() {
        return;
    }
    let _ = writeln!(
        w,
        "\ndata-action's other paths:\n  \
         recent-contact against moto ({} contacts): warm p50/p99 {:.3}/{:.3} ms; moto's own Query {:.3} ms p50\n  \
         customer-lookup with CACHE_ACTIONS on, every call a hit: warm p50/p99 {:.3}/{:.3} ms (uncached: the table's data-action row)",
        num(a, "/recent_contact/contacts_per_caller"),
        num(a, "/recent_contact/warm/ms/p50"), num(a, "/recent_contact/warm/ms/p99"),
        num(a, "/recent_contact/moto_query_ms/p50"),
        num(a, "/customer_lookup_cached/warm/ms/p50"), num(a, "/customer_lookup_cached/warm/ms/p99")
    );
}

fn standins(w: &mut String, r: &Value) {
    let _ = writeln!(
        w,
        "\nstand-ins' own cost per call (reqwest keep-alive client on loopback), p50 / p99:"
    );
    for s in r["standins"].as_array().into_iter().flatten() {
        let _ = writeln!(
            w,
            "  {:<66} {:>8.3} / {:>8.3} ms",
            s["name"].as_str().unwrap_or("?"),
            num(s, "/ms/p50"),
            num(s, "/ms/p99")
        );
    }
}

fn baseline(w: &mut String, r: &Value) {
    let f = |name: &str, pointer: &str| num(&r["functions"], &format!("/{name}{pointer}"));
    if r.pointer(&format!("/functions/{SEED_DATA_ACTION}"))
        .is_none()
    {
        let note = r
            .pointer("/baseline/note")
            .and_then(Value::as_str)
            .unwrap_or("not run");
        let _ = writeln!(w, "\nbaseline: {note}");
        return;
    }
    let dir = r
        .pointer("/baseline/dir")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let _ = writeln!(w, "\nRust vs the Python seed, same run (baseline: {dir}):");
    let _ = writeln!(
        w,
        "  {:<34} {:>10} {:>10} {:>9}",
        "", "Rust", "Python", "ratio"
    );
    let mut row = |label: &str, rust: f64, py: f64, unit: &str| {
        let _ = writeln!(
            w,
            "  {label:<34} {:>7} {unit:<2} {:>7} {unit:<2} {:>8.1}x",
            figure(rust),
            figure(py),
            py / rust
        );
    };
    for (label, pointer, unit) in [
        ("data-action init (median)", "/init_ms/p50", "ms"),
        ("data-action 1st invocation", "/first_invoke_ms/p50", "ms"),
        ("data-action warm p50", "/warm_ms/p50", "ms"),
        ("data-action warm p99", "/warm_ms/p99", "ms"),
        ("data-action peak RSS", "/peak_rss_mb", "MB"),
    ] {
        row(
            label,
            f("data-action", pointer),
            f(SEED_DATA_ACTION, pointer),
            unit,
        );
    }
    if r.pointer(&format!("/functions/{SEED_FANOUT}")).is_some() {
        row(
            "fanout init (median)",
            f("fanout", "/init_ms/p50"),
            f(SEED_FANOUT, "/init_ms/p50"),
            "ms",
        );
        row(
            "fanout warm p50 (1 event)",
            f("fanout", "/warm_ms/p50"),
            f(SEED_FANOUT, "/warm_ms/p50"),
            "ms",
        );
        row(
            "fanout peak RSS",
            f("fanout", "/peak_rss_mb"),
            f(SEED_FANOUT, "/peak_rss_mb"),
            "MB",
        );
        let t = &r["fanout_throughput"];
        let label = format!("fanout {} events", num(t, "/events"));
        row(
            &label,
            num(t, "/concurrency-16/elapsed_ms"),
            num(t, "/seed/elapsed_ms"),
            "ms",
        );
    }
}

fn budgets(w: &mut String, verdicts: &[Verdict], duration_s: f64) {
    let _ = writeln!(
        w,
        "\nbudgets (bench/budgets.json; this machine, through the Runtime API):"
    );
    for v in verdicts {
        let _ = writeln!(
            w,
            "  {}  {:<26} {:<26} {}",
            v.word(),
            v.budget.id,
            v.shown,
            v.budget.description
        );
    }
    let count = |s: Status| verdicts.iter().filter(|v| v.status == s).count();
    let _ = writeln!(
        w,
        "\n{} of {} budgets pass, {} fail, {} skipped; run took {duration_s:.0} s",
        count(Status::Pass),
        verdicts.len(),
        count(Status::Fail),
        count(Status::Skip)
    );
}
