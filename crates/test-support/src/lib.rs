//! A Lambda Runtime API emulator for integration tests: it spawns a built function binary the way the
//! Lambda service does (`AWS_LAMBDA_RUNTIME_API` plus the usual variables), hands it events through
//! `GET /runtime/invocation/next`, and reports what the function posted back, with timings, memory
//! and everything it printed.
//!
//! Everything here is blocking (plain threads), so it works from `#[test]` and from
//! `#[tokio::test(flavor = "multi_thread")]` alike. It follows the Runtime API as documented by AWS; it does
//! not emulate Lambda's limits (payload sizes, concurrency) or its sandbox reset after a timeout.
//!
//! [`moto`] starts a moto server (Step Functions, DynamoDB, SQS) for functions that call AWS, and [`aws`]
//! gives blocking helpers over it.

#![warn(missing_docs)]

pub mod arb;
pub mod aws;
pub mod moto;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Deadline given to an event by [`FunctionProcess::invoke`].
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15);
/// How long the emulator waits for the function to start polling (init) before giving up.
pub const INIT_WAIT: Duration = Duration::from_secs(10);
/// How long past an event's deadline the emulator still waits for an answer before reporting a timeout.
const DEADLINE_GRACE: Duration = Duration::from_secs(2);
/// How often waiting callers look at whether the process is still alive.
const POLL: Duration = Duration::from_millis(10);
/// The function ARN the emulator hands out with every event.
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:under-test";
/// Variables of the test process passed on to the function; everything else is cleared so that a
/// developer's shell (an `EXTERNAL_API_URL`, `~/.aws` via `HOME`) cannot leak into a test.
const PASSTHROUGH: &[&str] = &[
    "PATH",
    "LANG",
    "TZ",
    "TMPDIR",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "LLVM_PROFILE_FILE",
];

/// Log targets (crate names) of the function crates: their lines must carry the request id.
const PROJECT_TARGETS: &[&str] = &[
    "data_action",
    "fanout",
    "validate",
    "process",
    "save",
    "enrich",
];

/// One spawned function binary speaking the Lambda Runtime API to this emulator.
pub struct FunctionProcess {
    shared: Arc<Shared>,
    child: Mutex<Child>,
    pid: u32,
    spawned_at: Instant,
    log: File,
    server: Arc<tiny_http::Server>,
    server_thread: Option<JoinHandle<()>>,
}

/// What the function answered to one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// `true` when the function posted to `/response`, `false` for `/error` or no answer at all.
    pub ok: bool,
    /// The posted body, parsed as JSON (a JSON string of the raw text when it is not JSON; null if none).
    pub body: serde_json::Value,
    /// `None` on success; else the `errorType` of the error post (or its error-type header), or an
    /// emulator verdict: `Sandbox.Timedout`, `Runtime.ExitError`, the init error's type, `Emulator.NotPolled`.
    pub error_type: Option<String>,
    /// From handing the event out to receiving the answer (from the invoke call when never handed out).
    pub elapsed: Duration,
    /// The `Lambda-Runtime-Aws-Request-Id` the emulator gave the event.
    pub request_id: String,
}

impl FunctionProcess {
    /// Spawns `binary` with the Lambda environment plus `env` (which wins), capturing stdout and stderr.
    pub fn start(binary: &str, env: &[(&str, &str)]) -> FunctionProcess {
        // TCP_NODELAY, as the real Runtime API: tiny_http writes a response over 1 KiB in two parts, and
        // with Nagle on the second waits ~40 ms for the function's delayed ACK. Accepted sockets inherit it.
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the runtime API emulator");
        socket2::SockRef::from(&listener)
            .set_tcp_nodelay(true)
            .expect("TCP_NODELAY on the emulator");
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .expect("start the runtime API emulator"),
        );
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let shared = Arc::new(Shared::default());
        let server_thread = {
            let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
            std::thread::Builder::new()
                .name(format!("runtime-api-{port}"))
                .spawn(move || serve(&server, &shared))
                .expect("spawn the emulator thread")
        };

