"""Chaos run: prove that nothing is lost and nothing is written twice, under duplicates, reordering and faults.

    .venv/bin/python local/chaos.py [--events 500] [--seed N] [--timeout 600] [--concurrency 2] ...

It starts the local stack (local/stack.py) with ``GENESYS_TIMEOUT=2`` and the fault proxy (local/fault_proxy.py)
between the functions and moto, then plays EventBridge (driver.AsyncInvoker: one fanout invocation per delivery,
Lambda's async retries, then the on-failure destination) for this load:

* ``--events`` conversation detail events: ``events / 5`` conversations x 5 topics (customer.start, user.start,
  customer.end, user.end, acw; the last three are enriched from the Genesys analytics API) with increasing
  ``eventTime`` per conversation; in every 20th conversation acw and user.end share their ``eventTime`` (the
  ``eventId`` breaks the tie);
* 10 % of them delivered twice (never in the same payload as the first delivery);
* the order shuffled, so older events of a conversation often arrive after newer ones;
* 30 % of events delivered inside JSON arrays of 2-5 events (custom-bus style), the rest one per invocation;
* events that must end up dead-lettered or skipped: ``--invalid`` events with a conversationId that is not a UUID
  (validate rejects them: pipeline DLQ, ``Event.Invalid``), ``--malformed`` events whose ``detail`` is not an object
  (the first inside an array with valid events, the others alone: fanout fails, Lambda retries twice, the record
  goes to FanoutDeadLetterQueue) and ``--foreign`` events that are not conversation events (fanout skips them).

Faults, all transient and capped so that every retry budget of state_machine.asl.json holds:

* Genesys stand-in: random 429 (``Retry-After: 1``; process waits it out once in-function), 503 and slow answers
  (3 s > GENESYS_TIMEOUT: a timeout) per analytics call, at most 2 in a row per conversation; queued for sure: one
  429, one 503, one slow answer, and two 429 in a row for 5 % of the conversations (more than process absorbs: the
  ASL's ``Genesys.RateLimited`` retrier); one "not indexed yet" 404 for 15 % of the conversations (the ASL retries
  ``Genesys.NotYetAvailable`` after 30 s); every token revoked twice while events are delivered (a 401: process
  refreshes once), the token endpoint answering 503 once after the second revocation; tokens live 60 s.
* Fault proxy (the functions' AWS calls only): 10 % of ``DynamoDB_20120810.UpdateItem`` answered with
  ProvisionedThroughputExceededException / ThrottlingException and 10 % of ``AWSStepFunctions.StartExecution``
  with ThrottlingException (not forwarded), at most 3 in a row per UpdateItem/execution name (the SDK retries them);
  2 % of each forwarded to moto and then answered 500 (a lost response: the write or start happened, the caller
  does not know); bursts for every 50th UpdateItem (6 throttles in a row: save's SDK gives up after 5, save raises
  ``Store.Unavailable``, the ASL retries) and every 100th execution name (9 in a row: fanout's SDK gives up after 8,
  the invocation fails ``Fanout.StartFailed``, Lambda's async retry delivers the payload again).

Definitions (every unique event must end in exactly one of the first four):

* **stored** - its execution SUCCEEDED and save answered ``saved: true`` (the conditional write succeeded); or,
  after a lost UpdateItem response, save's retry answered ``saved: false`` ("duplicate: event already stored" /
  "stale") while the proxy saw moto accept exactly one UpdateItem of this event (counted as "stored, ack lost").
* **superseded** - its execution SUCCEEDED and save answered ``saved: false`` "stale: stored event is newer" and no
  UpdateItem of it was ever accepted: a newer event of the same conversation was stored first. Accounted, not lost.
* **skipped** - fanout reported it in ``skipped`` with a reason (also inside the report of a failed invocation: a
  skip is final), and it has no execution.
* **dead-lettered** - its execution FAILED and the pipeline dead-letter queue holds a message with its eventId; or
  it has no execution and a FanoutDeadLetterQueue record's request payload carries it.
* **lost** - none of these: no execution and neither skipped nor in a DLQ; an execution FAILED without a DLQ
  message; an execution still RUNNING when the time bound is hit; ``saved: true`` without an accepted UpdateItem;
  "duplicate" without any accepted UpdateItem.
* **duplicated write** - an event with more than one execution, or with ``saved: true`` more than once across its
  executions' histories (GetExecutionHistory: LambdaFunctionSucceeded of save), or more than one UpdateItem of it
  accepted by moto (counted on the wire by the proxy).
* **started** - executions of the state machine (ListExecutions; execution names are the event ids).
* **duplicates suppressed** - StartExecution calls that reached Step Functions for a name that already had an
  execution and started none (the existing RUNNING execution returned, or ExecutionAlreadyExists), on the wire.

It asserts: lost = 0; duplicated writes = 0; started = the unique events that reach StartExecution; stored +
superseded + skipped + dead-lettered = unique events; each planned duplicate reached StartExecution and was
suppressed; only the invalid/malformed events are dead-lettered (with the right error) and only the foreign ones
skipped; every conversation's item holds its newest event by (eventTime, eventId) (lastEventId, lastEventTime,
lastEventType, enriched) and the table holds no other item; every fault kind was injected at least once.

It prints progress while executions run, a summary table, the faults injected (proxy and stand-in counters) and the
retries seen in the executions' histories, then ``VERDICT: PASS``/``FAIL``. Bounded: ``--timeout`` (default 600 s)
covers delivering and settling; executions still RUNNING then count as lost; collection gets 180 s more, after which
the run is aborted. Exit status: 0 pass, 1 a violation, 2 the stack failed or the hard bound was hit, 130 interrupted.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import random
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driver import (
    PIPELINE_DLQ,
    AsyncInvoker,
    Delivery,
    Progress,
    event_id,
    events_in,
    with_conversation,
)
from fault_proxy import SAVE_WRITE, START_EXECUTION, FaultProxy
from stack import REPO, LocalStack, StackError

EVENTS = REPO / "events"
SAMPLE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
TOPICS = ["customer-start", "user-start", "customer-end", "user-end", "acw"]
FOREIGN = ["audit", "queue-conversation", "transcription"]
ENRICHED = {"customer.end", "user.end", "acw"}

STORED, SUPERSEDED, SKIPPED, DEAD_LETTERED, LOST = "stored", "superseded", "skipped", "dead-lettered", "lost"
FATES = (STORED, SUPERSEDED, SKIPPED, DEAD_LETTERED, LOST)
VALID, INVALID, MALFORMED, FOREIGN_KIND = "valid", "invalid", "malformed", "foreign"
COLLECT_GRACE = 180.0


# -- configuration --------------------------------------------------------------------------------------------------

@dataclass
class ChaosConfig:
    """The load and the faults of one run (defaults: the full `make chaos` run)."""

    events: int = 500
    events_per_conversation: int = 5
    duplicate_share: float = 0.10
    array_share: float = 0.30
    invalid: int = 5
    malformed: int = 2
    foreign: int = 5
    seed: int = 20240601
    timeout: float = 600.0
    concurrency: int = 2
    genesys_timeout: float = 2.0
    # Genesys stand-in
    genesys_rates: dict[str, float] = field(default_factory=lambda: {"429": 0.06, "503": 0.04})
    slow_rate: float = 0.03
    slow_delay: float = 3.0
    genesys_max_consecutive: int = 2
    not_yet_indexed_share: float = 0.15
    token_ttl: int = 60
    token_revocations: tuple[float, ...] = (0.3, 0.6)  # share of deliveries done when every token is revoked
    # fault proxy
    throttle_rate: float = 0.10
    lost_response_rate: float = 0.02
    proxy_max_consecutive: int = 3
    # bursts longer than the SDK's retries: save's 5 attempts (-> Store.Unavailable, the ASL retries) and fanout's 8
    # (-> Fanout.StartFailed, Lambda's async retry); shares of UpdateItem identities / execution names
    put_burst_share: float = 0.02
    start_burst_share: float = 0.01
    # conversations whose first analytics call gets 429 twice in a row (process waits out the first Retry-After
    # in-function, then raises Genesys.RateLimited: the ASL retrier)
    rate_limited_twice_share: float = 0.05

    @property
    def conversations(self) -> int:
        """How many conversations carry the events."""
        return max(1, self.events // self.events_per_conversation)

    def proxy_rules(self) -> dict[str, dict[str, float]]:
        """The fault proxy's rules (each kind drawn in turn: the first hit wins)."""
        half = self.throttle_rate / 2
        return {SAVE_WRITE: {"ProvisionedThroughputExceeded": half, "DynamoDBThrottling": half / (1 - half),
                           "LostResponse": self.lost_response_rate},
                START_EXECUTION: {"SfnThrottling": self.throttle_rate, "LostResponse": self.lost_response_rate}}

    def proxy_bursts(self) -> dict[str, dict[str, Any]]:
        """Bursts one longer than the SDK's attempts (save 5, fanout 8)."""
        return {SAVE_WRITE: {"kind": "ProvisionedThroughputExceeded", "share": self.put_burst_share, "length": 6},
                START_EXECUTION: {"kind": "SfnThrottling", "share": self.start_burst_share, "length": 9}}


