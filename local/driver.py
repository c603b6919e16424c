"""The driver's share of AWS that moto does not play, and the data action's expected answers.

* `AsyncInvoker.deliver` invokes fanout once per EventBridge delivery, the way a rule's Lambda target does in
  direct mode (asynchronously, one event per invocation). A failed invocation is retried ``MaximumRetryAttempts``
  times (from the function's EventInvokeConfig in template.yaml); when every try failed, the invocation record goes
  to the on-failure destination queue in Lambda's own record format.
* `expected_data_action_errors` / `data_action_problems` say what the data action must answer (events/README.md).
* `Progress` is the one-line progress display of long runs.
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

from limits import MESSAGE_QUOTA, event_size
from stack import Invocation, LocalStack, function_arn
from upstream_standin import CUSTOMERS

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
        """Invokes fanout with `payload` until it succeeds or the retries are spent. A payload over an
        asynchronous invocation's 1 MiB is refused (a violation), as EventBridge and Lambda refuse it."""
        delivery = Delivery(label, payload)
        if not self.stack.rule_violations.check("an asynchronous invocation of fanout", event_size(payload),
                                                MESSAGE_QUOTA, "EventBridge / Lambda refuse it"):
            return delivery
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
