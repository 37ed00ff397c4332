"""Student's t in pure Python against scipy.stats.t, on 1,000 random cases."""

from __future__ import annotations

import random

import pytest
from scipy.stats import t

from experimentos.stats.distributions import incomplete_beta, t_cdf, t_quantile


def test_by_hand():
    # df = 1 is the Cauchy distribution: P(T <= 1) = 1/2 + atan(1)/π = 0.75
    assert t_cdf(1.0, 1) == pytest.approx(0.75, abs=1e-14)
    # df = 2 has a closed form: t_q = (2q - 1) / sqrt(2q(1 - q)); q = 0.975 -> 4.302653
    assert t_quantile(0.975, 2) == pytest.approx(0.95 / (2 * 0.975 * 0.025) ** 0.5, abs=1e-12)
    assert t_quantile(0.5, 7) == 0.0
    # I_x(1, 1) = x (the uniform distribution)
    assert incomplete_beta(1.0, 1.0, 0.3) == pytest.approx(0.3, abs=1e-15)


def test_matches_scipy_on_1000_random_cases():
    rng = random.Random(1908)
    for _ in range(1000):
        df = rng.choice([1, 2, 3, 4, 9, 19, 99, rng.uniform(0.5, 500)])
        q = rng.choice([0.975, 0.025, 0.8, rng.uniform(0.001, 0.999)])
        assert t_quantile(q, df) == pytest.approx(t.ppf(q, df), rel=1e-9, abs=1e-9), (q, df)
        x = rng.uniform(-30, 30)
        assert t_cdf(x, df) == pytest.approx(t.cdf(x, df), abs=1e-12), (x, df)


@pytest.mark.parametrize("q, df", [(0.0, 3), (1.0, 3), (0.5, 0)])
def test_bad_arguments_are_refused(q, df):
    with pytest.raises(ValueError):
        t_quantile(q, df) if df else t_cdf(q, df)
