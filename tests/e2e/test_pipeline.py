"""End to end: Genesys EventBridge events through fanout, the state machine and into DynamoDB.

Every event must be accounted for (stored, skipped with a reason, or dead-lettered with an error), a duplicate
delivery must not start a second execution, and malformed payloads must end in fanout's on-failure destination.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from driver import DEAD_LETTERED, SKIPPED, STORED, UNACCOUNTED, event_id, tally
from support import Pipeline, load_event

pytestmark = pytest.mark.timeout(120, func_only=True)

CONVERSATION_TIMELINE = ["customer-start", "flow-start", "flow-end", "acd-start", "acd-end", "user-start",
                         "customer-end", "user-end", "acw"]
NOT_CONVERSATION = ["audit", "queue-conversation", "transcription"]


def test_every_event_is_accounted_for(pipeline: Pipeline) -> None:
    """A burst of events: stored + skipped + dead-lettered == sent, and the item holds the newest event."""
    conversation = pipeline.new_conversation()
    timeline = [pipeline.event(name, conversation) for name in CONVERSATION_TIMELINE]
    others = [pipeline.event(name, conversation) for name in NOT_CONVERSATION]
    malformed = [load_event("fanout/malformed-string.json"), load_event("fanout/malformed-number.json"),
                 load_event("fanout/malformed-missing-id.json")]
    payloads = timeline + others + [timeline[6]] + malformed  # timeline[6]: customer-end delivered twice
    for payload in payloads:
        pipeline.deliver(payload)

    fates = pipeline.fates()

    counts = tally(fates)
    assert len(fates) == len(payloads)
    assert counts[STORED] + counts[SKIPPED] + counts[DEAD_LETTERED] == len(payloads), \
        [f"{f.label}: {f.kind} {f.reason}" for f in fates if f.kind == UNACCOUNTED]
    for fate in fates[len(timeline):len(timeline) + len(others)]:
        assert fate.kind == SKIPPED and fate.reason.startswith("not a conversation event: "), fate
    assert fates[len(timeline) + len(others)].kind == SKIPPED  # the duplicate
    assert [f.kind for f in fates[-3:]] == [DEAD_LETTERED, DEAD_LETTERED, SKIPPED]
    assert fates[-1].reason == "no event id"
    item = pipeline.item(conversation)
    assert item is not None and item["lastEventId"] == event_id(timeline[-1]), item
    assert item["enriched"] is True


def test_timeline_events_are_all_stored_in_order(pipeline: Pipeline) -> None:
    """Delivered one by one, each conversation event is stored and the item follows the newest."""
    conversation = pipeline.new_conversation()
    for name in ["customer-start", "customer-end", "acw"]:
        event = pipeline.event(name, conversation)
        pipeline.deliver(event)
        pipeline.settle()
        assert pipeline.item(conversation)["lastEventId"] == event_id(event)
    assert [f.kind for f in pipeline.fates()] == [STORED, STORED, STORED]


def test_duplicate_delivery_starts_no_second_execution(pipeline: Pipeline) -> None:
    """The same event twice - once while its execution runs, once after - gives one execution."""
    conversation = pipeline.new_conversation()
    event = pipeline.event("customer-end", conversation)
    pipeline.deliver(event)
    pipeline.deliver(event)
    pipeline.settle()
    late = pipeline.deliver(event)

    assert late.result["started"] == 0 and late.result["duplicates"] == 1, late.result
    assert len(pipeline.executions(event_id(event))) == 1
    assert [f.kind for f in pipeline.fates()] == [STORED, SKIPPED, SKIPPED]


def test_stale_event_is_not_stored_over_a_newer_one(pipeline: Pipeline) -> None:
    """An older event arriving after a newer one succeeds but does not overwrite the item."""
    conversation = pipeline.new_conversation()
    newer, older = pipeline.event("acw", conversation), pipeline.event("customer-start", conversation)
    pipeline.deliver(newer)
    pipeline.settle()
    pipeline.deliver(older)

    fates = pipeline.fates()

    assert fates[1].kind == SKIPPED and "stale" in fates[1].reason, fates[1]
    assert pipeline.item(conversation)["lastEventId"] == event_id(newer)


def test_malformed_payload_goes_to_the_fanout_destination(pipeline: Pipeline) -> None:
    """fanout fails on a payload that is not an event; after Lambda's retries the record is dead-lettered."""
    payload = load_event("fanout/malformed-number.json")
    delivery = pipeline.deliver(payload)

    assert delivery.failed and len(delivery.attempts) == 1 + pipeline.invoker.max_retries
    (record,) = pipeline.destination_records()
    assert record["requestPayload"] == payload
    assert record["responsePayload"]["errorType"] == "Fanout.MalformedEvent"
    assert record["requestContext"]["condition"] == "RetriesExhausted"


def test_sqs_batch_starts_each_event(pipeline: Pipeline) -> None:
    """An SQS event (sqs buffer mode) starts one execution per conversation event and reports no failures."""
    conversation = pipeline.new_conversation()
    events = [pipeline.event(name, conversation) for name in ["customer-end", "acw", "audit"]]
    batch = load_event("fanout/sqs.json")
    for record, event in zip(batch["Records"], events, strict=True):
        record["body"] = json.dumps(event)
        record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324 - SQS's checksum
    delivery = pipeline.deliver(batch)

    assert not delivery.failed
    assert delivery.result.get("batchItemFailures") == [], delivery.result
    end, acw, audit = pipeline.fates()
    assert acw.kind == STORED and audit.kind == SKIPPED, (acw, audit)
    # The two executions run concurrently: customer-end is stored, or found stale if acw was saved first.
    assert end.kind == STORED or (end.kind == SKIPPED and "stale" in end.reason), end
    assert pipeline.item(conversation)["lastEventId"] == event_id(events[1])
