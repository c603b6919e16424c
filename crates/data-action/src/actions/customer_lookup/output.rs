//! The one output shape every invocation returns, and the mapping from the upstream body into it.
//!
//! Genesys rejects a result that does not match the action's output contract and does not fill in
//! defaults for nulls, so the shape never varies: failures carry the same seven fields with the
//! defaults below. Mapping follows the original Python tutorial (`data.name`, `data.tier`, `data.balance`, top-level `status`).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ActionError;

/// `customer_name` when the upstream has none (the original Python tutorial's default).
pub const DEFAULT_NAME: &str = "Unknown";
/// `customer_tier` when the upstream has none (the original Python tutorial's default).
pub const DEFAULT_TIER: &str = "standard";
/// `customer_balance` when the upstream has none (the original Python tutorial's default).
pub const DEFAULT_BALANCE: f64 = 0.0;
/// `account_status` when the upstream has none (the original Python tutorial's default).
pub const DEFAULT_STATUS: &str = "unknown";

/// The flat object returned to Genesys: exactly these seven fields, always (output contract). The
/// `schemars` texts are the published contract's: they do not change.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(
    title = "Customer lookup result",
    description = "Every response has all seven fields, whatever the outcome. A business failure is success=false with error and message set.",
    deny_unknown_fields
)]
pub struct Output {
    /// `true` only when customer data was found and read.
    #[schemars(
        description = "true when the customer was found and the upstream answer was usable"
    )]
    pub success: bool,
    /// `data.name`, or [`DEFAULT_NAME`].
    #[schemars(description = "customer name; Unknown when not found or success is false")]
    pub customer_name: String,
    /// `data.tier`, or [`DEFAULT_TIER`].
    #[schemars(
        description = "customer tier (e.g. gold); standard when missing or success is false"
    )]
    pub customer_tier: String,
    /// `data.balance` (a number or a numeric string), or [`DEFAULT_BALANCE`].
    #[schemars(description = "account balance; 0 when missing or success is false")]
    pub customer_balance: f64,
    /// Top-level `status`, or [`DEFAULT_STATUS`].
    #[schemars(description = "upstream account status; unknown when missing or success is false")]
    pub account_status: String,
    /// Empty on success; else a short sentence safe to show or say.
    #[schemars(description = "human-readable outcome, safe to log or play back")]
    pub message: String,
    /// Empty on success; else the stable error name ([`ActionError::name`]).
    #[schemars(
        description = "empty on success, else one of ValidationError, NotFound, ExternalApiError, ExternalApiTimeout, InvalidExternalResponse, InternalServerError"
    )]
    pub error: String,
}

impl Output {
    /// The answer for a failed lookup: defaults in the data fields, so the shape is identical.
    pub fn failure(error: &ActionError) -> Output {
        Output {
            success: false,
            customer_name: DEFAULT_NAME.to_owned(),
            customer_tier: DEFAULT_TIER.to_owned(),
            customer_balance: DEFAULT_BALANCE,
            account_status: DEFAULT_STATUS.to_owned(),
            message: error.message().to_owned(),
            error: error.name().to_owned(),
        }
    }

    /// Maps a 2xx upstream body. Missing or null fields take the defaults; text fields also accept a
    /// number or bool (its JSON text); anything else, or a body without a `data` object, is
    /// [`ActionError::InvalidExternalResponse`].
    pub fn from_upstream(body: &[u8]) -> Result<Output, ActionError> {
        let invalid = ActionError::InvalidExternalResponse;
        let value: Value = serde_json::from_slice(body).map_err(|_| invalid("body is not JSON"))?;
        let Value::Object(top) = value else {
            return Err(invalid("body is not a JSON object"));
        };
        let Some(Value::Object(data)) = top.get("data") else {
            return Err(invalid("body has no data object"));
        };
        Ok(Output {
            success: true,
            customer_name: text(data, "name", DEFAULT_NAME)
                .ok_or(invalid("data.name is not text"))?,
            customer_tier: text(data, "tier", DEFAULT_TIER)
                .ok_or(invalid("data.tier is not text"))?,
            customer_balance: balance(data.get("balance"))
                .ok_or(invalid("data.balance is not a number"))?,
            account_status: text(&top, "status", DEFAULT_STATUS)
                .ok_or(invalid("status is not text"))?,
            message: String::new(),
            error: String::new(),
        })
    }
}

