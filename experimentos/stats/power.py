"""How many pairs would detect the observed delta: the `underpowered` answer.

When the interval of a delta spans zero, "no effect" is the wrong reading; the right one is
"these repeats cannot tell". These functions say how many pairs (and repeats) a two-sided test
at level alpha would need to detect the *observed* delta with the given power (80% by default),
taking the observed delta and spread as the truth. That is a planning figure for the next
matrix, not a post-hoc power claim about this one.

Pass/fail metrics (McNemar): Connor 1987 ("Sample size for testing differences in proportions
for the paired-sample design", Biometrics 43:207-211). With ψ the share of discordant pairs
((b + c) / N) and δ the paired difference ((c - b) / N),

    pairs = ⌈ (z_{1-α/2}·sqrt(ψ) + z_{power}·sqrt(ψ - δ²))² / δ² ⌉

It is the normal-approximation McNemar test's size; the exact test reported next to it is
conservative: at Connor's size its power was 0.75-0.78 rather than 0.80 on the tables in
tests/test_stats_power.py, and 0.80 took 6-11% more pairs. Read the figure as "at least".

Numeric metrics (paired t-test): the normal approximation with Guenther's correction (Guenther
1981, "Sample size formulas for normal theory t tests", Am Stat 35:243-244), with s the
sample standard deviation of the paired deltas:

    pairs = ⌈ (z_{1-α/2} + z_{power})² · (s/δ)² + z_{1-α/2}² / 2 ⌉

which is the exact noncentral-t answer or one pair fewer (tests compare it with statsmodels'
TTestPower).

Both are floored by what the exact tests the report runs can reach at all: with m pairs that
disagree (discordant pass/fail pairs, nonzero numeric deltas) the smallest two-sided p-value
is 2^(1-m), so alpha = 0.05 needs m >= 6, and m/share pairs when only a share of the pairs
disagree. Without the floor, 2 pairs that both favour the treatment would "need" 4 pairs, at
which the exact test still cannot reject. `bound` says which of the two limits decided.

A zero delta has no sample size that detects it, and fewer than two pairs give no spread: both
return `pairs = None` with the reason. `repeats` divides the pairs by how many pairs one more
repeat of the matrix adds (fixtures x agents in the comparison), rounded up.
"""

from __future__ import annotations

import math

from experimentos.stats.distributions import z_one_sided, z_two_sided
from experimentos.stats.models import SampleSize

MCNEMAR_METHOD = "connor-1987"
PAIRED_T_METHOD = "paired-normal-guenther-1981"
ZERO_DELTA = "observed delta is 0: no number of repeats detects it"


def _round_up(value: float) -> int:
    # Rounding away float noise first: a formula that is exactly 76 must not become 77.
    return math.ceil(round(value, 9))


def exact_test_floor(alpha: float, share: float = 1.0) -> int:
    """Fewest pairs at which an exact sign test can reach p <= alpha, if `share` of them disagree.

    With m disagreeing pairs the smallest two-sided p-value is 2 * 0.5^m (all on one side).
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    m = 1
    while 2.0 ** (1 - m) > alpha:
        m += 1
    return _round_up(m / share)


def _result(
    pairs: int | None,
    *,
    method: str,
    alpha: float,
    power: float,
    pairs_per_repeat: int,
    floor: int = 0,
    reason: str | None = None,
) -> SampleSize:
    if isinstance(pairs_per_repeat, bool) or not isinstance(pairs_per_repeat, int):
        raise ValueError(f"pairs_per_repeat must be an integer, got {pairs_per_repeat!r}")
    if pairs_per_repeat < 1:
        raise ValueError(f"pairs_per_repeat must be at least 1, got {pairs_per_repeat}")
    bound = None
    if pairs is not None:
        bound = "exact-test" if floor > pairs else "power"
        pairs = max(pairs, floor)
    repeats = None if pairs is None else -(-pairs // pairs_per_repeat)
    return SampleSize(
        pairs=pairs,
        repeats=repeats,
        pairs_per_repeat=pairs_per_repeat,
        power=power,
        alpha=alpha,
        method=method,
        bound=bound,
        reason=reason,
    )


def _quantiles(alpha: float, power: float) -> tuple[float, float]:
    return z_two_sided(1.0 - alpha), z_one_sided(power)


def mcnemar_sample_size(
    b: int,
    c: int,
    pairs: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    pairs_per_repeat: int = 1,
) -> SampleSize:
    """Pairs needed to detect the observed paired difference (c - b) / pairs (Connor 1987)."""
    if min(b, c) < 0 or b + c > pairs:
        raise ValueError(f"need 0 <= b, c and b + c <= pairs, got b={b}, c={c}, pairs={pairs}")
    z_a, z_b = _quantiles(alpha, power)
    common = {
        "method": MCNEMAR_METHOD,
        "alpha": alpha,
        "power": power,
        "pairs_per_repeat": pairs_per_repeat,
    }
    if pairs == 0:
        return _result(None, **common, reason="no pairs")
    if b == c:
        reason = "no discordant pairs: the conditions never disagreed" if b == 0 else ZERO_DELTA
        return _result(None, **common, reason=reason)
    psi = (b + c) / pairs
    delta = (c - b) / pairs
    needed = (z_a * math.sqrt(psi) + z_b * math.sqrt(max(0.0, psi - delta * delta))) ** 2
    floor = exact_test_floor(alpha, psi)
    return _result(_round_up(needed / (delta * delta)), **common, floor=floor)


def paired_t_sample_size(
    delta: float | None,
    sd: float | None,
    *,
    nonzero_share: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    pairs_per_repeat: int = 1,
) -> SampleSize:
    """Pairs needed to detect a mean paired delta given the deltas' SD (Guenther 1981).

    `nonzero_share` is the share of observed deltas that are not 0 (for the exact-test floor).
    """
    common = {
        "method": PAIRED_T_METHOD,
        "alpha": alpha,
        "power": power,
        "pairs_per_repeat": pairs_per_repeat,
    }
    if delta is None or sd is None or not math.isfinite(delta) or not math.isfinite(sd):
        return _result(None, **common, reason="fewer than 2 pairs: the spread is unknown")
    if sd < 0:
        raise ValueError(f"sd must be non-negative, got {sd}")
    if delta == 0:
        return _result(None, **common, reason=ZERO_DELTA)
    z_a, z_b = _quantiles(alpha, power)
    needed = (z_a + z_b) ** 2 * (sd / delta) ** 2 + z_a * z_a / 2
    floor = exact_test_floor(alpha, nonzero_share)
    return _result(max(2, _round_up(needed)), **common, floor=floor)