# -- the load ---------------------------------------------------------------------------------------------------------

@dataclass
class PlannedEvent:
    """One unique event of the run and what must become of it."""

    event_id: str
    kind: str  # VALID / INVALID / MALFORMED / FOREIGN_KIND
    event: dict[str, Any]
    conversation_id: str | None = None
    event_time: int | None = None
    topic: str = ""
    copies: int = 1


@dataclass
class Plan:
    """The unique events, the payloads to deliver (shuffled), and the conversations' first eventTimes."""

    events: dict[str, PlannedEvent]
    payloads: list[Any]
    conversation_starts: dict[str, int]

    def of_kind(self, kind: str) -> list[PlannedEvent]:
        """The planned events of one kind."""
        return [e for e in self.events.values() if e.kind == kind]


def load_event(name: str) -> dict[str, Any]:
    """events/eventbridge/<name>.json."""
    return json.loads((EVENTS / "eventbridge" / f"{name}.json").read_text())


def fresh(event: dict[str, Any], conversation_id: str, rng: random.Random) -> dict[str, Any]:
    """A copy of a sample event for `conversation_id` with new EventBridge id and CorrelationId."""
    copy = with_conversation(event, SAMPLE_CONVERSATION, conversation_id)
    copy["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    copy.get("detail", {}).get("metadata", {})["CorrelationId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return copy


def build_plan(config: ChaosConfig) -> Plan:
    """The run's events and payloads, deterministic for `config.seed` (ids included)."""
    rng = random.Random(config.seed)
    samples = {name: load_event(name) for name in TOPICS + FOREIGN}
    events: dict[str, PlannedEvent] = {}
    starts: dict[str, int] = {}
    base = 1_717_200_000_000  # 2024-06-01, epoch ms
    for number in range(config.conversations):
        conversation_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        start = base + rng.randrange(0, 86_400_000)
        starts[conversation_id] = start
        sample_start = samples[TOPICS[0]]["detail"]["eventBody"]["eventTime"]
        times = [start + samples[t]["detail"]["eventBody"]["eventTime"] - sample_start
                 for t in TOPICS[:config.events_per_conversation]]
        times = [max(t, times[i - 1] + 1) if i else t for i, t in enumerate(times)]  # strictly increasing
        if number % 20 == 7 and len(times) >= 2:
            times[-1] = times[-2]  # a tie: eventId decides which is newest
        for topic, event_time in zip(TOPICS, times, strict=False):
            event = fresh(samples[topic], conversation_id, rng)
            event["detail"]["eventBody"]["eventTime"] = event_time
            events[event["id"]] = PlannedEvent(event["id"], VALID, event, conversation_id, event_time,
                                               topic.replace("-", "."))
    for number in range(config.invalid):
        event = fresh(samples["customer-start"], f"chaos-invalid-{number}", rng)
        events[event["id"]] = PlannedEvent(event["id"], INVALID, event, f"chaos-invalid-{number}",
                                           event["detail"]["eventBody"]["eventTime"], "customer.start")
    for _ in range(config.malformed):
        event = fresh(samples["customer-start"], str(uuid.UUID(int=rng.getrandbits(128), version=4)), rng)
        event["detail"] = "not an object"
        events[event["id"]] = PlannedEvent(event["id"], MALFORMED, event)
    for number in range(config.foreign):
        event = fresh(samples[FOREIGN[number % len(FOREIGN)]], str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                      rng)
        events[event["id"]] = PlannedEvent(event["id"], FOREIGN_KIND, event)

    valid = [e for e in events.values() if e.kind == VALID]
    for planned in rng.sample(valid, round(len(valid) * config.duplicate_share)):
        planned.copies = 2
    malformed = [e for e in events.values() if e.kind == MALFORMED]
    units = [e for e in events.values() if e.kind != MALFORMED for _ in range(e.copies)]
    rng.shuffle(units)
    payloads = _package(units, config.array_share, rng)
    if malformed:  # the first inside an array with valid events, the rest alone, spread over the run
        array_at = next((i for i, p in enumerate(payloads) if isinstance(p, list)), None)
        if array_at is not None:
            payloads[array_at].insert(rng.randrange(len(payloads[array_at]) + 1), malformed[0].event)
        else:
            payloads.insert(len(payloads) // 2, malformed[0].event)
        for planned in malformed[1:]:
            payloads.insert(rng.randrange(len(payloads) + 1), planned.event)
    return Plan(events, payloads, starts)


def _package(units: list[PlannedEvent], array_share: float, rng: random.Random) -> list[Any]:
    """Single events and arrays of 2-5; an array never holds the same event twice."""
    payloads: list[Any] = []
    index = 0
    while index < len(units):
        # Arrays average 3.5 events: this share of payloads puts about `array_share` of the events in arrays.
        if rng.random() < array_share / (3.5 - 2.5 * array_share):
            size = rng.randint(2, 5)
            batch: list[dict[str, Any]] = []
            seen: set[str] = set()
            while index < len(units) and len(batch) < size and units[index].event_id not in seen:
                seen.add(units[index].event_id)
                batch.append(units[index].event)
                index += 1
            payloads.append(batch if len(batch) > 1 else batch[0])
        else:
            payloads.append(units[index].event)
            index += 1
    return payloads


def payload_ids(payload: Any) -> set[str]:
    """The EventBridge ids a payload carries."""
    return {eid for eid in map(event_id, events_in(payload)) if eid}


def out_of_order_arrivals(plan: Plan) -> int:
    """Events delivered (first time) after a newer event of the same conversation had been delivered."""
    newest_seen: dict[str, tuple[int, str]] = {}
    seen: set[str] = set()
    late = 0
    for payload in plan.payloads:
        for eid in payload_ids(payload):
            planned = plan.events[eid]
            if planned.kind != VALID or eid in seen:
                continue
            seen.add(eid)
            key = (planned.event_time or 0, eid)
            if planned.conversation_id in newest_seen and newest_seen[planned.conversation_id] > key:
                late += 1
            newest_seen[planned.conversation_id] = max(newest_seen.get(planned.conversation_id, key), key)
    return late


# -- delivering -----------------------------------------------------------------------------------------------------

class _LockedClients:
    """The stack, with boto3 client creation serialised (boto3's default session is not thread-safe)."""

    lock = threading.Lock()

    def __init__(self, stack: LocalStack):
        self._stack = stack

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stack, name)

    def client(self, service: str) -> Any:
        with self.lock:
            return self._stack.client(service)


class Deliverer:
    """Delivers the payloads with `workers` concurrent "EventBridge" threads; a payload waits while another one
    carrying one of its events is in flight (moto's StartExecution idempotency is not atomic, AWS's is)."""

    def __init__(self, stack: LocalStack, payloads: list[Any], workers: int, milestones: dict[float, Any]):
        self.invoker = AsyncInvoker(_LockedClients(stack), retry_delay=0.2)  # type: ignore[arg-type]
        self.payloads = payloads
        self.workers = workers
        self.milestones = dict(sorted(milestones.items()))
        self.results: list[Delivery | None] = [None] * len(payloads)
        self.done = 0
        self.errors: list[str] = []
        self._pending = collections.deque(range(len(payloads)))
        self._in_flight: set[str] = set()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stop = False

    def start(self) -> Deliverer:
        """Starts the worker threads."""
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"eventbridge-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """No further deliveries start."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        """Whether every delivery has ended."""
        return not any(thread.is_alive() for thread in self._threads)

    def _next(self) -> tuple[int, set[str]] | None:
        with self._cond:
            while not self._stop and self._pending:
                for position, index in enumerate(self._pending):
                    ids = payload_ids(self.payloads[index])
                    if not ids & self._in_flight:
                        del self._pending[position]
                        self._in_flight |= ids
                        return index, ids
                self._cond.wait(0.1)
            return None

    def _work(self) -> None:
        while True:
            picked = self._next()
            if picked is None:
                return
            index, ids = picked
            try:
                self.results[index] = self.invoker.deliver(self.payloads[index], f"payload {index}")
            except Exception as err:  # noqa: BLE001 - reported as a violation, the run goes on
                self.errors.append(f"payload {index}: delivery raised {type(err).__name__}: {err}")
            with self._cond:
                self._in_flight -= ids
                self.done += 1
                reached = [share for share in self.milestones if self.done >= share * len(self.payloads)]
                actions = [self.milestones.pop(share) for share in reached]
                self._cond.notify_all()
            for action in actions:
                action()


# -- collecting -------------------------------------------------------------------------------------------------------

def list_executions(sfn: Any, state_machine_arn: str) -> list[dict[str, Any]]:
    """ListExecutions, every page."""
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
    return [e for page in pages for e in page["executions"]]


def history_facts(history: list[dict[str, Any]]) -> dict[str, Any]:
    """From an execution history: save's ``saved: true`` answers and every failed Lambda attempt by function."""
    saved_true = 0
    failures: Counter[str] = Counter()
    function = ""
    for event in history:
        kind = event["type"]
        if kind == "LambdaFunctionScheduled":
            function = event.get("lambdaFunctionScheduledEventDetails", {}).get("resource", "").rsplit(":", 1)[-1]
        elif kind == "LambdaFunctionSucceeded" and function == "save":
            try:
                output = json.loads(event.get("lambdaFunctionSucceededEventDetails", {}).get("output") or "{}")
            except ValueError:
                output = {}
            saved_true += 1 if isinstance(output, dict) and output.get("saved") is True else 0
        elif kind in ("LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionStartFailed",
                      "LambdaFunctionScheduleFailed"):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            failures[f"{function}: {details.get('error', kind)}"] += 1
    return {"saved_true": saved_true, "failures": failures}


@dataclass
class Collected:
    """Everything read back after the run."""

    executions: dict[str, list[dict[str, Any]]]  # name -> DescribeExecution (+ "facts")
    pipeline_dlq: dict[str, dict[str, Any]]  # eventId -> message body
    pipeline_dlq_count: int
    fanout_dlq: list[dict[str, Any]]  # record bodies
    items: list[dict[str, Any]]
    proxy_stats: dict[str, Any]
    writes: Counter[tuple[str, str]]
    starts: dict[str, list[str]]
    genesys_stats: dict[str, Any]
    bridge_stats: dict[str, dict[str, int]]


def collect(stack: LocalStack, proxy: FaultProxy, progress: Progress, before: set[str] | None = None) -> Collected:
    """Reads executions (DescribeExecution + GetExecutionHistory; those named in `before` existed before the run and
    are left out), both DLQs, the table and the counters."""
    sfn_clients = [stack.client("stepfunctions") for _ in range(4)]
    listed = [e for e in list_executions(sfn_clients[0], stack.state_machine_arn) if e["name"] not in (before or ())]
    done = Counter[str]()

    def read(position: int) -> dict[str, Any]:
        sfn = sfn_clients[position % len(sfn_clients)]
        arn = listed[position]["executionArn"]
        described = sfn.describe_execution(executionArn=arn)
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        described["facts"] = history_facts([event for page in pages for event in page["events"]])
        done["n"] += 1
        return described

    with ThreadPoolExecutor(len(sfn_clients)) as pool:
        futures = [pool.submit(read, i) for i in range(len(listed))]
        while not all(f.done() for f in futures):
            progress(f"reading executions and their histories: {done['n']}/{len(listed)}")
            time.sleep(0.5 if progress.tty else 5.0)
        described = [f.result() for f in futures]
    progress.done()
    executions: dict[str, list[dict[str, Any]]] = {}
    for execution in described:
        executions.setdefault(execution["name"], []).append(execution)
    dlq_bodies = [json.loads(m["Body"]) for m in stack.peek_messages(PIPELINE_DLQ)]
    destination = AsyncInvoker(stack).destination
    fanout_dlq = [json.loads(m["Body"]) for m in stack.peek_messages(destination)] if destination else []
    return Collected(
        executions=executions,
        pipeline_dlq={str(b.get("eventId")): b for b in dlq_bodies},
        pipeline_dlq_count=len(dlq_bodies),
        fanout_dlq=fanout_dlq,
        items=stack.scan(),
        proxy_stats=proxy.stats(),
        writes=Counter(proxy.writes),
        starts={k: list(v) for k, v in proxy.starts.items()},
        genesys_stats=stack.genesys.stats() if stack.genesys else {},
        bridge_stats=stack.bridge.stats() if stack.bridge else {},
    )


# -- accounting -------------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """The fate of one unique event."""

    planned: PlannedEvent
    fate: str
    reason: str
    ack_lost: bool = False
    executions: int = 0
    saved_true: int = 0
    writes: int = 0


@dataclass
class Report:
    """The accounting of a run: outcomes, counts and violations."""

    outcomes: dict[str, Outcome]
    counts: dict[str, int]
    violations: list[str]
    notes: list[str]


def account(plan: Plan, deliveries: list[Delivery | None], collected: Collected, timed_out: bool,
            items_before: set[str] | None = None) -> Report:
    """Gives every unique event exactly one fate and checks the invariants."""
    skipped_by_fanout: dict[str, str] = {}
    delivered_to_fanout: Counter[str] = Counter()
    fanout_reported = Counter[str]()
    for delivery in deliveries:
        if delivery is None:
            continue
        for attempt in delivery.attempts:
            for eid in payload_ids(delivery.payload):
                delivered_to_fanout[eid] += 1
            if attempt.error_type is None and isinstance(attempt.payload, dict):
                fanout_reported["started"] += int(attempt.payload.get("started", 0))
                fanout_reported["duplicates"] += int(attempt.payload.get("duplicates", 0))
        for attempt in delivery.attempts:
            for skip in fanout_report(attempt.payload).get("skipped", []):
                if skip.get("eventId"):
                    skipped_by_fanout[skip["eventId"]] = skip.get("reason", "")
    in_fanout_dlq: dict[str, str] = {}
    for record in collected.fanout_dlq:
        response = record.get("responsePayload") or {}
        for eid in payload_ids(record.get("requestPayload")):
            in_fanout_dlq[eid] = f"{response.get('errorType')}: {str(response.get('errorMessage'))[:80]}"

    outcomes: dict[str, Outcome] = {}
    violations: list[str] = []
    notes: list[str] = []
    for eid, planned in plan.events.items():
        executions = collected.executions.get(eid, [])
        writes = collected.writes.get((str(planned.conversation_id), eid), 0)
        saved_true = sum(e["facts"]["saved_true"] for e in executions)
        outcome = _fate(planned, executions, writes, collected, skipped_by_fanout, in_fanout_dlq, timed_out)
        outcome.executions, outcome.saved_true, outcome.writes = len(executions), saved_true, writes
        outcomes[eid] = outcome

    counts = Counter(o.fate for o in outcomes.values())
    started = sum(len(v) for v in collected.executions.values())
    foreign_executions = [name for name in collected.executions if name not in plan.events]
    duplicated = [o for o in outcomes.values() if o.executions > 1 or o.saved_true > 1 or o.writes > 1]
    suppressed = sum(max(0, len(answers) - 1) for name, answers in collected.starts.items()
                     if len(collected.executions.get(name, [])) == 1)
    counts_out = {
        "sent": len(plan.payloads),
        "fanout invocations": sum(len(d.attempts) for d in deliveries if d),
        "unique events": len(plan.events),
        "planned duplicate deliveries": sum(e.copies - 1 for e in plan.events.values()),
        "out-of-order arrivals": out_of_order_arrivals(plan),
        "started": started,
        "duplicates suppressed": suppressed,
        "fanout reported started": fanout_reported["started"],
        "fanout reported duplicates": fanout_reported["duplicates"],
        **{fate: counts.get(fate, 0) for fate in FATES},
        "stored, ack lost": sum(1 for o in outcomes.values() if o.ack_lost),
        "duplicated writes": len(duplicated),
        "accepted UpdateItem (wire)": sum(collected.writes.values()),
    }

    # -- invariants
    if counts_out[LOST]:
        violations += [f"LOST {o.planned.kind} event {eid} ({o.planned.topic or '-'}, conversation "
                       f"{o.planned.conversation_id}): {o.reason}" for eid, o in outcomes.items() if o.fate == LOST]
    violations += [f"DUPLICATED WRITE event {o.planned.event_id}: {o.executions} executions, saved:true "
                   f"{o.saved_true}x, {o.writes} accepted UpdateItem" for o in duplicated]
    if sum(counts.values()) != len(plan.events):
        violations.append(f"fates {dict(counts)} do not add up to {len(plan.events)} unique events")
    reach_start = [e for e in plan.events.values() if e.kind in (VALID, INVALID)]
    if started != len(reach_start) or foreign_executions:
        violations.append(f"started {started} executions for {len(reach_start)} events that reach StartExecution"
                          + (f"; executions of unknown names {foreign_executions[:5]}" if foreign_executions else ""))
    for planned in plan.events.values():
        outcome = outcomes[planned.event_id]
        expected = {VALID: (STORED, SUPERSEDED), INVALID: (DEAD_LETTERED,), MALFORMED: (DEAD_LETTERED,),
                    FOREIGN_KIND: (SKIPPED,)}[planned.kind]
        if outcome.fate not in expected and outcome.fate != LOST:
            violations.append(f"{planned.kind} event {planned.event_id} ({planned.topic or '-'}): {outcome.fate}, "
                              f"expected {' or '.join(expected)} - {outcome.reason}")
        if planned.kind == INVALID and outcome.fate == DEAD_LETTERED and "Event.Invalid" not in outcome.reason:
            violations.append(f"invalid event {planned.event_id} dead-lettered as {outcome.reason}, "
                              "expected Event.Invalid at validate")
        if planned.copies > 1 and outcome.executions == 1 and len(collected.starts.get(planned.event_id, [])) < 2:
            violations.append(f"event {planned.event_id} was delivered {planned.copies}x but reached StartExecution "
                              f"{len(collected.starts.get(planned.event_id, []))}x")
        if outcome.fate == DEAD_LETTERED and outcome.writes:
            notes.append(f"event {planned.event_id} was written (UpdateItem accepted) and then dead-lettered")
    if collected.pipeline_dlq_count != len(collected.pipeline_dlq):
        violations.append(f"{collected.pipeline_dlq_count} pipeline DLQ messages for "
                          f"{len(collected.pipeline_dlq)} distinct events (a message sent twice)")
    violations += _item_violations(plan, outcomes, collected.items, items_before or set())
    return Report(outcomes, counts_out, violations, notes)


def fanout_report(payload: Any) -> dict[str, Any]:
    """fanout's report from an invocation's answer: the result, or the JSON inside a Fanout.StartFailed message
    ("n of m events could not be started: {report}") - a skip decided in a failed invocation is still a skip."""
    if not isinstance(payload, dict):
        return {}
    if "errorType" not in payload:
        return payload
    message = str(payload.get("errorMessage", ""))
    start = message.find("{")
    try:
        report = json.loads(message[start:]) if start >= 0 else {}
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _fate(planned: PlannedEvent, executions: list[dict[str, Any]], writes: int, collected: Collected,
          skipped_by_fanout: dict[str, str], in_fanout_dlq: dict[str, str], timed_out: bool) -> Outcome:
    eid = planned.event_id
    if not executions:
        if eid in skipped_by_fanout:
            return Outcome(planned, SKIPPED, skipped_by_fanout[eid])
        if eid in in_fanout_dlq:
            return Outcome(planned, DEAD_LETTERED, f"fanout DLQ: {in_fanout_dlq[eid]}")
        return Outcome(planned, LOST, "no execution, not skipped by fanout, in no dead-letter queue")
    execution = executions[-1]
    status = execution["status"]
    if status == "RUNNING":
        return Outcome(planned, LOST, "execution still RUNNING at the time bound" if timed_out else
                       "execution RUNNING")
    if status == "FAILED":
        message = collected.pipeline_dlq.get(eid)
        if message:
            return Outcome(planned, DEAD_LETTERED, f"pipeline DLQ: {message.get('error')} at {message.get('stage')}: "
                                                   f"{str(message.get('cause'))[:100]}")
        return Outcome(planned, LOST, f"execution FAILED ({execution.get('error')}) without a DLQ message")
    if status != "SUCCEEDED":
        return Outcome(planned, LOST, f"execution {status}")
    save = json.loads(execution.get("output") or "{}").get("save") or {}
    reason = str(save.get("reason", ""))
    if save.get("saved") is True:
        if writes != 1:
            return Outcome(planned, LOST, f"save answered saved:true but moto accepted {writes} UpdateItem of it")
        return Outcome(planned, STORED, "stored")
    if writes == 1 and (reason.startswith(("duplicate", "stale"))):
        return Outcome(planned, STORED, f"stored; the UpdateItem answer was lost, save's retry said {reason!r}",
                       ack_lost=True)
    if reason.startswith("stale") and writes == 0:
        return Outcome(planned, SUPERSEDED, reason)
    return Outcome(planned, LOST, f"save answered {save} with {writes} accepted UpdateItem")


def _item_violations(plan: Plan, outcomes: dict[str, Outcome], items: list[dict[str, Any]],
                     items_before: set[str]) -> list[str]:
    """Each conversation's item holds its newest event by (eventTime, eventId), and nothing else is stored (items
    that were in the table before the run, on a reused stack, are left out)."""
    newest: dict[str, PlannedEvent] = {}
    for planned in plan.of_kind(VALID):
        current = newest.get(str(planned.conversation_id))
        if current is None or (planned.event_time, planned.event_id) > (current.event_time, current.event_id):
            newest[str(planned.conversation_id)] = planned
    by_id = {str(item.get("conversationId")): item for item in items
             if str(item.get("conversationId")) in newest or str(item.get("conversationId")) not in items_before}
    problems = []
    for conversation_id, planned in sorted(newest.items()):
        item = by_id.get(conversation_id)
        if item is None:
            problems.append(f"conversation {conversation_id}: no item (newest event {planned.event_id})")
            continue
        got = (item.get("lastEventId"), int(item.get("lastEventTime") or 0), item.get("lastEventType"))
        want = (planned.event_id, planned.event_time, planned.event["detail-type"])
        if got != want:
            problems.append(f"conversation {conversation_id}: item holds {got}, newest is {want}")
        elif bool(item.get("enriched")) != (planned.topic in ENRICHED):
            problems.append(f"conversation {conversation_id}: enriched={item.get('enriched')} for {planned.topic}")
        if outcomes[planned.event_id].fate != STORED:
            problems.append(f"conversation {conversation_id}: its newest event {planned.event_id} is "
                            f"{outcomes[planned.event_id].fate}")
    extra = sorted(set(by_id) - set(newest))
    if extra:
        problems.append(f"{len(extra)} items for conversations that have no valid event: {extra[:5]}")
    return problems


# -- the run ----------------------------------------------------------------------------------------------------------

@dataclass
class ChaosResult:
    """What a run returns: the report, the faults injected, timings."""

    report: Report
    faults: list[tuple[str, str, int]]
    retries: Counter[str]
    durations: list[float]
    seconds: dict[str, float]
    collected: Collected

    @property
    def violations(self) -> list[str]:
        """Every violation (empty: the run passed)."""
        return self.report.violations


class ChaosRun:
    """One chaos run on a started stack whose functions' AWS endpoint is `proxy`."""

    def __init__(self, stack: LocalStack, proxy: FaultProxy, config: ChaosConfig, progress: Progress | None = None,
                 log: Any = print):
        self.stack = stack
        self.proxy = proxy
        self.config = config
        self.progress = progress or Progress()
        self.log = log
        self.revocations = 0

    def inject(self, plan: Plan) -> None:
        """Registers the conversations with the Genesys stand-in and switches every fault on."""
        genesys = self.stack.genesys
        if genesys is None:
            raise StackError("the chaos run needs the Genesys stand-in")
        for conversation_id, start in plan.conversation_starts.items():
            genesys.add_conversation(conversation_id, start)
        rng = random.Random(self.config.seed + 1)
        conversations = sorted(plan.conversation_starts)
        not_indexed = rng.sample(conversations, max(1, round(len(conversations) * self.config.not_yet_indexed_share)))
        twice = rng.sample(conversations, max(1, round(len(conversations) * self.config.rate_limited_twice_share)))
        queue = [{"status": 429, "retryAfter": 1, "times": 2, "conversationId": cid} for cid in twice]
        # One of each random kind for sure (a small load may draw none): 429, 503, a slow answer.
        pool = [cid for cid in conversations if cid not in twice] or conversations
        once = (rng.sample(pool, min(3, len(pool))) * 3)[:3]
        queue += [{"status": 429, "retryAfter": 1, "conversationId": once[0]},
                  {"status": 503, "conversationId": once[1]},
                  {"status": 200, "delay": self.config.slow_delay, "conversationId": once[2]}]
        genesys.set_faults({"queue": queue})
        genesys.set_faults({"rates": self.config.genesys_rates, "seed": self.config.seed,
                            "slow": {"rate": self.config.slow_rate, "delay": self.config.slow_delay},
                            "maxConsecutive": self.config.genesys_max_consecutive, "tokenTtl": self.config.token_ttl,
                            "notYetIndexed": {cid: 1 for cid in not_indexed}})
        self.proxy.reset()
        self.proxy.set_rules(self.config.proxy_rules(), self.config.proxy_bursts())

    def revoke_tokens(self, then_token_outage: bool) -> None:
        """Every token issued so far stops working (process gets a 401 and refreshes); optionally the token
        endpoint then answers 503 once."""
        spec: dict[str, Any] = {"expireTokens": True}
        if then_token_outage:
            spec["queue"] = [{"status": 503, "target": "token"}]
        self.stack.genesys.set_faults(spec)
        self.revocations += 1

    def run(self) -> ChaosResult:
        """Delivers, waits (bounded), collects and accounts; returns the result (violations inside)."""
        config = self.config
        seconds: dict[str, float] = {}
        started = time.monotonic()
        deadline = started + config.timeout
        plan = build_plan(config)
        self.log(f"plan: {len(plan.events)} unique events ({len(plan.of_kind(VALID))} conversation events of "
                 f"{len(plan.conversation_starts)} conversations, {len(plan.of_kind(INVALID))} invalid, "
                 f"{len(plan.of_kind(MALFORMED))} malformed, {len(plan.of_kind(FOREIGN_KIND))} not conversation "
                 f"events) in {len(plan.payloads)} payloads "
                 f"({sum(1 for p in plan.payloads if isinstance(p, list))} arrays); seed {config.seed}")
        self.inject(plan)
        last = len(config.token_revocations) - 1
        milestones = {share: functools.partial(self.revoke_tokens, i == last)
                      for i, share in enumerate(config.token_revocations)}
        sfn = self.stack.client("stepfunctions")
        before = {e["name"] for e in list_executions(sfn, self.stack.state_machine_arn)}
        items_before = {str(item.get("conversationId")) for item in self.stack.scan()}
        deliverer = Deliverer(self.stack, plan.payloads, config.concurrency, milestones).start()
        timed_out = self._settle(deliverer, sfn, deadline, started, seconds, before)
        deliverer.stop()
        self.proxy.set_rules({})
        self.stack.genesys.set_faults({"rates": {}, "slow": {"rate": 0}})
        collect_started = time.monotonic()
        collected = collect(self.stack, self.proxy, self.progress, before)
        seconds["collect"] = time.monotonic() - collect_started
        deliveries = list(deliverer.results)
        report = account(plan, deliveries, collected, timed_out, items_before)
        report.violations[:0] = deliverer.errors
        if timed_out:
            report.violations.insert(0, f"time bound of {config.timeout:.0f} s hit before every execution ended")
        faults = self.faults(collected)
        missing = [f"{source} {kind}" for source, kind, count in faults if count == 0 and "(off)" not in kind]
        if missing and not timed_out:
            report.violations.append(f"fault kinds never injected (raise the load or the rates): {missing}")
        retries: Counter[str] = Counter()
        durations = []
        for executions in collected.executions.values():
            for execution in executions:
                retries.update(execution["facts"]["failures"])
                if execution.get("stopDate"):
                    durations.append((execution["stopDate"] - execution["startDate"]).total_seconds())
        seconds["total"] = time.monotonic() - started
        return ChaosResult(report, faults, retries, durations, seconds, collected)

    def _settle(self, deliverer: Deliverer, sfn: Any, deadline: float, started: float,
                seconds: dict[str, float], before: set[str]) -> bool:
        """Polls (ListExecutions) until deliveries are done and no execution runs; False when it did, True when the
        time bound was hit first."""
        last_print = 0.0
        interval = 2.0 if self.progress.tty else 10.0
        while True:
            delivered = deliverer.finished  # before listing: a start after the listing must not be missed
            executions = [e for e in list_executions(sfn, self.stack.state_machine_arn) if e["name"] not in before]
            status = Counter(e["status"] for e in executions)
            if delivered and "deliver" not in seconds:
                seconds["deliver"] = time.monotonic() - started
            now = time.monotonic()
            settled = delivered and not status.get("RUNNING")
            if settled or now >= deadline or now - last_print >= interval:
                last_print = now
                genesys = self.stack.genesys.stats().get("injected", {})
                proxy = self.proxy.stats()["injected"]
                proxy_total = sum(n for kinds in proxy.values() for n in kinds.values())
                self.progress(
                    f"delivered {deliverer.done}/{len(deliverer.payloads)} | executions {len(executions)}: "
                    f"{status.get('RUNNING', 0)} running, {status.get('SUCCEEDED', 0)} succeeded, "
                    f"{status.get('FAILED', 0)} failed | faults: Genesys {sum(genesys.values())}, "
                    f"AWS {proxy_total} [{now - started:5.1f} s]")
            if settled:
                seconds["settle"] = time.monotonic() - started
                self.progress.done()
                return False
            if now >= deadline:
                deliverer.stop()
                self.progress.done()
                return True
            time.sleep(0.5)

    def faults(self, collected: Collected) -> list[tuple[str, str, int]]:
        """(source, kind, how many were injected) for every kind the run injects."""
        genesys = collected.genesys_stats.get("injected", {})
        proxy = collected.proxy_stats.get("injected", {})
        config = self.config
        rows = [("Genesys API", (f"429 Retry-After 1 s (random {config.genesys_rates.get('429', 0):.0%}; queued: "
                                 f"1, and 2 in a row for {config.rate_limited_twice_share:.0%} of conversations)"),
                 genesys.get("429", 0) + genesys.get("queue:429", 0)),
                ("Genesys API", f"503 (random {config.genesys_rates.get('503', 0):.0%}; 1 queued)",
                 genesys.get("503", 0) + genesys.get("queue:503", 0)),
                ("Genesys API", (f"slow {config.slow_delay:g} s > GENESYS_TIMEOUT {config.genesys_timeout:g} s "
                                 f"(random {config.slow_rate:.0%}; 1 queued)"),
                 genesys.get("slow", 0) + genesys.get("queue:200", 0)),
                ("Genesys API", f"404 not yet indexed ({config.not_yet_indexed_share:.0%} of conversations, once)",
                 genesys.get("notYetIndexed", 0)),
                ("Genesys API", f"401 revoked/expired token ({self.revocations} revocations)",
                 genesys.get("expiredToken", 0)),
                ("Genesys token", "503 once after the last revocation", genesys.get("token:queue:503", 0))]
        for target, label in ((SAVE_WRITE, "DynamoDB UpdateItem"), (START_EXECUTION, "SFN StartExecution")):
            for kind, probability in config.proxy_rules()[target].items():
                rows.append((label, kind if probability > 0 else f"{kind} (off)",
                             proxy.get(target, {}).get(kind, 0)))
            burst = config.proxy_bursts()[target]
            name = f"{burst['kind']} burst x{burst['length']}"
            rows.append((label, f"{name} ({burst['share']:.0%} of "
                                f"{'UpdateItems' if target == SAVE_WRITE else 'executions'})" if burst["share"] else
                         f"{name} (off)", proxy.get(target, {}).get(name, 0)))
        configured = {"429": 1, "503": 1, "slow": 1, "404": config.not_yet_indexed_share,
                      "401": len(config.token_revocations), "token": len(config.token_revocations)}
        for index, key in enumerate(configured):
            if not configured[key]:
                source, kind, count = rows[index]
                rows[index] = (source, f"{kind} (off)", count)
        return rows


# -- printing ---------------------------------------------------------------------------------------------------------

def heading(title: str) -> None:
    """A section title."""
    print(f"\n== {title} " + "=" * max(0, 100 - len(title)))


def table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain fixed-width table."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


SUMMARY_ROWS = [
    ("sent", "payloads delivered to fanout (single events and JSON arrays)"),
    ("fanout invocations", "including Lambda's async retries of failed invocations"),
    ("unique events", "distinct EventBridge ids in the load"),
    ("planned duplicate deliveries", "events delivered a second time, in another payload"),
    ("out-of-order arrivals", "first arrivals after a newer event of the same conversation"),
    ("started", "executions (ListExecutions; names = event ids)"),
    ("duplicates suppressed", "StartExecution calls for an existing execution name that started none (wire)"),
    ("fanout reported started", "sum of fanout's own 'started' (counts idempotent replays within 1 s)"),
    ("fanout reported duplicates", "sum of fanout's own 'duplicates'"),
    (STORED, "save answered saved:true (or its lost-answer retry, with one accepted UpdateItem)"),
    ("stored, ack lost", "  of which: UpdateItem applied, answer lost, retry said duplicate/stale"),
    (SUPERSEDED, "save answered stale: a newer event of the conversation was stored first"),
    (SKIPPED, "fanout skipped it with a reason, no execution"),
    (DEAD_LETTERED, "pipeline DLQ message (execution FAILED) or fanout on-failure record"),
    (LOST, "none of the above (includes RUNNING at the time bound)"),
    ("duplicated writes", ">1 execution, >1 saved:true in histories, or >1 accepted UpdateItem"),
    ("accepted UpdateItem (wire)", "UpdateItem calls moto answered 200, seen by the proxy"),
]


def print_result(result: ChaosResult, config: ChaosConfig) -> None:
    """The summary, the faults, the retries and the violations."""
    report = result.report
    heading("Summary")
    table(["measure", "count", "definition"], [[name, report.counts.get(name, 0), text] for name, text in SUMMARY_ROWS])
    by_kind: dict[str, Counter[str]] = {}
    for outcome in report.outcomes.values():
        by_kind.setdefault(outcome.planned.kind, Counter())[outcome.fate] += 1
    heading("Fates by kind of event")
    table(["kind", "events", *FATES], [[kind, sum(c.values()), *(c.get(f, 0) for f in FATES)]
                                        for kind, c in by_kind.items()])
    heading("Faults injected (fault proxy and Genesys stand-in counters)")
    table(["where", "fault", "injected"], [list(row) for row in result.faults])
    stats = result.collected.proxy_stats
    print(f"  proxy: calls {stats.get('calls')}; moto's answers to forwarded calls {stats.get('forwarded')}; "
          f"draws overridden by the consecutive-fault cap {stats.get('cappedDraws')}")
    genesys = result.collected.genesys_stats
    print(f"  Genesys stand-in: token requests {genesys.get('token')}, analytics API {genesys.get('api')}; "
          f"answers abandoned by process (its timeout fired first) {genesys.get('abandoned')}")
    heading("Retries seen in the executions (failed Lambda attempts, GetExecutionHistory)")
    if result.retries:
        table(["function: errorType", "attempts"], [[k, v] for k, v in result.retries.most_common()])
    else:
        print("  (none)")
    print(f"  Lambda invocations through the bridge: {result.collected.bridge_stats}")
    if result.durations:
        ordered = sorted(result.durations)
        print(f"  execution durations: median {statistics.median(ordered):.1f} s, "
              f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.1f} s, max {ordered[-1]:.1f} s")
    heading("Timings")
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
          + f" (bound {config.timeout:.0f} s)")
    dead = [o for o in report.outcomes.values() if o.fate == DEAD_LETTERED]
    if dead:
        heading(f"Dead-lettered ({len(dead)})")
        for outcome in dead:
            print(f"  {outcome.planned.kind} {outcome.planned.event_id}: {outcome.reason}")
    for note in report.notes:
        print(f"  NOTE: {note}")


