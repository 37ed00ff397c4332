"""JSON Schemas generated from the models (checked in under schemas/, verified by tests/CI)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from experimentos.models.knowledge import FORMAT_VERSION, Page


def page_schema() -> dict:
    """The frontmatter schema of a page, usable by editors (YAML language server)."""
    schema = Page.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://experimentos.dev/schemas/page.schema.json",
        "title": f"experimentos knowledge page frontmatter (format {FORMAT_VERSION})",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def record_schema(model: type[BaseModel], name: str, title: str) -> dict:
    """The schema of a record file (experiment, test, run) or of an event line."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://experimentos.dev/schemas/{name}",
        "title": f"{title} (format {FORMAT_VERSION})",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def event_schema() -> dict:
    """One line of a run's event log, with each known type's payload contract."""
    from experimentos.models.events import CUSTOM_TYPE_PATTERN, EVENT_PAYLOADS, RunEvent

    schema = record_schema(RunEvent, "run-event.schema.json", "experimentos run event")
    defs = schema.setdefault("$defs", {})
    rules = []
    for event_type, model in EVENT_PAYLOADS.items():
        payload = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
        defs.update(payload.pop("$defs", {}))
        defs[model.__name__] = payload
        rules.append(
            {
                "if": {"properties": {"type": {"const": event_type}}},
                "then": {"properties": {"payload": {"$ref": f"#/$defs/{model.__name__}"}}},
            }
        )
    schema["properties"]["type"] = {
        "anyOf": [
            {"enum": list(EVENT_PAYLOADS)},
            {"type": "string", "pattern": CUSTOM_TYPE_PATTERN},
        ]
    }
    schema["allOf"] = rules
    return schema


def fixture_schema() -> dict:
    """The schema of `fixtures/<name>/fixture.yaml`."""
    from experimentos.models.fixture import FIXTURE_FORMAT, Fixture

    schema = Fixture.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://experimentos.dev/schemas/fixture.schema.json",
        "title": f"experimentos fixture manifest (format {FIXTURE_FORMAT})",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def matrix_schema() -> dict:
    """The schema of `experiments/<slug>/matrix.yaml`."""
    from experimentos.matrix.spec import SPEC_FORMAT, MatrixSpec

    schema = MatrixSpec.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://experimentos.dev/schemas/matrix.schema.json",
        "title": f"experimentos matrix spec (format {SPEC_FORMAT})",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def all_schemas() -> dict[str, dict]:
    from experimentos.models.lab import Experiment, ExperimentTest, RunRecord

    return {
        "page.schema.json": page_schema(),
        "experiment.schema.json": record_schema(
            Experiment, "experiment.schema.json", "experimentos experiment (README.md frontmatter)"
        ),
        "test.schema.json": record_schema(
            ExperimentTest, "test.schema.json", "experimentos experiment test frontmatter"
        ),
        "run.schema.json": record_schema(
            RunRecord, "run.schema.json", "experimentos run record frontmatter"
        ),
        "run-event.schema.json": event_schema(),
        "fixture.schema.json": fixture_schema(),
        "matrix.schema.json": matrix_schema(),
    }


def render_schemas() -> dict[str, str]:
    """File name -> exact text of every schema file."""
    return {
        name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for name, schema in all_schemas().items()
    }


def export_schemas(directory: Path) -> list[Path]:
    """Write every schema file into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path) -> list[str]:
    """Names of schema files in `directory` that are missing or differ from the models."""
    out = []
    for name, text in render_schemas().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out
