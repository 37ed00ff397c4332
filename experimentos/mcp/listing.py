"""What an agent pays for in tools/list: schemas without the generator's noise.

pydantic writes a `title` on every property, `anyOf [T, null]` plus `default: null` for every
optional argument, 4096-character limits on short strings and `$ref`s into `$defs`; a model
reads all of it on every session. The lean form keeps what a caller needs (types, enums,
patterns, descriptions, examples, required) and says the same thing: the server still
validates every argument against the full model.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "not", "additionalProperties", "if", "then", "else", "contains")
_LONG_LIMIT = 1000  # maxLength above this is a safety cap, not something a caller plans for
_LONG_PATTERN = 40
_SPACE = re.compile(r"\s+")


def lean_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An input schema as a caller needs it: refs inlined, titles dropped, optional arguments
    shown as their type (omit them rather than pass null)."""
    schema = _inline(copy.deepcopy(schema))
    return _clean(schema)


def lean_output_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """An output schema as the answer's outline: its keys with their JSON types (and their
    descriptions), nothing deeper. Clients validate structured content against it, so all
    it shows stays true, nullability included; the full shape is in schemas/ and DESIGN.md."""
    if schema is None:
        return None
    schema = _inline(copy.deepcopy(schema))
    out: dict[str, Any] = {"type": "object"}
    if isinstance(schema.get("description"), str):
        out["description"] = clean_text(schema["description"])
    properties = {}
    for name, sub in schema.get("properties", {}).items():
        outline = _types(sub)
        if isinstance(sub.get("description"), str):
            outline["description"] = clean_text(sub["description"])
        properties[name] = outline
    out["properties"] = properties
    return out


def clean_text(text: str | None) -> str:
    """A docstring or description on one line per paragraph (indentation is noise)."""
    if not text:
        return ""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(_SPACE.sub(" ", p).strip() for p in paragraphs)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace `$ref`s used once (and never recursively) by their definition."""
    defs = schema.get("$defs", {})
    if not defs:
        return schema
    counts: dict[str, int] = {}

    def count(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                counts[ref[8:]] = counts.get(ref[8:], 0) + 1
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    count(schema)

    def recursive(name: str, seen: tuple[str, ...] = ()) -> bool:
        found: list[str] = []

        def refs(node: Any) -> None:
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/$defs/"):
                    found.append(ref[8:])
                for value in node.values():
                    refs(value)
            elif isinstance(node, list):
                for value in node:
                    refs(value)

        refs(defs.get(name, {}))
        return any(r == name or r in seen or recursive(r, (*seen, name)) for r in found)

    keep = {n for n in defs if counts.get(n, 0) > 1 or recursive(n)}

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] not in keep:
                target = replace(copy.deepcopy(defs[ref[8:]]))
                rest = {k: replace(v) for k, v in node.items() if k != "$ref"}
                return {**target, **rest}
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    body = {k: v for k, v in schema.items() if k != "$defs"}
    out = replace(body)
    if keep:
        out["$defs"] = {n: replace(defs[n]) for n in defs if n in keep}
    return out


def _types(node: dict[str, Any]) -> dict[str, Any]:
    """The JSON types `node` allows, as a `type` keyword."""
    found: list[str] = []
    for option in node.get("anyOf", [node]):
        kind = "object" if ("properties" in option or "$ref" in option) else option.get("type")
        for k in kind if isinstance(kind, list) else [kind]:
            if k and k not in found:
                found.append(k)
    if not found:
        return {}
    return {"type": found[0] if len(found) == 1 else found}


def _clean(node: dict[str, Any]) -> dict[str, Any]:
    node = _drop_null(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key == "maxLength" and isinstance(value, int) and value > _LONG_LIMIT:
            continue
        if key == "minLength" and value == 1:  # "not empty": the server says so if it is
            continue
        if key == "type" and "const" in node:  # the constant says it
            continue
        if key == "pattern" and isinstance(value, str) and len(value) > _LONG_PATTERN:
            continue  # an id grammar: the examples show the form, the server explains a miss
        if key == "additionalProperties" and isinstance(value, bool):
            continue  # true is the default; an unknown field sent is named by the server
        if key == "description" and isinstance(value, str):
            value = clean_text(value)
        elif key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            value = {name: _clean(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            value = [_clean(sub) if isinstance(sub, dict) else sub for sub in value]
        elif key in _SUBSCHEMA_ONE and isinstance(value, dict):
            value = _clean(value)
        out[key] = value
    return out


def _drop_null(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf [T, null]` (an optional argument) as T: a caller omits it instead of sending null."""
    options = node.get("anyOf")
    if not isinstance(options, list):
        return node
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) == len(options) or not rest:
        return node
    merged = {k: v for k, v in node.items() if k != "anyOf"}
    if len(rest) == 1:
        return {**rest[0], **merged}
    return {**merged, "anyOf": rest}
