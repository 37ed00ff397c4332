"""Experiment verbs: create, list, tree, describe, change status/metrics/parent, delete.

Lifecycle: draft -> running -> interpreted -> archived; interpreted -> running reopens;
archived is final. Every transition is appended to the experiment's statusHistory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from experimentos.errors import (
    AlreadyExists,
    ExperimentosError,
    IllegalTransition,
    NotFound,
    UnsafeId,
    UsageError,
)
from experimentos.models.knowledge import Problem
from experimentos.models.lab import (
    TRANSITIONS,
    Experiment,
    ExperimentKind,
    ExperimentStatus,
    MetricValue,
    RunStatus,
    StatusChange,
    metric_name_problem,
)
from experimentos.store import Workspace
from experimentos.store.files import inside, write_lock
from experimentos.store.lab_paths import (
    experiment_dir,
    experiment_id,
    experiment_path,
    experiment_slug,
    slugify,
)
from experimentos.store.lab_scan import read_experiment as read_experiment_at
from experimentos.store.lab_scan import run_files, scan_experiments, scan_runs, scan_tests
from experimentos.store.records import Record, save_record

_BODY = "## Setup\n\n## Interpretation\n"


def utc_now() -> dt.datetime:
    """Now, in UTC, to the second (record timestamps)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def parse_kind(name: str) -> ExperimentKind:
    try:
        return ExperimentKind(name.strip().lower())
    except ValueError:
        names = ", ".join(k.value for k in ExperimentKind)
        raise UsageError(
            f"unknown kind {name!r} (expected one of: {names})", field="kind"
        ) from None


def parse_experiment_status(name: str) -> ExperimentStatus:
    try:
        return ExperimentStatus(name.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in ExperimentStatus)
        raise UsageError(
            f"unknown status {name!r} (expected one of: {names})", field="status"
        ) from None


def read_experiment(workspace: Workspace, ref: str) -> Record[Experiment]:
    """The experiment named by slug or id (UnsafeId, NotFound naming it, InvalidPage)."""
    return read_experiment_at(workspace.root, experiment_slug(ref))


def _save(workspace: Workspace, record: Record[Experiment], changed: Experiment):
    return save_record(workspace.root, record.path, changed, like=record)


def _check_parent(workspace: Workspace, child_id: str | None, parent_ref: str) -> str:
    """The parent's id; it must exist, and making it the parent must not close a cycle."""
    try:
        parent = read_experiment(workspace, parent_ref)
    except NotFound:
        raise NotFound(f"parent experiment {parent_ref!r} does not exist", field="parent") from None
    if child_id is None:  # a new experiment cannot be anybody's ancestor yet
        return parent.model.id
    chain = [child_id]
    current: Experiment | None = parent.model
    while current is not None:
        chain.append(current.id)
        if current.id == child_id:
            raise UsageError(f"parent would create a cycle: {' -> '.join(chain)}", field="parent")
        if current.parent is None or current.parent in chain[1:]:
            break
        try:
            current = read_experiment(workspace, current.parent).model
        except ExperimentosError:  # a missing or broken ancestor ends the walk; check reports it
            current = None
    return parent.model.id


def _what_is_there(directory: Path, slug: str) -> str:
    """Why `exp new` cannot create experiments/<slug>/: an experiment, or what else is there."""
    eid = experiment_id(slug)
    shown = experiment_dir(slug).as_posix()
    if directory.is_symlink() or not directory.is_dir():
        return f"{shown} exists and is not a directory; choose another name or remove it"
    if (directory / "README.md").is_file():
        return f"experiment {eid!r} already exists"
    entries = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name)[:12]:
        if entry.is_dir(follow_symlinks=False):
            count = sum(1 for _ in os.scandir(entry.path))
            entries.append(f"{entry.name}/ ({count} file{'s' if count != 1 else ''})")
        else:
            entries.append(entry.name)
    held = ", ".join(entries) or "nothing"
    return (
        f"{shown}/ exists but has no README.md, so it is not an experiment (it holds: {held}); "
        f"write {shown}/README.md with id {eid} to make it one, or choose another name"
    )


def new_experiment(
    workspace: Workspace,
    name: str,
    kind: str,
    parent: str | None = None,
    hypothesis: str = "",
    now: dt.datetime | None = None,
) -> Record[Experiment]:
    """Create experiments/<slug>/README.md (draft); the slug comes from the name."""
    if not name.strip():
        raise UsageError("an experiment needs a non-empty name", field="name")
    slug = slugify(name)
    rel = experiment_path(slug).as_posix()
    directory = workspace.root / experiment_dir(slug)
    if directory.exists() or directory.is_symlink():
        raise AlreadyExists(_what_is_there(directory, slug), path=rel)
    experiment = Experiment(
        id=experiment_id(slug),
        name=name.strip(),
        kind=parse_kind(kind),
        parent=_check_parent(workspace, None, parent) if parent else None,
        hypothesis=hypothesis.strip(),
        created=now or utc_now(),
        body=_BODY,
    )
    return save_record(workspace.root, rel, experiment)


