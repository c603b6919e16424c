"""The demo driver's share of AWS: EventBridge delivering events to fanout, and Lambda's asynchronous invoke.

* `AsyncInvoker.deliver` invokes fanout once per EventBridge delivery, the way a rule's Lambda target does
  (asynchronously, one event per invocation). A failed invocation is retried ``MaximumRetryAttempts`` times (from
  the function's EventInvokeConfig in template.yaml); when every try failed, the invocation record goes to the
  on-failure destination queue in Lambda's own record format.
* `classify` follows each delivered event to its fate - stored, skipped (with the reason) or dead-lettered (with
  the error) - from fanout's answers, the executions and the dead-letter queues.
* `expected_data_action_errors` / `data_action_problems` say what the data action must answer (events/README.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from stack import Invocation, LocalStack, function_arn
from upstream_standin import CUSTOMERS

PIPELINE_DLQ = "DeadLetterQueue"
STORED, SKIPPED, DEAD_LETTERED, UNACCOUNTED = "stored", "skipped", "dead-lettered", "unaccounted"
DATA_ACTION_FIELDS = {"success": bool, "customer_name": str, "customer_tier": str, "customer_balance": (int, float),
                      "account_status": str, "message": str, "error": str}
# The upstream stand-in's misbehaving ids and the data action's answer to each.
UPSTREAM_FAULT_ERRORS = {"500500": "ExternalApiError", "422422": "InvalidExternalResponse",
                         "200200": "InvalidExternalResponse", "408408": "ExternalApiTimeout"}
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


# -- EventBridge events ------------------------------------------------------------------------------------------

def events_in(payload: Any) -> list[Any]:
    """The EventBridge events inside one fanout payload: an event, an array of them, or an SQS event."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("Records"), list):
        return [json.loads(record.get("body", "null")) for record in payload["Records"]]
    return [payload]


def event_id(event: Any) -> str | None:
    """The EventBridge `id` of `event`, if it has one."""
    return event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None


def with_conversation(event: Any, old: str, new: str) -> Any:
    """`event` with conversation id `old` replaced by `new` everywhere (topicName, eventBody ...)."""
    return json.loads(json.dumps(event).replace(old, new))


def with_new_ids(event: dict[str, Any], conversation_id: str, old_conversation_id: str) -> dict[str, Any]:
    """A copy of `event` for another conversation, with a fresh EventBridge id and CorrelationId."""
    copy = with_conversation(event, old_conversation_id, conversation_id)
    copy["id"] = str(uuid.uuid4())
    copy.get("detail", {}).get("metadata", {})["CorrelationId"] = str(uuid.uuid4())
    return copy


# -- Lambda asynchronous invoke ------------------------------------------------------------------------------------

@dataclass
class Delivery:
    """One EventBridge delivery to fanout and what came of its invocation attempts."""

    label: str
    payload: Any
    attempts: list[Invocation] = field(default_factory=list)
    destination_message_id: str | None = None

    @property
    def failed(self) -> bool:
        """Whether every attempt failed (the record went to the on-failure destination)."""
        return not self.attempts or self.attempts[-1].error_type is not None

    @property
    def result(self) -> dict[str, Any]:
        """fanout's answer ``{started, duplicates, skipped, failed}`` ({} when it failed)."""
        last = self.attempts[-1] if self.attempts else None
        return last.payload if last and last.error_type is None and isinstance(last.payload, dict) else {}

    @property
    def events(self) -> list[Any]:
        """The EventBridge events this delivery carried."""
        return events_in(self.payload)


def destination_record(payload: Any, last: Invocation, attempts: int) -> dict[str, Any]:
    """The on-failure destination record Lambda writes after an asynchronous invocation's last retry."""
    return {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": function_arn("fanout") + ":$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": last.payload,
    }


class AsyncInvoker:
    """Lambda's asynchronous invoke of fanout, with the retries and on-failure destination of template.yaml."""

    def __init__(self, stack: LocalStack, retry_delay: float = 0.2):
        self.stack = stack
        self.retry_delay = retry_delay
        functions = stack.template.functions()
        fanout_id = next(lid for lid, binary in functions.items() if binary == "fanout")
        self.destination, self.max_retries = stack.template.on_failure_destination(fanout_id)

    def deliver(self, payload: Any, label: str) -> Delivery:
        """Invokes fanout with `payload` until it succeeds or the retries are spent."""
        delivery = Delivery(label, payload)
        for attempt in range(1 + self.max_retries):
            if attempt:
                time.sleep(self.retry_delay)
            delivery.attempts.append(self.stack.invoke("fanout", payload))
            if not delivery.failed:
                return delivery
        if self.destination:
            record = destination_record(payload, delivery.attempts[-1], len(delivery.attempts))
            sent = self.stack.client("sqs").send_message(QueueUrl=self.stack.queue_url(self.destination),
                                                         MessageBody=json.dumps(record))
            delivery.destination_message_id = sent["MessageId"]
        return delivery


