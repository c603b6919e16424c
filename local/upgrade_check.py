"""make upgrade-check: would deploying this working tree over a stack built from FROM lose data?

Compares template.yaml at a git ref (FROM, default: the last release the CHANGELOG names) with the working tree's,
and fails, naming each logical id, when:

- a stateful resource (a table, queue, secret, log group, bucket, key, or anything with a Retain deletion or
  replacement policy) is removed, renamed (its logical id gone while a resource of the same type appears), changes
  type, gains a Condition (it would be deleted where the condition is false), or loses its Retain policy;
- a property whose change replaces the resource changes (CloudFormation's documented update behaviour, below);
- a parameter is removed or renamed without a **Breaking** entry of the CHANGELOG's [Unreleased] section naming it.

Where replacement comes from, combined:

1. the CloudFormation registry schema of each resource type, `createOnlyProperties` (a change replaces the
   resource): the schemas cfn-lint ships for us-east-1 (`cfnlint.schema.PROVIDER_SCHEMA_MANAGER`);
2. the CloudFormation Template Reference's "Update requires: Replacement" where the registry schema does not say it.
   For ``AWS::DynamoDB::Table`` the schema lists only ``TableName`` (and ``ImportSourceSpecification``), yet the
   reference says ``KeySchema`` and ``LocalSecondaryIndexes`` require replacement, and ``AttributeDefinitions`` does
   when an existing definition is edited (adding one for a new index does not). Those are ``DOCUMENTED`` below.

Exit status 0 when the upgrade is safe, 1 with one line per finding, 2 when a template cannot be read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

import changelog
from cfn import plain

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
# Types that hold data or state a replacement would lose.
STATEFUL_TYPES = {"AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::SQS::Queue",
                  "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::KMS::Key",
                  "AWS::KMS::Alias", "AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"}
# "Update requires: Replacement" in the CloudFormation Template Reference, where the registry schema's
# createOnlyProperties do not list it (see the module docstring).
DOCUMENTED = {
    "AWS::DynamoDB::Table": ["/properties/KeySchema", "/properties/LocalSecondaryIndexes"],
    "AWS::DynamoDB::GlobalTable": ["/properties/KeySchema", "/properties/LocalSecondaryIndexes"],
}


def template_at(ref: str | None) -> dict[str, Any]:
    """template.yaml at git ref `ref`, or the working tree's when None."""
    if ref is None:
        path = ROOT / "template.yaml"
        doc, problems = decode(str(path))
    else:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:template.yaml"], capture_output=True,
                              text=True, check=False)
        if text.returncode != 0:
            raise ValueError(f"no template.yaml at {ref}: {text.stderr.strip()}")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text.stdout)
        doc, problems = decode(f.name)
        Path(f.name).unlink()
    if problems or doc is None:
        raise ValueError(f"template.yaml at {ref or 'the working tree'}: " + "; ".join(map(str, problems)))
    return plain(doc)


def last_release() -> str:
    """The commit the CHANGELOG names for its newest release."""
    return changelog.last_release(ROOT / "CHANGELOG.md")


def replacing_paths(kind: str) -> list[str]:
    """JSON pointers (`/properties/X`) of the properties whose change replaces a resource of type `kind`."""
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind).schema
        paths = list(schema.get("createOnlyProperties", []))
    except Exception:  # noqa: BLE001 - a type cfn-lint does not know (SAM's): only the documented list applies
        paths = []
    return paths + [p for p in DOCUMENTED.get(kind, []) if p not in paths]


def at(properties: dict[str, Any], pointer: str) -> Any:
    """The value at `pointer` (`/properties/A/B`) of a resource's Properties; None when absent."""
    node: Any = {"properties": properties}
    for part in pointer.strip("/").split("/"):
        if part == "*" or not isinstance(node, dict):
            return node if part == "*" else None
        node = node.get(part)
    return node


def retained(resource: dict[str, Any], parameters: dict[str, Any] | None = None) -> bool:
    """Whether a Retain (or Snapshot) policy protects it, in any branch of an Fn::If, or as the default of the
    parameter a policy refers to (`DeletionPolicy: !Ref DataRetention`, with LanguageExtensions): a stack updated
    without naming that parameter gets its default."""
    def keeps(policy: Any) -> bool:
        if isinstance(policy, dict) and "Fn::If" in policy:
            return any(keeps(p) for p in policy["Fn::If"][1:])
        if isinstance(policy, dict) and "Ref" in policy:
            return keeps((parameters or {}).get(policy["Ref"], {}).get("Default"))
        return policy in ("Retain", "RetainExceptOnCreate", "Snapshot")
    return keeps(resource.get("DeletionPolicy")) or keeps(resource.get("UpdateReplacePolicy"))


def stateful(resource: dict[str, Any]) -> bool:
    return resource.get("Type") in STATEFUL_TYPES or retained(resource)