def list_experiments(
    workspace: Workspace,
    kind: str | None = None,
    status: str | None = None,
    parent: str | None = None,
) -> list[Experiment]:
    """Experiments that parse, sorted by id, optionally filtered by kind, status and parent."""
    want_kind = parse_kind(kind) if kind else None
    want_status = parse_experiment_status(status) if status else None
    want_parent = experiment_id(experiment_slug(parent)) if parent else None
    return sorted(
        (
            r.model
            for r in scan_experiments(workspace.root).records
            if (want_kind is None or r.model.kind is want_kind)
            and (want_status is None or r.model.status is want_status)
            and (want_parent is None or r.model.parent == want_parent)
        ),
        key=lambda e: e.id,
    )


class ExperimentNode(BaseModel):
    """One experiment in the parent/child tree."""

    id: str
    name: str
    kind: str
    status: str
    children: list[ExperimentNode] = Field(default_factory=list)
    problem: str | None = None  # e.g. the parent is missing, or a hand-edited cycle


class ExperimentTree(BaseModel):
    roots: list[ExperimentNode]
    problems: list[Problem] = Field(default_factory=list)


def experiment_tree(workspace: Workspace) -> ExperimentTree:
    """Experiments as a forest under their parents; a missing parent or a cycle is flagged."""
    scan = scan_experiments(workspace.root)
    by_id = {r.model.id: r.model for r in scan.records}
    children: dict[str | None, list[Experiment]] = {}
    for exp in sorted(by_id.values(), key=lambda e: e.id):
        key = exp.parent if exp.parent in by_id else None
        children.setdefault(key, []).append(exp)
    seen: set[str] = set()

    def node(exp: Experiment, problem: str | None = None) -> ExperimentNode:
        seen.add(exp.id)
        kids = [node(c) for c in children.get(exp.id, []) if c.id not in seen]
        return ExperimentNode(
            id=exp.id,
            name=exp.name,
            kind=exp.kind.value,
            status=exp.status.value,
            children=kids,
            problem=problem,
        )

    roots = []
    for exp in children.get(None, []):
        missing = f"parent {exp.parent} does not exist" if exp.parent else None
        roots.append(node(exp, missing))
    for exp in sorted(by_id.values(), key=lambda e: e.id):
        if exp.id not in seen:  # only a parent cycle (hand-edited files) leaves a node unreached
            roots.append(node(exp, f"parent cycle through {exp.parent}"))
    return ExperimentTree(roots=roots, problems=scan.problems)


class ExperimentSummary(BaseModel):
    """An experiment with the counts `exp show` prints."""

    experiment: Experiment
    path: str
    children: list[str]
    runs: int
    runs_by_status: dict[str, int]
    tests: int
    tests_passed: int
    tests_failed: int
    tests_unevaluated: int
    problems: list[Problem] = Field(default_factory=list)


def describe_experiment(workspace: Workspace, ref: str) -> ExperimentSummary:
    """The experiment plus counts of its runs (by status) and tests (passed/failed/unset)."""
    record = read_experiment(workspace, ref)
    exp = record.model
    tests = scan_tests(workspace.root, exp.slug)
    runs = scan_runs(workspace.root, exp.slug)
    by_status = {s.value: 0 for s in RunStatus}
    for run in runs.records:
        by_status[run.model.status.value] += 1
    verdicts = [t.model.passed for t in tests.records]
    return ExperimentSummary(
        experiment=exp,
        path=record.path,
        children=[e.id for e in list_experiments(workspace, parent=exp.id)],
        runs=len(runs.records),
        runs_by_status=by_status,
        tests=len(tests.records),
        tests_passed=verdicts.count(True),
        tests_failed=verdicts.count(False),
        tests_unevaluated=verdicts.count(None),
        problems=tests.problems + runs.problems,
    )


def allowed_transitions(status: ExperimentStatus) -> list[str]:
    return [s.value for s in TRANSITIONS[status]]


