"""Chaos run: prove that nothing is lost and nothing is written twice, under duplicates, reordering and faults,
on the batching pipeline.

    .venv/bin/python local/chaos.py [--events 500] [--seed N] [--timeout 600] ...
    make chaos

It starts the local stack (local/stack.py) with the AWS proxy injecting faults, ``GENESYS_TIMEOUT=2`` and a Genesys
stand-in whose per-token rate limit is far below the pipeline's budget (another client spending the same OAuth
client), then delivers this load, 70 % to the buffer queue (sqs mode) and 30 % straight to fanout in JSON arrays
of 2-5 events (a custom-bus subscriber), at once:

* ``--events`` conversation detail events: ``events / 5`` conversations x 5 topics (customer.start, user.start,
  customer.end, user.end, acw; the last three are enriched) with increasing ``eventTime`` per conversation; in every
  20th conversation acw and user.end share their ``eventTime`` (the ``eventId`` breaks the tie);
* 10 % of them delivered twice;
* the order shuffled, so older events of a conversation often arrive after newer ones;
* events that must end dead-lettered or skipped: ``--invalid`` with a conversationId that is not a UUID (validate:
  ``Event.Invalid``), ``--malformed`` whose ``detail`` is not an object (fanout: the event dead-letter queue) and
  ``--foreign`` that are not conversation events (fanout skips them).

Faults, all transient, so that every event and every enrichment can succeed in the end:

* Genesys stand-in: random 429 and 503, slow answers beyond GENESYS_TIMEOUT, conversations absent from their first
  multi-get (not indexed yet), every token revoked twice while events arrive, and a per-token rate limit of
  ``--genesys-rate-limit`` requests a minute (429 with Retry-After when enrich goes over it).
* AWS proxy (the functions' AWS calls): DynamoDB UpdateItem answered ProvisionedThroughputExceeded / Throttling and
  Step Functions StartExecution answered ThrottlingException, some calls applied and then answered 500 (a lost
  answer), and bursts longer than the SDK's retries (save's batch fails ``Store.Unavailable`` and the state machine
  retries it; fanout's start fails and its records come back).

It asserts, from the run's report (local/run.py): every unique event is stored, superseded, skipped or
dead-lettered (**lost = 0**); no event's write was accepted twice on the wire (**duplicated writes = 0**); every
conversation's item holds its newest event; every conversation with an enrich-topic event is enriched; only the
invalid and malformed events are dead-lettered and only the foreign ones skipped; Genesys never got more than the
budget in any minute; every fault kind was injected at least once. It prints the figures and the faults, then
``VERDICT: PASS``/``FAIL``. Exit status: 0 pass, 1 a violation, 2 the stack failed or the time bound was hit, 130
interrupted.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from driver import Progress, event_id, events_in, with_conversation
from fault_proxy import SAVE_WRITE, START_EXECUTION, FaultProxy
from run import DEAD_LETTERED, SKIPPED, STORED, SUPERSEDED, UNACCOUNTED, Run
from stack import REPO, LocalStack, StackError

EVENTS = REPO / "events"
SAMPLE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
TOPICS = ["customer-start", "user-start", "customer-end", "user-end", "acw"]
FOREIGN = ["audit", "queue-conversation", "transcription"]
VALID, INVALID, MALFORMED, FOREIGN_KIND = "valid", "invalid", "malformed", "foreign"


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
    genesys_timeout: float = 2.0
    genesys_rates: dict[str, float] = field(default_factory=lambda: {"429": 0.06, "503": 0.06})
    slow_rate: float = 0.04
    slow_delay: float = 3.0
    genesys_max_consecutive: int = 2
    not_indexed_share: float = 0.15
    genesys_rate_limit: int = 4
    multiget_max: int = 10
    require_rate_limit: bool = True
    token_revocations: tuple[float, ...] = (0.3, 0.6)
    throttle_rate: float = 0.10
    lost_response_rate: float = 0.02
    proxy_max_consecutive: int = 3
    put_burst_share: float = 0.02
    start_burst_share: float = 0.05

    @property
    def conversations(self) -> int:
        """How many conversations carry the events."""
        return max(1, self.events // self.events_per_conversation)

    def proxy_rules(self) -> dict[str, dict[str, float]]:
        """The AWS proxy's rules (each kind drawn in turn: the first hit wins)."""
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



@dataclass
class ChaosResult:
    """A run's report and what it violated."""

    report: dict[str, Any]
    plan: Plan
    violations: list[str]
    injected: dict[str, Any]
    timed_out: bool


