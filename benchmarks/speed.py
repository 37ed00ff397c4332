"""Index speed on a synthetic knowledge base (default 10,000 pages); prints JSON.

    python benchmarks/speed.py [--pages 10000] [--queries 100] [--skip-vector] [--before FILE]

Measures: full build in full-text-only mode and with MiniLM (model loaded beforehand), raw
embedding throughput on the same chunk texts in the same run, no-change sync, sync after
editing one page, search latency per mode (a fresh Index object, and `warm_*` as the MCP
server's warm index answers: vectors in memory), and `experimentos --help`. `--before FILE`
puts an earlier run's JSON beside this one.
"""

from __future__ import annotations

import argparse
import json
import random
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

from experimentos.index import Index, search  # noqa: E402
from experimentos.index.chunks import chunk_page  # noqa: E402
from experimentos.store import Workspace  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def help_seconds() -> float:
    exe = shutil.which("experimentos") or "experimentos"
    runs = []
    for _ in range(5):
        _, seconds = timed(subprocess.run, [exe, "--help"], capture_output=True, check=True)
        runs.append(seconds)
    return round(statistics.median(runs), 3)


def edit_syncs(workspace: Workspace, index: Index, rng: random.Random, n: int = 5) -> list[float]:
    files = sorted((workspace.root / "wiki/failures").glob("*.md"))
    out = []
    for path in rng.sample(files, n):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("## ", "## Edited: ", 1), encoding="utf-8")
        summary, seconds = timed(index.sync)
        assert summary.updated == 1, summary
        out.append(round(seconds, 3))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-vector", action="store_true", help="full-text-only figures only")
    parser.add_argument("--before", type=Path, help="JSON of an earlier run to show beside")
    args = parser.parse_args()
    rng = random.Random(11)
    pool = synthetic.sentences()
    queries = [" ".join(rng.choice(pool).split()[:9]) for _ in range(args.queries)]
    out: dict = {"pages": args.pages}

    with tempfile.TemporaryDirectory() as tmp:
        # --- full-text only -------------------------------------------------------------------
        ws = synthetic.build(Path(tmp) / "fts", args.pages, embedder="none")
        index = Index(ws)
        summary, seconds = timed(index.sync)
        out["fts_build"] = {
            "seconds": round(seconds, 2),
            "pages_per_s": round(args.pages / seconds, 1),
            "chunks": summary.chunks,
        }
        out["fts_no_change_sync_s"] = pct([timed(Index(ws).sync)[1] for _ in range(5)], 0.5)
        out["fts_edit_sync_s"] = edit_syncs(ws, index, rng)
        lat = []
        for q in queries:
            lat.append(timed(search, index, q, mode="fts", sync=False)[1] * 1000)
        out["fts_search_ms"] = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95)}

        if not args.skip_vector:
            ws = synthetic.build(Path(tmp) / "hybrid", args.pages, embedder="minilm")
            index = Index(ws)
            if index.embedder is None:
                sys.exit("the embeddings extra is not installed")
            _, load_s = timed(index.embedder.embed, ["warm up the model"])
            summary, seconds = timed(index.sync)
            build_pps = args.pages / seconds
            # Raw embedding throughput on a sample of the same chunk texts, same process.
            sample_pages = rng.sample(ws.scan().documents, min(1000, args.pages))
            texts = [c.text for d in sample_pages for c in chunk_page(d.page)]
            _, raw_s = timed(index.embedder.embed, texts)
            raw_pps = len(sample_pages) / raw_s
            out["minilm_build"] = {
                "seconds": round(seconds, 1),
                "pages_per_s": round(build_pps, 1),
                "chunks": summary.chunks,
                "model_load_s": round(load_s, 1),
                "raw_embedding_pages_per_s": round(raw_pps, 1),
                "raw_embedding_chunks_per_s": round(len(texts) / raw_s, 1),
                "build_vs_raw": round(build_pps / raw_pps, 3),
            }
            out["no_change_sync_s"] = pct([timed(Index(ws).sync)[1] for _ in range(5)], 0.5)
            out["edit_one_page_sync_s"] = edit_syncs(ws, index, rng)
            for mode in ("fts", "vector", "hybrid"):
                for q in queries[:5]:
                    search(index, q, mode=mode, sync=False)
                lat = [timed(search, index, q, mode=mode, sync=False)[1] * 1000 for q in queries]
                out[f"{mode}_search_ms"] = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95)}
            lat = [timed(search, index, q, mode="hybrid")[1] * 1000 for q in queries[:20]]
            out["hybrid_search_with_sync_ms"] = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95)}
            index.warm = True  # as the MCP server keeps it
            for mode in ("vector", "hybrid"):
                for q in queries[:5]:
                    search(index, q, mode=mode, sync=False)
                # Queries never asked before: the embedding of each one is part of the figure.
                fresh = [f"{q} ({mode} {i})" for i, q in enumerate(queries)]
                lat = [timed(search, index, q, mode=mode, sync=False)[1] * 1000 for q in fresh]
                out[f"warm_{mode}_search_ms"] = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95)}
            out["backend"] = index.embedder.backend
            out["vector_index"] = index.stats()

    out["help_s"] = help_seconds()
    print(json.dumps(with_before(out, args.before), indent=2))


if __name__ == "__main__":
    main()
