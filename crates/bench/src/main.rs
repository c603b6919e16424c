//! `bench`: runs every release function binary through the Lambda Runtime API, the way AWS runs it, with
//! the project's own emulator (`test_support::FunctionProcess`), against stand-ins on loopback; prints a
//! table with budget verdicts and writes `bench/results.json`. `scripts/bench.sh` builds and runs it.
//!
//! ```text
//! bench [--strict] [--arm64] [--no-baseline] [--cold N] [--warm N] [--events N] [--out FILE] [--bin-dir DIR]
//! bench variants LABEL=BINARY...   # data-action builds side by side (bench/README.md, release settings)
//! ```
//!
//! Exit status: 0 when the run completed (whatever the budgets say), 1 with `--strict` and a budget
//! missed, 2 when something broke (a function failed, a stand-in did not start, bad arguments).

mod artifacts;
mod baseline;
mod client;
mod http1;
mod machine;
mod measure;
mod report;
mod standin;
mod suite;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Instant;

const USAGE: &str = "usage: bench [--strict] [--arm64] [--no-baseline] [--baseline-dir DIR] [--cold N] [--warm N]
             [--events N] [--out FILE] [--bin-dir DIR]
       bench variants LABEL=BINARY...

  --strict         exit 1 when a budget is missed
  --arm64          also report the arm64 zips `cargo lambda build --release --arm64` left in target/lambda
  --no-baseline    skip the Python baseline even when it is present
  --baseline-dir   the baseline directory (default: $BASELINE_DIR, else ../shared/baseline)
  --cold N         fresh processes per function (default 20)
  --warm N         timed warm invocations per function (default 1000)
  --events N       events in fanout's throughput invocation (default 1000)
  --out FILE       results file (default bench/results.json; variants: bench/variants.json)
  --bin-dir DIR    where the release binaries are (default: next to this binary)";

/// Parsed command line.
struct Args {
    strict: bool,
    arm64: bool,
    no_baseline: bool,
    baseline_dir: Option<PathBuf>,
    cold: usize,
    warm: usize,
    events: usize,
    out: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
    variants: Option<Vec<(String, PathBuf)>>,
}

impl Args {
    fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            strict: false,
            arm64: false,
            no_baseline: false,
            baseline_dir: None,
            cold: 20,
            warm: 1000,
            events: 1000,
            out: None,
            bin_dir: None,
            variants: None,
        };
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
                "--cold" => args.cold = count(&arg, value(&arg)?)?,
                "--warm" => args.warm = count(&arg, value(&arg)?)?,
                "--events" => args.events = count(&arg, value(&arg)?)?,
                "--out" => args.out = Some(value(&arg)?.into()),
                "--bin-dir" => args.bin_dir = Some(value(&arg)?.into()),
                "variants" => {
                    let builds = raw
                        .by_ref()
                        .map(|b| match b.split_once('=') {
                            Some((label, path)) => Ok((label.to_owned(), PathBuf::from(path))),
                            None => Err(format!("variants: expected LABEL=BINARY, got {b}")),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if builds.is_empty() {
                        return Err("variants: give at least one LABEL=BINARY".into());
                    }
                    args.variants = Some(builds);
                }
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
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
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

/// Runs the benchmark; `Ok(false)` only with `--strict` and a missed budget.
fn run(args: &Args) -> Result<bool, String> {
    let root = workspace_root();
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("where is this binary: {e}"))?
            .parent()
            .map(Path::to_path_buf)
            .ok_or("this binary has no directory")?,
    };
    let settings = suite::Settings {
        cold_runs: args.cold,
        warm_runs: args.warm,
        fanout_events: args.events,
        bin_dir,
        root: root.clone(),
        arm64: args.arm64,
    };
    if let Some(builds) = &args.variants {
        let variants = suite::variants(&settings, builds)?;
        let info = machine::describe(&root);
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| root.join("bench/variants.json"));
        let record = serde_json::json!({
            "date": info["date"], "git": info["git"], "machine": info["machine"],
            "toolchain": info["toolchain"], "cold_runs": args.cold, "warm_runs": args.warm,
            "variants": variants,
        });
        write_json(&out, &record)?;
        println!("results written to {}", out.display());
        return Ok(true);
    }

    let info = machine::describe(&root);
    say(&format!(
        "{} cores ({}), load average {} at start",
        info["machine"]["nproc"],
        info["machine"]["cpu_model"].as_str().unwrap_or("?"),
        machine::load_average()
    ));
    let baseline = if args.no_baseline {
        Ok(None)
    } else {
        let dir = args
            .baseline_dir
            .clone()
            .unwrap_or_else(|| baseline::default_dir(&root));
        let venv = std::env::var_os("BASELINE_VENV")
            .map_or_else(|| root.join(".venv-baseline"), PathBuf::from);
        baseline::Baseline::find(&dir, &venv)
    };
    if let Err(e) = &baseline {
        say(&format!("baseline skipped: {e}"));
    }
    let results = suite::run(settings, baseline)?;
    let duration_s = STARTED.get().map_or(0.0, |s| s.elapsed().as_secs_f64());
    let budgets = report::budgets(&results);
    print!("{}", report::table(&results, &budgets, duration_s));

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("bench/results.json"));
    write_json(&out, &report::json(&results, &budgets, info, duration_s))?;
    println!("results written to {}", out.display());
    Ok(!args.strict || budgets.iter().all(|b| b.pass))
}

/// Writes `value` pretty-printed to `path`, creating its directory.
fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(value).expect("a JSON value serializes");
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}
