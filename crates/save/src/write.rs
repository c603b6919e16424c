//! One record's conditional write: `UpdateItem` keyed by `conversationId`, only when the stored item is
//! absent or holds an older event by `(lastEventTime, lastEventId)`.
//!
//! The `last*` attributes and `correlationId` always take the record's values (they say which event the
//! item reflects). Every other attribute is only filled where the item has none yet (`if_not_exists`):
//! enrich writes the analytics details over them, and a later event must not wipe those.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use gcx_core::contract::ConversationRecord;
use gcx_core::dynamo::{self, Update, UpdateFailure};

/// Written only if the item has no event yet, or an older one. The placeholders are bound by
/// [`merge_update`]. `attribute_not_exists(#t)` rather than of the key: enrich may have created the item.
pub const NEWER_ONLY: &str = "attribute_not_exists(#t) OR #t < :t OR (#t = :t AND #id < :id)";

/// Attributes every write sets: they say which event the item reflects.
const EVENT_ATTRIBUTES: &[&str] = &[
    "lastEventType",
    "lastEventTime",
    "lastEventId",
    "correlationId",
    "expiresAt",
];

/// The update that stores `item` (a record's attributes, without nulls and empty lists).
pub fn merge_update(item: HashMap<String, AttributeValue>) -> Update {
    let mut update = Update::default();
    update
        .name("#t", "lastEventTime")
        .name("#id", "lastEventId")
        .name("#enriched", "enriched")
        .value(":false", AttributeValue::Bool(false))
        .set("#enriched = if_not_exists(#enriched, :false)");
    let mut attributes: Vec<(String, AttributeValue)> = item
        .into_iter()
        .filter(|(k, v)| k != "conversationId" && !dynamo::says_nothing(v))
        .collect();
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (attribute, value)) in attributes.into_iter().enumerate() {
        let (name, placeholder) = match attribute.as_str() {
            "lastEventTime" => ("#t".to_owned(), ":t".to_owned()),
            "lastEventId" => ("#id".to_owned(), ":id".to_owned()),
            _ => (format!("#a{i}"), format!(":v{i}")),
        };
        let only_if_absent = !EVENT_ATTRIBUTES.contains(&attribute.as_str());
        update.assign((&name, &attribute), (&placeholder, value), only_if_absent);
    }
    update
}

