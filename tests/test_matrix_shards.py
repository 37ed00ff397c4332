"""Shards and merge; kill -9 of the runner and --resume."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from experimentos.matrix.merge import merge_runs
from experimentos.matrix.runner import run_matrix
from experimentos.models.lab import RunRecord, RunStatus
from experimentos.store import Workspace
from experimentos.store.records import load_record, render_record

from .conftest import git
from .matrix_helpers import (
    EXP,
    GOOD,
    LAZY,
    SLEEPER,
    cli_run,
    json_out,
    make_root,
    read_spec,
    records,
    runs_dir,
    write_spec,
)


def _clone(ws: Workspace, dest) -> Workspace:  # noqa: ANN001
    """A second checkout of the same root (what a shard machine has)."""
    git(ws.root.parent, "clone", "-q", str(ws.root), str(dest))
    return Workspace(dest)


def _results(root) -> dict[str, tuple]:  # noqa: ANN001
    return {
        rid: (r.matrix.cell, r.status.value, r.outcome.value if r.outcome else None,
              r.matrix.cell_hash, r.metrics["oracle_passed"])
        for rid, r in records(root).items()
    }  # fmt: skip


def test_three_shards_merged_equal_one_unsharded_run(tmp_path):
    ws = make_root(
        tmp_path / "whole", {"good": GOOD, "lazy": LAZY}, conditions=["none", "brief"], repeats=2
    )
    whole = run_matrix(ws, EXP, jobs=2)
    assert whole.to_run == 8 and whole.errored == 0
    shard_roots = []
    for i in (1, 2, 3):
        shard = _clone(ws, tmp_path / f"shard{i}")
        shutil.rmtree(runs_dir(shard.root), ignore_errors=True)
        result = cli_run(shard.root, "matrix", "run", EXP, "--shard", f"{i}/3", "--json")
        assert result.returncode == 0, result.stderr
        assert json_out(result)["shard"] == f"{i}/3"
        shard_roots.append(shard.root)
    picked = [set(records(r)) for r in shard_roots]
    assert sum(len(p) for p in picked) == 8 and set.union(*picked) == set(records(ws.root))
    assert all(not (a & b) for a in picked for b in picked if a is not b)  # a partition
    merged = _clone(ws, tmp_path / "merged")
    shutil.rmtree(runs_dir(merged.root), ignore_errors=True)
    copies = []
    for i, root in enumerate(shard_roots, start=1):  # what a CI job uploads and downloads
        copies.append(tmp_path / f"artifact{i}")
        shutil.copytree(runs_dir(root), copies[-1] / "experiments" / EXP / "runs")
    result = cli_run(merged.root, "matrix", "merge", *map(str, copies), "--json")
    assert result.returncode == 0, result.stderr
    assert json_out(result)["copied"] == 8
    assert _results(merged.root) == _results(ws.root)
    assert cli_run(merged.root, "check", "--strict").returncode == 0
    again = merge_runs(merged, copies)  # idempotent
    assert again.identical == 8 and again.copied == 0 and not again.conflicts
    resumed = run_matrix(merged, EXP, resume=True)
    assert resumed.to_run == 0 and resumed.already_done == 8


def test_merge_refuses_conflicting_duplicates_and_writes_nothing(tmp_path):
    ws = make_root(tmp_path / "a", {"good": GOOD})
    run_matrix(ws, EXP)
    other = _clone(ws, tmp_path / "b")
    shutil.rmtree(runs_dir(other.root), ignore_errors=True)
    run_matrix(other, EXP)  # the same cell, run again: a different result file
    target = _clone(ws, tmp_path / "c")
    shutil.rmtree(runs_dir(target.root), ignore_errors=True)
    report = merge_runs(target, [runs_dir(ws.root), runs_dir(other.root)])
    assert report.conflicts and "different finished runs" in report.conflicts[0]
    assert not runs_dir(target.root).exists() or not list(runs_dir(target.root).iterdir())
    dirs = [str(runs_dir(ws.root)), str(runs_dir(other.root))]
    result = cli_run(target.root, "matrix", "merge", *dirs)
    assert result.returncode == 1 and "conflict" in result.stderr


def test_merge_prefers_a_result_over_an_unfinished_attempt(tmp_path):
    ws = make_root(tmp_path / "a", {"good": GOOD})
    run_matrix(ws, EXP)
    rid = "run.m.tiny.none.good.r1"
    stale = tmp_path / "stale"
    shutil.copytree(runs_dir(ws.root), stale)
    record = load_record(ws.root, f"experiments/{EXP}/runs/{rid}.md", RunRecord).model
    # an interrupted attempt of the same cell, as a crashed shard would leave it
    unfinished = {"status": RunStatus.running, "outcome": None, "ended": None}
    attempt = record.model_copy(update=unfinished)
    (stale / f"{rid}.md").write_bytes(render_record(attempt))
    target = _clone(ws, tmp_path / "c")
    shutil.rmtree(runs_dir(target.root), ignore_errors=True)
    report = merge_runs(target, [stale, runs_dir(ws.root)])
    assert not report.conflicts, report.conflicts
    assert records(target.root)[rid].status.value == "finished"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"


def test_kill_9_mid_way_then_resume_loses_and_duplicates_nothing(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    ws = make_root(tmp_path / "root", {"slow": SLEEPER}, repeats=6)
    spec = read_spec(ws.root)  # the shell adapter passes only the variables the spec names
    spec["agents"][0]["options"]["env"] = {"PIDS": str(pids), "NAP": "6"}
    write_spec(ws.root, spec)
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "experimentos", "--root", str(ws.root), "matrix", "run", EXP,
         "--jobs", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = records(ws.root) if runs_dir(ws.root).exists() else {}
        done = [r for r in found.values() if r.status.value == "finished"]
        running = [r for r in found.values() if r.status.value == "running"]
        # the agent knows its run by its token only (blind runs)
        started = all((pids / f"{r.matrix.run_token}.pid").exists() for r in running)
        if len(done) >= 2 and running and started:  # in flight: agents started, not done
            break
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait()
    found = records(ws.root)
    in_flight = {rid for rid, r in found.items() if r.status.value == "running"}
    finished_before = {rid: (runs_dir(ws.root) / f"{rid}.md").read_bytes()
                       for rid, r in found.items() if r.status.value == "finished"}  # fmt: skip
    assert in_flight and len(finished_before) >= 2
    # a run killed half-way holds no result: no outcome, no oracle, no ended time
    for rid in in_flight:
        assert found[rid].outcome is None and found[rid].matrix.oracle is None
    tokens = {rid: found[rid].matrix.run_token for rid in in_flight}
    orphans = [int((pids / f"{tokens[rid]}.pid").read_text()) for rid in in_flight
               if (pids / f"{tokens[rid]}.pid").exists()]  # fmt: skip
    dry = run_matrix(ws, EXP, dry_run=True)  # in-process: the orphans are still asleep
    states = {c.run_id: c.state for c in dry.cells}
    assert {states[rid] for rid in in_flight} == {"interrupted"}
    assert sum(1 for s in states.values() if s == "done") == len(finished_before)

    result = cli_run(ws.root, "matrix", "run", EXP, "--resume", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json_out(result)
    assert summary["already_done"] == len(finished_before)
    assert {r["run_id"] for r in summary["runs"]} == set(states) - set(finished_before)
    after = records(ws.root)
    assert len(after) == 6 and {r.status.value for r in after.values()} == {"finished"}
    cells = sorted(r.matrix.cell for r in after.values())
    assert cells == [f"tiny/none/slow/{i}" for i in range(1, 7)]
    for rid, raw in finished_before.items():  # results are never redone
        assert (runs_dir(ws.root) / f"{rid}.md").read_bytes() == raw
    for rid in in_flight:
        run = after[rid]
        assert run.matrix.attempt == 2
        assert [a.status.value for a in run.matrix.previous_attempts] == ["aborted"]
        assert "interrupted" in run.matrix.previous_attempts[0].reason
        assert run.matrix.previous_attempts[0].ended is not None
        events = (runs_dir(ws.root) / f"{rid}.events.jsonl").read_text().splitlines()
        assert len(events) == 2  # this attempt's file_edited + final_answer, nothing older
    assert orphans
    for pid in orphans:  # the orphaned agents were killed by the resume, before they finished
        assert not _alive(pid)
        assert not (pids / f"{pid}.done").exists()
