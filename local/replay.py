"""Replay: run real Genesys events through the whole pipeline on this machine, and report what became of each,
what it cost, and how many requests Genesys got.

    .venv/bin/python local/replay.py EVENTS... [--mode sqs|direct] [--report FILE] [--rate N] [--timeout S]
    make replay EVENTS=path [ARGS="--report out.json"]

EVENTS are files or folders (searched recursively for *.json). A file holds one EventBridge event or a JSON array
of them (as `aws events` archives and the CloudWatch Logs target write them; docs/own-events.md says how to capture
and sanitise your own). They are delivered in path order, the events of a file in their order:

* ``--mode sqs`` (default): each event to the buffer queue, as the EventBridge rule's SQS target does; fanout takes
  them in batches through the event source mapping;
* ``--mode direct``: each event to fanout, invoked asynchronously as a rule's Lambda target does.

It brings up the same local stack as ``make demo`` (local/stack.py), delivers the events, waits until the pipeline
is idle (no execution running, the buffer and enrichment queues empty, every event source idle), writes the report
and stops everything it started.

Genesys: the built-in stand-in knows every conversation of the events (its analytics details are the Genesys sample
re-issued for each). With GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET, and GENESYS_LOGIN_URL + GENESYS_API_URL (or
GENESYS_ENV for a real org), the functions use that Genesys instead and ``genesysRequests`` is null. Every
GENESYS_*, BATCH_* and ENRICH_* variable of this environment reaches the functions.

Exit status: 0 when every event is accounted for (stored or superseded, skipped with a reason, or dead-lettered);
1 when one is not; 2 when the stack failed or the pipeline did not become idle within ``--timeout``; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from driver import Progress, events_in
from run import Run, SKIPPED, STORED, SUPERSEDED, DEAD_LETTERED, UNACCOUNTED
from stack import LocalStack, StackError, external_genesys, passed_through


def load_events(paths: list[Path]) -> list[Any]:
    """Every event of the files and folders, in path order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"replay: {path}: no such file or folder")
    events: list[Any] = []
    for file in files:
        try:
            loaded = json.loads(file.read_text())
        except ValueError as err:
            raise SystemExit(f"replay: {file}: not JSON ({err})") from None
        events.extend(loaded if isinstance(loaded, list) else [loaded])
    return events


def conversation_starts(events: list[Any]) -> dict[str, Any]:
    """The conversations of the events with their first eventTime, for the built-in Genesys stand-in."""
    starts: dict[str, Any] = {}
    for event in events:
        for one in events_in(event):
            body = one.get("detail", {}).get("eventBody") if isinstance(one, dict) else None
            if not isinstance(body, dict) or not isinstance(body.get("conversationId"), str):
                continue
            cid, t = body["conversationId"], body.get("eventTime")
            if isinstance(t, int):
                starts[cid] = min(starts.get(cid, t), t)
            else:
                starts.setdefault(cid, None)
    return starts


