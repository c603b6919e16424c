//! The Genesys side of every action, written from the code: `make actions` (the `gcx-actions` binary)
//! writes, per action, the import file, the input and output schemas and the CX-as-Code Terraform, and
//! lints each contract against Genesys's rules. `make test` fails when the committed files differ from
//! freshly generated ones, so a contract cannot drift from the code that answers it.
//!
//! The schemas come from the input and output types (`schemars`), tidied for Genesys ([`tidy`]):
//! draft-04, no `$ref`, no Rust integer formats, and optional inputs typed as their value (Architect leaves
//! an unset input out; it does not send null).

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::action::Action;

/// The schema dialect Genesys takes.
pub const DRAFT4: &str = "http://json-schema.org/draft-04/schema#";
/// The only response template an action of this function may have: the Lambda's answer as is.
pub const SUCCESS_TEMPLATE: &str = "${rawResult}";
/// Genesys's limits on `config.timeoutSeconds`.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=60;
/// The integration type of a Lambda data action.
pub const INTEGRATION_TYPE: &str = "aws-lambda-data-actions";
/// Input names Genesys keeps for itself.
pub const RESERVED_INPUTS: [&str; 3] = ["orgId", "integrationId", "rawRequest"];
/// Genesys's JSON nesting limit.
pub const MAX_DEPTH: usize = 50;
/// Every output has these: the framework fills them on every path.
pub const FRAMEWORK_OUTPUTS: [&str; 3] = ["success", "message", "error"];

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

/// The request template: the action's name, and the inputs as Genesys has them (`rawRequest` is the
/// input object as JSON, so every input, optional ones included, arrives with its JSON type).
pub fn request_template(name: &str) -> String {
    format!("{{\"action\": \"{name}\", \"inputs\": ${{input.rawRequest}}}}")
}

/// Genesys's timeout for the actions of a function whose Lambda timeout is `function_timeout` seconds:
/// one second more, so the function's answer (always sent before its deadline) arrives in time.
pub fn genesys_timeout(function_timeout: u64) -> u64 {
    (function_timeout + 1).clamp(*TIMEOUT_RANGE.start(), *TIMEOUT_RANGE.end())
}

/// The Genesys import file of an action (Architect → Actions → Import).
pub fn import_file(contract: &ActionContract, timeout_seconds: u64) -> Value {
    json!({
        "name": contract.title,
        "integrationType": INTEGRATION_TYPE,
        "actionType": "custom",
        "config": {
            "request": {
                "requestUrlTemplate": "arn:aws:lambda:REGION:ACCOUNT_ID:function:FUNCTION_NAME",
                "requestType": "POST",
                "headers": {},
                "requestTemplate": request_template(contract.name)
            },
            "response": {
                "translationMap": {},
                "translationMapDefaults": {},
                "successTemplate": SUCCESS_TEMPLATE
            },
            "timeoutSeconds": timeout_seconds
        },
        "contract": {
            "input": {"inputSchema": contract.input},
            "output": {"successSchema": contract.output}
        },
        "secure": false
    })
}

/// The Terraform resource name of an action (`customer-lookup` → `customer_lookup`).
pub fn resource_name(name: &str) -> String {
    name.replace('-', "_")
}

