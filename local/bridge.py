"""The bridge: Step Functions' Lambda integration for the local stack (stdlib only).

moto runs state machines in-process and calls each Task's Lambda through boto3 at ``http://localhost:$MOTO_PORT``;
moto is therefore started with ``MOTO_PORT`` set to this bridge's port. The bridge

* maps ``POST /2015-03-31/functions/<ARN or name>/invocations`` to the binary name (the segment after
  ``function:`` in an ARN, without any qualifier) and forwards it to ``cargo lambda watch``;
* turns ``cargo lambda watch``'s function error (HTTP 500 with ``{"errorType", "errorMessage"}``) into what real
  Lambda answers: 200 with ``X-Amz-Function-Error: Unhandled`` and the same body, so the state machine's Retry and
  Catch match the function's ``errorType``;
* forwards every other request (the SQS and DynamoDB service integrations) to moto unchanged.

It is the local stack's one Lambda service: the state machine, the event source mappings and the EventBridge
emulation all invoke through it, so it counts every invocation per function and outcome, and holds them to AWS's
quotas (``limits.py``), which neither moto nor cargo lambda watch enforces: a Task input or answer over Step
Functions' 256 KiB (on AWS, ``States.DataLimitExceeded``, which no Catch catches) and any synchronous invocation over
Lambda's 6 MB are recorded as violations; a request over a quota is refused as Lambda refuses it (413).

Run stand-alone: ``python local/bridge.py --port 5001 --moto http://127.0.0.1:5000 --lambda http://127.0.0.1:9000``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import unquote, urlsplit

from httpkit import BackgroundServer, JsonHandler
from limits import STATE_QUOTA, SYNC_INVOKE_QUOTA, Violations

INVOKE_RE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te",
              "trailer", "upgrade"}
LAMBDA_TIMEOUT = 900.0
MOTO_TIMEOUT = 60.0


def function_name(raw: str) -> str:
    """The binary name for a Lambda FunctionName: a name, ``name:qualifier``, or a (qualified) function ARN."""
    name = unquote(raw)
    parts = name.split(":")
    if name.startswith("arn:") and "function" in parts[:-1]:
        return parts[parts.index("function") + 1]
    return parts[0]


def error_type(body: bytes) -> str | None:
    """The ``errorType`` of a Lambda error body, or None if the body is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload.get("errorType") if isinstance(payload, dict) and payload.get("errorType") else None


def forward(base_url: str, method: str, path: str, body: bytes, headers: dict[str, str],
            timeout: float) -> tuple[int, list[tuple[str, str]], bytes]:
    """Sends one request to `base_url` and returns (status, headers without hop-by-hop ones, body)."""
    target = urlsplit(base_url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=timeout)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        return resp.status, kept, payload
    finally:
        conn.close()


