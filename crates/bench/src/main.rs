//! `bench`: runs every release function binary through the Lambda Runtime API, the way AWS runs it, with
//! the project's own emulator (`test_support::FunctionProcess`), against stand-ins on loopback (wiremock,
//! `local/genesys_standin.py`) and moto; prints a table with the verdicts of `bench/budgets.json` and
//! writes `bench/results.json`. `scripts/bench.sh` builds and runs it.
//!
//! ```text
//! bench [--strict] [--arm64] [--no-baseline] [--cold N] [--warm N] [--events N] [--out FILE] [--bin-dir DIR]
//! bench report [RESULTS]            # the table and verdicts of a stored run, measured nothing
//! bench variants LABEL=BINARY...    # data-action builds side by side (bench/README.md, release settings)
//! ```
//!
//! Exit status: 0 when the run completed (whatever the budgets say), 1 with `--strict` and a budget
//! missed, 2 when something broke (a function failed, a stand-in did not start, bad arguments).

mod artifacts;
mod baseline;
mod budgets;
mod context;
mod entries;
mod fixtures;
mod genesys;
mod http;
mod machine;
mod measure;
mod phase;
mod report;
mod results;
mod standins;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{json, Value};

use crate::context::{Context, Settings, BATCH};
use crate::entries::{BARE, SEED_DATA_ACTION, SEED_FANOUT};
use crate::results::Results;

const USAGE: &str = "usage: bench [--strict] [--arm64] [--no-baseline] [--baseline-dir DIR] [--cold N] [--warm N]
             [--events N] [--out FILE] [--bin-dir DIR] [--budgets FILE]
       bench report [RESULTS]
       bench variants LABEL=BINARY...

  --strict         exit 1 when a budget is missed
  --arm64          also report the arm64 zips `cargo lambda build --release --arm64` left in target/lambda
  --no-baseline    skip the Python baseline even when it is present
  --baseline-dir   the baseline directory (default: $BASELINE_DIR, else bench/baseline)
  --cold N         fresh processes per function (default 20)
  --warm N         timed warm invocations per function (default 1000; enrich and save-on-moto: N/50, at least 5)
  --events N       events in fanout's throughput invocation (default 1000)
  --out FILE       results file (default bench/results.json; variants: bench/variants.json)
  --bin-dir DIR    where the release binaries are (default: next to this binary)
  --budgets FILE   the budgets (default bench/budgets.json)
  report [RESULTS] print the table and budget verdicts of a results file (default bench/results.json)";

/// Parsed command line.
#[derive(Default)]
struct Args {
    strict: bool,
    arm64: bool,
    no_baseline: bool,
    baseline_dir: Option<PathBuf>,
    cold: Option<usize>,
    warm: Option<usize>,
    events: Option<usize>,
    out: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
    budgets: Option<PathBuf>,
    report: Option<Option<PathBuf>>,
    variants: Option<Vec<(String, PathBuf)>>,
}

/// `LABEL=BINARY` pairs of `bench variants`.
fn builds(raw: impl Iterator<Item = String>) -> Result<Vec<(String, PathBuf)>, String> {
    let builds = raw
        .map(|b| match b.split_once('=') {
            Some((label, path)) => Ok((label.to_owned(), PathBuf::from(path))),
            None => Err(format!("variants: expected LABEL=BINARY, got {b}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if builds.is_empty() {
        return Err("variants: give at least one LABEL=BINARY".into());
    }
    Ok(builds)
}

impl Args {
    fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args::default();
        while let Some(arg) = raw.next() {
            let mut value = |name: &str| raw.next().ok_or_else(|| format!("{name} needs a value"));
            let count = |name: &str, v: String| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}: not a positive number: {v}"))
            };
            match arg.as_str() {
                "--strict" => args.strict = true,
                "--arm64" => args.arm64 = true,
                "--no-baseline" => args.no_baseline = true,
                "--baseline-dir" => args.baseline_dir = Some(value(&arg)?.into()),
                "--cold" => args.cold = Some(count(&arg, value(&arg)?)?),
                "--warm" => args.warm = Some(count(&arg, value(&arg)?)?),
                "--events" => args.events = Some(count(&arg, value(&arg)?)?),
                "--out" => args.out = Some(value(&arg)?.into()),
                "--bin-dir" => args.bin_dir = Some(value(&arg)?.into()),
                "--budgets" => args.budgets = Some(value(&arg)?.into()),
                "report" => args.report = Some(raw.next().map(PathBuf::from)),
                "variants" => args.variants = Some(builds(raw.by_ref())?),
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(args)
    }
}

/// When the run started, for progress lines.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// A progress line on stderr, stamped with the seconds since the start.
pub fn say(message: &str) {
    let started = STARTED.get_or_init(Instant::now);
    eprintln!(
        "[bench {:>6.1}s] {message}",
        started.elapsed().as_secs_f64()
    );
}

/// The workspace root (this crate is `crates/bench`).
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn main() -> ExitCode {
    STARTED.get_or_init(Instant::now);
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn settings(args: &Args, root: &Path) -> Result<Settings, String> {
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("where is this binary: {e}"))?
            .parent()
            .map(Path::to_path_buf)
            .ok_or("this binary has no directory")?,
    };
    Ok(Settings {
        cold_runs: args.cold.unwrap_or(20),
        warm_runs: args.warm.unwrap_or(1000),
        fanout_events: args.events.unwrap_or(1000),
        bin_dir,
        root: root.to_path_buf(),
        arm64: args.arm64,
    })
}

/// Runs what the arguments ask; `Ok(false)` only with `--strict` and a missed budget.
fn run(args: &Args) -> Result<bool, String> {
    let root = workspace_root();
    let budget_file = args
        .budgets
        .clone()
        .unwrap_or_else(|| root.join("bench/budgets.json"));
    let budgets = budgets::load(&budget_file)?;
    let settings = settings(args, &root)?;
    if let Some(builds) = &args.variants {
        return variants(args, &settings, builds);
    }
    if let Some(file) = &args.report {
        let file = file
            .clone()
            .unwrap_or_else(|| root.join("bench/results.json"));
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let verdicts = budgets::evaluate_all(&budgets, &doc);
        print!("{}", report::table(&doc, &verdicts));
        return Ok(!args.strict || verdicts.iter().all(|v| v.status != budgets::Status::Fail));
    }
    let info = machine::describe(&root);
    say(&format!(
        "{} cores ({}), load average {} at start",
        info["machine"]["nproc"],
        info["machine"]["cpu_model"].as_str().unwrap_or("?"),
        machine::load_average()
    ));
    let ctx = Context::new(settings, find_baseline(args, &root))?;
    let mut doc = phases(&ctx)?.finish();
    describe(&mut doc, &ctx, info);
    let verdicts = budgets::evaluate_all(&budgets, &doc);
    doc["budgets"] = budgets::to_json(&verdicts);
    doc["all_budgets_pass"] = json!(verdicts.iter().all(|v| v.status != budgets::Status::Fail));
    print!("{}", report::table(&doc, &verdicts));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("bench/results.json"));
    write_json(&out, &doc)?;
    println!("results written to {}", out.display());
    Ok(!args.strict || doc["all_budgets_pass"] == json!(true))
}

