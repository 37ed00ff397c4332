"""Code citations: what a `cites` entry's hash says about the code now, and `cite add`.

A citation's sha256 covers the cited file, or lines A-B of it (1-based, inclusive, with their
line endings) - the same digest briefs check. Against a repository a citation is:

  fresh      the hash matches where the citation points
  drifted    the lines no longer match, but the same text is elsewhere in the file (`now`)
  changed    the text is nowhere in the file any more
  orphaned   the file is gone
  unhashed   no sha256 was recorded, so nothing can be told (`cite add` records one)
  unreadable the path is not a regular file inside the repository (a directory, a symlink out)

Cited files are outside the knowledge root and arrive from pages: every path is resolved and
must stay inside the repository, and only regular files are read.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from experimentos.errors import NotFound, UnsafePath, UsageError
from experimentos.models.knowledge import Cite, Page
from experimentos.store import Document, Workspace
from experimentos.store.gitroot import work_tree
from experimentos.store.parse import parse_int
from experimentos.store.safe import read_regular

MAX_CITED_BYTES = 16 * 1024 * 1024
# Bytes hashed while looking for drifted lines (window size x positions), per citation.
MAX_SEARCH_BYTES = 64 * 1024 * 1024

CiteStatus = Literal["fresh", "drifted", "changed", "orphaned", "unhashed", "unreadable"]
STALE_STATUSES = frozenset({"changed", "orphaned", "unreadable"})
_SPEC_RE = re.compile(r"^(?P<path>.+?)(?::(?P<lines>[0-9]+(?:-[0-9]+)?))?$")


class CiteCheck(BaseModel):
    """One `cites` entry of one page, checked against a repository."""

    page: str
    page_path: str
    index: int  # position in the page's cites list
    path: str
    lines: str | None = None
    status: CiteStatus
    now: str | None = None  # drifted: the lines that hold the cited text now
    message: str

    @property
    def where(self) -> str:
        return self.path + (f":{self.lines}" if self.lines else "")


def line_range(lines: str | None) -> tuple[int, int] | None:
    if not lines:
        return None
    first, _, last = lines.partition("-")
    return int(first), int(last or first)


def digest(data: bytes, lines: str | None = None) -> str:
    """sha256 of a file's bytes, or of lines `A-B` of them (with their line endings)."""
    return CitedText(data).digest(line_range(lines))


class CitedText:
    """A cited file's bytes with its line offsets, so that any run of lines hashes in place."""

    def __init__(self, data: bytes):
        self.data = data
        self.view = memoryview(data)
        self.offsets = [0]
        # Line ends as bytes.splitlines(keepends=True) sees them: \n, \r\n and a lone \r.
        for line in data.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))

    @property
    def lines(self) -> int:
        return len(self.offsets) - 1

    def digest(self, span: tuple[int, int] | None) -> str:
        if span is None:
            return hashlib.sha256(self.data).hexdigest()
        last = self.lines
        start = min(max(span[0] - 1, 0), last)
        end = min(max(span[1], start), last)
        return hashlib.sha256(self.view[self.offsets[start] : self.offsets[end]]).hexdigest()

    def locate(self, sha256: str, span: tuple[int, int]) -> tuple[int, int] | None:
        """Lines of a window as long as `span` with this hash, nearest the old place first
        (a function that moved 20 lines is found before a copy far away)."""
        size = span[1] - span[0] + 1
        positions = self.lines - size + 1
        if size <= 0 or positions <= 0:
            return None
        if len(self.data) / max(1, self.lines) * size * positions > MAX_SEARCH_BYTES:
            return None
        offsets, view, old = self.offsets, self.view, min(span[0] - 1, positions - 1)
        for step in range(positions):
            for start in (old - step, old + step) if step else (old,):
                if 0 <= start < positions:
                    window = view[offsets[start] : offsets[start + size]]
                    if hashlib.sha256(window).hexdigest() == sha256:
                        return start + 1, start + size
        return None


