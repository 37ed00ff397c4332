"""Large samples: Student's t interval of a mean and the paired t-test, linear in n.

A bootstrap costs n x resamples draws: 2,000 resamples of 2,500 pairs are 5 million draws in
pure Python (about a second), and a report of a 10,000-run matrix needs a few hundred such
intervals. For large n the bootstrap distribution of a mean is close to normal and the t
interval agrees with it (the central limit theorem; the skew of tokens or cost shrinks as
1/sqrt(n)), so reports switch to these closed forms for large samples (above 100 values, see
experimentos.reports.analysis) and say so in the interval's method ("t").

    mean ± t_{1-α/2, n-1} · s / sqrt(n)                     (s: the sample standard deviation)
    paired: t = d̄ / (s_d / sqrt(n)), p = 2 · P(T_{n-1} >= |t|)

All deltas equal and nonzero (s_d = 0) have no t statistic: the p-value is then the exact
sign-flip one, 2 · 0.5^n. Cross-checked against scipy in tests/test_stats_large.py.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence

from experimentos.stats.distributions import t_cdf
from experimentos.stats.distributions import t_quantile as _t_quantile
from experimentos.stats.models import Mean, PairedContinuous
from experimentos.stats.power import paired_t_sample_size


@functools.lru_cache(maxsize=4096)
def t_quantile(q: float, df: float) -> float:
    """Student's t quantile, remembered: a report asks for the same few degrees of freedom."""
    return _t_quantile(q, df)


def _finite(name: str, values: Sequence[float]) -> list[float]:
    out = []
    for i, value in enumerate(values):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise ValueError(f"{name}[{i}] must be a finite number, got {value!r}")
        out.append(float(value))
    return out


def t_mean_interval(values: Sequence[float], *, confidence: float = 0.95) -> Mean:
    """The mean with Student's t interval (at least 2 values)."""
    xs = sorted(_finite("values", values))
    n = len(xs)
    if n < 2:
        raise ValueError(f"the t interval needs at least 2 values, got {n}")
    centre = math.fsum(xs) / n
    sd = statistics.stdev(xs)
    half = t_quantile(1 - (1 - confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Mean(
        n=n,
        mean=centre,
        sd=sd,
        low=centre - half,
        high=centre + half,
        confidence=confidence,
        interval_method="t",
        resamples=0,
        seed=0,
    )


def paired_t(
    baseline: Sequence[float],
    treatment: Sequence[float],
    *,
    confidence: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
    pairs_per_repeat: int = 1,
) -> PairedContinuous:
    """Mean of treatment[i] - baseline[i] with a t interval, the paired t-test's p-value, and
    (when underpowered) the pairs that would detect the observed delta."""
    if len(baseline) != len(treatment):
        raise ValueError(
            f"paired values need equal lengths, got {len(baseline)} and {len(treatment)}"
        )
    xs, ys = _finite("baseline", baseline), _finite("treatment", treatment)
    n = len(xs)
    if n < 2:
        raise ValueError(f"the paired t-test needs at least 2 pairs, got {n}")
    deltas = sorted(y - x for x, y in zip(xs, ys, strict=True))
    delta = math.fsum(deltas) / n
    sd = statistics.stdev(deltas)
    half = t_quantile(1 - (1 - confidence) / 2, n - 1) * sd / math.sqrt(n)
    if sd > 0:
        t = delta / (sd / math.sqrt(n))
        p_value = min(1.0, 2.0 * (1.0 - t_cdf(abs(t), n - 1)))
    else:
        p_value = 1.0 if delta == 0 else min(1.0, 2.0 * 0.5**n)
    low, high = delta - half, delta + half
    underpowered = low <= 0.0 <= high or p_value > alpha
    nonzero = sum(1 for d in deltas if d != 0.0) / n
    return PairedContinuous(
        pairs=n,
        baseline_mean=math.fsum(xs) / n,
        treatment_mean=math.fsum(ys) / n,
        delta=delta,
        sd=sd,
        low=low,
        high=high,
        p_value=p_value,
        confidence=confidence,
        interval_method="t",
        test="paired-t",
        resamples=0,
        seed=0,
        underpowered=underpowered,
        sample_size=(
            paired_t_sample_size(
                delta,
                sd,
                nonzero_share=nonzero or 1.0,
                alpha=alpha,
                power=power,
                pairs_per_repeat=pairs_per_repeat,
            )
            if underpowered
            else None
        ),
    )