/// The Python baseline, when present and not turned off.
fn find_baseline(args: &Args, root: &Path) -> Result<Option<baseline::Baseline>, String> {
    if args.no_baseline {
        return Ok(None);
    }
    let dir = args
        .baseline_dir
        .clone()
        .unwrap_or_else(|| baseline::default_dir(root));
    let venv = std::env::var_os("BASELINE_VENV")
        .map_or_else(|| root.join(".venv-baseline"), PathBuf::from);
    let found = baseline::Baseline::find(&dir, &venv);
    match &found {
        Ok(Some(b)) => say(&format!("baseline: {}", b.dir.display())),
        Ok(None) => say("no baseline: the project's figures alone"),
        Err(e) => say(&format!("baseline skipped: {e}")),
    }
    found
}

/// Every phase, in order.
fn phases(ctx: &Context) -> Result<Results, String> {
    let mut results = Results::default();
    phase::sizes::run(ctx, &mut results)?;
    let inputs = phase::batch::prepare(ctx)?;
    let mut entries = entries::all(ctx, &inputs)?;
    phase::cold::run(ctx, &mut entries, &mut results)?;
    let simple = ["data-action", "fanout", BARE, SEED_DATA_ACTION, SEED_FANOUT];
    phase::warm::run(&mut entries, &simple, &mut results)?;
    phase::batch::run(ctx, &mut entries, &mut results)?;
    phase::enrich::run(ctx, &mut entries, &mut results)?;
    phase::standins::run(ctx, &entries, &mut results)?;
    phase::fanout::run(ctx, &mut entries, &mut results)?;
    phase::moto::run(ctx, &inputs, &mut results)?;
    phase::actions::run(ctx, &mut results)?;
    Ok(results)
}

/// Where, on what and how the run was made: date, commit (and whether the tree was dirty), machine,
/// toolchain, settings, baseline, duration.
fn describe(doc: &mut Value, ctx: &Context, info: Value) {
    let s = &ctx.settings;
    for key in ["date", "git", "machine", "toolchain"] {
        doc[key] = info[key].clone();
    }
    doc["schema"] = json!(2);
    let duration_s = STARTED.get().map_or(0.0, |t| t.elapsed().as_secs_f64());
    doc["duration_s"] = json!((duration_s * 10.0).round() / 10.0);
    let settings = &mut doc["settings"];
    for (key, value) in [
        ("cold_runs", json!(s.cold_runs)),
        ("warm_runs", json!(s.warm_runs)),
        ("slow_warm_runs", json!(s.slow_runs())),
        ("fanout_events", json!(s.fanout_events)),
        ("batch_events", json!(BATCH)),
        ("bin_dir", json!(s.bin_dir)),
        ("mb", json!("10^6 bytes")),
        ("percentiles", json!("nearest-rank")),
        ("init", json!("spawn to first GET /runtime/invocation/next (test_support::FunctionProcess::init_duration)")),
        ("warm", json!("event handed out to answer posted (Invocation::elapsed), after one untimed priming invocation")),
    ] {
        settings[key] = value;
    }
    let dir = ctx.baseline.as_ref().map(|b| b.dir.clone());
    doc["baseline"] = json!({ "dir": dir, "note": ctx.baseline_note });
}

fn variants(
    args: &Args,
    settings: &Settings,
    builds: &[(String, PathBuf)],
) -> Result<bool, String> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| settings.root.join("bench/variants.json"));
    let variants = phase::variants::run(settings, builds)?;
    let info = machine::describe(&settings.root);
    let record = json!({
        "date": info["date"], "git": info["git"], "machine": info["machine"],
        "toolchain": info["toolchain"], "cold_runs": settings.cold_runs, "warm_runs": settings.warm_runs,
        "variants": variants,
    });
    write_json(&out, &record)?;
    println!("results written to {}", out.display());
    Ok(true)
}

/// Writes `value` pretty-printed to `path`, creating its directory.
fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(value).expect("a JSON value serializes");
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}