        let log = tempfile::tempfile().expect("create the log capture file");
        let mut command = Command::new(binary);
        command.env_clear();
        for name in PASSTHROUGH {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/under-test")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (name, value) in env {
            command.env(name, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log.try_clone().expect("clone the log file"));
        let spawned_at = Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {binary}: {e}"));
        FunctionProcess {
            pid: child.id(),
            shared,
            child: Mutex::new(child),
            spawned_at,
            log,
            server,
            server_thread: Some(server_thread),
        }
    }

    /// Invokes the function with `event` and a 15 s deadline.
    pub fn invoke(&self, event: &serde_json::Value) -> Invocation {
        self.invoke_with_deadline(event, DEFAULT_DEADLINE)
    }

    /// Invokes the function with `event`; the deadline header is `deadline` after the event is handed out.
    pub fn invoke_with_deadline(
        &self,
        event: &serde_json::Value,
        deadline: Duration,
    ) -> Invocation {
        let body = serde_json::to_vec(event).expect("a serde_json::Value always serializes");
        self.invoke_raw(&body, deadline)
    }

    /// Invokes the function with arbitrary bytes as the payload (non-JSON or huge payloads).
    pub fn invoke_raw(&self, body: &[u8], deadline: Duration) -> Invocation {
        let id = self.shared.enqueue(body.to_vec(), deadline);
        let invoked_at = Instant::now();
        let mut state = self.shared.lock();
        loop {
            if let Some(result) = state.results.remove(&id) {
                return result;
            }
            let handed_out = state.handed_out.get(&id).copied();
            let verdict: Option<(String, Option<String>)> = match handed_out {
                Some(at) if at.elapsed() > deadline + DEADLINE_GRACE => {
                    Some(("Sandbox.Timedout".into(), None))
                }
                None if state.init_error.is_some() => {
                    let body = state.init_error.clone();
                    let error_type = body.as_deref().and_then(|b| error_type_of(b.as_bytes()));
                    Some((
                        error_type.unwrap_or_else(|| "Runtime.InitError".into()),
                        body,
                    ))
                }
                None if invoked_at.elapsed() > INIT_WAIT => {
                    Some(("Emulator.NotPolled".into(), None))
                }
                _ => None,
            };
            let verdict = verdict.or_else(|| {
                let status = self.exit_status()?;
                Some((
                    "Runtime.ExitError".into(),
                    Some(format!("process exited: {status}")),
                ))
            });
            if let Some((error_type, body)) = verdict {
                state.queue.retain(|q| q.id != id);
                state.handed_out.remove(&id);
                return Invocation {
                    ok: false,
                    body: body.map_or(serde_json::Value::Null, |b| parse_body(b.as_bytes())),
                    error_type: Some(error_type),
                    elapsed: handed_out.unwrap_or(invoked_at).elapsed(),
                    request_id: id,
                };
            }
            state = self.shared.wait(state, POLL);
        }
    }

    /// Time from spawning the process to its first `GET /next` (waits up to 10 s for it); `None` if it
    /// never polled.
    pub fn init_duration(&self) -> Option<Duration> {
        let mut state = self.shared.lock();
        loop {
            if let Some(at) = state.first_next {
                return Some(at.duration_since(self.spawned_at));
            }
            if state.init_error.is_some() || self.spawned_at.elapsed() > INIT_WAIT {
                return None;
            }
            drop(state);
            if self.exit_status().is_some() {
                return None;
            }
            state = self.shared.wait(self.shared.lock(), POLL);
        }
    }

    /// The body posted to `/runtime/init/error`, or the exit status and output if the process exited
    /// before polling; `None` once it polls (waits up to 10 s for one of these).
    pub fn init_error(&self) -> Option<String> {
        let mut state = self.shared.lock();
        loop {
            if let Some(body) = &state.init_error {
                return Some(body.clone());
            }
            if state.first_next.is_some() || self.spawned_at.elapsed() > INIT_WAIT {
                return None;
            }
            drop(state);
            if let Some(status) = self.exit_status() {
                // The process may have posted its error just before exiting; that body wins.
                let state = self.shared.lock();
                if let Some(body) = &state.init_error {
                    return Some(body.clone());
                }
                return Some(format!(
                    "process exited before polling: {status}\n{}",
                    self.logs()
                ));
            }
            state = self.shared.wait(self.shared.lock(), POLL);
        }
    }