/// `genesys/terraform/actions.tf`: one `genesyscloud_integration_action` per action, all on the one
/// integration (and the one role Genesys assumes) of `main.tf`.
pub fn terraform(contracts: &[ActionContract], timeout_seconds: u64) -> String {
    let mut tf = String::from(
        "# Generated by `make actions` from crates/data-action: do not edit. One integration (main.tf), one\n\
         # action per entry. Changing a contract makes Genesys recreate that action with a new id: `make actions`\n\
         # says so when it happens.\n",
    );
    let ids: Vec<String> = contracts
        .iter()
        .map(|c| {
            format!(
                "    \"{}\" = genesyscloud_integration_action.{}.id",
                c.name,
                resource_name(c.name)
            )
        })
        .collect();
    tf.push_str(&format!(
        "\noutput \"action_ids\" {{\n  description = \"Id of each data action, by name (select it in Architect's Call Data Action).\"\n  value = {{\n{}\n  }}\n}}\n",
        ids.join("\n")
    ));
    for c in contracts {
        // `$${` is a literal `${` for Genesys's Velocity templates; `${` alone would be Terraform's.
        let template = request_template(c.name)
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("${", "$${");
        tf.push_str(&format!(
            r#"
resource "genesyscloud_integration_action" "{resource}" {{
  name                   = "{title}"
  category               = var.integration_name
  integration_id         = genesyscloud_integration.lambda.id
  secure                 = false
  config_timeout_seconds = {timeout_seconds}

  contract_input  = jsonencode(jsondecode(file("${{path.module}}/../data-action/{name}.input.schema.json")))
  contract_output = jsonencode(jsondecode(file("${{path.module}}/../data-action/{name}.output.schema.json")))

  config_request {{
    request_url_template = var.lambda_arn
    request_type         = "POST"
    request_template     = "{template}"
    headers              = {{}}
  }}

  config_response {{
    translation_map          = {{}}
    translation_map_defaults = {{}}
    success_template         = "$${{rawResult}}"
  }}
}}
"#,
            resource = resource_name(c.name),
            title = c.title,
            name = c.name,
        ));
    }
    tf
}

/// The files of every action, path (relative to the repository root) → content.
pub fn files(contracts: &[ActionContract], function_timeout: u64) -> Vec<(String, String)> {
    let timeout = genesys_timeout(function_timeout);
    let mut files = Vec::new();
    for c in contracts {
        files.push((
            format!("genesys/data-action/{}.custom.json", c.name),
            pretty(&import_file(c, timeout)),
        ));
        files.push((
            format!("genesys/data-action/{}.input.schema.json", c.name),
            pretty(&c.input),
        ));
        files.push((
            format!("genesys/data-action/{}.output.schema.json", c.name),
            pretty(&c.output),
        ));
    }
    files.push((
        "genesys/terraform/actions.tf".to_owned(),
        terraform(contracts, timeout),
    ));
    files
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// What differs between two versions of an import file that makes Genesys recreate the action (a new id,
/// so every flow using it must be re-pointed): its input or output contract. Empty when neither changed.
pub fn recreating_changes(old: &Value, new: &Value) -> Vec<&'static str> {
    let mut changes = Vec::new();
    if old.pointer("/contract/input") != new.pointer("/contract/input") {
        changes.push("input contract");
    }
    if old.pointer("/contract/output") != new.pointer("/contract/output") {
        changes.push("output contract");
    }
    changes
}

/// Lints an import file against Genesys's rules; each problem is one sentence. Empty when it passes.
pub fn lint(import: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(p);
    if import.get("integrationType").and_then(Value::as_str) != Some(INTEGRATION_TYPE) {
        problem(format!("integrationType is not {INTEGRATION_TYPE}"));
    }
    match import
        .pointer("/config/response/successTemplate")
        .and_then(Value::as_str)
    {
        Some(SUCCESS_TEMPLATE) => {}
        other => problem(format!(
            "config.response.successTemplate is {other:?}, not {SUCCESS_TEMPLATE:?}"
        )),
    }
    match import
        .pointer("/config/timeoutSeconds")
        .and_then(Value::as_u64)
    {
        Some(t) if TIMEOUT_RANGE.contains(&t) => {}
        _ => problem("config.timeoutSeconds is not a whole number from 1 to 60".to_owned()),
    }
    if depth(import) > MAX_DEPTH {
        problem(format!("the file nests deeper than {MAX_DEPTH} levels"));
    }
    match import.pointer("/contract/input/inputSchema") {
        Some(input) => lint_input(input, &mut problem),
        None => problem("contract.input.inputSchema is missing".to_owned()),
    }
    match import.pointer("/contract/output/successSchema") {
        Some(output) => lint_output(output, &mut problem),
        None => problem("contract.output.successSchema is missing".to_owned()),
    }
    problems
}

