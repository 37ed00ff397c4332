"""Cold-start latency of the CLI: a new process per command, the index already built; prints JSON.

    python benchmarks/cold.py [--pages 1000] [--runs 5] [--dir D] [--before FILE]

Builds a knowledge base of `--pages` pages (the starter pages plus synthetic ones), syncs its
index once (not timed), then runs each command `--runs` times as a fresh `experimentos`
process and reports the median and every run in seconds:
- search: `experimentos search QUERY` (hybrid when the embeddings extra is installed);
- brief:  `experimentos brief TASK --repo fixtures/drizzle-pin` (the drizzle-pin fixture task);
- help:   `experimentos --help`.
Every query and task is different, so no process answers from a cache another one left.
`--before FILE` adds the figures of an earlier run (e.g. on the previous commit) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402
from compare import with_before  # noqa: E402

from experimentos.index import Index  # noqa: E402
from experimentos.store import Workspace  # noqa: E402
from experimentos.store.scaffold import copy_starter  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
FIXTURE = PROJECT / "fixtures" / "drizzle-pin"
TASK = "Bump drizzle-kit to the latest version to fix the wrong default on users.created_at"
QUERIES = [
    "bump drizzle-kit to fix the migration default",
    "apostrophes break my bash command",
    "tests pass locally but the suite timed out",
    "secret token printed in the run log",
    "agent edited the generated protobuf file",
    "force push erased a teammate's commits",
    "flaky test depends on the current time",
]


def prepare(root: Path, pages: int, embedder: str) -> Workspace:
    marker = root / ".bench-ready"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        synthetic.build(root, max(pages - 31, 0), embedder=embedder, edges=True)
        copy_starter(root)
    ws = Workspace(root)
    Index(ws).sync()
    marker.touch()
    return ws


def run(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


def figures(times: list[float]) -> dict:
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(t, 3) for t in times]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "none"])
    parser.add_argument("--dir", type=Path, help="keep the built knowledge base here")
    parser.add_argument("--before", type=Path, help="JSON of an earlier run to compare with")
    args = parser.parse_args()
    exe = shutil.which("experimentos") or "experimentos"
    base = args.dir or Path(tempfile.mkdtemp(prefix="xos-cold-bench-"))
    ws = prepare(base / f"{args.embedder}-{args.pages}", args.pages, args.embedder)
    root = ["--root", str(ws.root)]
    out: dict = {"pages": args.pages, "runs": args.runs, "embedder": args.embedder}
    commands = {
        "search": lambda i: [exe, *root, "search", QUERIES[i % len(QUERIES)] + f" {i}", "--json"],
        "brief": lambda i: [exe, *root, "brief", f"{TASK} ({i})", "--repo", str(FIXTURE)],
        "help": lambda i: [exe, "--help"],
    }
    for name, argv in commands.items():
        run(argv(99))  # one untimed run: the OS file cache, not our code, is warmed
        out[name] = figures([run(argv(i)) for i in range(args.runs)])
    out = with_before(out, args.before)
    if "before" in out:
        out["speedup"] = {
            name: round(out["before"][name]["median_s"] / out["after"][name]["median_s"], 2)
            for name in commands
            if name in out["before"]
        }
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
