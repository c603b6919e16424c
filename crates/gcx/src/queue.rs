//! The few SQS calls gcx makes on a queue: depth, receive (with the attributes the filters need),
//! make visible again, delete. Shared by `redrive` and `status`.

use std::collections::HashMap;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};

use crate::aws::Failure;

/// One received message, with what gcx reads of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The SQS message id (stable across receives).
    pub id: String,
    /// This receive's handle (the latest one is needed to delete or release).
    pub receipt: String,
    /// The body as sent.
    pub body: String,
    /// When it was sent to this queue, epoch ms (the `SentTimestamp` attribute).
    pub sent_ms: Option<i64>,
    /// The `ERROR_CODE` message attribute.
    pub error_code: Option<String>,
}

/// `ApproximateNumberOfMessages*` of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    /// Visible: waiting to be received.
    pub visible: u64,
    /// Received and not yet deleted.
    pub in_flight: u64,
    /// Sent with a delay not over yet.
    pub delayed: u64,
}

/// The queue's depth; also how gcx checks a queue exists and is readable before it works on it.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Depth, Failure> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| Failure::of(&e))?;
    let empty = HashMap::new();
    let attrs = out.attributes().unwrap_or(&empty);
    let get = |name: QueueAttributeName| attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Depth {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// Receives up to `max` (1-10) messages, hiding them for `visibility` seconds. Waits up to one second
/// for the first one: a long poll asks every SQS server, so an empty answer means an empty queue (a
/// short poll may miss messages on a small queue).
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    max: i32,
    visibility: i32,
) -> Result<Vec<Received>, Failure> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max.clamp(1, 10))
        .visibility_timeout(visibility)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
        .message_attribute_names("ERROR_CODE")
        .send()
        .await
        .map_err(|e| Failure::of(&e))?;
    Ok(out
        .messages()
        .iter()
        .filter_map(|m| {
            Some(Received {
                id: m.message_id()?.to_owned(),
                receipt: m.receipt_handle()?.to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                sent_ms: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|v| v.parse().ok()),
                error_code: m
                    .message_attributes()
                    .and_then(|a| a.get("ERROR_CODE"))
                    .and_then(|v| v.string_value())
                    .map(str::to_owned),
            })
        })
        .collect())
}

/// Makes messages visible again at once (visibility 0), 10 per call. Returns how many could not be
/// (they come back by themselves when their visibility timeout ends).
pub async fn release(sqs: &aws_sdk_sqs::Client, url: &str, receipts: &[String]) -> usize {
    let mut failed = 0;
    for chunk in receipts.chunks(10) {
        let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect();
        match sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => failed += out.failed().len(),
            Err(_) => failed += chunk.len(),
        }
    }
    failed
}

/// Deletes one message.
pub async fn delete(sqs: &aws_sdk_sqs::Client, url: &str, receipt: &str) -> Result<(), Failure> {
    sqs.delete_message()
        .queue_url(url)
        .receipt_handle(receipt)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Failure::of(&e))
}
