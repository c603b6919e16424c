"""A fault-injecting HTTP proxy in front of moto, for the functions' AWS calls only (stdlib only).

The functions reach AWS at ``AWS_ENDPOINT_URL``; the chaos stack points that at this proxy, while moto's own Lambda
invocations (the bridge) and the harness's reads go to moto directly. The proxy routes by the ``X-Amz-Target``
header of the awsJson protocols (``DynamoDB_20120810.UpdateItem``, ``AWSStepFunctions.StartExecution``, ...):

* a request whose target has rules may get a fault instead of being forwarded, drawn at random per call
  (``random.Random(seed)``); at most ``max_consecutive`` faults in a row hit the same request identity (the UpdateItem's
  ``conversationId``/``lastEventId``, the StartExecution's ``name``), so the SDK's own retries always get through
  in bounded time;
* a ``burst`` makes a share of request identities (every ``1/share``-th identity seen) fail ``length`` times in a
  row with one kind, ignoring the cap: long enough to outlast the SDK's own retries (save: 5 attempts, fanout: 8), so
  the state machine's ``Store.Unavailable`` retrier or Lambda's async retry of fanout has to step in;
* every other request, and every request not faulted, is forwarded to moto unchanged (method, path, query,
  headers without hop-by-hop ones, body byte for byte) and moto's answer is returned unchanged.

Fault kinds (what real AWS answers; the Rust SDK classifies the error code after ``#``/before ``:`` as throttling or
transient and retries it):

* ``ProvisionedThroughputExceeded`` - 400, ``{"__type": "com.amazonaws.dynamodb.v20120810#
  ProvisionedThroughputExceededException", "message": ...}`` (without the line break); not forwarded.
* ``DynamoDBThrottling`` - 400, ``{"__type": "com.amazon.coral.availability#ThrottlingException", ...}``; not
  forwarded.
* ``SfnThrottling`` - 400, ``{"__type": "ThrottlingException", "message": "Rate exceeded"}``; not forwarded.
* ``LostResponse`` - forwarded to moto first (the call takes effect), then answered 500 ``InternalServerError``
  (DynamoDB) / ``InternalFailure`` (Step Functions): an ambiguous outcome the caller must retry idempotently.

All are ``application/x-amz-json-1.0`` with an ``x-amzn-RequestId``.

It also records, from moto's real answers, every successful ``UpdateItem`` (by ``conversationId`` and the item's
``lastEventId``) and every ``StartExecution`` answer (by execution name and outcome), so a chaos run can check on
the wire how often each event was really written and started.

Run stand-alone: ``python local/fault_proxy.py --moto http://127.0.0.1:5000 --port 5002 --rule
DynamoDB_20120810.UpdateItem=ProvisionedThroughputExceeded:0.1`` (admin: ``GET /__admin/stats``, ``POST
/__admin/rules`` with ``{target: {kind: p}}`` or ``{"rules": ..., "bursts": {target: {"kind", "share",
"length"}}}``, ``POST /__admin/reset``).
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from bridge import HOP_BY_HOP, forward
from httpkit import BackgroundServer, JsonHandler
from dynamo_billing import WriteMeter
from limits import STATE_QUOTA, Violations, utf8_size

SAVE_WRITE = "DynamoDB_20120810.UpdateItem"
START_EXECUTION = "AWSStepFunctions.StartExecution"
MOTO_TIMEOUT = 60.0
JSON_10 = "application/x-amz-json-1.0"

# kind -> (status, __type, message, forwarded first)
KINDS: dict[str, tuple[int, str, str, bool]] = {
    "ProvisionedThroughputExceeded": (
        400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        ("The level of configured provisioned throughput for the table was exceeded. Consider increasing your "
         "provisioning level with the UpdateTable API."), False),
    "DynamoDBThrottling": (
        400, "com.amazon.coral.availability#ThrottlingException",
        ("Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
         "table or index so please try again shortly."), False),
    "SfnThrottling": (400, "ThrottlingException", "Rate exceeded", False),
    "LostResponse": (500, "InternalServerError", "Internal server error (the request was applied)", True),
}
LOST_RESPONSE_TYPES = {SAVE_WRITE: "com.amazonaws.dynamodb.v20120810#InternalServerError",
                       START_EXECUTION: "InternalFailure"}


def identity(target: str, body: bytes) -> str:
    """What the consecutive-fault cap counts per: the UpdateItem's conversation+event, the execution name, or the
    target itself."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return target
    if target == SAVE_WRITE:
        conversation, event = write_of(request)
        return f"{target}/{conversation}/{event}"
    if target == START_EXECUTION:
        return f"{target}/{request.get('name')}"
    return target


