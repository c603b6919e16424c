//! Helpers shared by the data-action integration tests: launching the built binary, checking the output
//! shape and the log lines, arbitrary JSON, and a raw HTTP/1.1 stand-in for what wiremock cannot do
//! (count TCP connections, stream an endless chunked body).
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{json, Value};
use test_support::{FunctionProcess, Invocation};

/// The seven output fields, in contract order.
pub const FIELDS: [&str; 7] = [
    "success",
    "customer_name",
    "customer_tier",
    "customer_balance",
    "account_status",
    "message",
    "error",
];
/// The `error` values the contract allows.
pub const ERRORS: [&str; 7] = [
    "",
    "ValidationError",
    "NotFound",
    "ExternalApiError",
    "ExternalApiTimeout",
    "InvalidExternalResponse",
    "InternalServerError",
];
/// The message every invocation logs exactly once.
pub const LOG_MESSAGE: &str = "invocation";

/// The output schema shipped with the Genesys action.
pub fn output_schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../genesys/data-action/customer-lookup.output.schema.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).expect("the output schema is JSON")
}

/// Starts the built data-action binary with `url` as `EXTERNAL_API_URL` plus `env`.
pub fn start(url: &str, env: &[(&str, &str)]) -> FunctionProcess {
    // The stand-ins speak plain http on loopback.
    let mut all = vec![
        ("EXTERNAL_API_URL", url),
        ("EXTERNAL_API_ALLOW_HTTP", "true"),
    ];
    all.extend_from_slice(env);
    FunctionProcess::start(env!("CARGO_BIN_EXE_data-action"), &all)
}

/// Asserts a successful invocation with exactly the seven fields and returns the body.
pub fn answered(r: &Invocation) -> &Value {
    assert!(r.ok, "the invocation failed: {r:?}");
    let object = r
        .body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {}", r.body));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{}", r.body);
    assert!(
        ERRORS.contains(&r.body["error"].as_str().unwrap_or("?")),
        "{}",
        r.body
    );
    &r.body
}

/// Asserts an answer that is the failure `error` with the default data fields; returns the message.
pub fn failed_with(r: &Invocation, error: &str) -> String {
    let body = answered(r);
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(
        (
            &body["customer_name"],
            &body["customer_tier"],
            &body["customer_balance"],
            &body["account_status"]
        ),
        (
            &json!("Unknown"),
            &json!("standard"),
            &json!(0.0),
            &json!("unknown")
        ),
        "{body}"
    );
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty() && message.len() < 120, "{message}");
    message
}

/// The invocation log lines (parsed) the process wrote so far.
pub fn invocation_lines(f: &FunctionProcess) -> Vec<Value> {
    f.logs()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
        })
        .filter(|line| line["message"] == LOG_MESSAGE)
        .collect()
}

/// The fields of the last invocation line.
pub fn last_line(f: &FunctionProcess) -> Value {
    let lines = invocation_lines(f);
    lines
        .last()
        .cloned()
        .unwrap_or_else(|| panic!("no invocation line in {}", f.logs()))
}

/// A local address where nothing listens (bound, then released).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/v1/user-info")
}

/// Arbitrary JSON values whose keys include the data action's input names.
pub fn arb_json() -> impl Strategy<Value = Value> {
    test_support::arb::json_with_keys(&["customer_id", "locale", "inputs"])
}

/// What the raw stand-in does with one request (given its request head); returns whether to keep
/// the connection open for the next request.
pub type Handler = fn(&str, &mut TcpStream) -> bool;

/// A raw HTTP/1.1 server on loopback that counts accepted TCP connections.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl RawServer {
    /// Starts serving with `handler`; the accept thread lives as long as the test process.
    pub fn start(handler: Handler) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || serve_connection(stream, handler));
            }
        });
        RawServer { addr, accepted }
    }

    /// The upstream URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/v1/user-info", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve_connection(stream: TcpStream, handler: Handler) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push_str(&line),
            }
        }
        if !handler(&head, &mut stream) {
            return;
        }
    }
}

/// Answers the original tutorial's example with a Content-Length body and keeps the connection alive.
pub fn keep_alive_ok(_head: &str, stream: &mut TcpStream) -> bool {
    let body = r#"{"data":{"name":"Keep Alive","tier":"gold","balance":1},"status":"active"}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).is_ok()
}

/// Streams a chunked body that never ends (up to 64 MiB) until the client hangs up.
pub fn endless_chunked(_head: &str, stream: &mut TcpStream) -> bool {
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..1024 {
        let ok = stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_ok()
            && stream.write_all(&chunk).is_ok()
            && stream.write_all(b"\r\n").is_ok();
        if !ok {
            break;
        }
    }
    false
}
