"""A generated load for replay: many conversations, each with the events a real one emits, interleaved in time.

    .venv/bin/python local/loadgen.py --conversations 1000 --out local/.run/load [--seed 7] [--duplicates 0.02]
    make load            # the same, with the defaults of the documented figures run

Each conversation is a voice or chat interaction that goes customer.start, flow.start, flow.end, acd.start,
acd.end, user.start, attributes, user.end, customer.end, acw, wrapup (11 events; the three enrich topics of the
default ENRICH_TOPICS among them). Conversations start at a steady pace, so the events of many conversations
interleave as a contact centre's do. The events are the fixtures of events/eventbridge/ re-issued with new ids,
times, agents and queues, and, in voice conversations, the caller's number on the customer's events (customer.start,
customer.end, user.end, acw: what keys a conversation in the customer index; some callers call again); a share is delivered twice (EventBridge's at-least-once delivery). The output is a folder of
JSON files, each an array of events in time order, which `replay` delivers in order.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import random
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events" / "eventbridge"
SAMPLE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
# (fixture, seconds after the conversation starts)
TIMELINE = [("customer-start", 0), ("flow-start", 1), ("flow-end", 25), ("acd-start", 25), ("acd-end", 55),
            ("user-start", 55), ("attributes", 70), ("user-end", 300), ("customer-end", 301), ("acw", 330),
            ("wrapup", 330.5)]
EPOCH = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def load_fixture(name: str) -> dict[str, Any]:
    """One fixture of events/eventbridge/."""
    return json.loads((EVENTS / f"{name}.json").read_text())


# The events whose body names the caller (`ani`, and the number called, `dnis`) in a voice conversation, as
# Genesys's do: process keys the conversation by the caller (the customer index of recent-contact).
CALLER_EVENTS = {"customer-start", "customer-end", "acw", "user-end"}
DNIS = "tel:+3280012345"


def reissue(event: dict[str, Any], rng: random.Random, conversation: str, at_ms: int,
            agent: str, queue: str, wrapup: str, media: str, caller: str | None = None) -> dict[str, Any]:
    """`event` for another conversation, at another time, with another agent, queue and wrap-up code, and, for a
    voice conversation's caller events, its caller's number."""
    text = json.dumps(event).replace(SAMPLE_CONVERSATION, conversation)
    e = json.loads(text)
    e["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    when = dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC)
    e["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = e["detail"]
    detail["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    detail.setdefault("metadata", {})["CorrelationId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    body = detail["eventBody"]
    body["eventTime"] = at_ms
    for key, value in (("userId", agent), ("queueId", queue), ("wrapupCode", wrapup)):
        if key in body:
            body[key] = value
    if "mediaType" in body:
        body["mediaType"] = media
    if caller:
        body["ani"], body["dnis"] = caller, DNIS
    return e


def generate(conversations: int, seed: int, pace_ms: int, duplicates: float) -> list[dict[str, Any]]:
    """Every event of `conversations` conversations, one starting every `pace_ms`, sorted by time."""
    rng = random.Random(seed)
    fixtures = {name: load_fixture(name) for name, _ in TIMELINE}
    agents = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(50)]
    queues = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5)]
    codes = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(8)]
    # Fewer callers than conversations: some call again (what recent-contact finds).
    callers = [f"tel:+32{rng.randrange(10**8, 10**9)}" for _ in range(max(1, conversations * 3 // 5))]
    start = int(EPOCH.timestamp() * 1000)
    events: list[tuple[int, int, dict[str, Any]]] = []
    for n in range(conversations):
        conversation = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        t0 = start + n * pace_ms
        agent, queue, code = rng.choice(agents), rng.choice(queues), rng.choice(codes)
        media = rng.choice(["VOICE", "VOICE", "CHAT"])
        caller = rng.choice(callers) if media == "VOICE" else None
        stretch = rng.uniform(0.5, 1.5)
        for order, (name, offset) in enumerate(TIMELINE):
            at = t0 + int(offset * 1000 * stretch)
            events.append((at, order, reissue(copy.deepcopy(fixtures[name]), rng, conversation, at, agent, queue,
                                              code, media, caller if name in CALLER_EVENTS else None)))
    events.sort(key=lambda item: (item[0], item[1]))
    out = [e for _, _, e in events]
    again = [e for e in out if rng.random() < duplicates]
    for e in again:  # a redelivery arrives a little later than the first delivery
        out.insert(min(len(out), out.index(e) + rng.randint(1, 50)), copy.deepcopy(e))
    return out


def main() -> None:
    """Writes the load."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "local" / ".run" / "load")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pace-ms", type=int, default=200, help="one conversation starts every so many ms")
    parser.add_argument("--duplicates", type=float, default=0.02, help="share of events delivered twice")
    parser.add_argument("--per-file", type=int, default=1000)
    args = parser.parse_args()
    events = generate(args.conversations, args.seed, args.pace_ms, args.duplicates)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("load-*.json"):
        old.unlink()
    for i in range(0, len(events), args.per_file):
        (args.out / f"load-{i // args.per_file:04d}.json").write_text(json.dumps(events[i:i + args.per_file]))
    print(f"loadgen: {len(events)} events of {args.conversations} conversations in {args.out}")


if __name__ == "__main__":
    main()
