"""Holm's step-down correction for a report that compares more than two conditions.

With m p-values sorted ascending p_(1) <= ... <= p_(m), the adjusted values are

    p̃_(i) = max over j <= i of min(1, (m - j + 1) · p_(j))

returned in the input order (Holm 1979, "A simple sequentially rejective multiple test
procedure", Scand J Statist 6:65-70). They are monotone in the raw p-values, never below them,
and rejecting where p̃ <= alpha controls the family-wise error rate at alpha for any dependence
between the tests, which the comparisons of one matrix certainly have (they share a baseline).
Tied p-values get the same adjusted value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given."""
    for i, p in enumerate(p_values):
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p_values[{i}] must be a number in [0, 1], got {p!r}")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [math.nan] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def holm_reject(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Which hypotheses Holm's procedure rejects at family-wise level alpha."""
    return [p <= alpha for p in holm(p_values)]
