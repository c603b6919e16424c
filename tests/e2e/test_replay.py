"""End to end: `local/replay.py` as a user runs it, on its own stack: sample events and a small generated load,
delivered through the buffer queue; the exit status and the report's fields."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable

pytestmark = pytest.mark.timeout(600, func_only=True)


def test_replay_accounts_for_every_event_and_reports_counts_and_cost(tmp_path: Path) -> None:
    load = tmp_path / "load"
    subprocess.run([PY, "local/loadgen.py", "--conversations", "12", "--out", str(load), "--pace-ms", "50",
                    "--duplicates", "0.1"], cwd=REPO, check=True)
    report_path = tmp_path / "report.json"
    done = subprocess.run([PY, "local/replay.py", str(load), "events/eventbridge", "--report", str(report_path),
                           "--html", str(tmp_path / "report.html"), "--name", "e2e-replay", "--timeout", "300"],
                          cwd=REPO, capture_output=True, text=True, timeout=580)
    print(done.stdout, done.stderr[-3000:])
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(report_path.read_text())
    for field in ("sent", "executions", "startExecutionCalls", "stateTransitions", "lambdaInvocations", "records",
                  "deadLetters", "skipped", "genesysRequests", "wallSeconds", "costPerMillionEvents"):
        assert field in report, field
    assert report["accounting"]["unaccounted"] == 0
    assert report["duplicatedWrites"] == [] and report["itemsNotAtNewestEvent"] == []
    assert report["enrichment"]["missing"] == []
    assert report["executions"] < report["events"] / 10, (report["executions"], report["events"])
    assert report["genesysRequests"] >= 2
    assert report["genesys"]["maxRequestsInAnyMinute"] <= report["genesys"]["budgetPerMinute"]
    cost = report["costPerMillionEvents"]
    assert list(cost["byService"]) == ["eventBridge", "sqs", "stepFunctions", "lambda", "dynamodb",
                                       "dynamodbIndexes", "cloudWatchLogs", "xray"]
    assert abs(cost["total"] - sum(cost["byService"].values())) < 0.001
    for key in ("dynamodbWriteUnits", "dynamodbIndexWriteUnits", "logBytes", "xrayTraces"):
        assert key in cost["perEvent"], key
    # The voice conversations' callers key their items: the customer index is written, and billed.
    assert cost["perEvent"]["dynamodbIndexWriteUnits"] > 0 and cost["perEvent"]["logBytes"] > 0
    assert cost["perEvent"]["xrayTraces"] == 0, "X-Ray is off by default"
    assert cost["before"]["total"] > cost["total"]
    fixed = report["monthlyFixed"]
    assert fixed["total"] > 0 and abs(fixed["total"] - sum(fixed["items"].values())) < 0.011
    assert fixed["inputs"]["customMetrics"] >= 30, fixed["inputs"]
    # Stored items are plain JSON: numbers are numbers.
    enriched = [r for r in report["records"] if "durationMs" in r]
    assert enriched and all(isinstance(r["durationMs"], int) for r in enriched)
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 1
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
    assert report["timeline"]["minutes"] >= 1 and any(report["timeline"]["storedLagMs"]["p50"])
    assert "cost per million events" in done.stdout


def test_replay_refuses_a_missing_path_and_exits_2_on_no_events(tmp_path: Path) -> None:
    done = subprocess.run([PY, "local/replay.py", str(tmp_path / "nope")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode != 0 and "no such file or folder" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([PY, "local/replay.py", str(empty)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "no events" in done.stderr
