"""Holm's step-down correction for a report that compares more than two conditions.

With m p-values sorted ascending p_(1) <= ... <= p_(m), the adjusted values are

    p̃_(i) = max over j <= i of min(1, (m - j + 1) · p_(j))

returned in the input order (Holm 1979, "A simple sequentially rejective multiple test
procedure", Scand J Statist 6:65-70). They are monotone in the raw p-values, never below them,
and rejecting where p̃ <= alpha controls the family-wise error rate at alpha for any dependence
between the tests, which the comparisons of one matrix certainly have (they share a baseline).
Tied p-values get the same adjusted value. A None (a comparison without pairs) stays None and
does not count towards m.

`with_holm` fills `p_adjusted` on paired results; a report calls a delta significant when its
p_adjusted <= alpha. The `underpowered` flag and sample size stay those of the single test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from experimentos.stats.models import PairedBinary, PairedContinuous

Paired = TypeVar("Paired", PairedBinary, PairedContinuous)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values, in the order given (None stays None)."""
    for i, p in enumerate(p_values):
        if p is None:
            continue
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p_values[{i}] must be a number in [0, 1] or None, got {p!r}")
    defined = [i for i, p in enumerate(p_values) if p is not None]
    m = len(defined)
    order = sorted(defined, key=lambda i: p_values[i])  # type: ignore[arg-type, return-value]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        p = p_values[i]
        assert p is not None
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def holm_reject(p_values: Sequence[float | None], alpha: float = 0.05) -> list[bool]:
    """Which hypotheses Holm's procedure rejects at family-wise level alpha (None: not)."""
    return [p is not None and p <= alpha for p in holm(p_values)]


def with_holm(results: Sequence[Paired]) -> list[Paired]:
    """Copies of one report's paired results with `p_adjusted` set by Holm over all of them."""
    adjusted = holm([r.p_value for r in results])
    return [r.model_copy(update={"p_adjusted": p}) for r, p in zip(results, adjusted, strict=True)]
