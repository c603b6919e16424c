"""End to end: Genesys EventBridge events through the buffer queue, fanout, the state machine and into DynamoDB,
with enrichment from the Genesys stand-in afterwards.

Every event must be accounted for (stored, superseded, skipped with a reason, or dead-lettered with an error),
executions carry batches, a redelivery writes nothing twice, a bad event costs only itself.
"""

from __future__ import annotations

import pytest

from driver import event_id
from run import DEAD_LETTERED, SKIPPED, STORED, SUPERSEDED
from support import Pipeline, load_event

pytestmark = pytest.mark.timeout(150, func_only=True)

CONVERSATION_TIMELINE = ["customer-start", "flow-start", "flow-end", "acd-start", "acd-end", "user-start",
                         "customer-end", "user-end", "acw", "wrapup", "flow-outcome", "contact"]
NOT_CONVERSATION = ["audit", "queue-conversation", "transcription"]


def test_every_event_is_accounted_for_and_the_item_is_the_newest_enriched(pipeline: Pipeline) -> None:
    """A burst: stored + superseded + skipped + dead-lettered == events, the item holds the newest event, enriched."""
    conversation = pipeline.new_conversation()
    timeline = [pipeline.event(name, conversation) for name in CONVERSATION_TIMELINE]
    others = [pipeline.event(name, conversation) for name in NOT_CONVERSATION]
    malformed = [load_event("fanout/malformed-string.json"), load_event("fanout/malformed-number.json"),
                 load_event("fanout/malformed-missing-id.json")]
    pipeline.deliver(timeline + others + [timeline[6]] + malformed)

    report = pipeline.report()

    a = report["accounting"]
    assert a["unaccounted"] == 0, report["unaccounted"]
    assert a[STORED] + a[SUPERSEDED] == len(timeline), a
    assert a[SKIPPED] == len(NOT_CONVERSATION) + 1, report["skipped"]  # + the event without an id
    assert a[DEAD_LETTERED] == 2, report["deadLetters"]
    reasons = {s["reason"].split(":")[0] for s in report["skipped"]}
    assert reasons == {"not a conversation detail event", "no event id"}, reasons
    newest = max(timeline, key=lambda e: (e["detail"]["eventBody"]["eventTime"], e["id"]))
    item = pipeline.item(conversation)
    assert item["lastEventId"] == newest["id"], item
    assert item["enriched"] is True and item["customerParticipantName"] == "John Doe", item
    assert report["duplicatedWrites"] == [] and report["itemsNotAtNewestEvent"] == []
    assert report["enrichment"]["missing"] == []


def test_executions_carry_batches(pipeline: Pipeline) -> None:
    """30 events of 10 conversations arrive together: a couple of executions, far under a transition each, and one
    write per conversation (save coalesces a conversation's events: the newest wins, nothing is lost)."""
    events = []
    for _ in range(10):
        conversation = pipeline.new_conversation()
        events += [pipeline.event(name, conversation) for name in ("customer-start", "customer-end", "acw")]
    pipeline.deliver(events)

    report = pipeline.report()
    executions = pipeline.executions()

    a = report["accounting"]
    assert a[STORED] + a[SUPERSEDED] == 30 and a["unaccounted"] == 0, a
    # One write per conversation per batch: only the newest event of each can win the item.
    event_writes = sum(n for (_conversation, event), n in pipeline.stack.aws_proxy.writes.items() if event)
    assert a[STORED] == event_writes and 10 <= event_writes < 30, (a, event_writes)
    assert report["itemsNotAtNewestEvent"] == [] and report["duplicatedWrites"] == []
    assert 1 <= len(executions) <= 3, [e["name"] for e in executions]
    assert all(e["status"] == "SUCCEEDED" for e in executions)
    assert report["stateTransitions"] / 30 <= 0.25, report["stateTransitions"]
    assert report["startExecutionCalls"] / 30 <= 0.1, report["startExecutionCalls"]
    assert report["enrichment"]["enriched"] == 10
    assert report["genesys"]["apiRequests"] <= 3, report["genesys"]


def test_a_redelivered_event_is_written_once(pipeline: Pipeline) -> None:
    """The same event delivered again after it was stored: its write is a no-op (duplicate)."""
    conversation = pipeline.new_conversation()
    event = pipeline.event("customer-end", conversation)
    pipeline.deliver([event])
    pipeline.deliver([event])

    assert pipeline.fates()[event_id(event)].kind == STORED
    writes = [n for (c, e), n in pipeline.stack.aws_proxy.writes.items() if e == event_id(event)]
    assert writes == [1], pipeline.stack.aws_proxy.writes


