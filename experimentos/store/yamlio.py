"""Strict YAML for frontmatter: safe, alias-free, duplicate-free, YAML 1.2 booleans.

Numbers keep the text they were written as (`yaml_source`), so a version written `1.10` is
never silently turned into `1.1`: the models read it back as text where text is expected.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Any

import yaml

_BOOL_TAG = "tag:yaml.org,2002:bool"
MAX_NUMBER_CHARS = 1000


class YamlError(ValueError):
    """A frontmatter YAML problem with a stable code (yaml-error, yaml-alias, …) and a line."""

    def __init__(self, code: str, message: str, line: int | None = None):
        self.code = code
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class YamlInt(int):
    yaml_source: str


class YamlFloat(float):
    yaml_source: str


def _mark_line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None and node.start_mark else None


# libyaml's parser when PyYAML has it (about 10x faster); the checks below live in the
# constructor and resolver, which both parsers share.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BaseLoader):
    """Safe loader refusing aliases and duplicate keys; only true/false are booleans."""

    def construct_object(self, node, deep=False):  # noqa: ANN001 - PyYAML signature
        # An alias is the same node reached twice; refusing it also defuses "billion laughs".
        if node in self.constructed_objects or node in self.recursive_objects:
            raise YamlError(
                "yaml-alias",
                "YAML aliases (*name) are not allowed in frontmatter",
                _mark_line(node),
            )
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML signature
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(
                    "yaml-error", "mapping keys must be plain scalars", _mark_line(key_node)
                )
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise YamlError(
                    "yaml-duplicate-key", f"duplicate key {key_node.value!r}", _mark_line(key_node)
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):  # noqa: ANN001
        # A number this long is never data (and one past Python's digit limit cannot even be
        # printed): refused with its line, in decimal, hex, octal or binary alike.
        if len(node.value) > MAX_NUMBER_CHARS:
            message = f"number is longer than {MAX_NUMBER_CHARS} characters"
            raise YamlError("yaml-error", message, _mark_line(node))
        value = YamlInt(super().construct_yaml_int(node))
        value.yaml_source = node.value
        return value

    def construct_yaml_float(self, node):  # noqa: ANN001
        value = YamlFloat(super().construct_yaml_float(node))
        value.yaml_source = node.value
        return value


# YAML 1.1 reads yes/no/on/off as booleans ("agent: no" would become False); keep only true/false.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)


def load_yaml(text: str) -> Any:
    """Parse one YAML document strictly; raise YamlError with a code and line on any problem."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except YamlError:
        raise
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        if exc.problem and "constructor for the tag" in exc.problem:
            tag = exc.problem.split("tag", 1)[1].strip(" '")
            raise YamlError("yaml-tag", f"YAML tag {tag} is not allowed", line) from None
        raise YamlError("yaml-error", str(exc.problem or exc), line) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlError("yaml-error", str(exc.problem or exc.context or exc), line) from None
    except yaml.YAMLError as exc:
        raise YamlError("yaml-error", str(exc)) from None
    except RecursionError:
        raise YamlError("yaml-error", "YAML nesting is too deep") from None
    except (ValueError, OverflowError) as exc:  # a scalar the constructor cannot build
        # e.g. an integer past Python's digit limit, or a timestamp like 2026-13-45
        raise YamlError("yaml-error", f"a value cannot be read ({str(exc)[:120]})") from None


# --- dumping ---------------------------------------------------------------------------------


class _FlowList(list):
    pass


class _FlowDict(dict):
    pass


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):  # noqa: ANN001
        # Indent block sequences under their key, the way people write them.
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_datetime(dumper: yaml.SafeDumper, value: dt.datetime) -> yaml.Node:
    # ISO 8601 with a T and a Z, the way timestamps appear in JSON and event logs.
    text = value.isoformat()
    text = text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dt.datetime, _represent_datetime)
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)

_FLOW_LIST_MAX = 80  # a list of scalars longer than this (as text) is written one item a line


def _plain(value: Any, *, in_list: bool = False) -> Any:
    """Turn model output into plain YAML-able values with the house layout."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, dt.date | str):
        return value
    if isinstance(value, dict):
        items = {str(k): _plain(v) for k, v in value.items()}
        return _FlowDict(items) if in_list else items
    if isinstance(value, list | tuple):
        items = [_plain(v, in_list=True) for v in value]
        scalars = all(not isinstance(v, dict | list) for v in items)
        if scalars and len(", ".join(map(str, items))) <= _FLOW_LIST_MAX:
            return _FlowList(items)
        return items
    return value


def dump_yaml(mapping: dict[str, Any]) -> str:
    """Dump a mapping in the given key order, never re-wrapping long values."""
    return yaml.dump(
        _plain(mapping),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
    )