# -- executions ----------------------------------------------------------------------------------------------------

class ExecutionIndex:
    """The state machine's executions by the eventId of their input (DescribeExecution cached once closed)."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self._closed: dict[str, dict[str, Any]] = {}

    def refresh(self) -> dict[str, list[dict[str, Any]]]:
        """``{eventId: [execution, ...]}`` for every execution, each as DescribeExecution returns it."""
        sfn = self.stack.client("stepfunctions")
        by_event: dict[str, list[dict[str, Any]]] = {}
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.stack.state_machine_arn)
        for listed in (e for page in pages for e in page["executions"]):
            arn = listed["executionArn"]
            described = self._closed.get(arn) or sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                self._closed[arn] = described
            key = str(json.loads(described.get("input") or "{}").get("eventId"))
            by_event.setdefault(key, []).append(described)
        return by_event


def started_event_ids(delivery: Delivery) -> list[str]:
    """Ids of the events fanout did not skip or fail, i.e. that have (or had) an execution."""
    if delivery.failed:
        return []
    result = delivery.result
    not_started = {s.get("eventId") for s in result.get("skipped", [])} | \
                  {f.get("eventId") for f in result.get("failed", [])}
    return [eid for eid in map(event_id, delivery.events) if eid and eid not in not_started]


def wait_for_executions(index: ExecutionIndex, event_ids: Iterable[str], timeout: float,
                        progress: Callable[[str], None]) -> dict[str, list[dict[str, Any]]]:
    """Polls until every event in `event_ids` has an execution and none is RUNNING, or `timeout` passes."""
    wanted = set(event_ids)
    started = time.monotonic()
    while True:
        by_event = index.refresh()
        mine = [e for eid in wanted for e in by_event.get(eid, [])]
        running = [e for e in mine if e["status"] == "RUNNING"]
        missing = [eid for eid in wanted if eid not in by_event]
        elapsed = time.monotonic() - started
        counts = {s: sum(1 for e in mine if e["status"] == s) for s in ("RUNNING", "SUCCEEDED", "FAILED")}
        progress(f"executions: {counts['RUNNING']} running, {counts['SUCCEEDED']} succeeded, "
                 f"{counts['FAILED']} failed, {len(missing)} not started yet  [{elapsed:4.1f} s]")
        if not running and not missing:
            return by_event
        if elapsed > timeout:
            return by_event
        time.sleep(0.2)


# -- fates ---------------------------------------------------------------------------------------------------------

@dataclass
class Fate:
    """What became of one delivered event."""

    label: str
    event_id: str | None
    kind: str
    reason: str
    execution: dict[str, Any] | None = None


def dead_letters_by_event(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """The pipeline dead-letter messages, by eventId."""
    found = {}
    for message in stack.peek_messages(PIPELINE_DLQ):
        body = json.loads(message["Body"])
        found[str(body.get("eventId"))] = body
    return found


def _execution_fate(label: str, eid: str, executions: list[dict[str, Any]],
                    dead_letters: dict[str, dict[str, Any]]) -> Fate:
    if not executions:
        return Fate(label, eid, UNACCOUNTED, "fanout started it but no execution exists")
    execution = executions[0]
    status = execution["status"]
    if status == "SUCCEEDED":
        save = json.loads(execution.get("output") or "{}").get("save", {})
        if save.get("saved"):
            return Fate(label, eid, STORED, save.get("reason", "stored"), execution)
        return Fate(label, eid, SKIPPED, f"not stored: {save.get('reason', '?')}", execution)
    if status == "FAILED" and eid in dead_letters:
        message = dead_letters[eid]
        return Fate(label, eid, DEAD_LETTERED, f"{message.get('error')} at {message.get('stage')}: "
                                               f"{str(message.get('cause'))[:160]}", execution)
    return Fate(label, eid, UNACCOUNTED, f"execution {status}" + (" without a dead-letter message"
                                                                  if status == "FAILED" else ""), execution)


def classify(deliveries: list[Delivery], by_event: dict[str, list[dict[str, Any]]],
             dead_letters: dict[str, dict[str, Any]], destination: str | None) -> list[Fate]:
    """The fate of every event of every delivery, in delivery order."""
    fates: list[Fate] = []
    seen: set[str] = set()
    for delivery in deliveries:
        skipped = {s.get("eventId"): s.get("reason", "") for s in delivery.result.get("skipped", [])}
        for event in delivery.events:
            eid = event_id(event)
            if delivery.failed:
                last = delivery.attempts[-1]
                where = f"; record in {destination}" if delivery.destination_message_id else ""
                fates.append(Fate(delivery.label, eid, DEAD_LETTERED,
                                  f"fanout failed {len(delivery.attempts)}x: {last.error_type}: "
                                  f"{last.error_message[:120]}{where}"))
            elif eid in skipped:
                fates.append(Fate(delivery.label, eid, SKIPPED, skipped[eid]))
            elif eid in seen:
                fates.append(Fate(delivery.label, eid, SKIPPED, _duplicate_reason(delivery)))
            else:
                fates.append(_execution_fate(delivery.label, str(eid), by_event.get(str(eid), []), dead_letters))
            if eid:
                seen.add(eid)
    return fates


def _duplicate_reason(delivery: Delivery) -> str:
    if delivery.result.get("duplicates"):
        return "duplicate delivery: the execution already exists, none started"
    return "duplicate delivery: StartExecution returned the execution still running"


def tally(fates: list[Fate]) -> dict[str, int]:
    """Counts of fates by kind."""
    counts = {STORED: 0, SKIPPED: 0, DEAD_LETTERED: 0, UNACCOUNTED: 0}
    for fate in fates:
        counts[fate.kind] += 1
    return counts


# -- execution history ---------------------------------------------------------------------------------------------

def failed_attempts(history: list[dict[str, Any]]) -> list[str]:
    """The errorType of every failed Lambda attempt in an execution history, in order."""
    return [event["lambdaFunctionFailedEventDetails"].get("error", "")
            for event in history if event["type"] == "LambdaFunctionFailed"]


# -- data action ---------------------------------------------------------------------------------------------------

def data_action_inputs(event: Any) -> dict[str, Any]:
    """The flat input object (the optional ``{"inputs": {...}}`` wrapper removed)."""
    if isinstance(event, dict) and isinstance(event.get("inputs"), dict):
        return event["inputs"]
    return event if isinstance(event, dict) else {}


def expected_data_action_errors(event: Any) -> set[str]:
    """The acceptable values of the output's `error` for `event` (events/README.md, data-action table)."""
    inputs = data_action_inputs(event)
    customer_id = "" if inputs.get("customer_id") is None else str(inputs["customer_id"]).strip()
    locale = inputs.get("locale")
    if not customer_id or (locale is not None and not LOCALE_RE.match(str(locale))):
        return {"ValidationError"}
    if customer_id in CUSTOMERS:
        return {""}
    if customer_id == "404404":
        return {"NotFound"}
    if customer_id in UPSTREAM_FAULT_ERRORS:
        return {UPSTREAM_FAULT_ERRORS[customer_id]}
    return {"NotFound", "ValidationError"}


