#!/usr/bin/env python3
"""Check the sample events in events/ (stdlib only; uses `jsonschema` too if it is importable).

Usage: python3 events/check_events.py [--root DIR] [-q]

It checks:
  * every eventbridge/*.json envelope: the required keys and their types; that `detail-type` contains `{id}` and
    matches `detail.topicName` once the ids are filled in; that `time` and `detail.timestamp` agree.
  * conversation detail events (`v2.detail.events.conversation.{id}.*`): that `eventBody.conversationId` equals the id
    inside `topicName`, and that `eventTime` is an integer of epoch milliseconds.
  * every eventBody against its schema in events/schemas/ where one exists. This is a strict hand-written check:
    unknown properties are errors. It also uses `jsonschema` Draft 7 when that is installed. Topics without a schema
    are checked against a list of allowed fields taken from the Genesys SDK models.
  * the conversation 1bc96a39-... timeline: the events come in order with strictly increasing eventTime, and the
    event ids and CorrelationIds are all different.
  * fanout/: array.json holds valid envelopes; the sqs.json records have the right shape, a correct md5OfBody, and
    bodies that are valid envelopes; each malformed-*.json is malformed in the way its name says.
  * pipeline/: the inputs are consistent with eventbridge/customer-end.json and with docs/contracts.md.
  * data-action/: each file is valid JSON of the expected shape.

It exits 1 and prints every violation it finds, or prints "OK" and exits 0.
"""
import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_S_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SOURCE_RE = re.compile(
    r"^aws\.partner/genesys\.com(\.[a-z0-9]+)?/cloud/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[A-Za-z0-9._-]{1,64}$"
)
CONV_PREFIX = "v2.detail.events.conversation.{id}."
CONV_SUFFIXES = {
    "customer.start", "customer.end", "acd.start", "acd.end", "acw", "attributes", "flow.start", "flow.end",
    "outbound", "user.start", "user.end", "voicemail.start", "voicemail.end",
}
ENVELOPE_KEYS = {
    "version": str, "id": str, "detail-type": str, "source": str, "account": str, "time": str, "region": str,
    "resources": list, "detail": dict,
}
DETAIL_KEYS = {"topicName": str, "version": str, "eventBody": dict, "metadata": dict, "timestamp": str}

SCHEMA_BY_TOPIC = {
    CONV_PREFIX + "customer.start": "CustomerStartDetailEventTopicCustomerStartEvent.schema.json",
    CONV_PREFIX + "customer.end": "CustomerEndDetailEventTopicCustomerEndEvent.schema.json",
    CONV_PREFIX + "acw": "AcwDetailEventTopicAfterCallWorkEvent.schema.json",
    CONV_PREFIX + "user.end": "UserEndDetailEventTopicUserEndEvent.schema.json",
    "v2.routing.queues.{id}.conversations": "QueueConversationEventTopicConversation.schema.json",
}

# Topics without a schema file here: allowed fields and their JSON types, from the Genesys SDK models
# (MyPureCloud platform-client-sdk-*: AcdStart/AcdEnd/FlowStart/FlowEnd/UserStart/AttributeUpdate/OutboundInit/
# VoicemailStart/VoicemailEnd DetailEventTopic*Event, AuditTopicAuditLogMessage, TranscriptionTopicTranscriptionMessage).
# The list is limited to the fields the samples may use.
_COMMON = {
    "eventTime": "integer", "conversationId": "string", "participantId": "string", "sessionId": "string",
    "mediaType": "string", "provider": "string", "direction": "string", "ani": "string", "dnis": "string",
    "addressTo": "string", "addressFrom": "string", "subject": "string", "messageType": "string",
    "divisionId": "string", "conversationExternalContactIds": "array",
    "conversationExternalOrganizationIds": "array",
}
FIELDS_BY_TOPIC = {
    CONV_PREFIX + "acd.start": dict(_COMMON, queueId="string", utilizationLabel="string", routingPriority="integer",
                                    requestedRoutingSkillIds="array"),
    CONV_PREFIX + "acd.end": dict(_COMMON, queueId="string", disconnectType="string", acdOutcome="string",
                                  answeredUserId="string", requestedRoutings="array", usedRouting="string",
                                  connectedDurationMs="integer", utilizationLabel="string"),
    CONV_PREFIX + "flow.start": dict(_COMMON, flowType="string", flowId="string", flowVersion="string"),
    CONV_PREFIX + "flow.end": dict(_COMMON, flowType="string", flowId="string", flowVersion="string",
                                   disconnectType="string", connectedDurationMs="integer", exitReason="string",
                                   transferType="string"),
    CONV_PREFIX + "user.start": dict(_COMMON, userId="string", queueId="string"),
    CONV_PREFIX + "attributes": {
        "eventTime": "integer", "conversationId": "string", "participantId": "string", "attributes": "object",
        "conversationExternalContactIds": "array", "conversationExternalOrganizationIds": "array",
    },
    CONV_PREFIX + "outbound": dict(_COMMON),
    CONV_PREFIX + "voicemail.start": dict(_COMMON, userId="string", queueId="string"),
    CONV_PREFIX + "voicemail.end": dict(_COMMON, userId="string", queueId="string", disconnectType="string"),
    "v2.audits.entitytype.{id}.entityid.{id}": {
        "id": "string", "userId": "string", "userHomeOrgId": "string", "username": "object", "userDisplay": "string",
        "clientId": "object", "remoteIp": "array", "serviceName": "string", "level": "string", "eventTime": "string",
        "message": "object", "action": "string", "entityType": "string", "entity": "object",
        "propertyChanges": "array", "context": "object",
    },
    "v2.conversations.{id}.transcription": {
        "eventTime": "string", "organizationId": "string", "conversationId": "string", "communicationId": "string",
        "sessionStartTimeMs": "integer", "transcriptionStartTimeMs": "integer", "transcripts": "array",
        "status": "object",
    },
}
ENUMS = {
    "mediaType": {"UNKNOWN", "VOICE", "CHAT", "EMAIL", "CALLBACK", "COBROWSE", "VIDEO", "SCREENSHARE", "MESSAGE",
                  "INTERNALMESSAGE", "SCREENMONITORING"},
    "direction": {"UNKNOWN", "INBOUND", "OUTBOUND"},
}

