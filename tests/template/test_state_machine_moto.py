"""Runs state_machine.asl.json in moto's Step Functions interpreter (the local stack's executor) with fake Lambda
functions, to check what the static checks cannot: the stages hand each other their answers, retries happen,
and a stage failing for the whole batch puts every event of the execution input in the dead-letter queue (one
message each, as docs/contracts.md describes it) before the execution fails. Real retry waits apply.

The fakes: moto's Lambda backend `invoke` is replaced (moto's state machine still calls it through boto3 and the
Lambda API, so a function error travels as X-Amz-Function-Error and its errorType is what Retry/Catch match). Each
function answers from a script, else by the contract's shapes (docs/contracts.md, The Tasks), and refuses a state
that is not the previous stage's answer with Pipeline.InvalidInput, as the real ones do."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest

from template_support import ASL, INSTALL_HINT, PERMANENT, catalogue, task_errors

try:
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import LambdaBackend
except ImportError as e:  # pragma: no cover - a missing tool must fail, not skip
    pytest.fail(f"moto is required ({e}): {INSTALL_HINT}", pytrace=False)

REGION = "us-east-1"
TOPIC = "v2.detail.events.conversation.{id}."
DEAD_LETTER_FIELDS = set(catalogue()["deadLetterFields"])
IDENTITY = ("eventId", "conversationId", "eventType", "correlationId")
EXECUTION_TIMEOUT = 90


def event(i: int, topic: str = "customer.end") -> dict:
    conversation = f"2f7bf00a-7a3c-4a0a-9bd0-{i:012x}"
    return {
        "conversationId": conversation,
        "eventId": f"adbcfa5b-1f47-4a7c-9d8e-{i:012x}",
        "eventType": TOPIC + topic,
        "eventTime": 1649237444949 + i,
        "correlationId": f"fe8a8579-0000-4000-8000-{i:012x}",
        "detail": {"eventBody": {"conversationId": conversation, "eventTime": "2022-04-06T09:30:44.949Z"}},
    }


def batch(n: int) -> dict:
    return {"events": [event(i) for i in range(n)]}


def manifest(ids: list[str]) -> dict:
    """docs/contracts.md, The Tasks: the count and the SHA-256 of the sorted event ids, each with a line feed."""
    return {"events": len(ids), "digest": hashlib.sha256("".join(i + "\n" for i in sorted(ids)).encode()).hexdigest()}


def ids_of(state: dict) -> list[str]:
    return [e.get("eventId", "") for e in state["events"]] + [d.get("eventId", "") for d in state["deadLetters"]]


def is_validated(state: Any) -> bool:
    return isinstance(state, dict) and isinstance(state.get("events"), list) and isinstance(state.get("deadLetters"), list)


def is_processed(state: Any) -> bool:
    return is_validated(state) and isinstance(state.get("records"), list) and isinstance(state.get("enrich"), list)


class InvalidInput(Exception):
    """A fake refusing a state that is not the previous stage's answer."""


def validate(state: Any) -> dict:
    if not isinstance(state, dict) or not isinstance(state.get("events"), list):
        return {"events": [], "deadLetters": [{"eventId": "", "error": "Event.Invalid", "input": state}],
                "manifest": manifest([""])}
    ids = [e.get("eventId", "") if isinstance(e, dict) else "" for e in state["events"]]
    return {"events": state["events"], "deadLetters": [], "manifest": manifest(ids)}


def accounts(state: dict) -> bool:
    """What process and save check: the answer's events and dead letters are the ones handed in."""
    return "manifest" not in state or manifest(ids_of(state)) == state["manifest"]


def process(state: Any) -> dict:
    if not is_validated(state) or not accounts(state):
        raise InvalidInput("$.batch: not validate's answer, or it does not account for every event")
    records = [{"conversationId": e["conversationId"], "lastEventId": e["eventId"]} for e in state["events"]]
    return {**state, "records": records, "enrich": [{"eventId": e["eventId"]} for e in state["events"]]}


def save(state: Any) -> dict:
    if not is_processed(state) or not accounts(state) or len(state["records"]) != len(state["events"]):
        raise InvalidInput("$.batch: not process's answer, or it does not account for every event")
    events = [{"eventId": e["eventId"], "outcome": "stored"} for e in state["events"]]
    return {"stored": len(events), "stale": 0, "duplicate": 0, "deadLettered": len(state["deadLetters"]),
            "enrichmentQueued": len(state["enrich"]), "events": events}