def kinds_of(report: dict[str, Any], plan: Plan, run: Run) -> list[str]:
    """Every way the run broke the rules (empty when it held)."""
    violations = []
    a = report["accounting"]
    if a[UNACCOUNTED]:
        violations += [f"LOST: {u['eventId']}: {u['reason']}" for u in report["unaccounted"]]
    violations += [f"DUPLICATED WRITE: event {w['eventId']} accepted {w['writes']} times"
                   for w in report["duplicatedWrites"]]
    violations += [f"ITEM: {m['conversationId']} holds {m['stored']}, expected the newest {m['expected']}"
                   for m in report["itemsNotAtNewestEvent"]]
    violations += [f"NOT ENRICHED: {c}" for c in report["enrichment"]["missing"]]
    violations += [f"DEAD LETTER REDRIVEN TWICE: {e}" for e in report["deadLetterRepeats"]["redrivenTwice"]]
    violations += [f"OVER AN AWS QUOTA: {v}" for v in report["limitViolations"]]
    if report["enrichment"]["deadLettered"]:
        violations.append(f"ENRICHMENT DEAD-LETTERED: {report['enrichment']['deadLettered']} conversations "
                          "(every fault is transient)")
    fates = {f.event_id: f for f in run.fates(run.collect())}
    for planned in plan.events.values():
        fate = fates.get(planned.event_id)
        want = {VALID: (STORED, SUPERSEDED), INVALID: (DEAD_LETTERED,), MALFORMED: (DEAD_LETTERED,),
                FOREIGN_KIND: (SKIPPED,)}[planned.kind]
        if fate and fate.kind not in want and fate.kind != UNACCOUNTED:
            violations.append(f"WRONG FATE: {planned.kind} event {planned.event_id}: {fate.kind} ({fate.reason})")
    g = report["genesys"]
    if g.get("maxRequestsInAnyMinute") is not None and g["maxRequestsInAnyMinute"] > g["budgetPerMinute"]:
        violations.append(f"BUDGET: {g['maxRequestsInAnyMinute']} Genesys requests in one minute, budget "
                          f"{g['budgetPerMinute']}")
    return violations


class ChaosRun:
    """Plans the load, injects the faults, delivers, waits, and checks."""

    def __init__(self, stack: LocalStack, proxy: FaultProxy, config: ChaosConfig, run: Run,
                 progress: Any = None):
        self.stack = stack
        self.proxy = proxy
        self.config = config
        self.run = run
        self.progress = progress or (lambda _t: None)

    def inject(self, plan: Plan) -> None:
        """Turns the faults on."""
        c = self.config
        # With batches Genesys gets few requests, so random faults alone may miss a kind: one of each is queued
        # for the first multi-gets, the random ones come on top.
        self.stack.genesys.set_faults({"queue": [{"status": int(k)} for k in sorted(c.genesys_rates)],
                                       "rates": c.genesys_rates, "seed": c.seed,
                                       "slow": {"rate": c.slow_rate, "delay": c.slow_delay},
                                       "maxConsecutive": c.genesys_max_consecutive,
                                       "notIndexedShare": c.not_indexed_share, "rateLimit": c.genesys_rate_limit})
        self.proxy.set_rules(c.proxy_rules(), c.proxy_bursts())

    def execute(self) -> ChaosResult:
        """The run."""
        plan = build_plan(self.config)
        for cid, start in plan.conversation_starts.items():
            self.stack.genesys.add_conversation(cid, start)
        self.inject(plan)
        rng = random.Random(self.config.seed + 1)
        direct = [p for p in plan.payloads if isinstance(p, list)]
        buffered = [p for p in plan.payloads if not isinstance(p, list)]
        revoker = threading.Thread(target=self._revoke_tokens, name="revoker", daemon=True)
        revoker.start()
        sender = threading.Thread(target=self.run.deliver, args=(direct,), kwargs={"mode": "direct"},
                                  name="direct", daemon=True)
        sender.start()
        rng.shuffle(buffered)
        self.run.deliver(buffered, mode="sqs")
        sender.join()
        idle = self.run.wait_idle(self.config.timeout)
        revoker.join(timeout=1)
        report = self.run.report()
        violations = kinds_of(report, plan, self.run)
        injected = {"genesys": self.stack.genesys.stats()["injected"], "aws": self.proxy.stats()["injected"]}
        wanted = ["429", "503", "notIndexedOnFirstAsk"] + (["rateLimit"] if self.config.require_rate_limit else [])
        violations += [f"NOT INJECTED: Genesys {k}" for k in wanted
                       if not (injected["genesys"].get(k) or injected["genesys"].get(f"queue:{k}"))]
        aws = {kind for kinds in injected["aws"].values() for kind in kinds}
        violations += [f"NOT INJECTED: AWS {k}" for k in ("SfnThrottling", "LostResponse") if k not in aws]
        if not idle:
            violations.append(f"TIMEOUT: the pipeline was still busy after {self.config.timeout:.0f} s")
        return ChaosResult(report, plan, violations, injected, not idle)

    def _revoke_tokens(self) -> None:
        total = sum(len(events_in(p)) for p in build_plan(self.config).payloads)
        for share in self.config.token_revocations:
            while len(self.run.sent) < share * total * 0.7:
                time.sleep(0.2)
            self.stack.genesys.set_faults({"expireTokens": True})


