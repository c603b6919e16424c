//! A real `moto` server (Step Functions, DynamoDB, SQS) on a free loopback port, for integration tests.
//!
//! The server comes from the project's virtualenv (`make setup` installs `moto[server]` there); set
//! `MOTO_SERVER` to use another binary. A missing server fails the test with the command that installs it:
//! tests never silently skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server, stopped on drop.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn moto_binary() -> PathBuf {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    workspace_root().join(".venv/bin/moto_server")
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

impl MotoServer {
    /// Starts moto and waits until it answers.
    pub fn start() -> Self {
        let bin = moto_binary();
        assert!(
            bin.exists(),
            "moto server not found at {} — run `make setup` (or set MOTO_SERVER)",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let until = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < until,
                "moto did not start listening on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Turns on moto's real state-machine execution. Call before creating state machines: moto drops
    /// the ones created earlier.
    pub fn enable_execution(&self) {
        let port = self.endpoint.rsplit(':').next().unwrap_or_default();
        let body = r#"{"stepfunctions":{"execute_state_machine":true}}"#;
        let request = format!(
            "POST /moto-api/config HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream =
            std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect to moto");
        std::io::Write::write_all(&mut stream, request.as_bytes()).expect("send the moto config");
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).expect("read moto's answer");
        assert!(
            answer.starts_with("HTTP/1.1 20") || answer.starts_with("HTTP/1.0 20"),
            "moto config refused: {answer}"
        );
    }

    /// Environment for a function or SDK client pointed at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
