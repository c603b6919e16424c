#!/usr/bin/env python3
"""Check the sample events in events/ (needs `jsonschema`, pinned in local/requirements.txt; otherwise stdlib only).

Usage: python3 events/check_events.py [--root DIR] [--catalogue FILE] [-q]

It checks:
  * every eventbridge/*.json envelope: the required keys and their types; that `detail-type` contains `{id}` and
    matches `detail.topicName` once the ids are filled in; that `time` and `detail.timestamp` agree.
  * conversation detail events (`v2.detail.events.conversation.{id}.*`): that the topic is one of the `detailTopics`
    of docs/catalogue.json (generated from the Rust code), that `eventBody.conversationId` equals the id inside
    `topicName`, and that `eventTime` is an integer of epoch milliseconds. Every detail topic of the catalogue must
    have a vendored schema and at least one sample in eventbridge/.
  * every eventBody against the JSON Schema of its Genesys SDK model in schemas/ (derived from the SDK by
    schemas/derive.py; see schemas/SOURCE.md), with `jsonschema` (Draft 7; formats date-time and date). A detail
    topic's model is the one the Rust code names (`detailTopicModels` of the catalogue); the three other topics of
    eventbridge/ are in OTHER_TOPIC_MODELS below. Strict: every model of a schema must be closed
    (`additionalProperties: false`), so a property the SDK model does not have is an error.
  * the conversation 1bc96a39-... timeline: the events come in order with strictly increasing eventTime; the
    events outside the timeline (wrapup, flow-outcome, contact) come after the event they follow; and the event ids
    and CorrelationIds are all different.
  * fanout/: array.json holds valid envelopes; the sqs.json records have the right shape, a correct md5OfBody, and
    bodies that are valid envelopes; each malformed-*.json is malformed in the way its name says.
  * pipeline/: the Step Functions Task inputs `{"batch", "executionId"}` of validate, process and save. Their valid
    events are exactly what eventbridge/customer-end.json and eventbridge/acw.json give; each invalid event of
    validate-input.json is a dead letter of process-input.json with exactly the catalogue's `deadLetterFields`;
    save-input.json carries the same events and dead letters, one record per event (its exact shape is the real process's: crates/system-tests/tests/pipeline_fixtures.rs) and
    enrichment requests for the events whose topic the catalogue enriches by default.
  * data-action/: each file is valid JSON of the expected shape.

It exits 1 and prints every violation it finds, or prints "OK" and exits 0.
"""
import argparse
import hashlib
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

try:
    import jsonschema
except ImportError:  # reported by main()
    jsonschema = None

HERE = Path(__file__).resolve().parent

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_S_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SOURCE_RE = re.compile(
    r"^aws\.partner/genesys\.com(\.[a-z0-9]+)?/cloud/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[A-Za-z0-9._-]{1,64}$"
)
EXECUTION_ARN_RE = re.compile(r"^arn:aws:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_-]{1,80}$")
CONV_PREFIX = "v2.detail.events.conversation.{id}."
# The conversation detail topics (the part after CONV_PREFIX) and their SDK models are not listed here: they come from
# the catalogue that the Rust code generates (docs/catalogue.json, keys "detailTopics" and "detailTopicModels"); see
# Checker.detail_topics and Checker.detail_models.
CATALOGUE = HERE.parent / "docs" / "catalogue.json"
ENVELOPE_KEYS = {
    "version": str, "id": str, "detail-type": str, "source": str, "account": str, "time": str, "region": str,
    "resources": list, "detail": dict,
}
DETAIL_KEYS = {"topicName": str, "version": str, "eventBody": dict, "metadata": dict, "timestamp": str}

# The SDK models of the sample topics that are not conversation detail topics (a detail topic's model is named by the
# Rust code: `detailTopicModels` of the catalogue). Their schemas are schemas/<model>.schema.json (schemas/derive.py
# derives these three as well, its OTHER_ROOTS).
OTHER_TOPIC_MODELS = {
    "v2.audits.entitytype.{id}.entityid.{id}": "AuditTopicAuditLogMessage",
    "v2.conversations.{id}.transcription": "TranscriptionTopicTranscriptionMessage",
    "v2.routing.queues.{id}.conversations": "QueueConversationEventTopicConversation",
}

# The conversation of the analytics sample and the order its events must come in.
TIMELINE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
TIMELINE = ["customer-start", "flow-start", "flow-end", "acd-start", "acd-end", "user-start", "customer-end",
            "user-end", "acw"]

# Events of the same conversation outside TIMELINE, and the timeline event each must come after.
FOLLOWS = {"flow-outcome": "flow-end", "contact": "user-start", "wrapup": "acw"}

EXPECTED_EVENTBRIDGE = set(TIMELINE) | set(FOLLOWS) | {
    "attributes", "outbound", "voicemail-start", "voicemail-end", "queue-conversation", "audit", "transcription",
    "customer-start-sample",
}

