//! Reading and validating the event Genesys sends: the flat input-contract object
//! (`{"customer_id": "12345", "locale": "en-US"}`) or the original Python tutorial's `{"inputs": {...}}` wrapper.
//!
//! Validation happens before any network use, and a rejection never echoes the input: it carries only a
//! reason and the one-way [`pii_ref`] of the id for log correlation.

use gcx_core::redact::pii_ref;
use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::action::fields;
pub use crate::action::Rejected;
use crate::error::InvalidInput;

/// The longest customer id accepted, in characters (after trimming).
pub const MAX_ID_CHARS: usize = 128;
/// The locale used when the event has none (the original Python tutorial's default).
pub const DEFAULT_LOCALE: &str = "en-US";
/// The longest locale accepted (RFC 5646 recommends supporting at least 35 characters).
const MAX_LOCALE_CHARS: usize = 35;

/// A validated lookup: what the upstream is asked for. Its schema is the action's input contract (the
/// `schemars` texts are what Genesys shows; they are part of the published contract, so they do not change).
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(
    title = "Customer lookup request",
    description = "The request template passes this object to the Lambda unchanged: it is the Lambda event.",
    extend("additionalProperties" = true)
)]
pub struct Request {
    /// The customer id, trimmed; 1 to 128 characters, no control characters.
    #[schemars(description = "customer id to look up (Architect passes it as a string)")]
    pub customer_id: String,
    /// A BCP-47-like tag such as `en-US`, trimmed ([`DEFAULT_LOCALE`] when the event has none).
    #[schemars(
        with = "Option<String>",
        description = "BCP 47 locale such as en-US; the function uses en-US when it is absent"
    )]
    pub locale: String,
}

/// Validates `event` into a [`Request`]; never panics, whatever the JSON.
pub fn parse(event: &Value) -> Result<Request, Rejected> {
    let Value::Object(outer) = event else {
        return Err(Rejected::because(InvalidInput::NotAnObject));
    };
    parse_fields(outer)
}

/// Validates an event object (its `inputs` object when it has no `customer_id`).
pub fn parse_fields(outer: &Map<String, Value>) -> Result<Request, Rejected> {
    let fields = fields::inputs(outer, &["customer_id"]);
    let reject = |reason, customer_ref| {
        Err(Rejected {
            reason,
            customer_ref,
        })
    };

    let customer_id = match fields.get("customer_id") {
        None | Some(Value::Null) => return reject(InvalidInput::MissingId, None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            _ => return reject(InvalidInput::IdNotText, None),
        },
        Some(_) => return reject(InvalidInput::IdNotText, None),
    };
    if customer_id.is_empty() {
        return reject(InvalidInput::MissingId, None);
    }
    let customer_ref = Some(pii_ref(&customer_id));
    if customer_id.chars().count() > MAX_ID_CHARS {
        return reject(InvalidInput::IdTooLong, customer_ref);
    }
    if customer_id.chars().any(char::is_control) {
        return reject(InvalidInput::IdControlCharacters, customer_ref);
    }

    let locale = match fields.get("locale") {
        None | Some(Value::Null) => DEFAULT_LOCALE,
        Some(Value::String(s)) if s.trim().is_empty() => DEFAULT_LOCALE,
        Some(Value::String(s)) if is_language_tag(s.trim()) => s.trim(),
        Some(_) => return reject(InvalidInput::BadLocale, customer_ref),
    };
    Ok(Request {
        customer_id,
        locale: locale.to_owned(),
    })
}

