//! The enrichment queue's messages: what save queues for enrich, and enrich re-queues.

use serde::{Deserialize, Serialize};

use super::PipelineEvent;
use crate::setting::Setting;

/// The enrichment queue: save queues requests on it, enrich takes them and hands back what must wait.
pub const ENRICHMENT_QUEUE_URL: Setting = Setting::required("ENRICHMENT_QUEUE_URL")
    .doc("The enrichment queue (`EnrichmentQueue`): save queues requests, enrich re-queues what must wait.");

/// One conversation to enrich, queued by save (and re-queued by enrich while it is not indexed yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichmentRequest {
    /// The conversation.
    pub conversation_id: String,
    /// The event that asked for it.
    pub event_id: String,
    /// Its topic pattern.
    pub event_type: String,
    /// Its `eventTime`.
    pub event_time: i64,
    /// Its Genesys `CorrelationId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The execution that saved the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Retries so far because the conversation was not indexed yet (0 on the first try).
    #[serde(default)]
    pub attempt: u32,
    /// Retries so far because Genesys was unavailable (5xx, timeouts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unavailable: u32,
    /// When the request was first queued, epoch ms (the not-yet-indexed budget counts from here).
    #[serde(default)]
    pub first_queued_at: i64,
}

impl EnrichmentRequest {
    /// The request for `event`, queued at `now_ms`.
    pub fn for_event(event: &PipelineEvent, execution_id: Option<&str>, now_ms: i64) -> Self {
        Self {
            conversation_id: event.conversation_id.clone(),
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            event_time: event.event_time,
            correlation_id: event.correlation_id.clone(),
            execution_id: execution_id.map(str::to_owned),
            attempt: 0,
            unavailable: 0,
            first_queued_at: now_ms,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The body of one enrichment-queue message: many requests, so that one SQS message carries a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichmentMessage {
    /// The requests.
    pub requests: Vec<EnrichmentRequest>,
}
