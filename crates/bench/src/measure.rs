//! Measurements through the project's Lambda Runtime API emulator (`test_support::FunctionProcess`):
//! cold starts (fresh processes, spawn to first `GET /next`), warm loops (one process, many events;
//! the emulator's time from handing an event out to receiving the answer) and single big invocations.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use test_support::{FunctionProcess, Invocation};

/// Order statistics of a sample, in milliseconds. Percentiles are nearest-rank.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Sample size.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Summary {
    /// Summarises `samples` (milliseconds); all zero when empty.
    pub fn of(samples: &[f64]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let r = (q * sorted.len() as f64).ceil() as usize;
            sorted[r.clamp(1, sorted.len()) - 1]
        };
        Summary {
            n: sorted.len(),
            min: sorted[0],
            p50: rank(0.50),
            p99: rank(0.99),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        }
    }

    /// The summary as JSON (milliseconds, microsecond precision).
    pub fn to_json(self) -> Value {
        json!({
            "n": self.n, "min": ms(self.min), "p50": ms(self.p50), "p99": ms(self.p99),
            "max": ms(self.max), "mean": ms(self.mean),
        })
    }
}

/// Rounds milliseconds to microseconds for the JSON output.
pub fn ms(value: f64) -> f64 {
    (value * 1e3).round() / 1e3
}

/// Milliseconds of a duration.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Checks a function's answer; `Err` says what is wrong with it.
pub type Check<'a> = &'a dyn Fn(&Value) -> Result<(), String>;
/// An owned [`Check`].
pub type BoxedCheck<'a> = Box<dyn Fn(&Value) -> Result<(), String> + 'a>;

