"""A local stand-in for the Genesys Cloud login and analytics API, with fault injection (stdlib only).

Endpoints (docs: local/README.md, facts: shared spec genesys.md §3-§4):

* ``POST /oauth/token`` - client-credentials grant. HTTP Basic auth is checked against the configured client
  id/secret; the body must be ``grant_type=client_credentials`` form-encoded. 200 ``{access_token, token_type:
  "bearer", expires_in}``, 401 ``{error: "invalid_client", description, error_description}``, 400 for a bad grant.
* ``GET /api/v2/analytics/conversations/details?id=a,b,c`` - the multi-get: ``{"conversations": [...]}`` with
  every asked conversation that is known and indexed; the others are simply absent (as Genesys answers).
* ``GET /api/v2/analytics/conversations/{id}/details`` - one conversation; 404 ``code: "not.found"`` when unknown.
* Both need ``Authorization: Bearer <issued token>``; unknown or expired tokens get 401 ``{message, code:
  "bad.credentials", status, contextId}``. Known conversations get the sample
  ``local/data/analytics_conversation_details.json`` with the conversation id, the conversation-scoped ids and every
  timestamp rewritten for that id.
* Per-token rate limit, as Genesys enforces it: more than ``rateLimit`` (default 300) API requests with one token
  in any 60 s answer 429 ``too.many.requests`` with ``Retry-After`` and the ``limit`` that was hit.
* Every request is logged (``GET /__admin/log``; ``--log FILE`` writes JSON lines): time, endpoint, status, how
  many ids, a short hash of the token. ``GET /__admin/stats`` reports the most requests seen in any 60 s window.
* Admin API under ``/__admin``: ``POST /__admin/faults`` (see `Faults.update`), ``GET /__admin/faults``,
  ``GET /__admin/stats``, ``POST /__admin/reset``, ``POST|GET /__admin/conversations``.

Run stand-alone: ``python local/genesys_standin.py --port 8081 [--conversation ID[=START]] ...``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hashlib
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from httpkit import BackgroundServer, JsonHandler

SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "analytics_conversation_details.json"
DEFAULT_CLIENT_ID = "local-client-id"
DEFAULT_CLIENT_SECRET = "local-client-secret"
DEFAULT_TOKEN_TTL = 86400
DETAILS_RE = re.compile(r"^/api/v2/analytics/conversations/(?P<id>[^/]+)/details$")
MULTI_GET = "/api/v2/analytics/conversations/details"
DEFAULT_RATE_LIMIT = 300  # API requests per token per minute (spec: Genesys rate limits)
WINDOW = 60.0
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SCOPED_ID_KEYS = ("participantId", "sessionId", "peerId")

# Genesys error bodies by status: (code, message).
ERRORS = {
    401: ("bad.credentials", "Invalid login credentials."),
    404: ("not.found", "Unable to find a conversation with that conversationId."),
    429: ("too.many.requests", "Rate limit exceeded the maximum. [300] requests for [60] seconds"),
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    502: ("bad.gateway", "The upstream service did not answer properly."),
    503: ("service.unavailable", "Service Unavailable"),
    504: ("gateway.timeout", "The upstream service timed out."),
}


def genesys_error(status: int, message: str | None = None) -> dict[str, Any]:
    """A Genesys Cloud API error body for `status`."""
    code, default_message = ERRORS.get(status, ("error", f"HTTP {status}"))
    return {"message": message or default_message, "code": code, "status": status,
            "contextId": str(uuid.uuid4()), "details": [], "errors": []}


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _share_draw(conversation_id: str) -> float:
    """A stable draw in [0, 1) per conversation id."""
    return int(hashlib.sha256(conversation_id.encode()).hexdigest()[:8], 16) / 0x100000000


def max_in_window(times: list[float], window: float = WINDOW) -> int:
    """The most of `times` (seconds) that fall within any `window`-second span."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def parse_instant(value: Any) -> dt.datetime:
    """An epoch-milliseconds number or an ISO-8601 string as an aware UTC datetime."""
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)


