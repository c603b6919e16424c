//! Just enough HTTP/1.1 framing for the stand-ins and the timing client: a message head (start line and
//! headers) and a body by `Content-Length` or chunked. Loopback-only test plumbing, not a general parser.

use std::io::{self, BufRead};

/// A request or status line and its headers.
pub struct Head {
    /// `GET /path HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start: String,
    /// Header names and values as received.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the sender asked to close the connection after this message.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    fn content_length(&self) -> Option<usize> {
        self.header("content-length")?.parse().ok()
    }
}

/// Reads a message head; `None` when the peer closed the connection before sending one.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start = String::new();
    if reader.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Ok(Some(Head {
        start: start.trim_end().to_owned(),
        headers,
    }))
}

/// Reads the body `head` announces. Without a length or chunking, a request has none and a response
/// runs to the end of the connection (`to_eof`).
pub fn read_body(reader: &mut impl BufRead, head: &Head, to_eof: bool) -> io::Result<Vec<u8>> {
    if head.chunked() {
        return read_chunked(reader);
    }
    if let Some(n) = head.content_length() {
        let mut body = vec![0; n];
        reader.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if to_eof {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let size = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size {line:?}: {e}"),
            )
        })?;
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-message",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_bodies_by_length_and_chunks() {
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nX-Amz-Target: A.B\r\n\r\nabc\
                    HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=1\r\nllo\r\n0\r\n\r\n";
        let mut reader = io::BufReader::new(&raw[..]);
        let head = read_head(&mut reader).unwrap().unwrap();
        assert_eq!(head.start, "POST / HTTP/1.1");
        assert_eq!(head.header("x-amz-target"), Some("A.B"));
        assert_eq!(read_body(&mut reader, &head, false).unwrap(), b"abc");
        let head = read_head(&mut reader).unwrap().unwrap();
        assert_eq!(read_body(&mut reader, &head, true).unwrap(), b"hello");
        assert!(read_head(&mut reader).unwrap().is_none());
    }
}
