"""`check` for the experiments tree: every experiment, test, run record and event log.

Codes (besides the parse codes shared with pages):
  errors   id-path-mismatch, dangling-reference, parent-cycle, experiment-missing-readme,
           event-invalid, event-step-order
  warnings unknown-file, event-torn-line
"""

from __future__ import annotations

from pathlib import PurePosixPath

from experimentos.errors import NotFound, UnsafePath
from experimentos.lab.runs.events import events_rel, parse_events
from experimentos.models.knowledge import Problem
from experimentos.store import Workspace
from experimentos.store.lab_paths import (
    RUNS_DIR,
    SIDECAR_SUFFIXES,
    experiment_dir,
    experiment_id,
    make_test_id,
)
from experimentos.store.lab_scan import scan_experiments, scan_runs, scan_tests
from experimentos.store.safe import read_regular


def _mismatch(path: str, got: str, expected: str, field: str = "id") -> Problem:
    return Problem(
        path=path,
        field=field,
        code="id-path-mismatch",
        message=f"{got!r} does not match its path (expected {expected!r})",
    )


def check_experiments(workspace: Workspace) -> list[Problem]:
    """Every problem under experiments/, with path, field and code; never stops early."""
    root = workspace.root
    scan = scan_experiments(root)
    problems = list(scan.problems)
    parents: dict[str, str | None] = {}
    paths: dict[str, str] = {}
    run_ids: set[str] = set()
    for record in scan.records:
        slug = PurePosixPath(record.path).parent.name
        exp = record.model
        if exp.id != experiment_id(slug):
            problems.append(_mismatch(record.path, exp.id, experiment_id(slug)))
        parents[exp.id] = exp.parent
        paths[exp.id] = record.path
        problems.extend(_check_runs(workspace, slug, run_ids))
    for record in scan.records:
        slug = PurePosixPath(record.path).parent.name
        problems.extend(_check_tests(workspace, slug, run_ids))
    for exp_id, parent in parents.items():
        if parent is not None and parent not in parents:
            problems.append(
                Problem(
                    path=paths[exp_id],
                    field="parent",
                    code="dangling-reference",
                    message=f"parent {parent!r} does not exist",
                )
            )
    problems.extend(_parent_cycles(parents, paths))
    return problems


def _check_runs(workspace: Workspace, slug: str, run_ids: set[str]) -> list[Problem]:
    root = workspace.root
    runs = scan_runs(root, slug)
    problems = list(runs.problems)
    for record in runs.records:
        run = record.model
        run_ids.add(run.id)
        expected = PurePosixPath(record.path).name.removesuffix(".md")
        if run.id != expected:
            problems.append(_mismatch(record.path, run.id, expected))
        if run.experiment != experiment_id(slug):
            problems.append(
                _mismatch(record.path, run.experiment, experiment_id(slug), "experiment")
            )
        rel = events_rel(record.path)
        try:
            problems.extend(parse_events(read_regular(root, rel), rel)[1])
        except NotFound:
            pass
        except UnsafePath as exc:
            problems.append(Problem(path=rel, code=exc.code, message=exc.message))
    base = root / experiment_dir(slug) / RUNS_DIR
    if base.is_dir():
        for side in sorted(base.iterdir()):
            suffix = next((x for x in SIDECAR_SUFFIXES if side.name.endswith(x)), None)
            if suffix and not side.with_name(side.name.removesuffix(suffix) + ".md").exists():
                what = "event log" if suffix == SIDECAR_SUFFIXES[0] else f"{suffix} file"
                problems.append(
                    Problem(
                        path=workspace.relpath(side),
                        code="unknown-file",
                        severity="warning",
                        message=f"{what} without a run record",
                    )
                )
    return problems


def _check_tests(workspace: Workspace, slug: str, run_ids: set[str]) -> list[Problem]:
    tests = scan_tests(workspace.root, slug)
    problems = list(tests.problems)
    for record in tests.records:
        test = record.model
        expected = make_test_id(slug, PurePosixPath(record.path).name.removesuffix(".md"))
        if test.id != expected:
            problems.append(_mismatch(record.path, test.id, expected))
        refs = [("runRef", test.run_ref), ("assertion.run", getattr(test.assertion, "run", None))]
        for field, ref in refs:
            if ref not in (None, "latest") and ref not in run_ids:
                problems.append(
                    Problem(
                        path=record.path,
                        field=field,
                        code="dangling-reference",
                        message=f"run {ref!r} does not exist",
                    )
                )
    return problems


def _parent_cycles(parents: dict[str, str | None], paths: dict[str, str]) -> list[Problem]:
    problems, reported = [], set()
    for start in sorted(parents):
        chain, current = [], start
        while current is not None and current in parents and current not in chain:
            chain.append(current)
            current = parents[current]
        if current is not None and current in chain:
            cycle = chain[chain.index(current) :]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                problems.append(
                    Problem(
                        path=paths[cycle[0]],
                        field="parent",
                        code="parent-cycle",
                        message="parent cycle: " + " -> ".join([*cycle, cycle[0]]),
                    )
                )
    return problems
