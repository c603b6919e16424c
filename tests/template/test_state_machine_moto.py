"""Runs state_machine.asl.json in moto's Step Functions interpreter (the local stack's executor) with
fake Lambda functions, to check the paths the static checks cannot: retries, the dead-letter message
and the Fail state each failure ends in. Real retry waits apply (a few seconds in total)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import defaultdict
from unittest import mock

import pytest

from template_support import ASL, INSTALL_HINT

try:
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import LambdaBackend
except ImportError as e:  # pragma: no cover - a missing tool must fail, not skip
    pytest.fail(f"moto is required ({e}): {INSTALL_HINT}", pytrace=False)

REGION = "us-east-1"
CONVERSATION = "2f7bf00a-7a3c-4a0a-9bd0-2a4f0e2c7d11"
EVENT = {
    "conversationId": CONVERSATION,
    "eventId": "adbcfa5b-1f47-4a7c-9d8e-0b7a4d8c8f01",
    "eventType": "v2.detail.events.conversation.{id}.customer.end",
    "eventTime": 1649237444949,
    "correlationId": "fe8a8579-0000-4000-8000-000000000000",
    "detail": {"eventBody": {"conversationId": CONVERSATION}},
}
RECORD = {"conversationId": CONVERSATION, "enriched": True, "lastEventTime": 1649237444949}


class FakeFunctions:
    """Scripted answers per function: a queue of ("ok", payload) / ("error", errorType); then a default."""

    defaults = {
        "validate": ("ok", {"isValid": True, "reason": ""}),
        "process": ("ok", RECORD),
        "save": ("ok", {"saved": True, "reason": "stored"}),
    }

    def __init__(self):
        self.script: dict[str, list] = defaultdict(list)
        self.calls: dict[str, list] = defaultdict(list)

    def invoke(self, function_name, _qualifier, body, _headers, response_headers):
        name = function_name.rsplit(":", 1)[-1]
        self.calls[name].append(json.loads(body) if body else None)
        kind, value = self.script[name].pop(0) if self.script[name] else self.defaults[name]
        if kind == "error":
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": value, "errorMessage": f"{value} from fake {name}"}).encode()
        return json.dumps(value).encode()


@pytest.fixture()
def pipeline():
    fakes = FakeFunctions()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), mock.patch.object(
        LambdaBackend, "invoke", fakes.invoke
    ):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "")
        arns = {}
        for name in ("validate", "process", "save"):
            arns[name] = lam.create_function(
                FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                Code={"ZipFile": buf.getvalue()},
            )["FunctionArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        definition = ASL.read_text(encoding="utf-8")
        for key, value in {
            "ValidateFunctionArn": arns["validate"], "ProcessFunctionArn": arns["process"],
            "SaveFunctionArn": arns["save"], "DeadLetterQueueUrl": dlq,
        }.items():
            definition = definition.replace("${" + key + "}", value)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sm = sfn.create_state_machine(name="pipeline", definition=definition, roleArn=role)["stateMachineArn"]

        def run(payload: dict) -> tuple[dict, list[dict]]:
            ex = sfn.start_execution(stateMachineArn=sm, name=f"e{time.monotonic_ns()}", input=json.dumps(payload))
            deadline = time.monotonic() + 60
            while True:
                d = sfn.describe_execution(executionArn=ex["executionArn"])
                if d["status"] != "RUNNING" or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            events = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
            d["history"] = [
                {k: v for k, v in e.items() if k not in ("timestamp", "id", "previousEventId")} for e in events
            ]
            msgs = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
            for m in msgs:
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            bodies = [json.loads(m["Body"]) for m in msgs]
            for b in bodies:
                # Every message carries what a redrive needs: the execution and its original input.
                assert b.pop("executionId") == d["executionArn"]
                assert b.pop("input") == json.loads(d["input"])
            return d, bodies

        yield fakes, run


def test_happy_path_keeps_the_input_and_adds_each_result(pipeline):
    fakes, run = pipeline
    d, dead = run(EVENT)
    assert d["status"] == "SUCCEEDED", json.dumps(d["history"], default=str)[:3000]
    out = json.loads(d["output"])
    assert out["validation"] == {"isValid": True, "reason": ""}
    assert out["record"] == RECORD
    assert out["save"] == {"saved": True, "reason": "stored"}
    assert {k: out[k] for k in EVENT} == EVENT
    assert dead == []
    assert fakes.calls["process"][0]["validation"]["isValid"] is True
    assert fakes.calls["save"][0]["record"] == RECORD


def test_invalid_event_is_dead_lettered_and_fails_as_event_invalid(pipeline):
    fakes, run = pipeline
    fakes.script["validate"].append(("ok", {"isValid": False, "reason": "eventTime missing"}))
    d, dead = run(EVENT)
    assert d["status"] == "FAILED"
    assert d.get("error") == "Event.Invalid"
    assert dead == [{
        "eventId": EVENT["eventId"], "conversationId": CONVERSATION, "eventType": EVENT["eventType"],
        "error": "Event.Invalid", "cause": "eventTime missing", "stage": "validate",
    }]
    assert not fakes.calls["process"]


def test_input_without_identity_fields_is_still_dead_lettered(pipeline):
    fakes, run = pipeline
    fakes.script["validate"].append(("ok", {"isValid": False, "reason": "conversationId missing"}))
    d, dead = run({"eventTime": 1})
    assert d["status"] == "FAILED" and d.get("error") == "Event.Invalid"
    assert dead == [{
        "eventId": "", "conversationId": "", "eventType": "",
        "error": "Event.Invalid", "cause": "conversationId missing", "stage": "validate",
    }]


@pytest.mark.parametrize(
    "function,error",
    [("process", "Genesys.AuthFailed"), ("process", "Genesys.BadResponse"), ("process", "Pipeline.InvalidInput"),
     ("save", "Store.Rejected"), ("validate", "Config.Invalid")],
)
def test_permanent_errors_are_dead_lettered_without_retry(pipeline, function, error):
    fakes, run = pipeline
    fakes.script[function].append(("error", error))
    d, dead = run(EVENT)
    assert d["status"] == "FAILED" and d.get("error") == "Pipeline.DeadLettered", d
    assert len(fakes.calls[function]) == 1, f"{error} was retried"
    (msg,) = dead
    assert msg["error"] == error and msg["stage"] == function
    assert json.loads(msg["cause"])["errorType"] == error
    assert msg["conversationId"] == CONVERSATION and msg["eventId"] == EVENT["eventId"]


@pytest.mark.parametrize(
    "function,error",
    [("process", "Genesys.RateLimited"), ("process", "Genesys.Unavailable"), ("save", "Store.Unavailable"),
     ("validate", "Lambda.ServiceException")],
)
def test_transient_errors_are_retried_then_succeed(pipeline, function, error):
    fakes, run = pipeline
    fakes.script[function].append(("error", error))
    d, dead = run(EVENT)
    assert d["status"] == "SUCCEEDED", json.dumps(d["history"], default=str)[:3000]
    assert len(fakes.calls[function]) == 2
    assert dead == []
