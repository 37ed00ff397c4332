"""benchmarks/beir.py end to end on a tiny hand-made BEIR dataset with known scores."""

import json
import subprocess
import sys

from .conftest import PROJECT

CORPUS = [
    {"_id": "d1", "title": "Zebra stripes", "text": "Zebras have black and white stripes."},
    {"_id": "d2", "title": "Penguin diet", "text": "Penguins eat krill and small fish."},
    {"_id": "D/3", "title": "", "text": "Volcanic ash clouds ground aircraft for days."},
    {"_id": "q2", "title": "Decoy", "text": "Krill krill krill penguins eat krill."},
]
QUERIES = [
    {"_id": "q1", "text": "why do zebras have stripes"},
    {"_id": "q2", "text": "what do penguins eat"},
    {"_id": "q3", "text": "volcanic ash and aircraft"},
    {"_id": "q4", "text": "unjudged query"},
]
# q3's relevant document is d1, which the query cannot find: it scores 0 on every metric.
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td1\t1\n"


def test_beir_benchmark_scores_a_tiny_dataset(tmp_path):
    data = tmp_path / "tiny"
    (data / "qrels").mkdir(parents=True)
    (data / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in CORPUS) + "\n")
    (data / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in QUERIES) + "\n")
    (data / "qrels" / "test.tsv").write_text(QRELS)
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "benchmarks" / "beir.py"),
            str(data),
            "--modes",
            "fts",
            "--embedder",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["docs"], out["queries"]) == (4, 3)
    fts = out["modes"]["fts"]
    # q1 and q2 rank their document first (q2's decoy shares the query's id and is ignored,
    # as BEIR does); q3 never finds d1.
    assert fts["ndcg@10"] == round(2 / 3, 4)
    assert fts["mrr@10"] == round(2 / 3, 4)
    assert fts["recall@100"] == round(2 / 3, 4)
    assert set(fts["latency_ms"]) == {"p50", "p95"}
    assert out["build"]["pages_per_s"] > 0
