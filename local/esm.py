"""Lambda's SQS event source mapping, emulated for the local stack (moto does not run them).

Each `EventSourceMapping` polls one queue of moto and invokes one function through the bridge, as Lambda's
pollers do:

* it gathers messages (``ReceiveMessage``, 10 at a time) until ``BatchSize`` is reached or
  ``MaximumBatchingWindowInSeconds`` has passed since the first one (no window: it invokes with what one receive
  returned);
* it runs at most ``MaximumConcurrency`` invocations at once;
* it hands the function the SQS event Lambda builds (``Records`` with ``messageId``, ``receiptHandle``, ``body``,
  ``attributes``, ``messageAttributes``, ``md5OfBody``, ``eventSource``, ``eventSourceARN``, ``awsRegion``);
* after a successful invocation it deletes the messages, except those the function lists in
  ``batchItemFailures`` (with ``ReportBatchItemFailures``); after a failed one it deletes none: they become visible
  again when their visibility timeout ends, and the queue's redrive policy moves them after ``maxReceiveCount``.

Local deviations (local/README.md): the maximum concurrency is capped by the local Lambda's (cargo lambda watch
``--concurrency``), and the queues' visibility timeouts are shortened so that retries happen within a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

LOG = logging.getLogger("local.esm")


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records`` entry of the SQS event Lambda builds from a received message."""
    attributes = {k: str(v) for k, v in message.get("Attributes", {}).items()}
    message_attributes = {
        name: {"stringValue": value.get("StringValue"), "binaryValue": None, "stringListValues": [],
               "binaryListValues": [], "dataType": value.get("DataType", "String")}
        for name, value in message.get("MessageAttributes", {}).items()}
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": attributes, "messageAttributes": message_attributes,
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}


class EventSourceMapping:
    """Polls `queue_url` and invokes `function` with batches (see the module doc)."""

    def __init__(self, *, sqs: Any, invoke: Callable[[str, Any], tuple[int, Any]], function: str, queue_url: str,
                 queue_arn: str, batch_size: int, window: float, max_concurrency: int, report_failures: bool,
                 region: str = "us-east-1", on_result: Callable[[str, list[dict], int, Any], None] | None = None):
        self.sqs = sqs
        self.invoke = invoke
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.window = window
        self.max_concurrency = max(1, max_concurrency)
        self.report_failures = report_failures
        self.region = region
        self.on_result = on_result
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._gathering = 0
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix=f"esm-{function}")
        self._thread = threading.Thread(target=self._run, name=f"esm-{function}", daemon=True)

    def start(self) -> EventSourceMapping:
        """Starts polling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops polling and waits for the invocations under way."""
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=False)

    def idle(self) -> bool:
        """No invocation under way and no message gathered for the next one."""
        with self._lock:
            return self._in_flight == 0 and self._gathering == 0

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                busy = self._in_flight >= self.max_concurrency
            if busy:
                time.sleep(0.05)
                continue
            try:
                batch = self._gather()
            except Exception as err:  # noqa: BLE001 - a poller survives a failed receive, as Lambda's does
                LOG.warning("%s: receive failed: %s", self.function, err)
                time.sleep(0.5)
                continue
            if not batch:
                continue
            with self._lock:
                self._in_flight += 1
                self._gathering = 0
            self._pool.submit(self._deliver, batch)

    def _gather(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        first = 0.0
        while len(batch) < self.batch_size and not self._stop.is_set():
            wait = 1 if not batch else 0
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, self.batch_size - len(batch)),
                WaitTimeSeconds=wait, AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
            self.counts["ReceiveMessage" if got else "EmptyReceive"] += 1
            if got:
                if not batch:
                    first = time.monotonic()
                batch.extend(got)
                with self._lock:
                    self._gathering = len(batch)
            if not batch:
                return batch
            if self.window <= 0 or time.monotonic() - first >= self.window:
                return batch
            if not got:
                time.sleep(min(0.2, max(0.0, self.window - (time.monotonic() - first))))
        return batch

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [sqs_record(m, self.queue_arn, self.region) for m in batch]}
            status, payload = self.invoke(self.function, event)
            self.counts["invocations"] += 1
            self.counts["messages"] += len(batch)
            if status != 200:
                self.counts["failedInvocations"] += 1
                LOG.info("%s: invocation failed (HTTP %s); %d messages come back after their visibility timeout",
                         self.function, status, len(batch))
                keep: set[str] = {m["MessageId"] for m in batch}
            else:
                failures = payload.get("batchItemFailures", []) if self.report_failures and isinstance(payload, dict) \
                    else []
                keep = {f.get("itemIdentifier") for f in failures}
                if keep:
                    self.counts["itemFailures"] += len(keep)
            if self.on_result:
                self.on_result(self.function, batch, status, payload)
            done = [m for m in batch if m["MessageId"] not in keep]
            for start in range(0, len(done), 10):
                chunk = done[start:start + 10]
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
                self.counts["DeleteMessageBatch"] += 1
        except Exception as err:  # noqa: BLE001 - the messages come back, as after a failed invocation
            LOG.warning("%s: delivery failed: %s", self.function, err)
        finally:
            with self._lock:
                self._in_flight -= 1


def dump(payload: Any) -> str:
    """Compact JSON, as EventBridge writes a message body."""
    return json.dumps(payload, separators=(",", ":"))
