"""End to end: the Architect data action against the upstream stand-in.

Every answer has exactly the 7 fields of the output contract with their types, whatever the outcome; business
failures are answers with ``success: false`` and an ``error`` name, never failed invocations.
"""

from __future__ import annotations

import json

import pytest

from driver import DATA_ACTION_FIELDS, UPSTREAM_FAULT_ERRORS, data_action_problems
from stack import LocalStack
from support import EVENTS

pytestmark = pytest.mark.timeout(60, func_only=True)

INPUT_FILES = sorted(p.name for p in (EVENTS / "data-action").glob("*.json"))


def ask(stack: LocalStack, event: object) -> dict:
    """Invokes the data action; fails the test if the invocation itself failed."""
    invocation = stack.invoke("data-action", event, timeout=60)
    assert invocation.error_type is None, f"failed invocation: {invocation.error_type}: {invocation.error_message}"
    return invocation.payload


@pytest.mark.parametrize("name", INPUT_FILES)
def test_answer_to_each_sample_input(pipeline, name: str) -> None:
    """events/data-action/<name>: the 7 fields, the expected outcome (events/README.md)."""
    event = json.loads((EVENTS / "data-action" / name).read_text())
    invocation = pipeline.stack.invoke("data-action", event, timeout=60)
    assert data_action_problems(event, invocation) == []


def test_known_customer(pipeline) -> None:
    """12345 is John Doe, gold, 150.0, active."""
    output = ask(pipeline.stack, {"customer_id": "12345", "locale": "en-US"})
    assert set(output) == set(DATA_ACTION_FIELDS)
    assert output["success"] is True and output["error"] == ""
    assert (output["customer_name"], output["customer_tier"], output["customer_balance"],
            output["account_status"]) == ("John Doe", "gold", 150.0, "active")


def test_unknown_customer_is_not_found(pipeline) -> None:
    """404404 makes the upstream answer 404."""
    output = ask(pipeline.stack, {"customer_id": "404404", "locale": "en-US"})
    assert output["success"] is False and output["error"] == "NotFound"
    assert set(output) == set(DATA_ACTION_FIELDS)


def test_blank_id_is_a_validation_error_without_upstream_call(pipeline) -> None:
    """A blank id never reaches the upstream."""
    output = ask(pipeline.stack, {"customer_id": "  ", "locale": "en-US"})
    assert output["success"] is False and output["error"] == "ValidationError"
    assert pipeline.stack.upstream.stats() == {}


def test_id_cannot_inject_query_parameters(pipeline) -> None:
    """``a&id=b#c`` never gives the upstream a second id or drops the locale."""
    output = ask(pipeline.stack, {"customer_id": "a&id=b#c"})
    assert output["error"] in ("NotFound", "ValidationError")
    stats = pipeline.stack.upstream.stats()
    assert "multipleIds" not in stats and "missingLocale" not in stats, stats


@pytest.mark.parametrize(("customer_id", "error"), sorted(UPSTREAM_FAULT_ERRORS.items()))
def test_upstream_faults_are_answers_not_failures(pipeline, customer_id: str, error: str) -> None:
    """An upstream 500, a body that is not JSON or not the expected shape, a timeout: still the 7 fields."""
    event = {"customer_id": customer_id, "locale": "en-US"}
    invocation = pipeline.stack.invoke("data-action", event, timeout=60)
    assert data_action_problems(event, invocation) == []
    assert invocation.payload["error"] == error


def test_a_repeat_caller_is_found_in_what_the_pipeline_stored(pipeline) -> None:
    """customer.start through the pipeline stores the caller's keyed hash; recent-contact then finds that
    conversation from the caller's number in another spelling, and leaves it out when it is the current one."""
    import random
    import time

    number = "+3245" + "".join(random.choice("0123456789") for _ in range(7))
    conversation = pipeline.new_conversation()
    start = pipeline.event("customer-start", conversation)
    body = start["detail"]["eventBody"]
    body.update({"ani": f"tel:{number}", "mediaType": "VOICE", "eventTime": int(time.time() * 1000) - 60_000})
    pipeline.deliver([start])
    item = pipeline.item(conversation)
    assert item is not None and len(item.get("customerKey", "")) == 64, item
    assert number[1:] not in json.dumps(item, default=str), "the raw number is stored"

    spaced = f"tel:{number[:3]} {number[3:6]} {number[6:]}"
    answer = ask(pipeline.stack, {"action": "recent-contact", "inputs": {"ani": spaced, "window_hours": 1}})
    assert answer["success"] is True and answer["found"] is True, answer
    assert answer["last_conversation_id"] == conversation and answer["contacts_in_window"] == 1, answer
    assert 0 <= answer["hours_since_last"] < 1, answer
    current = ask(pipeline.stack, {"action": "recent-contact",
                                   "inputs": {"ani": f"tel:{number}", "conversation_id": conversation}})
    assert (current["success"], current["found"], current["contacts_in_window"]) == (True, False, 0), current


def test_an_unknown_action_lists_what_the_function_serves(pipeline) -> None:
    answer = ask(pipeline.stack, {"action": "no-such-action", "customer_id": "12345"})
    assert answer["success"] is False and answer["error"] == "ValidationError", answer
    assert answer["message"] == "Unknown action. This function serves: customer-lookup, recent-contact.", answer
    assert set(answer) == set(DATA_ACTION_FIELDS), "the default action's full output"
