"""The knowledge base as a long-lived process sees it: parsed once, reloaded only where it changed.

A `Snapshot` is an immutable view of every page (plus the graph and lookup tables briefs need).
`load_snapshot` re-parses only files whose stat changed since the previous snapshot. `Live` keeps
a snapshot and the search index warm for the MCP server and refreshes both when the
`ChangeWatcher` reports a change, so an edit on disk is visible to the next answer.
"""

from __future__ import annotations

import gc
import hashlib
import os
import stat as stat_mod
import sys
import threading
from collections import defaultdict
from dataclasses import InitVar, dataclass, field
from pathlib import Path

from experimentos.errors import InvalidPage, NotFound, UnsafePath, did_you_mean
from experimentos.knowledge import statements
from experimentos.knowledge.graph import Graph
from experimentos.models.knowledge import Page, Problem
from experimentos.repofacts.facts import python_key
from experimentos.store import Workspace
from experimentos.store.documents import Document
from experimentos.store.paths import PAGE_DIRS, id_for_path
from experimentos.store.safe import NOT_A_FILE, list_files, resolve_inside
from experimentos.store.watch import ChangeWatcher

TEXT_KEYS = ("agent", "model", "toolchain", "repo_type")
SERVER_GC_GEN0 = 20_000  # allocations between young collections in a long-lived process
_Stat = tuple[int, int, int]


@dataclass
class Snapshot:
    """Every page that parsed, by id, with what briefs look up per request precomputed."""

    documents: dict[str, Document]  # by root-relative path
    stats: dict[str, _Stat]  # of each parsed file, to tell later whether it changed
    failed: dict[str, tuple[_Stat, list[Problem]]]  # files that did not parse, and why
    pages: dict[str, Page] = field(init=False)
    checksums: dict[str, str] = field(init=False)
    graph: Graph = field(init=False)
    content_hash: str = field(init=False)
    # appliesTo value -> page ids, per key (text keys casefolded, libraries PEP 503-normalised)
    by_value: dict[str, dict[str, set[str]]] = field(init=False)
    with_paths: list[str] = field(init=False)  # pages scoped by path globs
    cache: dict = field(init=False)  # per-snapshot memo (rendered entries, token counts)

    previous: InitVar[Snapshot | None] = None  # the snapshot these documents update, if any

    def __post_init__(self, previous: Snapshot | None) -> None:
        self.cache = {}
        if previous is not None and self._update(previous):
            return
        self.pages, self.checksums = {}, {}
        for rel in sorted(self.documents):
            doc = self.documents[rel]
            if doc.id not in self.pages:  # duplicate ids: the first path wins, as in a scan
                self.pages[doc.id] = doc.page
                self.checksums[doc.id] = doc.checksum
        if previous is None:
            self.graph = Graph(self.pages)
        else:  # only pages that are new, gone or another object get their edges recomputed
            old, new = previous.pages, self.pages
            changed = {pid for pid in old.keys() | new.keys() if old.get(pid) is not new.get(pid)}
            self.graph = Graph.updated(previous.graph, self.pages, changed)
        self.content_hash = _content_hash(self.checksums)
        self.by_value = {key: defaultdict(set) for key in (*TEXT_KEYS, "library")}
        self.with_paths = []
        for page in self.pages.values():
            _index_scope(self.by_value, page, add=True)
            if page.applies_to is not None and page.applies_to.paths:
                self.with_paths.append(page.id)

    def _update(self, previous: Snapshot) -> bool:
        """Build from `previous` when only a few documents changed and no id is on two paths
        (then which path wins needs the full build). False: nothing was set; build in full."""
        before, after = previous.documents, self.documents
        if len(previous.pages) != len(before):
            return False  # duplicate ids
        changed = [
            rel for rel in before.keys() | after.keys() if before.get(rel) is not after.get(rel)
        ]
        if len(changed) > 64:
            return False
        pages, checksums = dict(previous.pages), dict(previous.checksums)
        by_value = {key: defaultdict(set, values) for key, values in previous.by_value.items()}
        gone = [before[rel] for rel in changed if rel in before]
        came = [after[rel] for rel in changed if rel in after]
        for doc in gone:
            pages.pop(doc.id, None)
            checksums.pop(doc.id, None)
            _index_scope(by_value, doc.page, add=False)
        for doc in came:
            if doc.id in pages:
                return False  # the same id on another path
            pages[doc.id], checksums[doc.id] = doc.page, doc.checksum
            _index_scope(by_value, doc.page, add=True)
        ids = {doc.id for doc in gone} | {doc.id for doc in came}
        self.pages, self.checksums, self.by_value = pages, checksums, by_value
        # Derived indexes that follow the pages (the rules' statements) are updated, not rebuilt.
        statements.carry(previous.cache, self.cache, [d.page for d in gone], [d.page for d in came])
        self.graph = Graph.updated(previous.graph, pages, ids)
        self.content_hash = _content_hash(checksums)
        scoped = {d.id for d in came if d.page.applies_to is not None and d.page.applies_to.paths}
        self.with_paths = [pid for pid in previous.with_paths if pid not in ids] + sorted(scoped)
        return True

    @property
    def problems(self) -> list[Problem]:
        return [p for rel in sorted(self.failed) for p in self.failed[rel][1]]

    def path_of(self, page_id: str) -> str:
        """The root-relative path of a page (the first path, as for `pages`)."""
        paths = self.cache.get("paths")
        if paths is None:
            paths = {}
            for rel in sorted(self.documents):
                paths.setdefault(self.documents[rel].id, rel)
            self.cache["paths"] = paths
        return paths[page_id]

    def page(self, page_id: str) -> Page:
        page = self.pages.get(page_id)
        if page is None:
            raise NotFound(f"no page {page_id!r}{did_you_mean(page_id, self.pages)}", field="id")
        return page