def git_state() -> dict[str, Any] | None:
    """The commit the run measured and whether tracked files had changes, as `make bench` records it
    (crates/bench/src/machine.rs); None outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, check=True,
                              capture_output=True, text=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.CalledProcessError):
        return None


def summary(report: dict[str, Any]) -> str:
    """The report's headline figures, for a person."""
    a = report["accounting"]
    cost = report["costPerMillionEvents"]
    g = report["genesys"]
    per = report["perEvent"]
    lines = [
        f"events {report['events']} (sent {report['sent']}): stored {a[STORED]}, superseded {a[SUPERSEDED]}, "
        f"skipped {a[SKIPPED]}, dead-lettered {a[DEAD_LETTERED]}, unaccounted {a[UNACCOUNTED]}",
        f"executions {report['executions']}, StartExecution calls {report['startExecutionCalls']} "
        f"({per['startExecutionCalls']} per event), state transitions {report['stateTransitions']} "
        f"({per['stateTransitions']} per event)",
        f"Lambda invocations {sum(report['lambdaInvocations'].values())} ({per['lambdaInvocations']} per event): "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["lambdaInvocations"].items())),
        f"enrichment: {report['enrichment']['enriched']} of {report['enrichment']['conversations']} conversations "
        f"enriched, {report['enrichment']['deadLettered']} dead-lettered, {len(report['enrichment']['missing'])} "
        f"missing; {g['analyticsRequestsPerEnrichedConversation']} analytics requests per enriched conversation",
        ("Genesys: " + (f"{g['requests']} requests (API {g['apiRequests']}, token {g['tokenRequests']}), at most "
                        f"{g['maxRequestsInAnyMinute']} in any minute (budget {g['budgetPerMinute']})"
                        if g.get("requests") is not None else "external (not counted here)")),
        f"duplicated writes {len(report['duplicatedWrites'])}, items not at their newest event "
        f"{len(report['itemsNotAtNewestEvent'])}",
        f"cost per million events ${cost['total']:.2f} (Step Functions ${cost['byService']['stepFunctions']:.2f}, "
        f"Lambda ${cost['byService']['lambda']:.2f}, SQS ${cost['byService']['sqs']:.2f}, DynamoDB "
        f"${cost['byService']['dynamodb']:.2f}, EventBridge ${cost['byService']['eventBridge']:.2f}) at "
        f"{cost['region']} prices of {cost['pricesTaken']}; the per-event design: ${cost['before']['total']:.2f}",
        f"wall time {report['wallSeconds']} s",
    ]
    return "\n".join(lines)


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("events", nargs="+", type=Path, help="event files or folders")
    parser.add_argument("--mode", choices=["sqs", "direct"], default="sqs", help="how events reach fanout")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--html", type=Path, help="write the report as a page here (and its charts as FILE.png)")
    parser.add_argument("--rate", type=float, default=0.0, help="events per second (default: as fast as possible)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the pipeline to be idle")
    parser.add_argument("--name", default="replay", help="run folder under local/.run/")
    parser.add_argument("--batches-as-at", type=float, default=0.0, metavar="RATE",
                        help="fill fanout's batches as at RATE events/s: the batching window (FanoutBatchWindowSeconds, "
                             "5 s) is scaled by RATE / --rate, for when the local stack cannot take RATE itself")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a template parameter for the run (repeatable)")
    parser.add_argument("--not-indexed-share", type=float, default=0.0,
                        help="built-in stand-in only: the share of conversations absent from their first multi-get")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Runs the replay; returns the exit status."""
    args = parse_args(argv)
    events = load_events(args.events)
    if not events:
        print("replay: no events found", file=sys.stderr)
        return 2
    genesys = external_genesys()
    progress = Progress(sys.stderr)
    run: Run | None = None

    def on_result(*result: Any) -> None:
        if run:
            run.on_result(*result)

    parameters = {"BufferMode": args.mode}
    for given in args.parameter:
        name, _, value = given.partition("=")
        parameters[name] = value
    if args.batches_as_at and args.rate:
        window = float(LocalStack.template_defaults().get("FanoutBatchWindowSeconds", "5"))
        parameters["FanoutBatchWindowSeconds"] = str(min(300, round(window * args.batches_as_at / args.rate)))
    stack = LocalStack(args.name, genesys=genesys, conversations=None if genesys else conversation_starts(events),
                       env_overrides=passed_through(), parameters=parameters, on_result=on_result,
                       on_status=lambda text: print(f"[local stack] {text}", file=sys.stderr, flush=True))
    run = Run(stack, progress=progress)
    run.billing_rate = args.batches_as_at
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with stack:
            if stack.genesys and args.not_indexed_share:
                stack.genesys.set_faults({"notIndexedShare": args.not_indexed_share})
            print(f"replay: {len(events)} events from {len(args.events)} path(s), mode {args.mode}", file=sys.stderr)
            run.deliver(events, mode=args.mode, rate=args.rate)
            idle = run.wait_idle(args.timeout)
            progress.done()
            report = run.report(genesys_external=genesys is not None)
            report["idle"] = idle
            report["mode"] = args.mode
            report["delivery"] = {"rate": args.rate, "batchesAsAt": args.batches_as_at or args.rate,
                                  "parameters": parameters}
            report["git"] = git_state()
    except StackError as err:
        progress.done()
        print(f"replay: the local stack failed: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.done()
        print("replay: interrupted", file=sys.stderr)
        return 130
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.html:
        import charts  # matplotlib is loaded only for the page

        png = charts.write(report, args.html)
        print(f"replay: {args.html} and {png} written", file=sys.stderr)
    print(summary(report))
    for entry in report["unaccounted"][:20]:
        print(f"  unaccounted: {entry['eventId']}: {entry['reason']}")
    for violation in report["limitViolations"]:
        print(f"  OVER AN AWS QUOTA: {violation}")
    if not idle:
        print(f"replay: the pipeline was still busy after {args.timeout:.0f} s", file=sys.stderr)
        return 2
    if report["limitViolations"]:
        print(f"replay: {len(report['limitViolations'])} payloads over AWS's quotas: on AWS this run would have "
              "failed or lost events (local/limits.py)", file=sys.stderr)
        return 1
    return 0 if report["accounting"][UNACCOUNTED] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
