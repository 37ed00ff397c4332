"""Result models of the statistics functions: small, frozen, JSON-ready.

Every number a report prints comes from one of these. A value that cannot be computed (no runs,
one pair, k larger than the repeats) is `None` with a `reason` that says why, never 0 or NaN, so
JSON output never holds a NaN and a report can print the reason instead of a made-up number.
Floats are stored at full precision; the fmt_* helpers in experimentos.stats.fmt round them for
display in one stable way.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rate(_Result):
    """k successes out of n with a Wilson score interval; n = 0 gives p, low, high = None."""

    k: int = Field(ge=0)
    n: int = Field(ge=0)
    p: float | None
    low: float | None
    high: float | None
    confidence: float = 0.95
    method: Literal["wilson"] = "wilson"

    @property
    def defined(self) -> bool:
        return self.n > 0


class Mean(_Result):
    """The mean of a numeric metric (tokens, cost, churn) with its expanded BCa interval."""

    n: int = Field(ge=0)
    mean: float | None
    sd: float | None  # sample standard deviation (n - 1)
    low: float | None
    high: float | None
    confidence: float = 0.95
    interval_method: (
        Literal["expanded-bca-bootstrap", "expanded-percentile-bootstrap", "degenerate", "t"] | None
    )
    resamples: int
    seed: int
    note: str | None = None
    reason: str | None = None  # why mean is None


class PassK(_Result):
    """pass@k or pass^k averaged over tasks, with its interval (see experimentos.stats.passk)."""

    kind: Literal["pass@k", "pass^k"]
    k: int = Field(ge=1)
    tasks: int = Field(ge=0)
    samples: int = Field(ge=0)  # runs over all tasks
    estimate: float | None
    low: float | None
    high: float | None
    confidence: float = 0.95
    method: Literal["score-common-rate"] = "score-common-rate"
    reason: str | None = None  # why estimate is None


class SampleSize(_Result):
    """How many pairs (and repeats) would detect the observed delta; None with a reason if none."""

    pairs: int | None
    repeats: int | None  # pairs divided by the pairs one repeat adds, rounded up
    pairs_per_repeat: int = Field(ge=1)
    power: float
    alpha: float
    method: str
    # Which limit set `pairs`: the power formula, or the exact test's floor (with m nonzero
    # pairs its smallest p-value is 2^(1-m), so below 6 of them p < 0.05 is out of reach).
    bound: Literal["power", "exact-test"] | None = None
    reason: str | None = None


class PairedBinary(_Result):
    """Two conditions on the same blocks, a pass/fail metric: delta = treatment - baseline.

    `both`, `only_baseline`, `only_treatment`, `neither` are the 2x2 table of the pairs;
    McNemar's exact test uses the discordant cells only_baseline (b) and only_treatment (c).
    """

    pairs: int = Field(ge=0)
    both: int = Field(ge=0)
    only_baseline: int = Field(ge=0)
    only_treatment: int = Field(ge=0)
    neither: int = Field(ge=0)
    baseline: Rate
    treatment: Rate
    delta: float | None
    low: float | None
    high: float | None
    p_value: float | None
    p_adjusted: float | None = None  # Holm over the report's comparisons (stats.with_holm)
    confidence: float = 0.95
    test: Literal["mcnemar-exact"] = "mcnemar-exact"
    interval_method: Literal["newcombe-hybrid-score"] = "newcombe-hybrid-score"
    underpowered: bool
    sample_size: SampleSize | None = None  # set when underpowered
    reason: str | None = None  # why delta is None


class PairedContinuous(_Result):
    """Two conditions on the same blocks, a numeric metric: delta = mean(treatment - baseline)."""

    pairs: int = Field(ge=0)
    baseline_mean: float | None
    treatment_mean: float | None
    delta: float | None
    sd: float | None  # sample standard deviation of the paired deltas (n - 1)
    low: float | None
    high: float | None
    p_value: float | None
    p_adjusted: float | None = None  # Holm over the report's comparisons (stats.with_holm)
    confidence: float = 0.95
    interval_method: (
        Literal["expanded-bca-bootstrap", "expanded-percentile-bootstrap", "degenerate", "t"] | None
    )
    test: Literal["sign-flip-exact", "sign-flip-monte-carlo", "paired-t"] | None
    p_draws: int | None = None  # sign-flip-monte-carlo: random sign assignments drawn
    p_error: float | None = None  # sign-flip-monte-carlo: Monte Carlo standard error of p
    resamples: int
    seed: int
    underpowered: bool
    sample_size: SampleSize | None = None
    note: str | None = None  # a caveat the report should print next to the interval
    reason: str | None = None  # why delta is None