# The conversation of the analytics sample and the order its events must come in.
TIMELINE_CONVERSATION = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
TIMELINE = ["customer-start", "flow-start", "flow-end", "acd-start", "acd-end", "user-start", "customer-end",
            "user-end", "acw"]

EXPECTED_EVENTBRIDGE = set(TIMELINE) | {
    "attributes", "outbound", "voicemail-start", "voicemail-end", "queue-conversation", "audit", "transcription",
    "customer-start-sample",
}

RECORD_KEYS = {
    "conversationId", "conversationStart", "conversationEnd", "durationMs", "mediaType", "originatingDirection",
    "divisionIds", "queueIds", "agents", "customerParticipantName", "wrapUpCodes", "lastEventType", "lastEventTime",
    "lastEventId", "enriched",
}


class Checker:
    def __init__(self, root: Path, quiet: bool):
        self.root = root
        self.quiet = quiet
        self.errors = []
        self.warnings = []
        self.checked = 0
        self.schemas = {}
        self.jsonschema = None
        try:
            import jsonschema  # noqa: F401  (optional)

            self.jsonschema = jsonschema
        except Exception:
            self.jsonschema = None

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

    def schema(self, name):
        if name not in self.schemas:
            p = self.root / "schemas" / name
            with open(p, encoding="utf-8") as f:
                self.schemas[name] = json.load(f)
            shared = self.root.parent.parent / "shared" / "spec" / "schemas" / "eventbody-schemas" / name
            if shared.is_file() and shared.read_bytes() != p.read_bytes():
                self.warnings.append(f"schemas/{name} differs from {shared}; copy it again")
        return self.schemas[name]

    # ---- minimal JSON-Schema check (strict: unknown properties are errors) ---------------------------------------
    @staticmethod
    def _type_ok(t, v):
        return {
            "object": lambda: isinstance(v, dict),
            "array": lambda: isinstance(v, list),
            "string": lambda: isinstance(v, str),
            "integer": lambda: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda: isinstance(v, bool),
            "null": lambda: v is None,
        }.get(t, lambda: True)()

    def check_schema(self, where, schema, value, defs, path="eventBody"):
        if "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/definitions/"):
                self.err(where, f"{path}: unsupported $ref {ref}")
                return
            self.check_schema(where, defs[ref[len("#/definitions/"):]], value, defs, path)
            return
        t = schema.get("type")
        if t and not self._type_ok(t, value):
            self.err(where, f"{path}: expected {t}, got {type(value).__name__} {value!r:.60}")
            return
        if "enum" in schema and value not in schema["enum"]:
            self.err(where, f"{path}: {value!r} is not one of {schema['enum']}")
        if schema.get("format") == "date-time" and isinstance(value, str) and not DATE_TIME_RE.match(value):
            self.err(where, f"{path}: {value!r} is not an ISO-8601 date-time")
        if t == "object" and isinstance(value, dict):
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    self.check_schema(where, props[k], v, defs, f"{path}.{k}")
                elif isinstance(extra, dict):
                    self.check_schema(where, extra, v, defs, f"{path}.{k}")
                elif extra is True or not props:
                    pass
                else:
                    self.err(where, f"{path}: property {k!r} is not in the schema")
        if t == "array" and isinstance(value, list) and "items" in schema:
            for i, v in enumerate(value):
                self.check_schema(where, schema["items"], v, defs, f"{path}[{i}]")

    def check_fields(self, where, fields, body):
        for k, v in body.items():
            if k not in fields:
                self.err(where, f"eventBody: field {k!r} is not a known field of this topic")
            elif not self._type_ok(fields[k], v):
                self.err(where, f"eventBody.{k}: expected {fields[k]}, got {type(v).__name__}")
            elif k in ENUMS and v not in ENUMS[k]:
                self.err(where, f"eventBody.{k}: {v!r} is not one of {sorted(ENUMS[k])}")

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
            if suffix not in CONV_SUFFIXES:
                self.err(where, f"unknown conversation detail topic suffix {suffix!r}")
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

        if dt in SCHEMA_BY_TOPIC:
            s = self.schema(SCHEMA_BY_TOPIC[dt])
            self.check_schema(where, s, body, s.get("definitions", {}))
            if self.jsonschema is not None:
                v = self.jsonschema.Draft7Validator(s, format_checker=self.jsonschema.FormatChecker())
                for e in v.iter_errors(body):
                    self.err(where, f"jsonschema: {'/'.join(map(str, e.path))}: {e.message}")
        elif dt in FIELDS_BY_TOPIC:
            self.check_fields(where, FIELDS_BY_TOPIC[dt], body)
        else:
            self.err(where, f"no schema or field list for topic {dt!r}")
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

        self.check_fanout(eb)
        self.check_pipeline(eb)
        self.check_data_action()
        return not self.errors

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

    def check_pipeline(self, eb):
        ce = eb.get("customer-end")
        v = self.load("pipeline/validate-input.json")
        p = self.load("pipeline/process-input.json")
        s = self.load("pipeline/save-input.json")
        if not isinstance(ce, dict) or v is None:
            return
        want = {
            "conversationId": ce["detail"]["eventBody"].get("conversationId"),
            "eventId": ce.get("id"),
            "eventType": ce.get("detail-type"),
            "eventTime": ce["detail"]["eventBody"].get("eventTime"),
            "correlationId": ce["detail"]["metadata"].get("CorrelationId"),
            "detail": ce.get("detail"),
        }
        if v != want:
            self.err("pipeline/validate-input.json",
                     "must be exactly fanout's execution input for eventbridge/customer-end.json "
                     "(conversationId, eventId, eventType, eventTime, correlationId, detail)")
        if p is not None and p != dict(want, validation={"isValid": True, "reason": ""}):
            self.err("pipeline/process-input.json", "must be validate-input.json plus validation {isValid: true, reason: \"\"}")
        if s is not None and p is not None:
            rec = s.get("record") if isinstance(s, dict) else None
            if {k: v2 for k, v2 in s.items() if k != "record"} != p:
                self.err("pipeline/save-input.json", "must be process-input.json plus `record`")
            if not isinstance(rec, dict):
                self.err("pipeline/save-input.json", "record must be an object")
            else:
                missing = RECORD_KEYS - rec.keys()
                extra = rec.keys() - RECORD_KEYS - {"rawDetails"}
                if missing:
                    self.err("pipeline/save-input.json", f"record lacks {sorted(missing)}")
                if extra:
                    self.err("pipeline/save-input.json", f"record has unknown keys {sorted(extra)}")
                if rec.get("conversationId") != want["conversationId"]:
                    self.err("pipeline/save-input.json", "record.conversationId differs from the event")
                if rec.get("lastEventId") != want["eventId"] or rec.get("lastEventTime") != want["eventTime"] \
                        or rec.get("lastEventType") != want["eventType"]:
                    self.err("pipeline/save-input.json", "record.lastEvent* must come from the customer-end event")
                for k in ("divisionIds", "queueIds", "agents", "wrapUpCodes"):
                    if not isinstance(rec.get(k), list):
                        self.err("pipeline/save-input.json", f"record.{k} must be an array")
                if not isinstance(rec.get("enriched"), bool):
                    self.err("pipeline/save-input.json", "record.enriched must be a boolean")

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=HERE, help="the events/ folder (default: this script's folder)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()
    c = Checker(a.root.resolve(), a.quiet)
    ok = c.run()
    for w in c.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not ok:
        for e in c.errors:
            print(f"ERROR {e}", file=sys.stderr)
        print(f"FAILED: {len(c.errors)} problem(s) in {c.root}", file=sys.stderr)
        return 1
    if not a.quiet:
        js = "with jsonschema" if c.jsonschema is not None else "without jsonschema (not installed)"
        print(f"OK: {c.checked} EventBridge envelopes checked, {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
