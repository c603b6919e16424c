"""The demo: run the sample Genesys events through the local pipeline and print what became of each.

    .venv/bin/python local/demo.py [--timeout S] [--conversation-id ID]

It starts the local stack (local/stack.py), plays EventBridge for the events of `PLAN` (one fanout invocation per
event, with Lambda's async retries and on-failure destination), waits for the executions with a progress line,
asks the data action the Architect-style inputs of events/data-action/, prints a summary and a one-line verdict,
stops everything, and exits 0 only if everything ended as expected (1 if not, 2 if the stack failed, 130 on Ctrl-C).

With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENV set, process talks to the real Genesys Cloud API
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

from driver import (
    DEAD_LETTERED,
    PIPELINE_DLQ,
    SKIPPED,
    STORED,
    AsyncInvoker,
    Delivery,
    ExecutionIndex,
    Fate,
    Progress,
    classify,
    data_action_problems,
    dead_letters_by_event,
    event_id,
    failed_attempts,
    started_event_ids,
    tally,
    wait_for_executions,
    with_conversation,
)
from stack import REPO, Invocation, LocalStack, StackError, real_genesys_from_env

EVENTS = REPO / "events"
SAMPLE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"


@dataclass(frozen=True)
class Step:
    """One EventBridge delivery of the demo and the fate it must have."""

    label: str
    path: str
    expected: str


PLAN = [
    Step("customer start", "eventbridge/customer-start.json", STORED),
    Step("customer end (enriched from Genesys)", "eventbridge/customer-end.json", STORED),
    Step("after-call work (enriched)", "eventbridge/acw.json", STORED),
    Step("audit event (not a conversation)", "eventbridge/audit.json", SKIPPED),
    Step("customer end, delivered again", "eventbridge/customer-end.json", SKIPPED),
    Step("malformed payload (a JSON string)", "fanout/malformed-string.json", DEAD_LETTERED),
]


# -- output helpers ------------------------------------------------------------------------------------------------

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


def short_type(detail_type: Any) -> str:
    """`customer.end` for `v2.detail.events.conversation.{id}.customer.end`."""
    text = str(detail_type or "")
    return text.split("{id}.", 1)[1] if text.startswith("v2.detail.events.conversation.") else text


def seconds(execution: dict[str, Any]) -> str:
    """An execution's duration."""
    stop = execution.get("stopDate")
    return f"{(stop - execution['startDate']).total_seconds():.2f} s" if stop else "-"


# -- the run -------------------------------------------------------------------------------------------------------

def load_plan(conversation_id: str | None) -> list[tuple[Step, Any]]:
    """The plan's payloads, re-targeted to `conversation_id` when given."""
    loaded = []
    for step in PLAN:
        payload = json.loads((EVENTS / step.path).read_text())
        if conversation_id:
            payload = with_conversation(payload, SAMPLE_CONVERSATION, conversation_id)
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


def deliver_all(stack: LocalStack, plan: list[tuple[Step, Any]], timeout: float,
                progress: Progress) -> tuple[list[Delivery], dict[str, list[dict[str, Any]]]]:
    """Delivers each event in turn and waits for its executions to finish before the next one."""
    invoker = AsyncInvoker(stack)
    index = ExecutionIndex(stack)
    deliveries: list[Delivery] = []
    by_event: dict[str, list[dict[str, Any]]] = {}
    for number, (step, payload) in enumerate(plan, 1):
        prefix = f"[{number}/{len(plan)}] {step.label}: "
        progress(prefix + "invoking fanout")
        delivery = invoker.deliver(payload, step.label)
        deliveries.append(delivery)
        by_event = wait_for_executions(index, started_event_ids(delivery), timeout,
                                       lambda text, p=prefix: progress(p + text))
    progress.done()
    return deliveries, by_event


def run_data_action(stack: LocalStack) -> list[tuple[str, Any, Invocation]]:
    """Invokes the data action with every input in events/data-action/."""
    results = []
    for path in sorted((EVENTS / "data-action").glob("*.json")):
        event = json.loads(path.read_text())
        results.append((path.name, event, stack.invoke("data-action", event, timeout=60)))
    return results


# -- the summary ---------------------------------------------------------------------------------------------------

def print_stack(stack: LocalStack) -> None:
    """Where each part runs and what it stands for."""
    heading("Local stack")
    table(["part", "address", "stands for"], [list(row) for row in stack.describe()], 80)


