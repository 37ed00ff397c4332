"""Honest statistics for matrix reports: pure functions, no numpy/scipy at run time.

What a report asks, and where the answer is computed (each module documents its formulas and
references):

    rates.py       a rate k/n with its 95% Wilson score interval        wilson, rate
    passk.py       pass@k and pass^k (unbiased, Chen et al. 2021)       pass_at_k, pass_hat_k,
                   over tasks, with a score (Wilson-type) interval       pass_k
    paired.py      two conditions on the same blocks, pass/fail:        paired_binary(_counts),
                   exact McNemar p, Newcombe's paired interval           mcnemar_exact
    continuous.py  a numeric metric's mean with its interval; two        mean_interval,
                   conditions: mean paired delta, expanded BCa           paired_continuous
                   bootstrap interval, sign-flip p-value (exact up to 2^20
                   sign patterns, else 100,000 draws with their error)
    multiple.py    Holm's correction across many comparisons            holm, with_holm
    power.py       pairs/repeats that would detect the observed delta   mcnemar_sample_size,
                   at 80% power (the `underpowered` answer)              paired_t_sample_size
    resample.py    the bootstrap, BCa and sign-flip machinery
    distributions.py  normal and Student's t quantiles (t in pure Python)
    fmt.py         stable text for reports                              fmt_rate, fmt_delta, …
    models.py      the frozen pydantic results (JSON-ready; None + reason, never NaN)

Conventions: delta = treatment - baseline; intervals are 95% unless `confidence` says otherwise;
`underpowered` is True when a delta's interval contains 0, or its exact test's p-value is above
alpha (the two can disagree for a handful of pairs), or it cannot be computed; `sample_size`
then says how many pairs (and repeats) would detect the observed delta at 80% power. Anything
random draws from random.Random(seed) over sorted inputs, so the same records give the same
bytes. Functions raise
ValueError for arguments no caller should pass (k > n, NaN, unequal pair lengths): the report
code validates records before it gets here.

Everything is cross-checked against scipy and statsmodels in tests/test_stats_*.py (the dev
extra); the runtime imports neither: a few closed forms and a pure-Python bootstrap are fast
enough (benchmarks/stats.py measures it).
"""

from __future__ import annotations

from experimentos.stats.continuous import mean_interval, paired_continuous
from experimentos.stats.fmt import (
    fmt_delta,
    fmt_fixed,
    fmt_interval,
    fmt_mean,
    fmt_p,
    fmt_p_is,
    fmt_p_of,
    fmt_pass_k,
    fmt_rate,
    fmt_sample_size,
    fmt_sig,
    fmt_signed,
    fmt_signed_sig,
)
from experimentos.stats.models import (
    Mean,
    PairedBinary,
    PairedContinuous,
    PassK,
    Rate,
    SampleSize,
)
from experimentos.stats.multiple import holm, holm_reject, with_holm
from experimentos.stats.paired import (
    mcnemar_exact,
    newcombe_paired_interval,
    paired_binary,
    paired_binary_counts,
)
from experimentos.stats.passk import pass_at_k, pass_hat_k, pass_k
from experimentos.stats.power import mcnemar_sample_size, paired_t_sample_size
from experimentos.stats.rates import rate, wilson

__all__ = [
    "Mean",
    "PairedBinary",
    "PairedContinuous",
    "PassK",
    "Rate",
    "SampleSize",
    "fmt_delta",
    "fmt_fixed",
    "fmt_interval",
    "fmt_mean",
    "fmt_p",
    "fmt_p_is",
    "fmt_p_of",
    "fmt_pass_k",
    "fmt_rate",
    "fmt_sample_size",
    "fmt_sig",
    "fmt_signed",
    "fmt_signed_sig",
    "holm",
    "holm_reject",
    "mcnemar_exact",
    "mcnemar_sample_size",
    "mean_interval",
    "newcombe_paired_interval",
    "paired_binary",
    "paired_binary_counts",
    "paired_continuous",
    "pass_at_k",
    "pass_hat_k",
    "pass_k",
    "paired_t_sample_size",
    "rate",
    "wilson",
    "with_holm",
]