    /// Peak resident memory (`VmHWM` from `/proc/<pid>/status`) in KiB, while the process is alive.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Everything the process wrote to stdout and stderr so far (both go to one capture file, so a line
    /// written before the function answered is always there once `invoke` returns).
    pub fn logs(&self) -> String {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.log.read_at(&mut buf, out.len() as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The JSON log lines the function wrote during `invocation` (those carrying its `requestId`).
    pub fn lines_of(&self, invocation: &Invocation) -> Vec<serde_json::Value> {
        self.json_lines()
            .into_iter()
            .filter(|l| l["requestId"] == invocation.request_id.as_str())
            .collect()
    }

    /// Every line of output that is a JSON object.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(serde_json::Value::is_object)
            .collect()
    }

    /// Asserts the shell's contract for logs: the invocation wrote its one `invocation` line, with its
    /// `requestId`, outcome and duration, and every line written while it ran carries that `requestId`.
    pub fn assert_logged_with_request_id(&self, invocation: &Invocation) -> serde_json::Value {
        let mine = self.lines_of(invocation);
        let summary: Vec<&serde_json::Value> = mine
            .iter()
            .filter(|l| l["message"] == "invocation")
            .collect();
        assert_eq!(
            summary.len(),
            1,
            "one invocation line for {}: {}",
            invocation.request_id,
            self.logs()
        );
        let line = summary[0].clone();
        assert!(line["outcome"].is_string(), "{line}");
        assert!(line["durationMs"].is_number(), "{line}");
        // Once the first invocation started, every line of the project's own code carries a request id
        // (the runtime's polling between invocations, at DEBUG, belongs to none).
        let lines = self.json_lines();
        let first = lines
            .iter()
            .position(|l| l.get("requestId").is_some())
            .unwrap_or(lines.len());
        for other in &lines[first..] {
            let target = other["target"].as_str().unwrap_or_default();
            let ours = target.starts_with("gcx_core")
                || PROJECT_TARGETS.iter().any(|t| target.starts_with(t));
            assert!(
                !ours || other["requestId"].is_string(),
                "a line of the project without requestId after the first invocation: {other}"
            );
        }
        line
    }

    /// The process id of the function (for extra `/proc` inspection).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        {
            let mut child = lock(&self.child);
            let _ = child.kill();
            let _ = child.wait();
        }
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.server_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Asserts that an invocation line names exactly the Genesys correlation ids found anywhere in `input`
/// (`correlationId` / `CorrelationId` keys, JSON strings in SQS bodies included), each once.
pub fn assert_line_correlates(line: &serde_json::Value, input: &serde_json::Value) {
    fn walk(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(o) => {
                for (k, v) in o {
                    match (k.as_str(), v) {
                        ("correlationId" | "CorrelationId", serde_json::Value::String(id)) => {
                            out.insert(id.clone());
                        }
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            serde_json::Value::String(s) if s.starts_with('{') => {
                if let Ok(inner) = serde_json::from_str(s) {
                    walk(&inner, out);
                }
            }
            _ => {}
        }
    }
    let mut expected = std::collections::BTreeSet::new();
    walk(input, &mut expected);
    assert!(!expected.is_empty(), "the input carries no correlation id");
    let listed: Vec<String> = line["correlationIds"]
        .as_array()
        .unwrap_or_else(|| panic!("no correlationIds on {line}"))
        .iter()
        .map(|v| v.as_str().expect("ids are strings").to_owned())
        .collect();
    let distinct: std::collections::BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(distinct.len(), listed.len(), "each id once: {line}");
    assert_eq!(distinct, expected, "{line}");
}

/// Where the function binary `name` of this workspace was built: next to the running test executable
/// (`target/<profile>/`), else under `CARGO_TARGET_DIR` or the workspace's `target/`. Inside the binary's
/// own crate prefer `env!("CARGO_BIN_EXE_<name>")`, which also makes cargo build it first.
pub fn binary_path(name: &str) -> PathBuf {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test>-<hash>
        if let Some(dir) = exe.parent().and_then(Path::parent) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let workspace = workspace_root();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join(profile).join(name)
}

/// The workspace root: the nearest ancestor of this crate that holds `Cargo.lock`.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| manifest.parent().and_then(Path::parent).unwrap_or(manifest))
        .to_path_buf()
}

/* ----------------------------------------- emulator ----------------------------------------- */

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
    next_id: AtomicU64,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    handed_out: HashMap<String, Instant>,
    results: HashMap<String, Invocation>,
    first_next: Option<Instant>,
    init_error: Option<String>,
    closed: bool,
}

struct Queued {
    id: String,
    body: Vec<u8>,
    deadline: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>, timeout: Duration) -> MutexGuard<'a, State> {
        match self.changed.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    fn enqueue(&self, body: Vec<u8>, deadline: Duration) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let id = format!(
            "{:08x}-{:04x}-4000-8000-{n:012x}",
            std::process::id(),
            nanos & 0xffff
        );
        self.lock().queue.push_back(Queued {
            id: id.clone(),
            body,
            deadline,
        });
        self.changed.notify_all();
        id
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Accepts Runtime API requests until the process handle is dropped; each request gets a thread
/// because `/next` blocks until an event is queued.
fn serve(server: &tiny_http::Server, shared: &Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        let Ok(request) = server.recv() else { break };
        let shared = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("runtime-api-request".into())
            .spawn(move || route(request, &shared));
    }
}

