"""The demo: run sample Genesys events through the local pipeline and print what became of each.

    .venv/bin/python local/demo.py [--timeout S] [--conversation-id ID] [--mode sqs|direct]

It starts the local stack (local/stack.py), delivers the events of `PLAN` the way the Genesys EventBridge rule does
(to the buffer queue, default; or to fanout, ``--mode direct``), waits until the pipeline is idle (local/run.py),
asks the data action the Architect-style inputs of events/data-action/, prints a summary and a one-line verdict,
stops everything, and exits 0 only if everything ended as expected (1 if not, 2 if the stack failed, 130 on Ctrl-C).

With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENV set, enrich talks to the real Genesys Cloud API
instead of the stand-in; use --conversation-id to replay the events for a conversation your org really has.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driver import Progress, data_action_problems, event_id, with_conversation
from run import DEAD_LETTERED, SKIPPED, STORED, SUPERSEDED, UNACCOUNTED, Collected, Fate, Run, short_topic
from stack import REPO, Invocation, LocalStack, StackError, external_genesys

EVENTS = REPO / "events"
SAMPLE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"


@dataclass(frozen=True)
class Step:
    """One EventBridge delivery of the demo and the fates its event may have."""

    label: str
    path: str
    expected: tuple[str, ...]

    def expects(self, kind: str) -> bool:
        return kind in self.expected

    def expected_text(self) -> str:
        return " or ".join(self.expected)


# save writes each conversation once per batch: the newest event's record, with every gap filled from the older
# ones (docs/contracts.md, save). An older event of the same conversation in the same batch is therefore
# `superseded` (its fields are in that write); in a batch of its own it is `stored`. The demo's deliveries usually
# share one batch, but a slow machine may split them.
STORED_OR_MERGED = (STORED, SUPERSEDED)


PLAN = [
    Step("customer start", "eventbridge/customer-start.json", STORED_OR_MERGED),
    Step("customer end (an enrich topic)", "eventbridge/customer-end.json", STORED_OR_MERGED),
    Step("after-call work (an enrich topic, the conversation's newest)", "eventbridge/acw.json", (STORED,)),
    Step("audit event (not a conversation)", "eventbridge/audit.json", (SKIPPED,)),
    Step("customer end, delivered again", "eventbridge/customer-end.json", STORED_OR_MERGED),
    Step("malformed payload (a JSON string)", "fanout/malformed-string.json", (DEAD_LETTERED,)),
    Step("an event whose conversation id is not a UUID", "eventbridge/flow-start.json", (DEAD_LETTERED,)),
]


def heading(title: str) -> None:
    """A section title."""
    print(f"\n== {title} " + "=" * max(0, 100 - len(title)))


def table(headers: list[str], rows: list[list[Any]], max_width: int = 60) -> None:
    """A plain fixed-width table."""
    cells = [[str(c) if len(str(c)) <= max_width else str(c)[: max_width - 1] + "…" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def load_plan(conversation_id: str | None) -> list[tuple[Step, Any]]:
    """The plan's payloads (the invalid one broken on purpose), re-targeted to `conversation_id` if given."""
    loaded = []
    for step in PLAN:
        payload = json.loads((EVENTS / step.path).read_text())
        if conversation_id:
            payload = with_conversation(payload, SAMPLE_CONVERSATION, conversation_id)
        if "not a UUID" in step.label:
            payload["id"] = "0b6e2c1a-demo-invalid-conversation"
            payload["detail"]["eventBody"]["conversationId"] = "not-a-uuid"
        loaded.append((step, payload))
    return loaded


def known_conversations(plan: list[tuple[Step, Any]]) -> dict[str, Any]:
    """The conversations of the plan's events with their first eventTime, for the Genesys stand-in."""
    starts: dict[str, Any] = {}
    for _, payload in plan:
        body = payload.get("detail", {}).get("eventBody") if isinstance(payload, dict) else None
        if isinstance(body, dict) and body.get("conversationId") and isinstance(body.get("eventTime"), int):
            cid = body["conversationId"]
            starts[cid] = min(starts.get(cid, body["eventTime"]), body["eventTime"])
    return starts


def run_data_action(stack: LocalStack) -> list[tuple[str, Any, Invocation]]:
    """Invokes the data action with every input in events/data-action/."""
    results = []
    for path in sorted((EVENTS / "data-action").glob("*.json")):
        event = json.loads(path.read_text())
        results.append((path.name, event, stack.invoke("data-action", event, timeout=60)))
    return results


