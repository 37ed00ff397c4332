"""Frontmatter records other than pages (experiments, tests, runs): parse once, write faithfully.

The same rules as pages (documents.py): the file's bytes are canonical, an unchanged record
dumps to the bytes it was read from, a changed one keeps the file's key order, and every
failure is an InvalidPage naming the file and field.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from experimentos.errors import InvalidPage, UnsafePath, article
from experimentos.models.knowledge import Problem
from experimentos.store.documents import (
    MAX_FILE_BYTES,
    MAX_FRONTMATTER_BYTES,
    checksum,
    split_frontmatter,
    validation_problems,
)
from experimentos.store.files import atomic_write
from experimentos.store.safe import read_regular
from experimentos.store.yamlio import YamlError, dump_yaml, load_yaml

M = TypeVar("M", bound=BaseModel)


@dataclass
class Record(Generic[M]):
    """A record as read from disk: the model plus what is needed to write it back faithfully."""

    path: str  # relative to the knowledge root, posix separators
    model: M
    raw: bytes
    checksum: str
    keys: list[str] = field(default_factory=list)

    @functools.cached_property
    def original(self) -> M:
        """The model as parsed, to tell whether it was changed: parsed again from `raw` on
        first use, so reads and scans never pay for a copy."""
        return parse_record(self.raw, self.path, type(self.model)).model


def _invalid(path: str, code: str, message: str, field_name: str | None = None) -> InvalidPage:
    return InvalidPage(path, [Problem(path=path, field=field_name, code=code, message=message)])


def parse_record(raw: bytes, path: str, model: type[M]) -> Record[M]:
    """Parse a record file's bytes into `model` (whose `body` field holds the Markdown body)."""
    if len(raw) > MAX_FILE_BYTES:
        raise _invalid(path, "file-too-large", f"file is larger than {MAX_FILE_BYTES} bytes")
    if b"\x00" in raw:
        raise _invalid(path, "encoding", "file contains NUL bytes")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _invalid(path, "encoding", f"file is not valid UTF-8 (byte {exc.start})") from None
    fm, body = split_frontmatter(text, path)
    if len(fm.encode("utf-8")) > MAX_FRONTMATTER_BYTES:
        raise _invalid(
            path,
            "frontmatter-too-large",
            f"frontmatter is larger than {MAX_FRONTMATTER_BYTES} bytes",
        )
    try:
        data = load_yaml(fm)
    except YamlError as exc:
        raise _invalid(path, exc.code, str(exc)) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"{article(type(data).__name__)} {type(data).__name__}"
        raise _invalid(
            path, "frontmatter-not-mapping", f"frontmatter must be a mapping, got {kind}"
        )
    if "body" in data:
        raise _invalid(path, "schema", "unknown field", "body")
    try:
        parsed = model.model_validate({**data, "body": body})
    except ValidationError as exc:
        raise InvalidPage(path, validation_problems(path, exc)) from None
    return Record(
        path=path,
        model=parsed,
        raw=raw,
        checksum=checksum(raw),
        keys=[str(k) for k in data],
    )


def _flow_safe(value: object, in_list: bool = False) -> object:
    """Timestamps inside lists become ISO text: a flow mapping cannot hold a plain one."""
    if isinstance(value, dt.datetime) and in_list:
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _flow_safe(v, in_list) for k, v in value.items()}
    if isinstance(value, list):
        return [_flow_safe(v, True) for v in value]
    return value


def render_record(model: BaseModel, like: Record | None = None) -> bytes:
    """The bytes of a record file: every field (nulls too, so a record shows what is unset)."""
    if like is not None and model == like.original:
        return like.raw
    full = model.model_dump(mode="python", by_alias=True, exclude={"body"})
    order = [k for k in (like.keys if like else []) if k in full]
    order += [k for k in full if k not in order]
    text = f"---\n{dump_yaml({k: _flow_safe(full[k]) for k in order})}---\n"
    body = getattr(model, "body", "")
    if body:
        text += "\n" + (body if body.endswith("\n") else body + "\n")
    return text.encode("utf-8")


def load_record(root: Path, rel: str, model: type[M]) -> Record[M]:
    """Read and parse root/rel (NotFound when absent; InvalidPage when it does not parse)."""
    try:
        raw = read_regular(root, rel, limit=MAX_FILE_BYTES)
    except UnsafePath as exc:
        raise _invalid(rel, exc.code, exc.message) from None
    return parse_record(raw, rel, model)


def save_record(root: Path, rel: str, model: M, like: Record[M] | None = None) -> Record[M]:
    """Write a record atomically; with `like` refuse if the file changed since it was read."""
    if like is not None and like.path != rel:
        raise _invalid(like.path, "id-path-mismatch", f"record does not belong at {like.path}")
    # Re-validate (model_copy does not) and parse what we are about to write.
    try:
        checked = type(model).model_validate(
            model.model_dump(by_alias=True) | {"body": getattr(model, "body", "")}
        )
    except ValidationError as exc:
        raise InvalidPage(rel, validation_problems(rel, exc)) from None
    data = render_record(checked, like)
    record = parse_record(data, rel, type(model))
    atomic_write(root, rel, data, expected=like.checksum if like else None)
    return record