def iso_ms(instant: dt.datetime) -> str:
    """`2021-04-01T12:27:53.386Z` style, as the analytics API writes times."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


class ConversationTemplate:
    """The sample analytics conversation, re-issued for any conversation id and start time."""

    def __init__(self, path: Path = SAMPLE_PATH):
        self.sample = json.loads(path.read_text())
        self.sample_id: str = self.sample["conversationId"]
        self.sample_start = parse_instant(self.sample["conversationStart"])

    def render(self, conversation_id: str, start: dt.datetime | None) -> dict[str, Any]:
        """The sample with `conversation_id`, its own participant/session ids and times shifted to `start`."""
        shift = (start - self.sample_start) if start else dt.timedelta(0)
        doc = copy.deepcopy(self.sample)
        doc["conversationId"] = conversation_id
        return self._rewrite(doc, shift, conversation_id)

    def _rewrite(self, node: Any, shift: dt.timedelta, conversation_id: str) -> Any:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SCOPED_ID_KEYS and conversation_id != self.sample_id:
                    node[key] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{conversation_id}/{value}"))
                else:
                    node[key] = self._rewrite(value, shift, conversation_id)
            return node
        if isinstance(node, list):
            return [self._rewrite(item, shift, conversation_id) for item in node]
        if isinstance(node, str) and ISO_RE.match(node):
            return iso_ms(parse_instant(node) + shift)
        return node


@dataclass
class Faults:
    """What the stand-in does wrong, on demand. All fields are optional in `update`'s spec.

    * ``queue``: faults for the next calls, in order: ``{"status": 429|500|503|404|401|200, "retryAfter": s,
      "times": n, "target": "api"|"token", "conversationId": id, "delay": s, "body": "raw text"}``. An entry with a
      ``conversationId`` only matches calls for that id; ``times`` (default 1) repeats it; ``body`` replaces the
      answer's body (e.g. invalid JSON with status 200).
    * ``rates``: ``{"429": 0.1, "503": 0.05, "500": 0.01}`` random faults per API call (``seed`` fixes the draw).
    * ``slow``: ``{"rate": 0.05, "delay": 3}`` random slow answers: the right answer, after ``delay`` seconds
      (beyond the caller's timeout, this is a timeout).
    * ``maxConsecutive``: at most this many random faults (``rates``, ``slow``) in a row for one conversation;
      the next call for it is answered normally (keeps a chaos run's retries bounded). 0 or absent: no cap.
    * ``notYetIndexed``: ``{conversationId: n}`` the first n calls for that id answer 404 / are absent (not
      indexed yet).
    * ``notIndexedShare``: the share (0-1) of known conversations absent from their first multi-get, as a
      conversation asked for right after it ended is (drawn per id, stable).
    * ``rateLimit``: API requests per token per 60 s before a 429 (default 300, as Genesys).
    * ``delay``: seconds added to every API answer (slow Genesys).
    * ``tokenTtl``: ``expires_in`` of tokens issued from now on; they really expire then.
    * ``expireTokens``: true invalidates every token issued so far (a one-shot action, not stored).
    * ``badCredentials``: the token endpoint answers 401 ``invalid_client`` to every request.
    * ``rejectTokens``: the API answers 401 ``bad.credentials`` even to freshly issued tokens.
    """

    queue: list[dict[str, Any]] = field(default_factory=list)
    rates: dict[str, float] = field(default_factory=dict)
    not_yet_indexed: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    token_ttl: int = DEFAULT_TOKEN_TTL
    bad_credentials: bool = False
    reject_tokens: bool = False
    slow_rate: float = 0.0
    slow_delay: float = 0.0
    max_consecutive: int = 0
    not_indexed_share: float = 0.0
    rate_limit: int = DEFAULT_RATE_LIMIT
    rng: random.Random = field(default_factory=random.Random)
    consecutive: Counter[str] = field(default_factory=Counter)

    def update(self, spec: dict[str, Any]) -> None:
        """Merges `spec` in: queue entries are appended, the other keys replace their current value."""
        for entry in spec.get("queue", []):
            fault = {k: v for k, v in entry.items() if k != "times"}
            self.queue.extend(dict(fault) for _ in range(int(entry.get("times", 1))))
        if "rates" in spec:
            self.rates = {str(k): float(v) for k, v in spec["rates"].items()}
        if "seed" in spec:
            self.rng.seed(spec["seed"])
        self.not_yet_indexed.update({k: int(v) for k, v in spec.get("notYetIndexed", {}).items()})
        self.delay = float(spec.get("delay", self.delay))
        self.token_ttl = int(spec.get("tokenTtl", self.token_ttl))
        self.bad_credentials = bool(spec.get("badCredentials", self.bad_credentials))
        self.reject_tokens = bool(spec.get("rejectTokens", self.reject_tokens))
        if "slow" in spec:
            self.slow_rate = float(spec["slow"].get("rate", 0.0))
            self.slow_delay = float(spec["slow"].get("delay", 0.0))
        self.max_consecutive = int(spec.get("maxConsecutive", self.max_consecutive))
        self.not_indexed_share = float(spec.get("notIndexedShare", self.not_indexed_share))
        self.rate_limit = int(spec.get("rateLimit", self.rate_limit))

    def take(self, target: str, conversation_id: str | None = None) -> dict[str, Any] | None:
        """Removes and returns the first queued fault that applies to this call, if any."""
        for index, entry in enumerate(self.queue):
            if entry.get("target", "api") != target:
                continue
            if entry.get("conversationId") not in (None, conversation_id):
                continue
            return self.queue.pop(index)
        return None

    def random_status(self) -> int | None:
        """A status drawn from `rates`, or None for no fault."""
        for status, rate in sorted(self.rates.items()):
            if self.rng.random() < rate:
                return int(status)
        return None

    def random_fault(self, conversation_id: str) -> dict[str, Any] | None:
        """A random fault for this call (`rates`, then `slow`), within the `maxConsecutive` cap, or None."""
        status = self.random_status()
        fault: dict[str, Any] | None = {"status": status} if status else None
        if fault is None and self.slow_rate and self.rng.random() < self.slow_rate:
            fault = {"status": 200, "delay": self.slow_delay, "slow": True}
        if fault and self.max_consecutive and self.consecutive[conversation_id] >= self.max_consecutive:
            fault = None
        if fault:
            self.consecutive[conversation_id] += 1
        else:
            self.consecutive.pop(conversation_id, None)
        return fault

    def describe(self) -> dict[str, Any]:
        """The current faults as JSON."""
        return {"queue": self.queue, "rates": self.rates, "notYetIndexed": self.not_yet_indexed,
                "delay": self.delay, "tokenTtl": self.token_ttl, "badCredentials": self.bad_credentials,
                "rejectTokens": self.reject_tokens, "slow": {"rate": self.slow_rate, "delay": self.slow_delay},
                "maxConsecutive": self.max_consecutive, "notIndexedShare": self.not_indexed_share,
                "rateLimit": self.rate_limit}


@dataclass
class Answer:
    """What to send back: status, JSON payload (or raw body), headers, and how long to wait first."""

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


class GenesysStandIn:
    """The stand-in's state (tokens, conversations, faults, stats) and its HTTP server."""

    def __init__(self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 conversations: dict[str, Any] | None = None, host: str = "127.0.0.1", port: int = 0,
                 log_path: Path | None = None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.log_path = log_path
        self.template = ConversationTemplate()
        self._initial = dict(conversations or {self.template.sample_id: None})
        self._lock = threading.Lock()
        self._reset_state()
        self.server = BackgroundServer(GenesysHandler, self, host, port)

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL; both GENESYS_LOGIN_URL and GENESYS_API_URL point here."""
        return self.server.url

    def start(self) -> GenesysStandIn:
        """Serves in a background thread."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        self.server.stop()

    # -- admin -----------------------------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.tokens: dict[str, float] = {}
        self.revoked: set[str] = set()
        self.faults = Faults()
        self.conversations = {cid: self._start_of(start) for cid, start in self._initial.items()}
        self.token_stats: Counter[str] = Counter()
        self.api_stats: Counter[str] = Counter()
        self.per_conversation: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # Faults actually answered, by kind: "429", "503", ... (random `rates`), "slow", "notYetIndexed",
        # "queue:<status>" (queued faults), "expiredToken" (401 to a token revoked by expireTokens or past its TTL).
        self.injected: Counter[str] = Counter()
        self.abandoned = 0  # answers whose caller had gone (timed out) by the time they were sent
        self.log: list[dict[str, Any]] = []  # every request: {t, kind, status, ids, token}
        self.asked: Counter[str] = Counter()  # multi-get asks per conversation id
        self.per_token: defaultdict[str, list[float]] = defaultdict(list)  # API request times per token

    @staticmethod
    def _start_of(start: Any) -> dt.datetime | None:
        return None if start in (None, "") else parse_instant(start)

    def reset(self) -> None:
        """Clears faults, stats and tokens; the known conversations go back to the initial set."""
        with self._lock:
            self._reset_state()

    def set_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Applies a fault spec (see `Faults`); returns the resulting faults."""
        with self._lock:
            if spec.get("expireTokens"):
                self.revoked.update(self.tokens)
                self.tokens.clear()
            self.faults.update(spec)
            return self.faults.describe()

    def add_conversation(self, conversation_id: str, start: Any = None) -> None:
        """Makes `conversation_id` known; `start` (epoch ms or ISO) becomes its conversationStart."""
        with self._lock:
            self.conversations[conversation_id] = self._start_of(start)

    def note_abandoned(self) -> None:
        """Counts an answer the caller no longer waited for (it had closed the connection)."""
        with self._lock:
            self.abandoned += 1

    def stats(self) -> dict[str, Any]:
        """Counts of token requests and API calls per status, overall and per conversation."""
        with self._lock:
            now = time.monotonic()
            return {"token": dict(self.token_stats), "api": dict(self.api_stats),
                    "conversations": {cid: dict(c) for cid, c in self.per_conversation.items()},
                    "activeTokens": sum(1 for exp in self.tokens.values() if exp > now),
                    "injected": dict(self.injected), "abandoned": self.abandoned,
                    "requests": len(self.log), "apiRequests": sum(1 for r in self.log if r["kind"] != "token"),
                    "multiGetIds": sum(r["ids"] for r in self.log if r["kind"] == "multiget"),
                    "maxRequestsInAnyMinute": max_in_window([r["t"] for r in self.log]),
                    "maxApiRequestsPerTokenInAnyMinute": max(
                        (max_in_window(times) for times in self._api_times_by_token().values()), default=0)}

    def _api_times_by_token(self) -> dict[str, list[float]]:
        by_token: defaultdict[str, list[float]] = defaultdict(list)
        for r in self.log:
            if r["kind"] != "token":
                by_token[r["token"]].append(r["t"])
        return by_token

    def request_log(self) -> list[dict[str, Any]]:
        """Every request seen so far."""
        with self._lock:
            return list(self.log)

    def _note(self, kind: str, status: int, ids: int, token: str) -> None:
        entry = {"t": time.time(), "kind": kind, "status": status, "ids": ids,
                 "token": hashlib.sha256(token.encode()).hexdigest()[:8] if token else ""}
        self.log.append(entry)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    # -- the Genesys API -------------------------------------------------------------------------------------

    def token(self, authorization: str | None, content_type: str | None, body: bytes) -> Answer:
        """`POST /oauth/token`."""
        with self._lock:
            answer = self._token(authorization, content_type, body)
            self.token_stats[str(answer.status)] += 1
            self._note("token", answer.status, 0, "")
            return answer

    def _token(self, authorization: str | None, content_type: str | None, body: bytes) -> Answer:
        fault = self.faults.take("token")
        if fault:
            self.injected[f"token:queue:{fault.get('status', 503)}"] += 1
            return self._fault_answer(fault)
        if self.faults.bad_credentials or not self._basic_auth_ok(authorization):
            return Answer(401, {"error": "invalid_client", "description": "client not found",
                                "error_description": "client not found"})
        form = parse_qs(body.decode(errors="replace"))
        if (content_type or "").split(";")[0].strip() != "application/x-www-form-urlencoded" or \
                form.get("grant_type") != ["client_credentials"]:
            return Answer(400, {"error": "unsupported_grant_type",
                                "description": "grant_type=client_credentials, form-encoded, is required",
                                "error_description": "grant_type=client_credentials, form-encoded, is required"})
        access_token = secrets.token_urlsafe(32)
        self.tokens[access_token] = time.monotonic() + self.faults.token_ttl
        return Answer(200, {"access_token": access_token, "token_type": "bearer",
                            "expires_in": self.faults.token_ttl})

    def _basic_auth_ok(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(client_id, self.client_id) and \
            secrets.compare_digest(client_secret, self.client_secret)

    def details(self, authorization: str | None, conversation_id: str) -> Answer:
        """`GET /api/v2/analytics/conversations/{id}/details`."""
        with self._lock:
            answer = self._limited(authorization) or self._details(authorization, conversation_id)
            answer.delay += self.faults.delay
            self.api_stats[str(answer.status)] += 1
            self.per_conversation[conversation_id][str(answer.status)] += 1
            self._note("details", answer.status, 1, _bearer(authorization))
            return answer

    def multi_get(self, authorization: str | None, ids: list[str]) -> Answer:
        """`GET /api/v2/analytics/conversations/details?id=a,b,c`."""
        with self._lock:
            answer = self._limited(authorization) or self._multi_get(authorization, ids)
            answer.delay += self.faults.delay
            self.api_stats[str(answer.status)] += 1
            self._note("multiget", answer.status, len(ids), _bearer(authorization))
            return answer

    def _limited(self, authorization: str | None) -> Answer | None:
        """A 429 when this token is over its per-minute limit (the request still counts, as at Genesys)."""
        token = _bearer(authorization)
        if not token or token not in self.tokens:
            return None
        now = time.monotonic()
        times = [t for t in self.per_token[token] if t > now - WINDOW]
        times.append(now)
        self.per_token[token] = times
        if len(times) <= self.faults.rate_limit:
            return None
        self.injected["rateLimit"] += 1
        retry_after = max(1, int(times[-self.faults.rate_limit - 1] + WINDOW - now + 0.999))
        body = genesys_error(429, f"Rate limit exceeded the maximum. [{self.faults.rate_limit}] requests for [60] seconds")
        body["limit"] = {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api",
                         "value": self.faults.rate_limit}
        return Answer(429, body, {"Retry-After": str(retry_after)})

    def _multi_get(self, authorization: str | None, ids: list[str]) -> Answer:
        if not self._bearer_ok(authorization):
            return Answer(401, genesys_error(401))
        if not ids:
            return Answer(400, genesys_error(400, "id is required"))
        fault = next((self.faults.take("api", cid) for cid in ids if self._has_fault_for(cid)), None) \
            or self.faults.take("api", None)
        if fault:
            self.injected[f"queue:{fault.get('status', 503)}"] += 1
            if int(fault.get("status", 503)) != 200:
                return self._fault_answer(fault)
        status = self.faults.random_status()
        if status:
            self.injected[str(status)] += 1
            return self._fault_answer({"status": status})
        slow = 0.0
        if self.faults.slow_rate and self.faults.rng.random() < self.faults.slow_rate:
            self.injected["slow"] += 1
            slow = self.faults.slow_delay
        found = []
        for cid in ids:
            self.asked[cid] += 1
            if self.faults.not_yet_indexed.get(cid, 0) > 0:
                self.faults.not_yet_indexed[cid] -= 1
                self.injected["notYetIndexed"] += 1
                continue
            if cid not in self.conversations:
                continue
            if self.asked[cid] == 1 and _share_draw(cid) < self.faults.not_indexed_share:
                self.injected["notIndexedOnFirstAsk"] += 1
                continue
            found.append(self.template.render(cid, self.conversations[cid]))
        delay = float(fault.get("delay", 0.0)) if fault else 0.0
        return Answer(200, {"conversations": found}, delay=max(delay, slow))

    def _has_fault_for(self, conversation_id: str) -> bool:
        return any(entry.get("conversationId") == conversation_id for entry in self.faults.queue)

    def _details(self, authorization: str | None, conversation_id: str) -> Answer:
        if not self._bearer_ok(authorization):
            return Answer(401, genesys_error(401))
        fault = self.faults.take("api", conversation_id)
        if fault:
            self.injected[f"queue:{fault.get('status', 503)}"] += 1
            return self._fault_answer(fault, conversation_id)
        if self.faults.not_yet_indexed.get(conversation_id, 0) > 0:
            self.faults.not_yet_indexed[conversation_id] -= 1
            self.injected["notYetIndexed"] += 1
            return Answer(404, genesys_error(404))
        fault = self.faults.random_fault(conversation_id)
        if fault:
            self.injected["slow" if fault.get("slow") else str(fault["status"])] += 1
            if fault.get("slow") and conversation_id not in self.conversations:
                return Answer(404, genesys_error(404), delay=float(fault["delay"]))
            return self._fault_answer(fault, conversation_id)
        if conversation_id not in self.conversations:
            return Answer(404, genesys_error(404))
        return Answer(200, self.template.render(conversation_id, self.conversations[conversation_id]))

    def _bearer_ok(self, authorization: str | None) -> bool:  # noqa: D102 - see details
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or self.faults.reject_tokens:
            return False
        expiry = self.tokens.get(token.strip())
        if expiry is not None and expiry > time.monotonic():
            return True
        if expiry is not None or token.strip() in self.revoked:
            self.injected["expiredToken"] += 1
        return False

    def _fault_answer(self, fault: dict[str, Any], conversation_id: str | None = None) -> Answer:
        status = int(fault.get("status", 503))
        delay = float(fault.get("delay", 0.0))
        if "body" in fault:
            return Answer(status, delay=delay, raw=str(fault["body"]).encode())
        if status == 200:
            return Answer(200, self.template.render(conversation_id or self.template.sample_id,
                                                    self.conversations.get(conversation_id or "")), delay=delay)
        headers = {"Retry-After": str(fault.get("retryAfter", 1))} if status == 429 else {}
        if status == 401 and fault.get("target") == "token":
            return Answer(401, {"error": "invalid_client", "description": "client not found",
                                "error_description": "client not found"}, delay=delay)
        return Answer(status, genesys_error(status), headers, delay)


class GenesysHandler(JsonHandler):
    """Routes requests to the `GenesysStandIn` in `self.app`."""

    server_version = "genesys-standin/1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """Token endpoint and admin writes."""
        route = self.route
        if route == "/oauth/token":
            self._answer(self.app.token(self.headers.get("Authorization"), self.headers.get("Content-Type"),
                                        self.read_body()))
        elif route == "/__admin/faults":
            self.send_json(200, self.app.set_faults(self.read_json()))
        elif route == "/__admin/reset":
            self.read_body()
            self.app.reset()
            self.send_json(200, {"reset": True})
        elif route == "/__admin/conversations":
            spec = self.read_json()
            for item in spec if isinstance(spec, list) else [spec]:
                self.app.add_conversation(item["conversationId"], item.get("start"))
            self.send_json(200, {"known": len(self.app.conversations)})
        else:
            self.send_json(404, genesys_error(404, f"No resource found for path {route}"))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Conversation details and admin reads."""
        route = self.route
        match = DETAILS_RE.match(route)
        if route == MULTI_GET:
            query = parse_qs(urlsplit(self.path).query)
            ids = [i for value in query.get("id", []) for i in value.split(",") if i]
            self._answer(self.app.multi_get(self.headers.get("Authorization"), ids))
        elif match:
            self._answer(self.app.details(self.headers.get("Authorization"), unquote(match["id"])))
        elif route == "/__admin/log":
            self.send_json(200, self.app.request_log())
        elif route == "/__admin/stats":
            self.send_json(200, self.app.stats())
        elif route == "/__admin/faults":
            self.send_json(200, self.app.faults.describe())
        elif route == "/__admin/conversations":
            self.send_json(200, {"known": sorted(self.app.conversations)})
        else:
            self.send_json(404, genesys_error(404, f"No resource found for path {route}"))

    def _answer(self, answer: Answer) -> None:
        if answer.delay > 0:
            time.sleep(answer.delay)
        try:
            if answer.raw is not None:
                self.send_bytes(answer.status, answer.raw, "application/json", answer.headers)
            else:
                self.send_json(answer.status, answer.payload, answer.headers)
        except (BrokenPipeError, ConnectionResetError):  # the caller gave up first (its timeout, for a slow answer)
            self.app.note_abandoned()
            self.close_connection = True


def parse_conversation_arg(text: str) -> tuple[str, str | None]:
    """`ID` or `ID=START` (START: epoch ms or ISO-8601)."""
    conversation_id, _, start = text.partition("=")
    return conversation_id, (int(start) if start.isdigit() else start or None)


def main() -> None:
    """Command line: serve the stand-in in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--conversation", action="append", default=[], metavar="ID[=START]",
                        help="a known conversation (repeatable); default: the sample's id")
    parser.add_argument("--log", type=Path, help="also write every request as a JSON line to this file")
    args = parser.parse_args()
    conversations = dict(parse_conversation_arg(c) for c in args.conversation) or None
    standin = GenesysStandIn(args.client_id, args.client_secret, conversations, args.host, args.port, args.log)
    print(f"Genesys stand-in on {standin.url} (client id {args.client_id})", flush=True)
    standin.server.serve_forever()


if __name__ == "__main__":
    main()
