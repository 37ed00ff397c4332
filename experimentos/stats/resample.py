"""Resampling primitives: the bootstrap of a mean, its BCa interval, the sign-flip test.

Reproducibility: every draw comes from random.Random(seed) (Mersenne Twister; `choices` and
`getrandbits` give the same stream on every platform for a given Python), inputs are sorted
first so only the multiset of values matters, and sums use math.fsum (correctly rounded, so
independent of summation order). The same values and seed give the same floats.

BCa (bias-corrected and accelerated; Efron 1987, "Better bootstrap confidence intervals",
JASA 82:171-185; Efron & Tibshirani 1993, ch. 14): with θ̂ the observed mean, θ*_b the
bootstrap means, z_q the normal quantile and Φ the normal CDF,

    z0 = Φ⁻¹( (#{θ*_b < θ̂} + #{θ*_b = θ̂}/2) / B )        (ties split: metrics are counts)
    a  = Σ(d_i - d̄)³ / (6 · (Σ(d_i - d̄)²)^{3/2})          (the jackknife acceleration of a mean)
    α_q = Φ( z0 + (z0 + z_q) / (1 - a·(z0 + z_q)) )
    interval = the α_{lo} and α_{hi} percentiles of θ*   (linear interpolation, numpy's default)

BCa corrects the percentile interval for bias and skew, which matters here: tokens, cost, wall
time and churn are right-skewed. When z0 is infinite (every bootstrap mean on one side) or the
acceleration term breaks the map, the plain percentile interval is returned and says so.

Sign-flip (randomization) test of a mean paired delta: under "no difference between the
conditions" the two outcomes of a pair are exchangeable, so each delta's sign is a fair coin.
The two-sided p-value is the share of sign assignments whose |Σ ±d_i| is at least the observed
|Σ d_i| (Fisher 1935; zero deltas do not change the sum and are left out, and since a random
sign times d_i is a random sign times |d_i|, the draws use the sorted |d_i|). With at most
EXACT_SIGN_FLIPS nonzero deltas all 2^m assignments are enumerated (exact p); beyond that
`resamples` random assignments give p = (1 + hits) / (1 + resamples), which is never 0
(Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39). On pass/fail deltas (-1, 0, 1) the
exact sign-flip test is McNemar's exact test.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist

EXACT_SIGN_FLIPS = 14  # 2^14 = 16,384 assignments: exact below this, Monte Carlo above
_STANDARD_NORMAL = NormalDist()


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
    squares = math.fsum(d * d for d in deviations)
    if squares == 0.0:
        return 0.0
    return math.fsum(d * d * d for d in deviations) / (6.0 * squares**1.5)


def bca_interval(
    values: Sequence[float], boots: Sequence[float], confidence: float
) -> tuple[float, float, bool]:
    """(low, high, is_bca) from sorted bootstrap means; falls back to percentiles (is_bca False)."""
    theta = mean(sorted(values))
    alpha = 1.0 - confidence
    percentile_interval = (percentile(boots, alpha / 2), percentile(boots, 1 - alpha / 2), False)
    below = sum(1 for b in boots if b < theta)
    ties = sum(1 for b in boots if b == theta)
    share = (below + ties / 2) / len(boots)
    if not 0.0 < share < 1.0:
        return percentile_interval
    z0 = _STANDARD_NORMAL.inv_cdf(share)
    a = acceleration(values)
    levels = []
    for q in (alpha / 2, 1 - alpha / 2):
        zq = z0 + _STANDARD_NORMAL.inv_cdf(q)
        denom = 1.0 - a * zq
        if denom <= 0.0:
            return percentile_interval
        levels.append(_STANDARD_NORMAL.cdf(z0 + zq / denom))
    return percentile(boots, levels[0]), percentile(boots, levels[1]), True


def sign_flip_p(values: Sequence[float], resamples: int, seed: int) -> tuple[float, bool]:
    """Two-sided sign-flip p-value of mean(values) = 0, and whether it is exact."""
    observed = abs(math.fsum(values))
    # s·d = (s·sign(d))·|d| and s·sign(d) is again a fair coin, so the null distribution depends
    # only on the sorted |d|: the same p for any order and for swapped conditions.
    nonzero = sorted(abs(v) for v in values if v != 0.0)
    m = len(nonzero)
    if m == 0 or observed == 0.0:
        return 1.0, True
    if m <= EXACT_SIGN_FLIPS:
        # An assignment and its mirror image have the same |sum| (fsum is exactly odd), so
        # enumerating the half with the last sign fixed gives the same share.
        half = 1 << (m - 1)
        hits = sum(abs(_signed_sum(nonzero, mask, m)) >= observed for mask in range(half))
        return hits / half, True
    rng = random.Random(f"sign-flip:{seed}")
    hits = sum(
        abs(_signed_sum(nonzero, rng.getrandbits(m), m)) >= observed for _ in range(resamples)
    )
    return (1 + hits) / (1 + resamples), False


def _signed_sum(values: Sequence[float], mask: int, width: int) -> float:
    bits = format(mask, f"0{width}b")
    return math.fsum(-v if bit == "1" else v for v, bit in zip(values, bits, strict=True))