def print_fates(plan: list[tuple[Step, Any]], fates: dict[str | None, Fate]) -> None:
    """Each delivery's event and its fate."""
    heading("Events (EventBridge -> buffer queue -> fanout -> Step Functions -> DynamoDB; enrich later)")
    rows = []
    for number, (step, payload) in enumerate(plan, 1):
        eid = event_id(payload)
        fate = fates.get(eid) or fates.get(None) or Fate(eid, UNACCOUNTED)
        detail_type = payload.get("detail-type") if isinstance(payload, dict) else "(not an event)"
        mark = "" if step.expects(fate.kind) else f"  << expected {step.expected_text()}"
        rows.append([number, step.path, short_topic(detail_type), eid or "-", fate.kind + mark, fate.reason])
    table(["#", "file", "type", "event id", "fate", "reason"], rows, 70)


def print_executions(collected: Collected) -> None:
    """Every execution: its batch, status, transitions and failed Lambda attempts."""
    heading("Executions (each carries a batch of events)")
    rows = []
    for e in collected.executions:
        events = json.loads(e.get("input") or "{}").get("events", [])
        took = f"{(e['stopDate'] - e['startDate']).total_seconds():.2f} s" if e.get("stopDate") else "-"
        rows.append([e["name"], len(events), e["status"], took, e["transitions"],
                     ", ".join(e["failedAttempts"]) or "-"])
    table(["name", "events", "status", "took", "transitions", "failed attempts"], rows)


def print_items(items: list[dict[str, Any]]) -> None:
    """The stored items."""
    heading(f"Stored items (DynamoDB Scan, {len(items)})")
    for item in items:
        agents = ", ".join(f"{a.get('userId')} ({a.get('name')})" for a in item.get("agents") or [])
        print(f"{item.get('conversationId')}: {item.get('mediaType')} {item.get('originatingDirection')}, "
              f"{item.get('conversationStart')} -> {item.get('conversationEnd')} ({item.get('durationMs')} ms)")
        print(f"    customer {item.get('customerParticipantName')!r}; agents {agents or '-'}; "
              f"queues {item.get('queueIds')}; wrap-up codes {item.get('wrapUpCodes')}")
        print(f"    last event {short_topic(item.get('lastEventType'))} {item.get('lastEventId')} "
              f"@ {item.get('lastEventTime')}; enriched {item.get('enriched')}")


def print_dead_letters(collected: Collected) -> None:
    """Every dead-letter queue's messages."""
    for queue, messages in collected.dead_letters.items():
        heading(f"{queue} ({len(messages)} messages)")
        for m in messages:
            body = m["body"]
            if queue in ("DeadLetterQueue", "EnrichmentDeadLetterQueue") and isinstance(body, dict):
                print(f"  event {body.get('eventId')} ({short_topic(body.get('eventType'))}): {body.get('error')} "
                      f"at {body.get('stage')}: {str(body.get('cause'))[:110]}")
            else:
                print(f"  {m['attributes'].get('ERROR_CODE', '')}: {m['attributes'].get('ERROR_MESSAGE', '')[:90]}; "
                      f"body {json.dumps(body)[:60]}")
        if not messages:
            print("  (empty)")


def print_data_action(results: list[tuple[str, Any, Invocation]]) -> None:
    """The data action's answers."""
    heading("Data action (Architect inputs from events/data-action/)")
    rows = []
    for name, event, invocation in results:
        out = invocation.payload if isinstance(invocation.payload, dict) else {}
        problems = data_action_problems(event, invocation)
        rows.append([name, json.dumps(event, separators=(",", ":")), out.get("success"), out.get("error"),
                     out.get("customer_name"), out.get("customer_tier"), out.get("customer_balance"),
                     out.get("account_status"), "ok" if not problems else "WRONG: " + "; ".join(problems)])
    table(["input", "event", "success", "error", "name", "tier", "balance", "status", "check"], rows, 48)


def print_calls(stack: LocalStack, report: dict[str, Any]) -> None:
    """How often each stand-in and function was called, and what the run would cost."""
    heading("Calls and cost")
    g = report["genesys"]
    if g.get("requests") is not None:
        print(f"  Genesys stand-in: {g['requests']} requests (token {g['tokenRequests']}, analytics {g['apiRequests']})")
    print(f"  upstream stand-in: {stack.upstream.stats()}")
    print(f"  Lambda invocations: {report['lambdaInvocations']}")
    print(f"  AWS calls of the functions: {report['awsCalls']}")
    print(f"  state transitions: {report['stateTransitions']} for {report['events']} events")


