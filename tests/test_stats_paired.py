"""Paired pass/fail comparisons: exact McNemar and Newcombe's interval, by hand and checked."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from experimentos.stats import (
    PairedBinary,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_binary,
    paired_binary_counts,
)

cells = st.integers(0, 40)


def test_mcnemar_by_hand():
    # b = 1 pair favoured the baseline, c = 6 the treatment; m = 7 discordant pairs.
    # P(X <= 1) for X ~ Bin(7, 1/2) = (C(7,0) + C(7,1)) / 2^7 = (1 + 7)/128 = 0.0625
    # two-sided p = 2 * 0.0625 = 0.125
    assert mcnemar_exact(1, 6) == 0.125
    assert mcnemar_exact(6, 1) == 0.125
    # 0 vs 6: 2 * 1/64 = 0.03125, the fewest discordant pairs that reach p < 0.05
    assert mcnemar_exact(0, 6) == 0.03125
    assert mcnemar_exact(0, 5) == 0.0625
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(4, 4) == 1.0


def test_newcombe_by_hand_and_the_two_pair_trap():
    # 2 pairs, both passed only with the treatment: p1 (treatment) = 1, p2 (baseline) = 0.
    # Wilson(2 of 2) = [0.342380, 1], Wilson(0 of 2) = [0, 0.657620]; a margin is empty -> φ = 0
    # low  = 1 - sqrt((1 - 0.342380)² + (0.657620 - 0)²) = 1 - sqrt(0.864929) = 0.069985
    # high = 1 + sqrt((1 - 1)² + (0 - 0)²) = 1
    result = paired_binary_counts(both=0, only_baseline=0, only_treatment=2, neither=0)
    assert result.delta == 1.0
    assert result.low == pytest.approx(0.069985, abs=1e-6) and result.high == 1.0
    # The interval excludes 0, yet the exact test cannot reject with 2 pairs (p = 2·(1/4) = 0.5):
    # the flag follows the exact test, and 6 discordant pairs is the least that could.
    assert result.p_value == 0.5 and result.underpowered
    assert result.sample_size.pairs == 6 and result.sample_size.bound == "exact-test"


def test_published_example_cavo_2012():
    # Fagerland, Lydersen & Laake 2014 (Stat Med 33:2850), complete response before/after
    # consolidation therapy (Cavo et al. 2012): table [[59, 6], [16, 80]], delta = -0.0621,
    # McNemar exact conditional P = 0.052479, Newcombe square-and-add CI (-0.1186, -0.0046).
    # Here the column condition is the treatment, so the delta and interval flip sign.
    result = paired_binary_counts(both=59, only_baseline=16, only_treatment=6, neither=80)
    assert result.delta == pytest.approx(-0.0621, abs=5e-5)
    assert result.p_value == pytest.approx(0.052479, abs=5e-7)
    assert result.low == pytest.approx(-0.1186, abs=5e-5)
    assert result.high == pytest.approx(-0.0046, abs=5e-5)
    assert result.underpowered  # p = 0.052 > 0.05 although the interval excludes 0


def test_mcnemar_matches_statsmodels_and_scipy_on_1000_random_cases():
    rng = random.Random(1947)
    for _ in range(1000):
        scale = rng.choice([5, 30, 400])
        b, c = rng.randint(0, scale), rng.randint(0, scale)
        ours = mcnemar_exact(b, c)
        table = [[rng.randint(0, 50), b], [c, rng.randint(0, 50)]]
        assert ours == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-9), (b, c)
        if b + c:
            assert ours == pytest.approx(binomtest(b, b + c, 0.5).pvalue, abs=1e-9), (b, c)


def _newcombe_reference(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    # Newcombe 1998 method 10, written from the paper with statsmodels' Wilson limits:
    # a = both pass, b = only baseline, c = only treatment, d = neither; p1 = treatment.
    n = a + b + c + d
    p1, p2 = (a + c) / n, (a + b) / n
    l1, u1 = proportion_confint(a + c, n, method="wilson")
    l2, u2 = proportion_confint(a + b, n, method="wilson")
    margins = (a + c) * (b + d) * (a + b) * (c + d)
    phi = 0.0
    cross = a * d - b * c
    if margins and cross > n / 2:
        phi = (cross - n / 2) / math.sqrt(margins)
    elif margins and cross < 0:
        phi = cross / math.sqrt(margins)
    dl = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    du = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return p1 - p2 - dl, p1 - p2 + du


def test_newcombe_matches_the_formula_on_1000_random_tables():
    rng = random.Random(1998)
    for _ in range(1000):
        scale = rng.choice([3, 20, 200])
        table = [rng.randint(0, scale) for _ in range(4)]
        if sum(table) == 0:
            continue
        low, high = newcombe_paired_interval(*table)
        ref_low, ref_high = _newcombe_reference(*table)
        assert low == pytest.approx(ref_low, abs=1e-9), table
        assert high == pytest.approx(ref_high, abs=1e-9), table


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(cells, cells, cells, cells)
def test_paired_properties(a, b, c, d):
    if a + b + c + d == 0:
        return
    result = paired_binary_counts(a, b, c, d)
    assert -1.0 <= result.low <= result.delta <= result.high <= 1.0
    assert result.delta == pytest.approx(result.treatment.p - result.baseline.p, abs=1e-12)
    assert 0.0 < result.p_value <= 1.0
    swapped = paired_binary_counts(a, c, b, d)
    assert swapped.p_value == result.p_value
    assert swapped.low == pytest.approx(-result.high, abs=1e-12)
    assert swapped.high == pytest.approx(-result.low, abs=1e-12)
    if result.underpowered:
        assert result.sample_size is not None
    else:
        assert result.p_value <= 0.05 and not result.low <= 0 <= result.high


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.integers(1, 300))
def test_a_more_lopsided_split_is_more_significant(m):
    # With m discordant pairs fixed, moving one pair from the smaller side lowers p.
    ps = [mcnemar_exact(low, m - low) for low in range(m // 2 + 1)]
    assert ps == sorted(ps)


def test_from_outcomes():
    baseline = [True, True, False, False, False, True]
    treatment = [True, False, True, True, True, True]
    # pairs: (T,T) (T,F) (F,T) (F,T) (F,T) (T,T) -> both 2, only_baseline 1, only_treatment 3
    result = paired_binary(baseline, treatment)
    table = (result.both, result.only_baseline, result.only_treatment, result.neither)
    assert table == (2, 1, 3, 0)
    assert result.delta == pytest.approx((3 - 1) / 6)
    assert result.baseline.k == 3 and result.treatment.k == 5
    # b + c = 4: p = 2 * (1 + 4)/16 = 0.625
    assert result.p_value == 0.625
    assert result.underpowered and result.sample_size is not None
    with pytest.raises(ValueError):
        paired_binary([True], [True, False])


def test_no_pairs():
    result = paired_binary([], [])
    assert result.delta is None and result.p_value is None and result.reason == "no pairs"
    assert result.baseline.p is None
    assert result.underpowered
    assert PairedBinary.model_validate_json(result.model_dump_json()) == result


def test_no_discordant_pairs_still_has_an_interval():
    # 10 pairs that all agree: delta 0, p = 1, but the interval is not zero-width (Wald's is).
    result = paired_binary_counts(5, 0, 0, 5)
    assert result.delta == 0.0 and result.p_value == 1.0
    assert result.low < 0 < result.high
    assert result.sample_size.pairs is None
    assert "never disagreed" in result.sample_size.reason


@pytest.mark.parametrize("bad", [(-1, 0, 0, 0), (0, 1.5, 0, 0), (True, 0, 0, 1)])
def test_bad_tables_are_refused(bad):
    with pytest.raises(ValueError):
        paired_binary_counts(*bad)
