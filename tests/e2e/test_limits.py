"""The local stack holds every payload to AWS's quotas (local/limits.py), where moto and cargo lambda watch do not,
and the pipeline stays within them at its largest settings with its largest realistic events.

On AWS a state over 256 KiB fails with States.DataLimitExceeded, which no Catch catches: the batch reaches no
dead-letter queue. Locally such a run is refused loudly, so a test fails where AWS would."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import boto3
import pytest
from conftest import E2E_ENVIRONMENT, Dispatcher
from support import Pipeline

import cfn
from bridge import forward
from limits import STATE_QUOTA
from run import DEAD_LETTERED, STORED, SUPERSEDED, UNACCOUNTED
from stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
# The largest settings the template allows for the batch (BatchMaxEvents and FanoutBatchSize, read from template.yaml:
# the first generated from BATCH_MAX_EVENTS's declaration), BATCH_MAX_BYTES 200 KiB (fanout's largest), and the event
# source gathering for 5 s.
PARAMETERS = cfn.load(REPO / "template.yaml")["Parameters"]
LARGEST = {"BatchMaxEvents": re.search(r"to (\d+)$", PARAMETERS["BatchMaxEvents"]["ConstraintDescription"]).group(1),
           "FanoutBatchSize": str(PARAMETERS["FanoutBatchSize"]["MaxValue"]), "FanoutBatchWindowSeconds": "5"}
NOTE = "The customer asked about a plan upgrade, the invoice of last month and a refund for the double charge. "


@pytest.fixture(scope="module")
def largest(dispatcher: Dispatcher):
    """A stack of its own, at the largest settings."""
    with LocalStack("e2e-largest", env_overrides={**E2E_ENVIRONMENT, "BATCH_MAX_BYTES": "204800"},
                    parameters=LARGEST, on_result=dispatcher,
                    on_status=lambda text: print(f"[largest stack] {text}", flush=True)) as running:
        yield running


def big(pipeline: Pipeline, name: str, conversation: str, note: int) -> dict:
    """A realistic enrich-topic event made as large as Genesys makes them: a caller, a long wrap-up note."""
    event = pipeline.event(name, conversation)
    body = event["detail"]["eventBody"]
    body["ani"], body["dnis"] = "tel:+3212345678", "tel:+3280012345"
    body["wrapupNotes"] = (NOTE * (note // len(NOTE) + 1))[:note]
    return event


def test_the_largest_settings_with_the_largest_events_stay_within_every_quota(largest: LocalStack,
                                                                              dispatcher: Dispatcher):
    largest.reset()
    pipeline = Pipeline(largest)
    dispatcher.target = pipeline.run
    events = []
    for _ in range(150):
        conversation = pipeline.new_conversation()
        for name in ("customer-end", "acw", "user-end"):
            events.append(big(pipeline, name, conversation, note=4000))
    invalid = pipeline.event("acw", "not-a-uuid")  # validate dead-letters it: its letter travels with the batch
    events.append(invalid)
    pipeline.deliver(events, timeout=240)
    report = pipeline.report()
    assert report["limitViolations"] == [], report["limitViolations"]
    assert report["accounting"][UNACCOUNTED] == 0, report["unaccounted"]
    a = report["accounting"]
    assert a[STORED] + a[SUPERSEDED] == len(events) - 1 and a[DEAD_LETTERED] == 1, a
    # Full batches: each execution as large as the budget allows, none over it.
    sizes = [len(json.loads(e["input"])["events"]) for e in pipeline.executions()]
    assert max(sizes) >= 25 and len(sizes) < len(events) / 10, sizes
    biggest = max(len(e["input"].encode()) for e in pipeline.executions())
    print(f"{len(sizes)} executions of up to {max(sizes)} events; largest execution input {biggest} bytes; "
          f"largest Task payload {largest.bridge.violations.largest} bytes")
    assert largest.bridge.violations.largest <= 200 * 1024


def test_the_local_stack_refuses_a_payload_over_a_quota_loudly(pipeline: Pipeline):
    """What AWS refuses or fails uncatchably, the local stack refuses too, and records it as a violation."""
    stack = pipeline.stack
    huge = "x" * (STATE_QUOTA + 1)
    # A Task input over 256 KiB: on AWS, States.DataLimitExceeded before the function is invoked.
    status, _, _ = forward(f"http://127.0.0.1:{stack.bridge.port}", "POST",
                           "/2015-03-31/functions/process/invocations",
                           json.dumps({"batch": {"events": [], "deadLetters": [], "pad": huge}}).encode(),
                           {"Content-Type": "application/json"}, 60)
    assert status == 413
    # A StartExecution input over 256 KiB: AWS refuses the call.
    proxied = boto3.client("stepfunctions", endpoint_url=stack.aws_proxy.url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
    with pytest.raises(proxied.exceptions.ClientError) as refused:
        proxied.start_execution(stateMachineArn=stack.state_machine_arn, name=f"huge-{uuid.uuid4()}",
                                input=json.dumps({"events": [], "pad": huge}))
    assert "ValidationException" in str(refused.value)
    # An EventBridge event over 1 MiB never reaches the rule.
    stack.send_to_buffer({"detail": {"pad": "x" * (1024 * 1024)}})
    found = stack.limit_violations(executions=False)
    assert len(found) == 3, found
    assert any("Task input of process" in v and "States.DataLimitExceeded" in v for v in found), found
    assert any("StartExecution input" in v for v in found) and any("EventBridge event" in v for v in found)
    stack.bridge.reset()
    stack.aws_proxy.reset()
    stack.rule_violations.clear()
