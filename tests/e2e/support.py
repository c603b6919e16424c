"""Helpers for the end-to-end tests: events for fresh conversations, delivered through the stack, and their fates.

Events are the files of events/eventbridge/ re-issued for a new conversation id (and new EventBridge ids), so tests
never see each other's executions, items or dead letters even though moto keeps every execution of the session.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from driver import with_new_ids
from run import Fate, Run
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
    """One test's view of the stack: its conversations, its deliveries and what became of them."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        sfn = stack.client("stepfunctions")
        before = {e["executionArn"] for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=stack.state_machine_arn) for e in page["executions"]}
        self.run = Run(stack, ignore_executions=before)

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

    def deliver(self, events: list[Any], mode: str = "sqs", timeout: float = 90) -> None:
        """Delivers `events` as the rule does and waits until the pipeline is idle (fails the test if it is not)."""
        self.run.deliver(events, mode=mode)
        assert self.run.wait_idle(timeout), f"the pipeline was still busy after {timeout} s"

    def report(self) -> dict[str, Any]:
        """The run's report, for this test's executions only."""
        return self.run.report()

    def fates(self) -> dict[str | None, Fate]:
        """Every delivered event's fate, by event id."""
        return {f.event_id: f for f in self.run.fates(self.run.collect())}

    def executions(self) -> list[dict[str, Any]]:
        """This test's executions (described, with their transitions)."""
        return self.run.collect().executions

    def item(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored item of `conversation_id`, if any."""
        return next((i for i in self.stack.scan() if i.get("conversationId") == conversation_id), None)

    def dead_letters(self, queue: str = "DeadLetterQueue") -> list[dict[str, Any]]:
        """The parsed messages of a dead-letter queue."""
        return self.run.collect().dead_letters.get(queue, [])
