"""The derived LanceDB index under .experimentos/index/, kept in step with the files by hash.

The Markdown files are the only truth: deleting .experimentos/ loses nothing. Two tables:
`pages` (one row per page: filter columns and the full text, with a native full-text index)
and, when an embedder is configured, `chunks` (windows of each page with their vectors and the
same filter columns). A manifest (meta.json) records, per page file, the content hash that is
indexed; a sync hashes every page file, re-parses only new and changed pages, re-embeds only
windows whose text is new, and removes rows of deleted pages. A schema or embedding-model
change, or an unreadable index, triggers a rebuild with a one-line notice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from experimentos.errors import InvalidPage, NotFound, UnsafePath, UsageError
from experimentos.index.chunks import window_words
from experimentos.index.embeddings import EmbedderChoice, resolve_embedder
from experimentos.index.rows import (
    CHUNKS,
    PAGES,
    arrow,
    arrow_schema,
    body_hash,
    in_clause,
    page_row,
    window_rows,
)
from experimentos.models.knowledge import Page, Problem
from experimentos.progress import task as progress_task
from experimentos.store import Workspace, id_for_path, parse_document
from experimentos.store.files import file_mode, state_lock
from experimentos.store.git import committed_state, committed_state_message
from experimentos.store.paths import PAGE_DIRS
from experimentos.store.safe import list_files, read_regular, state_path, state_rel

SCHEMA_VERSION = 2
VECTOR_INDEX_MIN_ROWS = 8192  # below this an exhaustive vector scan is fast and exact
OPTIMIZE_EVERY = 20  # syncs with changes between compactions
LOUD_SYNC = 50  # pages changed at once from which a sync shows its progress
# Old table versions live this long after a compaction, so a reader in another process that
# opened one a moment ago can finish.
VERSION_RETENTION_SECONDS = 60
_DELETE_BATCH = 400
STAT_SETTLE_NS = 2_000_000_000  # a file's stat is trusted once its mtime is this old

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class SyncSummary:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    renamed: int = 0
    unchanged: int = 0
    invalid: int = 0
    pages: int = 0  # pages in the index after the sync
    chunks: int = 0  # embedded windows in the index after the sync
    embedded: int = 0  # chunks embedded by this sync (the rest reused their vectors)
    seconds: float = 0.0
    mode: str = "hybrid"
    rebuilt: bool = False
    notice: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted or self.renamed)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [p.model_dump() for p in self.problems]
        return data


class Index:
    """A workspace's search index. Cheap to construct; opens LanceDB on first use."""

    def __init__(self, workspace: Workspace, choice: EmbedderChoice | None = None):
        self.workspace = workspace
        state = state_path(workspace.root, create=False)  # the ONNX graph's home, unless set
        self.choice = choice or resolve_embedder(workspace.config.index, state)
        self._db = None
        self._tables: dict[str, Any] = {}
        self._seen: dict[str, tuple | None] = {}  # meta.json stamp at each table's last checkout
        self._meta_cache: tuple[tuple | None, dict] | None = None  # (stamp, manifest)
        self.warm = False  # a long-lived process: keep vectors in memory (see index.memory)
        self._vetted = False  # git was asked whether it tracks the index (once per instance)

    @property
    def dir(self) -> Path:
        """.experimentos/index: a real directory inside the root, never a link (UnsafePath)."""
        return state_path(self.workspace.root, "index", create=False)

    # --- identity -----------------------------------------------------------------------------

    @property
    def embedder(self):  # noqa: ANN201
        return self.choice.embedder

    @property
    def mode(self) -> str:
        """The best mode this index can answer in: hybrid with an embedder, else fts."""
        return "hybrid" if self.embedder is not None else "fts"

    @property
    def embedder_name(self) -> str:
        """The embedder and the windowing it is fed; an index built otherwise is rebuilt."""
        if self.embedder is None:
            return "none"
        settings = self.workspace.config.index
        return f"{self.embedder.name}:windows{settings.max_windows}"

    # --- LanceDB plumbing ---------------------------------------------------------------------

    def _connect(self):  # noqa: ANN202
        if self._db is None:
            os.environ.setdefault("LANCEDB_LOG", "error")
            import lancedb

            self._check_dir()
            self._refuse_committed()
            self._db = lancedb.connect(str(self.dir / "lance"))
        return self._db

    def table(self, name: str = PAGES):  # noqa: ANN201
        """A table of the index (PAGES or CHUNKS), or None when it has no rows yet."""
        table = self._tables.get(name)
        if table is None:
            db = self._connect()
            if name in db.list_tables().tables:
                table = self._tables[name] = db.open_table(name)
                self._seen[name] = self._meta_stamp()
        elif not self.warm or self._seen.get(name) != (stamp := self._meta_stamp()):
            # Every sync that changes a table rewrites meta.json last: while it is unchanged, a
            # warm process already reads the latest version and skips the round trip.
            table.checkout_latest()
            if self.warm:
                self._seen[name] = stamp
        return table

    def _meta_stamp(self) -> tuple | None:
        try:
            st = os.stat(self._meta_path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    # --- manifest -----------------------------------------------------------------------------

    @property
    def _meta_path(self) -> Path:
        return self.dir / "meta.json"

    def _refuse_committed(self) -> None:
        """An index a repository ships (`git add -f`) is someone else's rows: never read it,
        never rebuild over tracked files; say how to untrack it (UsageError)."""
        if self._vetted:
            return
        names = committed_state(self.workspace.root, "index")
        if names:
            raise UsageError(committed_state_message(names), path=state_rel("index"))
        self._vetted = True

    def _read_meta(self) -> tuple[dict | None, str]:
        """(meta, why it cannot be used) — why is empty when the meta fits this configuration."""
        self._refuse_committed()
        cached, self._meta_cache = self._meta_cache, None  # a sync may change it: taken, not lent
        if cached is not None and cached[0] is not None and cached[0] == self._meta_stamp():
            return cached[1], ""  # what this process wrote or read last, and nobody changed
        try:
            raw = read_regular(self.workspace.root, state_rel("index", "meta.json"))
            meta = json.loads(raw.decode("utf-8"))
        except NotFound:
            return None, "no index yet"
        except (UnsafePath, ValueError):
            return None, "index metadata is unreadable"
        if not isinstance(meta, dict) or not isinstance(meta.get("pages"), dict):
            return None, "index metadata is unreadable"
        if meta.get("schema_version") != SCHEMA_VERSION:
            return None, f"index schema {meta.get('schema_version')} != {SCHEMA_VERSION}"
        if meta.get("embedder") != self.embedder_name:
            return None, f"embedder changed ({meta.get('embedder')} -> {self.embedder_name})"
        return meta, ""

    def _write_meta(self, meta: dict) -> None:
        mode = file_mode(self._meta_path)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".meta.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(meta))  # dumps uses the C encoder; dump(handle) does not
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, self._meta_path)
        self._meta_cache = (self._meta_stamp(), meta)

    # --- sync ---------------------------------------------------------------------------------

    def _read_pages(self, paths: list[str], problems: list[Problem]) -> dict[str, bytes]:
        """Root-relative path -> bytes of those page files that exist (read as safely as
        `_page_files` reads them)."""
        root = self.workspace.root
        out: dict[str, bytes] = {}
        for rel in paths:
            if id_for_path(rel) is None:
                continue
            try:
                out[rel] = read_regular(root, rel)
            except NotFound:  # deleted
                continue
            except UnsafePath as exc:
                problems.append(Problem(path=rel, code=exc.code, message=exc.message))
        return out

    def _page_files(
        self, problems: list[Problem], indexed: dict[str, dict]
    ) -> tuple[dict[str, bytes], set[str], dict[str, list[int]]]:
        """(root-relative path -> bytes of every page file whose stat differs from the one the
        manifest recorded; the paths whose stat matches, not read; every file's stat). Links
        that leave the root or loop, and files that are not regular, are never opened: they
        land in `problems`."""
        root = self.workspace.root
        out: dict[str, bytes] = {}
        same: set[str] = set()
        stats: dict[str, list[int]] = {}
        for directory in sorted(PAGE_DIRS):
            listing = list_files(root, directory)
            problems.extend(
                p for p in listing.problems if p.path == directory or id_for_path(p.path)
            )
            for rel, st in listing.files:
                if id_for_path(rel) is None:
                    continue
                stats[rel] = [st.st_mtime_ns, st.st_size, st.st_ino]
                if indexed.get(rel, {}).get("stat") == stats[rel]:
                    same.add(rel)  # as indexed: no need to read and hash it again
                    continue
                try:
                    out[rel] = read_regular(root, rel)
                except NotFound:  # removed between listing and reading
                    continue
                except UnsafePath as exc:
                    problems.append(Problem(path=rel, code=exc.code, message=exc.message))
        return out, same, stats

    def sync(
        self,
        rebuild: bool = False,
        progress: Progress | None = None,
        changed: Collection[str] | None = None,
    ) -> SyncSummary:
        """Bring the index in line with the page files; returns what changed.

        `changed`: the page paths that changed since this process last synced (a warm process
        knows them from its file watcher); only those are read and hashed. None reads all."""
        started = time.perf_counter()
        # One syncing process at a time; a second one waits, then finds little to do.
        with state_lock(self.workspace.root, "index.lock"):
            self._check_dir()
            summary = self._sync_locked(rebuild, progress, changed)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _sync_locked(
        self, rebuild: bool, progress: Progress | None, changed: Collection[str] | None
    ) -> SyncSummary:
        meta, why = (None, "rebuild requested") if rebuild else self._read_meta()
        try:
            return self._sync_once(meta, why, progress, changed)
        except (OSError, ValueError, RuntimeError) as exc:  # LanceDB's errors: rebuild, not trust
            if meta is None:
                raise
            why = f"index is unreadable ({type(exc).__name__})"
            if isinstance(exc, _Mismatch):
                why = f"index rows do not match its manifest ({exc})"
            return self._sync_once(None, why, progress)

    def _sync_once(
        self,
        meta: dict | None,
        why: str,
        progress: Progress | None,
        changed_paths: Collection[str] | None = None,
    ) -> SyncSummary:
        summary = SyncSummary(mode=self.mode)
        if self.embedder is None:
            summary.notice = f"full-text only: {self.choice.reason}"
        if meta is None:
            summary.rebuilt = True
            if why not in ("no index yet", "rebuild requested"):
                notice = f"rebuilding the index: {why}"
                summary.notice = f"{notice}; {summary.notice}" if summary.notice else notice
            self._reset()
            meta = {
                "schema_version": SCHEMA_VERSION,
                "embedder": self.embedder_name,
                "pages": {},
                "counts": {PAGES: 0, CHUNKS: 0},
                "syncs_since_optimize": 0,
            }

        indexed: dict[str, dict] = meta["pages"]
        stats: dict[str, list[int]] = {}
        if changed_paths is None or summary.rebuilt:
            files, same, stats = self._page_files(summary.problems, indexed)
            deleted = sorted(set(indexed) - set(files) - same)
            summary.unchanged = len(files) + len(same)
        else:  # only what the caller saw change; every other page is as the manifest says
            files = self._read_pages(sorted(changed_paths), summary.problems)
            deleted = sorted(rel for rel in changed_paths if rel in indexed and rel not in files)
            summary.unchanged = len(indexed) - len(deleted) + len(set(files) - set(indexed))
        hashes = {rel: hashlib.sha256(raw).hexdigest() for rel, raw in files.items()}
        changed = [rel for rel in sorted(files) if indexed.get(rel, {}).get("hash") != hashes[rel]]
        summary.unchanged -= len(changed)
        # A file is trusted unchanged by its stat next time only if it is old enough that a
        # write within the same clock tick cannot hide behind an equal stat (as git does).
        settled = time.time_ns() - STAT_SETTLE_NS
        fresh_stats = {
            rel: stat for rel, stat in stats.items() if rel in files and stat[0] < settled
        }
        restat = [
            rel
            for rel in fresh_stats
            if rel not in changed
            and rel in indexed
            and indexed[rel].get("stat") != fresh_stats[rel]
        ]

        docs: dict[str, Page] = {}
        for rel in changed:
            try:
                docs[rel] = parse_document(files[rel], rel).page
            except InvalidPage as exc:
                summary.invalid += 1
                summary.problems.extend(exc.problems)
        gone_bodies = {indexed[rel].get("body"): rel for rel in deleted if indexed[rel].get("body")}
        for rel, page in docs.items():
            if rel in indexed:
                summary.updated += 1
            elif body_hash(page) in gone_bodies:
                summary.renamed += 1
            else:
                summary.added += 1
        summary.deleted = len(deleted) - summary.renamed
        # Rows are replaced by path, whether or not the manifest knows the path: a sync killed
        # after adding rows and before writing the manifest left rows the manifest does not
        # list, and re-adding them without this delete would duplicate those pages for good.
        removed = changed + deleted

        if docs or removed:
            # Only now is LanceDB opened: a sync with nothing to do never imports it. A first
            # build or a large change shows its progress; a sync of a page or two stays quiet.
            loud = summary.rebuilt or len(docs) + len(deleted) >= LOUD_SYNC
            self._apply(docs, hashes, removed, summary, progress, loud)
            for rel in removed:
                indexed.pop(rel, None)
            for rel, page in docs.items():
                indexed[rel] = {"hash": hashes[rel], "id": page.id, "body": body_hash(page)}
                if rel in fresh_stats:
                    indexed[rel]["stat"] = fresh_stats[rel]
            for rel in restat:
                indexed[rel]["stat"] = fresh_stats[rel]
            meta["syncs_since_optimize"] = meta.get("syncs_since_optimize", 0) + 1
            if summary.rebuilt or meta["syncs_since_optimize"] >= OPTIMIZE_EVERY:
                with progress_task("indexing: compacting") if loud else contextlib.nullcontext():
                    self._optimize()
                meta["syncs_since_optimize"] = 0
            meta["counts"] = {
                name: table.count_rows() if (table := self.table(name)) is not None else 0
                for name in (PAGES, CHUNKS)
            }
            if meta["counts"][PAGES] != len(indexed):
                raise _Mismatch(f"{meta['counts'][PAGES]} page rows for {len(indexed)} pages")
            self._write_meta(meta)
        elif summary.rebuilt or restat:
            for rel in restat:  # read and found unchanged: remember its stat
                indexed[rel]["stat"] = fresh_stats[rel]
            self._write_meta(meta)
        else:
            self._meta_cache = (self._meta_stamp(), meta)  # unchanged: keep it for next time
        counts = meta.get("counts", {})
        summary.pages, summary.chunks = counts.get(PAGES, 0), counts.get(CHUNKS, 0)
        return summary

    def _check_dir(self) -> None:
        """The index directory must be a real directory inside the root (UnsafePath if not):
        it is deleted on a rebuild, and a symlink would aim that at someone else's files."""
        state_path(self.workspace.root, "index")

    def _reset(self) -> None:
        self._db = None
        self._tables = {}
        self._check_dir()
        shutil.rmtree(self.dir)  # a real directory (checked): rmtree never follows a link in it
        self.dir.mkdir()

    def _apply(
        self,
        docs: dict[str, Page],
        hashes: dict[str, str],
        removed: list[str],
        summary: SyncSummary,
        progress: Progress | None,
        loud: bool = False,
    ) -> None:
        page_rows = [page_row(rel, page, hashes[rel]) for rel, page in docs.items()]
        chunk_rows: list[dict] = []
        if self.embedder is not None:
            settings = self.workspace.config.index
            words = window_words(settings.max_seq_length)
            for row, page in zip(page_rows, docs.values(), strict=True):
                chunk_rows.extend(window_rows(row, page, words, settings.max_windows))
            reuse = self._old_vectors(removed)
            todo = [i for i, row in enumerate(chunk_rows) if row["text_hash"] not in reuse]
            for row in chunk_rows:
                if row["text_hash"] in reuse:
                    row["vector"] = reuse[row["text_hash"]]
            summary.embedded = len(todo)
            done = 0
            shown = progress_task("indexing: embedding", len(todo), "chunks") if loud else None

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress("embedding", done, len(todo))
                if shown is not None:
                    shown.update(done)

            try:
                vectors = self.embedder.embed([chunk_rows[i]["text"] for i in todo], progress=tick)
            finally:
                if shown is not None:
                    shown.finish()
            for i, vector in zip(todo, vectors, strict=True):
                chunk_rows[i]["vector"] = vector
        with progress_task("indexing: writing the tables") if loud else contextlib.nullcontext():
            self._write_rows(page_rows, chunk_rows, removed)

    def _write_rows(self, page_rows: list[dict], chunk_rows: list[dict], removed: list[str]):
        dim = self.embedder.dim if self.embedder is not None else 0  # 0: no chunks table
        for name, rows in ((PAGES, page_rows), (CHUNKS, chunk_rows)):
            if name == CHUNKS and self.embedder is None:
                continue
            table = self.table(name)
            if table is not None:
                for start in range(0, len(removed), _DELETE_BATCH):
                    table.delete(in_clause("path", removed[start : start + _DELETE_BATCH]))
            if rows:
                data = arrow(name, rows, dim)
                if table is None:
                    schema = arrow_schema(name, dim)
                    table = self._connect().create_table(name, data=data, schema=schema)
                    self._tables[name] = table
                else:
                    table.add(data)
        pages = self.table(PAGES)
        if pages is not None and not _has_index(pages, "doc"):
            from lancedb.index import FTS

            pages.create_index("doc", config=FTS(with_position=False), replace=True)

    def _old_vectors(self, paths: list[str]) -> dict[str, Any]:
        """text_hash -> vector of rows about to be replaced, so unchanged windows skip the model."""
        table = self.table(CHUNKS)
        if table is None or not paths:
            return {}
        out: dict[str, Any] = {}
        for start in range(0, len(paths), _DELETE_BATCH):
            batch = paths[start : start + _DELETE_BATCH]
            rows = (
                table.search()
                .where(in_clause("path", batch))
                .select(["text_hash", "vector"])
                .limit(None)
                .to_arrow()
            )
            hashes = rows.column("text_hash").to_pylist()
            dim = self.embedder.dim
            vectors = rows.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, dim)
            out.update(zip(hashes, vectors, strict=True))
        return out

    def _optimize(self) -> None:
        """Compact files, fold new rows into the indices, and drop old versions."""
        for name in (PAGES, CHUNKS):
            table = self.table(name)
            if table is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # short retention is deliberate
                table.optimize(cleanup_older_than=dt.timedelta(seconds=VERSION_RETENTION_SECONDS))
        chunks = self.table(CHUNKS)
        if (
            chunks is not None
            and chunks.count_rows() >= VECTOR_INDEX_MIN_ROWS
            and not _has_index(chunks, "vector")
        ):
            from lancedb.index import IvfHnswSq

            chunks.create_index("vector", config=IvfHnswSq(distance_type="cosine"), replace=True)

    def stats(self) -> dict:
        out: dict[str, Any] = {"mode": self.mode, "embedder": self.embedder_name}
        for name in (PAGES, CHUNKS):
            table = self.table(name)
            out[name] = table.count_rows() if table is not None else 0
            out[f"{name}_versions"] = len(table.list_versions()) if table is not None else 0
        return out


class _Mismatch(RuntimeError):
    """The table holds other rows than the manifest lists (e.g. left by an older version)."""


def _has_index(table: Any, column: str) -> bool:
    return any(column in idx.columns for idx in table.list_indices())
