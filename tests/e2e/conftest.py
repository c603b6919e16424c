"""Fixtures of the end-to-end tests: one local stack for the whole session, a clean slate for each test.

The stack (local/stack.py) is the one `make demo` runs: moto, cargo lambda watch, the bridge, the AWS proxy, the
event source mappings and the stand-ins, provisioned from template.yaml and state_machine.asl.json. Each test gets
`pipeline`, which resets the table, the queues and the stand-ins' faults and counters, and gives the test its own
conversation ids and its own `run.Run` (what it delivered and what became of it).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))

from stack import LocalStack  # noqa: E402 - needs the path above
from support import Pipeline  # noqa: E402

# Shorter retry budgets than the defaults, so the give-up paths fit in a test: a conversation not indexed after
# 2 tries (3 s, then 6 s) is dead-lettered.
E2E_ENVIRONMENT = {"ENRICH_MAX_ATTEMPTS": "2", "GENESYS_TIMEOUT": "2"}


class Dispatcher:
    """Forwards the event sources' results to the current test's run."""

    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, *result: Any) -> None:
        if self.target:
            self.target.on_result(*result)


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@pytest.fixture(scope="session")
def dispatcher() -> Dispatcher:
    """The session's result dispatcher."""
    return Dispatcher()


@pytest.fixture(scope="session")
def stack(dispatcher: Dispatcher):
    """The local stack, started once per session and always stopped (also on SIGTERM / Ctrl-C)."""
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with LocalStack("e2e", env_overrides=E2E_ENVIRONMENT, on_result=dispatcher,
                        on_status=lambda text: print(f"[local stack] {text}", flush=True)) as running:
            yield running
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def pipeline(stack: LocalStack, dispatcher: Dispatcher):
    """A clean stack (empty table and queues, no faults, zeroed counters) and helpers to drive it. After the test,
    no payload may have passed an AWS quota (local/limits.py): AWS would have refused it or failed uncatchably."""
    assert stack.idle(), "the previous test left work behind"
    stack.reset()
    pipeline = Pipeline(stack)
    dispatcher.target = pipeline.run
    yield pipeline
    assert stack.limit_violations() == [], "a payload over an AWS quota"
