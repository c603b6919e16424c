"""Shared helpers for the template checks: paths, the one CloudFormation loader (local/cfn.py, cfn-lint's
decoder), the SAM -> CloudFormation translation (offline), the stable names of docs/catalogue.json and the
parts of docs/contracts.md the checks compare against.

Every error name comes from docs/catalogue.json (generated from the Rust code), except the AWS names
(Lambda service errors, timeouts), which come from the AWS rows of the contracts' table."""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "state_machine.asl.json"
CONTRACTS = ROOT / "docs" / "contracts.md"
CATALOGUE = ROOT / "docs" / "catalogue.json"
LOCAL = ROOT / "local"
INSTALL_HINT = (
    "install the pinned tools with `python3 -m venv .venv && .venv/bin/pip install -r tests/template/requirements.txt` "
    "and `npm ci --prefix .` (from the repository root)"
)

if str(LOCAL) not in sys.path:
    sys.path.insert(0, str(LOCAL))
import cfn  # noqa: E402  (local/cfn.py: the one loader of template.yaml)

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

# Errors a retry cannot fix (the same list as crates/system-tests/tests/error_names.rs): a Task raising one is
# never retried. Every other name a Task raises is transient and retried.
PERMANENT = frozenset({"Store.Rejected", "Pipeline.InvalidInput"})

# The pipeline stages that are Task states of the state machine (the catalogue's keys and the binaries' names).
TASK_STAGES = ("validate", "process", "save")
# Every function of the template is one workspace binary.
BINARIES = ("data-action", "fanout", "validate", "process", "save", "enrich")

SQS_SEND = "arn:aws:states:::sqs:sendMessage"


# ------------------------------------------------------------------------------------------- loading


def load_template() -> dict:
    """template.yaml as plain dicts, intrinsics in long form (``{"Fn::GetAtt": [resource, attribute]}``)."""
    return cfn.load(TEMPLATE)


def cfn_template() -> cfn.Template:
    """local/cfn.py's view of the template (conditions, event sources, rule target), as the local stack reads it."""
    return cfn.Template(TEMPLATE)


def load_asl() -> dict:
    with ASL.open(encoding="utf-8") as f:
        return json.load(f)


@cache
def catalogue() -> dict:
    with CATALOGUE.open(encoding="utf-8") as f:
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


def resolver(template: cfn.Template, **parameters: str) -> cfn.Resolver:
    """A resolver of `template` with its parameter defaults (plus `parameters`) and a made-up physical name for
    every resource: ``!Ref X`` -> ``ref:X``, ``!GetAtt X.Arn`` -> ``arn:X``, other attributes ``X.<attribute>``."""

    class Attributes(dict):
        def __init__(self, lid: str):
            super().__init__()
            self.lid = lid

        def __missing__(self, attribute: str) -> str:
            return f"arn:{self.lid}" if attribute == "Arn" else f"{self.lid}.{attribute}"

    physical = {lid: cfn.Physical(ref=f"ref:{lid}", attributes=Attributes(lid)) for lid in template.resources}
    return cfn.Resolver(template, {**template.parameter_defaults(), **parameters}, physical)


# ------------------------------------------------------------------------------------------- error names


def task_errors(stage: str) -> list[str]:
    """The names a pipeline stage's Task can fail with, for the whole batch (the catalogue's ``task`` list)."""
    return list(catalogue()["errors"][stage].get("task", []))


def all_catalogue_names() -> set[str]:
    """Every stable name of the catalogue's ``errors``."""
    out: set[str] = set()
    for node in walk(catalogue()["errors"]):
        if isinstance(node, list):
            out.update(x for x in node if isinstance(x, str))
    return out


@dataclass(frozen=True)
class ContractRow:
    """A row of the table of stable names in docs/contracts.md (name | where | meaning | what happens)."""

    names: tuple[str, ...]
    where: str
    meaning: str
    happens: str


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


@cache
def contract_rows() -> tuple[ContractRow, ...]:
    """The rows of the first table of docs/contracts.md's "Stable names" section."""
    text = CONTRACTS.read_text(encoding="utf-8")
    section = text.split("## Stable names", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("|"))
    header = [h.lower() for h in _cells(lines[start])]
    assert header == ["name", "where", "meaning", "what happens"], f"docs/contracts.md: table header {header}"
    rows = []
    for line in lines[start + 2:]:
        if not line.lstrip().startswith("|"):
            break
        name, where, meaning, happens = _cells(line)
        rows.append(ContractRow(tuple(re.findall(r"`([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?)`", name)), where, meaning,
                                happens))
    return tuple(rows)


