"""Rates with a Wilson score interval.

For k successes in n trials, p = k/n and, with z the two-sided normal quantile of the
confidence level (1.959964 for 95%), the Wilson (1927) score interval is the set of p0 that a
score test does not reject:

    centre    = (p + z²/2n) / (1 + z²/n)
    halfwidth = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)
    [low, high] = centre ∓ halfwidth

It never leaves [0, 1], is never zero-width, and keeps close to its nominal coverage for the
small n a matrix produces (Brown, Cai & DasGupta 2001, "Interval estimation for a binomial
proportion", Statist. Sci. 16:101-133, recommend it for n < 40). The plain Wald interval
p ± z·sqrt(p(1-p)/n) collapses to a point at 0/3 or 3/3, the very cells a matrix produces most.

n = 0 is explicit: the rate is undefined, so p, low and high are None (never 0).

`wilson_point(k, n, z)` is the same formula with a signed z: z < 0 gives the lower limit,
z > 0 the upper, and as z runs over the real line it traces the Wilson confidence distribution
of p (used by the pass@k interval in experimentos.stats.passk).
"""

from __future__ import annotations

import math

from experimentos.stats.distributions import z_two_sided
from experimentos.stats.models import Rate


def check_counts(k: int, n: int) -> None:
    if (
        isinstance(k, bool)
        or isinstance(n, bool)
        or not isinstance(k, int)
        or not isinstance(n, int)
    ):
        raise ValueError(f"counts must be integers, got k={k!r}, n={n!r}")
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"counts must satisfy 0 <= k <= n, got k={k}, n={n}")


def wilson_point(k: int, n: int, z: float) -> float:
    """The Wilson limit for a signed z (z < 0: lower, z > 0: upper); n must be positive."""
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denom
    # The exact limits at k = 0 (lower) and k = n (upper) are 0 and 1; the float formula can
    # miss them by an ulp, and a report printing "-0.00" or "1.01" would look broken.
    if (k == 0 and z <= 0) or (k == n and z >= 0):
        return float(k == n)
    return min(1.0, max(0.0, centre + half))


def wilson(k: int, n: int, confidence: float = 0.95) -> Rate:
    """k of n as a Rate with its Wilson score interval (n = 0: p, low and high are None)."""
    check_counts(k, n)
    if n == 0:
        return Rate(k=0, n=0, p=None, low=None, high=None, confidence=confidence)
    z = z_two_sided(confidence)
    return Rate(
        k=k,
        n=n,
        p=k / n,
        low=wilson_point(k, n, -z),
        high=wilson_point(k, n, z),
        confidence=confidence,
    )


def rate(outcomes: list[bool] | tuple[bool, ...], confidence: float = 0.95) -> Rate:
    """The Rate of a list of pass/fail outcomes."""
    return wilson(sum(1 for o in outcomes if o), len(outcomes), confidence)
