//! The results of a run as one JSON document, filled phase by phase: what `bench/results.json` holds,
//! what the budgets' JSON pointers read and what the table prints.
//!
//! Units: ms are milliseconds; MB are 10^6 bytes (RSS is read in KiB and converted), the stricter
//! reading of "12 MB" and "5 MB".

use serde_json::{json, Map, Value};

use crate::measure::{ms, Cold, Summary, Warm};

/// The document being filled.
#[derive(Default)]
pub struct Results {
    root: Map<String, Value>,
}

/// Bytes to MB (10^6).
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// KiB (VmHWM) to MB (10^6 bytes).
pub fn rss_mb(kb: u64) -> f64 {
    mb(kb * 1024)
}

/// Every sample, rounded to microseconds.
pub fn samples(values: &[f64]) -> Value {
    Value::Array(values.iter().map(|v| json!(ms(*v))).collect())
}

impl Results {
    /// Sets a top-level section.
    pub fn set(&mut self, key: &str, value: Value) {
        self.root.insert(key.to_owned(), value);
    }

    /// The top-level section `key`, created as an object when absent.
    pub fn section(&mut self, key: &str) -> &mut Map<String, Value> {
        let value = self
            .root
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !value.is_object() {
            *value = Value::Object(Map::new());
        }
        value.as_object_mut().expect("made an object just above")
    }

    /// The figures of function `name` (`/functions/<name>`), created when absent.
    pub fn function(&mut self, name: &str) -> &mut Map<String, Value> {
        let functions = self.section("functions");
        let value = functions
            .entry(name.to_owned())
            .or_insert_with(|| json!({"peak_rss_kb_by_phase": {}}));
        value.as_object_mut().expect("functions hold objects")
    }

    /// Records a peak RSS of one phase (`cold`, `warm`, `other`) of function `name`.
    pub fn rss(&mut self, name: &str, phase: &str, kb: u64) {
        let f = self.function(name);
        let by_phase = &mut f["peak_rss_kb_by_phase"];
        let old = by_phase[phase].as_u64().unwrap_or(0);
        by_phase[phase] = json!(old.max(kb));
    }

    /// Records the cold starts of `name`.
    pub fn cold(&mut self, name: &str, cold: &Cold) {
        let f = self.function(name);
        f.insert("init_ms".into(), Summary::of(&cold.init_ms).to_json());
        f.insert("init_samples_ms".into(), samples(&cold.init_ms));
        let first = Summary::of(&cold.first_invoke_ms).to_json();
        f.insert("first_invoke_ms".into(), first);
        f.insert(
            "first_invoke_samples_ms".into(),
            samples(&cold.first_invoke_ms),
        );
        self.rss(name, "cold", cold.peak_rss_kb);
    }

    /// Records the warm loop of `name`.
    pub fn warm(&mut self, name: &str, warm: &Warm) {
        let f = self.function(name);
        f.insert("warm_runs".into(), json!(warm.samples_ms.len()));
        f.insert("warm_ms".into(), Summary::of(&warm.samples_ms).to_json());
        f.insert("warm_priming_ms".into(), json!(ms(warm.first_ms)));
        f.insert("warm_samples_ms".into(), samples(&warm.samples_ms));
        self.rss(name, "warm", warm.peak_rss_kb);
    }

    /// The document, with each function's peak RSS (the highest of its phases) filled in.
    pub fn finish(mut self) -> Value {
        let functions = self.section("functions");
        for f in functions.values_mut() {
            let peak = f["peak_rss_kb_by_phase"].as_object().map_or(0, |m| {
                m.values().filter_map(Value::as_u64).max().unwrap_or(0)
            });
            f["peak_rss_kb"] = json!(peak);
            f["peak_rss_mb"] = json!(rss_mb(peak));
        }
        Value::Object(self.root)
    }
}
