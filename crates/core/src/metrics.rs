//! CloudWatch metrics as Embedded Metric Format (EMF): the invocation's log line *is* the metric record.
//!
//! CloudWatch Logs turns a JSON line with an `_aws` block into metrics, so there is no PutMetricData call,
//! no client and no extra request per invocation. The `_aws` block is added to the one line the runtime
//! shell already writes per invocation ([`crate::lambda`]), and it points at fields that line already
//! holds, so a count is written once and is both a log field and a metric.
//!
//! Hand-written rather than `metrics_cloudwatch_embedded`: that crate sits behind the `metrics` facade and
//! flushes its own line per invocation, which would mean a global recorder, a second line and the same
//! numbers twice; what is needed here is one small JSON block.
//!
//! Namespace: `METRICS_NAMESPACE` (the template sets `GenesysCx/<stack name>`); unset, no block is written
//! (local runs and tests that do not look for it).

use serde_json::{json, Map, Value};

/// Where the invocation lines' metrics go.
pub const METRICS_NAMESPACE: crate::setting::Setting = crate::setting::Setting::optional(
    "METRICS_NAMESPACE",
    "no metrics (the template sets `GenesysCx/<stack>`)",
)
.doc("Also make each invocation line a CloudWatch metric record (Embedded Metric Format; the metrics: `docs/contracts.md`).");

/// The CloudWatch unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// A duration.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The field every invocation line carries as its count (1), with the dimensions `function` and
/// `outcome`: Sum gives invocations per outcome, the ratio of outcomes is metric math over them.
pub const INVOCATIONS: &str = "invocations";
/// The invocation's duration field.
pub const DURATION: &str = "durationMs";

/// Adds the `_aws` block to an invocation line that already holds `function`, `outcome`, `durationMs`
/// and the function's own fields. `per_function` names which of those fields are metrics too
/// (dimension `function` only); names absent from the line are left out.
pub fn embed(
    line: &mut Map<String, Value>,
    namespace: &str,
    per_function: &[(&'static str, Unit)],
) {
    line.insert(INVOCATIONS.into(), 1.into());
    let metric = |name: &str, unit: Unit| json!({"Name": name, "Unit": unit.as_str()});
    let mut directives = vec![json!({
        "Namespace": namespace,
        "Dimensions": [["function", "outcome"]],
        "Metrics": [metric(INVOCATIONS, Unit::Count), metric(DURATION, Unit::Milliseconds)],
    })];
    let own: Vec<Value> = per_function
        .iter()
        .filter(|(name, _)| line.get(*name).is_some_and(is_metric_value))
        .map(|(name, unit)| metric(name, *unit))
        .collect();
    if !own.is_empty() {
        directives.push(json!({
            "Namespace": namespace,
            "Dimensions": [["function"]],
            "Metrics": own,
        }));
    }
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    line.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp, "CloudWatchMetrics": directives}),
    );
}

/// EMF takes a number or an array of up to 100 numbers.
fn is_metric_value(v: &Value) -> bool {
    match v {
        Value::Number(_) => true,
        Value::Array(values) => {
            !values.is_empty() && values.len() <= 100 && values.iter().all(Value::is_number)
        }
        _ => false,
    }
}

/// The namespace, if metrics are on: read once, when the runtime shell starts.
pub fn namespace(env: &dyn crate::config::Env) -> Option<String> {
    METRICS_NAMESPACE
        .read_optional(env)
        .filter(|n| !n.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_points_at_fields_of_the_line() {
        let mut line = Map::new();
        line.insert("function".into(), "save".into());
        line.insert("outcome".into(), "ok".into());
        line.insert(DURATION.into(), 3.5.into());
        line.insert("stored".into(), 7.into());
        line.insert("latencies".into(), json!([1.0, 2.5]));
        line.insert("customer_ref".into(), "abc".into());
        embed(
            &mut line,
            "GenesysCx/test",
            &[
                ("stored", Unit::Count),
                ("latencies", Unit::Milliseconds),
                ("absent", Unit::Count),
                ("customer_ref", Unit::Count),
            ],
        );
        assert_eq!(line[INVOCATIONS], 1);
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(
            directives[0]["Dimensions"],
            json!([["function", "outcome"]])
        );
        assert_eq!(directives[0]["Namespace"], "GenesysCx/test");
        let own: Vec<&str> = directives[1]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            own,
            ["stored", "latencies"],
            "absent and non-numeric fields are left out"
        );
        assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    }

    #[test]
    fn no_own_metrics_no_second_directive() {
        let mut line = Map::new();
        embed(&mut line, "n", &[("x", Unit::Count)]);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(),
            1
        );
    }

    #[test]
    fn arrays_longer_than_emf_allows_are_not_metrics() {
        assert!(is_metric_value(&json!([1, 2])));
        assert!(!is_metric_value(&json!([])));
        assert!(!is_metric_value(&Value::Array(vec![1.into(); 101])));
        assert!(!is_metric_value(&json!(["1"])));
    }
}
