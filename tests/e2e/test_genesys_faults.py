"""End to end: what enrichment does when Genesys Cloud misbehaves (faults injected into the stand-in).

The event is always stored first; its conversation is then enriched by the enrich function. Rate limits,
outages and conversations not indexed yet are handed back and retried until the details are written;
authentication failures and conversations never indexed end in the enrichment dead-letter queue with the reason.
"""

from __future__ import annotations

import pytest

from driver import event_id
from run import STORED
from support import Pipeline

pytestmark = pytest.mark.timeout(150, func_only=True)


def enrich_one(pipeline: Pipeline, conversation: str, timeout: float = 90) -> str:
    """Delivers customer-end (an enrich topic) for `conversation`; returns its EventBridge id."""
    event = pipeline.event("customer-end", conversation)
    pipeline.deliver([event], timeout=timeout)
    assert pipeline.fates()[event_id(event)].kind == STORED
    return event_id(event)


@pytest.mark.parametrize("status", [429, 503, 500])
def test_a_transient_fault_is_handed_back_and_retried_until_enriched(pipeline: Pipeline, status: int) -> None:
    """Two faulty answers in a row: enrich re-queues the conversation until Genesys answers."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"queue": [{"status": status, "retryAfter": 1, "times": 2}]})
    enrich_one(pipeline, conversation)

    item = pipeline.item(conversation)
    assert item["enriched"] is True, item
    stats = pipeline.stack.genesys.stats()
    assert stats["api"].get(str(status)) == 2 and stats["api"].get("200") == 1, stats
    assert pipeline.dead_letters("EnrichmentDeadLetterQueue") == []


def test_a_conversation_not_indexed_yet_is_retried(pipeline: Pipeline) -> None:
    """Absent from the first multi-get: asked again after ENRICH_RETRY_SECONDS, then enriched."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"notYetIndexed": {conversation: 1}})
    enrich_one(pipeline, conversation)

    assert pipeline.item(conversation)["enriched"] is True
    assert pipeline.stack.genesys.stats()["injected"].get("notYetIndexed") == 1


def test_a_conversation_never_indexed_is_dead_lettered_with_its_request(pipeline: Pipeline) -> None:
    """Unknown to Genesys: after ENRICH_MAX_ATTEMPTS tries, Genesys.NotYetAvailable in the enrichment queue's DLQ;
    the event itself stays stored."""
    conversation = pipeline.new_conversation(known=False)
    eid = enrich_one(pipeline, conversation)

    (letter,) = [m["body"] for m in pipeline.dead_letters("EnrichmentDeadLetterQueue")]
    assert letter["error"] == "Genesys.NotYetAvailable" and letter["stage"] == "enrich", letter
    assert letter["eventId"] == eid and letter["conversationId"] == conversation
    assert letter["input"]["requests"][0]["conversationId"] == conversation
    item = pipeline.item(conversation)
    assert item["lastEventId"] == eid and item["enriched"] is False


def test_the_api_refusing_every_token_dead_letters_auth_failed(pipeline: Pipeline) -> None:
    """A 401 even after a token refresh: Genesys.AuthFailed, not retried."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"rejectTokens": True})
    enrich_one(pipeline, conversation)

    (letter,) = [m["body"] for m in pipeline.dead_letters("EnrichmentDeadLetterQueue")]
    assert letter["error"] == "Genesys.AuthFailed", letter
    assert pipeline.stack.genesys.stats()["api"].get("401", 0) >= 2


def test_an_expired_token_is_refreshed(pipeline: Pipeline) -> None:
    """Every issued token is invalidated: enrich gets a 401, fetches a new token and succeeds."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"expireTokens": True})
    enrich_one(pipeline, conversation)

    assert pipeline.item(conversation)["enriched"] is True
    assert pipeline.stack.genesys.stats()["token"].get("200", 0) >= 1


def test_slow_genesys_within_the_timeout_still_enriches(pipeline: Pipeline) -> None:
    """A slow (1 s) analytics answer stays within GENESYS_TIMEOUT."""
    conversation = pipeline.new_conversation()
    pipeline.stack.genesys.set_faults({"delay": 1.0})
    enrich_one(pipeline, conversation)

    assert pipeline.item(conversation)["enriched"] is True
