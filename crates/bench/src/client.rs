//! A minimal blocking HTTP/1.1 client over one keep-alive loopback connection: enough to create the moto
//! table and to time the stand-ins (and moto) on their own, without an async runtime or another dependency.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::http1;
use crate::measure::{millis, Summary};

/// One keep-alive connection to `addr` (`host:port`), reopened when the server closes it.
pub struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

/// A response: status code and body.
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Conn {
    /// A connection to `addr`, opened on first use.
    pub fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// Sends one request and reads the whole answer; retries once on a fresh connection when a reused one
    /// turns out to be closed.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Reply> {
        let reused = self.stream.is_some();
        match self.try_request(method, path, headers, body) {
            Err(_) if reused => {
                self.stream = None;
                self.try_request(method, path, headers, body)
            }
            other => other,
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Reply> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr)?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().expect("connected just above");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut request = request.into_bytes();
        request.extend_from_slice(body);
        reader.get_mut().write_all(&request)?;

        let head = http1::read_head(reader)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the answer",
            )
        })?;
        let status = head
            .start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not an HTTP status line: {:?}", head.start),
                )
            })?;
        let delimited =
            head.header("content-length").is_some() || head.header("transfer-encoding").is_some();
        let body = http1::read_body(reader, &head, true)?;
        if head.wants_close() || !delimited {
            self.stream = None;
        }
        Ok(Reply { status, body })
    }
}

/// Times `n` identical requests over one keep-alive connection (after one untimed request that opens it):
/// what a stand-in itself costs per call, seen from a client on loopback.
pub fn time_requests(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    n: usize,
) -> Result<Summary, String> {
    let mut conn = Conn::new(addr);
    let mut samples = Vec::with_capacity(n);
    for i in 0..=n {
        let started = Instant::now();
        let reply = conn
            .request(method, path, headers, body)
            .map_err(|e| format!("{method} http://{addr}{path}: {e}"))?;
        let elapsed = started.elapsed();
        if !(200..300).contains(&reply.status) {
            return Err(format!(
                "{method} http://{addr}{path}: status {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ));
        }
        if i > 0 {
            samples.push(millis(elapsed));
        }
    }
    Ok(Summary::of(&samples))
}