/// A text field: a string as is, a number or bool as its JSON text, missing/null as `default`;
/// `None` for an array or object.
fn text(object: &Map<String, Value>, key: &str, default: &str) -> Option<String> {
    match object.get(key) {
        None | Some(Value::Null) => Some(default.to_owned()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Some(scalar.to_string()),
        Some(Value::Array(_) | Value::Object(_)) => None,
    }
}

/// The balance: a number, or a string holding a finite decimal number (`"150.00"`); missing/null is
/// [`DEFAULT_BALANCE`]; `None` for anything else, including `"NaN"` and `"inf"`.
fn balance(value: Option<&Value>) -> Option<f64> {
    let n = match value {
        None | Some(Value::Null) => return Some(DEFAULT_BALANCE),
        Some(Value::Number(n)) => n.as_f64()?,
        // Rust also parses "inf" and "NaN"; the finiteness check below rejects them.
        Some(Value::String(s)) => s.trim().parse::<f64>().ok()?,
        Some(_) => return None,
    };
    n.is_finite().then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn map(body: Value) -> Result<Output, ActionError> {
        Output::from_upstream(body.to_string().as_bytes())
    }

    #[test]
    fn maps_the_tutorial_example() {
        let out = map(json!({"data": {"name": "John Doe", "tier": "gold", "balance": 150.00}, "status": "active"})).unwrap();
        assert_eq!(
            out,
            Output {
                success: true,
                customer_name: "John Doe".into(),
                customer_tier: "gold".into(),
                customer_balance: 150.0,
                account_status: "active".into(),
                message: String::new(),
                error: String::new(),
            }
        );
    }

    #[test]
    fn missing_and_null_fields_take_the_defaults() {
        for body in [
            json!({"data": {}}),
            json!({"data": {"name": null, "tier": null, "balance": null}, "status": null}),
        ] {
            let out = map(body).unwrap();
            assert!(out.success);
            assert_eq!(
                (
                    out.customer_name.as_str(),
                    out.customer_tier.as_str(),
                    out.customer_balance,
                    out.account_status.as_str()
                ),
                (DEFAULT_NAME, DEFAULT_TIER, DEFAULT_BALANCE, DEFAULT_STATUS)
            );
        }
    }

    #[test]
    fn balances_may_be_numeric_strings() {
        for (raw, expected) in [
            (json!("150.00"), 150.0),
            (json!(" -3.5 "), -3.5),
            (json!("1e3"), 1000.0),
            (json!(42), 42.0),
        ] {
            assert_eq!(
                map(json!({"data": {"balance": raw}}))
                    .unwrap()
                    .customer_balance,
                expected
            );
        }
    }

    #[test]
    fn bad_balances_are_invalid_responses() {
        for raw in [
            json!("abc"),
            json!(""),
            json!("NaN"),
            json!("inf"),
            json!("-infinity"),
            json!("1e999"),
            json!(true),
            json!({}),
            json!([1]),
        ] {
            let err = map(json!({"data": {"balance": raw}})).unwrap_err();
            assert_eq!(err.name(), "InvalidExternalResponse", "{raw}");
        }
    }

    #[test]
    fn scalars_in_text_fields_become_text_and_structures_are_invalid() {
        let out = map(json!({"data": {"name": 7, "tier": true}, "status": 1.5})).unwrap();
        assert_eq!(
            (
                out.customer_name.as_str(),
                out.customer_tier.as_str(),
                out.account_status.as_str()
            ),
            ("7", "true", "1.5")
        );
        assert!(map(json!({"data": {"name": ["a"]}})).is_err());
        assert!(map(json!({"data": {}, "status": {"a": 1}})).is_err());
    }

    #[test]
    fn bodies_without_a_data_object_are_invalid() {
        for body in [
            "not json",
            "[]",
            "\"x\"",
            "null",
            "{}",
            r#"{"data": null}"#,
            r#"{"data": [1]}"#,
            r#"{"data": "x"}"#,
            "",
        ] {
            let err = Output::from_upstream(body.as_bytes()).unwrap_err();
            assert_eq!(err.name(), "InvalidExternalResponse", "{body}");
        }
    }

    #[test]
    fn failures_have_the_same_shape_with_defaults() {
        for error in ActionError::EXAMPLES {
            let out = serde_json::to_value(Output::failure(&error)).unwrap();
            let keys: Vec<&str> = out
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys.len(), 7);
            assert_eq!(out["success"], false);
            assert_eq!(out["error"], error.name());
            assert_eq!(out["customer_name"], DEFAULT_NAME);
            assert_eq!(out["customer_balance"], 0.0);
            assert!(!out["message"].as_str().unwrap().is_empty());
        }
    }

    proptest! {
        #[test]
        fn any_numeric_balance_string_round_trips(x in -1e12f64..1e12) {
            let out = map(json!({"data": {"balance": x.to_string()}})).unwrap();
            prop_assert_eq!(out.customer_balance, x);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(out) = Output::from_upstream(&body) {
                prop_assert!(out.success && out.customer_balance.is_finite());
            }
        }
    }
}
