"""Wilson rates: hand-computed examples, statsmodels on 1,000 random cases, properties."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from experimentos.stats import Rate, rate, wilson
from experimentos.stats.distributions import z_one_sided, z_two_sided


def test_two_of_three_by_hand():
    # z = 1.959964, z² = 3.841459, p = 2/3, n = 3
    # denom  = 1 + z²/n                      = 1 + 1.280486          = 2.280486
    # centre = (p + z²/2n) / denom           = (0.666667 + 0.640243) / 2.280486 = 0.573084
    # half   = z·sqrt(p(1-p)/n + z²/4n²)/denom
    #        = 1.959964·sqrt(0.074074 + 0.106707) / 2.280486 = 1.959964·0.425184/2.280486
    #        = 0.365424
    # [low, high] = [0.573084 - 0.365424, 0.573084 + 0.365424] = [0.207660, 0.938508]
    r = wilson(2, 3)
    assert r.p == pytest.approx(2 / 3)
    assert r.low == pytest.approx(0.207660, abs=1e-6)
    assert r.high == pytest.approx(0.938508, abs=1e-6)


def test_zero_of_five_by_hand():
    # k = 0: p = 0, so centre = (z²/2n)/denom and half = z·(z/2n)/denom = (z²/2n)/denom:
    # low = 0 exactly, high = (z²/n)/(1 + z²/n) = 0.768292/1.768292 = 0.434482
    r = wilson(0, 5)
    assert r.low == 0.0
    assert r.high == pytest.approx(0.434482, abs=1e-6)
    # and its mirror image: 5 of 5 is [1 - 0.434482, 1]
    assert wilson(5, 5).low == pytest.approx(1 - 0.434482, abs=1e-6)
    assert wilson(5, 5).high == 1.0


def test_no_runs_is_undefined_not_zero():
    r = wilson(0, 0)
    assert (r.p, r.low, r.high) == (None, None, None)
    assert not r.defined
    assert json.loads(r.model_dump_json())["p"] is None  # never NaN in JSON


def test_rate_of_outcomes():
    assert rate([True, False, True]) == wilson(2, 3)
    assert rate([]) == wilson(0, 0)


@pytest.mark.parametrize("k, n", [(-1, 3), (4, 3), (1, -1), (1.0, 3), (True, 3)])
def test_bad_counts_are_refused(k, n):
    with pytest.raises(ValueError):
        wilson(k, n)


def test_quantiles():
    assert z_two_sided(0.95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert z_one_sided(0.8) == pytest.approx(0.8416212335729143, abs=1e-12)
    with pytest.raises(ValueError):
        z_two_sided(1.0)


def test_matches_statsmodels_on_1000_random_cases():
    rng = random.Random(13)
    for _ in range(1000):
        n = rng.choice([rng.randint(1, 10), rng.randint(1, 200), rng.randint(1, 100_000)])
        k = rng.randint(0, n)
        confidence = rng.choice([0.95, 0.95, 0.9, 0.99, rng.uniform(0.5, 0.999)])
        low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
        r = wilson(k, n, confidence)
        assert r.low == pytest.approx(low, abs=1e-9), (k, n, confidence)
        assert r.high == pytest.approx(high, abs=1e-9), (k, n, confidence)


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_properties(kn):
    k, n = kn
    r = wilson(k, n)
    assert 0.0 <= r.low <= r.p <= r.high <= 1.0
    assert r.low < r.high  # never zero-width, not even at 0/n or n/n
    mirror = wilson(n - k, n)
    assert r.low == pytest.approx(1 - mirror.high, abs=1e-12)
    assert (r.low == 0.0) == (k == 0)
    assert (r.high == 1.0) == (k == n)


@settings(deadline=None)  # CI machines are shared: no per-example deadline
@given(st.integers(0, 50), st.integers(1, 50))
def test_more_confidence_is_wider(k, extra):
    n = k + extra
    narrow, wide = wilson(k, n, 0.9), wilson(k, n, 0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high


def test_rate_round_trips_through_json():
    r = wilson(7, 9)
    assert Rate.model_validate_json(r.model_dump_json()) == r


def test_the_runtime_imports_no_numeric_library():
    code = (
        "import sys, experimentos.stats; "
        "bad = [m for m in ('numpy', 'scipy', 'statsmodels') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