def dead_letter_id(execution: str, stage: str, index: int) -> str:
    """The state machine's deadLetterId for the element at `index` (docs/contracts.md, Dead letter)."""
    return hashlib.sha256(f"{execution}|{stage}|#{index}".encode()).hexdigest()


class FakeFunctions:
    """Scripted answers per function: a queue of ("ok", payload) / ("error", errorType); then the contract's."""

    behaviour: dict[str, Callable[[Any], Any]] = {"validate": validate, "process": process, "save": save}

    def __init__(self):
        self.script: dict[str, list] = defaultdict(list)
        self.calls: dict[str, list] = defaultdict(list)

    def fail(self, function: str, error: str, times: int = 1) -> None:
        self.script[function].extend([("error", error)] * times)

    def answer(self, function: str, payload: Any) -> None:
        self.script[function].append(("ok", payload))

    def invoke(self, function_name, _qualifier, body, _headers, response_headers):
        name = function_name.rsplit(":", 1)[-1]
        request = json.loads(body) if body else None
        self.calls[name].append(request)
        if self.script[name]:
            kind, value = self.script[name].pop(0)
        else:
            try:
                kind, value = "ok", self.behaviour[name](request["batch"])
            except InvalidInput as e:
                kind, value = "error", "Pipeline.InvalidInput"
        if kind == "error":
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": value, "errorMessage": f"{value} from fake {name}"}).encode()
        return json.dumps(value).encode()


class Pipeline:
    def __init__(self, sfn, sqs, machine: str, dlq: str, fakes: FakeFunctions):
        self.sfn, self.sqs, self.machine, self.dlq, self.fakes = sfn, sqs, machine, dlq, fakes

    def run(self, payload: Any) -> dict:
        """Starts an execution with `payload`, waits for its end; the description plus its history."""
        ex = self.sfn.start_execution(stateMachineArn=self.machine, name=f"e{time.monotonic_ns()}",
                                      input=json.dumps(payload))
        deadline = time.monotonic() + EXECUTION_TIMEOUT
        while True:
            d = self.sfn.describe_execution(executionArn=ex["executionArn"])
            if d["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, f"execution still running after {EXECUTION_TIMEOUT} s"
            time.sleep(0.05)
        d["history"] = self.sfn.get_execution_history(executionArn=ex["executionArn"], maxResults=1000)["events"]
        return d

    def dead_letters(self) -> list[dict]:
        """Every message of the dead-letter queue (drained): body parsed, plus "attributes"."""
        out = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                            WaitTimeSeconds=0).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                body = json.loads(m["Body"])
                out.append({"body": body, "attributes": m.get("MessageAttributes", {})})
                self.sqs.delete_message(QueueUrl=self.dlq, ReceiptHandle=m["ReceiptHandle"])


def entered(d: dict) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in d["history"] if e["type"].endswith("StateEntered")]


def lambda_failures(d: dict) -> list[str]:
    return [e["lambdaFunctionFailedEventDetails"]["error"] for e in d["history"] if e["type"] == "LambdaFunctionFailed"]


def debug(d: dict) -> str:
    return json.dumps([{k: v for k, v in e.items() if k != "timestamp"} for e in d["history"]], default=str)[-4000:]


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
        assert "${" not in definition
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sm = sfn.create_state_machine(name="pipeline", definition=definition, roleArn=role)["stateMachineArn"]
        yield Pipeline(sfn, sqs, sm, dlq, fakes)


def assert_dead_lettered(p: Pipeline, d: dict, *, stage: str, error: str, elements: list) -> list[dict]:
    """The execution failed with Pipeline.DeadLettered and the queue holds one message per element, with the
    catalogue's fields; returns the bodies in element order."""
    assert d["status"] == "FAILED", debug(d)
    assert d["error"] == "Pipeline.DeadLettered", debug(d)
    letters = p.dead_letters()
    assert len(letters) == len(elements), [l["body"] for l in letters]
    by_input = {json.dumps(l["body"]["input"], sort_keys=True): l for l in letters}
    out = []
    for index, element in enumerate(elements):
        letter = by_input.pop(json.dumps({"events": [element]}, sort_keys=True))  # one message per element
        body = letter["body"]
        assert set(body) == DEAD_LETTER_FIELDS
        assert body["deadLetterId"] == dead_letter_id(d["executionArn"], stage, index)
        assert body["stage"] == stage and body["error"] == error
        assert body["executionId"] == d["executionArn"]
        assert error in body["cause"], "the cause is the function's error"
        assert letter["attributes"] == {"ERROR_CODE": {"StringValue": error, "DataType": "String"}}
        out.append(body)
    return out