@dataclass
class CitedFiles:
    """Reads cited files of one repository once each, refusing anything outside it."""

    repo: Path
    _cache: dict[str, CitedText | str] = field(default_factory=dict)  # text, or why not

    def __post_init__(self) -> None:
        self.repo = Path(self.repo).resolve()

    def read(self, rel: str) -> CitedText | str:
        """The file, or a reason string (`missing` when it does not exist)."""
        hit = self._cache.get(rel)
        if hit is None:
            loaded = self._load(rel)
            hit = self._cache[rel] = CitedText(loaded) if isinstance(loaded, bytes) else loaded
        return hit

    def _load(self, rel: str) -> bytes | str:
        try:
            data = read_regular(self.repo, rel, limit=MAX_CITED_BYTES)
        except NotFound:
            return "missing"
        except UnsafePath as exc:
            return _UNSAFE.get(exc.code, exc.message)
        if len(data) > MAX_CITED_BYTES:
            return f"larger than {MAX_CITED_BYTES} bytes"
        return data


_UNSAFE = {
    "symlink-outside-root": "the path resolves outside the repository",
    "symlink-loop": "the path is a symlink loop",
}


def check_cite(files: CitedFiles, page: Page, page_path: str, index: int, cite: Cite) -> CiteCheck:
    """The state of one citation against the repository `files` reads from."""

    def result(status: CiteStatus, message: str, now: str | None = None) -> CiteCheck:
        # Built from validated parts: skip re-validation (10,000 pages cite thousands of lines).
        return CiteCheck.model_construct(
            page=page.id,
            page_path=page_path,
            index=index,
            path=cite.path,
            lines=cite.lines,
            status=status,
            now=now,
            message=message,
        )

    where = cite.path + (f":{cite.lines}" if cite.lines else "")
    text = files.read(cite.path)
    if text == "missing":
        return result("orphaned", f"{cite.path} is gone")
    if isinstance(text, str):
        return result("unreadable", f"{cite.path}: {text}")
    if cite.sha256 is None:
        return result(
            "unhashed",
            f"{where} has no sha256; `experimentos cite add {page.id} {where}` records it",
        )
    span = line_range(cite.lines)
    if text.digest(span) == cite.sha256:
        return result("fresh", f"{where} is unchanged")
    if span is not None:
        moved = text.locate(cite.sha256, span)
        if moved is not None:
            now = f"{moved[0]}-{moved[1]}" if moved[1] != moved[0] else str(moved[0])
            return result("drifted", f"{where} moved: the same text is now at lines {now}", now)
    what = f"lines {cite.lines} of {cite.path}" if cite.lines else cite.path
    return result(
        "changed", f"{what} changed since the citation was recorded (the text is not in the file)"
    )


# --- cite add ---------------------------------------------------------------------------------


class CiteAdded(BaseModel):
    """What `cite add` did to a page's citations."""

    page: str
    page_path: str
    cite: Cite
    action: Literal["added", "updated", "moved", "unchanged"]
    replaced: Cite | None = None


def parse_cite_spec(spec: str) -> tuple[str, str | None]:
    """`PATH[:A-B]` -> (path, lines)."""
    match = _SPEC_RE.match(spec.strip())
    if not match or not match["path"].strip():
        raise UsageError(f"{spec[:200]!r} is not PATH or PATH:A-B", field="cite")
    lines = match["lines"]
    if lines and any(parse_int(n, max_digits=9) is None for n in lines.split("-")):
        raise UsageError(f"line numbers have at most 9 digits, not {lines[:20]}…", field="lines")
    return match["path"].strip(), lines


def repo_relative(repo: Path, path_text: str, cwd: Path | None = None) -> str:
    """A cited path as the repository-relative posix path a `cites` entry stores.

    An absolute path, or a path relative to `cwd` that names an existing file, is mapped into
    the repository; otherwise the path is taken as relative to the repository. A path that
    lands outside the repository is refused (where a symlink points is checked on reading)."""
    repo = Path(repo).resolve()
    given = Path(path_text)
    if given.is_absolute():
        candidates = [given]
    else:
        candidates = [cwd / given] if cwd is not None and (cwd / given).exists() else []
        candidates.append(repo / given)
    for candidate in candidates:
        absolute = Path(os.path.abspath(candidate))  # folds `..` without following symlinks
        try:
            rel = absolute.relative_to(repo)
        except ValueError:
            # The working directory may be spelled through a symlink; resolve only the parent.
            try:
                rel = (absolute.parent.resolve() / absolute.name).relative_to(repo)
            except ValueError:
                continue
        if rel.as_posix() not in ("", "."):
            return rel.as_posix()
    raise UsageError(f"{path_text} is not inside the repository {repo}", field="path")