/// The one record that stands for all the records of one conversation in a batch (`oldest_first`, ordered by
/// `(lastEventTime, lastEventId)`): the newest's event attributes, and for every attribute that only fills gaps,
/// the first value in event order, as writing them one by one would have left it. One conditional write instead
/// of one per event: only the newest event can win the item anyway, and a refused write costs as much as an
/// accepted one.
pub fn coalesce(oldest_first: &[&ConversationRecord]) -> Option<ConversationRecord> {
    // Field by field on the records' JSON, with the rule `merge_update` writes by, so that a new record field
    // needs no change here: event attributes (and the key) from the newest, every other attribute from the
    // first record that has it.
    let maps: Vec<serde_json::Map<String, serde_json::Value>> = oldest_first
        .iter()
        .filter_map(|r| match serde_json::to_value(r) {
            Ok(serde_json::Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect();
    let mut merged = maps.last()?.clone();
    let keys: std::collections::BTreeSet<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    for key in keys {
        if key == "conversationId" || EVENT_ATTRIBUTES.contains(&key.as_str()) {
            continue;
        }
        let filled = maps
            .iter()
            .find_map(|m| m.get(key).filter(|v| !says_nothing(v)));
        match filled {
            Some(value) => merged.insert(key.clone(), value.clone()),
            None => merged.remove(key),
        };
    }
    serde_json::from_value(serde_json::Value::Object(merged)).ok()
}

/// Null and empty lists say nothing (as [`dynamo::says_nothing`] for the item).
fn says_nothing(v: &serde_json::Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

/// What the write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The record is now the item's newest event.
    Stored,
    /// The item holds a newer event: nothing written.
    Stale,
    /// The item holds this very event: nothing written.
    Duplicate,
}

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// Throttling or a transient failure after the SDK's retries: the batch is retried.
    Unavailable(String),
    /// Every write would fail the same way (missing table, access denied): the batch fails whole.
    TableRejected(String),
    /// This item cannot be written (too large, invalid): its event is dead-lettered.
    ItemRejected(String),
}

/// Writes `record` to `table`, with `expiresAt` when given.
pub async fn write(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    record: &ConversationRecord,
    expires_at: Option<u64>,
) -> Result<Written, WriteError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record)
        .map_err(|e| WriteError::ItemRejected(format!("the record cannot be stored: {e}")))?;
    if let Some(at) = expires_at {
        item.insert("expiresAt".into(), AttributeValue::N(at.to_string()));
    }
    let update = merge_update(item);
    let result = dynamo
        .update_item()
        .table_name(table)
        .key(
            "conversationId",
            AttributeValue::S(record.conversation_id.clone()),
        )
        .update_expression(update.expression())
        .set_expression_attribute_names(Some(update.names))
        .set_expression_attribute_values(Some(update.values))
        .condition_expression(NEWER_ONLY)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    tracing::debug!(conversation_ref = %gcx_core::redact::pii_ref(&record.conversation_id), ok = result.is_ok(), "UpdateItem");
    let failure = match result {
        Ok(_) => return Ok(Written::Stored),
        Err(e) => dynamo::update_failure(e),
    };
    match failure {
        UpdateFailure::ConditionFailed(old) => {
            let stored_id = old
                .as_ref()
                .and_then(|i| i.get("lastEventId"))
                .and_then(|v| v.as_s().ok());
            Ok(
                if stored_id.map(String::as_str) == Some(record.last_event_id.as_str()) {
                    Written::Duplicate
                } else {
                    Written::Stale
                },
            )
        }
        UpdateFailure::Unavailable(text) => Err(WriteError::Unavailable(text)),
        UpdateFailure::ItemRejected(text) => Err(WriteError::ItemRejected(text)),
        UpdateFailure::TableRejected(text) => Err(WriteError::TableRejected(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, time: i64) -> ConversationRecord {
        ConversationRecord {
            conversation_id: "c".into(),
            last_event_type: format!("type-{id}"),
            last_event_time: time,
            last_event_id: id.into(),
            correlation_id: Some(format!("corr-{id}")),
            ..ConversationRecord::default()
        }
    }

    #[test]
    fn coalescing_takes_the_newest_event_and_the_first_value_of_each_gap() {
        let mut start = record("e1", 1);
        start.media_type = Some("voice".into());
        start.customer_key = Some("k1".into());
        start.customer_contact_at = Some(1);
        let mut acd = record("e2", 2);
        acd.queue_ids = vec!["q1".into()];
        acd.media_type = Some("chat".into());
        let mut user = record("e3", 3);
        user.queue_ids = vec!["q2".into()];
        user.agents = vec![gcx_core::contract::Agent {
            user_id: Some("u".into()),
            name: None,
        }];
        user.customer_key = Some("k2".into());
        user.customer_contact_at = Some(3);
        let merged = coalesce(&[&start, &acd, &user]).unwrap();
        assert_eq!(
            (merged.last_event_id.as_str(), merged.last_event_time),
            ("e3", 3)
        );
        assert_eq!(merged.last_event_type, "type-e3");
        assert_eq!(merged.correlation_id.as_deref(), Some("corr-e3"));
        // Gaps: what writing them one by one, oldest first, with if_not_exists would have left.
        assert_eq!(merged.media_type.as_deref(), Some("voice"));
        assert_eq!(merged.queue_ids, ["q1"]);
        assert_eq!(merged.agents.len(), 1);
        assert_eq!(
            (merged.customer_key.as_deref(), merged.customer_contact_at),
            (Some("k1"), Some(1))
        );
        assert_eq!(coalesce(&[&user]).unwrap(), user);
        assert_eq!(coalesce(&[]), None);
    }

    #[test]
    fn event_attributes_are_set_the_rest_only_fills_gaps_and_empties_are_left_out() {
        let item = HashMap::from([
            ("conversationId".to_owned(), AttributeValue::S("c".into())),
            ("lastEventTime".to_owned(), AttributeValue::N("5".into())),
            ("lastEventId".to_owned(), AttributeValue::S("e".into())),
            (
                "agents".to_owned(),
                AttributeValue::L(vec![AttributeValue::S("a".into())]),
            ),
            ("queueIds".to_owned(), AttributeValue::L(vec![])),
            ("mediaType".to_owned(), AttributeValue::Null(true)),
        ]);
        let u = merge_update(item);
        assert_eq!(
            u.expression(),
            "SET #enriched = if_not_exists(#enriched, :false), #a0 = if_not_exists(#a0, :v0), #id = :id, #t = :t"
        );
        assert_eq!(u.names["#a0"], "agents");
        assert_eq!(u.values[":t"], AttributeValue::N("5".into()));
        assert!(!u
            .names
            .values()
            .any(|n| n == "queueIds" || n == "mediaType" || n == "conversationId"));
    }
}
