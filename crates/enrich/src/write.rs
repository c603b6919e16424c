//! The enrichment write: the analytics view of a conversation onto its item.
//!
//! Every field the details carry is set (the details are the conversation's own view); a field they lack
//! is left to what the events stored. The write is conditional on `enrichedAt`: a view fetched earlier
//! never replaces one fetched later, so two consumers racing on one conversation cannot regress it. The
//! event attributes (`last*`, `correlationId`) are never touched.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use gcx_core::contract::Enrichment;
use gcx_core::dynamo::{self, Update, UpdateFailure};

/// Newer views only.
pub const NEWER_VIEW_ONLY: &str = "attribute_not_exists(#at) OR #at < :at";

/// The update for `enrichment` fetched at `fetched_at_ms`, with `expiresAt` for an item that has none.
pub fn update(
    enrichment: &Enrichment,
    fetched_at_ms: i64,
    expires_at: Option<u64>,
) -> Result<Update, String> {
    let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(enrichment)
        .map_err(|e| format!("the enrichment cannot be stored: {e}"))?;
    let mut update = Update::default();
    update
        .assign(
            ("#enriched", "enriched"),
            (":true", AttributeValue::Bool(true)),
            false,
        )
        .assign(
            ("#at", "enrichedAt"),
            (":at", AttributeValue::N(fetched_at_ms.to_string())),
            false,
        );
    let mut fields: Vec<(String, AttributeValue)> = item
        .into_iter()
        .filter(|(_, v)| !dynamo::says_nothing(v))
        .collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (name, value)) in fields.into_iter().enumerate() {
        update.assign(
            (&format!("#f{i}"), &name),
            (&format!(":f{i}"), value),
            false,
        );
    }
    if let Some(at) = expires_at {
        update.assign(
            ("#exp", "expiresAt"),
            (":exp", AttributeValue::N(at.to_string())),
            true,
        );
    }
    Ok(update)
}

/// What the write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The view is stored.
    Stored,
    /// A view fetched later is already stored: nothing written.
    Superseded,
}

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// Throttling or a transient failure after the SDK's retries: try again later.
    Unavailable(String),
    /// DynamoDB refuses the write: dead-letter it.
    Rejected(String),
}

/// Writes `enrichment` of `conversation_id`.
pub async fn write(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    conversation_id: &str,
    enrichment: &Enrichment,
    fetched_at_ms: i64,
    expires_at: Option<u64>,
) -> Result<Written, WriteError> {
    let u = update(enrichment, fetched_at_ms, expires_at).map_err(WriteError::Rejected)?;
    let result = dynamo
        .update_item()
        .table_name(table)
        .key(
            "conversationId",
            AttributeValue::S(conversation_id.to_owned()),
        )
        .update_expression(u.expression())
        .set_expression_attribute_names(Some(u.names))
        .set_expression_attribute_values(Some(u.values))
        .condition_expression(NEWER_VIEW_ONLY)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Written::Stored),
        Err(e) => match dynamo::update_failure(e) {
            UpdateFailure::ConditionFailed(_) => Ok(Written::Superseded),
            UpdateFailure::Unavailable(text) => Err(WriteError::Unavailable(text)),
            UpdateFailure::ItemRejected(text) | UpdateFailure::TableRejected(text) => {
                Err(WriteError::Rejected(text))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::contract::Agent;

    #[test]
    fn only_what_the_details_carry_is_set() {
        let e = Enrichment {
            conversation_start: Some("2021-04-01T12:27:53.386Z".into()),
            conversation_end: None,
            duration_ms: None,
            media_type: Some("voice".into()),
            originating_direction: None,
            division_ids: vec![],
            queue_ids: vec!["q".into()],
            agents: vec![Agent {
                user_id: Some("u".into()),
                name: Some("Ann".into()),
            }],
            customer_participant_name: None,
            wrap_up_codes: vec![],
            raw_details: None,
        };
        let u = update(&e, 99, Some(1000)).unwrap();
        let set: Vec<&String> = u.names.values().collect();
        for field in [
            "agents",
            "conversationStart",
            "mediaType",
            "queueIds",
            "enriched",
            "enrichedAt",
            "expiresAt",
        ] {
            assert!(set.iter().any(|n| *n == field), "{field} in {set:?}");
        }
        for field in [
            "conversationEnd",
            "durationMs",
            "originatingDirection",
            "divisionIds",
            "wrapUpCodes",
            "lastEventId",
            // save's: the customer index keys stay as the events stored them.
            "customerKey",
            "customerContactAt",
        ] {
            assert!(
                !set.iter().any(|n| *n == field),
                "{field} must not be written"
            );
        }
        assert_eq!(u.values[":at"], AttributeValue::N("99".into()));
        assert!(u.expression().contains("#exp = if_not_exists(#exp, :exp)"));
        assert!(
            u.expression().starts_with("SET ") && !u.expression().contains("REMOVE"),
            "enrich never removes an attribute: {}",
            u.expression()
        );
    }
}