def _content_hash(checksums: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for page_id in sorted(checksums):
        digest.update(f"{page_id}\0{checksums[page_id]}\n".encode())
    return digest.hexdigest()


def _index_scope(by_value: dict[str, dict[str, set[str]]], page: Page, add: bool) -> None:
    """Add `page` to (or remove it from) the appliesTo lookup. Sets are replaced, never
    changed in place: an updated snapshot shares the others with its predecessor."""
    scope = page.applies_to
    if scope is None:
        return
    keys = [(key, value.strip().casefold()) for key in TEXT_KEYS for value in scope.values(key)]
    keys += [("library", python_key(value)) for value in scope.values("library")]
    for key, value in keys:
        ids = by_value[key].get(value, set())
        by_value[key][value] = ids | {page.id} if add else ids - {page.id}


def _page_files(root: Path, problems: list[Problem]) -> dict[str, _Stat]:
    """Page path -> stat of the regular file it resolves to; links that leave the root or
    loop, and files that are not regular, go to `problems` and are never opened."""
    out: dict[str, _Stat] = {}
    for directory in sorted(PAGE_DIRS):
        listing = list_files(root, directory)
        problems.extend(p for p in listing.problems if p.path == directory or id_for_path(p.path))
        for rel, st in listing.files:
            if id_for_path(rel) is not None:
                out[rel] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


def load_snapshot(
    workspace: Workspace, previous: Snapshot | None = None, only: set[str] | None = None
) -> Snapshot:
    """Parse the page files, reusing `previous` for every file whose stat is unchanged. With
    `only` (the page paths a file watcher saw change), just those files are looked at."""
    if previous is not None and only is not None:
        return _reload(workspace, previous, only)
    documents: dict[str, Document] = {}
    stats: dict[str, _Stat] = {}
    failed: dict[str, tuple[_Stat, list[Problem]]] = {}
    unlisted: list[Problem] = []
    for rel, stat in _page_files(workspace.root, unlisted).items():
        if previous is not None and previous.stats.get(rel) == stat:
            if rel in previous.documents:
                documents[rel], stats[rel] = previous.documents[rel], stat
                continue
            if rel in previous.failed:
                failed[rel] = previous.failed[rel]
                continue
        try:
            documents[rel] = workspace.load(rel)
            stats[rel] = stat
        except InvalidPage as exc:
            failed[rel] = (stat, exc.problems)
        except NotFound:  # removed between listing and reading
            continue
    for problem in unlisted:
        failed.setdefault(problem.path, ((0, 0, 0), []))[1].append(problem)
    return Snapshot(documents=documents, stats=stats, failed=failed, previous=previous)


def _reload(workspace: Workspace, previous: Snapshot, only: set[str]) -> Snapshot:
    documents, stats = dict(previous.documents), dict(previous.stats)
    failed = dict(previous.failed)
    for rel in sorted(only):
        if id_for_path(rel) is None:
            continue
        stat, problem = _file_stat(workspace.root, rel)
        if stat is not None and stat == previous.stats.get(rel):
            continue  # an event without a change (attributes, a rewrite of the same bytes)
        documents.pop(rel, None)
        stats.pop(rel, None)
        failed.pop(rel, None)
        if problem is not None:
            failed[rel] = ((0, 0, 0), [problem])
        if stat is None:
            continue  # gone, or not a file we read
        try:
            documents[rel] = workspace.load(rel)
            stats[rel] = stat
        except InvalidPage as exc:
            failed[rel] = (stat, exc.problems)
        except NotFound:  # removed between looking and reading
            continue
    return Snapshot(documents=documents, stats=stats, failed=failed, previous=previous)


def _file_stat(root: Path, rel: str) -> tuple[_Stat | None, Problem | None]:
    """One page path as `list_files` sees it: the stat of the regular file it resolves to, or
    the problem (a link that leaves the root or loops, something not a regular file)."""
    try:
        info = os.lstat(root / rel)
        if stat_mod.S_ISLNK(info.st_mode):
            info = os.stat(resolve_inside(root, rel))
    except UnsafePath as exc:
        return None, Problem(path=rel, code=exc.code, message=exc.message)
    except (NotFound, OSError):
        return None, None
    if stat_mod.S_ISDIR(info.st_mode):
        return None, None
    if not stat_mod.S_ISREG(info.st_mode):
        message = "not a regular file; not read"
        return None, Problem(path=rel, code=NOT_A_FILE, message=message)
    return (info.st_mtime_ns, info.st_size, info.st_ino), None


def changed_paths(before: Snapshot, after: Snapshot) -> set[str]:
    """Page paths whose file appeared, disappeared or changed (by stat) between snapshots."""

    def files(snap: Snapshot) -> dict[str, _Stat]:
        return {**snap.stats, **{rel: stat for rel, (stat, _) in snap.failed.items()}}

    old, new = files(before), files(after)
    return {rel for rel in old.keys() | new.keys() if old.get(rel) != new.get(rel)}


class Live:
    """A warm snapshot and search index, refreshed when files change on disk.

    Thread-safe: tools of the MCP server may run on worker threads.
    """

    def __init__(self, workspace: Workspace, *, watch: bool = True, index: bool = True):
        self.workspace = workspace
        self._watcher = ChangeWatcher(workspace.root, use_inotify=watch)
        self._long_lived = watch  # a server watches; a one-shot command does not
        self._use_index = index
        self._index = None
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._settled_at: int | None = None  # len(sys.modules) when settle() last froze
        self.notice = ""  # from the last index sync (e.g. rebuilt, or full-text only)

    @property
    def watch_mode(self) -> str:
        return self._watcher.mode

    def snapshot(self) -> Snapshot:
        """The current snapshot; files changed since the last call are reloaded first."""
        with self._lock:
            if self._watcher.changed() or self._snapshot is None:
                self._refresh()
            return self._snapshot

    def index(self):  # noqa: ANN201 - experimentos.index.Index, imported lazily
        """The search index, in sync with the current snapshot."""
        self.snapshot()
        return self._index

    def _refresh(self) -> None:
        from experimentos.store.workspace import load_config

        config = load_config(self.workspace.root)
        if config != self.workspace.config:  # experimentos.toml changed: start over
            self.workspace = Workspace(self.workspace.root)
            self._index = None
            self._snapshot = None
        previous = self._snapshot
        only = self._watcher.changed_files if previous is not None else None
        self._snapshot = load_snapshot(self.workspace, previous, only)
        if previous is None and self._long_lived:
            # A warm process holds every page as Python objects; leaving them to the cyclic
            # collector made each later collection scan them all (about 10 ms of a brief at
            # 10,000 pages). They live as long as the process; pages edited later are few.
            gc.freeze()
            # What a brief memoises with the snapshot (entries, floors, verdicts) outlives the
            # brief, so the default thresholds promoted it and ran a full collection every 20 or
            # so briefs, 12-14 ms of the p95 at 10,000 pages: a server collects less often.
            gen0, gen1, gen2 = gc.get_threshold()
            gc.set_threshold(max(gen0, SERVER_GC_GEN0), max(gen1, 20), max(gen2, 20))
        if self._use_index:
            from experimentos.index import Index

            changed = None  # the first sync reads every file; later ones what changed since
            if self._index is None:
                self._index = Index(self.workspace)
                self._index.warm = True
            elif previous is not None:
                changed = changed_paths(previous, self._snapshot)
            summary = self._index.sync(changed=changed)
            self.notice = summary.notice if summary.rebuilt or summary.mode == "fts" else ""

    def settle(self) -> None:
        """After an answer: freeze what the process keeps for good (gc.freeze), so that later
        collections do not scan it.

        The first answers import LanceDB, the model runtime and their generated models (about
        130,000 tracked objects); each gen-2 collection then scanned them again, 90-120 ms at
        10,000 pages, landing on a random brief. A server freezes after its first answer and
        after any answer that imported modules; an answer that only made garbage freezes
        nothing, so its garbage stays collectable.
        """
        if not self._long_lived:
            return
        mark = len(sys.modules)
        if mark == self._settled_at:
            return
        self._settled_at = mark
        gc.collect(1)  # the young garbage of this answer is not frozen with it
        gc.freeze()

    def close(self) -> None:
        self._watcher.close()
