"""What a matrix measured: rates, means, paired deltas, page attribution and pass@k, from rows.

The library API other parts build on (the promotion gate, the MCP tool, the CLI):

    paired_delta(rows, metric, baseline, treatment, fixtures=…, agents=…) -> Delta
        metric M of condition B minus condition A on the blocks (fixture x agent x repeat)
        both ran, with its 95% interval, p-value, `underpowered` and the repeats needed;
    page_attribution(rows, page_id, metric=…) -> Delta
        what removing one page (the `brief-without:<page>` ablation) does against `brief`;
    analyze(matrix) -> MatrixResults
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

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from experimentos.matrix.metrics import BINARY, HIGHER_IS_BETTER, LABELS, NUMERIC, RULES
from experimentos.reports.rows import RunRow
from experimentos.stats import (
    Mean,
    PairedBinary,
    PairedContinuous,
    PassK,
    Rate,
    fmt_delta,
    fmt_p,
    holm,
    mean_interval,
    paired_binary,
    paired_continuous,
    pass_k,
    wilson,
)
from experimentos.stats.large import paired_t, t_mean_interval

ALPHA = 0.05
SEED = 0
BASELINE = "none"
REFERENCE = "brief"  # what an ablation `brief-without:<page>` is compared with
ABLATION_PREFIX = "brief-without:"
# Means shown per condition x agent, and the metrics of the paired-delta tables.
MEAN_METRICS = ("churn", "red_green_cycles", "tokens_in", "tokens_out", "cost_usd", "wall_s")
DELTA_METRICS = ("pass", "clean_pass", *RULES, "churn", "tokens_in", "tokens_out", "cost_usd",
                 "wall_s")  # fmt: skip
FIXTURE_DELTA_METRICS = ("pass", "clean_pass")
# pass@k of the outcome that matters; pass@1 is the clean-pass rate itself (outcomes table).
PASS_K_METRICS = ("clean_pass",)
PASS_K_VALUES = (2, 5)
ALL = None  # the agent or fixture scope "all"
BOOTSTRAP_MAX = 100  # values (or pairs) above which numeric intervals are Student's t


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
    for row in _select(rows, {baseline, treatment}, fixtures, agents):
        sides[row.condition][row.block] = row.value(metric)  # type: ignore[index]
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


def page_attribution(
    rows: Iterable[RunRow],
    page_id: str,
    metric: str = "clean_pass",
    *,
    reference: str = REFERENCE,
    fixtures: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
) -> Delta:
    """What removing `page_id` does to `metric`: brief-without:<page> minus `reference`."""
    return paired_delta(
        rows,
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
        verdict = f"not significant after Holm (p = {fmt_p(p_eff)})"
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


# --- a whole matrix -----------------------------------------------------------------------------


class Group(BaseModel):
    """The runs of one condition x agent (x fixture): rates and means."""

    condition: str
    agent: str | None = None  # None: all agents
    fixture: str | None = None  # None: all fixtures
    runs: int
    rates: dict[str, Rate]
    means: dict[str, Mean] = {}
    nulls: dict[str, int] = {}  # runs whose metric is null (its source was missing)
    null_reasons: dict[str, list[str]] = {}  # the distinct reasons, sorted


class PassKRow(BaseModel):
    condition: str
    agent: str | None = None
    metric: str
    k: int
    pass_at_k: PassK
    pass_hat_k: PassK


class Attribution(BaseModel):
    page: str
    condition: str
    delta: Delta
    sentence: str


class Excluded(BaseModel):
    run_id: str
    path: str
    status: str
    reason: str


class AgentInfo(BaseModel):
    name: str
    adapter: str | None = None
    versions: list[str] = []


class RunCounts(BaseModel):
    expected: int | None = None  # cells x repeats of the spec, when it names this matrix
    counted: int
    excluded: list[Excluded] = []
    missing: list[str] = []  # run ids the spec expects and no record holds


class MatrixResults(BaseModel):
    """Everything a matrix report shows, JSON-ready."""

    matrix_id: str
    experiment: str
    report_path: str
    spec_hashes: list[str]
    knowledge_commits: list[str]
    knowledge_hashes: dict[str, list[str]]  # by condition
    fixtures: dict[str, list[str]]  # fixture -> its content hashes
    agents: list[AgentInfo]
    conditions: list[str]
    baseline: str
    repeats: int
    cells: list[str]  # fixture/condition/agent with at least one record
    runs: RunCounts
    groups: list[Group]  # condition x agent, then condition x all agents
    fixture_groups: list[Group]  # fixture x condition x agent
    deltas: list[Delta]  # each condition vs the baseline, all agents and per agent
    fixture_deltas: list[Delta]  # per fixture, all agents
    attributions: list[Attribution]
    pass_k: list[PassKRow]
    holm: bool  # p-values adjusted (more than two conditions)


@dataclass
class MatrixData:
    """The rows of one matrix, and what its spec says to expect."""

    matrix_id: str
    experiment: str
    rows: list[RunRow]
    conditions: list[str] = field(default_factory=list)  # spec order when known
    agents: list[str] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)
    expected: list[str] | None = None  # run ids


def _ordered(found: Iterable[str | None], preferred: Sequence[str]) -> list[str]:
    seen = {x for x in found if x is not None}
    head = [x for x in preferred if x in seen]
    return head + sorted(seen - set(head))


def _condition_order(found: Iterable[str | None], preferred: Sequence[str]) -> list[str]:
    seen = {x for x in found if x is not None}
    if preferred:
        return _ordered(seen, preferred)
    fixed = [c for c in (BASELINE, REFERENCE) if c in seen]
    return fixed + sorted(seen - set(fixed))


def group_stats(
    rows: Sequence[RunRow],
    condition: str,
    agent: str | None,
    fixture: str | None,
    *,
    means: bool = True,
) -> Group:
    """Rates of every binary metric and means of the shown numeric ones over counted rows."""
    rates: dict[str, Rate] = {}
    nulls: dict[str, int] = {}
    reasons: dict[str, list[str]] = {}
    for metric in BINARY:
        values = [r.value(metric) for r in rows]
        known = [v for v in values if v is not None]
        rates[metric] = wilson(sum(1 for v in known if v), len(known))
        _note_nulls(rows, metric, nulls, reasons)
    found: dict[str, Mean] = {}
    for metric in NUMERIC:
        _note_nulls(rows, metric, nulls, reasons)
        if means and metric in MEAN_METRICS:
            values = [r.value(metric) for r in rows]
            known = [float(v) for v in values if v is not None]  # type: ignore[arg-type]
            found[metric] = (
                t_mean_interval(known)
                if len(known) > BOOTSTRAP_MAX
                else mean_interval(known, seed=SEED)
            )
    return Group(
        condition=condition,
        agent=agent,
        fixture=fixture,
        runs=len(rows),
        rates=rates,
        means=found,
        nulls=nulls,
        null_reasons=reasons,
    )


def _note_nulls(
    rows: Sequence[RunRow], metric: str, nulls: dict[str, int], reasons: dict[str, list[str]]
) -> None:
    missing = [r.metrics.get(metric) for r in rows if r.value(metric) is None]
    if missing:
        nulls[metric] = len(missing)
        reasons[metric] = sorted({(m.reason if m else None) or "no value" for m in missing})


def analyze(data: MatrixData, report_path: str) -> MatrixResults:
    """Every statistic of a matrix report, from its rows."""
    counted = [r for r in data.rows if r.counted]
    conditions = _condition_order((r.condition for r in counted), data.conditions)
    agents = _ordered((r.agent for r in counted), data.agents)
    fixtures = _ordered((r.fixture for r in counted), data.fixtures)
    baseline = BASELINE if BASELINE in conditions else (conditions[0] if conditions else BASELINE)
    by_cell: dict[tuple[str | None, str | None, str | None], list[RunRow]] = {}
    for row in counted:
        by_cell.setdefault((row.fixture, row.condition, row.agent), []).append(row)

    def cell_rows(condition: str, agent: str | None, fixture: str | None) -> list[RunRow]:
        return [
            r
            for (f, c, a), rs in by_cell.items()
            if c == condition
            and (agent is None or a == agent)
            and (fixture is None or f == fixture)
            for r in rs
        ]

    groups = []
    for condition in conditions:
        for agent in [*agents, ALL] if len(agents) > 1 else agents:
            groups.append(group_stats(cell_rows(condition, agent, None), condition, agent, None))
    fixture_groups = [
        group_stats(cell_rows(c, a, f), c, a, f, means=False)
        for f in fixtures
        for c in conditions
        for a in agents
        if (f, c, a) in by_cell
    ]
    treatments = [c for c in conditions if c != baseline]
    by_condition: dict[str, list[RunRow]] = {}
    for row in counted:
        by_condition.setdefault(row.condition or "", []).append(row)

    def pair_rows(*names: str) -> list[RunRow]:
        return [r for name in names for r in by_condition.get(name, [])]

    scopes = [ALL, *agents] if len(agents) > 1 else [ALL]
    deltas = [
        paired_delta(
            pair_rows(baseline, t), metric, baseline, t, agents=None if agent is None else [agent]
        )
        for t in treatments
        for agent in scopes
        for metric in DELTA_METRICS
    ]
    fixture_deltas = [
        paired_delta(pair_rows(baseline, t), metric, baseline, t, fixtures=[f])
        for f in fixtures
        for t in treatments
        for metric in FIXTURE_DELTA_METRICS
    ]
    ablations = [c for c in conditions if c.startswith(ABLATION_PREFIX) and REFERENCE in conditions]
    ablation_deltas = [
        page_attribution(pair_rows(REFERENCE, c), c[len(ABLATION_PREFIX) :], metric)
        for c in ablations
        for metric in ("clean_pass", "pass")
    ]
    adjust = len(conditions) > 2
    if adjust:
        every = with_holm([*deltas, *ablation_deltas])
        deltas, ablation_deltas = every[: len(deltas)], every[len(deltas) :]
        fixture_deltas = with_holm(fixture_deltas)
    attributions = [
        Attribution(
            page=d.treatment[len(ABLATION_PREFIX) :],
            condition=d.treatment,
            delta=d,
            sentence=(
                f"removing {d.treatment[len(ABLATION_PREFIX) :]} changes "
                f"{LABELS[d.metric]} by {fmt_delta(d.result)}"
            ),
        )
        for d in ablation_deltas
    ]
    repeats = max((r.repeat or 0 for r in counted), default=0)
    return MatrixResults(
        matrix_id=data.matrix_id,
        experiment=data.experiment,
        report_path=report_path,
        spec_hashes=sorted({r.spec_hash for r in data.rows if r.spec_hash}),
        knowledge_commits=sorted({r.knowledge_commit for r in data.rows if r.knowledge_commit}),
        knowledge_hashes={
            c: sorted({r.knowledge_hash for r in counted if r.condition == c and r.knowledge_hash})
            for c in conditions
        },
        fixtures={
            f: sorted({r.fixture_hash for r in data.rows if r.fixture == f and r.fixture_hash})
            for f in fixtures
        },
        agents=[
            AgentInfo(
                name=a,
                adapter=next((r.adapter for r in data.rows if r.agent == a and r.adapter), None),
                versions=sorted(
                    {r.agent_version for r in data.rows if r.agent == a and r.agent_version}
                ),
            )
            for a in agents
        ],
        conditions=conditions,
        baseline=baseline,
        repeats=repeats,
        cells=[
            f"{f}/{c}/{a}"
            for (f, c, a) in sorted(by_cell, key=_cell_key(fixtures, conditions, agents))
        ],  # fmt: skip
        runs=RunCounts(
            expected=len(data.expected) if data.expected is not None else None,
            counted=len(counted),
            excluded=[
                Excluded(run_id=r.run_id, path=r.path, status=r.status, reason=r.reason or "")
                for r in data.rows
                if not r.counted
            ],
            missing=sorted(set(data.expected or []) - {r.run_id for r in data.rows}),
        ),
        groups=groups,
        fixture_groups=fixture_groups,
        deltas=deltas,
        fixture_deltas=fixture_deltas,
        attributions=attributions,
        pass_k=_pass_k(by_cell, conditions, agents, fixtures),
        holm=adjust,
    )


def _cell_key(fixtures: list[str], conditions: list[str], agents: list[str]):  # noqa: ANN202
    def key(cell: tuple) -> tuple:
        f, c, a = cell
        return (fixtures.index(f), conditions.index(c), agents.index(a))

    return key


def _pass_k(
    by_cell: dict[tuple, list[RunRow]],
    conditions: list[str],
    agents: list[str],
    fixtures: list[str],
) -> list[PassKRow]:
    out = []
    for condition in conditions:
        for agent in [*agents, ALL] if len(agents) > 1 else agents:
            for metric in PASS_K_METRICS:
                # A task is a fixture for one agent: pooling agents would mix two pass rates.
                tasks = []
                for fixture, one in itertools.product(fixtures, agents):
                    if agent is not None and one != agent:
                        continue
                    values = [r.value(metric) for r in by_cell.get((fixture, condition, one), [])]
                    known = [v for v in values if v is not None]
                    if known:
                        tasks.append((len(known), sum(1 for v in known if v)))
                if not tasks:
                    continue
                most = min(n for n, _ in tasks)
                for k in (k for k in PASS_K_VALUES if k <= most):
                    out.append(
                        PassKRow(
                            condition=condition,
                            agent=agent,
                            metric=metric,
                            k=k,
                            pass_at_k=pass_k(tasks, k, "pass@k"),
                            pass_hat_k=pass_k(tasks, k, "pass^k"),
                        )
                    )
    return out