fn route(mut request: tiny_http::Request, shared: &Shared) {
    let url = request.url().to_owned();
    let path = url.split('?').next().unwrap_or_default();
    let method = request.method().clone();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        (tiny_http::Method::Get, [_, "runtime", "invocation", "next"]) => next(request, shared),
        (tiny_http::Method::Post, [_, "runtime", "init", "error"]) => {
            let body = read_body(&mut request);
            shared.lock().init_error = Some(String::from_utf8_lossy(&body).into_owned());
            shared.changed.notify_all();
            accepted(request);
        }
        (
            tiny_http::Method::Post,
            [_, "runtime", "invocation", id, kind @ ("response" | "error")],
        ) => {
            let received = Instant::now();
            let body = read_body(&mut request);
            let header_type = header(&request, "Lambda-Runtime-Function-Error-Type");
            let ok = *kind == "response";
            let id = (*id).to_owned();
            let mut state = shared.lock();
            if let Some(at) = state.handed_out.remove(&id) {
                let error_type = (!ok).then(|| {
                    error_type_of(&body)
                        .or(header_type)
                        .unwrap_or_else(|| "Unhandled".into())
                });
                let invocation = Invocation {
                    ok,
                    body: parse_body(&body),
                    error_type,
                    elapsed: received.duration_since(at),
                    request_id: id.clone(),
                };
                state.results.insert(id, invocation);
            }
            drop(state);
            shared.changed.notify_all();
            accepted(request);
        }
        _ => {
            let _ = request.respond(tiny_http::Response::empty(404));
        }
    }
}

/// `GET /runtime/invocation/next`: blocks until an event is queued, then hands it out with its headers.
fn next(request: tiny_http::Request, shared: &Shared) {
    let mut state = shared.lock();
    if state.first_next.is_none() {
        state.first_next = Some(Instant::now());
        shared.changed.notify_all();
    }
    let queued = loop {
        if state.closed {
            return;
        }
        if let Some(queued) = state.queue.pop_front() {
            break queued;
        }
        state = shared.wait(state, Duration::from_millis(200));
    };
    state.handed_out.insert(queued.id.clone(), Instant::now());
    drop(state);
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + queued.deadline;
    let response = tiny_http::Response::from_data(queued.body)
        .with_header(h("Content-Type", "application/json"))
        .with_header(h("Lambda-Runtime-Aws-Request-Id", &queued.id))
        .with_header(h(
            "Lambda-Runtime-Deadline-Ms",
            &deadline_ms.as_millis().to_string(),
        ))
        .with_header(h("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN))
        .with_header(h(
            "Lambda-Runtime-Trace-Id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        ));
    let _ = request.respond(response);
}

fn accepted(request: tiny_http::Request) {
    let response = tiny_http::Response::from_string(r#"{"status":"OK"}"#).with_status_code(202);
    let _ = request.respond(response);
}

fn read_body(request: &mut tiny_http::Request) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    body
}

fn header(request: &tiny_http::Request, name: &'static str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_owned())
}

fn h(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid emulator header")
}

fn parse_body(body: &[u8]) -> serde_json::Value {
    if body.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn error_type_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("errorType")?.as_str().map(str::to_owned)
}
