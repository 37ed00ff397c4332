"""The benchmark scoring is standard: checked on a tiny hand-made dataset with known scores."""

import math

import pytest

from experimentos.index.evaluation import evaluate, mrr_at_k, ndcg_at_k, recall_at_k

QRELS = {"q1": {"d1": 1, "d3": 1}, "q2": {"d9": 1}, "q3": {"d2": 2, "d4": 1}, "q4": {}}
RUN = {"q1": ["d3", "d2", "d1"], "q2": ["d1", "d2"], "q3": ["d4", "d2"]}


def test_ndcg_by_hand():
    # q1: hits at ranks 1 and 3 -> (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 1 / 2) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RUN["q1"], QRELS["q1"]) == pytest.approx(expected)
    assert ndcg_at_k(RUN["q2"], QRELS["q2"]) == 0.0
    # graded: ideal order is d2 (2) then d4 (1); the run has them swapped
    graded = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(RUN["q3"], QRELS["q3"]) == pytest.approx(graded)
    assert ndcg_at_k(["d1", "d3"], QRELS["q1"]) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "d1"], QRELS["q1"], k=1) == 0.0


def test_recall_and_mrr_by_hand():
    assert recall_at_k(RUN["q1"], QRELS["q1"], 1) == 0.5
    assert recall_at_k(RUN["q1"], QRELS["q1"], 3) == 1.0
    assert mrr_at_k(RUN["q1"], QRELS["q1"]) == 1.0
    assert mrr_at_k(["x", "y", "d9"], QRELS["q2"]) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "d9"], QRELS["q2"], k=2) == 0.0


def test_evaluate_averages_over_judged_queries_only():
    scores = evaluate(RUN, QRELS, recall_k=(1, 2))
    q1 = (1 + 1 / 2) / (1 + 1 / math.log2(3))
    q3 = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert scores["ndcg@10"] == pytest.approx(round((q1 + 0 + q3) / 3, 4))
    assert scores["recall@1"] == pytest.approx(round((0.5 + 0 + 0.5) / 3, 4))
    assert scores["recall@2"] == pytest.approx(round((0.5 + 0 + 1.0) / 3, 4))
    assert scores["mrr@10"] == pytest.approx(round((1 + 0 + 1) / 3, 4))
    # a judged query the run never answered counts as zero
    assert evaluate({}, {"q": {"d": 1}})["ndcg@10"] == 0.0
