"""A knowledge root on disk: find it, read pages, write them safely, scan them all."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from experimentos.config import CONFIG_NAME, MAX_CONFIG_BYTES, Config, parse_config
from experimentos.errors import (
    InvalidPage,
    NotFound,
    RootNotFound,
    UnsafeId,
    UnsafePath,
    UsageError,
)
from experimentos.models.knowledge import Page, Problem
from experimentos.store.documents import MAX_FILE_BYTES, Document, parse_document, render
from experimentos.store.files import atomic_write
from experimentos.store.gitroot import ancestors, is_repository
from experimentos.store.paths import KNOWLEDGE_ROOTS, PAGE_DIRS, id_for_path, page_path
from experimentos.store.safe import list_files, read_regular, regular_file

ROOT_ENV = "EXPERIMENTOS_ROOT"
_IGNORED_NAMES = {"README.md", ".gitkeep"}


def load_config(root: Path) -> Config:
    """The root's experimentos.toml (defaults when there is none), read as a regular file
    inside the root: a link out of it or a FIFO is a UsageError naming the file."""
    path = Path(root) / CONFIG_NAME
    try:
        raw = read_regular(Path(root), CONFIG_NAME, limit=MAX_CONFIG_BYTES)
    except NotFound:
        return Config()
    except UnsafePath as exc:
        raise UsageError(exc.message, path=path) from None
    return parse_config(raw, path)


def find_root(start: Path | None = None) -> Path:
    """Nearest ancestor with experimentos.toml, else the git work tree (below any ceiling)."""
    here = (start or Path.cwd()).resolve()
    candidates = list(ancestors(here))
    for directory in candidates:
        if (directory / CONFIG_NAME).is_file():
            return directory
    for directory in candidates:
        if is_repository(directory):
            return directory
    raise RootNotFound(
        f"no knowledge root found from {here} (no {CONFIG_NAME} and no git repository); "
        "run `experimentos init` or pass --root"
    )


@dataclass
class Scan:
    """Every page that parsed, and every problem found on the way (the scan never stops early)."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def pages(self) -> dict[str, Page]:
        """Pages by id; with duplicate ids, the first path in sorted order wins."""
        out: dict[str, Page] = {}
        for doc in self.documents:
            out.setdefault(doc.id, doc.page)
        return out


class Workspace:
    """The knowledge root: files are the only truth, everything else is derived from them."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise RootNotFound(f"knowledge root {self.root} is not a directory")
        self.config: Config = load_config(self.root)

    @classmethod
    def discover(cls, root: Path | str | None = None) -> Workspace:
        """The workspace at `root`, $EXPERIMENTOS_ROOT, or found from the current directory."""
        if root is None and os.environ.get(ROOT_ENV):
            root = os.environ[ROOT_ENV]
        return cls(root if root is not None else find_root())

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # --- reading ------------------------------------------------------------------------------

    def relpath(self, path: Path) -> str:
        return PurePosixPath(path.relative_to(self.root)).as_posix()

    def load(self, rel: str) -> Document:
        """Parse the page file at a root-relative path; raise InvalidPage on any problem.

        The path must resolve to a regular file inside the root (see store.safe)."""
        try:
            raw = read_regular(self.root, rel, limit=MAX_FILE_BYTES)
        except UnsafePath as exc:
            problem = Problem(path=rel, code=exc.code, message=exc.message)
            raise InvalidPage(rel, [problem]) from None
        return parse_document(raw, rel)

    def read(self, page_id: str) -> Document:
        """The page with this id (raises UnsafeId, NotFound, InvalidPage)."""
        rel = page_path(page_id).as_posix()
        try:
            return self.load(rel)
        except NotFound:
            raise NotFound(f"no page {page_id!r}", path=rel) from None

    def exists(self, page_id: str) -> bool:
        return regular_file(self.root, page_path(page_id))

    # --- writing ------------------------------------------------------------------------------

    def save(self, page: Page, like: Document | None = None) -> Document:
        """Write a page atomically.

        With `like` (the document the change started from) the write is refused if the file
        changed on disk since; without it the page must be new.
        """
        rel = page_path(page.id).as_posix()
        if like is not None and like.path != rel:
            raise UnsafeId(f"page id {page.id!r} does not belong at {like.path}", path=like.path)
        data = render(page, like)
        # Parse what we are about to write: never put a file on disk that we could not read back.
        doc = parse_document(data, rel)
        atomic_write(self.root, rel, data, expected=like.checksum if like else None)
        return doc

    # --- scanning -----------------------------------------------------------------------------

    def scan(self) -> Scan:
        """Parse every page under the knowledge dirs; report bad and unknown files, keep going.

        Symlinks that leave the root or loop, and files that are not regular, are reported
        with their path and never opened; symlinked directories inside the root are followed
        only where pages live (the knowledge roots and the page directories)."""
        result = Scan()
        followed = {*KNOWLEDGE_ROOTS, *PAGE_DIRS}
        for top in KNOWLEDGE_ROOTS:
            listing = list_files(self.root, top, recursive=True, follow=followed.__contains__)
            result.problems.extend(listing.problems)
            for rel in listing.paths:
                self._scan_file(result, rel)
        return result

    def _scan_file(self, result: Scan, rel: str) -> None:
        if PurePosixPath(rel).name in _IGNORED_NAMES:
            return
        if id_for_path(rel) is None:
            where = str(PurePosixPath(rel).parent)
            hint = (
                "not a page file (pages are <slug>.md with a lowercase slug)"
                if where in PAGE_DIRS
                else f"not a page location (pages live in {', '.join(sorted(PAGE_DIRS))})"
            )
            result.problems.append(
                Problem(path=rel, code="unknown-file", severity="warning", message=hint)
            )
            return
        try:
            result.documents.append(self.load(rel))
        except InvalidPage as exc:
            result.problems.extend(exc.problems)
        except NotFound:  # removed between listing and reading
            pass
