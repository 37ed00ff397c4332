"""Paired numeric comparisons: BCa bootstrap, sign-flip test, reproducibility, scipy checks."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import bootstrap, permutation_test, skew

from experimentos.stats import PairedContinuous, mcnemar_exact, mean_interval, paired_continuous
from experimentos.stats.resample import (
    acceleration,
    bca_interval,
    bootstrap_means,
    expanded_quantile,
    percentile,
    sign_flip,
    sign_flip_p,
)


def test_by_hand():
    baseline = [10, 12, 9, 11]
    treatment = [13, 12, 12, 16]
    # deltas 3, 0, 3, 5: mean 11/4 = 2.75
    # deviations 0.25, -2.75, 0.25, 2.25; squares sum to 12.75; sd = sqrt(12.75/3) = 2.061553
    # sign flips of the nonzero deltas (3, 3, 5), observed sum 11: the sums are ±11, ±5, ±5, ±1;
    # |sum| >= 11 for 2 of the 8 assignments -> p = 0.25
    result = paired_continuous(baseline, treatment)
    assert result.delta == 2.75
    assert (result.baseline_mean, result.treatment_mean) == (10.5, 13.25)
    assert result.sd == pytest.approx(2.061553, abs=1e-6)
    assert result.p_value == 0.25 and result.test == "sign-flip-exact"
    assert result.interval_method == "expanded-bca-bootstrap"
    assert 0.0 <= result.low < 2.75 < result.high <= 5.0  # resample means stay in [0, 5]
    assert result.note == (
        "4 paired deltas: a bootstrap interval cannot reach past the observed paired deltas "
        "and is too narrow below 10; read the exact p-value"
    )
    # p = 0.25 > 0.05, so underpowered. Guenther: (1.959964 + 0.841621)² · (2.061553/2.75)²
    # + 1.959964²/2 = 7.848880 · 0.561983 + 1.920729 = 6.331669 -> 7 pairs; but only 3 of 4
    # deltas are nonzero and the exact test needs 6 nonzero ones: ceil(6 / 0.75) = 8 pairs.
    assert result.underpowered
    assert result.sample_size.pairs == 8 and result.sample_size.bound == "exact-test"


def test_percentile_matches_numpy_on_1000_random_cases():
    rng = random.Random(7)
    for _ in range(1000):
        values = sorted(rng.gauss(0, 10) for _ in range(rng.randint(1, 60)))
        q = rng.random()
        assert percentile(values, q) == pytest.approx(np.percentile(values, 100 * q), abs=1e-9)


def test_acceleration_is_the_skewness_over_6_sqrt_n():
    rng = random.Random(8)
    for _ in range(200):
        values = [rng.expovariate(1.0) for _ in range(rng.randint(3, 80))]
        expected = skew(values, bias=True) / (6 * len(values) ** 0.5)
        assert acceleration(values) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("case", range(6))
def test_bca_agrees_with_scipy(case):
    # Both sides are Monte Carlo (different generators), so they agree to a fraction of the
    # standard error, not to 1e-9; with 20,000 resamples each, 0.1 se is a wide margin.
    rng = random.Random(case)
    n = rng.choice([8, 15, 40])
    deltas = [rng.lognormvariate(0, 1) - 1.2 for _ in range(n)]  # skewed, like tokens or cost
    boots = bootstrap_means(deltas, 20_000, case)
    low, high, is_bca = bca_interval(deltas, boots, 0.95, expand=False)
    theirs = bootstrap(
        (np.array(deltas),), np.mean, n_resamples=20_000, method="BCa", random_state=case
    ).confidence_interval
    se = np.std(deltas, ddof=1) / np.sqrt(n)
    assert is_bca
    assert abs(low - theirs.low) < 0.1 * se
    assert abs(high - theirs.high) < 0.1 * se
    # The expansion replaces z_q by sqrt(n/(n-1))·t_{q,n-1} and only ever widens the interval.
    wide_low, wide_high, _ = bca_interval(deltas, boots, 0.95)
    assert wide_low <= low and high <= wide_high
    result = paired_continuous([0.0] * n, deltas, resamples=20_000, seed=case)
    assert (result.low, result.high) == (wide_low, wide_high)
    assert result.interval_method == "expanded-bca-bootstrap"


def test_expanded_quantile_by_hand():
    # n = 10: sqrt(10/9) · t_{0.975, 9} = 1.054093 · 2.262157 = 2.384523 (vs z = 1.959964)
    assert expanded_quantile(0.975, 10) == pytest.approx(2.384523, abs=1e-6)
    assert expanded_quantile(0.025, 10) == pytest.approx(-2.384523, abs=1e-6)


def _mean_delta(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(a - b, axis=axis)


def test_sign_flip_matches_scipy_exact_permutation_test():
    rng = random.Random(1935)
    for _ in range(300):
        n = rng.randint(2, 10)
        integers = rng.random() < 0.5  # integer metrics produce ties; those must count
        x = [float(rng.randint(0, 4)) if integers else rng.gauss(0, 1) for _ in range(n)]
        y = [float(rng.randint(0, 4)) if integers else rng.gauss(0.3, 1) for _ in range(n)]
        deltas = [b - a for a, b in zip(x, y, strict=True)]
        ours, exact = sign_flip_p(deltas, 2000, 0)
        assert exact
        theirs = permutation_test(
            (np.array(y), np.array(x)),
            _mean_delta,
            permutation_type="samples",
            n_resamples=np.inf,
            alternative="two-sided",
            vectorized=True,
        ).pvalue
        assert ours == pytest.approx(theirs, abs=1e-9), deltas


def test_sign_flip_monte_carlo_is_close_to_exact(monkeypatch):
    from experimentos.stats import resample

    rng = random.Random(16)
    deltas = [rng.gauss(0.4, 1) for _ in range(24)]  # 24 > 20 nonzero: Monte Carlo
    drawn = sign_flip(deltas, seed=3)
    assert not drawn.exact and drawn.draws == 100_000
    monkeypatch.setattr(resample, "EXACT_SIGN_FLIPS", 24)  # meet in the middle: 2 x 4,096 sums
    exact = sign_flip(deltas, seed=3)
    assert exact.exact
    assert abs(drawn.p - exact.p) < 4 * drawn.error + 1e-5


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.lists(st.sampled_from([-1.0, 0.0, 1.0]), max_size=30))
def test_sign_flip_on_pass_fail_deltas_is_mcnemar(deltas):
    b, c = deltas.count(-1.0), deltas.count(1.0)
    if b + c <= 14:
        assert sign_flip_p(deltas, 2000, 0)[0] == pytest.approx(mcnemar_exact(b, c), abs=1e-12)


def test_bootstrap_is_reproducible_and_order_free():
    rng = random.Random(5)
    baseline = [rng.randint(100, 5000) for _ in range(30)]
    treatment = [b + rng.randint(-800, 500) for b in baseline]
    first = paired_continuous(baseline, treatment, seed=11)
    assert paired_continuous(baseline, treatment, seed=11) == first
    pairs = list(zip(baseline, treatment, strict=True))
    rng.shuffle(pairs)
    shuffled = paired_continuous([p[0] for p in pairs], [p[1] for p in pairs], seed=11)
    assert shuffled == first  # only the multiset of pairs matters, not the record order
    other = paired_continuous(baseline, treatment, seed=12)
    assert (other.low, other.high) != (first.low, first.high)


def test_bootstrap_is_identical_in_a_fresh_interpreter():
    # A fresh process with another hash seed must give the same bytes (no dict/set order or
    # str-hash seeding leaks into the draws).
    code = (
        "import random; from experimentos.stats import paired_continuous;"
        "rng = random.Random(5); b = [rng.gauss(50, 9) for _ in range(40)];"
        "t = [x + rng.gauss(1, 4) for x in b];"
        "print(paired_continuous(b, t, seed=3).model_dump_json())"
    )
    outputs = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    result = json.loads(outputs.pop())
    assert result["test"] == "sign-flip-monte-carlo"
    assert result["interval_method"] == "expanded-bca-bootstrap"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=2, max_size=25).filter(
        lambda pairs: len({b - a for a, b in pairs}) > 1
    )
)
def test_interval_properties(pairs):
    baseline = [float(a) for a, _ in pairs]
    treatment = [float(b) for _, b in pairs]
    result = paired_continuous(baseline, treatment, resamples=400)
    deltas = [b - a for a, b in pairs]
    assert min(deltas) <= result.low <= result.high <= max(deltas)
    assert 0.0 < result.p_value <= 1.0
    assert result.underpowered == (result.low <= 0 <= result.high or result.p_value > 0.05)
    flipped = paired_continuous(treatment, baseline, resamples=400)
    assert flipped.delta == pytest.approx(-result.delta, abs=1e-9)
    assert flipped.p_value == result.p_value


def test_edge_cases_say_what_they_are():
    none = paired_continuous([], [])
    assert none.delta is None and none.reason == "no pairs" and none.underpowered
    one = paired_continuous([3.0], [5.0])
    assert one.delta == 2.0 and one.low is None and one.p_value is None
    assert one.sample_size.pairs is None and "fewer than 2 pairs" in one.sample_size.reason
    same = paired_continuous([1.0, 2.0], [3.0, 4.0])
    assert (same.low, same.high, same.interval_method) == (2.0, 2.0, "degenerate")
    assert "equal" in same.note
    # Two equal deltas exclude 0 from a zero-width interval, but the exact test gives p = 0.5:
    assert same.p_value == 0.5 and same.underpowered
    assert same.sample_size.pairs == 6 and same.sample_size.bound == "exact-test"
    zero = paired_continuous([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert zero.delta == 0.0 and zero.p_value == 1.0
    assert zero.sample_size.pairs is None and "delta is 0" in zero.sample_size.reason
    assert PairedContinuous.model_validate_json(zero.model_dump_json()) == zero


@pytest.mark.parametrize(
    "baseline, treatment",
    [([1.0], [1.0, 2.0]), ([float("nan")], [1.0]), ([1.0], [float("inf")]), (["1"], [2.0])],
)
def test_bad_values_are_refused(baseline, treatment):
    with pytest.raises(ValueError):
        paired_continuous(baseline, treatment)


def test_mean_interval():
    # tokens of one condition: mean (120 + 80 + 100 + 400 + 90 + 110 + 95 + 105 + 85 + 115)/10
    values = [120, 80, 100, 400, 90, 110, 95, 105, 85, 115]
    result = mean_interval(values, seed=1)
    assert result.mean == 130.0 and result.n == 10 and result.note is None
    assert result.interval_method == "expanded-bca-bootstrap"
    assert 80 <= result.low < 130.0 < result.high <= 400  # skewed by the 400: a long right arm
    assert result.high - 130.0 > 130.0 - result.low
    assert mean_interval(list(reversed(values)), seed=1) == result
    # its interval is the paired one's when the baseline is all zeros
    paired = paired_continuous([0] * 10, values, seed=1)
    assert (paired.low, paired.high) == (result.low, result.high)
    assert mean_interval([]).reason == "no values"
    assert mean_interval([3.5]).mean == 3.5 and mean_interval([3.5]).low is None
    flat = mean_interval([2, 2, 2])
    assert (flat.low, flat.high, flat.interval_method) == (2.0, 2.0, "degenerate")
    assert mean_interval([1, 2, 3]).note.startswith("3 values: a bootstrap interval")


def _subset_sum_p(deltas: list[int]) -> float:
    """The exact two-sided sign-flip p of integer deltas by counting subset sums (no draws)."""
    magnitudes = [abs(d) for d in deltas if d]
    total, observed = sum(magnitudes), abs(sum(deltas))
    counts = {0: 1}
    for m in magnitudes:
        nxt: dict[int, int] = {}
        for s, c in counts.items():
            nxt[s] = nxt.get(s, 0) + c
            nxt[s + m] = nxt.get(s + m, 0) + c
        counts = nxt
    hits = sum(c for s, c in counts.items() if abs(total - 2 * s) >= observed)
    return hits / 2 ** len(magnitudes)


@pytest.mark.parametrize("m", [15, 17, 18])
def test_sign_flip_is_exact_up_to_2_to_the_20_against_scipy(m):
    """An outside audit found Monte Carlo p-values (2,000 draws) above 14 nonzero deltas, each
    0.004-0.021 above the exact one: up to 2^20 sign patterns the p-value is enumerated."""
    rng = random.Random(m)
    deltas = [rng.gauss(0.5, 1) for _ in range(m)]
    result = sign_flip(deltas, seed=0)
    assert result.exact and result.draws is None and result.error is None
    theirs = permutation_test(
        (np.array(deltas), np.zeros(m)),
        _mean_delta,
        permutation_type="samples",
        n_resamples=np.inf,
        vectorized=True,
    ).pvalue
    assert result.p == pytest.approx(theirs, abs=1e-9)


def test_sign_flip_with_20_integer_deltas_and_ties_is_exact():
    rng = random.Random(20)
    for _ in range(20):
        deltas = [rng.choice([-3, -1, 0, 1, 2, 5]) for _ in range(rng.randint(19, 24))]
        result = sign_flip([float(d) for d in deltas], seed=0)
        nonzero = sum(1 for d in deltas if d)
        if nonzero <= 20:
            assert result.exact and result.p == pytest.approx(_subset_sum_p(deltas), abs=1e-12)
        else:
            assert not result.exact


def test_sign_flip_above_2_to_the_20_draws_100000_and_says_its_error():
    rng = random.Random(21)
    deltas = [rng.choice([-2, -1, 1, 2, 3, 4]) for _ in range(24)]
    result = sign_flip([float(d) for d in deltas], seed=0)
    assert not result.exact and result.draws >= 100_000
    exact = _subset_sum_p(deltas)
    assert result.error == pytest.approx((result.p * (1 - result.p) / result.draws) ** 0.5)
    assert abs(result.p - exact) < 4 * result.error + 1e-5
    numbers = paired_continuous([0.0] * 24, [float(d) for d in deltas])
    assert numbers.test == "sign-flip-monte-carlo" and numbers.p_draws >= 100_000
    assert numbers.p_error == result.error and numbers.p_value == result.p
    from experimentos.stats import fmt_p_of

    text = fmt_p_of(numbers)
    assert "±" in text and text.startswith(f"{numbers.p_value:.3f}")