def test_an_older_event_arriving_late_does_not_overwrite_a_newer_one(pipeline: Pipeline) -> None:
    """acw first, then customer-start (older): the item keeps acw; customer-start is superseded."""
    conversation = pipeline.new_conversation()
    newer, older = pipeline.event("acw", conversation), pipeline.event("customer-start", conversation)
    pipeline.deliver([newer])
    pipeline.deliver([older])

    fates = pipeline.fates()
    assert fates[event_id(older)].kind == SUPERSEDED, fates[event_id(older)]
    assert pipeline.item(conversation)["lastEventId"] == event_id(newer)


def test_a_bad_event_costs_only_itself(pipeline: Pipeline) -> None:
    """A batch with an invalid event: the others are stored, the execution succeeds, the bad one is dead-lettered
    alone with its reason and its own input to redrive."""
    conversation = pipeline.new_conversation()
    good = [pipeline.event(name, conversation) for name in ("customer-start", "customer-end")]
    bad = pipeline.event("acw", conversation)
    bad["detail"]["eventBody"]["conversationId"] = bad["detail"]["eventBody"]["conversationId"].replace("-", "")
    pipeline.deliver(good + [bad])

    fates = pipeline.fates()
    # One write for the conversation: its newest event stored, the older one superseded by it.
    assert [fates[event_id(e)].kind for e in good] == [SUPERSEDED, STORED]
    assert fates[event_id(bad)].kind == DEAD_LETTERED
    assert letter_id_is_deterministic(pipeline, bad)
    (execution,) = pipeline.executions()
    assert execution["status"] == "SUCCEEDED"
    (letter,) = [m["body"] for m in pipeline.dead_letters() if m["body"]["eventId"] == event_id(bad)]
    assert letter["error"] == "Event.Invalid" and letter["stage"] == "validate", letter
    assert letter["cause"] == "$.events[2].conversationId: is not a UUID" or "conversationId" in letter["cause"]
    assert letter["executionId"] == execution["executionArn"]
    assert letter["input"]["events"][0]["eventId"] == event_id(bad)


def letter_id_is_deterministic(pipeline: Pipeline, event: dict) -> bool:
    """The dead letter of `event` carries the deadLetterId docs/contracts.md derives (execution, stage, event)."""
    import hashlib

    (letter,) = [m["body"] for m in pipeline.dead_letters() if m["body"]["eventId"] == event_id(event)]
    key = f"{letter['executionId']}|{letter['stage']}|{letter['eventId']}"
    return letter["deadLetterId"] == hashlib.sha256(key.encode()).hexdigest()


def test_malformed_events_go_to_the_event_dead_letter_queue_with_the_reason(pipeline: Pipeline) -> None:
    """Not events at all, and a conversation event without its eventTime: the event dead-letter queue, each with
    ERROR_CODE and ERROR_MESSAGE, never retried."""
    conversation = pipeline.new_conversation()
    no_time = pipeline.event("customer-end", conversation)
    del no_time["detail"]["eventBody"]["eventTime"]
    pipeline.deliver([load_event("fanout/malformed-number.json"), no_time])

    letters = pipeline.dead_letters("EventDeadLetterQueue")
    codes = sorted(m["attributes"]["ERROR_CODE"] for m in letters)
    assert codes == ["Fanout.MalformedEvent", "Fanout.MalformedEvent"], letters
    timeless = next(m for m in letters if isinstance(m["body"], dict))
    assert timeless["body"]["id"] == event_id(no_time)
    assert "eventTime" in timeless["attributes"]["ERROR_MESSAGE"]
    assert pipeline.report()["accounting"]["unaccounted"] == 0


def test_direct_mode_starts_an_execution_per_event_named_after_it(pipeline: Pipeline) -> None:
    """The rule invoking fanout with one event (BufferMode direct): a batch of one, the execution named after it."""
    conversation = pipeline.new_conversation()
    events = [pipeline.event(name, conversation) for name in ("customer-start", "customer-end")]
    pipeline.deliver(events, mode="direct")

    names = sorted(e["name"] for e in pipeline.executions())
    assert names == sorted(event_id(e) for e in events)
    # Two executions run at once: customer-end may be saved first, then customer-start is superseded.
    assert all(f.kind in (STORED, SUPERSEDED) for f in pipeline.fates().values())
    assert pipeline.item(conversation)["lastEventId"] == event_id(events[1])