def verdict(result: ChaosResult) -> str:
    """The one-line verdict."""
    counts = result.report.counts
    summary = (f"sent {counts['sent']}, started {counts['started']}, duplicates suppressed "
               f"{counts['duplicates suppressed']}, stored {counts[STORED]}, superseded {counts[SUPERSEDED]}, "
               f"skipped {counts[SKIPPED]}, dead-lettered {counts[DEAD_LETTERED]}, lost {counts[LOST]}, "
               f"duplicated writes {counts['duplicated writes']}; {result.seconds.get('total', 0):.0f} s")
    if result.violations:
        return f"VERDICT: FAIL - {len(result.violations)} violation(s); {summary}"
    return f"VERDICT: PASS - {summary}"


def chaos_stack(name: str, config: ChaosConfig, on_status: Any = None) -> tuple[LocalStack, FaultProxy]:
    """A (not yet started) local stack with the fault proxy and GENESYS_TIMEOUT for chaos."""
    proxy = FaultProxy(seed=config.seed, max_consecutive=config.proxy_max_consecutive)
    stack = LocalStack(name, concurrency=config.concurrency, on_status=on_status,
                       env_overrides={"GENESYS_TIMEOUT": f"{config.genesys_timeout:g}"}, aws_proxy=proxy)
    return stack, proxy