def attribute_definitions_edited(old: Any, new: Any) -> list[str]:
    """AttributeDefinitions replace the table when an existing one changes type (adding one does not)."""
    def types(defs: Any) -> dict[str, Any]:
        return {d.get("AttributeName"): d.get("AttributeType") for d in defs or [] if isinstance(d, dict)}
    before, after = types(old), types(new)
    return [name for name, kind in before.items() if name in after and after[name] != kind]


def unreleased_breaking() -> str:
    """The text of the CHANGELOG's [Unreleased] section's Breaking list."""
    return changelog.unreleased_breaking(ROOT / "CHANGELOG.md")


def findings(old: dict[str, Any], new: dict[str, Any], breaking: str) -> list[str]:
    """Every reason the upgrade from `old` to `new` is unsafe, one line each."""
    out: list[str] = []
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    for name, resource in old_resources.items():
        if not stateful(resource):
            continue
        kind = resource.get("Type")
        after = new_resources.get(name)
        if after is None:
            same_type = sorted(n for n, r in new_resources.items()
                               if r.get("Type") == kind and n not in old_resources)
            hint = f" (renamed to {', '.join(same_type)}? CloudFormation would create it and delete {name})" \
                if same_type else ""
            out.append(f"{name} ({kind}): removed from the template{hint}: its data would be lost")
            continue
        if after.get("Type") != kind:
            out.append(f"{name}: changes type {kind} -> {after.get('Type')}: replaced, its data lost")
            continue
        if "Condition" in after and after.get("Condition") != resource.get("Condition"):
            out.append(f"{name} ({kind}): gains Condition {after['Condition']}: deleted where it is false")
        if retained(resource, old.get("Parameters")) and not retained(after, new.get("Parameters")):
            out.append(f"{name} ({kind}): loses its Retain policy")
        before_props, after_props = resource.get("Properties", {}) or {}, after.get("Properties", {}) or {}
        for pointer in replacing_paths(kind):
            if at(before_props, pointer) != at(after_props, pointer):
                prop = pointer.removeprefix("/properties/")
                out.append(f"{name} ({kind}): {prop} changes "
                           f"({json.dumps(at(before_props, pointer))} -> {json.dumps(at(after_props, pointer))}): "
                           "CloudFormation replaces the resource, its data lost")
        if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            for attribute in attribute_definitions_edited(before_props.get("AttributeDefinitions"),
                                                          after_props.get("AttributeDefinitions")):
                out.append(f"{name} ({kind}): AttributeDefinitions edits {attribute}: CloudFormation replaces the "
                           "table, its data lost")
    for parameter in old.get("Parameters", {}):
        if parameter not in new.get("Parameters", {}) and f"`{parameter}`" not in breaking:
            out.append(f"parameter {parameter}: removed or renamed, and the CHANGELOG's [Unreleased] Breaking "
                       f"section does not name `{parameter}`: a samconfig or pipeline that sets it fails to deploy")
    return out


def samconfig_note(ref: str) -> None:
    """Up to 0.3.0 the repository tracked samconfig.toml; now it ships samconfig.example.toml and ignores
    samconfig.toml. Merging that into a fork that edited the old file is a modify/delete conflict, and a tree
    can end up without samconfig.toml: say how to get it back."""
    tracked = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{ref}:samconfig.toml"],
                             capture_output=True, check=False).returncode == 0
    if tracked and not (ROOT / "samconfig.toml").exists():
        print(f"upgrade-check: note: {ref} tracked samconfig.toml and this tree has none (it is yours now, and "
              f"git-ignored). To keep the configuration you deployed with: git show {ref}:samconfig.toml > "
              "samconfig.toml (README, \"Upgrading\").")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="ref", default=None,
                        help="git ref of the deployed version (default: the last release the CHANGELOG names)")
    parser.add_argument("--skip-unknown-ref", action="store_true",
                        help="pass, saying so, when the ref is not in this clone (a shallow clone: make test)")
    args = parser.parse_args()
    try:
        ref = args.ref or last_release()
        known = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{ref}^{{commit}}"],
                               capture_output=True, check=False).returncode == 0
        if not known and args.skip_unknown_ref:
            print(f"upgrade-check: SKIPPED: {ref} is not in this clone (shallow?); run `git fetch --unshallow`")
            return 0
        old, new = template_at(ref), template_at(None)
    except ValueError as e:
        print(f"upgrade-check: {e}", file=sys.stderr)
        return 2
    problems = findings(old, new, unreleased_breaking())
    if args.ref:  # a user's upgrade (make test runs it against the last release, in clones without one)
        samconfig_note(ref)
    if problems:
        print(f"upgrade-check: deploying this tree over a stack from {ref} is not safe:")
        for p in problems:
            print(f"  - {p}")
        return 1
    kept = sum(1 for r in old.get("Resources", {}).values() if stateful(r))
    print(f"upgrade-check: from {ref}: every one of the {kept} stateful resources is kept in place, "
          f"and every parameter is kept or its removal is a Breaking entry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