# pipeline/: the events whose execution-input elements are the valid events of validate-input.json, in order.
PIPELINE_EVENTS = ["customer-end", "acw"]
# An enrichment request names its event by these keys (it may carry more, e.g. attempt and firstQueuedAt).
ENRICH_IDENTITY = ["conversationId", "eventId", "eventType", "eventTime", "correlationId"]


class Checker:
    def __init__(self, root: Path, quiet: bool, catalogue: Path = CATALOGUE):
        self.root = root
        self.quiet = quiet
        self.errors = []
        self.checked = 0
        self.validators = {}  # schema file name -> Draft7Validator, or None if the file is unusable
        self.catalogue_path = catalogue
        self.catalogue = self.load_catalogue(catalogue)
        # The conversation detail topics, e.g. "customer.end", and the SDK model of each one's eventBody: the single
        # source is the Rust code (`detail_topics!` in crates/core/src/events.rs), via the catalogue.
        self.detail_topics = set(self.catalogue.get("detailTopics", []))
        self.detail_models = self.catalogue.get("detailTopicModels", {})

    # ---- helpers -------------------------------------------------------------------------------------------------
    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def load(self, rel):
        p = self.root / rel
        try:
            with open(p, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            self.err(rel, "missing file")
        except json.JSONDecodeError as e:
            self.err(rel, f"not valid JSON: {e}")
        return None

    def load_catalogue(self, path):
        where = str(path)
        try:
            with open(path, encoding="utf-8") as f:
                cat = json.load(f)
        except FileNotFoundError:
            self.err(where, "missing file (it is generated from the Rust code; see its generatedBy)")
            return {}
        except json.JSONDecodeError as e:
            self.err(where, f"not valid JSON: {e}")
            return {}
        if not isinstance(cat, dict):
            self.err(where, "must be a JSON object")
            return {}
        for key in ("detailTopics", "deadLetterFields", "defaultEnrichTopics"):
            v = cat.get(key)
            if not (isinstance(v, list) and v and all(isinstance(x, str) and x for x in v)):
                self.err(where, f"{key} must be a non-empty array of strings")
                cat[key] = []
        models = cat.get("detailTopicModels")
        if not (isinstance(models, dict) and all(isinstance(m, str) and re.fullmatch(r"[A-Za-z0-9]+", m)
                                                  for m in models.values())):
            self.err(where, "detailTopicModels must be an object of topic suffix -> SDK model name")
            cat["detailTopicModels"] = {}
        elif set(models) != set(cat["detailTopics"]):
            self.err(where, "detailTopicModels must name the SDK model of every detailTopics entry, and only those")
        return cat

    # ---- event-body schemas ------------------------------------------------------------------------------------
    def schema_name(self, dt):
        """The schema file (in schemas/) of detail-type `dt`'s eventBody, or None if it has none."""
        if dt.startswith(CONV_PREFIX):
            model = self.detail_models.get(dt[len(CONV_PREFIX):])
        else:
            model = OTHER_TOPIC_MODELS.get(dt)
        return f"{model}.schema.json" if model else None

    def validator(self, name):
        """The jsonschema validator of schemas/<name>, once per file; None (and an error) if the file is unusable."""
        if name in self.validators:
            return self.validators[name]
        self.validators[name] = None
        rel = f"schemas/{name}"
        schema = self.load(rel)
        if schema is None:
            return None
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            self.err(rel, f"not a valid Draft 7 schema: {e.message}")
            return None
        model = name.removesuffix(".schema.json")
        if schema.get("title") != model or schema.get("$ref") != f"#/definitions/{model}":
            self.err(rel, f"must be the schema of SDK model {model} (its title and root $ref)")
        # Strict: derive.py closes every model. A model that is not closed would let any unknown property through.
        for d, definition in schema.get("definitions", {}).items():
            if definition.get("type") == "object" and definition.get("additionalProperties") is not False:
                self.err(rel, f"definitions.{d} must have \"additionalProperties\": false (rerun schemas/derive.py)")
        self.validators[name] = jsonschema.Draft7Validator(schema, format_checker=FORMATS)
        return self.validators[name]

    def check_schema(self, where, name, body):
        v = self.validator(name)
        if v is None:
            return
        for e in sorted(v.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
            path = "eventBody" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
            self.err(where, f"{path}: {e.message} (schemas/{name})")

    # ---- envelope ------------------------------------------------------------------------------------------------
    def check_envelope(self, where, ev):
        """Check one EventBridge envelope; return (detail-type, filled ids) or None."""
        if not isinstance(ev, dict):
            self.err(where, f"an EventBridge event must be a JSON object, got {type(ev).__name__}")
            return None
        ok = True
        for k, typ in ENVELOPE_KEYS.items():
            if k not in ev:
                self.err(where, f"missing envelope key {k!r}")
                ok = False
            elif not isinstance(ev[k], typ):
                self.err(where, f"envelope key {k!r} must be {typ.__name__}")
                ok = False
        if not ok:
            return None
        if ev["version"] != "0":
            self.err(where, "version must be \"0\"")
        if not UUID_RE.match(ev["id"]):
            self.err(where, f"id {ev['id']!r} is not a lowercase hyphenated UUID")
        if not SOURCE_RE.match(ev["source"]):
            self.err(where, f"source {ev['source']!r} is not aws.partner/genesys.com/cloud/<orgId>/<suffix>")
        if not re.match(r"^\d{12}$", ev["account"]):
            self.err(where, "account must be 12 digits")
        if not ISO_S_RE.match(ev["time"]):
            self.err(where, f"time {ev['time']!r} is not YYYY-MM-DDTHH:MM:SSZ")
        d = ev["detail"]
        for k, typ in DETAIL_KEYS.items():
            if k not in d:
                self.err(where, f"missing detail.{k}")
                ok = False
            elif not isinstance(d[k], typ):
                self.err(where, f"detail.{k} must be {typ.__name__}")
                ok = False
        if not ok:
            return None
        if d["version"] != "2":
            self.err(where, "detail.version must be \"2\"")
        corr = d["metadata"].get("CorrelationId")
        if not isinstance(corr, str) or not UUID_RE.match(corr):
            self.err(where, "detail.metadata.CorrelationId must be a UUID")
        if not ISO_MS_RE.match(d["timestamp"]):
            self.err(where, f"detail.timestamp {d['timestamp']!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")
        elif ISO_S_RE.match(ev["time"]) and d["timestamp"][:19] + "Z" != ev["time"]:
            self.err(where, f"time {ev['time']} and detail.timestamp {d['timestamp']} disagree")

        dt = ev["detail-type"]
        if "{id}" not in dt:
            self.err(where, f"detail-type {dt!r} has no literal {{id}}")
            return None
        pattern = "^" + r"([^.]+)".join(re.escape(p) for p in dt.split("{id}")) + "$"
        m = re.match(pattern, d["topicName"])
        if not m:
            self.err(where, f"detail.topicName {d['topicName']!r} does not match detail-type {dt!r}")
            return None
        ids = list(m.groups())
        if any("{" in i or "}" in i for i in ids):
            self.err(where, "detail.topicName still contains {id}")
        return dt, ids

    def check_body(self, where, dt, ids, ev):
        body = ev["detail"]["eventBody"]
        ts_ms = None
        if dt.startswith(CONV_PREFIX):
            suffix = dt[len(CONV_PREFIX):]
            if suffix not in self.detail_topics:
                self.err(where, f"unknown conversation detail topic suffix {suffix!r} "
                                f"(not in detailTopics of {self.catalogue_path.name})")
            conv = body.get("conversationId")
            if conv != ids[0]:
                self.err(where, f"eventBody.conversationId {conv!r} != id in topicName {ids[0]!r}")
            et = body.get("eventTime")
            if not (isinstance(et, int) and not isinstance(et, bool)):
                self.err(where, f"eventBody.eventTime must be an integer (epoch ms), got {et!r}")
            elif not (10**12 <= et < 10**13):
                self.err(where, f"eventBody.eventTime {et} does not look like epoch milliseconds")
            else:
                ts = ev["detail"]["timestamp"]
                if ISO_MS_RE.match(ts):
                    import datetime as _dt

                    t = _dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_dt.timezone.utc)
                    ts_ms = round(t.timestamp() * 1000)
                    if ts_ms < et:
                        self.err(where, "detail.timestamp is earlier than eventBody.eventTime")
        elif dt == "v2.routing.queues.{id}.conversations":
            if "conversationId" in body:
                self.err(where, "queue conversation bodies have `id`, not `conversationId`")
            if not isinstance(body.get("id"), str) or not UUID_RE.match(body.get("id", "")):
                self.err(where, "eventBody.id (the conversation id) must be a UUID")
        elif dt == "v2.audits.entitytype.{id}.entityid.{id}":
            if "conversationId" in body:
                self.err(where, "audit events carry no conversationId")
            if not isinstance(body.get("eventTime"), str) or not DATE_TIME_RE.match(body["eventTime"]):
                self.err(where, "audit eventBody.eventTime must be an ISO-8601 string")
        elif dt == "v2.conversations.{id}.transcription":
            if body.get("conversationId") != ids[0]:
                self.err(where, "transcription eventBody.conversationId must equal the id in topicName")

        name = self.schema_name(dt)
        if name is None:
            self.err(where, f"no schema for topic {dt!r} (a detail topic's model comes from detailTopicModels of "
                            f"{self.catalogue_path.name}; the others' from OTHER_TOPIC_MODELS)")
        else:
            self.check_schema(where, name, body)
        return body.get("eventTime")

    def check_event(self, where, ev):
        r = self.check_envelope(where, ev)
        if r is None:
            return None
        self.checked += 1
        return self.check_body(where, r[0], r[1], ev)

    # ---- the folders ----------------------------------------------------------------------------------------------
    def run(self):
        eb = {}
        files = sorted((self.root / "eventbridge").glob("*.json"))
        names = {p.stem for p in files}
        for missing in sorted(EXPECTED_EVENTBRIDGE - names):
            self.err(f"eventbridge/{missing}.json", "missing file")
        for p in files:
            rel = f"eventbridge/{p.name}"
            ev = self.load(rel)
            if ev is None:
                continue
            eb[p.stem] = ev
            self.check_event(rel, ev)

        # distinct ids
        seen_ids, seen_corr = {}, {}
        for n, ev in eb.items():
            if not isinstance(ev, dict):
                continue
            if ev.get("id") in seen_ids:
                self.err(f"eventbridge/{n}.json", f"id also used by {seen_ids[ev['id']]}")
            seen_ids[ev.get("id")] = n
            c = ev.get("detail", {}).get("metadata", {}).get("CorrelationId")
            if c in seen_corr:
                self.err(f"eventbridge/{n}.json", f"CorrelationId also used by {seen_corr[c]}")
            seen_corr[c] = n

        # timeline of the analytics-sample conversation
        prev = None
        for n in TIMELINE:
            ev = eb.get(n)
            if not isinstance(ev, dict):
                continue
            body = ev.get("detail", {}).get("eventBody", {})
            if body.get("conversationId") != TIMELINE_CONVERSATION:
                self.err(f"eventbridge/{n}.json", f"must use conversation {TIMELINE_CONVERSATION}")
            et = body.get("eventTime")
            if prev and isinstance(et, int) and isinstance(prev[1], int) and et <= prev[1]:
                self.err(f"eventbridge/{n}.json", f"eventTime {et} is not after {prev[0]} ({prev[1]})")
            prev = (n, et)

        # events of the same conversation that are not part of TIMELINE come after the event they follow
        for n, after in FOLLOWS.items():
            ev, before = eb.get(n), eb.get(after)
            if not isinstance(ev, dict) or not isinstance(before, dict):
                continue
            body = ev.get("detail", {}).get("eventBody", {})
            if body.get("conversationId") != TIMELINE_CONVERSATION:
                self.err(f"eventbridge/{n}.json", f"must use conversation {TIMELINE_CONVERSATION}")
            et, bt = body.get("eventTime"), before.get("detail", {}).get("eventBody", {}).get("eventTime")
            if isinstance(et, int) and isinstance(bt, int) and et <= bt:
                self.err(f"eventbridge/{n}.json", f"eventTime {et} is not after {after} ({bt})")

        self.check_catalogue_coverage(eb)
        self.check_fanout(eb)
        self.check_pipeline(eb)
        self.check_data_action()
        return not self.errors

    def check_catalogue_coverage(self, eb):
        """Every detail topic of the catalogue has a vendored schema and a sample in eventbridge/."""
        where = self.catalogue_path.name
        sampled = {ev.get("detail-type") for ev in eb.values() if isinstance(ev, dict)}
        for topic in sorted(self.detail_topics):
            dt = CONV_PREFIX + topic
            name = self.schema_name(dt)
            if name is None:
                self.err(where, f"detail topic {topic!r} has no model in detailTopicModels")
            elif not (self.root / "schemas" / name).is_file():
                self.err(where, f"detail topic {topic!r}: its model's schema schemas/{name} is not vendored "
                                "(run schemas/derive.py; see schemas/SOURCE.md)")
            if dt not in sampled:
                self.err(where, f"detail topic {topic!r} has no sample in eventbridge/")

    def check_fanout(self, eb):
        arr = self.load("fanout/array.json")
        if arr is not None:
            if not isinstance(arr, list) or len(arr) < 2:
                self.err("fanout/array.json", "must be a JSON array of several events")
            else:
                for i, ev in enumerate(arr):
                    self.check_event(f"fanout/array.json[{i}]", ev)

        sqs = self.load("fanout/sqs.json")
        if sqs is not None:
            recs = sqs.get("Records") if isinstance(sqs, dict) else None
            if not isinstance(recs, list) or len(recs) != 3:
                self.err("fanout/sqs.json", "must be {\"Records\": [3 records]}")
                recs = []
            kinds = []
            for i, r in enumerate(recs):
                w = f"fanout/sqs.json Records[{i}]"
                for k in ("messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                          "eventSource", "eventSourceARN", "awsRegion"):
                    if k not in r:
                        self.err(w, f"missing {k}")
                if not isinstance(r.get("body"), str):
                    self.err(w, "body must be a string")
                    continue
                md5 = hashlib.md5(r["body"].encode("utf-8")).hexdigest()
                if r.get("md5OfBody") != md5:
                    self.err(w, f"md5OfBody {r.get('md5OfBody')} != md5(body) {md5}")
                if r.get("eventSource") != "aws:sqs":
                    self.err(w, "eventSource must be aws:sqs")
                if r.get("eventSourceARN") != "arn:aws:sqs:us-east-1:123456789012:genesys-fanout-buffer":
                    self.err(w, "unexpected eventSourceARN")
                attrs = r.get("attributes", {})
                for k in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"):
                    if not isinstance(attrs.get(k), str):
                        self.err(w, f"attributes.{k} must be a string")
                if not UUID_RE.match(str(r.get("messageId", ""))):
                    self.err(w, "messageId must be a UUID")
                try:
                    ev = json.loads(r["body"])
                except json.JSONDecodeError as e:
                    self.err(w, f"body is not JSON: {e}")
                    continue
                self.check_event(w + " body", ev)
                if isinstance(ev, dict):
                    kinds.append(ev.get("detail-type", ""))
            conv = sum(1 for k in kinds if k.startswith(CONV_PREFIX))
            audit = sum(1 for k in kinds if k.startswith("v2.audits."))
            if recs and (conv, audit) != (2, 1):
                self.err("fanout/sqs.json", f"want 2 conversation events and 1 audit event, got {conv} and {audit}")

        # malformed fixtures must be malformed in the named way
        m = self.load("fanout/malformed-string.json")
        if m is not None and not isinstance(m, str):
            self.err("fanout/malformed-string.json", "must be a JSON string")
        m = self.load("fanout/malformed-number.json")
        if m is not None and not (isinstance(m, (int, float)) and not isinstance(m, bool)):
            self.err("fanout/malformed-number.json", "must be a JSON number")
        m = self.load("fanout/malformed-no-detail.json")
        if m is not None and (not isinstance(m, dict) or "detail" in m):
            self.err("fanout/malformed-no-detail.json", "must be an object without `detail`")
        m = self.load("fanout/malformed-eventbody-string.json")
        if m is not None:
            ok = (isinstance(m, dict) and str(m.get("detail-type", "")).startswith(CONV_PREFIX)
                  and isinstance(m.get("detail", {}).get("eventBody"), str) and "id" in m)
            if not ok:
                self.err("fanout/malformed-eventbody-string.json",
                         "must be a conversation event (with id) whose detail.eventBody is a string")
        m = self.load("fanout/malformed-missing-id.json")
        if m is not None:
            ok = (isinstance(m, dict) and "id" not in m and isinstance(m.get("detail", {}).get("eventBody"), dict)
                  and "conversationId" in m["detail"]["eventBody"])
            if not ok:
                self.err("fanout/malformed-missing-id.json", "must be a full conversation event minus `id`")
        m = self.load("fanout/malformed-no-conversation-id.json")
        if m is not None:
            ok = (isinstance(m, dict) and "id" in m and str(m.get("detail-type", "")).startswith(CONV_PREFIX)
                  and isinstance(m.get("detail", {}).get("eventBody"), dict)
                  and "conversationId" not in m["detail"]["eventBody"])
            if not ok:
                self.err("fanout/malformed-no-conversation-id.json",
                         "must be a conversation event whose eventBody lacks conversationId")

    # ---- pipeline/ -------------------------------------------------------------------------------------------------
    @staticmethod
    def element_of(ev):
        """The execution-input element that fanout makes of EventBridge event `ev`."""
        d = ev["detail"]
        return {
            "conversationId": d["eventBody"].get("conversationId"),
            "eventId": ev.get("id"),
            "eventType": ev.get("detail-type"),
            "eventTime": d["eventBody"].get("eventTime"),
            "correlationId": d["metadata"].get("CorrelationId"),
            "detail": d,
        }

    def element_problem(self, el, path):
        """The first thing that makes execution-input element `el` invalid, as (JSON path, problem), or None.

        The same rules, in the same order, as validate (check_event in crates/core/src/contract/input.rs)."""
        if not isinstance(el, dict):
            return path, "must be an object"
        for k in ("conversationId", "eventId", "eventType"):
            if not isinstance(el.get(k), str):
                return f"{path}.{k}", "is missing" if k not in el else "must be a string"
            if k == "conversationId" and not UUID_RE.match(el[k].lower()):
                return f"{path}.{k}", "is not a UUID"
            if k == "eventId" and not (el[k].strip() and len(el[k]) <= 256):
                return f"{path}.{k}", "must be 1 to 256 characters"
            if k == "eventType" and not (el[k].startswith(CONV_PREFIX)
                                         and el[k][len(CONV_PREFIX):] in self.detail_topics):
                return f"{path}.{k}", "not a conversation detail event"
        t = el.get("eventTime")
        if not (isinstance(t, int) and not isinstance(t, bool) and t > 0):
            return f"{path}.eventTime", "must be a positive integer of epoch milliseconds"
        if el.get("correlationId") is not None and not isinstance(el["correlationId"], str):
            return f"{path}.correlationId", "must be a string or null"
        d = el.get("detail")
        if not isinstance(d, dict):
            return f"{path}.detail", "must be an object"
        body = d.get("eventBody")
        if not isinstance(body, dict):
            return f"{path}.detail.eventBody", "must be an object"
        inner = body.get("conversationId")
        if isinstance(inner, str) and inner != el["conversationId"]:
            return f"{path}.detail.eventBody.conversationId", "differs from conversationId"
        return None

    def task_input(self, rel, doc, batch_keys, manifest=False):
        """Check the Task input envelope {"batch", "executionId"}; return (batch, executionId) or (None, None).
        With `manifest`, the batch also carries validate's manifest of the elements handed in."""
        if not isinstance(doc, dict) or set(doc) != {"batch", "executionId"}:
            self.err(rel, "must be a Step Functions Task input with exactly the keys batch and executionId")
            return None, None
        ex = doc["executionId"]
        if not isinstance(ex, str) or not EXECUTION_ARN_RE.match(ex):
            self.err(rel, f"executionId {ex!r} is not an execution ARN (arn:aws:states:<region>:<account>:execution:"
                          "<state machine>:<name>)")
        b = doc["batch"]
        keys = set(batch_keys) | ({"manifest"} if manifest else set())
        if not isinstance(b, dict) or set(b) != keys:
            got = sorted(b) if isinstance(b, dict) else type(b).__name__
            self.err(rel, f"batch must be an object with exactly the keys {sorted(keys)}, got {got}")
            return None, ex
        for k in batch_keys:
            if not isinstance(b[k], list):
                self.err(rel, f"batch.{k} must be an array")
                return None, ex
        if manifest:
            ids = [e.get("eventId", "") if isinstance(e, dict) else "" for e in b["events"]]
            ids += [d.get("eventId", "") if isinstance(d, dict) else "" for d in b["deadLetters"]]
            digest = hashlib.sha256("".join(i + "\n" for i in sorted(ids)).encode()).hexdigest()
            if b["manifest"] != {"events": len(ids), "digest": digest}:
                self.err(rel, "batch.manifest must count every event and dead letter and digest their sorted ids "
                              "(docs/contracts.md, Conservation)")
        return b, ex

    def check_dead_letter(self, rel, i, dl, execution_id):
        """Check the shape of dead letter `dl` (batch.deadLetters[i]); return its stage or None."""
        where = f"{rel} batch.deadLetters[{i}]"
        fields = set(self.catalogue.get("deadLetterFields", []))
        if not isinstance(dl, dict):
            self.err(where, "must be an object")
            return None
        if set(dl) != fields:
            missing, extra = sorted(fields - set(dl)), sorted(set(dl) - fields)
            self.err(where, f"must have exactly the catalogue's deadLetterFields (missing {missing}, extra {extra})")
        for k in ("cause", "error", "stage"):
            if not (isinstance(dl.get(k), str) and dl[k]):
                self.err(where, f"{k} must be a non-empty string")
        for k in ("conversationId", "correlationId", "eventId", "eventType"):
            if dl.get(k) is not None and not isinstance(dl[k], str):
                self.err(where, f"{k} must be a string or null")
        if dl.get("executionId") != execution_id:
            self.err(where, "executionId must be the Task input's executionId")
        stage = dl.get("stage")
        errors = self.catalogue.get("errors", {})
        names = errors.get(stage, {}).get("event") if isinstance(errors.get(stage), dict) else None
        if stage not in ("validate", "process", "save"):
            self.err(where, f"stage {stage!r} is not validate, process or save")
        elif names is not None and dl.get("error") not in names:
            self.err(where, f"error {dl.get('error')!r} is not one of the catalogue's {stage} event errors {names}")
        return stage

    def check_pipeline(self, eb):
        want = []
        for n in PIPELINE_EVENTS:
            ev = eb.get(n)
            if not isinstance(ev, dict) or not isinstance(ev.get("detail"), dict):
                self.err("pipeline/", f"needs eventbridge/{n}.json")
                return
            want.append(self.element_of(ev))

        # validate-input.json: {"batch": {"events": [...]}, "executionId"}
        rel = "pipeline/validate-input.json"
        v = self.load(rel)
        vb, vex = self.task_input(rel, v, ["events"]) if v is not None else (None, None)
        valid, invalid = [], []
        if vb is not None:
            for i, el in enumerate(vb["events"]):
                problem = self.element_problem(el, f"$.events[{i}]")
                if problem is None:
                    valid.append(el)
                else:
                    invalid.append((i, el, problem))
            if valid != want:
                self.err(rel, "its valid events must be exactly the execution-input elements of "
                              + " and ".join(f"eventbridge/{n}.json" for n in PIPELINE_EVENTS)
                              + " (conversationId, eventId, eventType, eventTime, correlationId, detail), in order")
            if not invalid:
                self.err(rel, "must hold at least one invalid event, to exercise dead letters")

        # process-input.json: {"batch": {"events", "deadLetters"}, "executionId"}
        rel = "pipeline/process-input.json"
        p = self.load(rel)
        pb, pex = self.task_input(rel, p, ["events", "deadLetters"], manifest=True) if p is not None else (None, None)
        if pb is not None:
            if vex is not None and pex != vex:
                self.err(rel, "executionId differs from validate-input.json's")
            if pb["events"] != want:
                self.err(rel, "batch.events must be the valid events of validate-input.json")
            for i, dl in enumerate(pb["deadLetters"]):
                self.check_dead_letter(rel, i, dl, pex)
            letters = [dl for dl in pb["deadLetters"] if isinstance(dl, dict)]
            if vb is not None:
                if len(letters) != len(invalid):
                    self.err(rel, f"batch.deadLetters must hold one dead letter per invalid event of "
                                  f"validate-input.json ({len(invalid)}), got {len(letters)}")
                for (i, el, (path, why)), dl in zip(invalid, letters):
                    where = f"{rel} dead letter of validate-input.json batch.events[{i}]"
                    if dl.get("stage") != "validate":
                        self.err(where, "stage must be validate")
                    if dl.get("input") != {"events": [el]}:
                        self.err(where, "input must be {\"events\": [the invalid event]}")
                    for k in ("eventId", "conversationId", "eventType", "correlationId"):
                        raw = el.get(k) if isinstance(el, dict) else None
                        if dl.get(k) != (raw if isinstance(raw, str) else None):
                            self.err(where, f"{k} must be the event's {k}")
                    cause = dl.get("cause")
                    if not (isinstance(cause, str) and cause.startswith(path + ":")):
                        self.err(where, f"cause {cause!r} must name {path} (validate rejects the event there: {why})")

        # save-input.json: {"batch": {"events", "records", "enrich", "deadLetters"}, "executionId"}
        rel = "pipeline/save-input.json"
        s = self.load(rel)
        sb, sex = (self.task_input(rel, s, ["events", "records", "enrich", "deadLetters"], manifest=True)
                   if s is not None else (None, None))
        if sb is None:
            return
        if pex is not None and sex != pex:
            self.err(rel, "executionId differs from process-input.json's")
        if sb["events"] != want:
            self.err(rel, "batch.events must be the events of process-input.json")
        for i, dl in enumerate(sb["deadLetters"]):
            self.check_dead_letter(rel, i, dl, sex)
        if pb is not None and sb["deadLetters"][:len(pb["deadLetters"])] != pb["deadLetters"]:
            self.err(rel, "batch.deadLetters must start with the dead letters of process-input.json")

        events = [e for e in sb["events"] if isinstance(e, dict) and isinstance(e.get("detail"), dict)
                  and isinstance(e["detail"].get("eventBody"), dict)]
        records = sb["records"]
        if len(records) != len(events):
            self.err(rel, f"batch.records must hold one record per event ({len(events)}), got {len(records)}")
        for i, (rec, el) in enumerate(zip(records, events)):
            where = f"{rel} batch.records[{i}]"
            if not isinstance(rec, dict):
                self.err(where, "must be an object")
                continue
            for rk, ek in (("conversationId", "conversationId"), ("lastEventId", "eventId"),
                           ("lastEventType", "eventType"), ("lastEventTime", "eventTime"),
                           ("correlationId", "correlationId")):
                if rec.get(rk) != el.get(ek):
                    self.err(where, f"{rk} must be the event's {ek} ({el.get(ek)!r}), got {rec.get(rk)!r}")
            for k in ("mediaType", "originatingDirection"):
                if rec.get(k) is not None and not (isinstance(rec[k], str) and rec[k] == rec[k].lower()):
                    self.err(where, f"{k} must be null or a lowercase string, as analytics spells it")
            # Before enrichment a record holds only what its event says.
            body = el["detail"]["eventBody"]
            from_event = {"divisionIds": body.get("divisionId"), "queueIds": body.get("queueId"),
                          "wrapUpCodes": body.get("wrapupCode")}
            for k, allowed in from_event.items():
                got = rec.get(k)
                if not (isinstance(got, list) and all(isinstance(x, str) for x in got)):
                    self.err(where, f"{k} must be an array of strings")
                elif any(x != allowed for x in got):
                    self.err(where, f"{k} {got} holds values that its event does not carry")
            agents = rec.get("agents")
            if not isinstance(agents, list):
                self.err(where, "agents must be an array")
            else:
                for j, a in enumerate(agents):
                    if not (isinstance(a, dict) and set(a) == {"userId", "name"}):
                        self.err(where, f"agents[{j}] must be an object with exactly userId and name")
                    elif a["userId"] != body.get("userId"):
                        self.err(where, f"agents[{j}].userId is not the event's userId")
            if isinstance(body.get("mediaType"), str) and rec.get("mediaType") not in (None,
                                                                                       body["mediaType"].lower()):
                self.err(where, "mediaType must be the event's mediaType in lowercase")

        # enrichment requests: one for each event whose topic is enriched by default, naming it
        enrich_topics = set(self.catalogue.get("defaultEnrichTopics", []))
        want_ids = [el.get("eventId") for el in events
                    if str(el.get("eventType", "")).startswith(CONV_PREFIX)
                    and el["eventType"][len(CONV_PREFIX):] in enrich_topics]
        got_ids = []
        for i, req in enumerate(sb["enrich"]):
            where = f"{rel} batch.enrich[{i}]"
            if not isinstance(req, dict):
                self.err(where, "must be an object")
                continue
            got_ids.append(req.get("eventId"))
            el = next((e for e in events if e.get("eventId") == req.get("eventId")), None)
            if el is None:
                self.err(where, "names no event of the batch")
                continue
            for k in ENRICH_IDENTITY:
                if req.get(k) != el.get(k):
                    self.err(where, f"{k} must be the event's {k}")
            if req.get("executionId") != sex:
                self.err(where, "executionId must be the Task input's executionId")
        if got_ids != want_ids:
            self.err(rel, f"batch.enrich must name the events whose topic is in the catalogue's defaultEnrichTopics "
                          f"{sorted(enrich_topics)}: {want_ids}, got {got_ids}")

    def check_data_action(self):
        want = {
            "flat.json": lambda d: d == {"customer_id": "12345", "locale": "en-US"},
            "numeric-id.json": lambda d: isinstance(d.get("customer_id"), int),
            "wrapped.json": lambda d: isinstance(d.get("inputs"), dict) and "customer_id" in d["inputs"],
            "default-locale.json": lambda d: "customer_id" in d and "locale" not in d,
            "missing-id.json": lambda d: "customer_id" not in d,
            "blank-id.json": lambda d: isinstance(d.get("customer_id"), str) and d["customer_id"] != ""
            and d["customer_id"].strip() == "",
            # same rule as is_language_tag in crates/data-action/src/input.rs
            "bad-locale.json": lambda d: isinstance(d.get("locale"), str) and d["locale"].strip() != ""
            and not (len(d["locale"]) <= 35 and re.match(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", d["locale"])),
            "injection-id.json": lambda d: d == {"customer_id": "a&id=b#c"},
            "not-found.json": lambda d: d.get("customer_id") == "404404",
        }
        for name, pred in want.items():
            d = self.load(f"data-action/{name}")
            if d is None:
                continue
            if not isinstance(d, dict) or not pred(d):
                self.err(f"data-action/{name}", "does not have the documented shape (see events/README.md)")


def _date_time(v):
    return not isinstance(v, str) or DATE_TIME_RE.match(v) is not None


def _date(v):
    return not isinstance(v, str) or re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) is not None


# The formats the SDK's schemas use (`datetime` and `date` types), checked the same way wherever jsonschema runs
# (its own date-time check depends on an optional package).
FORMATS = None
if jsonschema is not None:
    FORMATS = jsonschema.FormatChecker(formats=())
    FORMATS.checks("date-time")(_date_time)
    FORMATS.checks("date")(_date)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=HERE, help="the events/ folder (default: this script's folder)")
    ap.add_argument("--catalogue", type=Path, default=CATALOGUE,
                    help="the catalogue generated from the Rust code (default: docs/catalogue.json)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()
    if jsonschema is None:
        print("check_events.py needs jsonschema: .venv/bin/python events/check_events.py, or pip install the version "
              "pinned in local/requirements.txt", file=sys.stderr)
        return 1
    c = Checker(a.root.resolve(), a.quiet, a.catalogue.resolve())
    ok = c.run()
    if not ok:
        for e in c.errors:
            print(f"ERROR {e}", file=sys.stderr)
        print(f"FAILED: {len(c.errors)} problem(s) in {c.root}", file=sys.stderr)
        return 1
    if not a.quiet:
        print(f"OK: {c.checked} EventBridge envelopes checked, event bodies against {len(c.validators)} SDK schemas "
              f"with jsonschema {version('jsonschema')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
