"""local/run.py's report helpers on the malformed events chaos sends: they must read what is there and never raise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))

from run import event_body, short_topic  # noqa: E402


@pytest.mark.parametrize("event", [
    None, "text", [], {}, {"detail": "text"}, {"detail": None}, {"detail": {"eventBody": "text"}},
    {"detail": {"eventBody": ["x"]}}, {"detail": {}},
])
def test_event_body_is_empty_when_any_level_is_not_an_object(event: object) -> None:
    assert event_body(event) == {}


def test_event_body_is_the_eventbody_object() -> None:
    body = {"conversationId": "c-1"}
    assert event_body({"detail": {"eventBody": body}}) is body


def test_short_topic_strips_the_conversation_prefix_only() -> None:
    assert short_topic("v2.detail.events.conversation.{id}.customer.end") == "customer.end"
    assert short_topic("v2.users.{id}.presence") == "v2.users.{id}.presence"
    assert short_topic(None) == ""
