"""`matrix run`: plan, pick the cells of this shard that still need a run, run them in parallel.

A crash or Ctrl-C loses at most the runs in flight: every run is recorded on its own, the
moment it ends. On a stop (Ctrl-C, SIGTERM) the runs in flight are killed and recorded as
`aborted`; after a kill -9 they stay `running`, with their claim free, and `--resume` (which
runs only what is missing or did not count) cleans them up and runs them again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from pydantic import BaseModel, Field

from experimentos.agents.base import open_adapter
from experimentos.errors import UsageError
from experimentos.matrix.cells import Cell, in_shard, parse_shard
from experimentos.matrix.execute import CellResult, Runtime, execute_cell
from experimentos.matrix.fingerprint import fingerprint_changes
from experimentos.matrix.knowledge import build_variant
from experimentos.matrix.plan import Plan, plan_matrix
from experimentos.matrix.preflight import preflight
from experimentos.matrix.records import (
    Claim,
    Existing,
    clean_orphan,
    existing_runs,
    finish_record,
)
from experimentos.matrix.topup import check_repeats, raise_repeats
from experimentos.models.lab import RunStatus
from experimentos.store import Workspace


class CellState(BaseModel):
    index: int
    cell: str
    run_id: str
    # missing | done | stale (a result whose fingerprint changed) | failed | aborted |
    # interrupted | in-progress
    state: str
    status: str | None = None
    outcome: str | None = None
    reason: str | None = None  # why a result is stale: which part of its fingerprint changed


class RunResult(BaseModel):
    run_id: str
    cell: str
    status: str | None
    outcome: str | None = None
    reason: str | None = None
    seconds: float = 0.0
    harness_seconds: float | None = None
    skipped: str | None = None


class MatrixSummary(BaseModel):
    """What `matrix run` did (or, with --dry-run, would do)."""

    experiment: str
    matrix: str
    spec_hash: str
    shard: str | None = None
    cells_total: int
    cells_selected: int
    already_done: int
    to_run: int
    dry_run: bool = False
    top_up: int | None = Field(
        default=None, description="--repeats N: the repeats per cell this run brought it up to"
    )
    spec_raised: list[int] | None = Field(
        default=None, description="[old, new] repeats when matrix.yaml was raised"
    )
    cells: list[CellState] = Field(default_factory=list)
    runs: list[RunResult] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    errored: int = 0  # runs that failed (harness or agent crash): exit 1
    interrupted: bool = False
    seconds: float = 0.0


def _state(existing: Existing | None, root: Path, run_id: str) -> tuple[str, Existing | None]:
    if existing is None:
        return "missing", None
    status = existing.status
    if status is RunStatus.finished:
        return "done", existing
    if status is RunStatus.running:
        claim = Claim(root, run_id)
        if claim.acquire():
            claim.release()
            return "interrupted", existing  # its runner is gone
        return "in-progress", existing
    return status.value if status else "invalid", existing


def cell_states(plan: Plan, cells: list[Cell]) -> tuple[list[CellState], list[str]]:
    """The state of each cell, and the problems that forbid running (records that do not
    parse). A result whose fingerprint differs from the planned one is `stale`, with the parts
    that changed: `--resume` runs it again."""
    root = plan.workspace.root
    found = existing_runs(root, plan.slug, [c.run_id for c in cells])
    states, problems = [], []
    for cell in cells:
        state, existing = _state(found.get(cell.run_id), root, cell.run_id)
        record = existing.record.model if existing and existing.record else None
        reason = None
        if existing is not None and existing.record is None:
            problems.append(f"{cell.run_id}: the record does not parse ({existing.problem})")
        elif state == "done" and existing.cell_hash != plan.cell_hashes[cell.run_id]:
            block = record.matrix if record else None
            changed = fingerprint_changes(
                block.fingerprint if block else None, plan.fingerprints[cell.run_id]
            )
            if changed:  # else only what the planner could not know (a CLI not installed here)
                state = "stale"
                reason = "; ".join(changed)
        states.append(
            CellState(
                index=cell.index,
                cell=cell.cell_id,
                run_id=cell.run_id,
                state=state,
                status=record.status.value if record else None,
                outcome=record.outcome.value if record and record.outcome else None,
                reason=reason,
            )
        )
    return states, problems


def top_up_cells(
    plan: Plan, shard: tuple[int, int] | None, repeats: int | None = None
) -> tuple[list[Cell], list[CellState], list[str]]:
    """(this shard's cells, their states, problems) of a top-up: of the cells with repeat <=
    `repeats`, those without a result are pending, and so are those whose result is `stale`
    (recorded from other inputs: its fingerprint no longer matches, so it is run again); the
    shard takes every n-th pending one; done cells are listed and never selected."""
    limit = repeats or plan.spec.repeats
    cells = [c for c in plan.cells if c.repeat <= limit]
    states, problems = cell_states(plan, cells)
    pending = [(c, s) for c, s in zip(cells, states, strict=True) if s.state != "done"]
    mine = [p for i, p in enumerate(pending) if shard is None or i % shard[1] == shard[0] - 1]
    done = [s for s in states if s.state == "done"]
    return [c for c, _ in mine], done + [s for _, s in mine], problems


def _refuse_unreadable(plan: Plan, problems: list[str]) -> None:
    if not problems:
        return
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise UsageError(
        f"{problems[0]}{more}; move those records away, or change the matrix id to start a new "
        "matrix",
        path=plan.spec_path,
        field="id",
    )


def run_matrix(
    workspace: Workspace,
    experiment: str,
    *,
    shard: str | None = None,
    resume: bool = False,
    repeats: int | None = None,
    top_up: bool = False,
    jobs: int | None = None,
    dry_run: bool = False,
    keep_workdirs: bool = False,
    stop: threading.Event | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> MatrixSummary:
    """Run the cells of `experiment`'s matrix (of one shard) that have no result yet.

    `top_up` (implied by `repeats`): bring every cell up to `repeats` (default: the spec's)
    finished runs, running only the missing ones; existing results are never an error, and the
    shard partitions the pending cells (experimentos.matrix.topup)."""
    began = time.monotonic()
    if jobs is not None and not 1 <= jobs <= 64:
        raise UsageError("--jobs must be between 1 and 64", field="jobs")
    which = parse_shard(shard)
    repeats = check_repeats(repeats)
    top_up = top_up or repeats is not None
    plan = plan_matrix(workspace, experiment, repeats=repeats)
    if top_up:
        pending, states, problems = top_up_cells(plan, which, repeats)
    else:
        selected = [c for c in plan.cells if in_shard(c, which)]
        states, problems = cell_states(plan, selected)
        pending = [c for c, s in zip(selected, states, strict=True) if s.state != "done"]
    _refuse_unreadable(plan, problems)
    recorded = [s for s in states if s.state != "missing"]
    if recorded and not resume and not top_up and not dry_run:
        done = sum(1 for s in recorded if s.state == "done")
        raise UsageError(
            f"matrix {plan.matrix_id} already has {len(recorded)} run(s) here ({done} done); "
            "pass --resume to run only the missing ones",
            field="resume",
        )
    preflight(plan, pending)  # the dry run refuses exactly what the run would
    raised = None
    if repeats is not None and not dry_run:  # the spec says what the records will hold
        raised = raise_repeats(workspace.root, plan.slug, repeats)
    summary = MatrixSummary(
        experiment=plan.experiment_id,
        matrix=plan.matrix_id,
        spec_hash=plan.spec_hash,
        shard=f"{which[0]}/{which[1]}" if which else None,
        cells_total=len(plan.cells),
        cells_selected=len(states),
        already_done=len(states) - len(pending),
        to_run=len(pending),
        dry_run=dry_run,
        top_up=(repeats or plan.spec.repeats) if top_up else None,
        spec_raised=list(raised) if raised else None,
        cells=states,
    )
    if dry_run or not pending:
        summary.seconds = round(time.monotonic() - began, 3)
        return summary
    _clean_orphans(plan, states)
    stop = stop or threading.Event()
    with contextlib.ExitStack() as stack:
        variants = _variants(plan, pending, on_note)
        adapters = _adapters(plan, pending, stack)
        rt = Runtime(plan, adapters, variants, stop, keep_workdirs, dict(plan.agent_versions))
        rt.stale = {s.run_id: s.reason or "" for s in states if s.state == "stale"}
        if on_start:
            on_start(len(pending))
        summary.runs, summary.interrupted = _execute(rt, pending, jobs or plan.spec.jobs, on_result)
    counts = Counter(r.status or "skipped" for r in summary.runs)
    counts.update(f"outcome:{r.outcome}" for r in summary.runs if r.outcome)
    summary.counts = dict(sorted(counts.items()))
    summary.errored = counts.get("failed", 0)
    summary.seconds = round(time.monotonic() - began, 3)
    return summary


ORPHANED = "interrupted: its runner stopped while the run was in flight"


def _clean_orphans(plan: Plan, states: list[CellState]) -> None:
    """Runs left `running` by a dead runner: kill what is left of their agents now (not when
    their cell's turn comes) and mark them aborted, so the record says so even if this runner
    is stopped before it runs them again."""
    for state in states:
        if state.state != "interrupted":
            continue
        claim = Claim(plan.workspace.root, state.run_id)
        if not claim.acquire():
            continue
        try:
            clean_orphan(claim)
            finish_record(
                plan.workspace,
                state.run_id,
                status=RunStatus.aborted,
                outcome=None,
                matrix={"reason": ORPHANED},
                metrics={},
                summary=f"{state.cell}: aborted — {ORPHANED}.",
            )
            state.state, state.status = "aborted", RunStatus.aborted.value
        finally:
            claim.release()


def _variants(plan: Plan, cells: list[Cell], note: Callable[[str], None] | None) -> dict:
    out = {}
    for cell in cells:
        text = cell.condition.text
        if cell.condition.attaches_server and text not in out:
            if note:
                note(f"preparing the knowledge for {text} (search index built once)")
            out[text] = build_variant(plan.workspace.root, plan.knowledge[text])
    return out


def _adapters(plan: Plan, cells: list[Cell], stack: contextlib.ExitStack) -> dict:
    names = {c.agent.name for c in cells}
    adapters = {}
    for i, agent in enumerate(plan.spec.agents):
        if agent.name not in names:
            continue
        adapter = stack.enter_context(open_adapter(agent, plan.workspace.root))
        problem = adapter.unavailable()
        if problem:
            raise UsageError(problem, path=plan.spec_path, field=f"agents.{i}.adapter")
        adapters[agent.name] = adapter
    return adapters


def _crashed(cell: Cell, exc: BaseException) -> RunResult:
    reason = f"harness error: {type(exc).__name__}: {exc}"
    return RunResult(run_id=cell.run_id, cell=cell.cell_id, status="failed", reason=reason)


def _as_result(result: CellResult) -> RunResult:
    return RunResult(**result.__dict__)


def _execute(
    rt: Runtime, cells: list[Cell], jobs: int, on_result: Callable[[RunResult], None] | None
) -> tuple[list[RunResult], bool]:
    """Run the cells `jobs` at a time, in order; on Ctrl-C stop the runs in flight."""
    results: dict[int, RunResult] = {}
    interrupted = False
    queue = list(cells)
    running: dict[Future, Cell] = {}
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="matrix")
    try:
        while queue or running:
            while queue and len(running) < jobs and not rt.stop.is_set():
                cell = queue.pop(0)
                running[pool.submit(execute_cell, rt, cell)] = cell
            if not running:
                break
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                cell = running.pop(future)
                try:
                    result = _as_result(future.result())
                except Exception as exc:  # noqa: BLE001 - recorded as an errored run
                    result = _crashed(cell, exc)
                results[cell.index] = result
                if on_result:
                    on_result(result)
            if rt.stop.is_set():
                interrupted = True
                queue.clear()
    except KeyboardInterrupt:
        interrupted = True
        rt.stop.set()
        for future, cell in running.items():  # the runs in flight end as aborted
            try:
                results[cell.index] = _as_result(future.result())
            except Exception as exc:  # noqa: BLE001
                results[cell.index] = _crashed(cell, exc)
            if on_result:
                on_result(results[cell.index])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [results[i] for i in sorted(results)], interrupted
