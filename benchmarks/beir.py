"""A BEIR-format retrieval benchmark through the real index (e.g. SciFact).

    python benchmarks/beir.py DATASET_DIR [--limit-queries N] [--modes fts,vector,hybrid]
                              [--split test] [--max-windows 1]

Imports the corpus as `source` pages of a throwaway knowledge base through the store (the real
write path), builds the index with the configured default embedder through the library's index
API, runs the split's queries through the library's search (the code the CLI and MCP use), and
prints JSON: nDCG@10, recall@100 and MRR@10 per mode (standard BEIR scoring: binary/graded
qrels, linear-gain nDCG, a document whose id equals the query id is ignored), build time,
pages/s and query latency p50/p95 per mode.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from experimentos.errors import UsageError
from experimentos.index import Index, search
from experimentos.index.evaluation import evaluate
from experimentos.models.knowledge import Page, PageType, Status
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

MODES = ("fts", "vector", "hybrid")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for row in reader:
            if not row or row[0] == "query-id":
                continue
            qid, doc, score = row[0].strip(), row[1].strip(), int(row[2])
            qrels.setdefault(qid, {})[doc] = score
    return qrels


def slugs_for(doc_ids: list[str]) -> dict[str, str]:
    """A unique, valid page slug for every BEIR document id."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for doc_id in doc_ids:
        base = re.sub(r"[^a-z0-9-]+", "-", doc_id.lower()).strip("-")[:100] or "doc"
        slug, n = f"d-{base}", 1
        while slug in used:
            n += 1
            slug = f"d-{base}-{n}"
        used.add(slug)
        out[doc_id] = slug
    return out


def import_corpus(workspace: Workspace, corpus: list[dict]) -> dict[str, str]:
    """Write every document as a `source` page through the store; page id -> doc id."""
    slugs = slugs_for([str(d["_id"]) for d in corpus])
    page_to_doc = {}
    for doc in corpus:
        doc_id = str(doc["_id"])
        text = " ".join(str(doc.get("text") or "").split())
        title = (
            " ".join(str(doc.get("title") or "").split()) or " ".join(text.split()[:12]) or doc_id
        )
        page = Page(
            id=f"source.{slugs[doc_id]}",
            type=PageType.source,
            title=title,
            status=Status.accepted,
            body=text + "\n",
        )
        workspace.save(page)
        page_to_doc[page.id] = doc_id
    return page_to_doc


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "dataset", type=Path, help="BEIR directory (corpus.jsonl, queries.jsonl, qrels/)"
    )
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit-queries", type=int, default=None)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--max-windows", type=int, default=1, help="windows embedded per page")
    parser.add_argument("--embedder", default="minilm", help='"minilm" or "none"')
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := [m for m in modes if m not in MODES]:
        sys.exit(f"unknown modes: {unknown}")
    started = time.perf_counter()
    corpus = read_jsonl(args.dataset / "corpus.jsonl")
    queries = {str(q["_id"]): q["text"] for q in read_jsonl(args.dataset / "queries.jsonl")}
    qrels = read_qrels(args.dataset / "qrels" / f"{args.split}.tsv")
    qids = sorted(q for q in qrels if q in queries)
    if args.limit_queries:
        qids = qids[: args.limit_queries]
    qrels = {q: qrels[q] for q in qids}

    out: dict = {"dataset": args.dataset.name, "docs": len(corpus), "queries": len(qids)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kb"
        init_workspace(root)
        (root / "experimentos.toml").write_text(
            f'[index]\nembedder = "{args.embedder}"\nmax_windows = {args.max_windows}\n',
            encoding="utf-8",
        )
        workspace = Workspace(root)
        t0 = time.perf_counter()
        page_to_doc = import_corpus(workspace, corpus)
        out["import_seconds"] = round(time.perf_counter() - t0, 1)

        index = Index(workspace)
        if index.embedder is not None:
            index.embedder.embed(["load the model"])  # model loading is not indexing
        t0 = time.perf_counter()
        summary = index.sync()
        build = time.perf_counter() - t0
        out["build"] = {
            "seconds": round(build, 1),
            "pages_per_s": round(len(corpus) / build, 1),
            "chunks": summary.chunks,
            "embedder": index.embedder_name,
        }
        out["modes"] = {}
        for mode in modes:
            run, latencies = {}, []
            for qid in qids:
                t0 = time.perf_counter()
                try:
                    response = search(index, queries[qid], mode=mode, limit=100, sync=False)
                except UsageError:  # a query with no searchable text
                    run[qid] = []
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.mode != mode:
                    sys.exit(f"asked for {mode}, answered by {response.mode}: {response.notice}")
                docs = [page_to_doc[hit.id] for hit in response.results]
                run[qid] = [d for d in docs if d != qid]  # BEIR ignores identical ids
            scores = evaluate(run, qrels, ndcg_k=10, recall_k=(100,), mrr_k=10)
            scores["latency_ms"] = {"p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95)}
            out["modes"][mode] = scores
    out["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
