"""A page file parsed once at the boundary, and its serialisation.

Canonical is the Markdown file's bytes. A Document keeps them, so dumping a page nobody changed
returns the exact bytes that were read; a changed page is written with the file's own key order,
new keys in the format's order, and values never re-wrapped.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from experimentos.errors import InvalidPage, article
from experimentos.models.knowledge import FRONTMATTER_KEYS, Page, Problem
from experimentos.store.yamlio import YamlError, dump_yaml, load_yaml

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FRONTMATTER_BYTES = 256 * 1024
# Always written, so a new page shows its review state at a glance.
_ALWAYS = ("id", "type", "title", "status", "confidence", "summary")

_OPEN_RE = re.compile(r"\A---[ \t]*\r?\n")
_CLOSE_RE = re.compile(r"^---[ \t]*(?:\r?\n|\Z)", re.MULTILINE)


def checksum(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class Document:
    """A page as read from disk: the model plus what is needed to write it back faithfully."""

    path: str  # relative to the knowledge root, posix separators
    page: Page
    raw: bytes
    checksum: str
    keys: list[str] = field(default_factory=list)  # frontmatter keys in file order

    @functools.cached_property
    def original(self) -> Page:
        """The page as parsed, to tell whether it was changed: parsed again from `raw` on first
        use, so reads and scans never pay for a copy."""
        return parse_document(self.raw, self.path).page

    @property
    def id(self) -> str:
        return self.page.id


def _problem(path: str, code: str, message: str, field_name: str | None = None) -> Problem:
    return Problem(path=path, field=field_name, code=code, message=message)


def split_frontmatter(text: str, path: str) -> tuple[str, str]:
    """(frontmatter YAML, body) of a page's text; raise InvalidPage when the fences are wrong."""
    opening = _OPEN_RE.match(text)
    if not opening:
        raise InvalidPage(
            path,
            [
                _problem(
                    path, "frontmatter-missing", "file must start with a '---' frontmatter line"
                )
            ],
        )
    closing = _CLOSE_RE.search(text, opening.end())
    if not closing:
        raise InvalidPage(
            path,
            [_problem(path, "frontmatter-unclosed", "frontmatter has no closing '---' line")],
        )
    fm = text[opening.end() : closing.start()]
    body = text[closing.end() :]
    if body.startswith("\r\n"):
        body = body[2:]
    elif body.startswith("\n"):
        body = body[1:]
    return fm, body


def _loc(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) if parts else None


def validation_problems(path: str, exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(_problem(path, "schema", message, _loc(err["loc"])))
    return problems


def parse_document(raw: bytes, path: str) -> Document:
    """Parse a page file's bytes. Every failure is an InvalidPage naming the file and field."""
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidPage(
            path, [_problem(path, "file-too-large", f"file is larger than {MAX_FILE_BYTES} bytes")]
        )
    if b"\x00" in raw:
        raise InvalidPage(path, [_problem(path, "encoding", "file contains NUL bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPage(
            path, [_problem(path, "encoding", f"file is not valid UTF-8 (byte {exc.start})")]
        ) from None
    text = text.removeprefix("\ufeff")
    fm, body = split_frontmatter(text, path)
    if len(fm.encode("utf-8")) > MAX_FRONTMATTER_BYTES:
        raise InvalidPage(
            path,
            [
                _problem(
                    path,
                    "frontmatter-too-large",
                    f"frontmatter is larger than {MAX_FRONTMATTER_BYTES} bytes",
                )
            ],
        )
    try:
        data = load_yaml(fm)
    except YamlError as exc:
        raise InvalidPage(path, [_problem(path, exc.code, str(exc))]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"{article(type(data).__name__)} {type(data).__name__}"
        raise InvalidPage(
            path,
            [
                _problem(
                    path, "frontmatter-not-mapping", f"frontmatter must be a mapping, got {kind}"
                )
            ],
        )
    if "body" in data:
        raise InvalidPage(path, [_problem(path, "schema", "unknown field", "body")])
    try:
        page = Page.model_validate({**data, "body": body})
    except ValidationError as exc:
        raise InvalidPage(path, validation_problems(path, exc)) from None
    return Document(
        path=path,
        page=page,
        raw=raw,
        checksum=checksum(raw),
        keys=[str(k) for k in data],
    )


def frontmatter_dict(page: Page, keys: list[str] | None = None) -> dict:
    """The frontmatter mapping of a page: the file's key order first, then the format's order."""
    full = page.model_dump(mode="python", by_alias=True, exclude={"body"})
    trimmed = page.model_dump(mode="python", by_alias=True, exclude={"body"}, exclude_defaults=True)
    order = [k for k in (keys or []) if k in full]
    order += [k for k in FRONTMATTER_KEYS if k not in order]
    out = {}
    for key in order:
        if key in trimmed:
            out[key] = trimmed[key]
        elif key in (keys if keys is not None else _ALWAYS):
            out[key] = full[key]
    return out


def render(page: Page, like: Document | None = None) -> bytes:
    """The bytes of a page file. An unchanged page returns the bytes it was read from."""
    if like is not None and page == like.original:
        return like.raw
    fm = dump_yaml(frontmatter_dict(page, like.keys if like else None))
    text = f"---\n{fm}---\n"
    if page.body:
        body = page.body if page.body.endswith("\n") else page.body + "\n"
        text += "\n" + body
    return text.encode("utf-8")
