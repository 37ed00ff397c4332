"""Run records of matrix runs: start, finish (one atomic write), sidecars, and who owns a run.

A matrix run's record is written twice: at the start (status running, the cell's inputs) and at
the end, where status, outcome, metrics and every result land in a single atomic write. So a
record either holds a complete result (status finished) or visibly does not (running, failed,
aborted) — a reader never sees half a result, and only `finished` runs count.

While a runner executes a run it holds an exclusive lock on
.experimentos/matrix/locks/<run-id>.lock, holding the pid of the agent's supervisor, its
workdir and a random token. A `running` record whose lock is free was orphaned (its runner was
killed); `--resume` kills what is left of its agent (only a supervisor that carries the token),
marks the attempt and runs the cell again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experimentos.errors import InvalidPage, NotFound, UnsafePath
from experimentos.lab.runs.events import events_rel, read_events, run_lock
from experimentos.lab.runs.metrics import compute_metrics
from experimentos.matrix.containment import KILL_WAIT_S, is_supervisor, running
from experimentos.matrix.containment import stop as stop_supervisor
from experimentos.matrix.metrics import ground_truth
from experimentos.matrix.process import kill_group, process_start_time
from experimentos.models.lab import MatrixAttempt, MatrixRun, RunOutcome, RunRecord, RunStatus
from experimentos.store import Workspace
from experimentos.store.documents import checksum
from experimentos.store.files import atomic_write, safe_target
from experimentos.store.lab_paths import (
    DIFF_SUFFIX,
    RUNS_DIR,
    TRANSCRIPT_SUFFIX,
    check_run_id,
    experiment_dir,
)
from experimentos.store.parse import load_json
from experimentos.store.records import Record, load_record, save_record
from experimentos.store.safe import NOT_A_FILE, open_lock, read_regular, state_path, state_rel

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
    safe_target(root, rel)
    try:
        expected = checksum(read_regular(root, rel))
    except NotFound:
        expected = None
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


def previous_attempts(
    existing: Existing | None, why: str | None = None
) -> tuple[int, list[MatrixAttempt]]:
    """(the next attempt number, the earlier attempts) of a cell about to be run again; `why`
    says why a finished result is replaced (its fingerprint changed)."""
    if existing is None or existing.record is None:
        return 1, []
    run = existing.record.model
    block = run.matrix
    earlier = list(block.previous_attempts) if block else []
    reason = why or (block.reason if block else None) or ""
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

LOCKS = ("matrix", "locks")  # under the state directory
CLAIM_FILE = ".claim"  # in a run's workdir: the token of the runner that made it
MAX_CLAIM_BYTES = 64 * 1024
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def parse_claim(raw: bytes) -> dict[str, Any]:
    """What a lock file says, keeping only well-formed fields: {pid, start, workdir, token}.

    A lock file is state a repository could ship (or anyone could plant): nothing in it is
    trusted, and bytes that are not a JSON object give {}. Never raises."""
    if len(raw) > MAX_CLAIM_BYTES:
        return {}
    try:
        data = load_json(raw or b"{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    pid = data.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and 1 < pid < 2**22:
        out["pid"] = pid
    start = data.get("start")
    if isinstance(start, str) and start.isdigit() and len(start) < 32:
        out["start"] = start
    workdir = data.get("workdir")
    if isinstance(workdir, str) and 0 < len(workdir) < 4096 and "\x00" not in workdir:
        out["workdir"] = workdir
    token = data.get("token")
    if isinstance(token, str) and _TOKEN_RE.fullmatch(token):
        out["token"] = token
    return out


def claim_rel(run_id: str) -> str:
    return state_rel(*LOCKS, f"{check_run_id(run_id)}.lock")


def check_claim_file(root: Path, run_id: str) -> None:
    """Refuse a lock file that a runner could not use safely (a symlink, not a regular file, a
    second hard link) before anything runs; creates nothing (the dry run asks too)."""
    rel = claim_rel(run_id)
    directory = state_path(root, *LOCKS, create=False)
    try:
        info = os.lstat(directory / f"{run_id}.lock")
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath("is a symlink; refusing to use it as a lock (remove it)", path=rel,
                         code=NOT_A_FILE)  # fmt: skip
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        raise UnsafePath("is not a plain regular file; refusing to use it as a lock", path=rel,
                         code=NOT_A_FILE)  # fmt: skip


class Claim:
    """An exclusive, non-blocking claim on one run id, held while a runner executes it.

    The lock file is opened without following a link, in a verified real directory
    (.experimentos/matrix/locks/); the runner writes into it the pid of the run's supervisor,
    that process's start time, the workdir, and a random token that the supervisor carries on
    its command line and the workdir in its `.claim` file. A later runner signals that pid and
    removes that workdir only when both still carry the token."""

    def __init__(self, root: Path, run_id: str):
        self.root = Path(root)
        self.name = f"{check_run_id(run_id)}.lock"
        self.rel = claim_rel(run_id)
        self.token = secrets.token_hex(16)
        self.fd: int | None = None

    def acquire(self) -> bool:
        """True when this runner now holds the claim; UnsafePath for a lock file that is a
        link or not a regular file (never followed, never truncated)."""
        fd = open_lock(state_path(self.root, *LOCKS) / self.name, self.rel)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def read(self) -> dict[str, Any]:
        """What the previous owner left (see parse_claim)."""
        assert self.fd is not None
        return parse_claim(os.pread(self.fd, MAX_CLAIM_BYTES + 1, 0))

    def note(self, **info: Any) -> None:
        """Record the supervisor's pid (with its start time) and the workdir for a later runner;
        the workdir gets this claim's token."""
        assert self.fd is not None
        if "pid" in info:
            info["start"] = process_start_time(info["pid"])
        workdir = info.get("workdir")
        if workdir and not os.path.lexists(os.path.join(workdir, CLAIM_FILE)):
            _write_token(Path(workdir) / CLAIM_FILE, self.token)
        data = json.dumps({**info, "token": self.token}).encode("utf-8")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def release(self, clear: bool = False) -> None:
        """Let go; with `clear` also forget the agent's pid (the run ended and cleaned up)."""
        if self.fd is not None:
            if clear:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None