# ------------------------------------------------------------------------------------------ success


def test_happy_path_hands_each_answer_to_the_next_stage_and_outputs_saves(pipeline):
    p = pipeline
    payload = batch(3)
    d = p.run(payload)
    assert d["status"] == "SUCCEEDED", debug(d)
    assert entered(d) == ["ValidateBatch", "ProcessBatch", "SaveBatch"]
    execution = d["executionArn"]
    (v,), (pr,), (s,) = p.fakes.calls["validate"], p.fakes.calls["process"], p.fakes.calls["save"]
    assert v == {"batch": payload, "executionId": execution}
    assert pr == {"batch": validate(payload), "executionId": execution}
    assert s == {"batch": process(validate(payload)), "executionId": execution}
    assert json.loads(d["output"]) == save(process(validate(payload)))
    assert p.dead_letters() == []


def test_a_bad_event_does_not_fail_the_execution(pipeline):
    """Per-event dead letters are the Tasks' (save sends them): the state machine sends nothing and succeeds."""
    p = pipeline
    payload = batch(2)
    letter = {"eventId": payload["events"][1]["eventId"], "error": "Event.Invalid"}
    p.fakes.answer("validate", {"events": payload["events"][:1], "deadLetters": [letter],
                                "manifest": validate(payload)["manifest"]})
    d = p.run(payload)
    assert d["status"] == "SUCCEEDED", debug(d)
    assert p.fakes.calls["save"][0]["batch"]["deadLetters"] == [letter]
    assert json.loads(d["output"])["deadLettered"] == 1
    assert p.dead_letters() == []


# ------------------------------------------------------------------------------------------ retries


def test_save_unavailable_twice_is_retried_then_succeeds(pipeline):
    p = pipeline
    p.fakes.fail("save", "Store.Unavailable", times=2)
    d = p.run(batch(2))
    assert d["status"] == "SUCCEEDED", debug(d)
    assert lambda_failures(d) == ["Store.Unavailable", "Store.Unavailable"]
    calls = p.fakes.calls["save"]
    assert len(calls) == 3 and calls[0] == calls[1] == calls[2], "each retry gets the same state"
    assert json.loads(d["output"]) == save(calls[0]["batch"])
    assert p.dead_letters() == []


@pytest.mark.parametrize("stage,error", [(s, n) for s in ("process", "save") for n in task_errors(s)
                                         if n not in PERMANENT])
def test_every_transient_name_is_retried(pipeline, stage, error):
    p = pipeline
    p.fakes.fail(stage, error)
    d = p.run(batch(1))
    assert d["status"] == "SUCCEEDED", debug(d)
    assert len(p.fakes.calls[stage]) == 2
    assert p.dead_letters() == []


def test_a_lambda_service_error_is_retried(pipeline):
    p = pipeline
    p.fakes.fail("validate", "Lambda.TooManyRequestsException")
    d = p.run(batch(1))
    assert d["status"] == "SUCCEEDED", debug(d)
    assert len(p.fakes.calls["validate"]) == 2


# ------------------------------------------------------------------------------------------ dead letters


def test_save_rejected_is_not_retried_and_every_event_is_dead_lettered(pipeline):
    p = pipeline
    payload = batch(12)  # more than the Map's MaxConcurrency
    p.fakes.fail("save", "Store.Rejected")
    d = p.run(payload)
    assert len(p.fakes.calls["save"]) == 1, "Store.Rejected was retried"
    bodies = assert_dead_lettered(p, d, stage="save", error="Store.Rejected", elements=payload["events"])
    for element, body in zip(payload["events"], bodies):
        assert {f: body[f] for f in IDENTITY} == {f: element[f] for f in IDENTITY}
    history = [e["type"] for e in d["history"]]
    assert history.count("TaskSucceeded") == len(payload["events"]), "one sendMessage per event"


