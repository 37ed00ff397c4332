"""Sample sizes for the `underpowered` answer: by hand, against statsmodels and exact power."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom
from statsmodels.stats.power import TTestPower

from experimentos.stats import mcnemar_exact, mcnemar_sample_size, paired_t_sample_size
from experimentos.stats.power import exact_test_floor


def test_connor_by_hand():
    # b = 2, c = 6 of N = 20 pairs: ψ = 8/20 = 0.4, δ = 4/20 = 0.2
    # z_.975·sqrt(ψ) = 1.959964·0.632456 = 1.239590
    # z_.8·sqrt(ψ - δ²) = 0.841621·sqrt(0.36) = 0.504973
    # (1.239590 + 0.504973)² / δ² = 3.043499 / 0.04 = 76.087 -> 77 pairs
    size = mcnemar_sample_size(2, 6, 20)
    assert size.pairs == 77 and size.bound == "power" and size.method == "connor-1987"
    # 77 pairs over 4 pairs per repeat (2 fixtures x 2 agents) -> 20 repeats (19.25 up)
    assert mcnemar_sample_size(2, 6, 20, pairs_per_repeat=4).repeats == 20


def test_guenther_by_hand():
    # δ = 1, s = 2: (1.959964 + 0.841621)² · (2/1)² + 1.959964²/2
    #             = 7.848880 · 4 + 1.920729 = 33.316 -> 34 pairs (statsmodels: 33.37 -> 34)
    size = paired_t_sample_size(1.0, 2.0)
    assert size.pairs == 34 and size.bound == "power"
    assert math.ceil(TTestPower().solve_power(effect_size=0.5, alpha=0.05, power=0.8)) == 34


def test_exact_test_floor():
    # 2·0.5^m <= 0.05 first at m = 6 (0.03125); with half the pairs disagreeing: 12 pairs.
    assert exact_test_floor(0.05) == 6
    assert exact_test_floor(0.05, 0.5) == 12
    assert exact_test_floor(0.01) == 8  # 2/2^8 = 0.0078
    # Two pairs, both for the treatment: Connor alone says 4, where the exact p is 0.125.
    tiny = mcnemar_sample_size(0, 2, 2)
    assert tiny.pairs == 6 and tiny.bound == "exact-test"
    assert mcnemar_exact(0, 4) > 0.05 and mcnemar_exact(0, 6) < 0.05


def test_paired_t_is_within_one_pair_of_statsmodels_on_200_effect_sizes():
    # (statsmodels solves the noncentral t numerically: ~4 ms a call, so 200 rather than 1,000)
    rng = random.Random(1981)
    for _ in range(200):
        effect = rng.uniform(0.05, 1.5)
        ours = paired_t_sample_size(effect, 1.0).pairs
        exact_t = math.ceil(TTestPower().solve_power(effect_size=effect, alpha=0.05, power=0.8))
        assert max(exact_t, 6) - 1 <= ours <= max(exact_t, 6), effect


def _exact_mcnemar_power(pairs: int, psi: float, share_c: float) -> float:
    # P(reject) = Σ_m P(m discordant of `pairs`) · P(exact p <= 0.05 | m), by enumeration.
    power = 0.0
    weights = binom.pmf(np.arange(pairs + 1), pairs, psi)
    for m in range(pairs + 1):
        rejecting = [c for c in range(m + 1) if mcnemar_exact(m - c, c) <= 0.05]
        if rejecting and weights[m] > 1e-15:
            power += weights[m] * binom.pmf(rejecting, m, share_c).sum()
    return power


@pytest.mark.parametrize("b, c, n", [(2, 6, 20), (1, 3, 8), (4, 12, 30), (1, 5, 10)])
def test_connor_is_close_to_the_exact_tests_power(b, c, n):
    # Connor's size is the normal-approximation test's; at it, the exact test reached a power of
    # 0.754-0.761 on these tables (not 0.80), and needed 7-11% more pairs for 0.80. The power.py
    # docstring states this; the test keeps the statement true.
    size = mcnemar_sample_size(b, c, n).pairs
    psi, share_c = (b + c) / n, c / (b + c)
    assert 0.74 <= _exact_mcnemar_power(size, psi, share_c) < 0.8
    assert _exact_mcnemar_power(math.ceil(size * 1.12), psi, share_c) >= 0.8


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 60))
def test_mcnemar_size_properties(b, c, extra):
    n = b + c + extra
    size = mcnemar_sample_size(b, c, n)
    if n == 0 or b == c:
        assert size.pairs is None and size.reason
        return
    assert size.pairs >= exact_test_floor(0.05, (b + c) / n)
    assert size.pairs == mcnemar_sample_size(c, b, n).pairs  # direction does not matter
    # the same discordant pairs, split more unevenly, need fewer pairs
    if min(b, c) >= 1:
        assert mcnemar_sample_size(min(b, c) - 1, max(b, c) + 1, n).pairs <= size.pairs


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.floats(0.01, 100), st.floats(0.0, 100))
def test_paired_t_size_properties(delta, sd):
    size = paired_t_sample_size(delta, sd)
    assert size.pairs >= 6
    assert size.pairs == paired_t_sample_size(-delta, sd).pairs
    assert paired_t_sample_size(2 * delta, sd).pairs <= size.pairs


def test_undefined_sizes_say_why():
    assert paired_t_sample_size(0.0, 1.0).reason.startswith("observed delta is 0")
    assert paired_t_sample_size(None, None).reason.startswith("fewer than 2 pairs")
    assert mcnemar_sample_size(0, 0, 10).reason.startswith("no discordant pairs")
    assert mcnemar_sample_size(3, 3, 10).reason.startswith("observed delta is 0")
    assert mcnemar_sample_size(0, 0, 0).reason == "no pairs"
    with pytest.raises(ValueError):
        mcnemar_sample_size(5, 6, 10)
    with pytest.raises(ValueError):
        paired_t_sample_size(1.0, 1.0, pairs_per_repeat=0)