def print_fates(fates: list[Fate], plan: list[tuple[Step, Any]]) -> None:
    """Each delivered event's fate."""
    heading("Events (EventBridge -> fanout -> Step Functions -> DynamoDB)")
    rows = []
    for number, (fate, (step, payload)) in enumerate(zip(fates, plan, strict=True), 1):
        detail_type = payload.get("detail-type") if isinstance(payload, dict) else "(not an event)"
        mark = "" if fate.kind == step.expected else f"  << expected {step.expected}"
        rows.append([number, step.path, short_type(detail_type), fate.event_id or "-", fate.kind + mark, fate.reason])
    table(["#", "file", "type", "event id", "fate", "reason"], rows, 70)


def print_executions(stack: LocalStack, by_event: dict[str, list[dict[str, Any]]]) -> None:
    """Every execution: status, duration, and any failed Lambda attempts (retries) in its history."""
    heading("Executions (ListExecutions / DescribeExecution / GetExecutionHistory)")
    rows = []
    for executions in by_event.values():
        for execution in executions:
            failures = failed_attempts(stack.history(execution["executionArn"]))
            event_type = json.loads(execution.get("input") or "{}").get("eventType")
            rows.append([execution["name"], short_type(event_type), execution["status"], seconds(execution),
                         ", ".join(failures) or "-", execution.get("error") or ""])
    table(["name", "type", "status", "took", "failed attempts (retried or caught)", "error"], rows)


def print_items(items: list[dict[str, Any]]) -> None:
    """The stored items."""
    heading(f"Stored items (DynamoDB Scan, {len(items)})")
    for item in items:
        agents = ", ".join(f"{a.get('userId')} ({a.get('name')})" for a in item.get("agents") or [])
        print(f"{item.get('conversationId')}: {item.get('mediaType')} {item.get('originatingDirection')}, "
              f"{item.get('conversationStart')} -> {item.get('conversationEnd')} ({item.get('durationMs')} ms)")
        print(f"    customer {item.get('customerParticipantName')!r}; agents {agents or '-'}; "
              f"queues {item.get('queueIds')}; wrap-up codes {item.get('wrapUpCodes')}")
        print(f"    last event {short_type(item.get('lastEventType'))} {item.get('lastEventId')} "
              f"@ {item.get('lastEventTime')}; enriched {item.get('enriched')}")


def print_queue(title: str, messages: list[dict[str, Any]], describe: Any) -> None:
    """A dead-letter queue's messages, one line each."""
    heading(f"{title} ({len(messages)} messages)")
    for message in messages:
        print("  " + describe(json.loads(message["Body"])))
    if not messages:
        print("  (empty)")


def describe_pipeline_dead_letter(body: dict[str, Any]) -> str:
    """One pipeline DLQ message."""
    return (f"event {body.get('eventId')} ({short_type(body.get('eventType'))}): {body.get('error')} "
            f"at {body.get('stage')}: {str(body.get('cause'))[:120]}")


def describe_destination_record(body: dict[str, Any]) -> str:
    """One Lambda on-failure destination record."""
    response = body.get("responsePayload") or {}
    context = body.get("requestContext", {})
    return (f"{context.get('condition')} after {context.get('approximateInvokeCount')} attempts: "
            f"{response.get('errorType')}: {str(response.get('errorMessage'))[:100]}; "
            f"payload {json.dumps(body.get('requestPayload'))[:60]}")


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


def print_calls(stack: LocalStack) -> None:
    """How often each stand-in and function was called."""
    heading("Calls")
    if stack.genesys:
        stats = stack.genesys.stats()
        print(f"  Genesys stand-in: token requests {stats['token']}, analytics API {stats['api']}")
    print(f"  upstream stand-in: {stack.upstream.stats()}")
    print(f"  Lambda via the bridge (from Step Functions): {stack.bridge.stats()}")


# -- the verdict ---------------------------------------------------------------------------------------------------