@pytest.mark.parametrize("stage,error", [(s, n) for s in ("process", "save") for n in task_errors(s) if n in PERMANENT])
def test_every_permanent_name_is_dead_lettered_without_retry(pipeline, stage, error):
    p = pipeline
    payload = batch(2)
    p.fakes.fail(stage, error)
    d = p.run(payload)
    assert len(p.fakes.calls[stage]) == 1, f"{error} was retried"
    assert_dead_lettered(p, d, stage=stage, error=error, elements=payload["events"])


@pytest.mark.parametrize("not_a_batch", [{"unexpected": True}, "garbage", [1, 2]], ids=["object", "string", "array"])
def test_validate_answering_something_that_is_not_a_batch_fails_process_with_invalid_input(pipeline, not_a_batch):
    """Only a hand-edited state machine does this: process refuses the state, and the whole batch (the execution
    input, not the bad state) is dead-lettered at stage process."""
    p = pipeline
    payload = batch(2)
    p.fakes.answer("validate", not_a_batch)
    d = p.run(payload)
    assert p.fakes.calls["process"][0]["batch"] == not_a_batch
    assert len(p.fakes.calls["process"]) == 1
    assert not p.fakes.calls["save"]
    assert_dead_lettered(p, d, stage="process", error="Pipeline.InvalidInput", elements=payload["events"])


def test_process_answering_something_that_is_not_a_batch_fails_save_with_invalid_input(pipeline):
    p = pipeline
    payload = batch(2)
    p.fakes.answer("process", {"records": "nope"})
    d = p.run(payload)
    assert len(p.fakes.calls["save"]) == 1
    assert_dead_lettered(p, d, stage="save", error="Pipeline.InvalidInput", elements=payload["events"])


def test_elements_without_their_identity_fields_are_dead_lettered_unidentified(pipeline):
    p = pipeline
    good, bare, scalar = event(1), {"eventTime": 5, "detail": {}}, "not an object"
    partial = {k: v for k, v in event(2).items() if k != "correlationId"}  # a hand-made input
    payload = {"events": [good, bare, scalar, partial]}
    p.fakes.fail("process", "Pipeline.InvalidInput")
    d = p.run(payload)
    bodies = assert_dead_lettered(p, d, stage="process", error="Pipeline.InvalidInput", elements=payload["events"])
    assert {f: bodies[0][f] for f in IDENTITY} == {f: good[f] for f in IDENTITY}
    for body in bodies[1:3]:
        assert {f: body[f] for f in IDENTITY} == {"eventId": "", "conversationId": "", "eventType": "",
                                                   "correlationId": None}
    # Partly identified: it keeps every identity field it has; the missing one is blank.
    assert {f: bodies[3][f] for f in IDENTITY} == {**{f: partial[f] for f in IDENTITY if f in partial},
                                                   "correlationId": None}, bodies[3]
    assert "SendUnidentifiedDeadLetter" in entered(d) and "SendPartialDeadLetter" in entered(d)


@pytest.mark.parametrize("whole", [{"unexpected": 1}, {"events": []}, {"events": "nope"}, [event(1)]],
                         ids=["no-events", "empty-events", "events-not-a-list", "bare-array"])
def test_an_input_without_an_events_array_is_dead_lettered_whole(pipeline, whole):
    """validate failing at init (Config.Invalid: never retried) on an input that is no batch: one message."""
    p = pipeline
    p.fakes.fail("validate", "Config.Invalid")
    d = p.run(whole)
    assert len(p.fakes.calls["validate"]) == 1, "Config.Invalid was retried"
    assert d["status"] == "FAILED" and d["error"] == "Pipeline.DeadLettered", debug(d)
    (letter,) = p.dead_letters()
    body = letter["body"]
    assert set(body) == DEAD_LETTER_FIELDS
    assert body == {**body, "eventId": "", "conversationId": "", "eventType": "", "correlationId": None,
                    "error": "Config.Invalid", "stage": "validate", "executionId": d["executionArn"], "input": whole}
    assert body["deadLetterId"] == hashlib.sha256(f"{d['executionArn']}|validate|#input".encode()).hexdigest()
    assert letter["attributes"] == {"ERROR_CODE": {"StringValue": "Config.Invalid", "DataType": "String"}}
    assert "DeadLetterWholeInput" in entered(d)


