"""AWS's payload quotas, enforced by the local stack where moto does not (stdlib only).

moto refuses an SQS message over 1 MiB (`MaximumMessageSize`) and a DynamoDB item over about 400 KB itself. It
enforces none of Step Functions' or Lambda's: a state over 256 KiB runs in moto, while on AWS it fails with
`States.DataLimitExceeded`, which no `Catch` catches (the events reach no dead-letter queue). So the local stack
checks them here, and records every breach as a violation that fails the run loudly (`LocalStack.limit_violations`,
the replay report's `limitViolations`, the e2e and chaos checks):

* the bridge: every Task input (the state after `Parameters`) and Task answer against the 256 KiB state quota, every
  synchronous invocation against Lambda's 6 MB;
* the AWS proxy: every StartExecution input against 256 KiB (refused there with AWS's error);
* `history_violations`: every state's input and output in an execution's history against 256 KiB;
* the driver: every EventBridge event against 1 MiB.

Sources: shared spec/aws-limits.md (Step Functions "Service quotas", Lambda quotas, the 2026-01 1 MiB change for
SQS, EventBridge and asynchronous Lambda).
"""

from __future__ import annotations

import json
import threading
from typing import Any

STATE_QUOTA = 256 * 1024
"""Step Functions: a state's input or output (a Task's result included), and an execution input (UTF-8 bytes)."""
SYNC_INVOKE_QUOTA = 6 * 1024 * 1024
"""Lambda: a synchronous (RequestResponse) invocation's request and response."""
MESSAGE_QUOTA = 1024 * 1024
"""An SQS message, an EventBridge event, an asynchronous Lambda invocation (since 2026-01-29)."""
ITEM_QUOTA = 400 * 1024
"""A DynamoDB item (moto enforces it: about 405,000 bytes)."""


class Violations:
    """Breaches of a quota seen by one part of the local stack; thread-safe."""

    def __init__(self, part: str) -> None:
        self.part = part
        self._lock = threading.Lock()
        self._seen: list[str] = []
        self.largest = 0
        """The largest payload checked so far, bytes (a run's margin under the quotas)."""

    def check(self, what: str, size: int, quota: int, consequence: str) -> bool:
        """Records `what` when `size` is over `quota`; True when it is within."""
        with self._lock:
            self.largest = max(self.largest, size) if quota == STATE_QUOTA else self.largest
        if size <= quota:
            return True
        text = f"{self.part}: {what} is {size} bytes, over AWS's quota of {quota}: {consequence}"
        with self._lock:
            self._seen.append(text)
        print(f"LIMIT VIOLATION {text}", flush=True)
        return False

    def list(self) -> list[str]:
        """Every breach so far."""
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        """Forgets them (between tests)."""
        with self._lock:
            self._seen.clear()
            self.largest = 0


def utf8_size(text: str | bytes | None) -> int:
    """Bytes of `text` as AWS counts them (UTF-8)."""
    if text is None:
        return 0
    return len(text.encode("utf-8") if isinstance(text, str) else text)


def history_violations(execution_arn: str, history: list[dict[str, Any]]) -> list[str]:
    """Every state input or output of an execution's history over the state quota: what AWS would have failed
    with States.DataLimitExceeded."""
    found = []
    for event in history:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key)
            if not details:
                continue
            payload = details.get("input") if key == "stateEnteredEventDetails" else details.get("output")
            size = utf8_size(payload)
            if size > STATE_QUOTA:
                which = "input" if key == "stateEnteredEventDetails" else "output"
                found.append(f"execution {execution_arn.rsplit(':', 1)[-1]}: the {which} of state {details.get('name')} "
                             f"is {size} bytes, over Step Functions' {STATE_QUOTA}: States.DataLimitExceeded on AWS, "
                             "which no Catch catches")
    return found


def event_size(event: Any) -> int:
    """An EventBridge event's size as the rule's target receives it (its JSON)."""
    return utf8_size(json.dumps(event, separators=(",", ":")))
