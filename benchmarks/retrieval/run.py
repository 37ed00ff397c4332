"""Retrieval quality on the project's own knowledge base.

Runs every labeled query in queries.yaml through the library's search (fts, vector, hybrid)
and through a plain keyword-count baseline, and prints JSON: nDCG@10, recall@5 and MRR@10 per
mode, with the targets of the index issue checked.

    python benchmarks/retrieval/run.py [--kb PATH] [--queries FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from experimentos.index import Index, search
from experimentos.index.evaluation import evaluate
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

PROJECT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
_STOP = {
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "from",
    "into",
    "after",
    "before",
    "when",
    "what",
    "which",
    "how",
    "why",
    "does",
    "not",
    "but",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "its",
    "can",
    "should",
    "would",
    "could",
    "use",
    "using",
}


def keyword_rank(pages: dict[str, str], query: str) -> list[str]:
    """The grep baseline: pages ranked by how often the query's words occur in the file."""
    terms = [t for t in re.findall(r"[a-z0-9][a-z0-9._+-]*", query.lower()) if len(t) > 2]
    terms = [t for t in terms if t not in _STOP]
    scores = {pid: sum(text.count(t) for t in terms) for pid, text in pages.items()}
    ranked = sorted((pid for pid, s in scores.items() if s > 0), key=lambda p: (-scores[p], p))
    return ranked


def copy_kb(source: Path, target: Path) -> Workspace:
    init_workspace(target)
    for top in ("wiki", "policies"):
        shutil.copytree(source / top, target / top, dirs_exist_ok=True)
    return Workspace(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=PROJECT, help="knowledge root to copy")
    parser.add_argument("--queries", type=Path, default=HERE / "queries.yaml")
    args = parser.parse_args()

    labeled = yaml.safe_load(args.queries.read_text(encoding="utf-8"))
    qrels = {str(i): {pid: 1 for pid in item["relevant"]} for i, item in enumerate(labeled)}
    queries = {str(i): item["query"] for i, item in enumerate(labeled)}

    with tempfile.TemporaryDirectory() as tmp:
        workspace = copy_kb(args.kb, Path(tmp) / "kb")
        index = Index(workspace)
        summary = index.sync()
        pages = {d.id: d.raw.decode("utf-8").lower() for d in workspace.scan().documents}
        missing = sorted({p for rel in qrels.values() for p in rel} - set(pages))
        if missing:
            sys.exit(f"queries.yaml names pages that do not exist: {missing}")

        results: dict[str, dict] = {}
        modes = ["fts", "vector", "hybrid"] if index.embedder else ["fts"]
        for mode in modes:
            run, latencies = {}, []
            for qid, text in queries.items():
                started = time.perf_counter()
                response = search(index, text, mode=mode, limit=10, sync=False)
                latencies.append((time.perf_counter() - started) * 1000)
                run[qid] = [hit.id for hit in response.results]
            scores = evaluate(run, qrels, recall_k=(5,))
            scores["latency_ms_p50"] = round(statistics.median(latencies), 2)
            results[mode] = scores
        grep_run = {qid: keyword_rank(pages, text) for qid, text in queries.items()}
        results["grep"] = evaluate(grep_run, qrels, recall_k=(5,))

    hybrid = results.get("hybrid", {})
    targets = {}
    if hybrid:
        targets = {
            "hybrid ndcg@10 >= every single mode and grep": all(
                hybrid["ndcg@10"] >= results[m]["ndcg@10"] for m in ("fts", "vector", "grep")
            ),
            "hybrid recall@5 >= 0.9": hybrid["recall@5"] >= 0.9,
        }
    print(
        json.dumps(
            {
                "queries": len(queries),
                "pages": len(pages),
                "chunks": summary.chunks,
                "embedder": index.embedder_name,
                "modes": results,
                "targets": targets,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