@pytest.mark.parametrize("payload", [batch(2), {"unexpected": 1}], ids=["each-event", "whole-input"])
def test_a_missing_dead_letter_queue_fails_as_dead_letter_unavailable(pipeline, payload):
    """The sends are retried (about 7 s with full jitter, 15 s at most), then the failure is only in the history."""
    p = pipeline
    p.sqs.delete_queue(QueueUrl=p.dlq)
    stage, error = ("save", "Store.Rejected") if "events" in payload else ("validate", "Config.Invalid")
    p.fakes.fail(stage, error)
    d = p.run(payload)
    assert d["status"] == "FAILED", debug(d)
    assert d["error"] == "Pipeline.DeadLetterUnavailable", debug(d)
    failed_sends = [e for e in d["history"] if e["type"] == "TaskFailed"]
    assert len(failed_sends) >= 5, "the send was not retried"
    # The original failure stays in the history for a redrive.
    assert lambda_failures(d) == [error]


# ------------------------------------------------------------------------------------------ answers outside the contract


def test_validate_answering_without_its_dead_letters_dead_letters_the_whole_batch(pipeline):
    """The silent loss of 0.3: validate drops deadLetters, the execution succeeded and the invalid event was gone."""
    p = pipeline
    payload = batch(3)
    answer = validate(payload)
    del answer["deadLetters"]
    answer["events"] = payload["events"][:2]
    p.fakes.answer("validate", answer)
    d = p.run(payload)
    assert not p.fakes.calls["save"]
    assert_dead_lettered(p, d, stage="process", error="Pipeline.InvalidInput", elements=payload["events"])


def test_process_answering_one_event_fewer_dead_letters_the_whole_batch(pipeline):
    p = pipeline
    payload = batch(3)
    answer = process(validate(payload))
    answer["events"], answer["records"] = answer["events"][:2], answer["records"][:2]
    p.fakes.answer("process", answer)
    d = p.run(payload)
    assert len(p.fakes.calls["save"]) == 1
    assert_dead_lettered(p, d, stage="save", error="Pipeline.InvalidInput", elements=payload["events"])


@pytest.mark.parametrize("stage", ["validate", "process"])
@pytest.mark.parametrize("answer", [None, 7, "x", []], ids=["null", "number", "string", "array"])
def test_a_stage_answering_something_that_is_not_an_object_dead_letters_the_whole_batch(pipeline, stage, answer):
    """A null answer used to become the whole state, and the next state's "$" path failed with States.Runtime,
    which no Catch catches: nothing was dead-lettered. Each answer now replaces $.events only."""
    p = pipeline
    payload = batch(2)
    p.fakes.answer(stage, answer)
    d = p.run(payload)
    following = {"validate": "process", "process": "save"}[stage]
    assert p.fakes.calls[following][0]["batch"] == answer
    assert_dead_lettered(p, d, stage=following, error="Pipeline.InvalidInput", elements=payload["events"])


def test_save_answering_null_ends_the_execution_without_a_runtime_error(pipeline):
    p = pipeline
    p.fakes.answer("save", None)
    d = p.run(batch(2))
    assert d["status"] == "SUCCEEDED", debug(d)
    assert p.dead_letters() == []


@pytest.mark.parametrize("stage", ["validate", "process", "save"])
def test_a_timeout_or_out_of_memory_is_retried_twice(pipeline, stage):
    """AWS reports a function's timeout or out-of-memory to Step Functions as Lambda.Unknown."""
    p = pipeline
    p.fakes.fail(stage, "Lambda.Unknown", times=2)
    d = p.run(batch(1))
    assert d["status"] == "SUCCEEDED", debug(d)
    assert len(p.fakes.calls[stage]) == 3


def test_an_input_that_is_not_an_object_is_dead_lettered_whole_even_when_validate_answers(pipeline):
    """validate's answer cannot be put at $.events of an array: States.ResultPathMatchFailure, caught."""
    p = pipeline
    whole = [event(1)]
    d = p.run(whole)
    assert d["status"] == "FAILED" and d["error"] == "Pipeline.DeadLettered", debug(d)
    (letter,) = p.dead_letters()
    assert letter["body"]["input"] == whole and letter["body"]["stage"] == "validate"
