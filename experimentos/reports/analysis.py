"""Paired deltas between two conditions, and page attribution: the pairwise library API.

What other parts build on (the promotion gate, the reports, the MCP tool):

    paired_delta(rows, metric, baseline, treatment, fixtures=…, agents=…) -> Delta
        metric M of condition B minus condition A on the blocks (fixture x agent x repeat)
        both ran, with its 95% interval, p-value, `underpowered` and the repeats needed;
    page_attribution(rows, page_id, metric=…) -> Delta
        what removing one page (the `brief-without:<page>` ablation) does against `brief`, on
        the blocks whose `brief` run the MCP server's log shows was served the page;
    experimentos.reports.results.analyze(matrix) -> MatrixResults
        everything a report shows, as one JSON-ready model.

Only runs that count (status finished) enter a statistic; a block whose metric is null on
either side is not a pair (`dropped` says how many). Binary metrics use McNemar's exact test
and Newcombe's paired interval, numeric ones the mean paired delta with a bootstrap interval
(seed 0, so the same rows give the same numbers) and a sign-flip p-value (experimentos.stats).
Above BOOTSTRAP_MAX (100) values or pairs, numeric intervals are Student's t and the test is
the paired t-test (experimentos.stats.large): a bootstrap costs n x 2,000 draws in pure Python,
and a report holds a few hundred intervals, so a 10,000-run matrix would take minutes; above
100 values the central limit theorem has mostly done its work and the two intervals agree.
When a report compares more than two conditions, the p-values of one metric and scope are
Holm-adjusted across its comparisons, and significance reads the adjusted value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel

from experimentos.matrix.metrics import BINARY, HIGHER_IS_BETTER, NUMERIC, RULES
from experimentos.reports.rows import RunRow
from experimentos.stats import (
    PairedBinary,
    PairedContinuous,
    fmt_p_is,
    holm,
    paired_binary,
    paired_continuous,
)
from experimentos.stats.large import paired_t

ALPHA = 0.05
SEED = 0
BASELINE = "none"
REFERENCE = "brief"  # what an ablation `brief-without:<page>` is compared with
ABLATION_PREFIX = "brief-without:"
# The metrics of the paired-delta tables.
DELTA_METRICS = ("pass", "clean_pass", *RULES, "churn", "tokens_in", "tokens_out", "cost_usd",
                 "wall_s")  # fmt: skip
ALL = None  # the agent or fixture scope "all"
BOOTSTRAP_MAX = 100  # values (or pairs) above which numeric intervals are Student's t
SCRIPT = "script"  # a run whose decisions came from a script (RunRow.decisions)
HARNESS_VERDICT = "harness check: scripted decisions, not evidence about agents"


def metric_kind(metric: str) -> Literal["binary", "numeric"]:
    if metric in BINARY:
        return "binary"
    if metric in NUMERIC:
        return "numeric"
    known = ", ".join((*BINARY, *NUMERIC))
    raise ValueError(f"unknown metric {metric!r} (known: {known})")


class Delta(BaseModel):
    """metric(treatment) - metric(baseline) on paired blocks, and what it means."""

    metric: str
    kind: Literal["binary", "numeric"]
    baseline: str
    treatment: str
    agent: str | None = None  # None: all agents
    fixture: str | None = None  # None: all fixtures
    pairs: int
    dropped: int  # blocks without a counted, non-null value on both sides
    binary: PairedBinary | None = None
    numeric: PairedContinuous | None = None
    significant: bool = False
    regression: bool = False  # significant, and in the worse direction for this metric
    repeats_needed: int | None = None  # when underpowered: repeats to detect this delta
    verdict: str = ""
    # A script decided some of the paired runs (the scripted adapter, the scripted model): the
    # numbers check the harness; no significance verdict is given.
    harness_check: bool = False

    @property
    def result(self) -> PairedBinary | PairedContinuous:
        found = self.binary if self.binary is not None else self.numeric
        assert found is not None
        return found

    @property
    def delta(self) -> float | None:
        return self.result.delta

    @property
    def p_value(self) -> float | None:
        return self.result.p_value

    @property
    def p_adjusted(self) -> float | None:
        return self.result.p_adjusted

    @property
    def underpowered(self) -> bool:
        return self.result.underpowered


def _select(
    rows: Iterable[RunRow],
    conditions: set[str],
    fixtures: Iterable[str] | None,
    agents: Iterable[str] | None,
) -> list[RunRow]:
    want_f = set(fixtures) if fixtures is not None else None
    want_a = set(agents) if agents is not None else None
    return [
        r
        for r in rows
        if r.condition in conditions
        and r.counted
        and (want_f is None or r.fixture in want_f)
        and (want_a is None or r.agent in want_a)
    ]


def paired_delta(
    rows: Iterable[RunRow],
    metric: str,
    baseline: str,
    treatment: str,
    *,
    fixtures: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
    seed: int = SEED,
) -> Delta:
    """metric(treatment) - metric(baseline), paired on fixture x agent x repeat blocks of
    counted runs (restricted to `fixtures` / `agents` when given)."""
    kind = metric_kind(metric)
    fixtures = list(fixtures) if fixtures is not None else None
    agents = list(agents) if agents is not None else None
    sides: dict[str, dict[tuple, object]] = {baseline: {}, treatment: {}}
    scripted: set[tuple] = set()
    for row in _select(rows, {baseline, treatment}, fixtures, agents):
        sides[row.condition][row.block] = row.value(metric)  # type: ignore[index]
        if row.decisions == SCRIPT:
            scripted.add(row.block)
    blocks = sorted(set(sides[baseline]) | set(sides[treatment]))
    paired = [
        b
        for b in blocks
        if sides[baseline].get(b) is not None and sides[treatment].get(b) is not None
    ]
    per_repeat = max(1, len({(f, a) for f, a, _ in paired}))
    base = [sides[baseline][b] for b in paired]
    treat = [sides[treatment][b] for b in paired]
    scope = {
        "metric": metric,
        "kind": kind,
        "baseline": baseline,
        "treatment": treatment,
        "agent": agents[0] if agents is not None and len(agents) == 1 else None,
        "fixture": fixtures[0] if fixtures is not None and len(fixtures) == 1 else None,
        "pairs": len(paired),
        "dropped": len(blocks) - len(paired),
        "harness_check": any(b in scripted for b in paired),
    }
    if kind == "binary":
        result = paired_binary(
            [bool(x) for x in base], [bool(x) for x in treat], pairs_per_repeat=per_repeat
        )
        return judge(Delta(**scope, binary=result))
    xs = [float(x) for x in base]  # type: ignore[arg-type]
    ys = [float(x) for x in treat]  # type: ignore[arg-type]
    if len(paired) > BOOTSTRAP_MAX:
        numbers = paired_t(xs, ys, pairs_per_repeat=per_repeat)
    else:
        numbers = paired_continuous(xs, ys, seed=seed, pairs_per_repeat=per_repeat)
    return judge(Delta(**scope, numeric=numbers))


def served_rows(rows: Iterable[RunRow], page_id: str, reference: str = REFERENCE) -> list[RunRow]:
    """`rows` without the `reference` runs that were not served `page_id` (by the MCP server's
    own log): a page can only have had an effect on a run that was given it. Pairing then
    drops their blocks, so an ablation compares runs that had the page with runs of the same
    block that did not."""
    return [r for r in rows if r.condition != reference or page_id in r.served]


def page_attribution(
    rows: Iterable[RunRow],
    page_id: str,
    metric: str = "clean_pass",
    *,
    reference: str = REFERENCE,
    fixtures: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
) -> Delta:
    """What removing `page_id` does to `metric`: brief-without:<page> minus `reference`, on
    the blocks whose `reference` run was served the page (served_rows)."""
    return paired_delta(
        served_rows(rows, page_id, reference),
        metric,
        reference,
        f"{ABLATION_PREFIX}{page_id}",
        fixtures=fixtures,
        agents=agents,
    )


def judge(delta: Delta) -> Delta:
    """Significance, regression, repeats needed and a one-line verdict (after any Holm step)."""
    result = delta.result
    if result.delta is None:
        return delta.model_copy(
            update={"significant": False, "regression": False, "verdict": f"n/a: {result.reason}"}
        )
    if delta.harness_check:
        update = {"significant": False, "regression": False, "repeats_needed": None}
        return delta.model_copy(update={**update, "verdict": HARNESS_VERDICT})
    p_eff = result.p_adjusted if result.p_adjusted is not None else result.p_value
    alone = not result.underpowered
    significant = alone and p_eff is not None and p_eff <= ALPHA
    better = result.delta > 0 if delta.metric in HIGHER_IS_BETTER else result.delta < 0
    worse = result.delta != 0 and not better
    size = result.sample_size
    needed = size.repeats if size is not None else None
    if significant:
        verdict = f"significant ({'better' if better else 'worse'})"
    elif alone:
        verdict = f"not significant after Holm ({fmt_p_is(p_eff)})"
    elif size is not None and size.pairs is not None:
        verdict = f"underpowered: about {size.repeats} repeats needed"
    elif size is not None:
        verdict = f"underpowered: {size.reason}"
    else:
        verdict = "underpowered"
    return delta.model_copy(
        update={
            "significant": significant,
            "regression": significant and worse,
            "repeats_needed": needed,
            "verdict": verdict,
        }
    )


def with_holm(deltas: Sequence[Delta]) -> list[Delta]:
    """Holm-adjust the p-values of comparisons that share metric, agent and fixture scope."""
    families: dict[tuple, list[int]] = {}
    for i, d in enumerate(deltas):
        families.setdefault((d.metric, d.agent, d.fixture), []).append(i)
    out = list(deltas)
    for members in families.values():
        adjusted = holm([deltas[i].p_value for i in members])
        for i, p in zip(members, adjusted, strict=True):
            d = deltas[i]
            key = "binary" if d.binary is not None else "numeric"
            result = d.result.model_copy(update={"p_adjusted": p})
            out[i] = judge(d.model_copy(update={key: result}))
    return out
