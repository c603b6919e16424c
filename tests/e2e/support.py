"""Helpers for the end-to-end tests: make events for fresh conversations, deliver them, follow their fates.

Events are the files of events/eventbridge/ re-issued for a new conversation id (and new EventBridge ids), so tests
never see each other's executions, items or dead letters even though moto keeps every execution of the session.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from driver import (
    AsyncInvoker,
    Delivery,
    ExecutionIndex,
    Fate,
    classify,
    dead_letters_by_event,
    event_id,
    failed_attempts,
    started_event_ids,
    wait_for_executions,
    with_new_ids,
)
from stack import REPO, LocalStack

EVENTS = REPO / "events"
SAMPLE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"


def load_event(path: str) -> Any:
    """A file of events/ (e.g. ``eventbridge/acw.json``) as JSON."""
    return json.loads((EVENTS / path).read_text())


def event_time(event: dict[str, Any]) -> int:
    """The eventBody's eventTime (epoch ms) of a conversation detail event."""
    return int(event["detail"]["eventBody"]["eventTime"])


class Pipeline:
    """One test's view of the stack: its conversations, its deliveries, their executions and fates."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.invoker = AsyncInvoker(stack, retry_delay=0.05)
        self.index = ExecutionIndex(stack)
        self.deliveries: list[Delivery] = []

    # -- making events ------------------------------------------------------------------------------------------

    def new_conversation(self, known: bool = True) -> str:
        """A fresh conversation id; `known` registers it with the Genesys stand-in (starting as the sample)."""
        conversation_id = str(uuid.uuid4())
        if known:
            start = event_time(load_event("eventbridge/customer-start.json"))
            self.stack.genesys.add_conversation(conversation_id, start)
        return conversation_id

    def event(self, name: str, conversation_id: str) -> dict[str, Any]:
        """events/eventbridge/<name>.json for `conversation_id`, with a new EventBridge id."""
        return with_new_ids(load_event(f"eventbridge/{name}.json"), conversation_id, SAMPLE_CONVERSATION)

    # -- delivering ---------------------------------------------------------------------------------------------

    def deliver(self, payload: Any, label: str = "") -> Delivery:
        """One EventBridge delivery to fanout (with Lambda's async retries and on-failure destination)."""
        delivery = self.invoker.deliver(payload, label or str(event_id(payload)))
        self.deliveries.append(delivery)
        return delivery

    def settle(self, timeout: float = 60) -> dict[str, list[dict[str, Any]]]:
        """Waits until every started execution of this test has finished; fails the test if one has not."""
        wanted = [eid for delivery in self.deliveries for eid in started_event_ids(delivery)]
        by_event = wait_for_executions(self.index, wanted, timeout, lambda _text: None)
        running = [e["name"] for eid in wanted for e in by_event.get(eid, []) if e["status"] == "RUNNING"]
        missing = [eid for eid in wanted if eid not in by_event]
        assert not running and not missing, f"after {timeout} s: running {running}, never started {missing}"
        return by_event

    # -- reading the outcome ------------------------------------------------------------------------------------

    def fates(self, timeout: float = 60) -> list[Fate]:
        """The fate of every delivered event, once the executions have settled."""
        by_event = self.settle(timeout)
        return classify(self.deliveries, by_event, dead_letters_by_event(self.stack), self.invoker.destination)

    def executions(self, eid: str) -> list[dict[str, Any]]:
        """The executions whose input carries EventBridge id `eid`."""
        return self.index.refresh().get(eid, [])

    def failed_attempts(self, eid: str) -> list[str]:
        """The errorTypes of the failed Lambda attempts in the execution of `eid`."""
        (execution,) = self.executions(eid)
        return failed_attempts(self.stack.history(execution["executionArn"]))

    def item(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored item of `conversation_id`, if any."""
        return next((i for i in self.stack.scan() if i.get("conversationId") == conversation_id), None)

    def dead_letter(self, eid: str) -> dict[str, Any] | None:
        """The pipeline dead-letter message of `eid`, if any."""
        return dead_letters_by_event(self.stack).get(eid)

    def destination_records(self) -> list[dict[str, Any]]:
        """The fanout on-failure destination records (bodies)."""
        return [json.loads(m["Body"]) for m in self.stack.peek_messages(self.invoker.destination)]


def asl_retry_interval(error: str, state: str = "ProcessInteraction") -> float:
    """IntervalSeconds of the ASL retrier of `state` that matches `error`."""
    definition = json.loads(Path(REPO / "state_machine.asl.json").read_text())
    for retrier in definition["States"][state].get("Retry", []):
        if error in retrier["ErrorEquals"]:
            return float(retrier.get("IntervalSeconds", 1))
    raise LookupError(f"{state} has no retrier for {error}")
