//! Loopback stand-ins for what the functions call: the customer API behind data-action, Genesys Cloud
//! (token + analytics) for process, Step Functions for fanout, DynamoDB for save.
//!
//! Each is a small HTTP/1.1 server with one thread per connection and keep-alive, so concurrent calls
//! (fanout's 16 StartExecutions in flight) are answered concurrently and the stand-in is never the
//! bottleneck. Every answer goes out in one write on a `TCP_NODELAY` socket (no Nagle/delayed-ACK
//! stalls). They answer only what the benchmark sends; they are not emulators (the moto run covers save's
//! real conditional write). What each costs on its own is measured by the benchmark and reported.
//!
//! (`tiny_http` was the first choice; its connection pool can leave a connection unserved when many open
//! at once, which fanout's burst of 16 hit, so the stand-ins use this instead.)

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::http1;

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

/// One request as the handlers see it.
struct Request {
    method: String,
    /// The request target, query included.
    target: String,
    head: http1::Head,
    body: Vec<u8>,
}

impl Request {
    /// The path without the query.
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The `X-Amz-Target` header: which AWS JSON operation is called.
    fn amz_target(&self) -> Option<&str> {
        self.head.header("x-amz-target")
    }
}

type Handler = dyn Fn(&Request, &Counters) -> Reply + Send + Sync;

/// A running stand-in; stops accepting on drop (connection threads end when their clients hang up).
pub struct StandIn {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// What it has served.
    pub counters: Arc<Counters>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl StandIn {
    fn start(name: &'static str, handler: Arc<Handler>) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("bind the {name} stand-in on loopback: {e}"));
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let counters = Arc::new(Counters::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (counters, stopping) = (Arc::clone(&counters), Arc::clone(&stopping));
            std::thread::Builder::new()
                .name(format!("{name}-accept"))
                .spawn(move || accept(name, &listener, &handler, &counters, &stopping))
                .expect("spawn a stand-in acceptor")
        };
        StandIn {
            base: format!("http://127.0.0.1:{port}"),
            addr: format!("127.0.0.1:{port}"),
            counters,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// The customer API: `GET /v1/user-info?...` answers [`UPSTREAM_BODY`].
    pub fn upstream() -> StandIn {
        StandIn::start(
            "upstream",
            Arc::new(|request: &Request, _: &Counters| {
                if request.path() == "/v1/user-info" {
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
            Arc::new(move |request: &Request, counters: &Counters| {
                let url = request.path();
                let is_post = request.method == "POST";
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
            Arc::new(|request: &Request, counters: &Counters| {
                if request.amz_target() != Some("AWSStepFunctions.StartExecution") {
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
                Reply::json(200, AMZ_JSON, answer.to_string())
            }),
        )
    }

    /// DynamoDB (AWS JSON 1.0): every `UpdateItem` (save's conditional write) succeeds with `{}` (no condition is
    /// evaluated).
    pub fn dynamodb() -> StandIn {
        StandIn::start(
            "dynamodb",
            Arc::new(|request: &Request, _: &Counters| {
                if request.amz_target() == Some("DynamoDB_20120810.UpdateItem") {
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
        // Wake the blocking accept with one last connection.
        let _ = TcpStream::connect(&self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept(
    name: &'static str,
    listener: &TcpListener,
    handler: &Arc<Handler>,
    counters: &Arc<Counters>,
    stopping: &AtomicBool,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let (handler, counters) = (Arc::clone(handler), Arc::clone(counters));
        let _ = std::thread::Builder::new()
            .name(format!("{name}-conn"))
            .spawn(move || {
                let _ = serve(stream, &*handler, &counters);
            });
    }
}

/// Answers the requests of one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, handler: &Handler, counters: &Counters) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(head) = http1::read_head(&mut reader)? {
        if head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let body = http1::read_body(&mut reader, &head, false)?;
        let mut parts = head.start.split_whitespace();
        let request = Request {
            method: parts.next().unwrap_or_default().to_owned(),
            target: parts.next().unwrap_or_default().to_owned(),
            body,
            head,
        };
        let reply = handler(&request, counters);
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let close = request.head.wants_close();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n",
            reply.status,
            if reply.status < 400 { "OK" } else { "Error" },
            reply.content_type,
            reply.body.len(),
            if close { "Connection: close\r\n" } else { "" },
        )
        .into_bytes();
        out.extend_from_slice(&reply.body);
        writer.write_all(&out)?;
        if close {
            break;
        }
    }
    Ok(())
}
