"""End to end: what the pipeline does when Genesys Cloud misbehaves (faults injected into the stand-in).

Transient faults (429, 5xx, an expired token, a conversation not indexed yet) are retried until the event is
stored; authentication failures are not retried and end in the dead-letter queue as ``Genesys.AuthFailed``.
"""

from __future__ import annotations

import pytest

from driver import DEAD_LETTERED, STORED, event_id
from support import Pipeline, asl_retry_interval

pytestmark = pytest.mark.timeout(120, func_only=True)


def deliver_enriched_event(pipeline: Pipeline, conversation: str) -> str:
    """Delivers customer-end (an enriched topic) for `conversation`; returns its EventBridge id."""
    event = pipeline.event("customer-end", conversation)
    pipeline.deliver(event)
    return event_id(event)


@pytest.mark.parametrize(("status", "error"), [(429, "Genesys.RateLimited"), (503, "Genesys.Unavailable"),
                                               (500, "Genesys.Unavailable")])
def test_transient_fault_is_retried_until_stored(pipeline: Pipeline, status: int, error: str) -> None:
    """Two faulty answers in a row (more than process absorbs in-function): the state machine retries."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"queue": [{"status": status, "retryAfter": 1, "times": 2,
                                                  "conversationId": conversation}]})
    eid = deliver_enriched_event(pipeline, conversation)

    (fate,) = pipeline.fates()

    assert fate.kind == STORED, fate
    assert fate.execution["status"] == "SUCCEEDED"
    assert error in pipeline.failed_attempts(eid), pipeline.failed_attempts(eid)
    calls = pipeline.stack.genesys.stats()["conversations"][conversation]
    assert calls.get(str(status)) == 2 and calls.get("200") == 1, calls
    assert pipeline.item(conversation)["enriched"] is True


def test_bad_client_credentials_dead_letter_auth_failed(pipeline: Pipeline) -> None:
    """The token endpoint rejects the client: no retry, dead letter with Genesys.AuthFailed at process."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"badCredentials": True, "expireTokens": True})
    eid = deliver_enriched_event(pipeline, conversation)

    (fate,) = pipeline.fates()

    assert fate.kind == DEAD_LETTERED and fate.execution["status"] == "FAILED", fate
    message = pipeline.dead_letter(eid)
    assert message["error"] == "Genesys.AuthFailed" and message["stage"] == "process", message
    assert message["conversationId"] == conversation and message["eventType"].endswith("customer.end")
    assert pipeline.failed_attempts(eid) == ["Genesys.AuthFailed"]
    assert pipeline.stack.genesys.stats()["token"].get("401", 0) >= 1
    assert pipeline.item(conversation) is None


def test_api_401_even_after_token_refresh_dead_letters_auth_failed(pipeline: Pipeline) -> None:
    """The API rejects every token, even a fresh one: one refresh, then Genesys.AuthFailed."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"rejectTokens": True})
    eid = deliver_enriched_event(pipeline, conversation)

    (fate,) = pipeline.fates()

    assert fate.kind == DEAD_LETTERED, fate
    assert pipeline.dead_letter(eid)["error"] == "Genesys.AuthFailed"
    stats = pipeline.stack.genesys.stats()
    assert stats["token"].get("200", 0) >= 1, stats
    assert stats["conversations"][conversation].get("401", 0) >= 2, stats


def test_expired_token_is_refreshed(pipeline: Pipeline) -> None:
    """Every issued token is invalidated: process gets a 401, fetches a new token and succeeds."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"expireTokens": True})
    eid = deliver_enriched_event(pipeline, conversation)

    (fate,) = pipeline.fates()

    assert fate.kind == STORED, fate
    assert pipeline.failed_attempts(eid) == []
    assert pipeline.stack.genesys.stats()["token"].get("200", 0) >= 1


def test_slow_genesys_within_timeout_still_stores(pipeline: Pipeline) -> None:
    """A slow (1 s) analytics answer stays within GENESYS_TIMEOUT: stored without retries."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"delay": 1.0})
    eid = deliver_enriched_event(pipeline, conversation)

    (fate,) = pipeline.fates()

    assert fate.kind == STORED, fate
    assert pipeline.failed_attempts(eid) == []


@pytest.mark.skipif(asl_retry_interval("Genesys.NotYetAvailable") > 45,
                    reason="the ASL's NotYetAvailable retry interval is too long for an e2e test")
def test_conversation_not_indexed_yet_is_retried(pipeline: Pipeline) -> None:
    """One 404 (not indexed yet): Genesys.NotYetAvailable is retried after the ASL's interval and succeeds."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"notYetIndexed": {conversation: 1}})
    eid = deliver_enriched_event(pipeline, conversation)

    (fate,) = pipeline.fates(timeout=asl_retry_interval("Genesys.NotYetAvailable") * 2 + 30)

    assert fate.kind == STORED, fate
    assert pipeline.failed_attempts(eid) == ["Genesys.NotYetAvailable"]
