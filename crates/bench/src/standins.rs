//! Zero-latency stand-ins on loopback, served by wiremock: the customer API behind data-action, Step
//! Functions for fanout (with an optional added latency per call), and DynamoDB + SQS for save. They answer
//! only what the bench sends and evaluate nothing (moto covers the real conditional writes; the Python
//! stand-in of `local/` covers Genesys). Each counts its calls; what each costs on its own is measured
//! (`phase::standins`) and printed with the results.
//!
//! wiremock does not set `TCP_NODELAY`; the listener it is given here has it, and Linux hands it on to
//! every accepted socket, so no answer waits for a delayed ACK.
//!
//! Distortion, measured. wiremock replaced a hand-rolled HTTP/1.1 server (thread per connection, one
//! write per answer; commit 9f8da6e, `crates/bench/src/standin.rs`). Four interleaved A/B runs
//! (`--cold 2 --warm 1000`, the old server built from that commit, on this 2-core machine at load
//! average 2-3): one call costs a reqwest client 0.042 ms p50 from wiremock against 0.022 ms from the old
//! server (means of the four runs' p50s); data-action's warm p50 moved from 0.161 to 0.186 ms and save's
//! (100 UpdateItems and one SendMessageBatch per invocation) from 15.2 to 16.4 ms. Both shifts are within
//! the spread between runs (data-action 0.143-0.228 ms, save 11.4-21.0 ms with wiremock) and far inside
//! every budget, so wiremock stays; the stand-ins' own cost is printed with every run. (The old
//! bench/results.json has the old server at 0.017 ms p50 from its hand-rolled client: reqwest itself adds
//! about 0.005 ms to the stand-ins' own-cost figures, which no function's figure includes.)

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::http::Http;

/// The customer API's answer for every customer (the upstream shape `docs/contracts.md` gives).
pub const UPSTREAM_BODY: &str =
    r#"{"data":{"name":"John Doe","tier":"gold","balance":150.0},"status":"active"}"#;
/// The AWS JSON 1.0 content type of Step Functions, DynamoDB and SQS.
pub const AMZ_JSON: &str = "application/x-amz-json-1.0";
/// The path data-action is pointed at.
pub const UPSTREAM_PATH: &str = "/v1/user-info";

/// Starts a wiremock server on a loopback listener with `TCP_NODELAY`, request recording off.
fn server(http: &Http) -> Result<MockServer, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind a stand-in: {e}"))?;
    socket2::SockRef::from(&listener)
        .set_tcp_nodelay(true)
        .map_err(|e| format!("TCP_NODELAY on a stand-in: {e}"))?;
    Ok(http.block_on(
        MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start(),
    ))
}

/// A Respond that counts its calls and always gives the same answer.
struct Counted {
    calls: Arc<AtomicU64>,
    answer: ResponseTemplate,
}

impl Respond for Counted {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.answer.clone()
    }
}

/// The customer API: `GET /v1/user-info` answers [`UPSTREAM_BODY`].
pub struct Upstream {
    /// The server (stopped on drop).
    pub server: MockServer,
}

impl Upstream {
    /// Starts it.
    pub fn start(http: &Http) -> Result<Upstream, String> {
        let server = server(http)?;
        let answer = ResponseTemplate::new(200).set_body_raw(UPSTREAM_BODY, "application/json");
        http.block_on(
            Mock::given(method("GET"))
                .and(path(UPSTREAM_PATH))
                .respond_with(answer)
                .mount(&server),
        );
        Ok(Upstream { server })
    }

    /// `http://127.0.0.1:<port>/v1/user-info`.
    pub fn url(&self) -> String {
        format!("{}{UPSTREAM_PATH}", self.server.uri())
    }
}

/// What the Step Functions stand-in saw.
#[derive(Default)]
pub struct SfnLog {
    /// Added latency per call, microseconds.
    delay_us: AtomicU64,
    /// When each StartExecution arrived since the last [`StepFunctions::reset`].
    arrivals: Mutex<Vec<Instant>>,
}

struct StartExecution(Arc<SfnLog>);

