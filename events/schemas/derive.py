#!/usr/bin/env python3
"""Derive the event-body JSON Schemas in events/schemas/ from the Genesys Python SDK's model classes (stdlib only).

Usage: python3 events/schemas/derive.py --sdk PATH [--rev REV] [--out DIR] [--other-models MODEL ...] [--check]

PATH is MyPureCloud/platform-client-sdk-python: a git directory (a bare clone or a clone's .git; the models are
read at --rev, default HEAD), or a checkout (read as it is on disk), or its build/PureCloudPlatformClientV2/models
folder.

It writes one `<Model>.schema.json` for every root model: every conversation detail-event topic model of the SDK
(each class `*DetailEventTopic*Event`, found by name, so a topic Genesys adds is picked up) and the models of the
other topics whose samples are in events/eventbridge/ (OTHER_ROOTS, or --other-models). Each file is JSON Schema
draft-07: the root's `$ref` into `definitions`, which holds the root and every model it references, inlined. It
removes the other `*.schema.json` files of DIR. With --check it writes nothing and exits 1 if DIR differs from what
it would write.

From each model class it reads `swagger_types` (the types), `attribute_map` (the JSON names), the setters'
`allowed_values` (enums) and the getters' docstrings (descriptions). Every model is a closed object
(`"additionalProperties": false`): a property the SDK model does not have is an error. Output is deterministic:
sorted keys, 2-space indent, a trailing newline. See events/schemas/SOURCE.md.
"""
import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

MODELS = "build/PureCloudPlatformClientV2/models"
# The conversation detail-event topic models, e.g. AcdEndDetailEventTopicAcdEndEvent.
DETAIL_ROOT_RE = re.compile(r"^[A-Z][A-Za-z0-9]*DetailEventTopic[A-Za-z0-9]*Event$")
# The models of the topics of events/eventbridge/ that are not conversation detail topics.
OTHER_ROOTS = [
    "AuditTopicAuditLogMessage",  # v2.audits.entitytype.{id}.entityid.{id}
    "QueueConversationEventTopicConversation",  # v2.routing.queues.{id}.conversations
    "TranscriptionTopicTranscriptionMessage",  # v2.conversations.{id}.transcription
]
SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "object": {},  # any JSON value
}


class Sdk:
    """The SDK's model files, from a git directory (at a commit) or a folder (as they are on disk)."""

    def __init__(self, path: Path, rev: str):
        self.git = path if (path / "HEAD").is_file() and (path / "objects").is_dir() else None
        if self.git is not None:
            self.rev = self._git("rev-parse", "--verify", rev + "^{commit}").strip()
            names = self._git("ls-tree", "--name-only", self.rev, MODELS + "/").splitlines()
            self.files = {Path(n).stem: n for n in names if n.endswith(".py")}
            listed = self._git("ls-tree", "--name-only", self.rev, "build/").splitlines()
            meta = [self._git("show", f"{self.rev}:{n}") for n in ("build/pyproject.toml", "build/setup.py")
                    if n in listed]
        else:
            self.rev = None
            folder = path / MODELS if (path / MODELS).is_dir() else path
            self.files = {p.stem: p for p in folder.glob("*.py")}
            meta = [(p / n).read_text(encoding="utf-8") for p in [folder, *folder.parents]
                    for n in ("pyproject.toml", "setup.py") if (p / n).is_file()][:2]
        # The release: `version = "257.1.0"` in pyproject.toml (or VERSION = "..." in an older SDK's setup.py).
        found = (re.search(r'^(?:version|VERSION)\s*=\s*"([^"]+)"', m, re.M) for m in meta)
        self.version = next((f.group(1) for f in found if f), None)
        self.files.pop("__init__", None)
        if not self.files:
            sys.exit(f"derive.py: no model files under {path} ({MODELS})")
        # "QueueConversationEventTopicCall" -> "queue_conversation_event_topic_call"
        self.by_key = {stem.replace("_", "").lower(): stem for stem in self.files}

    def _git(self, *args):
        return subprocess.run(["git", "--git-dir", str(self.git), *args], check=True, capture_output=True,
                              text=True).stdout

    def stem(self, model):
        return self.by_key.get(model.lower())

    def source(self, model):
        """The text of the model's file, or None if the SDK has no such model."""
        stem = self.stem(model)
        return None if stem is None else self.source_of_stem(stem)

    def detail_roots(self):
        """The class names of the detail-event topic models (from their file names, checked against the class)."""
        found = []
        for stem in sorted(self.files):
            if "_detail_event_topic_" not in stem or not stem.endswith("_event"):
                continue
            name = parse_model(self.source_of_stem(stem))["name"]
            if DETAIL_ROOT_RE.match(name):
                found.append(name)
        return sorted(found)

    def source_of_stem(self, stem):
        if self.git is not None:
            return self._git("show", f"{self.rev}:{self.files[stem]}")
        return self.files[stem].read_text(encoding="utf-8")