def set_experiment_status(
    workspace: Workspace,
    ref: str,
    status: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Record[Experiment]:
    """Move an experiment along its lifecycle; an illegal move names the allowed ones."""
    record = read_experiment(workspace, ref)
    changed = _with_status(record, record.model, status, note, now)
    return _save(workspace, record, changed)


def _with_status(
    record: Record[Experiment],
    exp: Experiment,
    status: str,
    note: str,
    now: dt.datetime | None,
) -> Experiment:
    """`exp` moved to `status` (IllegalTransition naming the allowed moves otherwise)."""
    target = parse_experiment_status(status)
    allowed = allowed_transitions(exp.status)
    if target not in TRANSITIONS[exp.status]:
        if not allowed:
            message = f"{exp.id} is {exp.status.value}, which is final; no transition is allowed"
        else:
            message = (
                f"{exp.id} cannot go from {exp.status.value} to {target.value}; "
                f"allowed: {', '.join(allowed)}"
            )
        raise IllegalTransition(message, allowed, path=record.path)
    change = StatusChange(from_=exp.status, to=target, at=now or utc_now(), note=note.strip())
    return exp.model_copy(
        update={"status": target, "status_history": [*exp.status_history, change]}
    )


def parse_metric_value(text: str) -> MetricValue:
    """A metric value from the command line: true/false, an int, a float, else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    with contextlib.suppress(ValueError):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        raise UsageError(f"metric value {text!r} is not a finite number", field="value")
    return value


def set_experiment_metric(
    workspace: Workspace, ref: str, name: str, value: MetricValue | None
) -> Record[Experiment]:
    """Set (or with value None remove) one of the experiment's aggregate metrics."""
    problem = metric_name_problem(name)
    if problem:
        raise UsageError(problem, field="name")
    if value is not None and not isinstance(value, bool | int | float | str):
        raise UsageError(f"metric value {value!r} must be a number, true/false or text")
    record = read_experiment(workspace, ref)
    exp = record.model
    metrics = _with_metrics(record, exp.metrics, {name: value})
    return _save(workspace, record, exp.model_copy(update={"metrics": metrics}))


def _with_metrics(
    record: Record[Experiment], current: dict, changes: dict[str, MetricValue | None]
) -> dict:
    """`current` with `changes` applied (None removes a metric, which must exist)."""
    metrics = dict(current)
    for name, value in changes.items():
        if value is not None:
            metrics[name] = value
        elif name in metrics:
            del metrics[name]
        else:
            raise NotFound(
                f"{record.model.id} has no metric {name!r}",
                path=record.path,
                field=f"metrics.{name}" if len(changes) > 1 else "metrics",
            )
    return metrics


def update_experiment(
    workspace: Workspace,
    ref: str,
    *,
    metrics: dict[str, MetricValue | None] | None = None,
    parent: str | None = None,
    set_parent: bool = False,
    status: str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Record[Experiment]:
    """Change metrics (None removes one), the parent (with `set_parent`; None makes it a root)
    and the status in ONE atomic write: every change is checked first, and either all of
    them land or none does (a PATCH of 1,500 metrics is one fsync, not 1,500)."""
    metrics = metrics or {}
    for name, value in metrics.items():
        problem = metric_name_problem(name)
        if problem:
            raise UsageError(problem, field=f"metrics.{name}")
        if value is not None and not isinstance(value, bool | int | float | str):
            raise UsageError(
                "a metric is a number, true/false, text or null", field=f"metrics.{name}"
            )
    if status is not None:
        parse_experiment_status(status)  # a bad status fails before anything is read
    record = read_experiment(workspace, ref)
    exp = record.model
    if set_parent:
        parent_id = _check_parent(workspace, exp.id, parent) if parent else None
        exp = exp.model_copy(update={"parent": parent_id})
    if metrics:
        exp = exp.model_copy(update={"metrics": _with_metrics(record, exp.metrics, metrics)})
    if status is not None:
        exp = _with_status(record, exp, status, note, now)
    return _save(workspace, record, exp)


def set_experiment_parent(workspace: Workspace, ref: str, parent: str | None) -> Record[Experiment]:
    """Re-parent an experiment (None: make it a root); refuse a missing parent or a cycle."""
    record = read_experiment(workspace, ref)
    exp = record.model
    parent_id = _check_parent(workspace, exp.id, parent) if parent else None
    return _save(workspace, record, exp.model_copy(update={"parent": parent_id}))


class DeletedExperiment(BaseModel):
    id: str
    removed: list[str]  # files removed, relative to the root
    tests: int
    runs: int


def delete_experiment(workspace: Workspace, ref: str, force: bool = False) -> DeletedExperiment:
    """Delete an experiment with its tests; refuse while runs exist unless `force`.

    Child experiments always block the delete: they would be left with a missing parent.
    """
    record = read_experiment(workspace, ref)
    exp = record.model
    kids = [e.id for e in list_experiments(workspace, parent=exp.id)]
    if kids:
        raise UsageError(
            f"{exp.id} has child experiments ({', '.join(kids)}); delete or re-parent them first",
            path=record.path,
        )
    root = workspace.root
    runs = run_files(root, exp.slug)
    if runs and not force:
        names = ", ".join(p.name.removesuffix(".md") for p in runs[:5])
        more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
        raise UsageError(
            f"{exp.id} has {len(runs)} run{'s' if len(runs) != 1 else ''} ({names}{more}); "
            "pass --force to delete them too",
            path=record.path,
        )
    tests = scan_tests(root, exp.slug)
    directory = root / experiment_dir(exp.slug)
    with write_lock(root):
        if directory.is_symlink() or not inside(root, directory):
            raise UnsafeId(
                "refusing to delete through a symlink", path=str(experiment_dir(exp.slug))
            )
        removed = sorted(
            workspace.relpath(p) for p in directory.rglob("*") if p.is_file() or p.is_symlink()
        )
        shutil.rmtree(directory)
    return DeletedExperiment(id=exp.id, removed=removed, tests=len(tests.records), runs=len(runs))