# -- main -------------------------------------------------------------------------------------------------------------

class HardTimeout(Exception):
    """The run's hard bound (delivery + settle + collection) passed."""


def install_signal_handlers() -> None:
    """SIGINT/SIGTERM/SIGHUP stop the run and the stack; SIGALRM is the hard bound."""
    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def alarm(_signum: int, _frame: Any) -> None:
        raise HardTimeout()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    signal.signal(signal.SIGALRM, alarm)


def parse_args() -> ChaosConfig:
    """Command line -> ChaosConfig."""
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--events", type=int, default=defaults.events, help="conversation events (5 per conversation)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--timeout", type=float, default=defaults.timeout,
                        help="seconds for delivering and settling; RUNNING executions then count as lost")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency,
                        help="instances per function (cargo lambda watch) and concurrent deliveries")
    parser.add_argument("--duplicates", type=float, default=defaults.duplicate_share)
    parser.add_argument("--invalid", type=int, default=defaults.invalid)
    parser.add_argument("--malformed", type=int, default=defaults.malformed)
    parser.add_argument("--foreign", type=int, default=defaults.foreign)
    parser.add_argument("--throttle-rate", type=float, default=defaults.throttle_rate)
    parser.add_argument("--lost-response-rate", type=float, default=defaults.lost_response_rate)
    args = parser.parse_args()
    return ChaosConfig(events=args.events, seed=args.seed, timeout=args.timeout, concurrency=args.concurrency,
                       duplicate_share=args.duplicates, invalid=args.invalid, malformed=args.malformed,
                       foreign=args.foreign, throttle_rate=args.throttle_rate,
                       lost_response_rate=args.lost_response_rate)


