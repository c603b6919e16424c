"""Shared HTTP plumbing for the local stand-ins and the bridge (stdlib only).

`BackgroundServer` runs a threaded `http.server` on loopback in a daemon thread, on a port the OS picks
unless one is given; `JsonHandler` adds the few helpers every handler needs (read the body, answer JSON)
and keeps the request log quiet and free of query strings, which may carry customer identifiers.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

LOG = logging.getLogger("local.http")


def request_json(method: str, url: str, payload: Any = None, timeout: float = 30.0,
                 headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """Sends `payload` as JSON (if given) and returns `(status, parsed body or raw text or None)`.

    HTTP error statuses are returned, not raised; connection failures raise `OSError`.
    """
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                         **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    if not body:
        return status, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler with JSON helpers; `self.app` is the object that owns the server."""

    protocol_version = "HTTP/1.1"
    server_version = "local-standin/1"

    @property
    def app(self) -> Any:
        """The stand-in (or bridge) object this server serves."""
        return self.server.app  # type: ignore[attr-defined]

    @property
    def route(self) -> str:
        """The request path without its query string."""
        return urlsplit(self.path).path

    def read_body(self) -> bytes:
        """The request body (empty when there is none)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def read_json(self) -> Any:
        """The request body parsed as JSON; `{}` when empty."""
        body = self.read_body()
        return json.loads(body) if body.strip() else {}

    def send_bytes(self, status: int, body: bytes, content_type: str = "application/json",
                   headers: Mapping[str, str] | None = None) -> None:
        """Answers `status` with `body`, always with a Content-Length so keep-alive works."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def relay(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        """Answers with an upstream's status, headers (as `bridge.forward` returns them) and body, unchanged."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        """Answers `status` with `payload` as JSON."""
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        """Logs at debug level, never the query string (it may hold customer ids)."""
        LOG.debug("%s %s %s", type(self).__name__, self.command, self.route)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One debug line per request: method, path without query, status."""
        LOG.debug("%s %s %s -> %s", type(self).__name__, self.command, self.route, code)


class BackgroundServer:
    """A `ThreadingHTTPServer` on `host:port` (0 = any free port) served from a daemon thread."""

    def __init__(self, handler: type[JsonHandler], app: Any, host: str = "127.0.0.1", port: int = 0):
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._httpd.app = app  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=handler.__name__, daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://{self._httpd.server_address[0]}:{self.port}"

    def start(self) -> BackgroundServer:
        """Starts serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes the socket (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serves in the calling thread until interrupted (for the stand-alone command lines)."""
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()