def print_result(result: ChaosResult, config: ChaosConfig) -> None:
    """The figures, the faults, the violations."""
    r = result.report
    a = r["accounting"]
    valid = len(result.plan.of_kind(VALID))
    print(f"\n== Chaos run: {len(result.plan.events)} unique events ({valid} valid, {config.invalid} invalid, "
          f"{config.malformed} malformed, {config.foreign} foreign); "
          f"{sum(1 for e in result.plan.events.values() if e.copies > 1)} delivered twice; "
          f"{out_of_order_arrivals(result.plan)} out of order")
    print(f"  executions {r['executions']}, StartExecution calls {r['startExecutionCalls']}, state transitions "
          f"{r['stateTransitions']}, Lambda invocations {r['lambdaInvocations']}")
    print(f"  stored {a[STORED]}, superseded {a[SUPERSEDED]}, skipped {a[SKIPPED]}, dead-lettered "
          f"{a[DEAD_LETTERED]}, lost {a[UNACCOUNTED]}, duplicated writes {len(r['duplicatedWrites'])}")
    e = r["enrichment"]
    print(f"  enrichment: {e['enriched']} of {e['conversations']} conversations, {e['deadLettered']} dead-lettered, "
          f"lag up to {e['maxLagMs'] / 1000:.1f} s; Genesys requests {r['genesysRequests']}, at most "
          f"{r['genesys'].get('maxRequestsInAnyMinute')} in a minute (budget {r['genesys']['budgetPerMinute']})")
    print(f"  faults: Genesys {result.injected['genesys']}; AWS {result.injected['aws']}")
    print(f"  wall time {r['wallSeconds']} s")
    for v in result.violations[:40]:
        print(f"  VIOLATION {v}")


def verdict(result: ChaosResult) -> str:
    """The one-line verdict."""
    r = result.report
    a = r["accounting"]
    figures = (f"sent {r['sent']}, executions {r['executions']}, stored {a[STORED]}, superseded {a[SUPERSEDED]}, "
               f"skipped {a[SKIPPED]}, dead-lettered {a[DEAD_LETTERED]}, lost {a[UNACCOUNTED]}, "
               f"duplicated writes {len(r['duplicatedWrites'])}, dead letters redriven twice "
               f"{len(r['deadLetterRepeats']['redrivenTwice'])} (repeats recognised {r['deadLetterRepeats']['copies']})")
    if result.violations:
        return f"VERDICT: FAIL - {len(result.violations)} violation(s); {figures}"
    return f"VERDICT: PASS - {figures}"


def chaos_stack(name: str, config: ChaosConfig, run_holder: list[Run | None],
                on_status: Any = None) -> tuple[LocalStack, FaultProxy]:
    """A stack with the AWS proxy's faults ready and GENESYS_TIMEOUT shortened."""
    proxy = FaultProxy(seed=config.seed, max_consecutive=config.proxy_max_consecutive)

    def on_result(*result: Any) -> None:
        if run_holder[0]:
            run_holder[0].on_result(*result)

    stack = LocalStack(name, aws_proxy=proxy, on_result=on_result, on_status=on_status,
                       env_overrides={"GENESYS_TIMEOUT": str(config.genesys_timeout),
                                      "GENESYS_MULTIGET_MAX": str(config.multiget_max)})
    return stack, proxy


def run_chaos(name: str, config: ChaosConfig, on_status: Any = None, progress: Any = None) -> ChaosResult:
    """Starts a stack, runs the chaos, stops the stack."""
    holder: list[Run | None] = [None]
    stack, proxy = chaos_stack(name, config, holder, on_status)
    with stack:
        holder[0] = Run(stack, progress=progress)
        return ChaosRun(stack, proxy, config, holder[0], progress).execute()


def parse_args() -> ChaosConfig:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--invalid", type=int, default=5)
    parser.add_argument("--malformed", type=int, default=2)
    parser.add_argument("--foreign", type=int, default=5)
    parser.add_argument("--genesys-rate-limit", type=int, default=4,
                        help="the stand-in's API requests per token per minute (another client spends the rest)")
    args = parser.parse_args()
    return ChaosConfig(events=args.events, seed=args.seed, timeout=args.timeout, invalid=args.invalid,
                       malformed=args.malformed, foreign=args.foreign, genesys_rate_limit=args.genesys_rate_limit)


def main() -> int:
    """Entry point."""
    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    config = parse_args()
    progress = Progress()
    try:
        result = run_chaos("chaos", config, on_status=lambda t: print(f"  {t}", flush=True), progress=progress)
    except KeyboardInterrupt:
        print("\nVERDICT: INTERRUPTED", file=sys.stderr)
        return 130
    except StackError as err:
        print(f"\nVERDICT: FAIL - the local stack failed: {err}", file=sys.stderr)
        return 2
    progress.done()
    print_result(result, config)
    print(verdict(result))
    if result.timed_out:
        return 2
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
