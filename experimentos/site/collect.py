"""Read everything the site shows from the files: pages, experiments, tests, runs and their
sidecars, matrix reports and their chart files. Hostile files are reported and skipped.

Every file goes through the store's safe reader (experimentos/store/safe.py: inside the root, a
regular file, never blocking) and is read up to a cap; what could not be read becomes a problem
listed on the site's front page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from experimentos.errors import InvalidPage, NotFound, UnsafePath
from experimentos.lab.runs.events import events_rel, parse_events
from experimentos.models.events import RunEvent
from experimentos.models.knowledge import Problem
from experimentos.models.lab import Experiment, ExperimentTest, RunRecord, name_slug_problem
from experimentos.store import Document, Workspace
from experimentos.store.documents import split_frontmatter
from experimentos.store.lab_paths import DIFF_SUFFIX, EXPERIMENTS_DIR, experiment_dir
from experimentos.store.lab_scan import scan_experiments, scan_runs, scan_tests
from experimentos.store.records import Record
from experimentos.store.safe import read_regular
from experimentos.store.yamlio import YamlError, load_yaml

RESULTS_DIR = "results"
MATRIX_FILE = "matrix.yaml"
ASSET_SUFFIXES = (".svg", ".png")
MAX_SIDECAR_BYTES = 4 * 1024 * 1024
MAX_DIFF_SHOWN = 256 * 1024
MAX_REPORT_BYTES = 4 * 1024 * 1024
MAX_ASSET_BYTES = 4 * 1024 * 1024


@dataclass
class SourceRun:
    experiment: str  # slug
    path: str
    record: RunRecord
    events: list[RunEvent] = field(default_factory=list)
    diff: str | None = None
    diff_cut: bool = False  # the diff was longer than the site shows


@dataclass
class SourceReport:
    experiment: str  # slug
    matrix_id: str
    path: str
    meta: dict[str, Any]
    body: str


@dataclass
class SourceExperiment:
    slug: str
    path: str
    model: Experiment
    tests: list[Record[ExperimentTest]] = field(default_factory=list)
    runs: list[SourceRun] = field(default_factory=list)
    reports: list[SourceReport] = field(default_factory=list)
    matrix_yaml: str | None = None


@dataclass
class SiteSource:
    """Everything read from one knowledge root, in a stable order."""

    documents: list[Document] = field(default_factory=list)  # sorted by path
    experiments: list[SourceExperiment] = field(default_factory=list)  # sorted by slug
    assets: dict[str, bytes] = field(default_factory=dict)  # root-relative path -> bytes
    problems: list[Problem] = field(default_factory=list)


def _problem(rel: str, code: str, message: str) -> Problem:
    return Problem(path=rel, code=code, severity="warning", message=message)


@dataclass(frozen=True)
class Unreadable:
    """Why a file was not read: a stable problem code and words."""

    code: str
    message: str


def read_file(root: Path, rel: str, limit: int) -> bytes | Unreadable | None:
    """The bytes of root/rel through the store's safe reader (inside the root, a regular file,
    never blocking), at most `limit` bytes; None when it does not exist."""
    try:
        data = read_regular(root, rel, limit=limit)
    except NotFound:
        return None
    except UnsafePath as exc:
        return Unreadable(exc.code, exc.message)
    if len(data) > limit:
        return Unreadable("file-too-large", f"larger than {limit} bytes")
    return data


def _unreadable(source: SiteSource, rel: str, what: str, why: Unreadable) -> None:
    source.problems.append(_problem(rel, why.code, f"{what}: {why.message}"))


def _entries(directory: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _run(root: Path, slug: str, record: Record[RunRecord], source: SiteSource) -> SourceRun:
    run = SourceRun(experiment=slug, path=record.path, record=record.model)
    log = events_rel(record.path)
    raw = read_file(root, log, MAX_SIDECAR_BYTES)
    if isinstance(raw, bytes):
        run.events, problems = parse_events(raw, log)
        source.problems.extend(problems)
    elif raw is not None:
        _unreadable(source, log, "event log", raw)
    diff_rel = record.path.removesuffix(".md") + DIFF_SUFFIX
    raw = read_file(root, diff_rel, MAX_SIDECAR_BYTES)
    if isinstance(raw, bytes):
        run.diff_cut = len(raw) > MAX_DIFF_SHOWN
        run.diff = raw[:MAX_DIFF_SHOWN].decode("utf-8", "replace")
    elif raw is not None:
        _unreadable(source, diff_rel, "diff", raw)
    return run


def parse_report(raw: bytes, rel: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, body) of a matrix report; InvalidPage naming the file when it is broken."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidPage(
            rel, [Problem(path=rel, code="encoding", message=f"not UTF-8 (byte {exc.start})")]
        ) from None
    front, body = split_frontmatter(text, rel)
    try:
        meta = load_yaml(front)
    except YamlError as exc:
        raise InvalidPage(rel, [Problem(path=rel, code=exc.code, message=str(exc))]) from None
    if not isinstance(meta, dict):
        raise InvalidPage(
            rel,
            [Problem(path=rel, code="frontmatter-not-mapping", message="not a mapping")],
        )
    return meta, body


def _results(root: Path, slug: str, source: SiteSource) -> list[SourceReport]:
    base = experiment_dir(slug) / RESULTS_DIR
    reports = []
    for entry in _entries(root / base):
        rel = (base / entry.name).as_posix()
        if entry.name.startswith("."):
            continue
        if entry.name.endswith(ASSET_SUFFIXES):
            raw = read_file(root, rel, MAX_ASSET_BYTES)
            if isinstance(raw, bytes):
                source.assets[rel] = raw
            elif raw is not None:
                _unreadable(source, rel, "chart file", raw)
            continue
        if not entry.name.endswith(".md") or name_slug_problem(entry.name[:-3]):
            source.problems.append(_problem(rel, "unknown-file", "not a report (<matrix-id>.md)"))
            continue
        raw = read_file(root, rel, MAX_REPORT_BYTES)
        if not isinstance(raw, bytes):
            if raw is not None:
                _unreadable(source, rel, "report", raw)
            continue
        try:
            meta, body = parse_report(raw, rel)
        except InvalidPage as exc:
            source.problems.extend(exc.problems)
            continue
        reports.append(SourceReport(slug, entry.name[:-3], rel, meta, body))
    return reports


def collect(workspace: Workspace) -> SiteSource:
    """Read the knowledge root; nothing here writes."""
    root = workspace.root
    source = SiteSource()
    scan = workspace.scan()
    source.documents = sorted(scan.documents, key=lambda d: d.path)
    source.problems.extend(scan.problems)
    experiments = scan_experiments(root)
    source.problems.extend(experiments.problems)
    for record in sorted(experiments.records, key=lambda r: r.path):
        slug = PurePosixPath(record.path).parent.name
        exp = SourceExperiment(slug=slug, path=record.path, model=record.model)
        tests = scan_tests(root, slug)
        source.problems.extend(tests.problems)
        exp.tests = sorted(tests.records, key=lambda r: r.path)
        runs = scan_runs(root, slug)
        source.problems.extend(runs.problems)
        exp.runs = [_run(root, slug, r, source) for r in sorted(runs.records, key=lambda r: r.path)]
        exp.reports = _results(root, slug, source)
        spec_rel = f"{EXPERIMENTS_DIR}/{slug}/{MATRIX_FILE}"
        raw = read_file(root, spec_rel, MAX_SIDECAR_BYTES)
        if isinstance(raw, bytes):
            exp.matrix_yaml = raw.decode("utf-8", "replace")
        source.experiments.append(exp)
    source.problems.sort(key=lambda p: (p.path, p.code, p.field or "", p.message))
    return source
