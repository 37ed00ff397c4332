"""The id <-> path mapping of DESIGN.md. Ids arrive from agents and issues: refuse unsafe ones."""

from __future__ import annotations

import functools
from pathlib import PurePosixPath

from experimentos.errors import UnsafeId, UsageError
from experimentos.models.knowledge import PREFIX_TYPE, TYPE_LAYOUT, PageType, Status, slug_problem

# Directories (relative to the knowledge root) that hold pages, and the type each holds.
PAGE_DIRS: dict[str, PageType] = {directory: t for t, (_, directory) in TYPE_LAYOUT.items()}
KNOWLEDGE_ROOTS = ("wiki", "policies")

_TYPE_ALIASES = {"knowledge": PageType.knowledge_card, "card": PageType.knowledge_card}


def parse_type(name: str) -> PageType:
    """A page type from its name (`knowledge` is accepted for knowledge_card)."""
    key = name.strip().lower().replace("-", "_")
    if key in _TYPE_ALIASES:
        return _TYPE_ALIASES[key]
    try:
        return PageType(key)
    except ValueError:
        names = ", ".join(t.value for t in PageType)
        raise UsageError(f"unknown page type {name!r} (expected one of: {names})") from None


def parse_status(name: str) -> Status:
    try:
        return Status(name.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise UsageError(f"unknown status {name!r} (expected one of: {names})") from None


def split_id(page_id: str) -> tuple[PageType, str]:
    """(type, slug) of a page id; raise UnsafeId for anything that is not a valid page id."""
    if not isinstance(page_id, str) or "." not in page_id:
        raise UnsafeId(f"{page_id!r} is not a page id (expected e.g. policy.keep-pins)")
    prefix, slug = page_id.split(".", 1)
    page_type = PREFIX_TYPE.get(prefix)
    if page_type is None:
        prefixes = ", ".join(f"{p}." for p in PREFIX_TYPE)
        raise UnsafeId(f"{page_id!r} has an unknown prefix (expected one of: {prefixes})")
    problem = slug_problem(slug)
    if problem:
        raise UnsafeId(f"{page_id!r}: {problem}")
    return page_type, slug


def make_id(page_type: PageType, slug: str) -> str:
    problem = slug_problem(slug)
    if problem:
        raise UnsafeId(f"{slug!r}: {problem}")
    return f"{TYPE_LAYOUT[page_type][0]}.{slug}"


def page_path(page_id: str) -> PurePosixPath:
    """The path of a page relative to the knowledge root."""
    page_type, slug = split_id(page_id)
    return PurePosixPath(TYPE_LAYOUT[page_type][1]) / f"{slug}.md"


@functools.lru_cache(maxsize=65536)
def id_for_path(relpath: str | PurePosixPath) -> str | None:
    """The id a relative path implies, or None when the path is not a page location
    (memoised: every scan asks this for every file, and the answer never changes)."""
    rel = PurePosixPath(relpath)
    if rel.suffix != ".md":
        return None
    page_type = PAGE_DIRS.get(str(rel.parent))
    if page_type is None:
        return None
    slug = rel.name[: -len(".md")]
    if slug_problem(slug):
        return None
    return f"{TYPE_LAYOUT[page_type][0]}.{slug}"
