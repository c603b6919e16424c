"""local/sanitise.py, as a user runs it: captured events in, fixtures without personal data out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SANITISE = REPO / "local" / "sanitise.py"
SAMPLES = REPO / "events" / "eventbridge"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, SANITISE, *map(str, args)], capture_output=True, text=True, check=False)


def personal_values(node: object, key: str | None = None) -> set[str]:
    """Names, addresses and phone numbers in the samples, found by key: what must not survive."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found |= personal_values(v, k)
    elif isinstance(node, list):
        for v in node:
            found |= personal_values(v, key)
    elif isinstance(node, str) and key in {"name", "ani", "dnis", "addressFrom", "addressTo", "callbackNumbers",
                                             "callbackUserName", "remoteIp", "participantName"}:
        found.add(node)
    return found


def load_all(folder: Path) -> list[dict]:
    return [e for f in sorted(folder.glob("*.json")) for e in json.loads(f.read_text())]


def test_samples_lose_every_name_and_number_and_keep_their_shape(tmp_path: Path) -> None:
    result = run(SAMPLES, "--out", tmp_path, "--key", "fixed")
    assert result.returncode == 0, result.stderr
    originals = [json.loads(f.read_text()) for f in sorted(SAMPLES.glob("*.json"))]
    personal = set().union(*(personal_values(o) for o in originals)) - {""}
    assert len(personal) >= 5, "the samples should hold names and phone numbers to test with"
    text = "\n".join(f.read_text() for f in tmp_path.glob("*.json"))
    assert [p for p in personal if p in text] == []
    assert "tel:+1555010" in text  # phone numbers are replaced by fictional ones, scheme kept
    sanitised = load_all(tmp_path)
    assert len(sanitised) == len(originals)
    for event in sanitised:  # still EventBridge events the pipeline can take
        assert {"id", "detail-type", "source", "detail"} <= event.keys()
        assert event["account"] == "123456789012"


def test_ids_are_replaced_consistently_across_events_and_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert run(SAMPLES, "--out", first, "--key", "k").returncode == 0
    assert run(SAMPLES, "--out", second, "--key", "k").returncode == 0
    assert (first / "customer-end.json").read_text() == (second / "customer-end.json").read_text()

    originals = {f.stem: json.loads(f.read_text()) for f in SAMPLES.glob("*.json")}
    sanitised = {f.stem: json.loads(f.read_text())[0] for f in first.glob("*.json")}
    by_original: dict[str, set[str]] = {}
    for stem, original in originals.items():
        cid = original["detail"]["eventBody"].get("conversationId")
        if cid:
            new = sanitised[stem]["detail"]["eventBody"]["conversationId"]
            assert new != cid
            assert cid not in sanitised[stem]["detail"]["topicName"]
            assert new in sanitised[stem]["detail"]["topicName"]
            by_original.setdefault(cid, set()).add(new)
    assert any(len(v) == 1 for v in by_original.values())
    assert all(len(v) == 1 for v in by_original.values()), "one conversation must keep one id"

    other = tmp_path / "c"
    assert run(SAMPLES, "--out", other, "--key", "another").returncode == 0
    assert (other / "customer-end.json").read_text() != (first / "customer-end.json").read_text()


def test_keep_ids_keeps_them(tmp_path: Path) -> None:
    assert run(SAMPLES / "customer-end.json", "--out", tmp_path, "--keep-ids").returncode == 0
    original = json.loads((SAMPLES / "customer-end.json").read_text())
    [event] = json.loads((tmp_path / "customer-end.json").read_text())
    assert event["id"] == original["id"]
    assert event["detail"]["eventBody"]["conversationId"] == original["detail"]["eventBody"]["conversationId"]


def test_capture_formats_are_understood(tmp_path: Path) -> None:
    event = json.loads((SAMPLES / "customer-start.json").read_text())
    captured = tmp_path / "captured"
    captured.mkdir()
    # CloudWatch Logs target: filter-log-events --query 'events[].message' gives an array of strings.
    (captured / "logs.json").write_text(json.dumps([json.dumps(event)]))
    # JSON lines.
    (captured / "lines.jsonl").write_text(json.dumps(event) + "\n" + json.dumps({**event, "id": "other-id"}) + "\n")
    # aws sqs receive-message of the pipeline dead-letter queue: the message's input holds pipeline events.
    pipeline_event = {"conversationId": event["detail"]["eventBody"]["conversationId"], "eventId": "dl-id",
                      "eventType": event["detail-type"], "eventTime": 1, "detail": event["detail"]}
    dead_letter = {"error": "Event.Invalid", "cause": "x", "input": {"events": [pipeline_event]}}
    (captured / "dlq.json").write_text(json.dumps({"Messages": [{"Body": json.dumps(dead_letter)}]}))
    (captured / "nothing.json").write_text(json.dumps({"hello": "world"}))

    result = run(captured, "--out", tmp_path / "out", "--keep-ids")
    assert result.returncode == 0, result.stderr
    assert "nothing.json: no EventBridge event found" in result.stderr
    ids = sorted(e["id"] for e in load_all(tmp_path / "out"))
    # the same event captured twice (logs and lines) is written once
    assert ids == sorted([event["id"], "other-id", "dl-id"])
    assert "3 events (1 repeated ids dropped)" in result.stdout


def test_free_text_is_dropped_and_a_survivor_stops_the_run(tmp_path: Path) -> None:
    event = json.loads((SAMPLES / "customer-start.json").read_text())
    body = event["detail"]["eventBody"]
    body["wrapupNotes"] = "Customer Jane Roe asked to call back on +32 470 11 22 33"
    body["email"] = "jane.roe@example.org"
    body["attributes"] = {"accountNumber": "9988776655", "vip": True}
    source = tmp_path / "one.json"
    source.write_text(json.dumps(event))
    result = run(source, "--out", tmp_path / "out", "--key", "k")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out" / "one.json").read_text()
    for secret in ("Jane", "+32 470", "jane.roe", "9988776655"):
        assert secret not in text
    [out] = json.loads(text)
    assert out["detail"]["eventBody"]["attributes"] == {"accountNumber": "[removed]", "vip": True}

    # A name under a known key that also sits under an unknown key: refused, nothing written.
    body.pop("wrapupNotes")
    body["name"] = "Jane Roe"
    body["someFreeField"] = {"who": "it was Jane Roe"}
    source.write_text(json.dumps(event))
    result = run(source, "--out", tmp_path / "refused", "--key", "k")
    assert result.returncode == 1
    assert "still appear" in result.stderr
    assert "Jane" not in result.stderr + result.stdout
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize("args", [["missing-folder", "--out", "x"], []])
def test_bad_invocations_say_why(tmp_path: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip()
