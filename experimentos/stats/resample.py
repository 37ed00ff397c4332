"""Resampling primitives: the bootstrap of a mean, its BCa interval, the sign-flip test.

Reproducibility: every draw comes from random.Random(seed) (Mersenne Twister; `choices` and
`getrandbits` give the same stream on every platform for a given Python), inputs are sorted
first so only the multiset of values matters, and sums use math.fsum (correctly rounded, so
independent of summation order). The same values and seed give the same floats.

Expanded BCa. BCa (bias-corrected and accelerated; Efron 1987, "Better bootstrap confidence
intervals", JASA 82:171-185; Efron & Tibshirani 1993, ch. 14): with θ̂ the observed mean, θ*_b
the bootstrap means, Φ the normal CDF,

    z0 = Φ⁻¹( (#{θ*_b < θ̂} + #{θ*_b = θ̂}/2) / B )        (ties split: metrics are counts)
    a  = Σ(d_i - d̄)³ / (6 · (Σ(d_i - d̄)²)^{3/2})          (the jackknife acceleration of a mean)
    α_q = Φ( z0 + (z0 + z̃_q) / (1 - a·(z0 + z̃_q)) )
    interval = the α_{lo} and α_{hi} percentiles of θ*   (linear interpolation, numpy's default)

BCa corrects for bias and skew, which matters here: tokens, cost, wall time and churn are
right-skewed. But every bootstrap interval is too narrow for few pairs: it divides the variance
by n rather than n - 1 and uses normal rather than t tails. Following Hesterberg's expanded
percentile interval (2015, "What teachers should know about the bootstrap", Am Stat
69:371-386, §5.2), z̃_q = sqrt(n/(n-1)) · t_{q, n-1} replaces the normal quantile z_q. Measured
coverage of a nominal 95% interval (benchmarks/stats_coverage.py, two runs of 300 data sets per
setting, ±0.025 Monte Carlo error; normal, lognormal, exponential and -2..2 count deltas; the
lognormal is always the lowest):

    pairs               5           10          20          40
    plain BCa       0.71-0.84   0.82-0.91   0.87-0.94   0.92-0.95
    expanded BCa    0.83-0.93   0.88-0.95   0.89-0.96   0.93-0.95

Below about 10 pairs no bootstrap interval is honest (it can never reach past the observed
deltas: with n pairs it misses the true mean whenever all deltas fall on one side, 2^(1-n) of
the time for symmetric deltas), which is why `underpowered` also consults the exact sign-flip
test, and the result carries a note. When z0 is infinite (every bootstrap mean on one side) or
the acceleration term breaks the map, the expanded percentile interval (levels Φ(z̃_q)) is
returned and says so.

Sign-flip (randomization) test of a mean paired delta: under "no difference between the
conditions" the two outcomes of a pair are exchangeable, so each delta's sign is a fair coin.
The two-sided p-value is the share of sign assignments whose |Σ ±d_i| is at least the observed
|Σ d_i| (Fisher 1935; zero deltas do not change the sum and are left out, and since a random
sign times d_i is a random sign times |d_i|, the draws use the sorted |d_i|). With at most
EXACT_SIGN_FLIPS (20) nonzero deltas all 2^m assignments are counted (exact p): meet in the
middle, the subset sums of each half (2^10 each) sorted and every pair counted by bisection,
which is exact and takes milliseconds where a loop over 2^20 patterns takes seconds. Beyond
that, SIGN_FLIP_DRAWS (100,000) random assignments give p = (1 + hits) / (1 + draws), which is
never 0 (Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39), with its Monte Carlo standard
error sqrt(p(1-p)/draws), which reports print beside it. (An outside audit found 2,000 draws
above 14 deltas reporting values 0.004-0.021 above the exact ones.) On pass/fail deltas
(-1, 0, 1) the exact sign-flip test is McNemar's exact test.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
from collections.abc import Sequence
from dataclasses import dataclass

from experimentos.stats.distributions import normal_cdf, normal_quantile, t_quantile

EXACT_SIGN_FLIPS = 20  # 2^20 = 1,048,576 assignments: counted exactly up to this, drawn above
SIGN_FLIP_DRAWS = 100_000  # random assignments above it (Monte Carlo error <= 0.0016)
_CHUNK = 8  # values per lookup table of the Monte Carlo draws (256 subset sums each)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, linear between order statistics (numpy's default)."""
    if not ordered:
        raise ValueError("percentile of no values")
    q = min(1.0, max(0.0, q))
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def bootstrap_means(values: Sequence[float], resamples: int, seed: int) -> list[float]:
    """`resamples` means of resamples (with replacement) of `values`, sorted ascending."""
    ordered = sorted(values)
    n = len(ordered)
    rng = random.Random(seed)
    draw = rng.choices
    return sorted(math.fsum(draw(ordered, k=n)) / n for _ in range(resamples))


def acceleration(values: Sequence[float]) -> float:
    """The jackknife acceleration of the mean (0 when all values are equal)."""
    centre = mean(values)
    deviations = [v - centre for v in values]
    # The ratio does not depend on scale: dividing by the largest deviation first keeps tiny
    # values (1e-137) from underflowing to 0 and large ones from overflowing.
    scale = max((abs(d) for d in deviations), default=0.0)
    if scale == 0.0:
        return 0.0
    deviations = [d / scale for d in deviations]
    squares = math.fsum(d * d for d in deviations)
    return math.fsum(d * d * d for d in deviations) / (6.0 * squares**1.5)