def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def parse_model(src):
    """The first class of a model file: its name, swagger_types, attribute_map, enums and descriptions."""
    tree = ast.parse(src)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    types, names, enums, docs = {}, {}, {}, {}
    for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
        decorators = [ast.unparse(d) for d in fn.decorator_list]
        if fn.name == "__init__":
            for st in ast.walk(fn):
                if isinstance(st, ast.Assign) and len(st.targets) == 1:
                    target = ast.unparse(st.targets[0])
                    if target == "self.swagger_types":
                        types = _literal(st.value)
                    elif target == "self.attribute_map":
                        names = _literal(st.value)
        elif "property" in decorators:
            doc = ast.get_docstring(fn) or ""
            lines = doc.splitlines()[1:]  # after "Gets the x of this Model."
            text = []
            for line in lines:
                if line.strip().startswith(":"):
                    break
                text.append(line.strip())
            description = " ".join(t for t in text if t)
            if description:
                docs[fn.name] = description
        elif f"{fn.name}.setter" in decorators:
            for st in ast.walk(fn):
                if (isinstance(st, ast.Assign) and len(st.targets) == 1
                        and ast.unparse(st.targets[0]) == "allowed_values"):
                    enums[fn.name] = _literal(st.value)
    if not isinstance(types, dict) or not isinstance(names, dict) or set(types) != set(names):
        raise ValueError(f"{cls.name}: swagger_types and attribute_map do not match")
    return {"name": cls.name, "types": types, "names": names, "enums": enums, "docs": docs}


class Deriver:
    def __init__(self, sdk):
        self.sdk = sdk
        self.models = {}

    def model(self, name):
        if name not in self.models:
            src = self.sdk.source(name)
            if src is None:
                raise KeyError(f"model {name} is not in the SDK")
            parsed = parse_model(src)
            if parsed["name"] != name:
                raise KeyError(f"model {name}: its file holds class {parsed['name']}")
            self.models[name] = parsed
        return self.models[name]

    def type_schema(self, t, refs):
        """The schema of a swagger_types type: str, list[X], dict(str, X), a model name, ..."""
        t = t.strip()
        if t in SCALARS:
            return dict(SCALARS[t])
        m = re.fullmatch(r"list\[(.+)\]", t)
        if m:
            return {"type": "array", "items": self.type_schema(m.group(1), refs)}
        m = re.fullmatch(r"dict\(str,\s*(.+)\)", t)
        if m:
            return {"type": "object", "additionalProperties": self.type_schema(m.group(1), refs)}
        if re.fullmatch(r"[A-Z][A-Za-z0-9]*", t):
            refs.append(t)
            return {"$ref": f"#/definitions/{t}"}
        raise ValueError(f"unknown swagger type {t!r}")

    def definition(self, name, refs):
        m = self.model(name)
        props = {}
        for attr, t in m["types"].items():
            s = self.type_schema(t, refs)
            if attr in m["enums"] and isinstance(m["enums"][attr], list):
                s["enum"] = m["enums"][attr]
            if attr in m["docs"]:
                s["description"] = m["docs"][attr]
            props[m["names"][attr]] = s
        return {"type": "object", "properties": props, "additionalProperties": False}

    def schema(self, root):
        defs, todo = {}, [root]
        while todo:
            name = todo.pop()
            if name in defs:
                continue
            refs = []
            defs[name] = self.definition(name, refs)
            todo.extend(r for r in refs if r not in defs)
        release = f" release {self.sdk.version}" if self.sdk.version else ""
        return {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": root,
            "description": (
                f"Derived mechanically by events/schemas/derive.py from MyPureCloud/platform-client-sdk-python{release}"
                f" ({MODELS}/{self.sdk.stem(root)}.py and the models it references): swagger_types, attribute_map,"
                " setter allowed_values, getter docstrings. Every model is closed (additionalProperties false)."
                " Required-ness is NOT captured (the SDK marks nothing required)."
            ),
            "$ref": f"#/definitions/{root}",
            "definitions": defs,
        }


def render(schema):
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sdk", type=Path, required=True,
                    help="platform-client-sdk-python: a git directory, a work tree or its models folder")
    ap.add_argument("--rev", default="HEAD", help="the commit to read from a git directory (default HEAD)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="where the *.schema.json files go (default: this script's folder)")
    ap.add_argument("--other-models", nargs="*", default=OTHER_ROOTS, metavar="MODEL",
                    help="the root models besides the detail-event topics (default: those of events/eventbridge/'s "
                         "other topics: " + ", ".join(OTHER_ROOTS) + ")")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out differs")
    a = ap.parse_args()

    sdk = Sdk(a.sdk.resolve(), a.rev)
    d = Deriver(sdk)
    roots = sdk.detail_roots() + sorted(set(a.other_models))
    try:
        want = {f"{r}.schema.json": render(d.schema(r)) for r in roots}
    except (KeyError, ValueError) as e:
        sys.exit(f"derive.py: {e.args[0]}")
    out = a.out.resolve()
    have = {p.name for p in out.glob("*.schema.json")} if out.is_dir() else set()
    stale = sorted(have - set(want))
    differ = sorted(n for n in want if not (out / n).is_file() or (out / n).read_text(encoding="utf-8") != want[n])
    where = f"{a.sdk} @ {sdk.rev}" if sdk.rev else str(a.sdk)
    if a.check:
        for n in differ:
            print(f"derive.py: {out / n} is not what {where} gives", file=sys.stderr)
        for n in stale:
            print(f"derive.py: {out / n} is not derived from {where}", file=sys.stderr)
        if differ or stale:
            return 1
        print(f"OK: {len(want)} schemas in {out} are those of SDK release {sdk.version} ({where})")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for n in stale:
        (out / n).unlink()
    for n, text in want.items():
        (out / n).write_text(text, encoding="utf-8")
    print(f"wrote {len(want)} schemas ({len(differ)} changed, {len(stale)} removed) to {out} from SDK release "
          f"{sdk.version} ({where}); {len(d.models)} models read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