/// A BCP-47-like tag: a 2–8 letter language subtag, then `-`-separated 1–8 character alphanumeric
/// subtags (`en`, `en-US`, `es-419`, `zh-Hant-TW`), at most 35 characters. Not a full RFC 5646 parser.
pub fn is_language_tag(tag: &str) -> bool {
    if tag.len() > MAX_LOCALE_CHARS {
        return false;
    }
    let mut subtags = tag.split('-');
    let language_ok = subtags.next().is_some_and(|lang| {
        (2..=8).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphabetic())
    });
    language_ok
        && subtags.all(|sub| {
            (1..=8).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ok(event: Value) -> Request {
        parse(&event).unwrap_or_else(|e| panic!("{event} rejected: {e:?}"))
    }

    fn reason(event: Value) -> InvalidInput {
        parse(&event).expect_err("should be rejected").reason
    }

    #[test]
    fn flat_event_with_string_or_numeric_id() {
        assert_eq!(
            ok(json!({"customer_id": "12345", "locale": "fr-CA"})),
            Request {
                customer_id: "12345".into(),
                locale: "fr-CA".into()
            }
        );
        assert_eq!(ok(json!({"customer_id": 12345})).customer_id, "12345");
        assert_eq!(ok(json!({"customer_id": -7})).customer_id, "-7");
        assert_eq!(
            ok(json!({"customer_id": u64::MAX})).customer_id,
            u64::MAX.to_string()
        );
    }

    #[test]
    fn wrapper_form_from_the_tutorial() {
        let r = ok(json!({"inputs": {"customer_id": "a1", "locale": "de-DE"}}));
        assert_eq!((r.customer_id.as_str(), r.locale.as_str()), ("a1", "de-DE"));
        // A flat customer_id wins over a wrapper.
        assert_eq!(
            ok(json!({"customer_id": "flat", "inputs": {"customer_id": "inner"}})).customer_id,
            "flat"
        );
        assert_eq!(
            reason(json!({"inputs": "not an object"})),
            InvalidInput::MissingId
        );
    }

    #[test]
    fn locale_defaults_and_is_trimmed() {
        assert_eq!(ok(json!({"customer_id": "1"})).locale, DEFAULT_LOCALE);
        assert_eq!(
            ok(json!({"customer_id": "1", "locale": null})).locale,
            DEFAULT_LOCALE
        );
        assert_eq!(
            ok(json!({"customer_id": "1", "locale": "  "})).locale,
            DEFAULT_LOCALE
        );
        assert_eq!(
            ok(json!({"customer_id": "1", "locale": " en-GB "})).locale,
            "en-GB"
        );
    }

    #[test]
    fn missing_ids_are_rejected() {
        for event in [
            json!({}),
            json!({"customer_id": null}),
            json!({"customer_id": ""}),
            json!({"customer_id": " \t\n"}),
        ] {
            assert_eq!(reason(event), InvalidInput::MissingId);
        }
    }

    #[test]
    fn ids_of_the_wrong_type_are_rejected() {
        for id in [json!(true), json!([1]), json!({"a": 1}), json!(1.5)] {
            assert_eq!(
                reason(json!({ "customer_id": id })),
                InvalidInput::IdNotText
            );
        }
    }

    #[test]
    fn long_ids_and_control_characters_are_rejected() {
        assert_eq!(
            ok(json!({"customer_id": "é".repeat(MAX_ID_CHARS)}))
                .customer_id
                .chars()
                .count(),
            MAX_ID_CHARS
        );
        assert_eq!(
            reason(json!({"customer_id": "x".repeat(MAX_ID_CHARS + 1)})),
            InvalidInput::IdTooLong
        );
        assert_eq!(
            reason(json!({"customer_id": "12\u{0}34"})),
            InvalidInput::IdControlCharacters
        );
        assert_eq!(
            reason(json!({"customer_id": "12\n34"})),
            InvalidInput::IdControlCharacters
        );
        assert_eq!(
            reason(json!({"customer_id": "12\u{7f}"})),
            InvalidInput::IdControlCharacters
        );
        // Characters that matter in a URL are fine: they are percent-encoded, not rejected.
        assert_eq!(
            ok(json!({"customer_id": "a&id=b#c"})).customer_id,
            "a&id=b#c"
        );
    }

    #[test]
    fn rejections_carry_a_reference_not_the_id() {
        let r = parse(&json!({"customer_id": "12345", "locale": "not a locale"})).unwrap_err();
        assert_eq!(r.reason, InvalidInput::BadLocale);
        assert_eq!(r.customer_ref, Some(pii_ref("12345")));
    }

    #[test]
    fn language_tags() {
        for good in [
            "en",
            "en-US",
            "es-419",
            "zh-Hant-TW",
            "sr-Latn-RS",
            "de-CH-1996",
            "EN-us",
        ] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "e",
            "en_US",
            "en-",
            "-US",
            "en--US",
            "en US",
            "123",
            "en-US!",
            "toolonglanguage",
            "é-FR",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        assert!(!is_language_tag(&format!("en{}", "-abcdefgh".repeat(4))));
        assert_eq!(
            reason(json!({"customer_id": "1", "locale": 5})),
            InvalidInput::BadLocale
        );
    }

    #[test]
    fn non_objects_are_rejected() {
        for event in [
            json!([]),
            json!("12345"),
            json!(12345),
            Value::Null,
            json!(true),
        ] {
            assert_eq!(reason(event), InvalidInput::NotAnObject);
        }
    }

    proptest! {
        #[test]
        fn any_string_id_validates_or_is_a_validation_error(id in any::<String>()) {
            match parse(&json!({ "customer_id": id })) {
                Ok(r) => {
                    prop_assert_eq!(r.customer_id.as_str(), id.trim());
                    prop_assert!(!r.customer_id.is_empty() && r.customer_id.chars().count() <= MAX_ID_CHARS);
                    prop_assert!(!r.customer_id.chars().any(char::is_control));
                }
                Err(e) => prop_assert!(matches!(
                    e.reason,
                    InvalidInput::MissingId | InvalidInput::IdTooLong | InvalidInput::IdControlCharacters
                )),
            }
        }

        #[test]
        fn any_locale_string_validates_or_is_rejected(locale in any::<String>()) {
            match parse(&json!({ "customer_id": "1", "locale": locale })) {
                Ok(r) => prop_assert!(is_language_tag(&r.locale)),
                Err(e) => prop_assert_eq!(e.reason, InvalidInput::BadLocale),
            }
        }
    }
}