/// A program to run as a Lambda function, with its environment on top of the emulator's.
#[derive(Clone)]
pub struct Target {
    /// Name in the output.
    pub label: String,
    /// The executable (a function binary, or a wrapper script that execs the Python runtime).
    pub program: PathBuf,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl Target {
    /// A target with no extra environment yet.
    pub fn new(label: &str, program: PathBuf) -> Target {
        Target {
            label: label.to_owned(),
            program,
            env: Vec::new(),
        }
    }

    /// Adds (or overrides) one environment variable.
    pub fn with(mut self, name: &str, value: &str) -> Target {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds (or overrides) every variable of `env`.
    pub fn with_all(self, env: &[(String, String)]) -> Target {
        env.iter().fold(self, |t, (n, v)| t.with(n, v))
    }

    pub fn spawn(&self) -> FunctionProcess {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let program = self
            .program
            .to_str()
            .expect("program paths are UTF-8 (they come from the workspace)");
        FunctionProcess::start(program, &env)
    }

    /// Spawns the process and waits for its first poll; the init time, or why it never polled.
    fn spawn_ready(&self) -> Result<(FunctionProcess, f64), String> {
        let process = self.spawn();
        match process.init_duration() {
            Some(init) => Ok((process, millis(init))),
            None => Err(format!(
                "{}: init failed: {}",
                self.label,
                process
                    .init_error()
                    .unwrap_or_else(|| "no poll, no init error".into())
            )),
        }
    }

    fn verify(
        &self,
        process: &FunctionProcess,
        invocation: &Invocation,
        check: Check,
    ) -> Result<(), String> {
        let verdict = if invocation.ok {
            check(&invocation.body)
        } else {
            Err(format!(
                "invocation failed ({}): {}",
                invocation.error_type.as_deref().unwrap_or("?"),
                invocation.body
            ))
        };
        verdict.map_err(|e| {
            format!(
                "{}: {e}\n--- function output (tail) ---\n{}",
                self.label,
                tail(&process.logs())
            )
        })
    }
}

/// Cold starts: every run is a fresh process.
#[derive(Default)]
pub struct Cold {
    /// Spawn to first `GET /next`, per run.
    pub init_ms: Vec<f64>,
    /// The first invocation of each fresh process (connections opened, clients first used).
    pub first_invoke_ms: Vec<f64>,
    /// The largest peak RSS (VmHWM) of any run after its first invocation, KiB.
    pub peak_rss_kb: u64,
}

impl Cold {
    /// Adds the runs of `other` (cold starts taken in rounds).
    pub fn absorb(&mut self, other: Cold) {
        self.init_ms.extend(other.init_ms);
        self.first_invoke_ms.extend(other.first_invoke_ms);
        self.peak_rss_kb = self.peak_rss_kb.max(other.peak_rss_kb);
    }
}

/// Starts `runs` fresh processes one after the other; each reports its init time and answers `event` once.
pub fn cold_starts(
    target: &Target,
    runs: usize,
    event: &Value,
    check: Check,
) -> Result<Cold, String> {
    let mut cold = Cold {
        init_ms: Vec::with_capacity(runs),
        first_invoke_ms: Vec::with_capacity(runs),
        peak_rss_kb: 0,
    };
    for _ in 0..runs {
        let (process, init) = target.spawn_ready()?;
        let invocation = process.invoke(event);
        target.verify(&process, &invocation, check)?;
        cold.init_ms.push(init);
        cold.first_invoke_ms.push(millis(invocation.elapsed));
        cold.peak_rss_kb = cold.peak_rss_kb.max(process.peak_rss_kb().unwrap_or(0));
    }
    Ok(cold)
}

/// A warm loop: one process, one untimed priming event, then the timed ones.
pub struct Warm {
    /// The priming (first) invocation.
    pub first_ms: f64,
    /// Every timed invocation, in order.
    pub samples_ms: Vec<f64>,
    /// Peak RSS (VmHWM) after the loop, KiB.
    pub peak_rss_kb: u64,
}

/// Runs `event_for(0)` once untimed, then `event_for(1..=runs)`, in one process.
pub fn warm_loop(
    target: &Target,
    runs: usize,
    event_for: &mut dyn FnMut(usize) -> Value,
    check: Check,
) -> Result<Warm, String> {
    let (process, _) = target.spawn_ready()?;
    let first = process.invoke(&event_for(0));
    target.verify(&process, &first, check)?;
    let mut samples = Vec::with_capacity(runs);
    for i in 1..=runs {
        let invocation = process.invoke(&event_for(i));
        target.verify(&process, &invocation, check)?;
        samples.push(millis(invocation.elapsed));
    }
    Ok(Warm {
        first_ms: millis(first.elapsed),
        samples_ms: samples,
        peak_rss_kb: process.peak_rss_kb().unwrap_or(0),
    })
}

/// One big invocation in a fresh process, after a small priming one.
pub struct Single {
    /// Init of the process.
    pub init_ms: f64,
    /// The big invocation, handed out to answered.
    pub elapsed_ms: f64,
    /// Peak RSS (VmHWM) after it, KiB.
    pub peak_rss_kb: u64,
    /// The answer.
    pub body: Value,
}

/// Starts a process, answers `prime` (untimed: first-use costs), then times `payload` with `deadline`.
pub fn primed_invocation(
    target: &Target,
    prime: &Value,
    payload: &[u8],
    deadline: Duration,
    check: Check,
) -> Result<Single, String> {
    let (process, init_ms) = target.spawn_ready()?;
    let first = process.invoke(prime);
    target.verify(&process, &first, &|_| Ok(()))?;
    let invocation = process.invoke_raw(payload, deadline);
    target.verify(&process, &invocation, check)?;
    Ok(Single {
        init_ms,
        elapsed_ms: millis(invocation.elapsed),
        peak_rss_kb: process.peak_rss_kb().unwrap_or(0),
        body: invocation.body,
    })
}

/// The last 40 lines of a function's output, for error messages.
fn tail(logs: &str) -> String {
    let lines: Vec<&str> = logs.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Summary::of(&samples);
        assert_eq!(
            (s.n, s.min, s.p50, s.p99, s.max),
            (100, 1.0, 50.0, 99.0, 100.0)
        );
        assert!((s.mean - 50.5).abs() < 1e-9);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Summary::of(&twenty).p50, 10.0);
        assert_eq!(Summary::of(&[]).n, 0);
    }
}
