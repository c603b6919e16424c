//! A minimal blocking HTTP/1.1 client over one keep-alive loopback connection: enough to create the moto
//! table and to time the stand-ins (and moto) on their own, without an async runtime or another dependency.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::measure::Summary;

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
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        reader.get_mut().write_all(&request)?;

        let mut line = String::new();
        read_line(reader, &mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("not an HTTP status line: {line:?}")))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            read_line(reader, &mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let body = if chunked {
            read_chunked(reader)?
        } else if let Some(n) = length {
            let mut body = vec![0; n];
            reader.read_exact(&mut body)?;
            body
        } else {
            close = true;
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            body
        };
        if close {
            self.stream = None;
        }
        Ok(Reply { status, body })
    }
}

fn read_line(reader: &mut BufReader<TcpStream>, line: &mut String) -> io::Result<()> {
    if reader.read_line(line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(())
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        read_line(reader, &mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|e| bad(format!("bad chunk size {line:?}: {e}")))?;
        if size == 0 {
            line.clear();
            read_line(reader, &mut line)?;
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        read_line(reader, &mut line)?;
    }
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
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
            samples.push(elapsed.as_secs_f64() * 1e3);
        }
    }
    Ok(Summary::of(&samples))
}
