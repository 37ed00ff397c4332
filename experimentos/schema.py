"""JSON Schemas generated from the models (checked in under schemas/, verified by tests/CI)."""

from __future__ import annotations

import json
from pathlib import Path

from experimentos.models import FORMAT_VERSION, Page


def page_schema() -> dict:
    """The frontmatter schema of a page, usable by editors (YAML language server)."""
    schema = Page.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://experimentos.dev/schemas/page.schema.json",
        "title": f"experimentos knowledge page frontmatter (format {FORMAT_VERSION})",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def render_schemas() -> dict[str, str]:
    """File name -> exact text of every schema file."""
    return {"page.schema.json": json.dumps(page_schema(), indent=2, ensure_ascii=False) + "\n"}


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
