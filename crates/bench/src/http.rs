//! The bench's own HTTP requests: reqwest on a current-thread tokio runtime that this module owns. Used
//! to start the wiremock stand-ins, to talk to the Genesys stand-in's admin API, and to time each
//! stand-in (and moto) on its own. Every call blocks; the rest of the bench is plain threads.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::measure::{millis, Summary};

/// One request to repeat: method, URL, headers and body.
#[derive(Clone)]
pub struct Req {
    /// `GET`, `POST`.
    pub method: reqwest::Method,
    /// The full URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl Req {
    /// A GET of `url`.
    pub fn get(url: impl Into<String>) -> Req {
        Req {
            method: reqwest::Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A POST of `body` to `url`.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Req {
        Req {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// An AWS JSON 1.0 call of `target` (`DynamoDB_20120810.UpdateItem`) with `body`.
    pub fn aws(url: &str, target: &str, body: &Value) -> Req {
        Req::post(url, body.to_string())
            .header("X-Amz-Target", target)
            .header("Content-Type", "application/x-amz-json-1.0")
    }

    /// The same request with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Req {
        self.headers.push((name, value.into()));
        self
    }
}

/// A reqwest client and the runtime it runs on.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    /// A keep-alive client without proxies (everything is on loopback), 30 s timeout per request.
    pub fn new() -> Result<Http, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("a tokio runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        Ok(Http { runtime, client })
    }

    /// Runs `future` to completion on the bench's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Sends `req`; the status and body, or why there is none.
    pub fn send(&self, req: &Req) -> Result<(u16, Vec<u8>), String> {
        self.block_on(async {
            let mut builder = self
                .client
                .request(req.method.clone(), &req.url)
                .body(req.body.clone());
            for (name, value) in &req.headers {
                builder = builder.header(*name, value);
            }
            let response = builder.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            Ok((status, body.to_vec()))
        })
        .map_err(|e: String| format!("{} {}: {e}", req.method, req.url))
    }

    /// Sends `req` and parses a 2xx answer as JSON (null when empty).
    pub fn json(&self, req: &Req) -> Result<Value, String> {
        let (status, body) = self.send(req)?;
        if !(200..300).contains(&status) {
            return Err(format!(
                "{} {}: status {status}: {}",
                req.method,
                req.url,
                String::from_utf8_lossy(&body)
            ));
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{} {}: {e}", req.method, req.url))
    }

    /// Times `n` sends of `req` over one keep-alive connection, after one untimed send that opens it:
    /// what the server costs per call, seen from a client on loopback (the client's own cost included).
    pub fn time(&self, req: &Req, n: usize) -> Result<Summary, String> {
        let mut samples = Vec::with_capacity(n);
        for i in 0..=n {
            let started = Instant::now();
            let (status, body) = self.send(req)?;
            let elapsed = started.elapsed();
            if !(200..300).contains(&status) {
                return Err(format!(
                    "{} {}: status {status}: {}",
                    req.method,
                    req.url,
                    String::from_utf8_lossy(&body)
                ));
            }
            if i > 0 {
                samples.push(millis(elapsed));
            }
        }
        Ok(Summary::of(&samples))
    }
}
