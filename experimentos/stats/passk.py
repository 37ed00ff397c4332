"""pass@k and pass^k: the unbiased estimators from n samples per task, and their interval.

For one task run n times with c passes, and k <= n:

    pass@k = 1 - C(n-c, k) / C(n, k)     chance that at least one of k runs passes
    pass^k = C(c, k) / C(n, k)           chance that all k runs pass

Both are unbiased for 1-(1-p)^k and p^k, where p is the task's true pass rate (pass@k: Chen et
al. 2021, "Evaluating Large Language Models Trained on Code", arXiv:2107.03374, eq. 1; pass^k:
Yao et al. 2024, "tau-bench", arXiv:2406.12045). They are computed with exact integer binomials
and one correctly rounded division (fractions.Fraction), so even C(200, 100) loses nothing.
Over several tasks the estimate is the plain mean of the per-task estimates; a task with fewer
than k runs has no estimate, so the whole result is None with a reason (silently dropping the
task would change what is being estimated).

The interval. A matrix has few tasks (fixtures) and few runs per task, and the fixtures are the
ones chosen, not a sample of all tasks: the uncertainty that matters is the runs' own, inside
each task. So the interval carries each task's Wilson interval through the estimand:

* one task: f is increasing in p (f(p) = 1-(1-p)^k or p^k), so [f(low), f(high)] of the task's
  Wilson interval for p is an interval for f(p) with exactly the Wilson interval's coverage
  (closed form, no simulation);
* several tasks: each task's p is drawn from its Wilson confidence distribution (the signed-z
  Wilson limit at z ~ N(0, 1): its 2.5% and 97.5% points are the Wilson interval), the draws'
  mean of f(p) is taken, and the interval is the 2.5% and 97.5% percentiles of `draws` such
  means (a confidence-distribution interval, Xie & Singh 2013, Int. Stat. Rev. 81:3-39, §4).
  Draws use random.Random(seed) over the tasks in sorted order, so the result depends only on
  the multiset of (n, c) and the seed, never on input order or the platform.

Why not a bootstrap: resampling tasks gives a zero-width interval for a single fixture, and
resampling runs gives [1, 1] when all of 3 runs passed; both would claim certainty the data do
not have. benchmarks/stats_coverage.py measures the coverage of this interval.

A caveat for reports: when k is close to n, the unbiased estimate itself is very noisy (at
k = n, pass@k is 1 as soon as one run passed) and can fall outside the interval for f(p):
n = k = 2 with c = 1 gives pass@2 = 1 while 1-(1-p)² lies in [0.18, 0.99]. Prefer k <= n/2.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Literal

from experimentos.stats.distributions import z_two_sided
from experimentos.stats.models import PassK
from experimentos.stats.rates import check_counts, wilson_point
from experimentos.stats.resample import percentile

Kind = Literal["pass@k", "pass^k"]
DEFAULT_DRAWS = 2000


def _check_k(n: int, c: int, k: int) -> None:
    check_counts(c, n)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} needs at least k samples, got n={n}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one task: 1 - C(n-c, k) / C(n, k)."""
    _check_k(n, c, k)
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k of one task: C(c, k) / C(n, k)."""
    _check_k(n, c, k)
    return float(Fraction(math.comb(c, k), math.comb(n, k)))


def _transform(kind: Kind, k: int) -> Callable[[float], float]:
    if kind == "pass@k":
        return lambda p: 1.0 - (1.0 - p) ** k
    return lambda p: p**k


def pass_k(
    tasks: Sequence[tuple[int, int]],
    k: int,
    kind: Kind = "pass@k",
    *,
    confidence: float = 0.95,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> PassK:
    """pass@k or pass^k averaged over `tasks` (each (n, c): runs and passes), with its interval."""
    if kind not in ("pass@k", "pass^k"):
        raise ValueError(f"kind must be 'pass@k' or 'pass^k', got {kind!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if draws < 100:
        raise ValueError(f"draws must be at least 100, got {draws}")
    z = z_two_sided(confidence)
    for n, c in tasks:
        check_counts(c, n)
    ordered = sorted(tasks)
    samples = sum(n for n, _ in ordered)
    base = {
        "kind": kind,
        "k": k,
        "tasks": len(ordered),
        "samples": samples,
        "confidence": confidence,
    }
    if not ordered:
        return PassK(**base, estimate=None, low=None, high=None, method="none", reason="no tasks")
    short = [n for n, _ in ordered if n < k]
    if short:
        return PassK(
            **base,
            estimate=None,
            low=None,
            high=None,
            method="none",
            reason=f"{len(short)} task(s) have fewer than k={k} runs (fewest: {min(short)})",
        )
    one = pass_at_k if kind == "pass@k" else pass_hat_k
    estimate = math.fsum(one(n, c, k) for n, c in ordered) / len(ordered)
    f = _transform(kind, k)
    if len(ordered) == 1:
        n, c = ordered[0]
        low, high = f(wilson_point(c, n, -z)), f(wilson_point(c, n, z))
        return PassK(**base, estimate=estimate, low=low, high=high, method="wilson-transformed")
    rng = random.Random(seed)
    means = sorted(
        math.fsum(f(wilson_point(c, n, rng.gauss(0.0, 1.0))) for n, c in ordered) / len(ordered)
        for _ in range(draws)
    )
    alpha = 1.0 - confidence
    return PassK(
        **base,
        estimate=estimate,
        low=percentile(means, alpha / 2),
        high=percentile(means, 1 - alpha / 2),
        method="wilson-confidence-distribution",
        draws=draws,
        seed=seed,
    )
