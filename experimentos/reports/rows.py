"""One row per matrix run: what a report needs from a run record and its event log.

A row holds the cell (fixture, condition, agent, repeat), whether the run counts (only
`finished` runs are results; failed, aborted and still-running ones are excluded with their
reason), the provenance (spec, fixture and knowledge hashes, agent version) and the
ground-truth metrics of experimentos.matrix.metrics, computed from the record and its events.

Parsing YAML is the cost of a report (about 2 ms a record: the C parser, then PyYAML's Python
constructor), so rows of the working tree are cached under .experimentos/cache/report-rows/,
keyed by the sha256 of the record's and the event log's bytes: a record that changes is read
again, an unchanged one is not. The cache is derived data; a cache that does not parse is
ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ValidationError, field_validator

from experimentos import __version__
from experimentos.errors import ExperimentosError, InvalidPage
from experimentos.lab.runs.events import events_rel, parse_events
from experimentos.matrix.metrics import METRICS_VERSION, ground_truth
from experimentos.models.lab import MatrixFingerprint, RunRecord, RunStatus
from experimentos.models.names import check_matrix_id, name_slug_problem
from experimentos.reports.sources import Source, Unreadable
from experimentos.store.files import file_mode
from experimentos.store.records import parse_record
from experimentos.store.safe import read_regular, state_path, state_rel

# The last part changes when what a row holds changes (2: records with unbounded measures are
# unreadable; 4: fingerprints, decisions, served pages), so rows cached by an older build are
# read again.
ROWS_VERSION = f"{__version__}/{METRICS_VERSION}/4"
FINISHED = RunStatus.finished.value
CACHE_DIR = ("cache", "report-rows")


class Measure(BaseModel):
    """A ground-truth metric as a row keeps it (the record's MatrixMetric, without its text
    validators: rows are validated by the thousand)."""

    value: bool | int | float | None
    source: str
    reason: str | None = None


class RunRow(BaseModel):
    """A matrix run as a report sees it."""

    run_id: str
    path: str
    experiment: str  # slug
    matrix_id: str
    fixture: str | None = None
    condition: str | None = None
    agent: str | None = None
    adapter: str | None = None
    agent_version: str | None = None
    repeat: int | None = None
    status: str  # finished, failed, aborted, running, unreadable
    reason: str | None = None  # why it does not count
    spec_hash: str | None = None
    fixture_hash: str | None = None
    knowledge_commit: str | None = None
    knowledge_hash: str | None = None
    fingerprint: MatrixFingerprint | None = None  # what the result depends on
    decisions: str | None = None  # model | script (None: the record does not say)
    # The pages the MCP server's own log says it served this run (its briefs' pages, pages
    # read whole): a page's effect is measured only on runs that were served it.
    served: list[str] = []
    simulated: bool = False  # its tokens and cost were made up by a script
    model_reported: str | None = None  # the model id the provider reported
    ended: str = ""  # ISO time the run ended
    metrics: dict[str, Measure] = {}

    # The matrix id names the report file: a row read back from the cache under .experimentos/
    # (a file a repository could ship) is held to the grammar a record is.
    @field_validator("matrix_id")
    @classmethod
    def _matrix_id(cls, value: str) -> str:
        return check_matrix_id(value)

    @property
    def counted(self) -> bool:
        return self.status == FINISHED

    @property
    def block(self) -> tuple[str, str, int]:
        """(fixture, agent, repeat): the block two conditions are paired on."""
        return (self.fixture or "", self.agent or "", self.repeat or 0)

    def value(self, metric: str) -> bool | int | float | None:
        found = self.metrics.get(metric)
        return found.value if found is not None else None


def _exclusion(run: RunRecord) -> str | None:
    block = run.matrix
    if run.status is RunStatus.finished:
        return None
    if run.status is RunStatus.running:
        return "incomplete: the run has no result (still running, or its runner was killed)"
    reason = (block.reason if block else None) or "no reason recorded"
    return f"{run.status.value}: {reason}"


def row_from_bytes(slug: str, rel: str, raw: bytes, events_raw: bytes | None) -> RunRow | None:
    """The row of one record file (None: not a matrix run); an unreadable record gives a row
    with status `unreadable` attributed to the matrix its file name names."""
    try:
        record = parse_record(raw, rel, RunRecord)
    except InvalidPage as exc:
        first = exc.problems[0] if exc.problems else None
        detail = f"{first.field}: {first.message}" if first and first.field else str(exc)
        return unreadable_row(slug, rel, f"the record does not parse ({detail})")
    run = record.model
    block = run.matrix
    if block is None:
        return None
    events, _problems = parse_events(events_raw or b"", events_rel(rel))
    truth = ground_truth(run, events)
    knowledge = block.knowledge
    return RunRow(
        run_id=run.id,
        path=rel,
        experiment=slug,
        matrix_id=block.id,
        fixture=block.fixture,
        condition=run.condition,
        agent=run.agent,
        adapter=block.adapter,
        agent_version=block.agent_version,
        repeat=block.repeat,
        status=run.status.value,
        reason=_exclusion(run),
        spec_hash=block.spec_hash,
        fixture_hash=block.fixture_hash,
        knowledge_commit=run.knowledge_commit,
        knowledge_hash=knowledge.content_hash if knowledge else None,
        fingerprint=block.fingerprint,
        decisions=block.decisions,
        served=served_pages(events),
        simulated=bool(block.usage and block.usage.simulated),
        model_reported=block.model_reported,
        ended=run.ended.isoformat() if run.ended else "",
        metrics={
            k: Measure(value=m.value, source=m.source, reason=m.reason) for k, m in truth.items()
        },
    )


def served_pages(events: Iterable) -> list[str]:
    """The pages the server's log says it served: brief_loaded and mcp_tool_called events of
    source server (never the agent's own account)."""
    found: set[str] = set()
    for event in events:
        if event.source == "server" and event.type in ("brief_loaded", "mcp_tool_called"):
            ids = event.payload.get("page_ids") or []
            found.update(i for i in ids if isinstance(i, str))
    return sorted(found)


def without_mixed_fingerprints(rows: list[RunRow]) -> list[RunRow]:
    """`rows` with every counted run whose fingerprint differs from the others of its agent,
    fixture or condition marked `excluded`, with the part that differs: a report never pools
    results of two agent scripts, CLI versions, models, fixtures or knowledge snapshots."""
    from experimentos.matrix.fingerprint import Stamp, conflicts

    counted = [r for r in rows if r.counted]
    stamps = [
        Stamp(r.run_id, r.fixture, r.condition, r.agent, r.fingerprint, r.model_reported, r.ended)
        for r in counted
    ]
    found = conflicts(stamps)
    if not found:
        return rows
    return [
        r.model_copy(update={"status": "excluded", "reason": f"excluded: {found[r.run_id]}"})
        if r.run_id in found
        else r
        for r in rows
    ]


def unreadable_row(slug: str, rel: str, reason: str) -> RunRow:
    """A record that cannot be read: it names its matrix by its file name (run.<matrix>.…)."""
    name = rel.rsplit("/", 1)[-1].removesuffix(".md")
    parts = name.split(".")
    matrix_id = parts[1] if len(parts) > 2 and parts[0] == "run" else name
    if name_slug_problem(matrix_id):
        matrix_id = slug  # the name says nothing usable: the experiment's default matrix
    return RunRow(
        run_id=name,
        path=rel,
        experiment=slug,
        matrix_id=matrix_id,
        status="unreadable",
        reason=f"unreadable: {reason}",
    )


def _key(raw: bytes, events_raw: bytes | None) -> str:
    digest = hashlib.sha256(raw)
    digest.update(b"\0events\0")
    digest.update(events_raw if events_raw is not None else b"-")
    return f"{ROWS_VERSION}:{digest.hexdigest()}"


class _CacheFile(BaseModel):
    version: str
    rows: dict[str, RunRow | None]


class _Cache:
    """Rows of one experiment's working tree, by content key (.experimentos/cache/…)."""

    def __init__(self, root: Path, slug: str, enabled: bool):
        self.path: Path | None = None
        self.rows: dict[str, RunRow | None] = {}
        self.used: dict[str, RunRow | None] = {}
        self.dirty = False
        if not enabled:
            return
        with contextlib.suppress(ExperimentosError, OSError):
            self.path = state_path(root, *CACHE_DIR) / f"{slug}.json"
        if self.path is None:
            return
        # Read like any file (a link or a FIFO in its place is ignored, never followed or
        # waited on); rows from it are validated, matrix ids included.
        with contextlib.suppress(ExperimentosError, OSError, ValueError, ValidationError):
            raw = read_regular(root, state_rel(*CACHE_DIR, f"{slug}.json"))
            cached = _CacheFile.model_validate_json(raw)
            if cached.version == ROWS_VERSION:
                self.rows = cached.rows

    def get(self, key: str) -> RunRow | None | bool:
        """The cached row, None for a cached non-matrix record, False when not cached."""
        if key not in self.rows:
            return False
        row = self.rows[key]
        self.used[key] = row
        return row

    def put(self, key: str, row: RunRow | None) -> None:
        self.used[key] = row
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not (self.dirty or len(self.used) != len(self.rows)):
            return
        data = _CacheFile(version=ROWS_VERSION, rows=self.used).model_dump_json()
        with contextlib.suppress(OSError):
            mode = file_mode(self.path)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".rows.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
                os.fchmod(handle.fileno(), mode)
            os.replace(tmp, self.path)


# Below this many records to parse, a process pool costs more than it saves.
PARALLEL_FROM = 1000


def load_rows(source: Source, slugs: Iterable[str] | None = None) -> list[RunRow]:
    """The rows of every matrix run under the given experiments (default: all), sorted by
    (matrix, path)."""
    rows: list[RunRow] = []
    for slug in sorted(set(slugs) if slugs is not None else source.experiments()):
        cache = _Cache(source.root, slug, enabled=source.rev is None)
        misses: list[tuple[str, str, bytes, bytes | None]] = []
        for rel in source.run_files(slug):
            row = _load_one(source, cache, slug, rel, misses)
            if row is not None:
                rows.append(row)
        for (_, _, raw, events_raw), row in zip(misses, _parse(misses), strict=True):
            cache.put(_key(raw, events_raw), row)
            if row is not None:
                rows.append(row)
        cache.save()
    return sorted(rows, key=lambda r: (r.matrix_id, r.path))


def _load_one(
    source: Source,
    cache: _Cache,
    slug: str,
    rel: str,
    misses: list[tuple[str, str, bytes, bytes | None]],
) -> RunRow | None:
    """The row of `rel` when it is unreadable or cached; otherwise its bytes join `misses`."""
    try:
        raw = source.read(rel)
    except Unreadable as exc:
        return unreadable_row(slug, rel, str(exc))
    if raw is None:  # removed between listing and reading
        return None
    try:
        events_raw = source.read(events_rel(rel))
    except Unreadable as exc:
        return unreadable_row(slug, rel, f"its event log: {exc}")
    cached = cache.get(_key(raw, events_raw))
    if cached is not False:
        return cached  # type: ignore[return-value]
    misses.append((slug, rel, raw, events_raw))
    return None


def _row_of(item: tuple[str, str, bytes, bytes | None]) -> RunRow | None:
    return row_from_bytes(*item)


def _parse(items: list[tuple[str, str, bytes, bytes | None]]) -> list[RunRow | None]:
    """Rows of records not in the cache, in order. Parsing YAML is CPU-bound, so a large cold
    build (a fresh CI checkout) spreads it over the machine's cores."""
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8)
    if len(items) < PARALLEL_FROM or workers < 2:
        return [_row_of(item) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: the workers start with this module imported (no re-import per worker).
    context = multiprocessing.get_context("fork")
    # Frozen objects are left alone by the children's collector, so the pages they share with
    # this process are not copied on write (the documented way to fork a large heap).
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(_row_of, items, chunksize=64))
    finally:
        gc.unfreeze()
