"""Paired comparison of two conditions on a numeric metric (tokens, cost, wall time, churn).

Both conditions ran on the same blocks (fixture x agent x repeat); block i gives the delta
d_i = treatment_i - baseline_i. The result is the mean paired delta with

* an expanded BCa bootstrap interval over the pairs (experimentos.stats.resample, with its
  measured coverage; `resamples` draws from random.Random(seed), so the same deltas and seed
  give the same interval on any machine), and
* the two-sided sign-flip test's p-value (exact up to 20 nonzero deltas; above, 100,000 draws
  whose Monte Carlo error the result carries),
  which is the p-value Holm's correction takes when a report compares many conditions.

The pairs are treated as exchangeable: blocks of different fixtures are resampled together.
A pair with a missing value on either side must be dropped by the caller, which should say how
many it dropped; values must be finite.

Edge cases, each explicit: no pairs -> every number None with the reason; one pair -> the delta
but no interval, spread or test; all deltas equal -> a zero-width "degenerate" interval with a
note (the bootstrap cannot show spread the data do not have, and 2 equal deltas are weak
evidence: read the p-value and the sample size).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from experimentos.stats.models import Mean, PairedContinuous
from experimentos.stats.power import paired_t_sample_size
from experimentos.stats.resample import bca_interval, bootstrap_means, sign_flip

DEFAULT_RESAMPLES = 2000
SMALL = 10  # fewer pairs than this: the interval carries a note (see resample.py)


def _check_values(name: str, values: Sequence[float]) -> list[float]:
    out = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name}[{i}] must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name}[{i}] must be finite, got {value!r}")
        out.append(float(value))
    return out


def _interval(
    values: list[float], confidence: float, resamples: int, seed: int, noun: str
) -> tuple[float, float, str, str | None]:
    """(low, high, method, note) of the mean of >= 2 sorted values; `noun` names them in notes."""
    n = len(values)
    if values[0] == values[-1]:
        note = f"all {n} {noun} are equal: the interval has no width to show"
        return values[0], values[0], "degenerate", note
    boots = bootstrap_means(values, resamples, seed)
    low, high, is_bca = bca_interval(values, boots, confidence)
    method = "expanded-bca-bootstrap" if is_bca else "expanded-percentile-bootstrap"
    note = None if is_bca else f"BCa undefined for these {noun}: expanded percentile interval"
    if n < SMALL:
        note = (
            f"{n} {noun}: a bootstrap interval cannot reach past the observed {noun} and is "
            f"too narrow below {SMALL}"
        )
    return low, high, method, note


def _check_options(confidence: float, resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100, got {resamples}")


def mean_interval(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Mean:
    """The mean of `values` with its expanded BCa bootstrap interval (one condition's tokens)."""
    _check_options(confidence, resamples)
    xs = sorted(_check_values("values", values))
    common = {"n": len(xs), "confidence": confidence, "resamples": resamples, "seed": seed}
    if not xs:
        return Mean(
            **common,
            mean=None,
            sd=None,
            low=None,
            high=None,
            interval_method=None,
            reason="no values",
        )
    centre = math.fsum(xs) / len(xs)
    if len(xs) == 1:
        return Mean(
            **common,
            mean=centre,
            sd=None,
            low=None,
            high=None,
            interval_method=None,
            note="one value: no interval",
        )
    low, high, method, note = _interval(xs, confidence, resamples, seed, "values")
    return Mean(
        **common,
        mean=centre,
        sd=statistics.stdev(xs),
        low=low,
        high=high,
        interval_method=method,  # type: ignore[arg-type]
        note=note,
    )


def paired_continuous(
    baseline: Sequence[float],
    treatment: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    pairs_per_repeat: int = 1,
) -> PairedContinuous:
    """Mean of treatment[i] - baseline[i] with a BCa interval, a sign-flip p, and a sample size."""
    if len(baseline) != len(treatment):
        raise ValueError(
            f"paired values need equal lengths, got {len(baseline)} and {len(treatment)}"
        )
    _check_options(confidence, resamples)
    xs = _check_values("baseline", baseline)
    ys = _check_values("treatment", treatment)
    n = len(xs)
    common = {"pairs": n, "confidence": confidence, "resamples": resamples, "seed": seed}
    sizing = {"alpha": alpha, "power": power, "pairs_per_repeat": pairs_per_repeat}
    if n == 0:
        return PairedContinuous(
            **common,
            baseline_mean=None,
            treatment_mean=None,
            delta=None,
            sd=None,
            low=None,
            high=None,
            p_value=None,
            interval_method=None,
            test=None,
            underpowered=True,
            sample_size=None,
            reason="no pairs",
        )
    deltas = sorted(y - x for x, y in zip(xs, ys, strict=True))
    delta = math.fsum(deltas) / n
    means = {"baseline_mean": math.fsum(xs) / n, "treatment_mean": math.fsum(ys) / n}
    if n == 1:
        return PairedContinuous(
            **common,
            **means,
            delta=delta,
            sd=None,
            low=None,
            high=None,
            p_value=None,
            interval_method=None,
            test=None,
            underpowered=True,
            sample_size=paired_t_sample_size(delta, None, **sizing),
            note="one pair: no interval or test",
        )
    sd = statistics.stdev(deltas)
    flips = sign_flip(deltas, seed=seed)
    p_value = flips.p
    test = "sign-flip-exact" if flips.exact else "sign-flip-monte-carlo"
    low, high, method, note = _interval(deltas, confidence, resamples, seed, "paired deltas")
    if n < SMALL and method != "degenerate":
        note = f"{note}; read the exact p-value"
    # A zero-width interval of 2 equal deltas excludes 0 while the exact test cannot reject: the
    # flag follows whichever of the two is less sure.
    underpowered = low <= 0.0 <= high or p_value > alpha
    nonzero = sum(1 for d in deltas if d != 0.0) / n
    return PairedContinuous(
        **common,
        **means,
        delta=delta,
        sd=sd,
        low=low,
        high=high,
        p_value=p_value,
        p_draws=flips.draws,
        p_error=flips.error,
        interval_method=method,
        test=test,
        underpowered=underpowered,
        sample_size=(
            paired_t_sample_size(delta, sd, nonzero_share=nonzero or 1.0, **sizing)
            if underpowered
            else None
        ),
        note=note,
    )
