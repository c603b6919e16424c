//! The Genesys Cloud stand-in of the local stack, `local/genesys_standin.py`, run as a process on a free
//! loopback port: the token endpoint, the analytics multi-get, and the admin API the bench uses to
//! register conversations, lift the per-token rate limit and read what it served. One stand-in for
//! `local/` and the bench, so the bench measures enrich against the same Genesys the local stack runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{Http, Req};

/// The stand-in's default OAuth client (`DEFAULT_CLIENT_ID` / `DEFAULT_CLIENT_SECRET`).
pub const CLIENT_ID: &str = "local-client-id";
/// See [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "local-client-secret";

/// A running `genesys_standin.py`, stopped (by its pid) on drop.
pub struct GenesysStandIn {
    child: Child,
    /// `http://127.0.0.1:<port>`: both `GENESYS_LOGIN_URL` and `GENESYS_API_URL`.
    pub base: String,
    log: tempfile::NamedTempFile,
}

/// The Python that runs the stand-in: `GENESYS_STANDIN_PYTHON`, else the project's `.venv` (the stand-in
/// needs only the standard library, so `python3` does when there is no venv).
fn python(root: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("GENESYS_STANDIN_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root.join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

impl GenesysStandIn {
    /// Starts the stand-in and waits (up to 20 s) until its admin API answers.
    pub fn start(root: &Path, http: &Http) -> Result<GenesysStandIn, String> {
        let script = root.join("local/genesys_standin.py");
        let port = test_support::moto::free_port();
        let log = tempfile::NamedTempFile::new().map_err(|e| format!("a log file: {e}"))?;
        let out = log.reopen().map_err(|e| format!("the log file: {e}"))?;
        let err = log.reopen().map_err(|e| format!("the log file: {e}"))?;
        let child = Command::new(python(root))
            .arg(&script)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start {}: {e}", script.display()))?;
        let mut standin = GenesysStandIn {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        standin.wait_ready(http)?;
        Ok(standin)
    }

    fn wait_ready(&mut self, http: &Http) -> Result<(), String> {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if http.json(&Req::get(self.admin("stats"))).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
                return Err(format!("the Genesys stand-in exited: {status}\n{log}"));
            }
            if Instant::now() > until {
                return Err(format!(
                    "the Genesys stand-in at {} did not answer within 20 s",
                    self.base
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn admin(&self, what: &str) -> String {
        format!("{}/__admin/{what}", self.base)
    }

    /// Makes `ids` known conversations (`POST /__admin/conversations`); answers how many it knows.
    pub fn register(&self, http: &Http, ids: &[String]) -> Result<u64, String> {
        let body: Vec<Value> = ids.iter().map(|id| json!({"conversationId": id})).collect();
        let answer = http.json(&Req::post(
            self.admin("conversations"),
            json!(body).to_string(),
        ))?;
        Ok(answer["known"].as_u64().unwrap_or(0))
    }

    /// Applies a fault spec (`POST /__admin/faults`), e.g. `{"rateLimit": 100000}`.
    pub fn faults(&self, http: &Http, spec: &Value) -> Result<(), String> {
        http.json(&Req::post(self.admin("faults"), spec.to_string()))
            .map(|_| ())
    }

    /// What it has served (`GET /__admin/stats`): token and API requests by status, ids asked, ...
    pub fn stats(&self, http: &Http) -> Result<Value, String> {
        http.json(&Req::get(self.admin("stats")))
    }
}

impl Drop for GenesysStandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Token requests answered 200 in `stats`.
pub fn tokens(stats: &Value) -> u64 {
    stats["token"]["200"].as_u64().unwrap_or(0)
}

/// API (analytics) requests in `stats`.
pub fn api_requests(stats: &Value) -> u64 {
    stats["apiRequests"].as_u64().unwrap_or(0)
}