class Bridge:
    """Holds the two upstream URLs and counts invocations per function and outcome."""

    def __init__(self, moto_url: str, lambda_url: str, host: str = "127.0.0.1", port: int = 0):
        self.moto_url = moto_url
        self.lambda_url = lambda_url
        self._lock = threading.Lock()
        self.invocations: Counter[tuple[str, str]] = Counter()
        self.violations = Violations("the bridge (Lambda)")
        self.server = BackgroundServer(BridgeHandler, self, host, port)

    @property
    def port(self) -> int:
        """The port moto must be given as MOTO_PORT."""
        return self.server.port

    def start(self) -> Bridge:
        """Serves in a background thread."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        self.server.stop()

    def record(self, function: str, outcome: str) -> None:
        """Counts one invocation of `function` that ended with `outcome` ("ok", an errorType, or "HTTP nnn")."""
        with self._lock:
            self.invocations[(function, outcome)] += 1

    def stats(self) -> dict[str, dict[str, int]]:
        """``{function: {outcome: count}}``."""
        with self._lock:
            result: dict[str, dict[str, int]] = {}
            for (function, outcome), count in sorted(self.invocations.items()):
                result.setdefault(function, {})[outcome] = count
            return result

    def totals(self) -> dict[str, int]:
        """Invocations per function, whatever their outcome."""
        return {function: sum(outcomes.values()) for function, outcomes in self.stats().items()}

    def reset(self) -> None:
        """Zeroes the counters and forgets the violations."""
        with self._lock:
            self.invocations.clear()
        self.violations.clear()

    def call(self, function: str, payload: Any, timeout: float = LAMBDA_TIMEOUT) -> tuple[int, Any]:
        """Invokes `function` with `payload` as a Lambda client would; returns (HTTP status as cargo lambda watch
        answered: 200, or 500 for a function error, whose body is ``{errorType, errorMessage}``; parsed body)."""
        body = json.dumps(payload).encode()
        if not self.violations.check(f"a synchronous invocation of {function}", len(body), SYNC_INVOKE_QUOTA,
                                     "Lambda refuses it (RequestEntityTooLargeException)"):
            self.record(function, "RequestEntityTooLargeException")
            return 413, {"errorType": "RequestEntityTooLargeException",
                         "errorMessage": f"Request must be smaller than {SYNC_INVOKE_QUOTA} bytes for the Invoke operation"}
        status, _, answer = forward(self.lambda_url, "POST", f"/2015-03-31/functions/{function}/invocations", body,
                                    {"Content-Type": "application/json"}, timeout)
        self.violations.check(f"{function}'s answer", len(answer), SYNC_INVOKE_QUOTA,
                              "Lambda fails the invocation (Function.ResponseSizeTooLarge)")
        kind = error_type(answer) if status >= 400 else None
        self.record(function, "ok" if status == 200 else (kind or f"HTTP {status}"))
        try:
            return status, json.loads(answer) if answer else None
        except ValueError:
            return status, answer.decode(errors="replace")

    def invoke(self, function: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Invokes `function` through cargo lambda watch and answers the way the Lambda Invoke API does.

        What arrives here over HTTP is a state machine Task (moto's Lambda integration): its input is a state
        after `Parameters`, and its answer becomes one, so both must stay within Step Functions' 256 KiB."""
        path = f"/2015-03-31/functions/{function}/invocations"
        started = time.monotonic()
        uncatchable = "States.DataLimitExceeded on AWS, which no Catch catches: the events would reach no dead letter"
        if not self.violations.check(f"the Task input of {function}", len(body), STATE_QUOTA, uncatchable):
            self.record(function, "States.DataLimitExceeded")
            return 413, {"x-amzn-ErrorType": "RequestEntityTooLargeException"}, json.dumps(
                {"Type": "User", "message": f"the Task input is {len(body)} bytes, over {STATE_QUOTA}"}).encode()
        status, _, payload = forward(self.lambda_url, "POST", path, body, headers, LAMBDA_TIMEOUT)
        self.violations.check(f"the Task answer of {function}", len(payload), STATE_QUOTA, uncatchable)
        kind = error_type(payload) if status >= 400 else None
        if status == 200:
            outcome, status_out, extra = "ok", 200, {}
        elif kind:
            outcome, status_out, extra = kind, 200, {"X-Amz-Function-Error": "Unhandled"}
        else:
            outcome, status_out, extra = f"HTTP {status}", status, {"x-amzn-ErrorType": "ServiceException"}
        self.record(function, outcome)
        extra.update({"X-Amz-Executed-Version": "$LATEST",
                      "X-Bridge-Duration-Ms": str(int((time.monotonic() - started) * 1000))})
        return status_out, extra, payload


class BridgeHandler(JsonHandler):
    """Dispatches Lambda invokes to cargo lambda watch and everything else to moto."""

    server_version = "local-bridge/1"

    def _dispatch(self) -> None:
        body = self.read_body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        match = INVOKE_RE.match(self.route)
        if self.command == "POST" and match:
            self._invoke(function_name(match["name"]), body, headers)
        else:
            self._proxy(body, headers)

    def _invoke(self, function: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            status, extra, payload = self.app.invoke(function, body, headers)
        except OSError as err:
            self.app.record(function, "unreachable")
            self.send_json(502, {"Type": "Service", "Message": f"cargo lambda watch unreachable: {err}"},
                           {"x-amzn-ErrorType": "ServiceException"})
            return
        self.send_bytes(status, payload, "application/json", extra)

    def _proxy(self, body: bytes, headers: dict[str, str]) -> None:
        try:
            status, resp_headers, payload = forward(self.app.moto_url, self.command, self.path, body, headers,
                                                    MOTO_TIMEOUT)
        except OSError as err:
            self.send_json(502, {"message": f"moto unreachable: {err}"})
            return
        self.relay(status, resp_headers, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch


def main() -> None:
    """Command line: run the bridge in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--moto", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--lambda", dest="lambda_url", required=True,
                        help="cargo lambda watch URL, e.g. http://127.0.0.1:9000")
    args = parser.parse_args()
    bridge = Bridge(args.moto, args.lambda_url, args.host, args.port)
    print(f"bridge on {bridge.server.url}: start moto with MOTO_PORT={bridge.port}", flush=True)
    bridge.server.serve_forever()


if __name__ == "__main__":
    main()