def main() -> int:
    """Entry point: runs the chaos run and maps its outcome to an exit status."""
    install_signal_handlers()
    config = parse_args()
    wall = time.monotonic()
    stack, proxy = chaos_stack("chaos", config, on_status=lambda text: print(f"  {text}", flush=True))
    try:
        with stack:
            signal.alarm(int(config.timeout + COLLECT_GRACE))
            try:
                result = ChaosRun(stack, proxy, config, log=lambda text: print(text, flush=True)).run()
            finally:
                signal.alarm(0)
            print_result(result, config)
    except KeyboardInterrupt:
        print("\nVERDICT: INTERRUPTED - the local stack was stopped", file=sys.stderr)
        return 130
    except HardTimeout:
        print(f"\nVERDICT: FAIL - hard bound of {config.timeout + COLLECT_GRACE:.0f} s hit; the stack was stopped",
              file=sys.stderr)
        return 2
    except (StackError, OSError) as err:
        print(f"\nVERDICT: FAIL - the local stack failed: {err}", file=sys.stderr)
        print(f"(logs: {Path('local/.run/chaos')})", file=sys.stderr)
        return 2
    print()
    for violation in result.violations[:50]:
        print(f"  VIOLATION: {violation}")
    if len(result.violations) > 50:
        print(f"  ... and {len(result.violations) - 50} more")
    print(verdict(result) + f" (wall time with stack start/stop {time.monotonic() - wall:.0f} s)")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
