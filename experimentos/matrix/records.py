"""Run records of matrix runs: start, finish (one atomic write), sidecars, and who owns a run.

A matrix run's record is written twice: at the start (status running, the cell's inputs) and at
the end, where status, outcome, metrics and every result land in a single atomic write. So a
record either holds a complete result (status finished) or visibly does not (running, failed,
aborted) — a reader never sees half a result, and only `finished` runs count.

While a runner executes a run it holds an exclusive lock on
.experimentos/matrix/locks/<run-id>.lock, holding the agent's pid and workdir. A `running`
record whose lock is free was orphaned (its runner was killed); `--resume` kills what is left of
its agent, marks the attempt and runs the cell again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experimentos.errors import InvalidPage, NotFound
from experimentos.lab.runs.events import events_rel, read_events, run_lock
from experimentos.lab.runs.metrics import compute_metrics
from experimentos.matrix.metrics import ground_truth
from experimentos.matrix.process import kill_group, process_start_time
from experimentos.models.lab import MatrixAttempt, MatrixRun, RunOutcome, RunRecord, RunStatus
from experimentos.store import Workspace
from experimentos.store.documents import checksum
from experimentos.store.files import STATE_DIR, atomic_write, safe_target
from experimentos.store.lab_paths import DIFF_SUFFIX, RUNS_DIR, TRANSCRIPT_SUFFIX, experiment_dir
from experimentos.store.parse import load_json
from experimentos.store.records import Record, load_record, save_record

LOCKS_DIR = f"{STATE_DIR}/matrix/locks"
WORKDIR_PREFIX = "xos-run-"


def record_rel(slug: str, run_id: str) -> str:
    return (experiment_dir(slug) / RUNS_DIR / f"{run_id}.md").as_posix()


def diff_rel(slug: str, run_id: str) -> str:
    return (experiment_dir(slug) / RUNS_DIR / f"{run_id}{DIFF_SUFFIX}").as_posix()


def transcript_rel(slug: str, run_id: str) -> str:
    return (experiment_dir(slug) / RUNS_DIR / f"{run_id}{TRANSCRIPT_SUFFIX}").as_posix()


def sidecar_rels(slug: str, run_id: str) -> list[str]:
    rel = record_rel(slug, run_id)
    return [events_rel(rel), diff_rel(slug, run_id), transcript_rel(slug, run_id)]


@dataclass
class Existing:
    """A record already on disk for a cell's run id."""

    record: Record[RunRecord] | None
    problem: str | None = None  # the file exists but does not parse

    @property
    def status(self) -> RunStatus | None:
        return self.record.model.status if self.record else None

    @property
    def counted(self) -> bool:
        """Only finished runs are results."""
        return self.status is RunStatus.finished

    @property
    def cell_hash(self) -> str | None:
        block = self.record.model.matrix if self.record else None
        return block.cell_hash if block else None