def checks(plan: list[tuple[Step, Any]], fates: dict[str | None, Fate], report: dict[str, Any],
           data_action: list[tuple[str, Any, Invocation]]) -> list[str]:
    """Every way the run differs from what was expected (empty when it all went right)."""
    problems = []
    for step, payload in plan:
        fate = fates.get(event_id(payload)) or fates.get(None)
        if not fate or not step.expects(fate.kind):
            problems.append(f"{step.path} ({step.label}): {fate.kind if fate else 'no fate'}, expected "
                            f"{step.expected_text()}")
    if report["accounting"][UNACCOUNTED]:
        problems.append(f"{report['accounting'][UNACCOUNTED]} events are unaccounted for")
    problems += [f"item {m['conversationId']} holds {m['stored']}, expected {m['expected']}"
                 for m in report["itemsNotAtNewestEvent"]]
    problems += [f"conversation {c} is not enriched" for c in report["enrichment"]["missing"]]
    problems += [f"event {w['eventId']} written {w['writes']} times" for w in report["duplicatedWrites"]]
    problems += [f"over an AWS quota: {v}" for v in report["limitViolations"]]
    problems += [f"data action {name}: {problem}"
                 for name, event, invocation in data_action for problem in data_action_problems(event, invocation)]
    return problems


def install_signal_handlers() -> None:
    """SIGINT, SIGTERM and SIGHUP stop the run and the stack on the way out."""
    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def parse_args() -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for the pipeline to be idle (default 120; 1200 with real Genesys)")
    parser.add_argument("--conversation-id", help="replay the events for this conversation id instead of the "
                                                  f"sample's {SAMPLE_CONVERSATION}")
    parser.add_argument("--mode", choices=["sqs", "direct"], default="sqs", help="how events reach fanout")
    return parser.parse_args()


def run(args: argparse.Namespace) -> int:
    """The whole demo; returns the exit status."""
    started = time.monotonic()
    genesys = external_genesys()
    plan = load_plan(args.conversation_id)
    timeout = args.timeout or (1200.0 if genesys else 120.0)
    progress = Progress()
    print("Genesys: " + ("yours (GENESYS_* variables)" if genesys else "local stand-in"))
    pipeline: Run | None = None

    def on_result(*result: Any) -> None:
        if pipeline:
            pipeline.on_result(*result)

    stack = LocalStack("demo", genesys=genesys, conversations=known_conversations(plan),
                       parameters={"BufferMode": args.mode}, on_result=on_result,
                       on_status=lambda text: print(f"  {text}", flush=True))
    with stack:
        pipeline = Run(stack, progress=progress)
        pipeline.deliver([payload for _, payload in plan], mode=args.mode)
        idle = pipeline.wait_idle(timeout)
        progress.done()
        data_action = run_data_action(stack)
        collected = pipeline.collect()
        fates = {f.event_id: f for f in pipeline.fates(collected)}
        report = pipeline.report(genesys_external=genesys is not None)
        heading("Local stack")
        table(["part", "address", "stands for"], [list(row) for row in stack.describe()], 80)
        print_fates(plan, fates)
        print_executions(collected)
        print_items(collected.items)
        print_dead_letters(collected)
        print_data_action(data_action)
        print_calls(stack, report)
        problems = checks(plan, fates, report, data_action)
        if not idle:
            problems.append(f"the pipeline was still busy after {timeout:.0f} s")
    a = report["accounting"]
    summary = (f"{len(plan)} deliveries, {report['events']} events: {a[STORED]} stored, {a[SUPERSEDED]} superseded, "
               f"{a[SKIPPED]} skipped, {a[DEAD_LETTERED]} dead-lettered, in {report['executions']} execution(s); "
               f"{report['enrichment']['enriched']} conversation(s) enriched; {len(data_action)} data-action answers; "
               f"{time.monotonic() - started:.1f} s")
    print()
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    print(("VERDICT: FAIL - " + f"{len(problems)} problem(s); " if problems else "VERDICT: PASS - ") + summary)
    return 1 if problems else 0


def main() -> int:
    """Entry point: runs the demo and maps failures to exit statuses."""
    install_signal_handlers()
    args = parse_args()
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\nVERDICT: INTERRUPTED - the local stack was stopped", file=sys.stderr)
        return 130
    except (StackError, OSError) as err:
        print(f"\nVERDICT: FAIL - the local stack failed: {err}", file=sys.stderr)
        print(f"(logs: {Path('local/.run/demo')})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
