"""pass@k and pass^k: hand examples, a direct numpy computation on 1,000 cases, the interval."""

from __future__ import annotations

import random
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom
from statsmodels.stats.proportion import proportion_confint

from experimentos.stats import pass_at_k, pass_hat_k, pass_k


def test_by_hand():
    # n = 5 runs, c = 2 passed, k = 2:
    # pass@2 = 1 - C(3, 2)/C(5, 2) = 1 - 3/10 = 0.7  (3 of the 10 pairs of runs both failed)
    # pass^2 = C(2, 2)/C(5, 2) = 1/10 = 0.1          (1 of the 10 pairs both passed)
    assert pass_at_k(5, 2, 2) == 0.7
    assert pass_hat_k(5, 2, 2) == 0.1
    # k = 1 is the plain rate either way: 2/5
    assert pass_at_k(5, 2, 1) == pass_hat_k(5, 2, 1) == 0.4
    # fewer failures than k: some run in every k-subset passed
    assert pass_at_k(5, 4, 2) == 1.0
    # Over tasks it is the mean: tasks (5, 2) and (5, 5) give pass@2 = (0.7 + 1.0)/2 = 0.85
    assert pass_k([(5, 2), (5, 5)], 2).estimate == pytest.approx(0.85)


def _chen_numpy(n: int, c: int, k: int) -> float:
    # The numerically stable form in Chen et al. 2021 (fig. 3), computed independently in numpy.
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def _hat_numpy(n: int, c: int, k: int) -> float:
    # C(c, k)/C(n, k) = prod_{i<k} (c - i)/(n - i)
    i = np.arange(k)
    return float(np.prod((c - i) / (n - i))) if c >= k else 0.0


def test_matches_a_direct_computation_on_1000_random_cases():
    rng = random.Random(2021)
    for _ in range(1000):
        n = rng.choice([rng.randint(1, 10), rng.randint(1, 300)])
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        assert pass_at_k(n, c, k) == pytest.approx(_chen_numpy(n, c, k), abs=1e-9), (n, c, k)
        assert pass_hat_k(n, c, k) == pytest.approx(_hat_numpy(n, c, k), abs=1e-9), (n, c, k)
        # and against plain binomials: the number of k-subsets with a pass / with all passes
        exact_at = (comb(n, k) - comb(n - c, k)) / comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(exact_at, abs=1e-12)


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_estimator_properties(nc):
    n, c = nc
    previous_at, previous_hat = 0.0, 1.0
    for k in range(1, n + 1):
        at, hat = pass_at_k(n, c, k), pass_hat_k(n, c, k)
        assert 0.0 <= hat <= at <= 1.0
        assert at >= previous_at and hat <= previous_hat  # more tries: more likely any / all
        previous_at, previous_hat = at, hat
        # the two are mirror images: pass^k of the passes = 1 - pass@k of the failures
        assert hat == pytest.approx(1 - pass_at_k(n, n - c, k), abs=1e-12)


def test_k_1_is_the_wilson_interval_of_the_pooled_runs():
    # For k = 1 the score equation is Wilson's: (p̂ - p)² = z²·p(1 - p)/N over all N runs.
    rng = random.Random(1927)
    for _ in range(200):
        tasks = [(n, rng.randint(0, n)) for n in [rng.randint(1, 8)] * rng.randint(1, 6)]
        runs, passes = sum(n for n, _ in tasks), sum(c for _, c in tasks)
        low, high = proportion_confint(passes, runs, method="wilson")
        result = pass_k(tasks, 1)
        assert result.low == pytest.approx(low, abs=1e-9), tasks
        assert result.high == pytest.approx(high, abs=1e-9), tasks


def _variance_scipy(n: int, k: int, p: float, kind: str) -> float:
    # Var_p(U) from scipy's binomial pmf, independently of the package's own pmf
    one = pass_at_k if kind == "pass@k" else pass_hat_k
    values = np.array([one(n, c, k) for c in range(n + 1)])
    weights = binom.pmf(np.arange(n + 1), n, p)
    mean = float(weights @ values)
    return float(weights @ (values - mean) ** 2)


@pytest.mark.parametrize(
    "tasks, k, kind",
    [
        ([(5, 2)], 2, "pass@k"),
        ([(5, 2), (5, 5), (4, 0), (6, 3)], 2, "pass@k"),
        ([(5, 2), (5, 5), (4, 0), (6, 3)], 2, "pass^k"),
        ([(10, 7)] * 8, 3, "pass^k"),
    ],
)
def test_bounds_solve_the_score_equation(tasks, k, kind):
    # At each bound f(p): (θ̂ - f(p))² = z²·Σ Var_p(U_t)/T², checked with scipy's binomial.
    result = pass_k(tasks, k, kind)
    z2 = 1.959963984540054**2
    for bound in (result.low, result.high):
        if bound in (0.0, 1.0):
            continue
        p = 1 - (1 - bound) ** (1 / k) if kind == "pass@k" else bound ** (1 / k)
        variance = sum(_variance_scipy(n, k, p, kind) for n, _ in tasks) / len(tasks) ** 2
        assert (result.estimate - bound) ** 2 == pytest.approx(z2 * variance, rel=1e-6)


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(
    st.lists(
        st.integers(2, 8).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 2),
    st.sampled_from(["pass@k", "pass^k"]),
)
def test_interval_properties(tasks, k, kind):
    result = pass_k(tasks, k, kind)
    assert 0.0 <= result.low <= result.estimate <= result.high <= 1.0
    assert result.low < result.high  # never zero-width
    assert pass_k(list(reversed(tasks)), k, kind) == result  # order does not matter


def test_all_passed_is_not_certain():
    # 3 of 3 runs passed: a bootstrap would say [1, 1]; the Wilson interval says p >= 0.44.
    result = pass_k([(3, 3)], 1)
    assert result.estimate == 1.0 and result.high == 1.0
    assert result.low == pytest.approx(proportion_confint(3, 3, method="wilson")[0], abs=1e-9)
    several = pass_k([(3, 3), (3, 3), (3, 3)], 2)
    assert several.high == 1.0 and 0.5 < several.low < 1.0


def test_more_tasks_narrow_the_interval():
    one = pass_k([(6, 3)], 2)
    many = pass_k([(6, 3)] * 16, 2)
    assert many.estimate == pytest.approx(one.estimate)
    assert (many.high - many.low) < 0.5 * (one.high - one.low)


def test_undefined_cases_say_why():
    none = pass_k([], 1)
    assert none.estimate is None and none.reason == "no tasks"
    short = pass_k([(5, 2), (2, 1)], 3)
    assert short.estimate is None and short.low is None
    assert short.reason == "1 task(s) have fewer than k=3 runs (fewest: 2)"
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)
    with pytest.raises(ValueError):
        pass_k([(2, 3)], 1)
    with pytest.raises(ValueError):
        pass_k([(2, 1)], 0)
    with pytest.raises(ValueError):
        pass_k([(2, 1)], 1, "pass@any")  # type: ignore[arg-type]


def test_k_equal_to_n_keeps_the_estimate_inside():
    # n = k = 2, c = 1: the unbiased pass@2 is 1 (one of the two runs passed). The interval is
    # wide, as it should be, and contains the estimate.
    result = pass_k([(2, 1)], 2)
    assert result.estimate == 1.0 and result.high == 1.0
    assert result.low < 0.25