def contract_row(name: str) -> ContractRow:
    (row,) = [r for r in contract_rows() if name in r.names]
    return row


def aws_task_errors() -> list[str]:
    """The AWS names every Task can fail with (Lambda service errors, timeouts): the table's rows whose
    "where" is AWS."""
    return [n for r in contract_rows() if r.where == "AWS" for n in r.names]


# ------------------------------------------------------------------------------------------- contracts.md


def _parenthesised(text: str, open_at: int) -> str:
    """The text inside the parentheses opening at text[open_at], nested ones included."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_at + 1:i]
    raise ValueError(f"docs/contracts.md: unbalanced parentheses at {text[open_at:open_at + 60]!r}")


def _env_names(text: str) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text))


def contract_env_vars() -> dict[str, set[str]]:
    """Environment variable names docs/contracts.md documents per function: the ``Env:`` paragraph of a
    ``## <function>`` section, or the parenthesis after a ``- **<function>**`` bullet (the Tasks)."""
    out: dict[str, set[str]] = {}
    text = CONTRACTS.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=## )", text):
        head = block.splitlines()[0]
        if m := re.match(r"## ([a-z-]+)\s*$", head):
            if env := re.search(r"^Env:(.*?)\n\n", block, re.S | re.M):
                out[m.group(1)] = _env_names(env.group(1))
        for m in re.finditer(r"^- \*\*([a-z-]+)\*\* \(", block, re.M):
            out[m.group(1)] = _env_names(_parenthesised(block, m.end() - 1))
    return out


# ------------------------------------------------------------------------------------------- walking


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


# ------------------------------------------------------------------------------------------- IAM


@dataclass
class Statement:
    owner: str  # resource logical id (and policy name)
    body: dict

    @property
    def role(self) -> str:
        return self.owner.split("/")[0]

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("Action", []))

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource", []))


def iam_statements(cfn_doc: dict) -> list[Statement]:
    """Every identity and resource policy statement in a translated template (both Fn::If branches)."""
    out: list[Statement] = []
    for lid, res in cfn_doc["Resources"].items():
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


def grants(cfn_doc: dict, role: str) -> set[tuple[str, frozenset[str]]]:
    """What a role's inline policies allow: {(action, the template names its resources reference)}; a literal
    '*' resource appears as the name '*'."""
    out = set()
    for st in iam_statements(cfn_doc):
        if st.role != role or st.body.get("Effect") != "Allow":
            continue
        names = frozenset(refs_in(st.resources) | {"*" for r in st.resources if r == "*"})
        out.update((action, names) for action in st.actions)
    return out


# ------------------------------------------------------------------------------------------- ASL


def state_machines(asl: dict, path: str = "") -> Iterator[tuple[str, dict]]:
    """The state machine and every nested one (Map ItemProcessor/Iterator, Parallel Branches), with a path."""
    yield path or "/", asl
    for name, st in asl["States"].items():
        for key in ("ItemProcessor", "Iterator"):
            if key in st:
                yield from state_machines(st[key], f"{path}/{name}")
        for i, branch in enumerate(st.get("Branches", [])):
            yield from state_machines(branch, f"{path}/{name}[{i}]")


def all_states(asl: dict) -> dict[str, dict]:
    """Every state of the definition, nested ones included, by name (names are unique across the definition)."""
    out: dict[str, dict] = {}
    for _, machine in state_machines(asl):
        for name, st in machine["States"].items():
            assert name not in out, f"state name {name} used twice"
            out[name] = st
    return out


def successors(st: dict) -> list[str]:
    nxt = [st["Next"]] if "Next" in st else []
    nxt += [c["Next"] for c in st.get("Choices", [])]
    nxt += [st["Default"]] if "Default" in st else []
    nxt += [c["Next"] for c in st.get("Catch", [])]
    return nxt


def reachable(machine: dict, start: str | None = None) -> set[str]:
    """States of one (not nested) machine reachable from `start` (default StartAt)."""
    seen, todo = set(), [start or machine["StartAt"]]
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        todo.extend(successors(machine["States"][s]))
    return seen


def retry_budget(r: dict) -> float:
    """Worst-case seconds a retrier waits in total (jitter only shortens it)."""
    total, delay = 0.0, float(r.get("IntervalSeconds", 1))
    for _ in range(r.get("MaxAttempts", 3)):
        total += min(delay, r.get("MaxDelaySeconds", float("inf")))
        delay *= r.get("BackoffRate", 2.0)
    return total
