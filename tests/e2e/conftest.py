"""Fixtures of the end-to-end tests: one local stack for the whole session, a clean slate for each test.

The stack (local/stack.py) is the one `make demo` runs: moto, cargo lambda watch, the bridge and the stand-ins,
provisioned from template.yaml and state_machine.asl.json. Each test gets `pipeline`, which resets the table,
the queues and the stand-ins' faults and counters, and gives the test its own conversation ids.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))

from stack import LocalStack  # noqa: E402 - needs the path above
from support import Pipeline  # noqa: E402


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@pytest.fixture(scope="session")
def stack():
    """The local stack, started once per session and always stopped (also on SIGTERM / Ctrl-C)."""
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with LocalStack("e2e", on_status=lambda text: print(f"[local stack] {text}", flush=True)) as running:
            yield running
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def pipeline(stack: LocalStack) -> Pipeline:
    """A clean stack (empty table and queues, no faults, zeroed counters) and helpers to drive it."""
    stack.reset()
    return Pipeline(stack)
