#!/usr/bin/env python3
"""Check the Genesys data action files (stdlib only; uses `jsonschema` too if it is importable).

Usage: python3 genesys/check_action.py

Checks that:
  * data-action/customer-lookup.custom.json has the Genesys export/import shape for an `aws-lambda-data-actions`
    custom action: the flat `${input.rawRequest}` request, the `${rawResult}` response, secure=false and a
    draft-04 input contract with valid property names;
  * its contract.output.successSchema is exactly data-action/output.schema.json;
  * output.schema.json declares the 7 output fields of docs/contracts.md, all required, with
    additionalProperties=false; it accepts typical success and failure responses and rejects the usual mistakes
    (a missing field, a null, a wrong type, an extra key, seed 000's {"result": ...} wrapper);
  * terraform/main.tf escapes `$${` and takes the contracts from the import file.

It exits 1 and lists the problems, or prints "OK".
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMPORT_FILE = HERE / "data-action" / "customer-lookup.custom.json"
OUTPUT_SCHEMA = HERE / "data-action" / "output.schema.json"
TERRAFORM_MAIN = HERE / "terraform" / "main.tf"

DRAFT4 = "http://json-schema.org/draft-04/schema#"
INPUT_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*$")
RESERVED_INPUTS = {"orgId", "integrationId", "rawRequest"}
INPUT_TYPES = {"string", "integer", "number", "boolean", "null"}
OUTPUT_FIELDS = {
    "success": "boolean",
    "customer_name": "string",
    "customer_tier": "string",
    "customer_balance": "number",
    "account_status": "string",
    "message": "string",
    "error": "string",
}
ERROR_VALUES = ["", "ValidationError", "NotFound", "ExternalApiError", "ExternalApiTimeout",
                "InvalidExternalResponse", "InternalServerError"]

errors = []


def err(msg):
    errors.append(msg)


def load(p):
    try:
        with open(p, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        err(f"{p.relative_to(HERE)}: cannot read JSON: {e}")
        return None


def expect(obj, path, want):
    cur = obj
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            err(f"customer-lookup.custom.json: missing {path}")
            return
        cur = cur[k]
    if cur != want:
        err(f"customer-lookup.custom.json: {path} is {cur!r}, want {want!r}")


def type_ok(t, v):
    if t == "boolean":
        return isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    return False


def conforms(schema, value):
    """The subset of draft-04 the output contract uses: flat object, required, types, additionalProperties."""
    if not isinstance(value, dict):
        return False
    if any(k not in value for k in schema.get("required", [])):
        return False
    props = schema.get("properties", {})
    for k, v in value.items():
        if k not in props:
            if schema.get("additionalProperties", True) is False:
                return False
            continue
        if not type_ok(props[k]["type"], v):
            return False
    return True


def check_import(action):
    for k in ("name", "integrationType", "actionType", "config", "contract", "secure"):
        if k not in action:
            err(f"customer-lookup.custom.json: missing top-level key {k!r}")
    extra = set(action) - {"name", "integrationType", "actionType", "config", "contract", "secure"}
    if extra:
        err(f"customer-lookup.custom.json: unexpected top-level keys {sorted(extra)}")
    if not isinstance(action.get("name"), str) or not action.get("name", "").strip():
        err("customer-lookup.custom.json: name must be a non-empty string")
    expect(action, "integrationType", "aws-lambda-data-actions")
    expect(action, "actionType", "custom")
    expect(action, "secure", False)
    expect(action, "config.request.requestType", "POST")
    expect(action, "config.request.headers", {})
    expect(action, "config.request.requestTemplate", "${input.rawRequest}")
    expect(action, "config.response.translationMap", {})
    expect(action, "config.response.translationMapDefaults", {})
    expect(action, "config.response.successTemplate", "${rawResult}")
    url = action.get("config", {}).get("request", {}).get("requestUrlTemplate", "")
    if not re.match(r"^arn:aws[a-zA-Z-]*:lambda:[A-Za-z0-9_-]+:[A-Z0-9_]+:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$",
                    str(url)):
        err(f"customer-lookup.custom.json: requestUrlTemplate {url!r} is not a Lambda ARN (or its placeholder)")

    inp = action.get("contract", {}).get("input", {}).get("inputSchema")
    if not isinstance(inp, dict):
        err("customer-lookup.custom.json: missing contract.input.inputSchema")
    else:
        if inp.get("$schema") != DRAFT4:
            err("inputSchema: $schema must be draft-04")
        if inp.get("type") != "object":
            err("inputSchema: type must be object")
        if inp.get("additionalProperties") is not True:
            err("inputSchema: additionalProperties must be true")
        if inp.get("required") != ["customer_id"]:
            err(f"inputSchema: required must be ['customer_id'], got {inp.get('required')!r}")
        props = inp.get("properties", {})
        for name, p in props.items():
            if not INPUT_NAME_RE.match(name):
                err(f"inputSchema: property name {name!r} does not match {INPUT_NAME_RE.pattern}")
            if name in RESERVED_INPUTS:
                err(f"inputSchema: property name {name!r} is reserved by Genesys")
            if p.get("type") not in INPUT_TYPES:
                err(f"inputSchema: {name} has type {p.get('type')!r}; inputs must be flat {sorted(INPUT_TYPES)}")
        if props.get("customer_id", {}).get("type") != "string":
            err("inputSchema: customer_id must be a string (Architect passes strings)")
        if props.get("locale", {}).get("type") != "string":
            err("inputSchema: locale must be an optional string")
        if set(props) != {"customer_id", "locale"}:
            err(f"inputSchema: properties must be customer_id and locale, got {sorted(props)}")


def check_output(schema):
    if schema.get("$schema") != DRAFT4:
        err("output.schema.json: $schema must be draft-04")
    if schema.get("type") != "object":
        err("output.schema.json: type must be object")
    if schema.get("additionalProperties") is not False:
        err("output.schema.json: additionalProperties must be false")
    props = schema.get("properties", {})
    got = {k: v.get("type") for k, v in props.items()}
    if got != OUTPUT_FIELDS:
        err(f"output.schema.json: properties/types {got} != {OUTPUT_FIELDS}")
    req = schema.get("required", [])
    if sorted(req) != sorted(OUTPUT_FIELDS) or len(req) != len(set(req)):
        err(f"output.schema.json: required must list all 7 fields exactly once, got {req}")

    ok_success = {"success": True, "customer_name": "Jane Doe", "customer_tier": "gold", "customer_balance": 1250.5,
                  "account_status": "active", "message": "Customer found", "error": ""}
    good = [ok_success, dict(ok_success, customer_balance=0)]
    for e in ERROR_VALUES[1:]:
        good.append({"success": False, "customer_name": "", "customer_tier": "", "customer_balance": 0,
                      "account_status": "", "message": "x", "error": e})
    bad = {
        "missing field": {k: v for k, v in ok_success.items() if k != "error"},
        "null value": dict(ok_success, customer_tier=None),
        "balance as string": dict(ok_success, customer_balance="1250.50"),
        "success as string": dict(ok_success, success="true"),
        "extra key": dict(ok_success, result={}),
        "seed 000 wrapper": {"result": ok_success},
    }
    for v in good:
        if not conforms(schema, v):
            err(f"output.schema.json rejects a valid response: {v}")
    for why, v in bad.items():
        if conforms(schema, v):
            err(f"output.schema.json accepts an invalid response ({why})")
    try:
        import jsonschema
    except Exception:
        return "without jsonschema (not installed)"
    jsonschema.Draft4Validator.check_schema(schema)
    val = jsonschema.Draft4Validator(schema)
    for v in good:
        if not val.is_valid(v):
            err(f"jsonschema: output.schema.json rejects a valid response: {v}")
    for why, v in bad.items():
        if val.is_valid(v):
            err(f"jsonschema: output.schema.json accepts an invalid response ({why})")
    return "with jsonschema"


def check_terraform():
    if not TERRAFORM_MAIN.is_file():
        err("terraform/main.tf: missing")
        return
    tf = TERRAFORM_MAIN.read_text(encoding="utf-8")
    for needle in ('request_template     = "$${input.rawRequest}"', 'success_template         = "$${rawResult}"',
                   'integration_type = "aws-lambda-data-actions"', 'credential_type_name = "amazonWebServicesARN"',
                   "customer-lookup.custom.json"):
        if needle not in tf:
            err(f"terraform/main.tf: expected to contain {needle!r}")
    # an unescaped ${input. or ${rawResult} would be a Terraform interpolation error
    if re.search(r"(?<!\$)\$\{(input\.|rawResult)", tf):
        err("terraform/main.tf: unescaped ${...} Velocity reference; write $${...}")


def main():
    action = load(IMPORT_FILE)
    schema = load(OUTPUT_SCHEMA)
    mode = ""
    if action is not None:
        check_import(action)
    if schema is not None:
        mode = check_output(schema)
    if action is not None and schema is not None:
        succ = action.get("contract", {}).get("output", {}).get("successSchema")
        if succ != schema:
            err("customer-lookup.custom.json contract.output.successSchema differs from data-action/output.schema.json"
                " (keep them identical)")
    check_terraform()
    if errors:
        for e in errors:
            print(f"ERROR {e}", file=sys.stderr)
        print(f"FAILED: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"OK: import file, output schema and terraform agree ({mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
