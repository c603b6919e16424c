//! The state machine's retriers, read from `state_machine.asl.json`: the one place they are declared (Step
//! Functions reads that file as it is). Each retrier is a [`Schedule`] once read, so the docs print its delays
//! and totals from here instead of hand-computed sums.

use std::collections::BTreeMap;

use gcx_core::setting::Schedule;
use serde_json::Value;

/// One retrier, and every state that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub errors: Vec<String>,
    /// `IntervalSeconds`, `BackoffRate`, `MaxDelaySeconds` (none: no cap) and `MaxAttempts` (the retries).
    pub schedule: Schedule,
    /// Whether the cap was set (`MaxDelaySeconds`).
    pub capped: bool,
    /// `JitterStrategy: FULL`.
    pub full_jitter: bool,
    /// The states with this retrier, `Map/State` for a state inside a Map, in name order.
    pub states: Vec<String>,
}

/// A retrier as the ASL spells it; unknown keys are refused, so a field this module does not render cannot
/// hide from the docs.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Asl {
    error_equals: Vec<String>,
    #[serde(default = "one")]
    interval_seconds: u32,
    #[serde(default = "two")]
    backoff_rate: f64,
    #[serde(default = "three")]
    max_attempts: u32,
    max_delay_seconds: Option<u32>,
    jitter_strategy: Option<String>,
}

// The ASL's defaults (Amazon States Language, "Retrying after an error").
fn one() -> u32 {
    1
}
fn two() -> f64 {
    2.0
}
fn three() -> u32 {
    3
}

/// Every retrier of the state machine, states that share one grouped, in the order of their first state.
pub fn retriers(asl: &Value) -> Result<Vec<Retrier>, String> {
    let mut found: Vec<Retrier> = Vec::new();
    let mut states = Vec::new();
    walk(asl, "", &mut states)?;
    for (name, state) in states {
        let Some(retry) = state.get("Retry") else {
            continue;
        };
        let list = retry
            .as_array()
            .ok_or_else(|| format!("{name}: Retry is not a list"))?;
        for r in list {
            let asl: Asl = serde_json::from_value(r.clone())
                .map_err(|e| format!("state_machine.asl.json: {name}: a retrier: {e}"))?;
            if asl.backoff_rate.fract() != 0.0 || asl.backoff_rate < 1.0 {
                return Err(format!(
                    "state_machine.asl.json: {name}: BackoffRate {} is not a whole number (the docs print whole-second sums)",
                    asl.backoff_rate
                ));
            }
            let retrier = Retrier {
                errors: asl.error_equals,
                schedule: Schedule {
                    base: asl.interval_seconds,
                    factor: asl.backoff_rate as u32,
                    cap: asl.max_delay_seconds.unwrap_or(u32::MAX),
                    attempts: asl.max_attempts,
                },
                capped: asl.max_delay_seconds.is_some(),
                full_jitter: match asl.jitter_strategy.as_deref() {
                    None | Some("NONE") => false,
                    Some("FULL") => true,
                    Some(other) => return Err(format!("{name}: unknown JitterStrategy {other:?}")),
                },
                states: Vec::new(),
            };
            match found.iter_mut().find(|f| same(f, &retrier)) {
                Some(f) => f.states.push(name.clone()),
                None => found.push(Retrier {
                    states: vec![name.clone()],
                    ..retrier
                }),
            }
        }
    }
    Ok(found)
}

fn same(a: &Retrier, b: &Retrier) -> bool {
    a.errors == b.errors
        && a.schedule == b.schedule
        && a.capped == b.capped
        && a.full_jitter == b.full_jitter
}

/// Every state, named `Map/State` inside a Map (or a Parallel's branch), in name order.
fn walk<'a>(
    machine: &'a Value,
    prefix: &str,
    out: &mut Vec<(String, &'a Value)>,
) -> Result<(), String> {
    let states = machine
        .get("States")
        .and_then(Value::as_object)
        .ok_or("state_machine.asl.json: no States")?;
    for (name, state) in states {
        let full = format!("{prefix}{name}");
        out.push((full.clone(), state));
        for inner in ["ItemProcessor", "Iterator"] {
            if let Some(machine) = state.get(inner) {
                walk(machine, &format!("{full}/"), out)?;
            }
        }
        for branch in state
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(branch, &format!("{full}/"), out)?;
        }
    }
    Ok(())
}

