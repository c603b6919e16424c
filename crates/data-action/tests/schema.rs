//! Every answer the handler can produce validates against the output schema shipped with the Genesys
//! action (`genesys/data-action/customer-lookup.output.schema.json`): one per outcome kind through the real handler
//! against a wiremock upstream, every failure variant, and arbitrary events and upstream bodies.

mod common;

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use common::{arb_json, output_schema, ERRORS, FIELDS};
use data_action::config::Settings;
use data_action::{ActionError, App, InvalidInput, Output};
use proptest::prelude::*;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn validator() -> jsonschema::Validator {
    jsonschema::draft4::new(&output_schema()).expect("the output schema compiles as draft-04")
}

/// Built once for the property tests.
static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(validator);
/// An app with a 5 s timeout, for the property tests (which give it no time budget, so it never calls out).
static APP: LazyLock<App> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(app("http://127.0.0.1:9/unused", "5"))
});

fn assert_valid(validator: &jsonschema::Validator, output: &impl serde::Serialize) {
    let value = serde_json::to_value(output).expect("outputs serialize");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{value} does not match the schema: {errors:?}"
    );
    assert!(
        ERRORS.contains(&value["error"].as_str().unwrap_or("?")),
        "{value}"
    );
}

async fn app(url: &str, timeout: &str) -> App {
    let config =
        Settings::from_env(&[("EXTERNAL_API_URL", url), ("EXTERNAL_API_TIMEOUT", timeout)])
            .expect("config");
    App::build_from(config).await.expect("app")
}

/// Exhaustive over the variants: a new variant does not compile until it is covered here.
fn covered(error: ActionError) -> &'static str {
    match error {
        ActionError::Validation(
            InvalidInput::NotAnObject
            | InvalidInput::MissingId
            | InvalidInput::IdNotText
            | InvalidInput::IdTooLong
            | InvalidInput::IdControlCharacters
            | InvalidInput::BadLocale
            | InvalidInput::UnknownAction(_)
            | InvalidInput::MissingAddress
            | InvalidInput::BadAddress
            | InvalidInput::BadWindow
            | InvalidInput::Rule(_),
        ) => "ValidationError",
        ActionError::NotFound => "NotFound",
        ActionError::ExternalApi(_) => "ExternalApiError",
        ActionError::ExternalApiTimeout => "ExternalApiTimeout",
        ActionError::InvalidExternalResponse(_) => "InvalidExternalResponse",
        ActionError::Internal(_) => "InternalServerError",
        // recent-contact only: customer-lookup never reads the table.
        ActionError::Store(_) => "StoreError",
    }
}

#[test]
fn the_schema_is_strict() {
    let v = validator();
    let good = json!({"success": true, "customer_name": "a", "customer_tier": "b", "customer_balance": 1,
                      "account_status": "c", "message": "", "error": ""});
    assert!(v.is_valid(&good));
    let mut extra = good.clone();
    extra["result"] = json!({});
    assert!(!v.is_valid(&extra), "additionalProperties must be false");
    for field in FIELDS {
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove(field);
        assert!(!v.is_valid(&missing), "{field} must be required");
        let mut null = good.clone();
        null[field] = Value::Null;
        assert!(!v.is_valid(&null), "{field} must not be nullable");
    }
}

