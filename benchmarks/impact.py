"""`experimentos impact --base REV` on a 10,000-page knowledge base with 20 tasks.

The knowledge base: the starter pages plus synthetic pages (benchmarks/synthetic.py, with
appliesTo and dependsOn edges), committed to git. A knowledge pull request's worth of change
is then made in the working tree (a few policies demoted, edited and added); the working
tree's search index is built first, as a developer's or a cached CI index is (not timed: see
speed.py for index builds). Timed:

- library: `brief_impact(workspace, "HEAD", tasks=20 tasks)` in this process: the base's
  knowledge read with git archive into a temp directory, its pages parsed (reusing the working
  tree's where equal), its index seeded and synced, 40 briefs compiled and compared;
- cli: `experimentos impact --base HEAD --json` in a new process (imports included).

Prints JSON. Usage: python benchmarks/impact.py [--pages 10000] [--tasks 20] [--runs 3]
                                               [--embedder none|minilm] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

from experimentos.index import Index  # noqa: E402
from experimentos.store import Workspace  # noqa: E402
from experimentos.store.scaffold import copy_starter  # noqa: E402

LIBRARIES = ["drizzle-kit", "pydantic", "numpy", "react", "fastapi", "prisma", "pytest", "vite"]
CHANGED = 8  # page files a knowledge pull request touches here


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def prepare(root: Path, pages: int, embedder: str) -> Workspace:
    """The committed knowledge base, a change in the working tree, its index synced."""
    marker = root / ".bench-ready"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        synthetic.build(root, pages - 31, embedder=embedder, edges=True)
        copy_starter(root)
        (root / ".gitignore").write_text(".experimentos/\n.bench-ready\n", encoding="utf-8")
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "knowledge base")
        policies = sorted((root / "policies").glob("s*.md"))[:CHANGED]
        for i, path in enumerate(policies):
            text = path.read_text(encoding="utf-8")
            if i % 2:  # demote
                text = text.replace("status: accepted", "status: draft")
            else:  # reword the rule the agent reads
                text = text.replace("summary: '", "summary: 'Check the lockfile first. ", 1)
            path.write_text(text, encoding="utf-8")
        marker.touch()
    ws = Workspace(root)
    index = Index(ws)
    index.sync()
    if index.embedder is not None:
        index.embedder.embed(["warm up"])
    return ws


def tasks(count: int) -> list[str]:
    rng = random.Random(11)
    pool = synthetic.sentences()
    out = []
    for _ in range(count):
        words = rng.choice(pool).split()[:14]
        out.append(f"Upgrade {rng.choice(LIBRARIES)}: " + " ".join(words))
    return out


def measure(ws: Workspace, texts: list[str], runs: int) -> dict:
    from experimentos.impact import brief_impact, impact_tasks

    specs = impact_tasks(ws, fixtures=False, extra=texts)
    library, library_cpu, result = [], [], None
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = brief_impact(ws, "HEAD", tasks=specs)
        library.append(time.perf_counter() - started)
        library_cpu.append(time.process_time() - cpu)
    argv = [sys.executable, "-m", "experimentos", "--root", str(ws.root), "impact", "--base"]
    argv += ["HEAD", "--no-fixtures", "--json"]
    for text in texts:
        argv += ["--task", text]
    cli, cli_cpu = [], []
    env = {**os.environ, "LANCEDB_LOG": "error"}
    for _ in range(runs):
        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli.append(time.perf_counter() - started)
        cli_cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    assert result is not None
    return {
        "tasks": len(specs),
        "pages_changed": len(result.pages_changed),
        "briefs_changed": len(result.changed),
        "search_mode": result.search_mode,
        # Wall time, and CPU time (user + system): on a shared machine the CPU time is what
        # the work costs; wall time there includes waiting for a core.
        "library_s": {"median": round(statistics.median(library), 2), "all": _r(library)},
        "library_cpu_s": {"median": round(statistics.median(library_cpu), 2)},
        "cli_s": {"median": round(statistics.median(cli), 2), "all": _r(cli)},
        "cli_cpu_s": {"median": round(statistics.median(cli_cpu), 2)},
        "target_s": 10,
    }


def _r(values: list[float]) -> list[float]:
    return [round(v, 2) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embedder", default="none", choices=["none", "minilm"])
    parser.add_argument("--dir", type=Path, help="keep the built knowledge base here")
    args = parser.parse_args()
    os.environ.setdefault("LANCEDB_LOG", "error")
    base = args.dir or Path(tempfile.mkdtemp(prefix="xos-bench-impact-"))
    root = base / f"kb-{args.pages}-{args.embedder}"
    started = time.perf_counter()
    ws = prepare(root, args.pages, args.embedder)
    setup = round(time.perf_counter() - started, 1)
    out = {
        "pages": args.pages,
        "embedder": args.embedder,
        "setup_s": setup,
        "load": os.getloadavg()[0],
        **measure(ws, tasks(args.tasks), args.runs),
    }
    print(json.dumps(out, indent=2))
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