def checks(plan: list[tuple[Step, Any]], fates: list[Fate], by_event: dict[str, list[dict[str, Any]]],
           items: list[dict[str, Any]], pipeline_dlq: list[dict[str, Any]], destination: list[dict[str, Any]],
           data_action: list[tuple[str, Any, Invocation]]) -> list[str]:
    """Every way the run differs from what was expected (empty when it all went right)."""
    problems = [f"{step.path} ({step.label}): {fate.kind}, expected {step.expected} - {fate.reason}"
                for (step, _), fate in zip(plan, fates, strict=True) if fate.kind != step.expected]
    counts = tally(fates)
    if counts[STORED] + counts[SKIPPED] + counts[DEAD_LETTERED] != len(fates):
        problems.append(f"{counts['unaccounted']} of {len(fates)} events are unaccounted for")
    problems += [f"event {eid}: {len(ex)} executions" for eid, ex in by_event.items() if len(ex) > 1]
    problems += [f"execution {e['name']} still RUNNING" for ex in by_event.values() for e in ex
                 if e["status"] == "RUNNING"]
    problems += _item_problems(plan, items)
    pipeline_failures = sum(1 for f in fates if f.kind == DEAD_LETTERED and f.execution)
    if len(pipeline_dlq) != pipeline_failures:
        problems.append(f"{len(pipeline_dlq)} pipeline dead-letter messages for {pipeline_failures} failed executions")
    fanout_failures = sum(1 for f in fates if f.kind == DEAD_LETTERED and not f.execution)
    if len(destination) != fanout_failures:
        problems.append(f"{len(destination)} fanout on-failure records for {fanout_failures} failed deliveries")
    problems += [f"data action {name}: {problem}"
                 for name, event, invocation in data_action for problem in data_action_problems(event, invocation)]
    return problems


def _item_problems(plan: list[tuple[Step, Any]], items: list[dict[str, Any]]) -> list[str]:
    """Each conversation's item must hold its newest stored event, enriched."""
    newest: dict[str, tuple[int, str]] = {}
    for step, payload in plan:
        body = payload.get("detail", {}).get("eventBody") if isinstance(payload, dict) else None
        if step.expected == STORED and isinstance(body, dict):
            key = body["conversationId"]
            newest[key] = max(newest.get(key, (0, "")), (body["eventTime"], event_id(payload) or ""))
    by_id = {item.get("conversationId"): item for item in items}
    problems = []
    for conversation_id, (event_time, eid) in newest.items():
        item = by_id.get(conversation_id)
        if not item:
            problems.append(f"no stored item for conversation {conversation_id}")
        elif item.get("lastEventId") != eid or int(item.get("lastEventTime") or 0) != event_time:
            problems.append(f"item {conversation_id} holds event {item.get('lastEventId')}, expected {eid}")
        elif not item.get("enriched"):
            problems.append(f"item {conversation_id} is not enriched")
    return problems


# -- main ----------------------------------------------------------------------------------------------------------

def install_signal_handlers() -> None:
    """SIGINT (also when inherited as ignored), SIGTERM and SIGHUP stop the run and the stack on the way out."""
    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def parse_args() -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for one event's executions (default 60; 900 with real Genesys)")
    parser.add_argument("--conversation-id", help="replay the events for this conversation id instead of the "
                                                  f"sample's {SAMPLE_CONVERSATION}")
    return parser.parse_args()


def run(args: argparse.Namespace) -> int:
    """The whole demo; returns the exit status."""
    started = time.monotonic()
    real = real_genesys_from_env()
    plan = load_plan(args.conversation_id)
    timeout = args.timeout or (900.0 if real else 60.0)
    progress = Progress()
    print("Genesys: " + (f"REAL API ({real['GENESYS_ENV']}, client id {real['GENESYS_CLIENT_ID'][:4]}…)" if real
                         else "local stand-in"))
    with LocalStack("demo", real_genesys=real, conversations=known_conversations(plan),
                    on_status=lambda text: print(f"  {text}", flush=True)) as stack:
        deliveries, by_event = deliver_all(stack, plan, timeout, progress)
        data_action = run_data_action(stack)
        dead_letters = dead_letters_by_event(stack)
        destination_name = AsyncInvoker(stack).destination
        fates = classify(deliveries, by_event, dead_letters, destination_name)
        items = stack.scan()
        pipeline_dlq = stack.peek_messages(PIPELINE_DLQ)
        destination = stack.peek_messages(destination_name) if destination_name else []
        print_stack(stack)
        print_fates(fates, plan)
        print_executions(stack, by_event)
        print_items(items)
        print_queue(f"Pipeline dead-letter queue ({PIPELINE_DLQ})", pipeline_dlq, describe_pipeline_dead_letter)
        print_queue(f"fanout on-failure destination ({destination_name}; Lambda async retries spent)",
                    destination, describe_destination_record)
        print_data_action(data_action)
        print_calls(stack)
        problems = checks(plan, fates, by_event, items, pipeline_dlq, destination, data_action)
    counts = tally(fates)
    summary = (f"{len(fates)} events sent: {counts[STORED]} stored, {counts[SKIPPED]} skipped, "
               f"{counts[DEAD_LETTERED]} dead-lettered; {len(data_action)} data-action answers; "
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
