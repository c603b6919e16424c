"""Running events through the local stack and accounting for each one: the engine under replay, the demo, the
chaos run and the end-to-end tests.

    run = Run(stack)                        # the stack must be built with on_result=run.on_result
    run.deliver(events, mode="sqs")         # as the Genesys EventBridge rule does
    run.wait_idle(timeout=600)
    report = run.report()

What becomes of an event (`Fate`), from what the stack recorded:

* **stored** - an execution's save answered ``stored`` for it (or ``duplicate``: the table already held this very
  event, written by an earlier attempt whose answer was lost);
* **superseded** - save answered ``stale``: a newer event of its conversation was stored first;
* **skipped** - fanout skipped it, with the reason (not a conversation detail event, no event id);
* **dead-lettered** - it is in a dead-letter queue (pipeline, event, or fanout's on-failure destination), with the
  error;
* **unaccounted** - none of these.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import costs
from driver import AsyncInvoker, event_id, events_in
from stack import LocalStack

STORED, SUPERSEDED, SKIPPED, DEAD_LETTERED, UNACCOUNTED = (
    "stored", "superseded", "skipped", "dead-lettered", "unaccounted")
DEAD_LETTER_QUEUES = ("DeadLetterQueue", "EventDeadLetterQueue", "FanoutDeadLetterQueue", "EnrichmentDeadLetterQueue")
# X-Amz-Target prefixes of the SQS requests the functions make.
SQS_TARGET = "AmazonSQS."
UPDATE_ITEM = "DynamoDB_20120810.UpdateItem"
START_EXECUTION = "AWSStepFunctions.StartExecution"


@dataclass
class Fate:
    """What became of one event."""

    event_id: str | None
    kind: str
    reason: str = ""


@dataclass
class Collected:
    """Everything read back from the stack after a run."""

    executions: list[dict[str, Any]] = field(default_factory=list)
    transitions: int = 0
    dead_letters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)


class Run:
    """Delivers events to a `LocalStack`, waits until it is idle, collects and accounts."""

    def __init__(self, stack: LocalStack, progress: Callable[[str], None] | None = None,
                 ignore_executions: set[str] | None = None):
        """`ignore_executions`: ARNs of executions from before this run (a shared stack keeps them)."""
        self.stack = stack
        self.ignore_executions = set(ignore_executions or ())
        self.progress = progress or (lambda _text: None)
        self.sent: list[Any] = []
        self.fanout_answers: list[dict[str, Any]] = []
        self.enrich_answers: list[dict[str, Any]] = []
        self.buffer_sends = 0
        self.sent_at: dict[int, float] = {}
        self.started_at = time.monotonic()
        self.delivery_seconds = 0.0
        self.rate = 0.0
        self.billing_rate = 0.0
        self._lock = threading.Lock()
        self._invoker: AsyncInvoker | None = None
        self.deliveries: list[Any] = []

    # -- what the event sources saw ----------------------------------------------------------------------------

    def on_result(self, function: str, _messages: list[dict], status: int, answer: Any) -> None:
        """Called by the stack's event source mappings with every invocation's answer."""
        with self._lock:
            if function == "fanout":
                self.fanout_answers.append(answer if status == 200 and isinstance(answer, dict) else {})
            elif function == "enrich" and status == 200 and isinstance(answer, dict):
                self.enrich_answers.append(answer)

    # -- delivering ---------------------------------------------------------------------------------------------

    def deliver(self, events: list[Any], mode: str = "sqs", rate: float = 0.0, workers: int = 4) -> None:
        """Delivers every event as the Genesys rule does: ``sqs`` sends each to the buffer queue (one message per
        event, as EventBridge's SQS target); ``direct`` invokes fanout asynchronously with each (Lambda's retries,
        then the on-failure destination). `rate` events per second (0: as fast as possible)."""
        self.started_at = time.monotonic()
        self.rate = rate
        interval = 1.0 / rate if rate > 0 else 0.0
        if mode == "direct":
            self._invoker = AsyncInvoker(self.stack, retry_delay=0.5)
            with ThreadPoolExecutor(workers, thread_name_prefix="eventbridge") as pool:
                for i, event in enumerate(events):
                    self._pace(i, interval)
                    self.sent.append(event)
                    pool.submit(self._deliver_direct, event, i)
        elif mode == "sqs":
            # EventBridge's SQS target sends one message per event, billed as one request each (counted so in
            # buffer_sends); locally the events due in the same tick go to moto in one SendMessageBatch, so that the
            # local stack keeps up with the documented 200 events/s on two cores.
            with ThreadPoolExecutor(workers, thread_name_prefix="eventbridge") as pool:
                for start in range(0, len(events), 10):
                    chunk = list(range(start, min(start + 10, len(events))))
                    self._pace(chunk[-1], interval)
                    self.sent.extend(events[i] for i in chunk)
                    self.buffer_sends += len(chunk)
                    pool.submit(self._send, [events[i] for i in chunk], chunk)
                    if start % 200 == 0:
                        self.progress(f"sent {start + len(chunk)}/{len(events)} events to the buffer queue")
        else:
            raise ValueError(f"mode must be sqs or direct, not {mode!r}")
        self.delivery_seconds = time.monotonic() - self.started_at
        self.progress(f"sent {len(events)} events ({mode})")

    def _send(self, batch: list[Any], indexes: list[int]) -> None:
        self.stack.send_to_buffer(*batch)
        at = time.time()
        with self._lock:
            for i in indexes:
                self.sent_at[i] = at

    def _pace(self, i: int, interval: float) -> None:
        if interval:
            due = self.started_at + i * interval
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)

    def _deliver_direct(self, event: Any, i: int) -> None:
        assert self._invoker is not None
        delivery = self._invoker.deliver(event, str(i))
        with self._lock:
            self.deliveries.append(delivery)
            self.fanout_answers.append(delivery.result)

    # -- waiting ------------------------------------------------------------------------------------------------

    def wait_idle(self, timeout: float, settle: float = 1.5) -> bool:
        """Waits until the stack is idle (every event source idle, the work queues empty, no execution running)
        twice `settle` seconds apart; False if `timeout` passes first."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            idle = self.stack.idle()
            now = time.monotonic()
            if idle:
                quiet_since = quiet_since or now
                if now - quiet_since >= settle:
                    self.progress(f"idle after {now - self.started_at:.1f} s")
                    return True
            else:
                quiet_since = None
                self.progress(self._status_line())
            time.sleep(0.5)
        return False

    def _status_line(self) -> str:
        depth = {q: self.stack.queue_depth(q) for q in ("FanoutBufferQueue", "EnrichmentQueue")
                 if q in self.stack.physical}
        return (f"[{time.monotonic() - self.started_at:6.1f} s] buffer {depth.get('FanoutBufferQueue', '-')}, "
                f"running executions {self.stack.running_executions()}, enrichment queue "
                f"{depth.get('EnrichmentQueue', '-')}, fanout invocations {len(self.fanout_answers)}, "
                f"enrich invocations {len(self.enrich_answers)}")

    # -- collecting ---------------------------------------------------------------------------------------------

    def collect(self) -> Collected:
        """Executions (with their histories' state transitions), dead letters, items."""
        sfn = self.stack.client("stepfunctions")
        collected = Collected()
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.stack.state_machine_arn)
        for listed in (e for page in pages for e in page["executions"]):
            if listed["executionArn"] in self.ignore_executions:
                continue
            described = sfn.describe_execution(executionArn=listed["executionArn"])
            history = [e for page in sfn.get_paginator("get_execution_history").paginate(
                executionArn=listed["executionArn"], maxResults=1000) for e in page["events"]]
            described["transitions"] = sum(1 for e in history if e["type"].endswith("StateEntered"))
            described["failedAttempts"] = [e["lambdaFunctionFailedEventDetails"].get("error", "")
                                           for e in history if e["type"] == "LambdaFunctionFailed"]
            collected.transitions += described["transitions"]
            collected.executions.append(described)
        for queue in DEAD_LETTER_QUEUES:
            if queue in self.stack.physical:
                collected.dead_letters[queue] = [parse_message(m) for m in self.stack.peek_messages(queue)]
        collected.items = self.stack.scan()
        return collected

    # -- accounting ---------------------------------------------------------------------------------------------

    def fates(self, collected: Collected) -> list[Fate]:
        """The fate of every event sent, in order."""
        outcomes: defaultdict[str, set[str]] = defaultdict(set)
        for execution in collected.executions:
            output = json.loads(execution.get("output") or "{}")
            for entry in output.get("events", []) if isinstance(output, dict) else []:
                outcomes[str(entry.get("eventId"))].add(str(entry.get("outcome")))
        dead: dict[str, str] = {}
        for letter in collected.dead_letters.get("DeadLetterQueue", []):
            body = letter["body"]
            if isinstance(body, dict):
                dead.setdefault(str(body.get("eventId")), f"{body.get('error')} at {body.get('stage')}: "
                                                          f"{str(body.get('cause'))[:160]}")
        for letter in collected.dead_letters.get("EventDeadLetterQueue", []):
            eid = event_id(letter["body"])
            reason = letter["attributes"].get("ERROR_CODE", "not delivered by EventBridge")
            dead.setdefault(str(eid), f"{reason}: {letter['attributes'].get('ERROR_MESSAGE', '')}"[:200])
        for letter in collected.dead_letters.get("FanoutDeadLetterQueue", []):
            record = letter["body"] if isinstance(letter["body"], dict) else {}
            for event in events_in(record.get("requestPayload")):
                error = (record.get("responsePayload") or {}).get("errorType", "?")
                dead.setdefault(str(event_id(event)), f"fanout failed {record.get('requestContext', {}).get('approximateInvokeCount', '?')}x: {error}")
        skipped: dict[str, str] = {}
        for answer in self.fanout_answers:
            for s in answer.get("skipped", []):
                skipped.setdefault(str(s.get("eventId")), str(s.get("reason")))
        # Events without an id are matched by count: fanout reports them with eventId null.
        anonymous_skips = sum(1 for a in self.fanout_answers for s in a.get("skipped", []) if s.get("eventId") is None)
        anonymous_dead = sum(1 for a in self.fanout_answers for d in a.get("deadLettered", [])
                             if d.get("eventId") is None)
        fates: list[Fate] = []
        seen: set[str] = set()
        for event in self.sent:
            for one in events_in(event):
                eid = event_id(one)
                if eid is None:
                    if anonymous_dead:
                        anonymous_dead -= 1
                        fates.append(Fate(None, DEAD_LETTERED, "malformed: in the event dead-letter queue"))
                    elif anonymous_skips:
                        anonymous_skips -= 1
                        fates.append(Fate(None, SKIPPED, "no event id"))
                    else:
                        fates.append(Fate(None, UNACCOUNTED, "an event without an id, neither skipped nor "
                                                             "dead-lettered"))
                    continue
                if eid in seen:
                    continue  # a redelivery: the event's fate is counted once
                seen.add(eid)
                fates.append(fate_of(eid, outcomes.get(eid, set()), dead, skipped))
        return fates

    def report(self, genesys_external: bool = False) -> dict[str, Any]:
        """The run's report (replay's ``--report``): counts, records, dead letters, accounting, costs."""
        collected = self.collect()
        fates = self.fates(collected)
        tally = Counter(f.kind for f in fates)
        proxy = self.stack.aws_proxy.stats()
        calls: dict[str, int] = proxy["calls"]
        invocations = self.stack.bridge.totals()
        durations = self.stack.invocation_durations()
        memory = self.stack.function_memory()
        sqs_requests = (self.buffer_sends
                        + sum(n for target, n in calls.items() if target.startswith(SQS_TARGET))
                        + sum(s.counts["ReceiveMessage"] + s.counts["DeleteMessageBatch"]
                              for s in self.stack.event_sources))
        writes = sum(calls.get(t, 0) for t in (UPDATE_ITEM,))
        # DynamoDB as it bills: the AWS proxy metered each write on the item's size, and each index write.
        meter = self.stack.aws_proxy.meter.stats() if self.stack.aws_proxy.meter else {}
        events = len(fates)
        lines = self.stack.function_lines()
        usage = costs.Usage(
            events=events, state_transitions=collected.transitions,
            lambda_requests=invocations,
            lambda_gb_seconds={f: costs.billed_gb_seconds(d, memory.get(f, 128)) for f, d in durations.items()},
            sqs_requests=sqs_requests, dynamodb_write_units=meter.get("tableWriteUnits", writes),
            dynamodb_index_write_units=meter.get("indexWriteUnits", 0),
            eventbridge_events=len(self.sent), log_bytes=self.stack.function_log_bytes(),
            xray_traces=self._xray_traces(lines))
        enrich_events = self._enrich_events(fates)
        measured = costs.cost(usage)
        units_per_write = (meter.get("tableWriteUnits", writes) / meter["writes"]) if meter.get("writes") else 1
        genesys = self._genesys(collected, enrich_events, genesys_external)
        report = {
            "sent": len(self.sent),
            "events": events,
            "executions": len(collected.executions),
            "startExecutionCalls": calls.get(START_EXECUTION, 0),
            "stateTransitions": collected.transitions,
            "lambdaInvocations": invocations,
            "lambdaBilledMs": {f: sum(math.ceil(max(d, 0.001)) for d in ds) for f, ds in durations.items()},
            "records": collected.items,
            "deadLetters": [{"queue": q, **m} for q, ms in collected.dead_letters.items() for m in ms],
            "skipped": [{"eventId": f.event_id, "reason": f.reason} for f in fates if f.kind == SKIPPED],
            "accounting": {k: tally.get(k, 0) for k in (STORED, SUPERSEDED, SKIPPED, DEAD_LETTERED, UNACCOUNTED)},
            "unaccounted": [{"eventId": f.event_id, "reason": f.reason} for f in fates if f.kind == UNACCOUNTED],
            "duplicatedWrites": self.duplicated_writes(),
            "itemsNotAtNewestEvent": self.item_mismatches(fates, collected),
            "enrichment": self._enrichment(collected, enrich_events),
            "genesysRequests": None if genesys_external else genesys["requests"],
            "genesys": genesys,
            "awsCalls": calls,
            "sqsRequests": sqs_requests,
            "dynamodbWrites": writes,
            "wallSeconds": round(time.monotonic() - self.started_at, 1),
            "perEvent": {
                "startExecutionCalls": round(calls.get(START_EXECUTION, 0) / max(events, 1), 4),
                "stateTransitions": round(collected.transitions / max(events, 1), 4),
                "lambdaInvocations": round(sum(invocations.values()) / max(events, 1), 4),
            },
            "costPerMillionEvents": {**measured, "before": costs.before(events, enrich_events["events"],
                                                                      units_per_write)},
            "dynamodbMetered": meter,
            "monthlyFixed": self._monthly_fixed(lines, collected, events),
            "deadLetterRepeats": dead_letter_repeats(collected.dead_letters),
            "timeline": self._timeline(collected, genesys["budgetPerMinute"]),
            "limitViolations": self.stack.limit_violations(),
        }
        return report

    def _timeline(self, collected: Collected, budget: int) -> dict[str, Any]:
        """Minute by minute since the first send: Genesys requests (the stand-in's log), and the p50 / p99 of the
        time from an event's send to its write (event to stored) and from a conversation's first enrich-topic
        event's send to its analytics view (enrichment), by the minute the event was sent."""
        if not self.sent_at:
            return {}
        start = min(self.sent_at.values())
        minute = lambda t: int((t - start) // 60)  # noqa: E731
        sent_at = {self.sent[i].get("id") if isinstance(self.sent[i], dict) else None: t
                   for i, t in self.sent_at.items()}
        stored: dict[int, list[float]] = {}
        for (_conversation, event), at in self.stack.aws_proxy.write_times.items():
            if event in sent_at:
                stored.setdefault(minute(sent_at[event]), []).append((at - sent_at[event]) * 1000)
        topics = set(self.stack.function_env.get("ENRICH_TOPICS", "customer.end,acw,user.end").split(","))
        first_enrich: dict[str, float] = {}
        for i, t in self.sent_at.items():
            e = self.sent[i]
            body = event_body(e)
            if body and short_topic(e.get("detail-type")) in topics:
                c = body.get("conversationId")
                if isinstance(c, str):
                    first_enrich[c] = min(t, first_enrich.get(c, t))
        enriched: dict[int, list[float]] = {}
        for item in collected.items:
            at, c = item.get("enrichedAt"), item.get("conversationId")
            if isinstance(at, int | float) and c in first_enrich:
                enriched.setdefault(minute(first_enrich[c]), []).append(at - first_enrich[c] * 1000)
        genesys: Counter[int] = Counter()
        log = self.stack.run_dir / "genesys-requests.jsonl"
        if log.exists():
            for text in log.read_text().splitlines():
                try:
                    genesys[minute(json.loads(text)["t"])] += 1
                except (ValueError, KeyError):
                    continue
        minutes = max([0, *stored, *enriched, *genesys]) + 1

        def pct(series: dict[int, list[float]], q: float) -> list[float | None]:
            return [round(statistics.quantiles(v, n=100, method="inclusive")[q - 1]) if len(v) > 1
                    else (round(v[0]) if v else None) for v in (sorted(series.get(m, [])) for m in range(minutes))]

        return {"startedAt": round(start, 3), "minutes": minutes, "budgetPerMinute": budget,
                "genesysRequests": [genesys.get(m, 0) for m in range(minutes)],
                "storedLagMs": {"p50": pct(stored, 50), "p99": pct(stored, 99)},
                "enrichmentLagMs": {"p50": pct(enriched, 50), "p99": pct(enriched, 99)}}

    def _xray_traces(self, lines: list[dict[str, Any]]) -> float:
        """Traces X-Ray would record under the sampling in force: none with tracing off (the default); with it on,
        AWS's default rule (the first request each second, then 5 %) over the requests that start a trace (each
        fanout and enrich invocation; executions continue fanout's)."""
        if self.stack.parameters().get("XRayTracing", "false") != "true":
            return 0.0
        per_second: Counter[int] = Counter()
        for line in lines:
            at = (line.get("_aws") or {}).get("Timestamp")
            if line.get("message") == "invocation" and line.get("function") in ("fanout", "enrich") and at:
                per_second[int(at) // 1000] += 1
        return costs.sampled_traces(list(per_second.values()), reservoir=1, rate=0.05)

    def _monthly_fixed(self, lines: list[dict[str, Any]], collected: Collected, events: int) -> dict[str, Any]:
        """What the stack costs each month whatever its volume, counted from this run and the template: the custom
        metrics the functions' metric blocks declared, the alarms, the dashboard and secrets the template creates,
        idle polling, and storage at the run's rate and the configured retention."""
        metrics = emf_metrics(lines)
        resources = self.stack.template.resources
        resolver = self.stack.resolver()

        def created(resource: dict[str, Any]) -> bool:
            condition = resource.get("Condition")
            return condition is None or resolver.condition(condition)

        alarm_metrics = sum(max(1, len([m for m in r.get("Properties", {}).get("Metrics", []) if "MetricStat" in m]))
                            for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm" and created(r))
        secrets = sum(1 for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret" and created(r))
        dashboards = sum(1 for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard" and created(r))
        meter = self.stack.aws_proxy.meter
        stored = meter.stored_bytes() if meter else sum(len(json.dumps(i, default=str)) for i in collected.items)
        item_bytes = stored / max(events, 1)
        # At the rate the run stands for (replay --batches-as-at), else the one it was asked for, else the one it
        # reached.
        rate = self.billing_rate or self.rate or events / max(self.delivery_seconds, 1.0)
        retention = float(self.stack.parameters().get("RecordTtlDays", "0") or 0)
        fixed = costs.Fixed(custom_metrics=len(metrics), alarm_metrics=alarm_metrics, dashboards=dashboards,
                            secrets=secrets, idle_polling_requests_per_month=costs.idle_polling(queues=2),
                            stored_gb=costs.stored_gb(rate, item_bytes, retention), pitr=True,
                            details={"storageAtEventsPerSecond": round(rate, 1), "retentionDays": retention or 365,
                                     "itemBytesPerEvent": round(item_bytes, 1)})
        return costs.monthly_fixed(fixed)

    def _enrich_events(self, fates: list[Fate]) -> dict[str, Any]:
        """Events of an enrich topic that reached save, and their conversations."""
        topics = set(self.stack.function_env.get("ENRICH_TOPICS", "customer.end,acw,user.end").split(","))
        if "none" in topics:
            topics = set()
        reached = {f.event_id for f in fates if f.kind in (STORED, SUPERSEDED)}
        conversations: set[str] = set()
        count = 0
        for event in self.sent:
            for one in events_in(event):
                if not isinstance(one, dict) or event_id(one) not in reached:
                    continue
                suffix = str(one.get("detail-type", "")).rsplit("{id}.", 1)[-1]
                if suffix in topics:
                    count += 1
                    cid = event_body(one).get("conversationId")
                    conversations.add(str(cid))
        return {"events": count, "conversations": sorted(conversations)}

    def _enrichment(self, collected: Collected, enrich_events: dict[str, Any]) -> dict[str, Any]:
        wanted = set(enrich_events["conversations"])
        enriched = {str(i.get("conversationId")) for i in collected.items if i.get("enriched") is True}
        given_up = {str(m["body"].get("conversationId")) for m in collected.dead_letters.get("EnrichmentDeadLetterQueue", [])
                    if isinstance(m["body"], dict)}
        missing = sorted(wanted - enriched - given_up)
        lags = [a.get("lagMs", 0) for a in self.enrich_answers if a.get("enriched")]
        return {"conversations": len(wanted), "enriched": len(wanted & enriched),
                "deadLettered": len(wanted & given_up), "missing": missing,
                "maxLagMs": max(lags, default=0)}

    def _genesys(self, collected: Collected, enrich_events: dict[str, Any], external: bool) -> dict[str, Any]:
        multi_gets = sum(a.get("genesysRequests", 0) for a in self.enrich_answers)
        conversations = len(set(enrich_events["conversations"]))
        out: dict[str, Any] = {
            "multiGetsSent": multi_gets,
            "enrichedConversations": conversations,
            "analyticsRequestsPerEnrichedConversation": round(multi_gets / conversations, 4) if conversations else 0,
            "budgetPerMinute": int(self.stack.function_env.get("GENESYS_REQUESTS_PER_MINUTE", "240")),
        }
        if external or not self.stack.genesys:
            out["requests"] = None
            return out
        stats = self.stack.genesys.stats()
        out.update({"requests": stats["requests"], "apiRequests": stats["apiRequests"],
                    "tokenRequests": stats["requests"] - stats["apiRequests"],
                    "statuses": stats["api"], "maxRequestsInAnyMinute": stats["maxRequestsInAnyMinute"],
                    "maxApiRequestsPerTokenInAnyMinute": stats["maxApiRequestsPerTokenInAnyMinute"],
                    "injected": stats["injected"]})
        if conversations:
            out["analyticsRequestsPerEnrichedConversation"] = round(stats["apiRequests"] / conversations, 4)
        return out

    def duplicated_writes(self) -> list[dict[str, Any]]:
        """Events whose conditional write DynamoDB accepted more than once (on the wire, at the AWS proxy)."""
        return [{"conversationId": c, "eventId": e, "writes": n}
                for (c, e), n in self.stack.aws_proxy.writes.items() if e and n > 1]

    def item_mismatches(self, fates: list[Fate], collected: Collected) -> list[dict[str, Any]]:
        """Conversations whose item does not hold the newest event (by eventTime, eventId) that reached save."""
        reached = {f.event_id for f in fates if f.kind in (STORED, SUPERSEDED)}
        newest: dict[str, tuple[int, str]] = {}
        for event in self.sent:
            for one in events_in(event):
                eid = event_id(one)
                if eid not in reached:
                    continue
                body = (one.get("detail") or {}).get("eventBody", {})
                key = (int(body.get("eventTime", 0)), str(eid))
                cid = str(body.get("conversationId"))
                newest[cid] = max(newest.get(cid, key), key)
        items = {str(i.get("conversationId")): i for i in collected.items}
        wrong = []
        for cid, (t, eid) in newest.items():
            item = items.get(cid, {})
            if item.get("lastEventId") != eid:
                wrong.append({"conversationId": cid, "expected": eid, "stored": item.get("lastEventId")})
        return wrong


def emf_metrics(lines: list[dict[str, Any]]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """The custom metrics the functions' lines declared in Embedded Metric Format: (namespace, metric, dimensions),
    each a metric CloudWatch bills monthly."""
    found = set()
    for line in lines:
        for directive in (line.get("_aws") or {}).get("CloudWatchMetrics", []):
            for dimensions in directive.get("Dimensions", []) or [[]]:
                dims = tuple((d, str(line.get(d))) for d in dimensions)
                for metric in directive.get("Metrics", []):
                    found.add((directive.get("Namespace", ""), metric.get("Name", ""), dims))
    return found


def redrive_key(body: Any) -> str | None:
    """What `gcx redrive` treats as one event to restart (docs/contracts.md, Dead letter): `<executionId>|<eventId>`,
    else the `deadLetterId`; None for a letter with neither."""
    if not isinstance(body, dict):
        return None
    if body.get("executionId") and body.get("eventId"):
        return f"{body['executionId']}|{body['eventId']}"
    return body.get("deadLetterId") or None


def dead_letter_repeats(dead_letters: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Repeated letters in the pipeline and enrichment dead-letter queues: `copies`, letters beyond the first of
    one redrive key (gcx redrives one and deletes the rest); `redrivenTwice`, events whose letters carry two
    different keys, or none at all, which a redrive would restart twice."""
    copies = 0
    twice: list[str] = []
    for queue in ("DeadLetterQueue", "EnrichmentDeadLetterQueue"):
        keys: dict[str, set[str | None]] = {}
        seen: Counter[str] = Counter()
        for message in dead_letters.get(queue, []):
            body = message.get("body")
            key = redrive_key(body)
            event = body.get("eventId") if isinstance(body, dict) else None
            if key:
                seen[key] += 1
            if event:
                keys.setdefault(event, set()).add(key)
        copies += sum(n - 1 for n in seen.values())
        twice += [f"{queue}: {event}" for event, ks in keys.items() if len(ks) > 1 or None in ks]
    return {"copies": copies, "redrivenTwice": sorted(twice)}


def fate_of(eid: str, outcomes: set[str], dead: dict[str, str], skipped: dict[str, str]) -> Fate:
    """One event's fate from its save outcomes, the dead letters and fanout's skips."""
    if "stored" in outcomes:
        return Fate(eid, STORED, "stored")
    if "duplicate" in outcomes:
        return Fate(eid, STORED, "stored by an earlier attempt (duplicate)")
    if "stale" in outcomes:
        return Fate(eid, SUPERSEDED, "stale: a newer event of the conversation is stored")
    if eid in dead:
        return Fate(eid, DEAD_LETTERED, dead[eid])
    if "deadLettered" in outcomes:
        return Fate(eid, DEAD_LETTERED, "dead-lettered by save")
    if eid in skipped:
        return Fate(eid, SKIPPED, skipped[eid])
    return Fate(eid, UNACCOUNTED, "no execution stored it, no dead-letter queue holds it, fanout did not skip it")


def parse_message(message: dict[str, Any]) -> dict[str, Any]:
    """An SQS message as a report shows it: the body parsed, the string attributes."""
    text = message.get("Body", "")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
    return {"body": body, "attributes": attributes}


def event_body(event: Any) -> dict[str, Any]:
    """`detail.eventBody`, or {} when any level is missing or not an object (chaos sends such events too)."""
    detail = event.get("detail") if isinstance(event, dict) else None
    body = detail.get("eventBody") if isinstance(detail, dict) else None
    return body if isinstance(body, dict) else {}


def short_topic(detail_type: Any) -> str:
    """`customer.end` for `v2.detail.events.conversation.{id}.customer.end`."""
    text = str(detail_type or "")
    return re.sub(r"^v2\.detail\.events\.conversation\.\{id\}\.", "", text)
