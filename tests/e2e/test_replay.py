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
                           "--name", "e2e-replay", "--timeout", "300"], cwd=REPO, capture_output=True, text=True,
                          timeout=580)
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
    assert {"stepFunctions", "lambda", "sqs", "dynamodb", "eventBridge"} <= set(
        report["costPerMillionEvents"]["byService"])
    assert report["costPerMillionEvents"]["before"]["total"] > report["costPerMillionEvents"]["total"]
    assert "cost per million events" in done.stdout


def test_replay_refuses_a_missing_path_and_exits_2_on_no_events(tmp_path: Path) -> None:
    done = subprocess.run([PY, "local/replay.py", str(tmp_path / "nope")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode != 0 and "no such file or folder" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([PY, "local/replay.py", str(empty)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "no events" in done.stderr