#[test]
fn every_failure_validates() {
    let v = validator();
    for error in ActionError::EXAMPLES {
        if matches!(error, ActionError::Store(_)) {
            continue;
        }
        let output = Output::failure(&error);
        assert_eq!(output.error, covered(error));
        assert_valid(&v, &output);
    }
    let names: std::collections::BTreeSet<&str> = ActionError::EXAMPLES
        .iter()
        .map(ActionError::name)
        .filter(|n| *n != "StoreError")
        .collect();
    assert_eq!(
        names.len(),
        ERRORS.len() - 1,
        "EXAMPLES covers every error name"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_outcome_of_the_handler_validates() {
    let v = validator();
    let server = MockServer::start().await;
    let respond = |id: &str, template: ResponseTemplate| {
        Mock::given(method("GET"))
            .and(wiremock::matchers::query_param("id", id))
            .respond_with(template)
    };
    let seed =
        json!({"data": {"name": "John Doe", "tier": "gold", "balance": 150.0}, "status": "active"});
    respond("ok", ResponseTemplate::new(200).set_body_json(&seed))
        .mount(&server)
        .await;
    respond(
        "defaults",
        ResponseTemplate::new(200).set_body_json(json!({"data": {}})),
    )
    .mount(&server)
    .await;
    respond(
        "string-balance",
        ResponseTemplate::new(200).set_body_json(json!({"data": {"balance": "12.5"}})),
    )
    .mount(&server)
    .await;
    respond("missing", ResponseTemplate::new(404))
        .mount(&server)
        .await;
    respond("down", ResponseTemplate::new(500))
        .mount(&server)
        .await;
    respond(
        "slow",
        ResponseTemplate::new(200)
            .set_body_json(&seed)
            .set_delay(Duration::from_secs(2)),
    )
    .mount(&server)
    .await;
    respond(
        "garbage",
        ResponseTemplate::new(200).set_body_string("<html>"),
    )
    .mount(&server)
    .await;
    respond("rejected", ResponseTemplate::new(400))
        .mount(&server)
        .await;

    let app = app(&format!("{}/v1/user-info", server.uri()), "0.3").await;
    let cases = [
        (json!({"customer_id": "ok"}), ""),
        (json!({"customer_id": "defaults"}), ""),
        (json!({"customer_id": "string-balance"}), ""),
        (json!({"customer_id": "missing"}), "NotFound"),
        (json!({"customer_id": "down"}), "ExternalApiError"),
        (json!({"customer_id": "slow"}), "ExternalApiTimeout"),
        (json!({"customer_id": "garbage"}), "InvalidExternalResponse"),
        (json!({"customer_id": "rejected"}), "InternalServerError"),
        (json!({"customer_id": ""}), "ValidationError"),
        (json!(["not", "an", "object"]), "ValidationError"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (event, expected) in cases {
        let answer = app
            .answer(&event, Instant::now() + Duration::from_secs(10))
            .await;
        assert_eq!(answer.output["error"], expected, "{event}");
        assert_eq!(answer.record.error.map_or("", |e| e.name()), expected);
        assert_valid(&v, &answer.output);
        seen.insert(expected);
    }
    assert_eq!(seen.len(), ERRORS.len(), "every outcome kind was produced");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any event: no panic, and the seven-field shape (no budget, so no request is ever sent).
    #[test]
    fn arbitrary_events_always_get_the_seven_field_shape(event in arb_json()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let value = rt.block_on(APP.answer(&event, Instant::now())).output;
        prop_assert_eq!(value.as_object().unwrap().len(), 7);
        prop_assert!(VALIDATOR.is_valid(&value), "{}", value);
        prop_assert!(value["error"] == "ValidationError" || value["error"] == "ExternalApiTimeout", "{}", value);
    }

    /// Any upstream body shaped roughly like the real one maps to a valid answer or a failure.
    #[test]
    fn arbitrary_upstream_bodies_validate(name in arb_json(), tier in arb_json(), balance in arb_json(), status in arb_json()) {
        let body = json!({"data": {"name": name, "tier": tier, "balance": balance}, "status": status});
        let output = Output::from_upstream(body.to_string().as_bytes()).unwrap_or_else(|e| Output::failure(&e));
        let value = serde_json::to_value(&output).unwrap();
        prop_assert!(VALIDATOR.is_valid(&value), "{}", value);
        prop_assert!(output.error.is_empty() || output.error == "InvalidExternalResponse");
    }

    /// Any JSON at all as the upstream body.
    #[test]
    fn arbitrary_json_bodies_validate(body in arb_json()) {
        let output = Output::from_upstream(body.to_string().as_bytes()).unwrap_or_else(|e| Output::failure(&e));
        prop_assert!(VALIDATOR.is_valid(&serde_json::to_value(&output).unwrap()));
    }
}