def expanded_quantile(q: float, n: int) -> float:
    """sqrt(n/(n-1)) · t_{q, n-1}: the normal quantile widened for n values (Hesterberg 2015)."""
    if n < 2:
        raise ValueError(f"need at least 2 values, got {n}")
    return math.sqrt(n / (n - 1)) * t_quantile(q, n - 1)


def bca_interval(
    values: Sequence[float], boots: Sequence[float], confidence: float, *, expand: bool = True
) -> tuple[float, float, bool]:
    """(low, high, is_bca) of the (expanded) BCa interval from sorted bootstrap means.

    Falls back to the (expanded) percentile interval, is_bca False, when BCa is undefined.
    expand=False gives Efron's plain BCa (the tests compare it with scipy's).
    """
    theta = mean(sorted(values))
    alpha = 1.0 - confidence
    levels_in = (alpha / 2, 1 - alpha / 2)
    if expand:
        quantiles = [expanded_quantile(q, len(values)) for q in levels_in]
    else:
        quantiles = [normal_quantile(q) for q in levels_in]
    fallback = (
        percentile(boots, normal_cdf(quantiles[0])),
        percentile(boots, normal_cdf(quantiles[1])),
        False,
    )
    below = sum(1 for b in boots if b < theta)
    ties = sum(1 for b in boots if b == theta)
    share = (below + ties / 2) / len(boots)
    if not 0.0 < share < 1.0:
        return fallback
    z0 = normal_quantile(share)
    a = acceleration(values)
    levels = []
    for zq in quantiles:
        shifted = z0 + zq
        denom = 1.0 - a * shifted
        if denom <= 0.0:
            return fallback
        levels.append(normal_cdf(z0 + shifted / denom))
    return percentile(boots, levels[0]), percentile(boots, levels[1]), True


@dataclass(frozen=True)
class SignFlip:
    """A sign-flip p-value: exact (every assignment counted), or drawn with its error."""

    p: float
    exact: bool
    draws: int | None = None  # random assignments drawn (None: exact)
    error: float | None = None  # the Monte Carlo standard error of p (None: exact)


def sign_flip(values: Sequence[float], *, seed: int = 0, draws: int = SIGN_FLIP_DRAWS) -> SignFlip:
    """Two-sided sign-flip p-value of mean(values) = 0: exact up to EXACT_SIGN_FLIPS nonzero
    values, else from `draws` random sign assignments with its Monte Carlo error."""
    observed = abs(math.fsum(values))
    # s·d = (s·sign(d))·|d| and s·sign(d) is again a fair coin, so the null distribution depends
    # only on the sorted |d|: the same p for any order and for swapped conditions.
    nonzero = sorted(abs(v) for v in values if v != 0.0)
    m = len(nonzero)
    if m == 0 or observed == 0.0:
        return SignFlip(1.0, True)
    total = math.fsum(nonzero)
    # Each flipped sum is rounded a few times, so the observed sum's own assignment can come out
    # an ulp below `observed`: sums within 1e-12·Σ|d| of it count as ties. Distinct exact sums
    # are never that close for counts (they differ by >= 1).
    observed -= 1e-12 * total
    # |total - 2·S| >= observed, S the sum of the negated values: S <= low or S >= high.
    low, high = (total - observed) / 2.0, (total + observed) / 2.0
    if m <= EXACT_SIGN_FLIPS:
        half = m // 2
        left, right = _subset_sums(nonzero[:half]), sorted(_subset_sums(nonzero[half:]))
        size = len(right)
        hits = 0
        for a in left:
            hits += bisect.bisect_right(right, low - a)
            hits += size - bisect.bisect_left(right, high - a)
        return SignFlip(hits / (len(left) * size), True)
    if draws < 1:
        raise ValueError(f"draws must be positive, got {draws}")
    hits = sum(1 for s in _drawn_sums(nonzero, draws, seed) if s <= low or s >= high)
    p = (1 + hits) / (1 + draws)
    return SignFlip(p, False, draws, math.sqrt(p * (1.0 - p) / draws))


def sign_flip_p(values: Sequence[float], resamples: int, seed: int) -> tuple[float, bool]:
    """(p, exact) of the sign-flip test with `resamples` draws above EXACT_SIGN_FLIPS values."""
    result = sign_flip(values, seed=seed, draws=resamples)
    return result.p, result.exact


def _subset_sums(values: Sequence[float]) -> list[float]:
    """The sum of every subset of `values` (2^len of them), built by doubling."""
    sums = [0.0]
    for value in values:
        sums += [s + value for s in sums]
    return sums


def _drawn_sums(values: Sequence[float], draws: int, seed: int) -> list[float]:
    """The sums of `draws` random subsets of `values` (each value in with probability 1/2).

    One random byte picks a subset of 8 values from a table of their 256 subset sums, so a
    draw costs a table lookup per 8 values; the bytes of all draws come in one call, and each
    table is applied to its column of bytes at C speed (map over bytes), not in a Python loop.
    """
    tables = []
    for i in range(0, len(values), _CHUNK):
        sums = _subset_sums(values[i : i + _CHUNK])
        # A shorter last chunk: its 2^k sums repeat to 256 entries, so byte b picks
        # sums[b mod 2^k], each subset equally often.
        tables.append(sums * (256 // len(sums)))
    width = len(tables)
    data = random.Random(f"sign-flip:{seed}").randbytes(width * draws)
    sums = list(map(tables[0].__getitem__, data[0::width]))
    for j in range(1, width):
        column = map(tables[j].__getitem__, data[j::width])
        sums = list(map(operator.add, sums, column))
    return sums
