//! Sending messages to SQS in as few requests as the API allows: `SendMessageBatch`, up to 10 messages
//! and 256 KiB per request, entries the service refused retried once. Used for dead letters (fanout,
//! save, enrich) and enrichment requests (save, enrich).

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

/// Most messages in one `SendMessageBatch`.
const MAX_ENTRIES: usize = 10;
/// Most bytes of bodies in one `SendMessageBatch` (the API's limit is 256 KiB for the whole request).
const MAX_BATCH_BYTES: usize = 250 * 1024;

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The body (JSON).
    pub body: String,
    /// `DelaySeconds` (0–900).
    pub delay_seconds: u32,
    /// String message attributes, e.g. `ERROR_CODE` on a dead letter.
    pub attributes: Vec<(&'static str, String)>,
}

impl Outgoing {
    /// A message with `body`, no delay and no attributes.
    pub fn new(body: String) -> Self {
        Self {
            body,
            delay_seconds: 0,
            attributes: Vec::new(),
        }
    }

    /// The same message, delivered `seconds` later (capped at SQS's 900).
    pub fn delayed(mut self, seconds: u32) -> Self {
        self.delay_seconds = seconds.min(900);
        self
    }

    /// The same message with a string attribute.
    pub fn attribute(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attributes.push((name, value.into()));
        self
    }
}

/// Why some messages were not sent; the caller fails so that its input is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{failed} of {total} messages to {queue} were not sent: {reason}")]
pub struct SendError {
    /// Messages not sent.
    pub failed: usize,
    /// Messages asked for.
    pub total: usize,
    /// The queue URL.
    pub queue: String,
    /// The first failure's text.
    pub reason: String,
    /// Positions (in the caller's list) of the messages not sent.
    pub positions: Vec<usize>,
}

/// Requests made by [`send_all`], for the cost counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Messages sent.
    pub messages: usize,
    /// `SendMessageBatch` requests made.
    pub requests: usize,
}

/// Sends every message to `queue_url`; entries refused once are sent again in one more request.
pub async fn send_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[Outgoing],
) -> Result<Sent, SendError> {
    let mut sent = Sent::default();
    let mut failed: Vec<(usize, String)> = Vec::new();
    for chunk in chunks(messages) {
        let (requests, refused) = send_chunk(sqs, queue_url, messages, &chunk).await;
        sent.requests += requests;
        if refused.is_empty() {
            sent.messages += chunk.len();
            continue;
        }
        // One more try for what was refused (throttling, a transient server error).
        let retry: Vec<usize> = refused.iter().map(|(i, _)| *i).collect();
        let (requests, refused_again) = send_chunk(sqs, queue_url, messages, &retry).await;
        sent.requests += requests;
        sent.messages += chunk.len() - refused_again.len();
        failed.extend(refused_again);
    }
    if failed.is_empty() {
        return Ok(sent);
    }
    Err(SendError {
        failed: failed.len(),
        total: messages.len(),
        queue: queue_url.to_owned(),
        reason: failed[0].1.clone(),
        positions: failed.into_iter().map(|(i, _)| i).collect(),
    })
}

/// Positions of `messages` grouped into requests within the entry and byte limits.
fn chunks(messages: &[Outgoing]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, m) in messages.iter().enumerate() {
        let size = m.body.len()
            + m.attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        match out.last_mut() {
            Some(current) if current.len() < MAX_ENTRIES && bytes + size <= MAX_BATCH_BYTES => {
                current.push(i);
                bytes += size;
            }
            _ => {
                out.push(vec![i]);
                bytes = size;
            }
        }
    }
    out
}

/// Sends one request; returns (requests made, refused positions with the reason).
async fn send_chunk(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[Outgoing],
    positions: &[usize],
) -> (usize, Vec<(usize, String)>) {
    let entries: Vec<SendMessageBatchRequestEntry> = positions
        .iter()
        .filter_map(|&i| entry(i, &messages[i]))
        .collect();
    let result = sqs
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    match result {
        Ok(out) => {
            let refused = out
                .failed
                .iter()
                .filter_map(|f| {
                    let i: usize = f.id.parse().ok()?;
                    Some((
                        i,
                        format!("{}: {}", f.code, f.message.as_deref().unwrap_or("")),
                    ))
                })
                .collect();
            (1, refused)
        }
        Err(e) => {
            let reason = aws_sdk_sqs::error::DisplayErrorContext(&e).to_string();
            (1, positions.iter().map(|&i| (i, reason.clone())).collect())
        }
    }
}

fn entry(i: usize, m: &Outgoing) -> Option<SendMessageBatchRequestEntry> {
    let mut builder = SendMessageBatchRequestEntry::builder()
        .id(i.to_string())
        .message_body(&m.body);
    if m.delay_seconds > 0 {
        builder = builder.delay_seconds(m.delay_seconds as i32);
    }
    for (name, value) in &m.attributes {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .ok()?;
        builder = builder.message_attributes(*name, attribute);
    }
    builder.build().ok()
}

/// The SQS client with the SDK's standard retry strategy and a few more attempts than the default.
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let retry = aws_sdk_sqs::config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(std::time::Duration::from_millis(50));
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(sdk)
            .retry_config(retry)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_count_and_bytes() {
        let small: Vec<Outgoing> = (0..25).map(|i| Outgoing::new(format!("{i}"))).collect();
        let sizes: Vec<usize> = chunks(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let big: Vec<Outgoing> = (0..5)
            .map(|_| Outgoing::new("x".repeat(100 * 1024)))
            .collect();
        let sizes: Vec<usize> = chunks(&big).iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(chunks(&[]).is_empty());
        assert_eq!(
            Outgoing::new(String::new()).delayed(5000).delay_seconds,
            900
        );
    }
}
