"""Matrix runner: per-run harness overhead, and parallel scaling when runs wait on the agent.

Builds a throwaway root (git, a one-file fixture with a `grep` oracle, shell agents) and runs
`run_matrix` on it, in process:

- overhead: N runs (`--runs`, default 12, one at a time) of an agent that edits one file and
  exits. Per run, harness = total - agent process - oracle process: the record writes, the
  fixture copy and its git commit, the transcript sidecar and events, the rule check and diff,
  the claim. Target: <= 0.5 s per run (median).
- scaling: 8 runs of an agent that sleeps `--sleep` seconds (default 2), with --jobs 1 and
  --jobs 4. Target: >= 1.6x faster with 4 jobs on 2 cores.
- containment: what the supervisor (matrix/supervise.py: subreaper, cgroup where allowed) adds
  to each agent and oracle command: `true` run 20 times through run_command, against the same
  command started bare in its own session.

Prints JSON. Usage: python benchmarks/matrix.py [--runs 12] [--sleep 2] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from experimentos.lab.experiments import new_experiment
from experimentos.matrix.runner import run_matrix
from experimentos.models.lab import RunRecord
from experimentos.store import Workspace
from experimentos.store.records import load_record
from experimentos.store.scaffold import init_workspace

FIXTURE = """\
name: one-file
task: Make app.txt say fixed
oracle: {command: grep -q fixed app.txt, timeoutSeconds: 5}
allowedPaths: [app.txt]
"""
FAST = """#!/bin/sh
echo '{"type":"file_inspected","path":"app.txt"}'
echo fixed > app.txt
echo '{"type":"file_edited","path":"app.txt"}'
echo '{"type":"final_answer","text":"done"}'
"""
SLEEPY = """#!/bin/sh
sleep {sleep}
echo fixed > app.txt
echo '{{"type":"final_answer","text":"done"}}'
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid", *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


def make_root(path: Path, script: str, repeats: int) -> Workspace:
    path.mkdir(parents=True)
    _git(path, "init", "-q")
    init_workspace(path)
    (path / "experimentos.toml").write_text('format = 1\n[index]\nembedder = "none"\n')
    (path / "fixtures" / "one-file").mkdir(parents=True)
    (path / "fixtures" / "one-file" / "fixture.yaml").write_text(FIXTURE)
    (path / "fixtures" / "one-file" / "app.txt").write_text("broken\n")
    (path / "agent.sh").write_text(script)
    (path / "agent.sh").chmod(0o755)
    ws = Workspace(path)
    new_experiment(ws, "bench", "agent")
    spec = {
        "fixtures": ["one-file"],
        "conditions": ["none"],
        "agents": [{"name": "sh", "adapter": "shell", "options": {"script": "agent.sh"}}],
        "repeats": repeats,
        "timeLimit": 60,
    }
    (path / "experiments" / "bench" / "matrix.yaml").write_text(yaml.safe_dump(spec))
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "bench")
    return ws


def overhead(base: Path, runs: int) -> dict:
    ws = make_root(base / "overhead", FAST, runs)
    summary = run_matrix(ws, "bench", jobs=1)
    assert summary.errored == 0 and len(summary.runs) == runs, summary
    harness = [r.harness_seconds for r in summary.runs]
    phases: dict[str, list[float]] = {}
    for path in sorted((ws.root / "experiments" / "bench" / "runs").glob("run.*.md")):
        record = load_record(ws.root, path.relative_to(ws.root).as_posix(), RunRecord).model
        for name, seconds in record.matrix.timings.items():
            phases.setdefault(name, []).append(seconds)
    return {
        "runs": runs,
        "harness_s_per_run": {
            "median": round(statistics.median(harness), 3),
            "mean": round(statistics.fmean(harness), 3),
            "max": round(max(harness), 3),
        },
        "target_s": 0.5,
        "phase_median_s": {k: round(statistics.median(v), 4) for k, v in phases.items()},
        "run_total_median_s": round(statistics.median(r.seconds for r in summary.runs), 3),
    }


def scaling(base: Path, sleep: float) -> dict:
    out = {}
    for jobs in (1, 4):
        ws = make_root(base / f"jobs{jobs}", SLEEPY.format(sleep=sleep), 8)
        began = time.monotonic()
        summary = run_matrix(ws, "bench", jobs=jobs)
        out[jobs] = time.monotonic() - began
        assert summary.errored == 0 and len(summary.runs) == 8, summary
    return {
        "runs": 8,
        "agent_sleep_s": sleep,
        "jobs1_s": round(out[1], 2),
        "jobs4_s": round(out[4], 2),
        "speedup": round(out[1] / out[4], 2),
        "target_speedup": 1.6,
    }


def containment(base: Path, count: int = 20) -> dict:
    from experimentos.matrix import containment as cage
    from experimentos.matrix.procgroup import run_command

    base.mkdir(parents=True, exist_ok=True)

    def bare() -> None:
        proc = subprocess.Popen(["/bin/sh", "-c", "true"], cwd=base, start_new_session=True)
        cage.wait_exit(proc, 10)

    def supervised() -> None:
        run_command("true", base, 10)

    out = {}
    for name, start in (("bare_ms", bare), ("supervised_ms", supervised)):
        start()  # warm
        times = []
        for _ in range(count):
            began = time.monotonic()
            start()
            times.append(time.monotonic() - began)
        out[name] = round(statistics.median(times) * 1000, 1)
    out["cgroup"] = cage.cgroup_base() is not None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="xos-bench-matrix-"))
    try:
        result = {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in os.getloadavg()],
            "overhead": overhead(base, args.runs),
            "scaling": scaling(base, args.sleep),
            "containment": containment(base / "containment"),
            "load_after": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
