"""Shared helpers for the template checks: paths, a YAML loader for CloudFormation short-form tags,
the SAM -> CloudFormation translation (offline), and the error table of docs/contracts.md."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "state_machine.asl.json"
CONTRACTS = ROOT / "docs" / "contracts.md"
INSTALL_HINT = (
    "install the pinned tools with `python3 -m venv .venv && .venv/bin/pip install -r tests/template/requirements.txt` "
    "and `npm ci --prefix .` (from the repository root)"
)

# The only actions allowed on Resource '*': CloudWatch Logs vended-log delivery used by Step Functions
# logging, which supports no resource-level permissions (see the comment in template.yaml).
LOGS_DELIVERY_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

GENESYS_ACCOUNT_ROOT = "arn:aws:iam::765628985471:root"

# Lambda functions in the state machine: contracts.md name -> template logical id.
PIPELINE_FUNCTIONS = {"validate": "ValidateFunction", "process": "ProcessFunction", "save": "SaveFunction"}
ALL_FUNCTIONS = {
    "data-action": "DataActionFunction",
    "fanout": "FanoutFunction",
    **PIPELINE_FUNCTIONS,
}


# ------------------------------------------------------------------------------------------- YAML


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads `!Ref x`, `!GetAtt a.b`, `!Sub ...`, `!If [...]` etc. as the long form."""


def _construct_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template() -> dict:
    with TEMPLATE.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


def load_asl() -> dict:
    with ASL.open(encoding="utf-8") as f:
        return json.load(f)


def translate(template: dict) -> dict:
    """The CloudFormation SAM would deploy (local CodeUri/DefinitionUri replaced as `sam validate` does)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    t = copy.deepcopy(template)
    for res in t["Resources"].values():
        props = res.setdefault("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://bucket/code.zip"
        if res["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["DefinitionUri"] = "s3://bucket/state_machine.asl.json"
    session = boto3.Session(region_name="us-east-1")  # offline: only names the region
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[], boto_session=session)
    return translator.translate(sam_template=t, parameter_values={}, get_managed_policy_map=lambda: {})


def walk(node: Any) -> Iterator[Any]:
    """Every dict and list inside node, node included."""
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def if_branches(node: Any) -> list[Any]:
    """The possible values of node: both branches of every top-level Fn::If, AWS::NoValue dropped."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _, a, b = node["Fn::If"]
        return if_branches(a) + if_branches(b)
    if node == {"Ref": "AWS::NoValue"}:
        return []
    return [node]


def refs_in(node: Any) -> set[str]:
    """Template names referenced by Ref, GetAtt or Sub anywhere in node (pseudo parameters left out)."""
    out: set[str] = set()
    for n in walk(node):
        if isinstance(n, dict):
            if "Ref" in n and isinstance(n["Ref"], str):
                out.add(n["Ref"])
            if "Fn::GetAtt" in n:
                out.add(n["Fn::GetAtt"][0])
            if "Fn::Sub" in n:
                sub = n["Fn::Sub"]
                s, local = (sub[0], set(sub[1])) if isinstance(sub, list) else (sub, set())
                out.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", s) if m not in local)
    return {r for r in out if not r.startswith("AWS::")}


def as_list(v: Any) -> list:
    return v if isinstance(v, list) else [v]


@dataclass
class Statement:
    owner: str  # resource logical id (and policy name)
    body: dict

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("Action", []))

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource", []))


def iam_statements(cfn: dict) -> list[Statement]:
    """Every identity and resource policy statement in a translated template (both Fn::If branches)."""
    out: list[Statement] = []
    for lid, res in cfn["Resources"].items():
        props = res.get("Properties", {})
        docs: list[tuple[str, Any]] = []
        if res["Type"] == "AWS::IAM::Role":
            for pol in as_list(props.get("Policies", [])):
                for p in if_branches(pol):
                    docs.append((f"{lid}/{p.get('PolicyName')}", p["PolicyDocument"]))
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy"):
            docs.append((lid, props["PolicyDocument"]))
        for owner, doc in docs:
            for st in as_list(doc.get("Statement", [])):
                for s in if_branches(st):
                    out.append(Statement(owner, s))
    return out


# ------------------------------------------------------------------------------- contracts.md


@dataclass
class ErrorRow:
    names: list[str]
    raised_by: str
    policy: str
    functions: set[str] = field(default_factory=set)  # pipeline functions (contracts names) that raise it

    @property
    def retried(self) -> bool:
        return self.policy.lower().startswith("retry")

    @property
    def never_retried(self) -> bool:
        return "not retried" in self.policy.lower()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def contract_error_rows() -> list[ErrorRow]:
    """The rows of the first table in docs/contracts.md (errorType | raised by | meaning | ASL policy)."""
    lines = CONTRACTS.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.lstrip().startswith("|"))
    header = [h.lower() for h in _cells(lines[start])]
    col_name, col_by, col_policy = header.index("errortype"), header.index("raised by"), header.index("asl policy")
    rows = []
    for line in lines[start + 2 :]:
        if not line.lstrip().startswith("|"):
            break
        cells = _cells(line)
        names = re.findall(r"`([A-Za-z0-9]+\.[A-Za-z0-9]+)`", cells[col_name])
        row = ErrorRow(names, cells[col_by], cells[col_policy])
        for part in re.split(r"[;,]", row.raised_by.lower()):
            part = part.strip()
            if not part or "never" in part:
                continue
            if part in ("aws", "any") or part.startswith("any "):
                row.functions.update(PIPELINE_FUNCTIONS)
            for fn in PIPELINE_FUNCTIONS:
                if re.search(rf"\b{fn}\b", part):
                    row.functions.add(fn)
        rows.append(row)
    return rows


def expected_retry_fields(policy: str) -> dict[str, Any]:
    """Retrier fields the contracts' policy text asks for, e.g. 'retry: 2 s, 6 attempts, backoff 2'."""
    want: dict[str, Any] = {}
    if m := re.search(r"\b(\d+(?:\.\d+)?)\s*s\b", policy):
        want["IntervalSeconds"] = float(m.group(1))
    if m := re.search(r"backoff\s+(\d+(?:\.\d+)?)", policy, re.I):
        want["BackoffRate"] = float(m.group(1))
    if m := re.search(r"(\d+)\s+attempts", policy):
        want["MaxAttempts"] = int(m.group(1))
    if "MaxDelaySeconds" in policy:
        want["MaxDelaySeconds"] = ...  # present, any value
    if m := re.search(r"JitterStrategy\s+([A-Z]+)", policy):
        want["JitterStrategy"] = m.group(1)
    return want


def contract_env_vars() -> dict[str, set[str]]:
    """Environment variable names docs/contracts.md lists per function section (`## name` ... `Env:`)."""
    out: dict[str, set[str]] = {}
    section = None
    text = CONTRACTS.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=## )", text):
        head = block.splitlines()[0]
        if m := re.match(r"## ([a-z-]+)\s*$", head):
            section = m.group(1)
            env = re.search(r"^Env:(.*?)(?:\n\n|\nEvent:|\nInput:)", block, re.S | re.M)
            if env:
                out[section] = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", env.group(1)))
    return out
