//! save: writes a conversation record to DynamoDB, newest event wins.
//!
//! The write is a conditional `UpdateItem` that merges ([`merge_update`]): it happens only when no item exists or the stored `(lastEventTime,
//! lastEventId)` is older than the record's. A late redelivery of an older event therefore never overwrites
//! newer data, and replaying the same event is a no-op; both answer `{saved: false, reason}` without
//! failing, because they are expected outcomes of at-least-once delivery, not errors.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use gcx_core::config::{optional, required, ConfigError, Env};
use gcx_core::pipeline::{ConversationRecord, SaveOutcome};
use serde_json::Value;

/// Written only if absent or strictly older by `(lastEventTime, lastEventId)`. The placeholders are
/// bound by [`merge_update`].
pub const NEWER_ONLY: &str = "attribute_not_exists(#pk) OR #t < :t OR (#t = :t AND #id < :id)";

/// Attributes every write sets: they say which event the item reflects.
const EVENT_ATTRIBUTES: &[&str] = &["lastEventType", "lastEventTime", "lastEventId", "expiresAt"];

/// An `UpdateItem` expression with its placeholders.
#[derive(Debug, PartialEq)]
pub struct MergeUpdate {
    /// `SET ...`.
    pub expression: String,
    /// Placeholder → attribute name.
    pub names: HashMap<String, String>,
    /// Placeholder → value.
    pub values: HashMap<String, AttributeValue>,
}

/// The update that stores `item` (the record's attributes) without losing what an earlier event added.
///
/// An enriched record carries the whole analytics view, so it overwrites every attribute. A record built
/// from the event alone sets only the event attributes and fills the others where they are still absent
/// (`if_not_exists`): a newer `attributes` or `flow.end` event must not wipe the agents, queues and
/// durations a `customer.end` enrichment stored.
pub fn merge_update(item: HashMap<String, AttributeValue>, enriched: bool) -> MergeUpdate {
    let mut names = HashMap::from([
        ("#pk".to_owned(), "conversationId".to_owned()),
        ("#t".to_owned(), "lastEventTime".to_owned()),
        ("#id".to_owned(), "lastEventId".to_owned()),
    ]);
    let mut values = HashMap::new();
    let mut sets = Vec::new();
    let mut attributes: Vec<(String, AttributeValue)> = item
        .into_iter()
        .filter(|(k, _)| k != "conversationId")
        .collect();
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (attribute, value)) in attributes.into_iter().enumerate() {
        let (name, placeholder) = match attribute.as_str() {
            "lastEventTime" => ("#t".to_owned(), ":t".to_owned()),
            "lastEventId" => ("#id".to_owned(), ":id".to_owned()),
            _ => (format!("#a{i}"), format!(":v{i}")),
        };
        if enriched || EVENT_ATTRIBUTES.contains(&attribute.as_str()) {
            sets.push(format!("{name} = {placeholder}"));
        } else {
            sets.push(format!("{name} = if_not_exists({name}, {placeholder})"));
        }
        names.insert(name, attribute);
        values.insert(placeholder, value);
    }
    MergeUpdate {
        expression: format!("SET {}", sets.join(", ")),
        names,
        values,
    }
}

/// Settings read once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `DYNAMODB_TABLE_NAME`.
    pub table: String,
    /// `RECORD_TTL_DAYS`: adds `expiresAt` (epoch seconds) for DynamoDB TTL.
    pub ttl_days: Option<u32>,
}

impl Settings {
    /// Reads `DYNAMODB_TABLE_NAME` and `RECORD_TTL_DAYS`.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let table = required(env, "DYNAMODB_TABLE_NAME")?;
        let ttl_days = match optional(env, "RECORD_TTL_DAYS") {
            None => None,
            Some(raw) => match raw.parse::<u32>() {
                Ok(0) => None,
                Ok(d) if d <= 36_500 => Some(d),
                _ => {
                    return Err(ConfigError::new(
                        "RECORD_TTL_DAYS",
                        format!(
                            "must be a whole number of days from 0 (off) to 36500, got {raw:?}"
                        ),
                    ))
                }
            },
        };
        Ok(Self { table, ttl_days })
    }
}

/// Why save failed; the Lambda `error_type` is the stable name.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Throttling or a transient DynamoDB failure that outlived the SDK's retries. Retried by the state machine.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// DynamoDB rejected the write for a reason retrying will not fix (missing table, bad item, access denied).
    #[error("DynamoDB rejected the write: {0}")]
    Rejected(String),
    /// The state has no valid `record`.
    #[error("{0}")]
    InvalidInput(String),
}

impl SaveError {
    /// Every name [`SaveError::name`] can return, for coverage checks against the state machine.
    pub const NAMES: [&'static str; 3] = [
        "Store.Unavailable",
        "Store.Rejected",
        "Pipeline.InvalidInput",
    ];

    /// The stable name used as the Lambda `error_type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "Store.Unavailable",
            Self::Rejected(_) => "Store.Rejected",
            Self::InvalidInput(_) => "Pipeline.InvalidInput",
        }
    }
}

