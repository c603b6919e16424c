"""A local stand-in for the customer API behind the Architect data action (stdlib only).

``GET /v1/user-info?id=<id>&locale=<locale>`` answers ``{"data": {"name", "tier", "balance"}, "status"}`` for the
customers in `CUSTOMERS`. A few reserved ids misbehave on purpose (`MISBEHAVING`): 404, 500, a slow answer, a body
that is not JSON, and a JSON body of the wrong shape. If the stand-in is given a token, requests must carry
``Authorization: Bearer <token>`` (else 401). It logs nothing about customers: not the query, not the answer.

Admin: ``GET /__admin/stats`` (answers per status), ``POST /__admin/reset``.
Run stand-alone: ``python local/upstream_standin.py --port 8082 [--token T] [--slow-seconds 3]``.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

from httpkit import BackgroundServer, JsonHandler

PATH = "/v1/user-info"

CUSTOMERS: dict[str, dict[str, Any]] = {
    "12345": {"name": "John Doe", "tier": "gold", "balance": 150.0, "status": "active"},
    "67890": {"name": "Jane Smith", "tier": "silver", "balance": 42.5, "status": "active"},
    "24680": {"name": "Max Mustermann", "tier": "bronze", "balance": 0.0, "status": "suspended"},
}

# Reserved ids and what they trigger.
MISBEHAVING = {
    "404404": "not-found",
    "500500": "server-error",
    "408408": "slow",
    "422422": "not-json",
    "200200": "wrong-shape",
}


class UpstreamStandIn:
    """The customer table, the optional bearer token, and counters (answers per status, odd query shapes)."""

    def __init__(self, token: str | None = None, slow_seconds: float = 3.0, host: str = "127.0.0.1",
                 port: int = 0):
        self.token = token
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.server = BackgroundServer(UpstreamHandler, self, host, port)

    @property
    def url(self) -> str:
        """The user-info endpoint: the value for EXTERNAL_API_URL."""
        return self.server.url + PATH

    def start(self) -> UpstreamStandIn:
        """Serves in a background thread."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        self.server.stop()

    def count(self, key: str) -> None:
        """Adds one to counter `key` (an HTTP status, or a query-shape remark)."""
        with self._lock:
            self.counts[key] += 1

    def stats(self) -> dict[str, int]:
        """Answers per status, plus ``multipleIds`` / ``missingLocale``: requests whose query had more than one
        ``id`` or no ``locale`` (what a query-injection would look like)."""
        with self._lock:
            return dict(self.counts)

    def reset(self) -> None:
        """Clears the counters."""
        with self._lock:
            self.counts.clear()


class UpstreamHandler(JsonHandler):
    """Serves `UpstreamStandIn` in `self.app`."""

    server_version = "upstream-standin/1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """User info and admin stats."""
        if self.route == "/__admin/stats":
            self.send_json(200, self.app.stats())
        elif self.route == PATH:
            self._user_info()
        else:
            self.send_json(404, {"error": "no such path"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """Admin reset."""
        self.read_body()
        if self.route == "/__admin/reset":
            self.app.reset()
            self.send_json(200, {"reset": True})
        else:
            self.send_json(404, {"error": "no such path"})

    def _user_info(self) -> None:
        if self.app.token and self.headers.get("Authorization") != f"Bearer {self.app.token}":
            self._reply(401, {"error": "unauthorized"})
            return
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        if len(query.get("id", [])) > 1:
            self.app.count("multipleIds")
        if not query.get("locale"):
            self.app.count("missingLocale")
        customer_id = query.get("id", [""])[0]
        behaviour = MISBEHAVING.get(customer_id)
        if behaviour == "slow":
            time.sleep(self.app.slow_seconds)
        if behaviour == "not-found" or (behaviour is None and customer_id not in CUSTOMERS):
            self._reply(404, {"error": "customer not found"})
        elif behaviour == "server-error":
            self._reply(500, {"error": "internal error"})
        elif behaviour == "not-json":
            self.app.count("200")
            self.send_bytes(200, b"<html><body>Service maintenance</body></html>", "text/html")
        elif behaviour == "wrong-shape":
            self._reply(200, {"result": "ok"})
        else:
            customer = CUSTOMERS.get(customer_id, CUSTOMERS["12345"])  # the slow id, once awake, answers like 12345
            self._reply(200, {"data": {k: customer[k] for k in ("name", "tier", "balance")},
                              "status": customer["status"]})

    def _reply(self, status: int, payload: Any) -> None:
        self.app.count(str(status))
        self.send_json(status, payload)


def main() -> None:
    """Command line: serve the stand-in in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", help="require this bearer token")
    parser.add_argument("--slow-seconds", type=float, default=3.0, help="delay of the slow id 408408")
    args = parser.parse_args()
    standin = UpstreamStandIn(args.token, args.slow_seconds, args.host, args.port)
    print(f"Upstream stand-in: EXTERNAL_API_URL={standin.url}", flush=True)
    standin.server.serve_forever()


if __name__ == "__main__":
    main()
