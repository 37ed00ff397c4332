"""Paired comparison of two conditions on a pass/fail metric.

Both conditions ran on the same blocks (fixture x agent x repeat), so each block gives a pair
(baseline outcome, treatment outcome) and the pairs form a 2x2 table:

                         treatment pass   treatment fail
        baseline pass        both            only_baseline  (b)
        baseline fail   only_treatment (c)     neither

delta = treatment rate - baseline rate = (c - b) / pairs. A block whose outcome is missing on
either side is not a pair: the caller drops it (and says how many it dropped).

Test: McNemar's exact test (McNemar 1947; exact form: the sign test on the discordant pairs).
Under "no difference", each of the b + c discordant pairs is equally likely to favour either
condition, so min(b, c) is Binomial(b + c, 1/2) and the two-sided p-value is

    p = min(1, 2 * P(X <= min(b, c))),  X ~ Binomial(b + c, 1/2);   p = 1 when b + c = 0.

It is computed with exact integers (sum of C(b+c, i) over 2^(b+c)) and one correctly rounded
division. The exact test is conservative; the mid-p variant (Fagerland, Lydersen & Laake 2013,
BMC Med Res Methodol 13:91) is not used, because a report gate should not call a difference
significant on a liberal test.

Interval: Newcombe's hybrid score interval for paired proportions (Newcombe 1998, "Improved
confidence intervals for the difference between binomial proportions based on paired data",
Stat Med 17:2635-2650, method 10), recommended with Tango's score interval by Fagerland,
Lydersen & Laake 2014 ("Recommended tests and confidence intervals for paired binomial
proportions", Stat Med 33:2850-2875) and, unlike Tango's, closed form. With p1 = treatment
rate, p2 = baseline rate, their Wilson limits (l1, u1), (l2, u2), and the corrected correlation
φ of the 2x2 table (A = both*neither - b*c; φ = (A - N/2)/sqrt(product of the margins) when
A > N/2, 0 when 0 <= A <= N/2, A/sqrt(...) when A < 0, and 0 when a margin is empty):

    low  = delta - sqrt((p1 - l1)² - 2φ(p1 - l1)(u2 - p2) + (u2 - p2)²)
    high = delta + sqrt((u1 - p1)² - 2φ(u1 - p1)(p2 - l2) + (p2 - l2)²)

The Wald interval (delta ± z·se) is the one to avoid: it is zero-width when b = c = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from experimentos.stats.models import PairedBinary
from experimentos.stats.power import mcnemar_sample_size
from experimentos.stats.rates import wilson


def _check_cell(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _check_table(both: int, only_baseline: int, only_treatment: int, neither: int) -> None:
    _check_cell("both", both)
    _check_cell("only_baseline", only_baseline)
    _check_cell("only_treatment", only_treatment)
    _check_cell("neither", neither)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b and c."""
    _check_cell("b", b)
    _check_cell("c", c)
    m = b + c
    if m == 0 or b == c:
        return 1.0
    low = min(b, c)
    # Sum C(m, i) for i <= low with the ratio C(m, i+1) = C(m, i) * (m - i) / (i + 1): integers
    # throughout, so the tail is exact however large m is.
    term, tail = 1, 1
    for i in range(low):
        term = term * (m - i) // (i + 1)
        tail += term
    return min(1.0, float(Fraction(2 * tail, 2**m)))


def newcombe_paired_interval(
    both: int, only_baseline: int, only_treatment: int, neither: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for treatment rate - baseline rate."""
    _check_table(both, only_baseline, only_treatment, neither)
    n = both + only_baseline + only_treatment + neither
    if n == 0:
        raise ValueError("no pairs: the difference is undefined")
    treated_pass, treated_fail = both + only_treatment, only_baseline + neither
    base_pass, base_fail = both + only_baseline, only_treatment + neither
    p1, p2 = treated_pass / n, base_pass / n
    r1, r2 = wilson(treated_pass, n, confidence), wilson(base_pass, n, confidence)
    l1, u1, l2, u2 = r1.low, r1.high, r2.low, r2.high
    assert l1 is not None and u1 is not None and l2 is not None and u2 is not None
    phi = 0.0
    margins = treated_pass * treated_fail * base_pass * base_fail
    if margins > 0:
        a = both * neither - only_baseline * only_treatment
        if a > n / 2:
            phi = (a - n / 2) / math.sqrt(margins)
        elif a < 0:
            phi = a / math.sqrt(margins)
    delta = p1 - p2
    d_low = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    d_high = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, delta - d_low), min(1.0, delta + d_high)


def paired_binary_counts(
    both: int,
    only_baseline: int,
    only_treatment: int,
    neither: int,
    *,
    confidence: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
    pairs_per_repeat: int = 1,
) -> PairedBinary:
    """The paired comparison from the 2x2 table of pairs (see the module docstring)."""
    _check_table(both, only_baseline, only_treatment, neither)
    n = both + only_baseline + only_treatment + neither
    baseline = wilson(both + only_baseline, n, confidence)
    treatment = wilson(both + only_treatment, n, confidence)
    cells = {
        "pairs": n,
        "both": both,
        "only_baseline": only_baseline,
        "only_treatment": only_treatment,
        "neither": neither,
        "baseline": baseline,
        "treatment": treatment,
        "confidence": confidence,
    }
    if n == 0:
        return PairedBinary(
            **cells,
            delta=None,
            low=None,
            high=None,
            p_value=None,
            underpowered=True,
            sample_size=None,
            reason="no pairs",
        )
    delta = (only_treatment - only_baseline) / n
    low, high = newcombe_paired_interval(both, only_baseline, only_treatment, neither, confidence)
    p_value = mcnemar_exact(only_baseline, only_treatment)
    # The interval and the exact test can disagree near the edge (2 of 2 pairs favouring the
    # treatment: the interval excludes 0, the exact p is 0.5); the flag follows the less sure.
    underpowered = low <= 0.0 <= high or p_value > alpha
    sample_size = (
        mcnemar_sample_size(
            only_baseline,
            only_treatment,
            n,
            alpha=alpha,
            power=power,
            pairs_per_repeat=pairs_per_repeat,
        )
        if underpowered
        else None
    )
    return PairedBinary(
        **cells,
        delta=delta,
        low=low,
        high=high,
        p_value=p_value,
        underpowered=underpowered,
        sample_size=sample_size,
    )


def paired_binary(
    baseline: Sequence[bool],
    treatment: Sequence[bool],
    *,
    confidence: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
    pairs_per_repeat: int = 1,
) -> PairedBinary:
    """Paired comparison of pass/fail outcomes; baseline[i] and treatment[i] share a block."""
    if len(baseline) != len(treatment):
        raise ValueError(
            f"paired outcomes need equal lengths, got {len(baseline)} and {len(treatment)}"
        )
    table = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for x, y in zip(baseline, treatment, strict=True):
        table[(bool(x), bool(y))] += 1
    return paired_binary_counts(
        table[(True, True)],
        table[(True, False)],
        table[(False, True)],
        table[(False, False)],
        confidence=confidence,
        alpha=alpha,
        power=power,
        pairs_per_repeat=pairs_per_repeat,
    )
