"""pass@k and pass^k: the unbiased estimators from n samples per task, and their interval.

For one task run n times with c passes, and k <= n:

    pass@k = 1 - C(n-c, k) / C(n, k)     chance that at least one of k runs passes
    pass^k = C(c, k) / C(n, k)           chance that all k runs pass

Both are unbiased for f(p) = 1-(1-p)^k and p^k, where p is the task's true pass rate (pass@k:
Chen et al. 2021, "Evaluating Large Language Models Trained on Code", arXiv:2107.03374, eq. 1;
pass^k: Yao et al. 2024, "tau-bench", arXiv:2406.12045). They are computed with exact integer
binomials and one correctly rounded division (fractions.Fraction), so C(200, 100) loses nothing.
Over T tasks the estimate θ̂ is the plain mean of the per-task estimates U_t; a task with fewer
than k runs has no estimate, so the whole result is None with a reason (silently dropping the
task would change what is being estimated).

The interval is a score interval, Wilson's construction applied to θ̂: the set of f(p) for
which θ̂ is within z standard errors, the standard error taken at p itself,

    { f(p) :  (θ̂ - f(p))² <= z² · Σ_t Var_p(U_t) / T² },

where Var_p(U_t) = Σ_c Bin(c; n_t, p) · (U_t(c) - f(p))² is the exact variance of the task's
estimator if its pass rate were p (computed, not approximated). The bounds are found by a grid
scan from the outside in plus bisection, so they are the outermost roots. Why this one:

* it is centred on the unbiased θ̂, so averaging many tasks does not pile up bias. (An earlier
  version here averaged draws from each task's Wilson confidence distribution; its centre is
  the plug-in f(c/n), biased by Jensen's inequality, and at 50 tasks its coverage fell to 0.15.)
* it never has zero width: all-pass data (θ̂ = 1) give a lower bound below 1, as Wilson does;
* θ̂ always lies inside it (at f(p) = θ̂ the left side is 0);
* for k = 1 it is exactly the Wilson interval of the pooled runs (one task: the task's Wilson
  interval), so pass@1 agrees with the pass rate printed next to it;
* the variance uses one common p for all tasks. When tasks differ, the true variance is smaller
  (for k = 1 provably: Σ p_t(1-p_t) <= T·p̄(1-p̄)), so the interval errs wide, not narrow.

Measured coverage of the nominal 95% (benchmarks/stats_coverage.py, 300 data sets per setting):
0.91-1.00 over 3-50 tasks, 2-10 runs, k = 1-3, pass rates 0.05-1.0, with most settings above
0.95 (the common-rate variance errs wide); one task with k = 1 is Wilson's interval, whose exact
coverage at 3 runs dips to 0.86-0.90 for p near 0.05 or 0.8.
The fixtures are the ones chosen, not a sample of all tasks, so the interval covers the runs'
noise, not the choice of tasks. When k is close to n the unbiased estimate is very noisy (at
k = n, pass@k is 1 as soon as one run passed): the interval is wide then, as it should be.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Literal

from experimentos.stats.distributions import z_two_sided
from experimentos.stats.models import PassK
from experimentos.stats.rates import check_counts

Kind = Literal["pass@k", "pass^k"]
_GRID = 200  # scan steps per bound before bisection


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


def _binomial_pmf(n: int, p: float) -> list[float]:
    if p <= 0.0:
        return [1.0] + [0.0] * n
    if p >= 1.0:
        return [0.0] * n + [1.0]
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    return [
        math.exp(log_n - math.lgamma(c + 1) - math.lgamma(n - c + 1) + c * log_p + (n - c) * log_q)
        for c in range(n + 1)
    ]


class _ScoreEquation:
    """h(p) = (θ̂ - f(p))² - z²·Var_p(θ̂); the interval is where h <= 0."""

    def __init__(self, tasks: Sequence[tuple[int, int]], k: int, kind: Kind, z: float):
        self.k, self.kind, self.z2 = k, kind, z * z
        one = pass_at_k if kind == "pass@k" else pass_hat_k
        self.estimate = math.fsum(one(n, c, k) for n, c in tasks) / len(tasks)
        self.tasks = len(tasks)
        # Tasks with the same number of runs share their estimator's values U(c), c = 0..n.
        self.groups = {
            n: (count, [one(n, c, k) for c in range(n + 1)])
            for n, count in sorted(Counter(n for n, _ in tasks).items())
        }

    def f(self, p: float) -> float:
        return 1.0 - (1.0 - p) ** self.k if self.kind == "pass@k" else p**self.k

    def f_inverse(self, theta: float) -> float:
        if self.kind == "pass@k":
            return 1.0 - (1.0 - theta) ** (1.0 / self.k)
        return theta ** (1.0 / self.k)

    def variance(self, p: float) -> float:
        """Var_p(θ̂) if every task's pass rate were p."""
        target = self.f(p)
        total = math.fsum(
            count * _spread(_binomial_pmf(n, p), values, target)
            for n, (count, values) in self.groups.items()
        )
        return total / (self.tasks * self.tasks)

    def __call__(self, p: float) -> float:
        return (self.estimate - self.f(p)) ** 2 - self.z2 * self.variance(p)


def _spread(weights: list[float], values: list[float], centre: float) -> float:
    return math.fsum(w * (u - centre) ** 2 for w, u in zip(weights, values, strict=True))


def _outermost_root(h: Callable[[float], float], outside: float, inside: float) -> float:
    """The first p from `outside` towards `inside` where h(p) <= 0 (h(inside) <= 0)."""
    if h(outside) <= 0.0:
        return outside
    previous = outside
    for step in range(1, _GRID + 1):
        point = outside + (inside - outside) * step / _GRID
        if h(point) <= 0.0:
            fails, holds = previous, point
            for _ in range(100):
                middle = (fails + holds) / 2.0
                if middle in (fails, holds):
                    break
                if h(middle) <= 0.0:
                    holds = middle
                else:
                    fails = middle
            return holds
        previous = point
    return inside


def pass_k(
    tasks: Sequence[tuple[int, int]],
    k: int,
    kind: Kind = "pass@k",
    *,
    confidence: float = 0.95,
) -> PassK:
    """pass@k or pass^k averaged over `tasks` (each (n, c): runs and passes), with its interval."""
    if kind not in ("pass@k", "pass^k"):
        raise ValueError(f"kind must be 'pass@k' or 'pass^k', got {kind!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    z = z_two_sided(confidence)
    for n, c in tasks:
        check_counts(c, n)
    ordered = sorted((n, c) for n, c in tasks)
    base = {
        "kind": kind,
        "k": k,
        "tasks": len(ordered),
        "samples": sum(n for n, _ in ordered),
        "confidence": confidence,
    }
    if not ordered:
        return PassK(**base, estimate=None, low=None, high=None, reason="no tasks")
    short = [n for n, _ in ordered if n < k]
    if short:
        reason = f"{len(short)} task(s) have fewer than k={k} runs (fewest: {min(short)})"
        return PassK(**base, estimate=None, low=None, high=None, reason=reason)
    h = _ScoreEquation(ordered, k, kind, z)
    centre = min(1.0, max(0.0, h.f_inverse(h.estimate)))
    low = h.f(_outermost_root(h, 0.0, centre))
    high = h.f(_outermost_root(h, 1.0, centre))
    # The bounds bracket the estimate by construction; min/max only absorb float noise.
    return PassK(
        **base,
        estimate=h.estimate,
        low=min(low, h.estimate),
        high=max(high, h.estimate),
    )