/// The Lambda Tasks, by name: Tasks whose Resource is a function's ARN (the template substitutes
/// `${ValidateFunctionArn}`, ...) or the `lambda:invoke` integration, not another service's integration.
pub fn lambda_tasks(asl: &Value) -> Result<Vec<String>, String> {
    let mut states = Vec::new();
    walk(asl, "", &mut states)?;
    Ok(states
        .into_iter()
        .filter(|(_, s)| {
            s.get("Type").and_then(Value::as_str) == Some("Task")
                && s.get("Resource").and_then(Value::as_str).is_some_and(|r| {
                    r.contains(":lambda:invoke") || !r.starts_with("arn:aws:states:::")
                })
        })
        .map(|(n, _)| n)
        .collect())
}

impl Retrier {
    /// `2 s, backoff 2, 6 retries, MaxDelaySeconds 20, jitter FULL`: the deploy guide's words.
    pub fn deploy_text(&self) -> String {
        let s = &self.schedule;
        let mut text = format!("{} s, backoff {}, {} retries", s.base, s.factor, s.attempts);
        if self.capped {
            text.push_str(&format!(", MaxDelaySeconds {}", s.cap));
        }
        if self.full_jitter {
            text.push_str(", jitter FULL");
        }
        text
    }

    /// `1 s, backoff 2, max 20 s, full jitter, 6 attempts`: the contract's words.
    pub fn contract_text(&self) -> String {
        let s = &self.schedule;
        let mut text = format!("{} s, backoff {}", s.base, s.factor);
        if self.capped {
            text.push_str(&format!(", max {} s", s.cap));
        }
        if self.full_jitter {
            text.push_str(", full jitter");
        }
        text.push_str(&format!(", {} attempts", s.attempts));
        text
    }
}

/// Each error name's one retrier (`retry-NAME` sections); an error retried differently by two states has none.
pub fn by_error(retriers: &[Retrier]) -> BTreeMap<String, &Retrier> {
    let mut by: BTreeMap<String, Vec<&Retrier>> = BTreeMap::new();
    for r in retriers {
        for e in &r.errors {
            by.entry(e.clone()).or_default().push(r);
        }
    }
    by.into_iter()
        .filter(|(_, rs)| rs.windows(2).all(|w| same(w[0], w[1])))
        .map(|(e, rs)| (e, rs[0]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Value {
        serde_json::json!({"States": {
            "B": {"Type": "Task", "Resource": "${BFunctionArn}",
                  "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2}]},
            "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2},
                            {"ErrorEquals": ["Y"], "IntervalSeconds": 1, "MaxAttempts": 6, "BackoffRate": 2,
                             "MaxDelaySeconds": 20, "JitterStrategy": "FULL"}]},
            "M": {"Type": "Map", "ItemProcessor": {"States": {
                "S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                      "Retry": [{"ErrorEquals": ["States.ALL"]}]}}}}
        }})
    }

    #[test]
    fn retriers_are_grouped_with_their_states_and_read_as_schedules() {
        let rs = retriers(&machine()).unwrap();
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[0].states, ["A", "B"]);
        assert_eq!(rs[0].schedule.total(), 126);
        assert_eq!(rs[0].deploy_text(), "2 s, backoff 2, 6 retries");
        assert_eq!(rs[1].schedule.delays(), [1, 2, 4, 8, 16, 20]);
        assert_eq!(
            rs[1].contract_text(),
            "1 s, backoff 2, max 20 s, full jitter, 6 attempts"
        );
        // The ASL's defaults: 1 s, backoff 2, 3 attempts.
        assert_eq!(rs[2].states, ["M/S"]);
        assert_eq!(rs[2].schedule.delays(), [1, 2, 4]);
        assert_eq!(lambda_tasks(&machine()).unwrap(), ["A", "B"]);
        assert_eq!(by_error(&rs).len(), 3);
    }

    #[test]
    fn unknown_fields_fractional_backoff_and_split_errors_are_refused_or_left_out() {
        let mut m = machine();
        m["States"]["A"]["Retry"][0]["MaxAttemps"] = 3.into();
        assert!(retriers(&m).unwrap_err().contains("MaxAttemps"));
        let mut m = machine();
        m["States"]["A"]["Retry"][0]["BackoffRate"] = 1.5.into();
        assert!(retriers(&m).unwrap_err().contains("whole"));
        let mut m = machine();
        m["States"]["B"]["Retry"][0]["MaxAttempts"] = 2.into();
        let rs = retriers(&m).unwrap();
        assert!(!by_error(&rs).contains_key("X"), "X is retried two ways");
    }
}
