"""The sample events' schemas: events/schemas/derive.py turns Genesys SDK model classes into closed JSON Schemas, and
events/check_events.py finds a detail topic's schema through the catalogue (the Rust code names the model), so the
samples are checked against the SDK's own field lists and nothing outside them passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DERIVE = REPO / "events" / "schemas" / "derive.py"
CHECK = REPO / "events" / "check_events.py"
CATALOGUE = json.loads((REPO / "docs" / "catalogue.json").read_text())

# Two model files in the shape of the SDK's generated classes (build/PureCloudPlatformClientV2/models/*.py).
THING_EVENT = '''
class ThingDetailEventTopicThingEvent(object):
    def __init__(self) -> None:
        self.swagger_types = {
            'event_time': 'int',
            'media_type': 'str',
            'parts': 'list[ThingDetailEventTopicPart]',
            'attributes': 'dict(str, str)',
            'started': 'datetime',
        }
        self.attribute_map = {
            'event_time': 'eventTime',
            'media_type': 'mediaType',
            'parts': 'parts',
            'attributes': 'attributes',
            'started': 'startedAt',
        }

    @property
    def media_type(self) -> str:
        """
        Gets the media_type of this ThingDetailEventTopicThingEvent.
        The media of the
        thing.

        :return: The media_type of this ThingDetailEventTopicThingEvent.
        :rtype: str
        """
        return self._media_type

    @media_type.setter
    def media_type(self, media_type: str) -> None:
        allowed_values = ["VOICE", "CHAT"]
        self._media_type = media_type
'''
THING_PART = '''
class ThingDetailEventTopicPart(object):
    def __init__(self) -> None:
        self.swagger_types = {'part_id': 'str'}
        self.attribute_map = {'part_id': 'partId'}
'''


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=REPO)


def test_derive_closes_every_model_and_reads_types_enums_and_docs(tmp_path: Path) -> None:
    models = tmp_path / "build" / "PureCloudPlatformClientV2" / "models"
    models.mkdir(parents=True)
    (models / "thing_detail_event_topic_thing_event.py").write_text(THING_EVENT)
    (models / "thing_detail_event_topic_part.py").write_text(THING_PART)
    (tmp_path / "build" / "pyproject.toml").write_text('[project]\nversion = "999.0.0"\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "Stale.schema.json").write_text("{}")

    done = run(DERIVE, "--sdk", tmp_path, "--out", out, "--other-models")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ThingDetailEventTopicThingEvent.schema.json"]
    text = (out / "ThingDetailEventTopicThingEvent.schema.json").read_text()
    assert text.endswith("}\n") and text == json.dumps(json.loads(text), indent=2, sort_keys=True,
                                                       ensure_ascii=False) + "\n"
    schema = json.loads(text)
    assert schema["$ref"] == "#/definitions/ThingDetailEventTopicThingEvent"
    assert "release 999.0.0" in schema["description"]
    root = schema["definitions"]["ThingDetailEventTopicThingEvent"]
    assert root["additionalProperties"] is False
    assert root["properties"] == {
        "eventTime": {"type": "integer"},
        "mediaType": {"type": "string", "enum": ["VOICE", "CHAT"], "description": "The media of the thing."},
        "parts": {"type": "array", "items": {"$ref": "#/definitions/ThingDetailEventTopicPart"}},
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
        "startedAt": {"type": "string", "format": "date-time"},
    }
    assert schema["definitions"]["ThingDetailEventTopicPart"] == {
        "type": "object", "properties": {"partId": {"type": "string"}}, "additionalProperties": False}

    assert run(DERIVE, "--sdk", models, "--out", out, "--other-models", "--check").returncode == 0
    (out / "ThingDetailEventTopicThingEvent.schema.json").write_text(text.replace('"CHAT"', '"EMAIL"'))
    assert run(DERIVE, "--sdk", models, "--out", out, "--other-models", "--check").returncode == 1
    missing = run(DERIVE, "--sdk", models, "--out", out, "--other-models", "NoSuchModel")
    assert missing.returncode == 1 and "model NoSuchModel is not in the SDK" in missing.stderr


def test_every_detail_topic_names_a_vendored_closed_schema() -> None:
    models = CATALOGUE["detailTopicModels"]
    assert sorted(models) == sorted(CATALOGUE["detailTopics"])
    for topic, model in models.items():
        schema = json.loads((REPO / "events" / "schemas" / f"{model}.schema.json").read_text())
        assert schema["title"] == model, topic
        assert all(d["additionalProperties"] is False for d in schema["definitions"].values()), model


def test_check_events_passes_on_the_samples() -> None:
    done = run(CHECK, "-q")
    assert done.returncode == 0, done.stderr


def test_check_events_rejects_a_field_outside_the_sdk_model(tmp_path: Path) -> None:
    root = tmp_path / "events"
    shutil.copytree(REPO / "events", root, ignore=shutil.ignore_patterns("__pycache__"))
    path = root / "eventbridge" / "acd-end.json"
    event = json.loads(path.read_text())
    event["detail"]["eventBody"]["notAnSdkField"] = "x"
    path.write_text(json.dumps(event, indent=2))
    done = run(CHECK, "--root", root)
    assert done.returncode == 1
    assert "eventbridge/acd-end.json: eventBody: Additional properties are not allowed ('notAnSdkField'" in done.stderr