fn lint_common(schema: &Value, side: &str, problem: &mut impl FnMut(String)) {
    if schema.get("$schema").and_then(Value::as_str) != Some(DRAFT4) {
        problem(format!("the {side} schema is not draft-04"));
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        problem(format!("the {side} schema is not an object"));
    }
    if has_key(schema, "$ref") {
        problem(format!("the {side} schema uses $ref"));
    }
    for name in properties(schema).keys() {
        if !is_property_name(name) {
            problem(format!(
                "{side} property {name:?} does not match ^[a-zA-Z][a-zA-Z0-9_-]*$"
            ));
        }
    }
}

fn lint_input(schema: &Value, problem: &mut impl FnMut(String)) {
    lint_common(schema, "input", problem);
    for (name, property) in properties(schema) {
        if RESERVED_INPUTS.contains(&name.as_str()) {
            problem(format!("input property {name:?} is reserved by Genesys"));
        }
        let flat = types(&property).is_some_and(|ts| {
            !ts.is_empty()
                && ts
                    .iter()
                    .all(|t| matches!(*t, "string" | "integer" | "number" | "boolean" | "null"))
        });
        if !flat {
            problem(format!(
                "input property {name:?} is not flat (string, integer, number, boolean or null)"
            ));
        }
    }
}

fn lint_output(schema: &Value, problem: &mut impl FnMut(String)) {
    lint_common(schema, "output", problem);
    let properties = properties(schema);
    for field in FRAMEWORK_OUTPUTS {
        if !properties.contains_key(field) {
            problem(format!("output property {field:?} is missing"));
        }
    }
    if nested_array(schema) {
        problem("the output schema has an array of arrays".to_owned());
    }
}

fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// A property's `type`, as a list (`"string"` or `["string", "null"]`); `None` when absent or odd.
fn types(property: &Value) -> Option<Vec<&str>> {
    match property.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => ts.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// `^[a-zA-Z][a-zA-Z0-9_-]*$`.
pub fn is_property_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn has_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map.contains_key(key) || map.values().any(|v| has_key(v, key)),
        Value::Array(items) => items.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

/// An array schema whose items are arrays, anywhere.
fn nested_array(value: &Value) -> bool {
    let is_array = |v: &Value| types(v).is_some_and(|ts| ts.contains(&"array"));
    match value {
        Value::Object(map) => {
            (is_array(value) && map.get("items").is_some_and(is_array))
                || map.values().any(nested_array)
        }
        Value::Array(items) => items.iter().any(nested_array),
        _ => false,
    }
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The `Timeout` of `DataActionFunction` in `template.yaml` (seconds): the Genesys timeout follows it.
/// A text scan, not a YAML parser: CloudFormation's `!Ref` tags trip plain YAML loaders, and this is one
/// key of one resource.
pub fn function_timeout(template: &str) -> Option<u64> {
    let mut lines = template
        .lines()
        .skip_while(|l| l.trim_end() != "  DataActionFunction:");
    lines.next()?;
    lines
        .take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#'))
        .find_map(|l| {
            l.trim()
                .strip_prefix("Timeout:")
                .and_then(|t| t.trim().parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::contracts;

    fn generated() -> Vec<Value> {
        contracts().iter().map(|c| import_file(c, 26)).collect()
    }

    #[test]
    fn every_generated_contract_passes_the_lint() {
        for import in generated() {
            assert_eq!(lint(&import), Vec::<String>::new(), "{import:#}");
        }
    }

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

    #[test]
    fn the_lint_refuses_what_genesys_refuses() {
        let good = generated().remove(0);
        let broken = |f: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            f(&mut v);
            lint(&v)
        };
        type Breaker = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Breaker)> = vec![
            (
                "not flat",
                Box::new(|v: &mut Value| {
                    v["contract"]["input"]["inputSchema"]["properties"]["nested"] =
                        json!({"type": "object"});
                }),
            ),
            (
                "does not match",
                Box::new(|v: &mut Value| {
                    v["contract"]["input"]["inputSchema"]["properties"]["1bad"] =
                        json!({"type": "string"});
                }),
            ),
            (
                "reserved",
                Box::new(|v: &mut Value| {
                    v["contract"]["input"]["inputSchema"]["properties"]["rawRequest"] =
                        json!({"type": "string"});
                }),
            ),
            (
                "$ref",
                Box::new(|v: &mut Value| {
                    v["contract"]["output"]["successSchema"]["properties"]["x"] =
                        json!({"$ref": "#/definitions/X"});
                }),
            ),
            (
                "array of arrays",
                Box::new(|v: &mut Value| {
                    v["contract"]["output"]["successSchema"]["properties"]["x"] =
                        json!({"type": "array", "items": {"type": "array"}});
                }),
            ),
            (
                "successTemplate",
                Box::new(|v: &mut Value| {
                    v["config"]["response"]["successTemplate"] = json!("${rawResult.data}");
                }),
            ),
            (
                "timeoutSeconds",
                Box::new(|v: &mut Value| {
                    v["config"]["timeoutSeconds"] = json!(61);
                }),
            ),
            (
                "timeoutSeconds",
                Box::new(|v: &mut Value| {
                    v["config"]["timeoutSeconds"] = json!(0);
                }),
            ),
            (
                "missing",
                Box::new(|v: &mut Value| {
                    v["contract"]["output"]["successSchema"]["properties"]
                        .as_object_mut()
                        .unwrap()
                        .remove("error");
                }),
            ),
            (
                "deeper than 50",
                Box::new(|v: &mut Value| {
                    let mut deep = json!("x");
                    for _ in 0..51 {
                        deep = json!({"d": deep});
                    }
                    v["contract"]["output"]["successSchema"]["properties"]["success"]["examples"] =
                        deep;
                }),
            ),
        ];
        for (expected, break_it) in cases {
            let problems = broken(&*break_it);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
    }

    #[test]
    fn contract_changes_that_recreate_the_action_are_named() {
        let old = generated().remove(0);
        let mut new = old.clone();
        new["config"]["timeoutSeconds"] = json!(30);
        assert!(
            recreating_changes(&old, &new).is_empty(),
            "config changes do not recreate"
        );
        new["contract"]["output"]["successSchema"]["properties"]["extra"] =
            json!({"type": "string"});
        assert_eq!(recreating_changes(&old, &new), vec!["output contract"]);
    }

    #[test]
    fn the_genesys_timeout_follows_the_function_timeout() {
        let template = "Resources:\n  Other:\n    Properties:\n      Timeout: 3\n  DataActionFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      # comment\n      Timeout: 25\n  Next:\n      Timeout: 9\n";
        assert_eq!(function_timeout(template), Some(25));
        assert_eq!(
            function_timeout("Resources:\n  Other:\n      Timeout: 3\n"),
            None
        );
        assert_eq!(genesys_timeout(25), 26);
        assert_eq!(genesys_timeout(90), 60);
        assert_eq!(genesys_timeout(0), 1);
    }

    #[test]
    fn the_terraform_escapes_velocity_for_terraform() {
        let tf = terraform(&contracts(), 26);
        assert!(tf.contains(r#"request_template     = "{\"action\": \"recent-contact\", \"inputs\": $${input.rawRequest}}""#), "{tf}");
        assert!(
            !tf.contains("\"${input"),
            "a bare ${{ is Terraform interpolation"
        );
        assert_eq!(
            tf.matches("resource \"genesyscloud_integration_action\"")
                .count(),
            contracts().len()
        );
    }
}