def data_action_problems(event: Any, invocation: Invocation) -> list[str]:
    """What is wrong with the data action's answer to `event` (empty when it is right)."""
    if invocation.error_type:
        return [f"failed invocation {invocation.error_type} (the data action must never fail)"]
    output = invocation.payload
    if not isinstance(output, dict):
        return [f"not a JSON object: {output!r}"]
    problems = []
    if set(output) != set(DATA_ACTION_FIELDS):
        problems.append(f"fields {sorted(output)} != the 7 of the contract")
    for name, kind in DATA_ACTION_FIELDS.items():
        value = output.get(name)
        if name in output and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            problems.append(f"{name} is {type(value).__name__}")
    expected = expected_data_action_errors(event)
    if output.get("error") not in expected:
        problems.append(f"error {output.get('error')!r}, expected one of {sorted(expected)}")
    if output.get("success") != (output.get("error") == ""):
        problems.append("success disagrees with error")
    customer = CUSTOMERS.get(str(data_action_inputs(event).get("customer_id", "")).strip())
    if output.get("success") and customer and output.get("customer_name") != customer["name"]:
        problems.append(f"customer_name {output.get('customer_name')!r} != {customer['name']!r}")
    return problems


# -- progress line -------------------------------------------------------------------------------------------------

class Progress:
    """One status line: rewritten in place on a terminal, printed only when it changes otherwise."""

    def __init__(self, stream: Any = None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self._last = ""
        self._width = 0

    def __call__(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self.stream.flush()
        elif _without_clock(text) != _without_clock(self._last):
            self.stream.write(text + "\n")
        self._last = text

    def done(self) -> None:
        """Ends the line (terminal) so that the next output starts on a fresh line."""
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._width = 0
        self._last = ""


def _without_clock(text: str) -> str:
    return re.sub(r"\[[ \d.]+ s\]", "", text)
