//! The DynamoDB kernel the writers share (save and enrich): one client configuration, and one reading of
//! what a failed conditional `UpdateItem` means, so the two never disagree on what is retried.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

/// The client with the SDK's standard retry strategy (backoff with jitter on throttling), given a few more
/// attempts than the default before a writer hands retrying back (to the state machine, or the queue).
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let retry = aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(50));
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_config(retry)
            .build(),
    )
}

/// An `UpdateItem` expression with its placeholders, built clause by clause ([`Update::set`]), so the writers
/// (save's record, enrich's view) share one way of naming attributes and values.
#[derive(Debug, Default, PartialEq)]
pub struct Update {
    sets: Vec<String>,
    /// Placeholder → attribute name.
    pub names: HashMap<String, String>,
    /// Placeholder → value.
    pub values: HashMap<String, AttributeValue>,
}

impl Update {
    /// Binds `#name` to `attribute`.
    pub fn name(&mut self, placeholder: &str, attribute: &str) -> &mut Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    /// Binds `:value` to `value`.
    pub fn value(&mut self, placeholder: &str, value: AttributeValue) -> &mut Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// Adds one `SET` clause, written with bound placeholders.
    pub fn set(&mut self, clause: impl Into<String>) -> &mut Self {
        self.sets.push(clause.into());
        self
    }

    /// `#name = :value` (always) or `#name = if_not_exists(#name, :value)` (`only_if_absent`), binding both.
    pub fn assign(
        &mut self,
        (name, attribute): (&str, &str),
        (placeholder, value): (&str, AttributeValue),
        only_if_absent: bool,
    ) -> &mut Self {
        let clause = if only_if_absent {
            format!("{name} = if_not_exists({name}, {placeholder})")
        } else {
            format!("{name} = {placeholder}")
        };
        self.name(name, attribute)
            .value(placeholder, value)
            .set(clause)
    }

    /// The `SET ...` expression.
    pub fn expression(&self) -> String {
        format!("SET {}", self.sets.join(", "))
    }
}

/// Null and empty lists say nothing: writers leave them out, so a later write can still fill them.
pub fn says_nothing(v: &AttributeValue) -> bool {
    match v {
        AttributeValue::Null(_) => true,
        AttributeValue::L(l) => l.is_empty(),
        _ => false,
    }
}

/// What a failed conditional `UpdateItem` means.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateFailure {
    /// The condition did not hold: an answer, not an error. The item as it was, when asked for
    /// (`ReturnValuesOnConditionCheckFailure::AllOld`).
    ConditionFailed(Option<HashMap<String, AttributeValue>>),
    /// Throttling, a 5xx or no answer, after the SDK's retries: worth trying again later.
    Unavailable(String),
    /// This item cannot be written (too large, invalid): another item could be.
    ItemRejected(String),
    /// Every write would fail the same way (missing table, access denied).
    TableRejected(String),
}

/// Whether a DynamoDB error code is throttling (AWS names it three ways).
pub fn throttled(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
        )
    )
}

/// Reads a failed `UpdateItem`.
pub fn update_failure(
    e: SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> UpdateFailure {
    let text = DisplayErrorContext(&e).to_string();
    match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status();
            let error = s.into_err();
            if let UpdateItemError::ConditionalCheckFailedException(c) = error {
                return UpdateFailure::ConditionFailed(c.item);
            }
            let transient = matches!(
                error,
                UpdateItemError::ProvisionedThroughputExceededException(_)
                    | UpdateItemError::RequestLimitExceeded(_)
                    | UpdateItemError::InternalServerError(_)
                    | UpdateItemError::TransactionConflictException(_)
            ) || status.is_server_error()
                || throttled(error.code());
            match error.code() {
                _ if transient => UpdateFailure::Unavailable(text),
                Some("ValidationException" | "ItemCollectionSizeLimitExceededException") => {
                    UpdateFailure::ItemRejected(text)
                }
                _ => UpdateFailure::TableRejected(text),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            UpdateFailure::Unavailable(text)
        }
        _ => UpdateFailure::TableRejected(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_names_its_placeholders_once() {
        let mut u = Update::default();
        u.set("#e = :t")
            .name("#e", "enriched")
            .value(":t", AttributeValue::Bool(true));
        u.assign(
            ("#a0", "queueIds"),
            (":v0", AttributeValue::S("q".into())),
            true,
        );
        assert_eq!(u.expression(), "SET #e = :t, #a0 = if_not_exists(#a0, :v0)");
        assert_eq!((u.names.len(), u.values.len()), (2, 2));
        assert!(
            says_nothing(&AttributeValue::L(vec![]))
                && !says_nothing(&AttributeValue::N("0".into()))
        );
    }

    #[test]
    fn throttling_has_three_names() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert!(throttled(Some(code)), "{code}");
        }
        assert!(!throttled(Some("ValidationException")) && !throttled(None));
    }
}
