//! Budgets as data (`bench/budgets.json`), evaluated generically against the results document.
//!
//! Each budget names a figure by JSON pointer into the results (`/functions/data-action/init_ms/p50`),
//! optionally divided by another (`over`: a ratio budget, e.g. data-action's init over bench-bare's),
//! and compares it with a limit. A figure the run did not measure fails the budget, unless the budget
//! is `optional` (it needs the Python baseline, or `--arm64`): then it is skipped.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How a figure is compared with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Comparison {
    /// At most.
    #[serde(rename = "<=")]
    AtMost,
    /// Below.
    #[serde(rename = "<")]
    Below,
    /// At least.
    #[serde(rename = ">=")]
    AtLeast,
    /// Above.
    #[serde(rename = ">")]
    Above,
    /// Exactly.
    #[serde(rename = "==")]
    Equal,
}

impl Comparison {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Comparison::AtMost => value <= limit,
            Comparison::Below => value < limit,
            Comparison::AtLeast => value >= limit,
            Comparison::Above => value > limit,
            Comparison::Equal => value == limit,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Comparison::AtMost => "<=",
            Comparison::Below => "<",
            Comparison::AtLeast => ">=",
            Comparison::Above => ">",
            Comparison::Equal => "==",
        }
    }
}

/// One budget of `bench/budgets.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// `<subject>.<what>`, e.g. `data-action.init`; the subject is the table row it belongs to.
    pub id: String,
    /// What is required, for a person.
    pub description: String,
    /// JSON pointer to the figure in the results.
    pub pointer: String,
    /// JSON pointer to the figure `pointer`'s is divided by (a ratio budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<String>,
    /// How the figure compares with the limit.
    pub comparison: Comparison,
    /// The limit.
    pub limit: f64,
    /// The figure's unit, for printing (`ms`, `MB`, `x`, ...).
    #[serde(default)]
    pub unit: String,
    /// Skipped (not failed) when the run did not measure the figure.
    #[serde(default)]
    pub optional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "$comment", default)]
    _comment: Option<Value>,
    budgets: Vec<Budget>,
}

/// A budget's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not, or its figure is missing.
    Fail,
    /// An optional budget whose figure this run did not measure.
    Skip,
}

/// A budget, the figure found and the verdict.
pub struct Verdict {
    /// The budget.
    pub budget: Budget,
    /// The figure (the ratio, for a ratio budget).
    pub value: Option<f64>,
    /// What was measured, for a person: `6.51 ms`, `6.51 / 1.84 = 3.54x`, or why there is nothing.
    pub shown: String,
    /// The verdict.
    pub status: Status,
}

impl Verdict {
    /// The row of the table this budget belongs to (`data-action` of `data-action.init`).
    pub fn subject(&self) -> &str {
        self.budget.id.split('.').next().unwrap_or_default()
    }

    /// The budget's own part of its id (`init` of `data-action.init`).
    pub fn tag(&self) -> &str {
        self.budget.id.split_once('.').map_or("", |(_, t)| t)
    }

    /// `PASS`, `FAIL` or `SKIP`.
    pub fn word(&self) -> &'static str {
        match self.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<Vec<Budget>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: File = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seen = std::collections::HashSet::new();
    for b in &file.budgets {
        if !seen.insert(&b.id) || !b.id.contains('.') || !b.pointer.starts_with('/') {
            return Err(format!(
                "{}: budget {:?}: ids are unique `<subject>.<what>`, pointers start with /",
                path.display(),
                b.id
            ));
        }
    }
    Ok(file.budgets)
}

/// A number for people: three significant-ish digits.
pub fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// Evaluates one budget against `results`.
pub fn evaluate(budget: &Budget, results: &Value) -> Verdict {
    let at = |pointer: &str| results.pointer(pointer).and_then(Value::as_f64);
    let unit = &budget.unit;
    let found = match (&budget.over, at(&budget.pointer)) {
        (None, Some(v)) => Some((v, format!("{} {unit}", figure(v)))),
        (Some(over), Some(v)) => at(over).filter(|d| *d != 0.0).map(|d| {
            let ratio = v / d;
            (
                ratio,
                format!("{} / {} = {} {unit}", figure(v), figure(d), figure(ratio)),
            )
        }),
        (_, None) => None,
    };
    let (value, shown, status) = match found {
        Some((v, shown)) => {
            let ok = budget.comparison.holds(v, budget.limit);
            (Some(v), shown, if ok { Status::Pass } else { Status::Fail })
        }
        None if budget.optional => (None, "not measured in this run".into(), Status::Skip),
        None => (None, "missing from the results".into(), Status::Fail),
    };
    Verdict {
        budget: budget.clone(),
        value,
        shown: shown.trim_end().to_owned(),
        status,
    }
}

/// Every verdict, in the file's order.
pub fn evaluate_all(budgets: &[Budget], results: &Value) -> Vec<Verdict> {
    budgets.iter().map(|b| evaluate(b, results)).collect()
}

/// The verdicts as they go into `results.json`.
pub fn to_json(verdicts: &[Verdict]) -> Value {
    let list: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            let mut entry = json!(v.budget);
            entry["rule"] = json!(format!(
                "{} {} {}",
                v.budget.id,
                v.budget.comparison.symbol(),
                v.budget.limit
            ));
            entry["value"] = json!(v.value);
            entry["shown"] = json!(v.shown);
            entry["status"] = json!(v.word());
            entry
        })
        .collect();
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(text: Value) -> Budget {
        serde_json::from_value(text).unwrap()
    }

    #[test]
    fn plain_ratio_missing_and_optional_budgets() {
        let results =
            json!({"functions": {"a": {"init_ms": {"p50": 6.0}}, "b": {"init_ms": {"p50": 2.0}}}});
        let plain = budget(
            json!({"id": "a.init", "description": "", "pointer": "/functions/a/init_ms/p50",
            "comparison": "<=", "limit": 10, "unit": "ms"}),
        );
        assert_eq!(evaluate(&plain, &results).status, Status::Pass);
        let ratio = budget(
            json!({"id": "a.vs-b", "description": "", "pointer": "/functions/a/init_ms/p50",
            "over": "/functions/b/init_ms/p50", "comparison": "<=", "limit": 2}),
        );
        let v = evaluate(&ratio, &results);
        assert_eq!((v.status, v.value), (Status::Fail, Some(3.0)));
        assert_eq!(v.shown, "6 / 2 = 3");
        let missing = budget(
            json!({"id": "c.init", "description": "", "pointer": "/functions/c/init_ms/p50",
            "comparison": "==", "limit": 1}),
        );
        assert_eq!(evaluate(&missing, &results).status, Status::Fail);
        let optional = Budget {
            optional: true,
            ..missing
        };
        assert_eq!(evaluate(&optional, &results).status, Status::Skip);
    }

    #[test]
    fn the_repository_budgets_parse() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/budgets.json");
        let budgets = load(&path).unwrap();
        assert!(budgets.iter().any(|b| b.id == "data-action.init-vs-bare"));
        assert!(budgets.iter().any(|b| b.id == "data-action.rss-vs-seed"));
    }
}
