"""Standard retrieval metrics (binary or graded qrels), as BEIR/pytrec_eval compute them.

nDCG@k uses the linear gain rel / log2(rank + 1); recall@k and MRR@k count a document as
relevant when its grade is > 0. Means are taken over queries that have at least one relevant
document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]  # query id -> doc id -> relevance grade


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    wanted = {doc for doc, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def evaluate(
    run: Mapping[str, Sequence[str]],
    qrels: Qrels,
    ndcg_k: int = 10,
    recall_k: Sequence[int] = (5, 100),
    mrr_k: int = 10,
) -> dict[str, float]:
    """Mean metrics over the judged queries; a judged query missing from `run` scores 0."""
    judged = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not judged:
        return {}
    totals = {f"ndcg@{ndcg_k}": 0.0, f"mrr@{mrr_k}": 0.0, **{f"recall@{k}": 0.0 for k in recall_k}}
    for query in judged:
        ranked = list(run.get(query, []))
        rel = qrels[query]
        totals[f"ndcg@{ndcg_k}"] += ndcg_at_k(ranked, rel, ndcg_k)
        totals[f"mrr@{mrr_k}"] += mrr_at_k(ranked, rel, mrr_k)
        for k in recall_k:
            totals[f"recall@{k}"] += recall_at_k(ranked, rel, k)
    return {name: round(value / len(judged), 4) for name, value in totals.items()}
