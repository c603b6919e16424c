"""The template rejects every value the code rejects at init.

For each template parameter a function reads through an environment variable, the built binary is started with
that variable set to probe values (the parameter's bounds and one past them, and values that are commonly wrong:
empty, zero, negative, fractional, huge, words). The binary reads its settings first, so a value it refuses prints
`Config.Invalid` naming the variable; a value it takes gets it as far as asking for the Runtime API. Whenever the
code refuses a value, CloudFormation must refuse it too (MinValue/MaxValue, AllowedPattern, AllowedValues):
otherwise a stack deploys and every cold start fails.

Needs the debug binaries (`make build`; `make test` builds them before this runs).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))

import cfn  # noqa: E402 - needs the path above

TEMPLATE = cfn.load(REPO / "template.yaml")
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug"
COMMON_PROBES = ["", " ", "0", "-1", "0.5", "1", "1.5", "2", "5", "20", "20.5", "21", "59", "60", "60.5", "61",
                 "100", "500", "900", "901", "1000", "1001", "10000", "10001", "36500", "36501", "100000",
                 "100001", "1e3", "abc", "none", "true", "false", "TRUE"]
# Values of the variables that are not under test: what the template would give them, minus network lookups.
BASE_ENV = {
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline",
    "EVENT_DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/events-dlq",
    "DYNAMODB_TABLE_NAME": "conversations",
    "ENRICHMENT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/enrichment",
    "ENRICHMENT_DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/enrichment-dlq",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    "GENESYS_CLIENT_ID": "client", "GENESYS_CLIENT_SECRET": "secret",  # instead of the secret's ARN
    "EXTERNAL_API_URL": "https://api.example.com/customers",
}
# Variables fed from a parameter whose value the function reads from the network, not checked at init.
NOT_PROBED = {"GENESYS_CREDENTIALS_SECRET_ARN", "EXTERNAL_API_TOKEN_SECRET_ARN"}


def parameter_of(expression: Any) -> str | None:
    """The parameter a variable's value comes from: `!Ref P`, or `!If [cond, !Ref P, AWS::NoValue]`."""
    if isinstance(expression, dict):
        if "Ref" in expression and expression["Ref"] in PARAMETERS:
            return expression["Ref"]
        if "Fn::If" in expression:
            _, then, otherwise = expression["Fn::If"]
            if otherwise == {"Ref": "AWS::NoValue"}:
                return parameter_of(then)
    return None


def cases() -> list[tuple[str, str, str]]:
    """(binary, variable, parameter) for every variable a function takes from a parameter."""
    found = []
    for resource in TEMPLATE["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for variable, expression in variables.items():
            parameter = parameter_of(expression)
            if parameter and variable not in NOT_PROBED:
                found.append((binary, variable, parameter))
    return found


def template_accepts(parameter: str, value: str) -> bool:
    """CloudFormation's check of a parameter value."""
    spec = PARAMETERS[parameter]
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return False
    if spec["Type"] == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return False
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return False
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return False
    return True


def code_accepts(binary: str, variable: str, value: str) -> bool:
    """Whether the function's init takes `variable=value` (it refuses with a Config.Invalid line naming it)."""
    env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", **BASE_ENV, variable: value}
    done = subprocess.run([TARGET / binary], env=env, capture_output=True, text=True, timeout=30, check=False)
    out = done.stdout + done.stderr
    return not ("Config.Invalid" in out and variable in out)


def probes(parameter: str) -> list[str]:
    spec = PARAMETERS[parameter]
    values = list(COMMON_PROBES)
    for key in ("MinValue", "MaxValue"):
        if key in spec:
            bound = int(spec[key])
            values += [str(bound - 1), str(bound), str(bound + 1)]
    values += [str(v) for v in spec.get("AllowedValues", [])]
    if "Default" in spec:
        values.append(str(spec["Default"]))
    return sorted(set(values))


CASES = cases()


def test_the_parameters_under_test_are_the_ones_expected() -> None:
    names = {parameter for _, _, parameter in CASES}
    # A new parameter that reaches a function is picked up by itself; this guards against the lookup breaking.
    assert {"ExternalApiTimeout", "GenesysTimeout", "EnrichTopics", "RecordTtlDays", "BatchMaxEvents",
            "GenesysRequestsPerMinute", "GenesysMultigetMax", "EnrichDelaySeconds"} <= names


@pytest.mark.parametrize(("binary", "variable", "parameter"), CASES, ids=[f"{p}-{v}" for _, v, p in CASES])
def test_template_refuses_what_the_code_refuses(binary: str, variable: str, parameter: str) -> None:
    if not (TARGET / binary).exists():
        pytest.fail(f"{TARGET / binary} is not built: run `make build` first")
    default = str(PARAMETERS[parameter].get("Default", ""))
    if "Default" in PARAMETERS[parameter]:
        assert code_accepts(binary, variable, default), f"{variable}={default!r} (the default) fails init"
    holes = [value for value in probes(parameter)
             if template_accepts(parameter, value) and not code_accepts(binary, variable, value)]
    assert holes == [], (f"{parameter} accepts {holes!r}, which {binary} refuses at init ({variable}): "
                         "tighten the parameter's MinValue/MaxValue/AllowedPattern")