impl From<SaveError> for lambda_runtime::Diagnostic {
    fn from(e: SaveError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().into(),
            error_message: e.to_string(),
        }
    }
}

/// The function's state, built once at init. Cheap to clone.
#[derive(Clone)]
pub struct Save {
    /// DynamoDB client.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// Settings.
    pub settings: std::sync::Arc<Settings>,
}

/// The DynamoDB client with the SDK's standard retry strategy (backoff with jitter on throttling), given a
/// few more attempts than the default before `Store.Unavailable` hands retrying to the state machine.
pub fn dynamo_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let retry = aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(50));
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_config(retry)
            .build(),
    )
}

impl Save {
    /// Stores `state.record` unless the table already holds the same or a newer event.
    pub async fn handle(&self, mut state: Value) -> Result<SaveOutcome, SaveError> {
        let record = state.get_mut("record").map(Value::take).ok_or_else(|| {
            SaveError::InvalidInput("the state has no record (process's output at $.record)".into())
        })?;
        let record: ConversationRecord = serde_json::from_value(record).map_err(|e| {
            SaveError::InvalidInput(format!("$.record is not a conversation record: {e}"))
        })?;
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&record)
            .map_err(|e| SaveError::InvalidInput(format!("$.record cannot be stored: {e}")))?;
        if let Some(days) = self.settings.ttl_days {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            item.insert(
                "expiresAt".into(),
                AttributeValue::N((now + u64::from(days) * 86_400).to_string()),
            );
        }
        let update = merge_update(item, record.enriched);
        let result = self
            .dynamo
            .update_item()
            .table_name(&self.settings.table)
            .key(
                "conversationId",
                AttributeValue::S(record.conversation_id.clone()),
            )
            .update_expression(update.expression)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .condition_expression(NEWER_ONLY)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(SaveOutcome {
                saved: true,
                reason: "stored".into(),
            }),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                let stored_id = match e.err() {
                    UpdateItemError::ConditionalCheckFailedException(c) => c
                        .item
                        .as_ref()
                        .and_then(|i| i.get("lastEventId"))
                        .and_then(|v| v.as_s().ok())
                        .cloned(),
                    _ => None,
                };
                let reason = if stored_id.as_deref() == Some(record.last_event_id.as_str()) {
                    "duplicate: event already stored"
                } else {
                    "stale: stored event is newer"
                };
                Ok(SaveOutcome {
                    saved: false,
                    reason: reason.into(),
                })
            }
            Err(e) => Err(classify(e)),
        }
    }
}

fn classify(
    e: SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> SaveError {
    let transient = match &e {
        SdkError::ServiceError(s) => {
            matches!(
                s.err(),
                UpdateItemError::ProvisionedThroughputExceededException(_)
                    | UpdateItemError::RequestLimitExceeded(_)
                    | UpdateItemError::InternalServerError(_)
                    | UpdateItemError::TransactionConflictException(_)
            ) || s.raw().status().is_server_error()
                || matches!(
                    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(s.err()),
                    Some("ThrottlingException")
                )
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    let text = DisplayErrorContext(&e).to_string();
    if transient {
        SaveError::Unavailable(text)
    } else {
        SaveError::Rejected(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_only_records_fill_gaps_and_enriched_records_overwrite() {
        let item = HashMap::from([
            ("conversationId".to_owned(), AttributeValue::S("c".into())),
            ("lastEventTime".to_owned(), AttributeValue::N("5".into())),
            ("lastEventId".to_owned(), AttributeValue::S("e".into())),
            ("agents".to_owned(), AttributeValue::L(vec![])),
        ]);
        let plain = merge_update(item.clone(), false);
        assert_eq!(
            plain.expression,
            "SET #a0 = if_not_exists(#a0, :v0), #id = :id, #t = :t"
        );
        assert_eq!(plain.names["#a0"], "agents");
        assert_eq!(plain.values[":t"], AttributeValue::N("5".into()));
        assert!(!plain.values.contains_key(":v1"), "the key is never SET");
        let enriched = merge_update(item, true);
        assert_eq!(enriched.expression, "SET #a0 = :v0, #id = :id, #t = :t");
    }

    #[test]
    fn settings() {
        let s =
            Settings::from_env(&[("DYNAMODB_TABLE_NAME", "t"), ("RECORD_TTL_DAYS", "30")]).unwrap();
        assert_eq!(
            s,
            Settings {
                table: "t".into(),
                ttl_days: Some(30)
            }
        );
        assert_eq!(
            Settings::from_env(&[("DYNAMODB_TABLE_NAME", "t"), ("RECORD_TTL_DAYS", "0")])
                .unwrap()
                .ttl_days,
            None
        );
        assert_eq!(
            Settings::from_env(&[("X", "")]).unwrap_err().variable,
            "DYNAMODB_TABLE_NAME"
        );
        assert_eq!(
            Settings::from_env(&[("DYNAMODB_TABLE_NAME", "t"), ("RECORD_TTL_DAYS", "-1")])
                .unwrap_err()
                .variable,
            "RECORD_TTL_DAYS"
        );
    }
}
