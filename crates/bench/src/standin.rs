//! Loopback stand-ins for what the functions call: the customer API behind data-action, Genesys Cloud
//! (token + analytics) for process, Step Functions for fanout, DynamoDB for save.
//!
//! Each is a `tiny_http` server drained by a fixed pool of worker threads, so concurrent calls (fanout's 16
//! StartExecutions in flight) are answered concurrently and the stand-in is never the bottleneck. They
//! answer only what the benchmark sends; they are not emulators (the moto run covers save's real
//! conditional write). What each costs on its own is measured by the benchmark and reported.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

/// The customer API's answer for every customer (the shape `docs/contracts.md` gives for the upstream).
pub const UPSTREAM_BODY: &str =
    r#"{"data":{"name":"John Doe","tier":"gold","balance":150.0},"status":"active"}"#;
/// The access token the Genesys stand-in hands out (valid for a day, so one per container).
pub const TOKEN_BODY: &str =
    r#"{"access_token":"bench-access-token","token_type":"bearer","expires_in":86400}"#;
/// The AWS JSON 1.0 content type of Step Functions and DynamoDB.
pub const AMZ_JSON: &str = "application/x-amz-json-1.0";

/// Counters a stand-in keeps while it serves.
#[derive(Default)]
pub struct Counters {
    /// Every request answered.
    pub requests: AtomicU64,
    /// `POST /oauth/token` requests (Genesys stand-in).
    pub token_requests: AtomicU64,
    /// `StartExecution` calls (Step Functions stand-in).
    pub start_executions: AtomicU64,
    /// Calls being answered right now (Step Functions stand-in).
    pub in_flight: AtomicU64,
    /// The most calls ever in flight at once since the last [`StandIn::reset_peak`].
    pub max_in_flight: AtomicU64,
    /// Added latency per Step Functions call, in microseconds.
    pub delay_us: AtomicU64,
}

/// What a handler answers.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type,
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&mut tiny_http::Request, &Counters) -> Reply + Send + Sync;

/// A running stand-in; stops (and joins its workers) on drop.
pub struct StandIn {
    /// What it stands in for, for progress output.
    pub name: &'static str,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// What it has served.
    pub counters: Arc<Counters>,
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl StandIn {
    fn start(name: &'static str, workers: usize, handler: Arc<Handler>) -> StandIn {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("bind the {name} stand-in on loopback: {e}")),
        );
        let port = server
            .server_addr()
            .to_ip()
            .expect("a TCP listener")
            .port();
        let counters = Arc::new(Counters::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|i| {
                let (server, counters, stopping, handler) = (
                    Arc::clone(&server),
                    Arc::clone(&counters),
                    Arc::clone(&stopping),
                    Arc::clone(&handler),
                );
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || serve(&server, &counters, &stopping, &*handler))
                    .expect("spawn a stand-in worker")
            })
            .collect();
        StandIn {
            name,
            base: format!("http://127.0.0.1:{port}"),
            addr: format!("127.0.0.1:{port}"),
            counters,
            server,
            stopping,
            workers,
        }
    }

    /// The customer API: `GET /v1/user-info?...` answers [`UPSTREAM_BODY`].
    pub fn upstream() -> StandIn {
        StandIn::start(
            "upstream",
            4,
            Arc::new(|request: &mut tiny_http::Request, _: &Counters| {
                if request.url().starts_with("/v1/user-info") {
                    Reply::json(200, "application/json", UPSTREAM_BODY)
                } else {
                    Reply::json(404, "application/json", r#"{"message":"not found"}"#)
                }
            }),
        )
    }

    /// Genesys Cloud: `POST /oauth/token` (counted) and
    /// `GET /api/v2/analytics/conversations/{id}/details` answering `details`.
    pub fn genesys(details: Vec<u8>) -> StandIn {
        StandIn::start(
            "genesys",
            4,
            Arc::new(move |request: &mut tiny_http::Request, counters: &Counters| {
                drain(request);
                let url = request.url().split('?').next().unwrap_or_default();
                let is_post = *request.method() == tiny_http::Method::Post;
                if is_post && url == "/oauth/token" {
                    counters.token_requests.fetch_add(1, Ordering::Relaxed);
                    Reply::json(200, "application/json", TOKEN_BODY)
                } else if url.starts_with("/api/v2/analytics/conversations/")
                    && url.ends_with("/details")
                {
                    Reply::json(200, "application/json", details.clone())
                } else {
                    Reply::json(404, "application/json", r#"{"code":"not.found"}"#)
                }
            }),
        )
    }

    /// Step Functions (AWS JSON 1.0): `StartExecution` answers after the configured delay
    /// ([`StandIn::set_delay`]); in-flight calls are tracked.
    pub fn step_functions() -> StandIn {
        StandIn::start(
            "step-functions",
            64,
            Arc::new(|request: &mut tiny_http::Request, counters: &Counters| {
                let body = drain(request);
                if target(request).as_deref() != Some("AWSStepFunctions.StartExecution") {
                    return Reply::json(
                        400,
                        AMZ_JSON,
                        r#"{"__type":"UnknownOperationException","message":"bench stand-in"}"#,
                    );
                }
                let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
                let delay = counters.delay_us.load(Ordering::Relaxed);
                if delay > 0 {
                    std::thread::sleep(Duration::from_micros(delay));
                }
                let n = counters.start_executions.fetch_add(1, Ordering::Relaxed);
                counters.in_flight.fetch_sub(1, Ordering::SeqCst);
                let name = serde_json::from_slice::<serde_json::Value>(&body)
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
                Reply::json(200, AMZ_JSON, answer.to_string())
            }),
        )
    }

    /// DynamoDB (AWS JSON 1.0): every `PutItem` succeeds with `{}` (no condition is evaluated).
    pub fn dynamodb() -> StandIn {
        StandIn::start(
            "dynamodb",
            4,
            Arc::new(|request: &mut tiny_http::Request, _: &Counters| {
                drain(request);
                if target(request).as_deref() == Some("DynamoDB_20120810.PutItem") {
                    Reply::json(200, AMZ_JSON, "{}")
                } else {
                    Reply::json(
                        400,
                        AMZ_JSON,
                        r#"{"__type":"com.amazonaws.dynamodb.v20120810#UnknownOperationException"}"#,
                    )
                }
            }),
        )
    }

    /// Sets the latency added to every Step Functions call.
    pub fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.counters.delay_us.store(micros, Ordering::Relaxed);
    }

    /// Starts a new peak-concurrency window (the peak is read from `counters.max_in_flight`).
    pub fn reset_peak(&self) {
        self.counters.max_in_flight.store(0, Ordering::SeqCst);
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // One unblock wakes exactly one worker blocked in `recv`.
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn serve(server: &tiny_http::Server, counters: &Counters, stopping: &AtomicBool, handler: &Handler) {
    while !stopping.load(Ordering::SeqCst) {
        let Ok(mut request) = server.recv() else {
            break;
        };
        let reply = handler(&mut request, counters);
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let header = tiny_http::Header::from_bytes("Content-Type", reply.content_type)
            .expect("a static header is valid");
        let response = tiny_http::Response::from_data(reply.body)
            .with_status_code(reply.status)
            .with_header(header);
        let _ = request.respond(response);
    }
}

/// Reads the request body (so the connection can carry the next request) and returns it.
fn drain(request: &mut tiny_http::Request) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    body
}

/// The `X-Amz-Target` header: which AWS JSON operation is called.
fn target(request: &tiny_http::Request) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Amz-Target"))
        .map(|h| h.value.as_str().to_owned())
}
