"""Read the experiments tree (experiments, tests, runs); scans report bad files and keep going."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Generic, TypeVar

from experimentos.errors import InvalidPage, NotFound, UnsafePath, UsageError
from experimentos.models.knowledge import Problem
from experimentos.models.lab import Experiment, ExperimentTest, RunRecord, name_slug_problem
from experimentos.store.ids import suggest
from experimentos.store.lab_paths import (
    EXPERIMENT_FILE,
    EXPERIMENTS_DIR,
    RUNS_DIR,
    SIDECAR_SUFFIXES,
    TESTS_DIR,
    check_run_id,
    experiment_dir,
    experiment_id,
    experiment_path,
)
from experimentos.store.records import Record, load_record
from experimentos.store.safe import regular_file, resolve_inside

M = TypeVar("M", Experiment, ExperimentTest, RunRecord)
_IGNORED = {".gitkeep", "README.md"}


@dataclass
class LabScan(Generic[M]):
    """Records that parsed (sorted by path) and every problem found on the way."""

    records: list[Record[M]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _warn(rel: str, message: str) -> Problem:
    return Problem(path=rel, code="unknown-file", severity="warning", message=message)


def _load_into(scan: LabScan, root: Path, rel: str, model: type) -> None:
    try:
        scan.records.append(load_record(root, rel, model))
    except InvalidPage as exc:
        scan.problems.extend(exc.problems)
    except NotFound:  # removed between listing and reading
        pass


def _entries(root: Path, rel: str, problems: list[Problem] | None = None) -> list[os.DirEntry]:
    """The entries of root/rel, sorted; nothing when it is missing, leaves the root or loops
    (reported into `problems` when given). Entries are not followed here: readers resolve."""
    try:
        real = resolve_inside(root, rel)
        with os.scandir(real) as it:
            return sorted(it, key=lambda e: e.name)
    except UnsafePath as exc:
        if problems is not None:
            problems.append(Problem(path=rel, code=exc.code, message=exc.message))
        return []
    except (NotFound, OSError):
        return []


def read_experiment(root: Path, slug: str) -> Record[Experiment]:
    """The experiment with this slug (UnsafeId, NotFound naming it, InvalidPage)."""
    rel = experiment_path(slug).as_posix()
    try:
        record = load_record(root, rel, Experiment)
    except NotFound:
        hint = suggest(root, "experiment", slug)
        raise NotFound(f"no experiment {experiment_id(slug)!r}{hint}", path=rel) from None
    if record.model.id != experiment_id(slug):
        raise UsageError(
            f"id {record.model.id!r} does not match its directory (expected "
            f"{experiment_id(slug)!r})",
            path=rel,
            field="id",
        )
    return record


def scan_experiments(root: Path) -> LabScan[Experiment]:
    """Every experiments/<slug>/README.md."""
    scan: LabScan[Experiment] = LabScan()
    for entry in _entries(root, EXPERIMENTS_DIR, scan.problems):
        rel = f"{EXPERIMENTS_DIR}/{entry.name}"
        if entry.name in _IGNORED:
            continue
        if entry.is_symlink():
            try:
                resolve_inside(root, rel)
            except UnsafePath as exc:  # leaves the root or loops: an error, never followed
                scan.problems.append(Problem(path=rel, code=exc.code, message=exc.message))
                continue
            except NotFound:
                pass
            scan.problems.append(_warn(rel, "symlinked experiment directory is not scanned"))
            continue
        if not entry.is_dir(follow_symlinks=False):
            scan.problems.append(_warn(rel, "not an experiment directory"))
            continue
        if name_slug_problem(entry.name):
            scan.problems.append(_warn(rel, "not an experiment slug; not scanned"))
            continue
        try:
            scan.records.append(load_record(root, f"{rel}/{EXPERIMENT_FILE}", Experiment))
        except InvalidPage as exc:
            scan.problems.extend(exc.problems)
        except NotFound:
            scan.problems.append(
                Problem(
                    path=rel,
                    code="experiment-missing-readme",
                    message=f"experiment directory has no {EXPERIMENT_FILE}",
                )
            )
    return scan


def scan_tests(root: Path, slug: str) -> LabScan[ExperimentTest]:
    """Every experiments/<slug>/tests/*.md."""
    scan: LabScan[ExperimentTest] = LabScan()
    base = experiment_dir(slug) / TESTS_DIR
    for entry in _entries(root, base.as_posix(), scan.problems):
        rel = (base / entry.name).as_posix()
        if entry.name in _IGNORED:
            continue
        if not entry.name.endswith(".md") or name_slug_problem(entry.name[:-3]):
            scan.problems.append(_warn(rel, "not a test file (tests are <slug>.md)"))
            continue
        _load_into(scan, root, rel, ExperimentTest)
    return scan


def run_files(root: Path, slug: str) -> list[PurePosixPath]:
    """The run record paths (not event logs) under experiments/<slug>/runs/."""
    base = experiment_dir(slug) / RUNS_DIR
    return [
        base / e.name
        for e in _entries(root, base.as_posix())
        if e.name.endswith(".md") and e.name not in _IGNORED
    ]


def scan_runs(root: Path, slug: str) -> LabScan[RunRecord]:
    """Every run record of one experiment."""
    scan: LabScan[RunRecord] = LabScan()
    base = experiment_dir(slug) / RUNS_DIR
    for entry in _entries(root, base.as_posix(), scan.problems):
        rel = (base / entry.name).as_posix()
        if entry.name in _IGNORED or entry.name.endswith(SIDECAR_SUFFIXES):
            continue
        if entry.name.startswith("."):  # temp files of an atomic write
            continue
        if not entry.name.endswith(".md"):
            scan.problems.append(_warn(rel, "not a run file (runs are run.<slug>.md)"))
            continue
        _load_into(scan, root, rel, RunRecord)
    return scan


def locate_run(root: Path, run_id: str) -> tuple[str, str]:
    """(experiment slug, record path) of a run, found by its id alone."""
    check_run_id(run_id)
    name = f"{run_id}.md"
    hits = sorted(
        e.name
        for e in _entries(root, EXPERIMENTS_DIR)
        if not name_slug_problem(e.name)
        and regular_file(root, f"{EXPERIMENTS_DIR}/{e.name}/{RUNS_DIR}/{name}")
    )
    if not hits:
        raise NotFound(f"no run {run_id!r}{suggest(root, 'run', run_id)}", field="run")
    if len(hits) > 1:
        where = ", ".join(hits)
        raise UsageError(f"run {run_id!r} exists in several experiments: {where}", field="run")
    return hits[0], f"{EXPERIMENTS_DIR}/{hits[0]}/{RUNS_DIR}/{name}"


def lab_record_ids(root: Path) -> frozenset[str] | None:
    """The ids of the experiments, tests and runs under experiments/, from file names alone
    (nothing is parsed: a review's evidence names them, and only their existence is asked).
    None when the root has no experiments/ directory (a knowledge directory served apart from
    its records, say): then nothing can be said about them."""
    try:
        if not resolve_inside(root, EXPERIMENTS_DIR).is_dir():
            return None
    except (NotFound, UnsafePath, OSError):
        return None
    out: set[str] = set()
    for entry in _entries(root, EXPERIMENTS_DIR):
        slug = entry.name
        if name_slug_problem(slug) or not entry.is_dir():
            continue
        base = experiment_dir(slug)
        if regular_file(root, (base / EXPERIMENT_FILE).as_posix()):
            out.add(experiment_id(slug))
        for item in _entries(root, (base / TESTS_DIR).as_posix()):
            name = item.name
            if name.endswith(".md") and not name_slug_problem(name[:-3]):
                out.add(f"test.{slug}.{name[:-3]}")
        for item in _entries(root, (base / RUNS_DIR).as_posix()):
            name = item.name
            if name.startswith("run.") and name.endswith(".md") and name not in _IGNORED:
                out.add(name[:-3])
    return frozenset(out)
