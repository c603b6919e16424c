"""End to end: `make demo`'s program (local/demo.py) as a user runs it, on its own stack: it must end with a
passing verdict. It broke once unseen, when save began writing each conversation once per batch and the demo
still expected every event `stored`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(600, func_only=True)


def test_the_demo_passes() -> None:
    done = subprocess.run([sys.executable, "local/demo.py", "--timeout", "300"], cwd=REPO,
                          capture_output=True, text=True, timeout=580)
    print(done.stdout[-6000:], done.stderr[-3000:])
    verdicts = [line for line in done.stdout.splitlines() if line.startswith("VERDICT:")]
    assert verdicts and verdicts[-1].startswith("VERDICT: PASS"), verdicts or done.stderr[-2000:]
    assert done.returncode == 0
