"""Brief latency through the in-memory MCP client on 1,000- and 10,000-page knowledge bases.

Each knowledge base holds the starter pages plus synthetic pages (with appliesTo and dependsOn
edges); the index is built first (not timed here; see speed.py). Then, warm:
- repeated: the same get_work_brief request again and again (an agent's session);
- distinct: a different task every call (every call embeds a new query); also its CPU time
  (all threads), steadier than the wall clock on a shared machine;
- after_edit: the first call after a page file was edited on disk (reload + index sync).
Prints JSON. Usage: python benchmarks/brief.py [--pages 1000,10000] [--calls 100] [--dir D]
                                           [--before FILE]  (an earlier run's JSON, beside)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402
from compare import with_before  # noqa: E402

from experimentos.index import Index  # noqa: E402
from experimentos.store import Workspace  # noqa: E402
from experimentos.store.scaffold import copy_starter  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
FIXTURE = PROJECT / "fixtures" / "drizzle-pin"
GOLDEN = {
    "task": "Bump drizzle-kit to the latest version to fix the wrong default on users.created_at",
    "repo": str(FIXTURE),
    "libraries": ["drizzle-kit"],
    "files": ["src/db/schema.ts"],
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def prepare(root: Path, pages: int, embedder: str) -> tuple[Workspace, float]:
    marker = root / ".bench-ready"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        synthetic.build(root, pages - 31, embedder=embedder, edges=True)
        copy_starter(root)
    synthetic.write_review_evidence(root)  # a knowledge base built before it was written
    ws = Workspace(root)
    started = time.perf_counter()
    index = Index(ws)
    index.sync()
    seconds = time.perf_counter() - started
    if index.embedder is not None:  # the model loaded (exported to ONNX once), not timed
        index.embedder.embed(["warm up"])
    marker.touch()
    return ws, seconds


async def measure(ws: Workspace, calls: int, rng: random.Random) -> dict:
    import mcp

    from experimentos.mcp.server import build_server

    server = build_server(ws)
    pool = synthetic.sentences()
    libraries = ["drizzle-kit", "pydantic", "numpy", "react", "fastapi", "prisma", "pytest"]
    out: dict = {}
    async with mcp.Client(server) as client:

        async def call(args: dict) -> tuple[float, dict]:
            started = time.perf_counter()
            result = await client.call_tool("get_work_brief", args)
            elapsed = (time.perf_counter() - started) * 1000
            if result.is_error:
                raise SystemExit(f"tool error: {result.content[0].text}")
            return elapsed, result.structured_content

        first_ms, _ = await call(GOLDEN)
        out["first_call_ms"] = round(first_ms, 1)
        for _ in range(5):
            await call(GOLDEN)
        repeated = [(await call(GOLDEN))[0] for _ in range(calls)]
        out["repeated_ms"] = {"p50": pct(repeated, 0.5), "p95": pct(repeated, 0.95)}

        distinct, cpu, tokens, sizes = [], [], [], []
        for i in range(calls):
            task = " ".join(rng.choice(pool).split()[:12]) + f" ({i})"
            args = {"task": task, "libraries": [rng.choice(libraries)], "repo": str(FIXTURE)}
            started = time.process_time()
            ms, answer = await call(args)
            cpu.append((time.process_time() - started) * 1000)
            distinct.append(ms)
            tokens.append(answer["token_estimate"])
            sizes.append(len(answer["markdown"]))
        out["distinct_ms"] = {"p50": pct(distinct, 0.5), "p95": pct(distinct, 0.95)}
        # CPU time of the whole process per call (every thread: the embedding's, full-text
        # search's): the work done, which a busy shared machine stretches far less than the
        # wall clock.
        out["distinct_cpu_ms"] = {"p50": pct(cpu, 0.5), "p95": pct(cpu, 0.95)}
        out["distinct_brief_tokens"] = {
            "mean": round(statistics.mean(tokens)),
            "max": max(tokens),
            "mean_chars": round(statistics.mean(sizes)),
        }

        golden = (await call(GOLDEN))[1]
        out["golden_brief_tokens"] = golden["token_estimate"]

        after_edit = []
        page = ws.root / "policies" / "keep-drizzle-kit-pin-verify-locally.md"
        original = page.read_text(encoding="utf-8")
        for i in range(3):
            page.write_text(original + f"\n<!-- edit {i} -->\n", encoding="utf-8")
            after_edit.append((await call(GOLDEN))[0])
        page.write_text(original, encoding="utf-8")
        await call(GOLDEN)
        out["after_edit_ms"] = [round(x, 1) for x in after_edit]
        out["watch_mode"] = server.state.live.watch_mode
        out["search_mode"] = golden["search_mode"]
        embedder = server.state.live.index().embedder
        out["backend"] = embedder.backend if embedder is not None else "none"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="1000,10000")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "none"])
    parser.add_argument("--dir", type=Path, help="keep the built knowledge bases here")
    parser.add_argument("--before", type=Path, help="JSON of an earlier run to show beside")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="xos-brief-bench-"))
    results = []
    for pages in (int(p) for p in args.pages.split(",")):
        ws, index_s = prepare(base / f"{args.embedder}-{pages}", pages, args.embedder)
        figures = anyio.run(measure, ws, args.calls, random.Random(5))
        results.append({"pages": pages, "index_sync_s": round(index_s, 1), **figures})
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)
    out = {"embedder": args.embedder, "calls": args.calls, "results": results}
    print(json.dumps(with_before(out, args.before), indent=2))


if __name__ == "__main__":
    main()