def existing_runs(root: Path, slug: str, run_ids: list[str]) -> dict[str, Existing]:
    """The records that exist for these run ids (one directory listing, then one parse each)."""
    base = Path(root) / experiment_dir(slug) / RUNS_DIR
    try:
        names = set(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found: dict[str, Existing] = {}
    for run_id in run_ids:
        if f"{run_id}.md" not in names:
            continue
        try:
            found[run_id] = Existing(load_record(root, record_rel(slug, run_id), RunRecord))
        except (InvalidPage, NotFound) as exc:
            found[run_id] = Existing(None, str(exc))
    return found


def write_file(root: Path, rel: str, data: bytes) -> None:
    """Write (or replace) a sidecar atomically."""
    target = safe_target(root, rel)
    expected = checksum(target.read_bytes()) if target.is_file() else None
    atomic_write(root, rel, data, expected=expected)


def remove_attempt_files(root: Path, slug: str, run_id: str) -> None:
    """Delete the event log and sidecars of an earlier attempt (the record is overwritten)."""
    for rel in sidecar_rels(slug, run_id):
        target = safe_target(root, rel)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


def start_record(
    workspace: Workspace,
    slug: str,
    run: RunRecord,
    previous: Record[RunRecord] | None,
) -> Record[RunRecord]:
    """Write the record of a run that starts now, replacing an earlier attempt's record (whose
    status and reason go to `previousAttempts`)."""
    root = workspace.root
    rel = record_rel(slug, run.id)
    if previous is None:
        return save_record(root, rel, run)
    remove_attempt_files(root, slug, run.id)
    return save_record(root, rel, run, like=previous)


def previous_attempts(existing: Existing | None) -> tuple[int, list[MatrixAttempt]]:
    """(the next attempt number, the earlier attempts) of a cell about to be run again."""
    if existing is None or existing.record is None:
        return 1, []
    run = existing.record.model
    block = run.matrix
    earlier = list(block.previous_attempts) if block else []
    reason = (block.reason if block else None) or ""
    if run.status is RunStatus.running:
        reason = reason or "interrupted: its runner stopped while the run was in flight"
    earlier.append(MatrixAttempt(status=_as_ended(run.status), reason=reason, ended=run.ended))
    return (block.attempt if block else 1) + 1, earlier


def _as_ended(status: RunStatus) -> RunStatus:
    return RunStatus.aborted if status is RunStatus.running else status


def finish_record(
    workspace: Workspace,
    run_id: str,
    *,
    status: RunStatus,
    outcome: RunOutcome | None,
    matrix: dict[str, Any],
    metrics: dict[str, Any],
    summary: str,
    now: dt.datetime | None = None,
) -> Record[RunRecord]:
    """End a matrix run in one write: status, outcome, metrics computed from its events plus
    `metrics`, and the `matrix` block updated with `matrix` (camelCase keys)."""
    root = workspace.root
    with run_lock(root, run_id):
        from experimentos.lab.runs.records import read_run

        record = read_run(workspace, run_id)
        run = record.model
        ended = max(now or dt.datetime.now(dt.UTC), run.started)
        events = read_events(workspace, run_id).events
        computed = compute_metrics(events).model_dump()
        computed["duration_seconds"] = round((ended - run.started).total_seconds(), 3)
        extra = {k: v for k, v in metrics.items() if v is not None and k not in computed}
        block = (run.matrix.model_dump(by_alias=True) if run.matrix else {}) | matrix
        changed = run.model_copy(
            update={
                "status": status,
                "outcome": outcome,
                "ended": ended,
                "metrics": {**computed, **extra},
                "matrix": MatrixRun.model_validate(block),
                "body": summary.strip() + "\n",
            }
        )
        # The ground-truth metrics, each with its source, so the record describes itself.
        truth = ground_truth(changed, events)
        changed.matrix = changed.matrix.model_copy(update={"ground_truth": truth})
        return save_record(root, record.path, changed, like=record)


# --- who owns a run ---------------------------------------------------------------------------


class Claim:
    """An exclusive, non-blocking claim on one run id, held while a runner executes it."""

    def __init__(self, root: Path, run_id: str):
        self.path = Path(root) / LOCKS_DIR / f"{run_id}.lock"
        self.handle = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open as the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def read(self) -> dict[str, Any]:
        """What the previous owner left: {pid, start, workdir}."""
        assert self.handle is not None
        self.handle.seek(0)
        try:
            data = load_json(self.handle.read() or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def note(self, **info: Any) -> None:
        """Record the agent's pid (with its start time) and the workdir for a later runner."""
        assert self.handle is not None
        if "pid" in info:
            info["start"] = process_start_time(info["pid"])
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps(info))
        self.handle.flush()

    def release(self, clear: bool = False) -> None:
        """Let go; with `clear` also forget the agent's pid (the run ended and cleaned up)."""
        if self.handle is not None:
            if clear:
                with contextlib.suppress(OSError):
                    self.handle.truncate(0)
            self.handle.close()
            self.handle = None


def clean_orphan(claim: Claim) -> None:
    """Kill what is left of an orphaned run's agent and remove its workdir."""
    left = claim.read()
    pid, start = left.get("pid"), left.get("start")
    if isinstance(pid, int) and start and process_start_time(pid) == start:
        kill_group(pid)
    workdir = left.get("workdir")
    if isinstance(workdir, str):
        path = Path(workdir)
        tmp = Path(tempfile.gettempdir()).resolve()
        if path.name.startswith(WORKDIR_PREFIX) and path.resolve().parent == tmp:
            shutil.rmtree(path, ignore_errors=True)
