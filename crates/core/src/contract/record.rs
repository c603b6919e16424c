//! The shapes written to the conversations table: the record of an event (save) and the analytics view (enrich).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ConfigError, Env};
use crate::setting::Setting;

/// The conversations table, written by save and enrich and read by the recent-contact data action.
pub const DYNAMODB_TABLE_NAME: Setting = Setting::required("DYNAMODB_TABLE_NAME")
    .doc("The conversations table (the template's `ConversationsTable`).");

/// `RECORD_TTL_DAYS`, read by both functions that write items (save and enrich).
pub const RECORD_TTL_DAYS: Setting = Setting::whole("RECORD_TTL_DAYS", 0, 0, 36_500)
    .unit("days")
    .parameter("RecordTtlDays")
    .doc("Days after its last event a record expires (DynamoDB TTL on `expiresAt`); 0 keeps records forever.");

/// [`RECORD_TTL_DAYS`]: `None` when records are kept.
pub fn record_ttl_days(env: &dyn Env) -> Result<Option<u32>, ConfigError> {
    Ok(match RECORD_TTL_DAYS.read_whole(env)? {
        0 => None,
        days => Some(days as u32),
    })
}

/// The event-body fields a record takes (Genesys's spelling): the only part of an event body that reaches a
/// record, so the payload budget can bound a record from its event ([`super::budget::record_bound`]).
pub mod body {
    /// The session's media type (`VOICE`, `CHAT`, ...): `mediaType`, lowercased.
    pub const MEDIA_TYPE: &str = "mediaType";
    /// `INBOUND` / `OUTBOUND`: `originatingDirection`, lowercased.
    pub const DIRECTION: &str = "direction";
    /// The division: `divisionIds`.
    pub const DIVISION_ID: &str = "divisionId";
    /// The queue: `queueIds`.
    pub const QUEUE_ID: &str = "queueId";
    /// The agent: `agents[].userId`.
    pub const USER_ID: &str = "userId";
    /// The wrap-up code: `wrapUpCodes`.
    pub const WRAPUP_CODE: &str = "wrapupCode";
    /// All of them.
    pub const ALL: [&str; 6] = [
        MEDIA_TYPE,
        DIRECTION,
        DIVISION_ID,
        QUEUE_ID,
        USER_ID,
        WRAPUP_CODE,
    ];
}

/// An agent who handled the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Genesys user id.
    pub user_id: Option<String>,
    /// Display name, when the analytics details give one.
    #[serde(default)]
    pub name: Option<String>,
}

/// The record process builds from one event and save writes, keyed by `conversationId`.
///
/// The `last*` fields and `correlationId` say which event the item reflects: save writes them only when
/// the event is newer than the stored one. The other fields fill what the item does not have yet; the
/// analytics details (enrich) overwrite them, because they are the conversation's own view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRecord {
    /// Table key.
    pub conversation_id: String,
    /// Lowercase media type (`voice`, `chat`, ...), as the analytics API spells it.
    pub media_type: Option<String>,
    /// `inbound` / `outbound` (an event's session direction until the details say otherwise).
    pub originating_direction: Option<String>,
    /// Divisions.
    #[serde(default)]
    pub division_ids: Vec<String>,
    /// Queues, in first-seen order.
    #[serde(default)]
    pub queue_ids: Vec<String>,
    /// Agents, in first-seen order.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// Wrap-up code ids, in first-seen order.
    #[serde(default)]
    pub wrap_up_codes: Vec<String>,
    /// The topic of the event.
    pub last_event_type: String,
    /// Its `eventTime` (epoch ms): the ordering key of the conditional write.
    pub last_event_time: i64,
    /// Its EventBridge id: the tie-breaker for equal times, and what makes a replay a no-op.
    pub last_event_id: String,
    /// Its Genesys `CorrelationId`.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The customer's key ([`crate::customer::CustomerKeyer::key`] of the event's `ani`, or `dnis` when the
    /// event is outbound): the hash key of the table's `CustomerRecency` index. Only when a customer key is
    /// configured and the event names a customer address; never the address itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_key: Option<String>,
    /// The `eventTime` (epoch ms) of the event that gave [`Self::customer_key`]: the index's range key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_contact_at: Option<i64>,
}

/// What enrich writes from the analytics details of a conversation (enrich's `mapping` builds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrichment {
    /// ISO-8601.
    pub conversation_start: Option<String>,
    /// ISO-8601; null while live.
    pub conversation_end: Option<String>,
    /// End minus start, when both are known.
    pub duration_ms: Option<i64>,
    /// The customer's session media type, lowercase.
    pub media_type: Option<String>,
    /// The conversation's `originatingDirection`.
    pub originating_direction: Option<String>,
    /// Divisions.
    pub division_ids: Vec<String>,
    /// Queues, in first-seen order.
    pub queue_ids: Vec<String>,
    /// Agents (participants with purpose `agent` or `user` and a `userId`), in first-seen order.
    pub agents: Vec<Agent>,
    /// The customer's display name.
    pub customer_participant_name: Option<String>,
    /// Wrap-up code ids, in first-seen order.
    pub wrap_up_codes: Vec<String>,
    /// The details as received, only with `STORE_RAW_DETAILS=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_details: Option<Value>,
}
