//! Where and on what the benchmark ran: machine, toolchain, commit, date. Figures are only comparable
//! within one such record.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// Machine, toolchain and source description for `results.json`.
pub fn describe(root: &Path) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = read_trimmed("/proc/sys/kernel/osrelease");
    let memory_kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    });
    let commit = output(root, "git", &["rev-parse", "HEAD"]);
    let dirty = output(
        root,
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .map(|s| !s.is_empty());
    json!({
        "date": now_rfc3339(),
        "machine": {
            "nproc": nproc,
            "cpu_model": cpu_model,
            "kernel": kernel,
            "arch": std::env::consts::ARCH,
            "memory_kb": memory_kb,
            "loadavg_at_start": read_trimmed("/proc/loadavg"),
        },
        "toolchain": {
            "rustc": output(root, "rustc", &["--version"]),
            "cargo": output(root, "cargo", &["--version"]),
        },
        "git": { "commit": commit, "dirty": dirty },
    })
}

/// The 1-minute load average now (other work on the machine makes every figure noisier).
pub fn load_average() -> String {
    read_trimmed("/proc/loadavg")
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

/// Now, UTC, RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// The trimmed stdout of a command run in `dir`, or `None` when it fails.
fn output(dir: &Path, program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
