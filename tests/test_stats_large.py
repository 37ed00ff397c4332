"""The large-sample closed forms agree with scipy to 1e-9 on random inputs."""

from __future__ import annotations

import random

import pytest
from scipy import stats as sps

from experimentos.stats.large import paired_t, t_mean_interval


def test_t_mean_interval_matches_scipy():
    rng = random.Random(1)
    for _ in range(200):
        n = rng.randint(2, 600)
        xs = [rng.lognormvariate(8, 1) for _ in range(n)]
        got = t_mean_interval(xs)
        low, high = sps.t.interval(0.95, n - 1, loc=sps.tmean(xs), scale=sps.sem(xs))
        assert got.low == pytest.approx(low, rel=1e-9)
        assert got.high == pytest.approx(high, rel=1e-9)
        assert got.interval_method == "t"


def test_paired_t_matches_scipy():
    rng = random.Random(2)
    for _ in range(200):
        n = rng.randint(3, 600)
        base = [rng.gauss(100, 20) for _ in range(n)]
        treat = [b + rng.gauss(rng.uniform(-3, 3), 10) for b in base]
        got = paired_t(base, treat)
        want = sps.ttest_rel(treat, base)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-12)
        low, high = want.confidence_interval(0.95)
        assert (got.low, got.high) == pytest.approx((low, high), rel=1e-9)
        assert got.underpowered == (got.low <= 0 <= got.high or got.p_value > 0.05)


def test_equal_deltas_use_the_exact_sign_flip_p():
    got = paired_t([1.0] * 10, [2.0] * 10)
    assert got.sd == 0 and (got.low, got.high) == (1.0, 1.0)
    assert got.p_value == 2 * 0.5**10 and got.test == "paired-t"
    assert paired_t([1.0, 2.0], [1.0, 2.0]).p_value == 1.0
    with pytest.raises(ValueError):
        t_mean_interval([1.0])
