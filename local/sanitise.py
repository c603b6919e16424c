"""Sanitise captured Genesys events so they can become fixtures or be shared: names, phone numbers, email and IP
addresses, free text and custom attributes are replaced, and ids are replaced consistently (the same id becomes the
same new id in every event of the run, so conversations still hold together).

    .venv/bin/python local/sanitise.py CAPTURED... --out DIR [--key TEXT] [--keep-ids]

CAPTURED are files or folders (searched recursively for *.json and *.jsonl). Each may hold what the capture
recipes of docs/own-events.md produce:

* one EventBridge event, a JSON array of them, or JSON lines (one event per line);
* a JSON array of strings, each an event (``aws logs filter-log-events --query 'events[].message'``);
* ``aws sqs receive-message`` output (``{"Messages": [{"Body": ...}]}``) of any of the dead-letter queues;
* a pipeline dead-letter message or an execution input (``{"events": [...]}``): its events are turned back into
  EventBridge events.

Each input file becomes ``DIR/<name>.json``, a JSON array of sanitised EventBridge events (an event id seen twice is
written once), ready for ``make replay EVENTS=DIR``. The replacement is keyed: the same ``--key`` (or
``SANITISE_KEY``) gives the same replacements in every run, so fixtures made on different days still agree; without
one a random key is used. Replaced values are never printed. After writing, every output is searched again for each
original value that was replaced; finding one is an error (exit 1).

Exit status: 0 done; 1 an original value survived (nothing is written); 2 bad input.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

# Keys whose string value is a person's or a contact's name.
NAME_KEYS = {
    "name", "participantName", "customerName", "callbackUserName", "remoteNameDisplayable", "userName",
    "agentName", "displayName", "firstName", "lastName", "fullName", "alertingName", "fromName", "toName",
}
# Keys whose value is an address: a phone number, a SIP or email address (one string or a list of them).
ADDRESS_KEYS = {
    "ani", "dnis", "addressFrom", "addressTo", "addressNormalized", "addressRaw", "addressDisplayable", "address",
    "remote", "callbackNumbers", "toAddress", "fromAddress", "phoneNumber", "phone", "email", "emailAddress",
    "outboundCallerId", "callerId", "calledAddressOriginal", "callingAddress", "calledAddress",
}
IP_KEYS = {"remoteIp", "ipAddress", "ip"}
# Free text a person wrote or said: dropped, not rewritten.
TEXT_KEYS = {
    "transcript", "wrapUpNote", "wrapupNote", "wrapupNotes", "wrapUpNotes", "notes", "note", "text", "body",
    "comment", "comments", "subject", "phrase", "utterance",
}
# Objects whose values are the organisation's own data (conversation and participant attributes).
OPAQUE_OBJECT_KEYS = {"attributes", "participantAttributes", "conversationAttributes", "customAttributes"}

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d[\d\s().-]{5,18}\d")
ACCOUNT_IN_ARN = re.compile(r"(arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)(\d{12})(:)")
REMOVED = "[removed]"
# What may never survive anywhere in the output; removed attribute values and text only when long enough to be
# more than a common word ("en-US", "12345").
IDENTIFYING = {"names", "phone numbers", "email addresses", "ip addresses", "ids", "aws account ids"}
FAKE_ACCOUNT = "123456789012"


class Sanitiser:
    """One run's replacements: keyed, so the same value always becomes the same replacement."""

    def __init__(self, key: bytes, keep_ids: bool) -> None:
        self.key = key
        self.keep_ids = keep_ids
        self.replaced: dict[str, str] = {}  # original -> kind, for the final check (never printed)
        self.counts: Counter[str] = Counter()

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self.key, f"{kind}\0{value}".encode(), hashlib.sha256).digest()

    def _note(self, kind: str, original: str, replacement: str) -> str:
        if original != replacement:
            self.counts[kind] += 1
            self.replaced[original] = kind
        return replacement

    def uuid(self, value: str) -> str:
        d = bytearray(self._digest("id", value.lower())[:16])
        d[6] = (d[6] & 0x0F) | 0x40  # version 4
        d[8] = (d[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = d.hex()
        return self._note("ids", value, f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")

    def name(self, value: str) -> str:
        if not value.strip():
            return value
        return self._note("names", value, f"Person {self._digest('name', value).hex()[:6]}")

    def phone(self, value: str) -> str:
        n = int.from_bytes(self._digest("phone", re.sub(r"\D", "", value))[:4], "big") % 10_000
        return self._note("phone numbers", value, f"+1555010{n:04d}")  # 555-01xx: fictional in the NANP

    def email(self, value: str) -> str:
        return self._note("email addresses", value, f"person-{self._digest('email', value.lower()).hex()[:8]}@example.com")

    def ip(self, value: str) -> str:
        n = self._digest("ip", value)[0] % 254 + 1
        return self._note("ip addresses", value, f"192.0.2.{n}")  # TEST-NET-1 (RFC 5737)

    def removed(self, kind: str, value: str) -> str:
        return self._note(kind, value, REMOVED) if value.strip() else value

    def address(self, value: str) -> str:
        """tel:+3212345678, sip:+1555@host, sip:someone@example.org, +32 470 12 34 56, someone@example.org."""
        scheme, _, rest = value.partition(":") if re.match(r"^(tel|sip|sips|mailto):", value) else ("", "", value)
        prefix = f"{scheme}:" if scheme else ""
        if "@" in rest:
            user, _, _host = rest.partition("@")
            if PHONE.fullmatch(user) or user.isdigit():
                return self._note("phone numbers", value, f"{prefix}{self.phone(user)}@example.com")
            return self._note("email addresses", value, f"{prefix}{self.email(rest)}")
        if re.search(r"\d{4}", rest):
            return self._note("phone numbers", value, f"{prefix}{self.phone(rest)}")
        return self.name(value) if rest else value

    def text(self, value: str) -> str:
        """Any other string: emails and phone numbers inside it, ids, AWS account ids in ARNs."""
        out = EMAIL.sub(lambda m: self.email(m.group(0)), value)
        out = PHONE.sub(lambda m: self.phone(m.group(0)) if sum(c.isdigit() for c in m.group(0)) >= 7 else m.group(0), out)
        out = ACCOUNT_IN_ARN.sub(lambda m: m.group(1) + self._note("aws account ids", m.group(2), FAKE_ACCOUNT) + m.group(3), out)
        if not self.keep_ids:
            out = UUID.sub(lambda m: self.uuid(m.group(0)), out)
        return out

    def value(self, node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            if key in OPAQUE_OBJECT_KEYS:
                return {k: self.removed("attributes", v) if isinstance(v, str) else self.value(v, k) for k, v in node.items()}
            return {k: self.value(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v, key) for v in node]
        if not isinstance(node, str):
            return node
        if key == "account" and re.fullmatch(r"\d{12}", node):
            return self._note("aws account ids", node, FAKE_ACCOUNT)
        if key in NAME_KEYS:
            return self.name(node)
        if key in ADDRESS_KEYS:
            return self.address(node)
        if key in IP_KEYS:
            return self.ip(node)
        if key in TEXT_KEYS:
            return self.removed("free text", node)
        return self.text(node)


def as_eventbridge(event: dict[str, Any]) -> dict[str, Any] | None:
    """An EventBridge event as is; a pipeline event (an element of an execution input) turned back into one."""
    if "detail-type" in event and "detail" in event:
        return event
    if {"eventId", "eventType", "detail"} <= event.keys():
        detail = event["detail"] if isinstance(event["detail"], dict) else {}
        return {
            "version": "0", "id": event["eventId"], "detail-type": event["eventType"],
            "source": "aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/captured",
            "account": FAKE_ACCOUNT, "time": detail.get("timestamp", ""), "region": "us-east-1", "resources": [],
            "detail": detail,
        }
    return None


def events_of(node: Any) -> Iterator[dict[str, Any]]:
    """Every EventBridge event in one captured document, whatever the capture recipe produced."""
    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError:
            return
        yield from events_of(node)
    elif isinstance(node, list):
        for item in node:
            yield from events_of(item)
    elif isinstance(node, dict):
        if isinstance(node.get("Messages"), list):  # aws sqs receive-message
            for message in node["Messages"]:
                yield from events_of(message.get("Body") if isinstance(message, dict) else None)
        elif isinstance(node.get("events"), list):  # execution input
            yield from events_of(node["events"])
        elif isinstance(node.get("input"), (dict, list)) and "error" in node:  # pipeline dead letter
            yield from events_of(node["input"])
        else:
            converted = as_eventbridge(node)
            if converted is not None:
                yield converted


def read_document(path: Path) -> list[Any]:
    text = path.read_text()
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    documents = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                documents.append(json.loads(line))
            except ValueError as err:
                raise SystemExit(f"sanitise: {path}:{number}: neither JSON nor JSON lines ({err})") from None
    return documents


def inputs(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl")))
        elif path.is_file():
            files.append(path)
        else:
            print(f"sanitise: {path}: no such file or folder", file=sys.stderr)
            sys.exit(2)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("captured", nargs="+", type=Path, help="captured files or folders")
    parser.add_argument("--out", required=True, type=Path, help="folder for the sanitised events")
    parser.add_argument("--key", default=os.environ.get("SANITISE_KEY"), help="replacement key (default: $SANITISE_KEY, else random)")
    parser.add_argument("--keep-ids", action="store_true", help="keep conversation, participant, user and event ids as they are (e.g. to enrich from your real org)")
    args = parser.parse_args(argv)

    key = args.key.encode() if args.key else secrets.token_bytes(32)
    sanitiser = Sanitiser(key, args.keep_ids)
    seen: set[str] = set()
    written: dict[Path, list[dict[str, Any]]] = {}
    total = duplicates = 0
    for file in inputs(args.captured):
        events = []
        for document in read_document(file):
            for event in events_of(document):
                total += 1
                if event.get("id") in seen:
                    duplicates += 1
                    continue
                seen.add(event.get("id"))
                events.append(sanitiser.value(event))
        if events:
            written[args.out / f"{file.stem}.json"] = events
        else:
            print(f"sanitise: {file}: no EventBridge event found, skipped", file=sys.stderr)

    # The check: no replaced value may survive anywhere in the output (e.g. a name repeated in free text).
    rendered = {path: json.dumps(events, indent=2, ensure_ascii=False) + "\n" for path, events in written.items()}
    survivors = sum(
        1 for original, kind in sanitiser.replaced.items()
        if len(original) >= (4 if kind in IDENTIFYING else 12) and any(original in text for text in rendered.values())
    )
    if survivors:
        print(f"sanitise: {survivors} replaced values still appear elsewhere in the output (e.g. inside "
              "free text under a key this tool does not know); nothing written. Add the key to TEXT_KEYS or edit the capture.",
              file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    for path, text in rendered.items():
        path.write_text(text)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(sanitiser.counts.items())) or "nothing"
    print(f"sanitise: {total - duplicates} events ({duplicates} repeated ids dropped) from {len(written)} files into {args.out}")
    print(f"sanitise: replaced {kinds}{'' if args.key else ' (random key: pass --key to get the same ids next time)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
