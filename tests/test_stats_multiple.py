"""Holm's correction: by hand, against statsmodels on 1,000 random families, properties."""

from __future__ import annotations

import gc
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from experimentos.stats import holm, holm_reject, paired_binary_counts, with_holm


def test_by_hand():
    # raw [0.01, 0.04, 0.03], m = 3; sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04;
    # running maximum 0.03, 0.06, 0.06; back in input order: [0.03, 0.06, 0.06]
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_reject([0.01, 0.04, 0.03]) == [True, False, False]
    # capped at 1: 0.6 * 2 = 1.2 -> 1
    assert holm([0.6, 0.7]) == [1.0, 1.0]
    assert holm([]) == []
    assert holm([0.2]) == [0.2]  # one comparison: nothing to correct


def test_matches_statsmodels_on_1000_random_families():
    rng = random.Random(1979)
    # multipletests(method="holm") calls gc.collect() each time, which walks every object the
    # test session holds (0.2 s a call here); frozen objects are skipped.
    gc.freeze()
    try:
        for _ in range(1000):
            m = rng.randint(1, 30)
            ps = [rng.choice([rng.random(), rng.random() ** 4, 1.0, 0.05]) for _ in range(m)]
            reject, adjusted, _, _ = multipletests(ps, alpha=0.05, method="holm")
            assert holm(ps) == pytest.approx(list(adjusted), abs=1e-9), ps
            assert holm_reject(ps) == list(reject), ps
    finally:
        gc.unfreeze()


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.lists(st.floats(0.0, 1.0), max_size=40))
def test_properties(ps):
    adjusted = holm(ps)
    assert all(p <= a <= 1.0 for p, a in zip(ps, adjusted, strict=True))
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    ranked = [adjusted[i] for i in order]
    assert ranked == sorted(ranked)  # monotone in the raw p-values
    shuffled = list(range(len(ps)))
    random.Random(len(ps)).shuffle(shuffled)
    again = holm([ps[i] for i in shuffled])
    assert again == [adjusted[i] for i in shuffled]  # permutation equivariant


def test_none_is_a_comparison_without_pairs():
    # m counts the defined p-values only: [0.01, None, 0.04] is a family of 2
    assert holm([0.01, None, 0.04]) == [0.02, None, 0.04]
    assert holm_reject([0.01, None, 0.04]) == [True, False, True]


def test_with_holm_fills_p_adjusted():
    results = [
        paired_binary_counts(5, 0, 7, 8),  # p = 2/128 = 0.015625
        paired_binary_counts(5, 1, 6, 8),  # p = 0.125
        paired_binary_counts(0, 0, 0, 0),  # no pairs: p None
    ]
    adjusted = with_holm(results)
    assert [r.p_adjusted for r in adjusted] == [0.03125, 0.125, None]
    assert [r.p_value for r in adjusted] == [0.015625, 0.125, None]
    assert results[0].p_adjusted is None  # the inputs are frozen and unchanged


@pytest.mark.parametrize("bad", [[1.5], [-0.1], [float("nan")], ["0.1"], [True]])
def test_bad_p_values_are_refused(bad):
    with pytest.raises(ValueError):
        holm(bad)