def write_of(request: dict) -> tuple[str, str]:
    """``(conversationId, lastEventId)`` of save's conditional UpdateItem (key, and the ``:id`` value)."""
    key = request.get("Key") or {}
    values = request.get("ExpressionAttributeValues") or {}
    return _s(key.get("conversationId")), _s(values.get(":id"))


def _s(value: Any) -> str:
    return str(value.get("S")) if isinstance(value, dict) else ""


@dataclass
class Rule:
    """Faults for one X-Amz-Target: ``{kind: probability}``, drawn in the order given."""

    faults: dict[str, float]

    def draw(self, rng: random.Random) -> str | None:
        """A fault kind, or None to forward the call."""
        for kind, probability in self.faults.items():
            if rng.random() < probability:
                return kind
        return None


@dataclass
class Burst:
    """A share of identities of one target that fail `length` times in a row with `kind`."""

    kind: str
    share: float
    length: int

    @property
    def label(self) -> str:
        """How the injected counter names this burst's faults."""
        return f"{self.kind} burst x{self.length}"


@dataclass
class FaultProxy:
    """The proxy's rules, counters and wire records, and its HTTP server (started by `start`)."""

    rules: dict[str, Rule] = field(default_factory=dict)
    bursts: dict[str, Burst] = field(default_factory=dict)
    seed: int | None = None
    max_consecutive: int = 3
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        for rule in self.rules.values():
            unknown = set(rule.faults) - set(KINDS)
            if unknown:
                raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {sorted(KINDS)}")
        self.moto_url = ""
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._reset_counters()
        self.violations = Violations("the AWS proxy (Step Functions)")
        self.meter: WriteMeter | None = None  # set by the stack: the table's write billing
        self.server: BackgroundServer | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, dict[str, float]], **kwargs: Any) -> FaultProxy:
        """``{"DynamoDB_20120810.UpdateItem": {"ProvisionedThroughputExceeded": 0.05, ...}, ...}``."""
        return cls(rules={target: Rule(dict(faults)) for target, faults in spec.items()}, **kwargs)

    def _reset_counters(self) -> None:
        self.calls: Counter[str] = Counter()           # target -> requests seen
        self.injected: Counter[tuple[str, str]] = Counter()  # (target, kind) -> faults answered
        self.forwarded_status: Counter[tuple[str, int]] = Counter()  # (target, moto status) -> count
        self.consecutive: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.new_identities: Counter[str] = Counter()
        self.burst_left: Counter[str] = Counter()
        self.capped = 0                                 # draws overridden by the consecutive-fault cap
        # (conversationId, lastEventId) -> UpdateItem calls moto answered 200 (the write happened)
        self.writes: Counter[tuple[str, str]] = Counter()
        # (conversationId, lastEventId) -> when moto first accepted its write (epoch seconds)
        self.write_times: dict[tuple[str, str], float] = {}
        # execution name -> moto's StartExecution answers: "200" or the error __type
        self.starts: defaultdict[str, list[str]] = defaultdict(list)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, moto_url: str) -> FaultProxy:
        """Serves in a background thread, forwarding to `moto_url`."""
        self.moto_url = moto_url
        self.server = BackgroundServer(FaultProxyHandler, self, self.host, self.port)
        self.server.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        if self.server:
            self.server.stop()

    @property
    def url(self) -> str:
        """What the functions get as AWS_ENDPOINT_URL."""
        if not self.server:
            raise RuntimeError("the fault proxy is not started")
        return self.server.url

    # -- control ---------------------------------------------------------------------------------------------

    def set_rules(self, spec: dict[str, dict[str, float]], bursts: dict[str, dict[str, Any]] | None = None) -> None:
        """Replaces the rules (e.g. ``{}`` to stop injecting) and the bursts (``{target: {"kind", "share",
        "length"}}``; bursts already under way finish)."""
        rules = {target: Rule(dict(faults)) for target, faults in spec.items()}
        new_bursts = {target: Burst(str(b["kind"]), float(b["share"]), int(b["length"]))
                      for target, b in (bursts or {}).items()}
        for kinds in [set(rule.faults) for rule in rules.values()] + [{b.kind} for b in new_bursts.values()]:
            unknown = kinds - set(KINDS)
            if unknown:
                raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        with self._lock:
            self.rules = rules
            self.bursts = new_bursts
            self.burst_left = Counter({key: left for key, left in self.burst_left.items()
                                       if key.split("/", 1)[0] in new_bursts})

    def reset(self) -> None:
        """Zeroes every counter and wire record and forgets the violations (the rules stay)."""
        with self._lock:
            self._reset_counters()
        self.violations.clear()
        if self.meter:
            self.meter.reset()

    def metered(self, target: str, body: bytes) -> tuple[bytes, bool]:
        """The request to forward for a write of the metered table: asking moto for the item as it is after the
        write (`ReturnValues: ALL_NEW`), so the meter needs no read of its own; and whether the caller did not ask
        for it (then the answer's `Attributes` are taken out again before it is relayed)."""
        meter = self.meter
        if not meter or target != SAVE_WRITE:
            return body, False
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return body, False
        if request.get("TableName") != meter.table or request.get("ReturnValues", "NONE") != "NONE":
            return body, False
        request["ReturnValues"] = "ALL_NEW"
        return json.dumps(request).encode(), True

    def meter_write(self, body: bytes, status: int, answer: bytes) -> None:
        """Meters one UpdateItem of the metered table, accepted (its answer carries the item after it:
        `metered`) or refused by its condition."""
        meter = self.meter
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return
        if not meter or request.get("TableName") != meter.table:
            return
        refused = status == 400 and b"ConditionalCheckFailed" in answer
        if status != 200 and not refused:
            return
        after = None
        if status == 200:
            try:
                after = json.loads(answer or b"{}").get("Attributes")
            except ValueError:
                after = None
        meter.write(json.dumps(request.get("Key") or {}, sort_keys=True), after, accepted=status == 200)

    def over_quota(self, target: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        """AWS's refusal of a request moto would take: a StartExecution input over 256 KiB."""
        if target != START_EXECUTION:
            return None
        try:
            size = utf8_size(json.loads(body or b"{}").get("input"))
        except (ValueError, AttributeError):
            return None
        if self.violations.check("a StartExecution input", size, STATE_QUOTA, "Step Functions refuses it"):
            return None
        message = ("1 validation error detected: Value at 'input' failed to satisfy constraint: "
                   f"Member must have length less than or equal to {STATE_QUOTA}")
        return 400, {"x-amzn-RequestId": str(uuid.uuid4())}, json.dumps(
            {"__type": "ValidationException", "message": message}).encode()

    def decide(self, target: str, body: bytes) -> str | None:
        """The fault for this call, or None (counts the call, applies the consecutive-fault cap)."""
        with self._lock:
            self.calls[target] += 1
            key = identity(target, body)
            burst = self.bursts.get(target)
            if burst and key not in self.seen and burst.share > 0:
                period = max(1, round(1 / burst.share))  # every period-th new identity: a fixed count per run
                self.new_identities[target] += 1
                if self.new_identities[target] % period == period // 2:
                    self.burst_left[key] = burst.length
            self.seen.add(key)
            if burst and self.burst_left.get(key, 0) > 0:
                self.burst_left[key] -= 1
                self.injected[(target, burst.label)] += 1
                return burst.kind
            rule = self.rules.get(target)
            if not rule:
                return None
            kind = rule.draw(self._rng)
            if kind and self.consecutive[key] >= self.max_consecutive:
                self.capped += 1
                kind = None
            if kind:
                self.consecutive[key] += 1
                self.injected[(target, kind)] += 1
            else:
                self.consecutive.pop(key, None)
            return kind

    def record(self, target: str, body: bytes, status: int, answer: bytes) -> None:
        """Notes moto's real answer to a forwarded call (writes and starts)."""
        with self._lock:
            self.forwarded_status[(target, status)] += 1
            if target not in (SAVE_WRITE, START_EXECUTION):
                return
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return
            if target == SAVE_WRITE and status == 200:
                self.writes[write_of(request)] += 1
                self.write_times.setdefault(write_of(request), time.time())
            elif target == START_EXECUTION:
                outcome = "200"
                if status != 200:
                    try:
                        outcome = str(json.loads(answer).get("__type", status)).rsplit("#", 1)[-1]
                    except (ValueError, AttributeError):
                        outcome = f"HTTP {status}"
                self.starts[str(request.get("name"))].append(outcome)

    def stats(self) -> dict[str, Any]:
        """Calls per target, faults injected per target and kind, moto's statuses for forwarded calls."""
        with self._lock:
            injected: dict[str, dict[str, int]] = {}
            for (target, kind), count in sorted(self.injected.items()):
                injected.setdefault(target, {})[kind] = count
            forwarded: dict[str, dict[str, int]] = {}
            for (target, status), count in sorted(self.forwarded_status.items()):
                forwarded.setdefault(target, {})[str(status)] = count
            return {"calls": dict(self.calls), "injected": injected, "forwarded": forwarded,
                    "cappedDraws": self.capped, "writes": sum(self.writes.values()),
                    "startCalls": sum(len(v) for v in self.starts.values())}

    def fault_answer(self, target: str, kind: str) -> tuple[int, dict[str, str], bytes]:
        """The HTTP answer of fault `kind` for `target`."""
        status, error_type, message, _ = KINDS[kind]
        if kind == "LostResponse":
            error_type = LOST_RESPONSE_TYPES.get(target, error_type)
        body = json.dumps({"__type": error_type, "message": message}).encode()
        return status, {"x-amzn-RequestId": str(uuid.uuid4())}, body


class FaultProxyHandler(JsonHandler):
    """Faults or forwards each request; ``/__admin/*`` controls the proxy."""

    server_version = "local-fault-proxy/1"

    def _dispatch(self) -> None:
        if self.route.startswith("/__admin/"):
            self._admin()
            return
        body = self.read_body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        target = self.headers.get("X-Amz-Target", "")
        proxy: FaultProxy = self.app
        refused = proxy.over_quota(target, body)
        if refused:
            self.send_bytes(*_reordered(refused))
            return
        kind = proxy.decide(target, body) if target else None
        if kind and not KINDS[kind][3]:
            self.send_bytes(*_reordered(proxy.fault_answer(target, kind)))
            return
        sent, strip = proxy.metered(target, body)
        try:
            status, resp_headers, payload = forward(proxy.moto_url, self.command, self.path, sent, headers,
                                                    MOTO_TIMEOUT)
        except OSError as err:
            self.send_json(502, {"message": f"moto unreachable: {err}"})
            return
        if target:
            proxy.record(target, body, status, payload)
            if target == SAVE_WRITE:
                proxy.meter_write(sent, status, payload)
        if strip and status == 200:
            # The caller asked for no attributes: the answer it gets is the one it asked for.
            answer = json.loads(payload or b"{}")
            answer.pop("Attributes", None)
            payload = json.dumps(answer).encode()
            resp_headers = [(k, v) for k, v in resp_headers if k.lower() != "x-amz-crc32"]
        if kind:  # forwarded first, then the answer is lost
            self.send_bytes(*_reordered(proxy.fault_answer(target, kind)))
            return
        self.relay(status, resp_headers, payload)

    def _admin(self) -> None:
        proxy: FaultProxy = self.app
        if self.command == "GET" and self.route == "/__admin/stats":
            self.send_json(200, proxy.stats())
        elif self.command == "POST" and self.route == "/__admin/rules":
            try:
                spec = self.read_json()
                if "rules" in spec or "bursts" in spec:
                    proxy.set_rules(spec.get("rules", {}), spec.get("bursts"))
                else:
                    proxy.set_rules(spec)
            except (ValueError, AttributeError) as err:
                self.send_json(400, {"message": str(err)})
                return
            self.send_json(200, {k: v.faults for k, v in proxy.rules.items()})
        elif self.command == "POST" and self.route == "/__admin/reset":
            self.read_body()
            proxy.reset()
            self.send_json(200, {"reset": True})
        else:
            self.send_json(404, {"message": f"no admin resource {self.command} {self.route}"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch


def _reordered(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, bytes, str, dict[str, str]]:
    status, headers, body = answer
    return status, body, JSON_10, headers


def parse_rule(text: str) -> tuple[str, str, float]:
    """``TARGET=KIND:P`` -> (target, kind, probability)."""
    target, _, rest = text.partition("=")
    kind, _, probability = rest.partition(":")
    if not target or kind not in KINDS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected TARGET=KIND:P with KIND one of {sorted(KINDS)}")
    return target, kind, float(probability or 0.1)


def main() -> None:
    """Command line: run the proxy in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5002)
    parser.add_argument("--moto", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--rule", action="append", type=parse_rule, default=[], metavar="TARGET=KIND:P")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--max-consecutive", type=int, default=3)
    args = parser.parse_args()
    spec: dict[str, dict[str, float]] = {}
    for target, kind, probability in args.rule:
        spec.setdefault(target, {})[kind] = probability
    proxy = FaultProxy.from_spec(spec, seed=args.seed, max_consecutive=args.max_consecutive, host=args.host,
                                 port=args.port)
    proxy.moto_url = args.moto
    proxy.server = BackgroundServer(FaultProxyHandler, proxy, args.host, args.port)
    print(f"fault proxy on {proxy.url} -> {args.moto}; rules {spec}", flush=True)
    proxy.server.serve_forever()


if __name__ == "__main__":
    main()
