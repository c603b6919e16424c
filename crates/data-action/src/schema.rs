//! An action's Genesys contract: the JSON Schemas of its input and output types. `gcx-actions`
//! (crates/generate, what `make actions` runs) writes the Genesys files from them and lints them; this crate
//! only derives the schemas, since only it knows the types.
//!
//! The schemas come from the input and output types (`schemars`), tidied for Genesys ([`tidy`]):
//! draft-04, no `$ref`, no Rust integer formats, and optional inputs typed as their value (Architect leaves
//! an unset input out; it does not send null).

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Value};

use crate::action::Action;

/// The schema dialect Genesys takes.
pub const DRAFT4: &str = "http://json-schema.org/draft-04/schema#";

/// One action's contract, from its types.
#[derive(Debug, Clone)]
pub struct ActionContract {
    /// [`Action::NAME`].
    pub name: &'static str,
    /// [`Action::TITLE`].
    pub title: &'static str,
    /// The input schema (draft-04).
    pub input: Value,
    /// The output (success) schema (draft-04).
    pub output: Value,
}

/// Which side of the contract a schema is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

/// The contract of action `A`.
pub fn of<A: Action>() -> ActionContract {
    ActionContract {
        name: A::NAME,
        title: A::TITLE,
        input: schema::<A::Input>(Side::Input),
        output: schema::<A::Output>(Side::Output),
    }
}

fn schema<T: JsonSchema>(side: Side) -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut value =
        serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_else(|_| json!({}));
    tidy(&mut value, side);
    value
}

/// Makes a `schemars` schema one Genesys takes: draft-04 `$schema`; no `format` (Rust's `uint32`,
/// `double`: not draft-04 formats); an input property that is not required loses its `null` type.
fn tidy(schema: &mut Value, side: Side) {
    let Value::Object(top) = schema else { return };
    top.insert("$schema".into(), DRAFT4.into());
    let required: Vec<String> = top
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = top.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            let Value::Object(property) = property else {
                continue;
            };
            property.remove("format");
            if side == Side::Input && !required.contains(name) {
                if let Some(Value::Array(types)) = property.get("type") {
                    let types: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                    if let [one] = types.as_slice() {
                        let one = (*one).clone();
                        property.insert("type".into(), one);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::contracts;

    #[test]
    fn the_customer_lookup_contract_is_the_published_one() {
        let c = &contracts()[0];
        assert_eq!(c.name, "customer-lookup");
        assert_eq!(c.input["required"], json!(["customer_id"]));
        assert_eq!(c.input["properties"]["locale"]["type"], "string");
        assert_eq!(c.input["additionalProperties"], true);
        assert_eq!(c.output["additionalProperties"], false);
        assert_eq!(
            c.output["properties"]["customer_balance"],
            json!({"type": "number", "description": "account balance; 0 when missing or success is false"})
        );
        assert_eq!(c.output["required"].as_array().unwrap().len(), 7);
    }
}