def plan_cite(
    workspace: Workspace,
    page_id: str,
    spec: str,
    repo: Path | None = None,
    cwd: Path | None = None,
) -> tuple[Cite, Path]:
    """The citation `spec` names, with its hash, read from `repo` (default: the git root)."""
    repo = Path(repo or default_repo(workspace.root)).resolve()
    path_text, lines = parse_cite_spec(spec)
    rel = repo_relative(repo, path_text, cwd)
    workspace.read(page_id)  # a clear error for an unknown or invalid page first
    text = CitedFiles(repo).read(rel)
    if text == "missing":
        raise NotFound(f"no file {rel} in {repo}", path=rel, field="path")
    if isinstance(text, str):
        raise UsageError(f"{rel}: {text}", path=rel, field="path")
    span = line_range(lines)
    if span is not None and (span[0] < 1 or span[1] < span[0] or span[1] > text.lines):
        raise UsageError(
            f"lines {lines} are not within {rel} (1-{text.lines})", path=rel, field="lines"
        )
    try:
        cite = Cite(path=rel, lines=lines, sha256=text.digest(span))
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[-1], path=rel, field="path") from None
    return cite, repo


def with_cite(page: Page, cite: Cite) -> tuple[list[Cite], str, Cite | None]:
    """The page's citations with `cite` recorded: (cites, action, the entry it replaced)."""
    cites = list(page.cites)
    for i, old in enumerate(cites):
        if old.path == cite.path and old.lines == cite.lines:
            if old == cite:
                return cites, "unchanged", old
            cites[i] = cite
            return cites, "updated", old
    for i, old in enumerate(cites):
        # The same text at new lines: re-point the drifted entry instead of adding one.
        if old.path == cite.path and old.sha256 == cite.sha256 and old.lines and cite.lines:
            cites[i] = cite
            return cites, "moved", old
    return [*cites, cite], "added", None


def add_cite(
    workspace: Workspace,
    page_id: str,
    spec: str,
    repo: Path | None = None,
    cwd: Path | None = None,
) -> tuple[CiteAdded, Document]:
    """Record a citation with its hash in a page (atomic; refused if the page changed since)."""
    cite, _ = plan_cite(workspace, page_id, spec, repo, cwd)
    doc = workspace.read(page_id)
    cites, action, old = with_cite(doc.page, cite)
    if action != "unchanged":
        changed = Page.model_validate(
            doc.page.model_dump(by_alias=False, exclude={"body"})
            | {"cites": cites, "body": doc.page.body}
        )
        doc = workspace.save(changed, like=doc)
    return CiteAdded(
        page=page_id,
        page_path=doc.path,
        cite=cite,
        action=action,
        replaced=old if action in ("updated", "moved") else None,
    ), doc


@dataclass(frozen=True)
class CiteChange:
    """A proposal change: record `cite` in the page as it is on the base branch."""

    page_id: str
    cite: Cite

    def precheck(self) -> None:
        from experimentos.store import split_id

        split_id(self.page_id)

    def apply(self, workspace: Workspace) -> Document:
        doc = workspace.read(self.page_id)
        cites, action, _ = with_cite(doc.page, self.cite)
        if action == "unchanged":
            return doc
        changed = Page.model_validate(
            doc.page.model_dump(by_alias=False, exclude={"body"})
            | {"cites": cites, "body": doc.page.body}
        )
        return workspace.save(changed, like=doc)


def default_repo(root: Path) -> Path:
    """The repository cited paths are relative to: the git root holding the knowledge root."""
    root = Path(root).resolve()
    return work_tree(root) or root
