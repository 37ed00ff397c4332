"""Run records: start a run inside an experiment, finish it, read and list runs.

Status: running until finished; `finished` (the run went to its end), `failed` (the run itself
broke: the agent crashed, the harness errored) or `aborted` (stopped early: by a person or a
time limit). Outcome, separately: success, failure or partial — whether the task was done.
"""

from __future__ import annotations

import datetime as dt
import secrets
import subprocess
from pathlib import Path

from experimentos.errors import AlreadyExists, NotFound, UsageError
from experimentos.lab.experiments import read_experiment, utc_now
from experimentos.lab.runs.events import read_events, run_lock
from experimentos.lab.runs.metrics import compute_metrics
from experimentos.models.lab import (
    ExperimentStatus,
    MetricValue,
    RunOutcome,
    RunRecord,
    RunStatus,
    metric_name_problem,
)
from experimentos.store import Workspace
from experimentos.store.lab_paths import check_run_id, run_path
from experimentos.store.lab_scan import locate_run, scan_experiments, scan_runs
from experimentos.store.records import Record, load_record, save_record

ENDED = (RunStatus.finished, RunStatus.failed, RunStatus.aborted)


def knowledge_commit(root: Path) -> str | None:
    """git HEAD of the repository holding the knowledge root, or None outside git."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def new_run_id(now: dt.datetime | None = None) -> str:
    """run.<UTC time>-<random>: sortable by start, unique without coordination."""
    stamp = (now or utc_now()).astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"run.{stamp}-{secrets.token_hex(3)}"


def parse_run_status(name: str) -> RunStatus:
    try:
        return RunStatus(name.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise UsageError(
            f"unknown status {name!r} (expected one of: {names})", field="status"
        ) from None


def parse_outcome(name: str) -> RunOutcome:
    try:
        return RunOutcome(name.strip().lower())
    except ValueError:
        names = ", ".join(o.value for o in RunOutcome)
        raise UsageError(
            f"unknown outcome {name!r} (expected one of: {names})", field="outcome"
        ) from None


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def start_run(
    workspace: Workspace,
    experiment: str,
    task: str,
    agent: str | None = None,
    model: str | None = None,
    toolchain: str | None = None,
    condition: str | None = None,
    brief: str | None = None,
    run_id: str | None = None,
    now: dt.datetime | None = None,
) -> Record[RunRecord]:
    """Record the start of a run; every run belongs to an existing, not archived experiment."""
    exp = read_experiment(workspace, experiment)
    if exp.model.status is ExperimentStatus.archived:
        raise UsageError(
            f"{exp.model.id} is archived; start runs in another experiment",
            path=exp.path,
            field="experiment",
        )
    if not task.strip():
        raise UsageError("a run needs a non-empty task", field="task")
    started = now or utc_now()
    run_id = check_run_id(run_id) if run_id else new_run_id(started)
    try:
        locate_run(workspace.root, run_id)
    except NotFound:
        pass
    else:
        raise AlreadyExists(f"run {run_id!r} already exists", field="run")
    record = RunRecord(
        id=run_id,
        experiment=exp.model.id,
        task=task.strip(),
        agent=_clean(agent),
        model=_clean(model),
        toolchain=_clean(toolchain),
        condition=_clean(condition),
        brief=_clean(brief),
        knowledge_commit=knowledge_commit(workspace.root),
        started=started,
    )
    return save_record(workspace.root, run_path(exp.model.slug, run_id).as_posix(), record)


def read_run(workspace: Workspace, run_id: str) -> Record[RunRecord]:
    """The run record with this id, found from the id alone (UnsafeId, NotFound, InvalidPage)."""
    _, rel = locate_run(workspace.root, run_id)
    record = load_record(workspace.root, rel, RunRecord)
    if record.model.id != run_id:
        raise UsageError(
            f"id {record.model.id!r} does not match its file name", path=rel, field="id"
        )
    return record


def list_runs(
    workspace: Workspace, experiment: str | None = None, status: str | None = None
) -> list[RunRecord]:
    """Runs that parse, by start time, optionally of one experiment and one status."""
    want = parse_run_status(status) if status else None
    if experiment:
        slugs = [read_experiment(workspace, experiment).model.slug]
    else:
        slugs = [r.model.slug for r in scan_experiments(workspace.root).records]
    runs = [r.model for slug in slugs for r in scan_runs(workspace.root, slug).records]
    return sorted(
        (r for r in runs if want is None or r.status is want), key=lambda r: (r.started, r.id)
    )


def finish_run(
    workspace: Workspace,
    run_id: str,
    status: str = "finished",
    outcome: str | None = None,
    summary: str = "",
    metrics: dict[str, MetricValue] | None = None,
    now: dt.datetime | None = None,
) -> Record[RunRecord]:
    """End a running run: status, outcome, ended time, summary, and metrics from its events.

    Extra `metrics` (e.g. from an oracle) are stored beside the computed ones; a computed name
    cannot be overridden. Serialised with appends, so no event slips in between.
    """
    end_status = parse_run_status(status)
    if end_status is RunStatus.running:
        names = ", ".join(s.value for s in ENDED)
        raise UsageError(f"a run finishes as one of: {names}", field="status")
    end_outcome = parse_outcome(outcome) if outcome else None
    for name in metrics or {}:
        problem = metric_name_problem(name)
        if problem:
            raise UsageError(problem, field="metrics")
    with run_lock(workspace.root, check_run_id(run_id)):
        record = read_run(workspace, run_id)
        run = record.model
        if run.status is not RunStatus.running:
            raise UsageError(
                f"{run_id} already ended ({run.status.value})", path=record.path, field="status"
            )
        ended = max(now or utc_now(), run.started)
        computed = compute_metrics(read_events(workspace, run_id).events).model_dump()
        computed["duration_seconds"] = round((ended - run.started).total_seconds(), 3)
        clash = sorted(set(metrics or {}) & set(computed))
        if clash:
            raise UsageError(
                f"{'metrics' if len(clash) > 1 else 'metric'} {', '.join(clash)} "
                f"{'are' if len(clash) > 1 else 'is'} computed from the events",
                field="metrics",
            )
        changed = run.model_copy(
            update={
                "status": end_status,
                "outcome": end_outcome,
                "ended": ended,
                "metrics": {**computed, **(metrics or {})},
                "body": summary.strip() + "\n" if summary.strip() else run.body,
            }
        )
        return save_record(workspace.root, record.path, changed, like=record)