def _write_token(path: Path, token: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token)


def _carries(workdir: Path, token: str) -> bool:
    try:
        fd = os.open(workdir / CLAIM_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.read(fd, 64).decode("utf-8", "replace") == token
    finally:
        os.close(fd)


def clean_orphan(claim: Claim) -> None:
    """Kill what is left of an orphaned run and remove its workdir — only when they are this
    runner family's: the pid must be a supervisor carrying the claim's token (and the start time
    recorded with it), the workdir a temp directory holding that token. A lock file that names
    any other process or directory (planted, or stale) changes nothing."""
    left = claim.read()
    pid, start, token = left.get("pid"), left.get("start"), left.get("token")
    ours = pid and start and token and process_start_time(pid) == start
    if ours and is_supervisor(pid, token):
        stop_supervisor(pid)  # it kills every descendant at once, even those that left the group
        deadline = time.monotonic() + KILL_WAIT_S
        while running(pid) and process_start_time(pid) == start and time.monotonic() < deadline:
            time.sleep(0.05)
        if running(pid) and process_start_time(pid) == start and is_supervisor(pid, token):
            kill_group(pid)  # it did not stop in time: its group at least
    workdir = left.get("workdir")
    if workdir and token:
        path = Path(workdir)
        tmp = Path(tempfile.gettempdir()).resolve()
        if (
            path.name.startswith(WORKDIR_PREFIX)
            and not path.is_symlink()
            and path.resolve().parent == tmp
            and _carries(path, token)
        ):
            shutil.rmtree(path, ignore_errors=True)