impl Respond for StartExecution {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let log = &self.0;
        let n = {
            let mut arrivals = log.arrivals.lock().unwrap_or_else(|p| p.into_inner());
            arrivals.push(Instant::now());
            arrivals.len()
        };
        let name = serde_json::from_slice::<serde_json::Value>(&request.body)
            .ok()
            .and_then(|v| v.get("name")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("execution-{n}"));
        let start_date = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let answer = json!({
            "executionArn": format!("arn:aws:states:us-east-1:123456789012:execution:bench:{name}"),
            "startDate": start_date,
        });
        let template = ResponseTemplate::new(200).set_body_raw(answer.to_string(), AMZ_JSON);
        match log.delay_us.load(Ordering::Relaxed) {
            0 => template,
            us => template.set_delay(Duration::from_micros(us)),
        }
    }
}

/// Step Functions (AWS JSON 1.0): `StartExecution` answers `{executionArn, startDate}` after the set
/// delay, which wiremock waits out without blocking other calls.
pub struct StepFunctions {
    /// The server (stopped on drop).
    pub server: MockServer,
    log: Arc<SfnLog>,
}

impl StepFunctions {
    /// Starts it with no delay.
    pub fn start(http: &Http) -> Result<StepFunctions, String> {
        let server = server(http)?;
        let log = Arc::new(SfnLog::default());
        http.block_on(
            Mock::given(method("POST"))
                .and(header("x-amz-target", "AWSStepFunctions.StartExecution"))
                .respond_with(StartExecution(Arc::clone(&log)))
                .mount(&server),
        );
        Ok(StepFunctions { server, log })
    }

    /// Sets the latency added to every call from now on.
    pub fn set_delay(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.log.delay_us.store(us, Ordering::Relaxed);
    }

    /// Forgets the calls seen so far.
    pub fn reset(&self) {
        self.log
            .arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Calls since the last reset.
    pub fn calls(&self) -> usize {
        self.log
            .arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The most calls in flight at once since the last reset: every call is answered `delay` after it
    /// arrives, so the calls in flight when one arrives are those that arrived within `delay` before it.
    pub fn max_in_flight(&self) -> usize {
        let delay = Duration::from_micros(self.log.delay_us.load(Ordering::Relaxed));
        let arrivals = self.log.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        let mut sorted = arrivals.clone();
        sorted.sort();
        let mut best = 0;
        let mut first = 0;
        for (last, at) in sorted.iter().enumerate() {
            while *at - sorted[first] >= delay && first < last {
                first += 1;
            }
            best = best.max(last - first + 1);
        }
        best
    }
}

/// DynamoDB and SQS on one server (AWS JSON 1.0): `UpdateItem` answers `{}` (stored; no condition is
/// evaluated), `SendMessageBatch` answers that nothing failed.
pub struct Aws {
    /// The server (stopped on drop).
    pub server: MockServer,
    /// `UpdateItem` calls answered.
    pub update_items: Arc<AtomicU64>,
    /// `SendMessageBatch` calls answered.
    pub send_batches: Arc<AtomicU64>,
}

impl Aws {
    /// Starts it.
    pub fn start(http: &Http) -> Result<Aws, String> {
        let server = server(http)?;
        let update_items = Arc::new(AtomicU64::new(0));
        let send_batches = Arc::new(AtomicU64::new(0));
        for (target, calls, body) in [
            ("DynamoDB_20120810.UpdateItem", &update_items, "{}"),
            (
                "AmazonSQS.SendMessageBatch",
                &send_batches,
                r#"{"Successful":[],"Failed":[]}"#,
            ),
        ] {
            let answer = ResponseTemplate::new(200).set_body_raw(body, AMZ_JSON);
            http.block_on(
                Mock::given(method("POST"))
                    .and(header("x-amz-target", target))
                    .respond_with(Counted {
                        calls: Arc::clone(calls),
                        answer,
                    })
                    .mount(&server),
            );
        }
        Ok(Aws {
            server,
            update_items,
            send_batches,
        })
    }

    /// A queue URL on this server (SQS's JSON protocol carries it in the body; any URL does).
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/123456789012/{name}", self.server.uri())
    }
}

/// Reads a counter.
pub fn count(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
