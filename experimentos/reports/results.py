"""A whole matrix analysed: every statistic a report shows, as one JSON-ready model.

`analyze(MatrixData) -> MatrixResults`: rates of every pass/fail metric per condition x agent
(and over all agents) with Wilson intervals, means of the numeric ones, each condition's paired
deltas against the baseline (all agents and per agent), per-fixture deltas, page attribution
from `brief-without:<page>` ablations, and pass@k / pass^k. The pairwise machinery is
experimentos.reports.analysis.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from experimentos.markdown import escape
from experimentos.matrix.metrics import BINARY, LABELS, NUMERIC
from experimentos.reports.analysis import (
    ABLATION_PREFIX,
    ALL,
    BASELINE,
    BOOTSTRAP_MAX,
    DELTA_METRICS,
    REFERENCE,
    SEED,
    Delta,
    page_attribution,
    paired_delta,
    with_holm,
)
from experimentos.reports.rows import RunRow
from experimentos.stats import Mean, PassK, Rate, fmt_delta, mean_interval, pass_k, wilson
from experimentos.stats.large import t_mean_interval

MEAN_METRICS = ("churn", "red_green_cycles", "tokens_in", "tokens_out", "cost_usd", "wall_s")
FIXTURE_DELTA_METRICS = ("pass", "clean_pass")
# pass@k of the outcome that matters; pass@1 is the clean-pass rate itself (outcomes table).
PASS_K_METRICS = ("clean_pass",)
PASS_K_VALUES = (2, 5)  # unless the spec's passK lists others


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
    scripted: bool = False  # a script decided some of these runs (a harness check)
    simulated: bool = False  # some of their tokens and cost were made up by a script


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
    delta: Delta  # on the blocks whose `brief` run was served the page
    sentence: str
    served: int = 0  # counted `brief` runs the server's log shows were served the page
    reference_runs: int = 0  # counted `brief` runs


class Excluded(BaseModel):
    run_id: str
    path: str
    status: str
    reason: str


class AgentInfo(BaseModel):
    name: str
    adapter: str | None = None
    versions: list[str] = []
    decisions: list[str] = []  # model, script, unknown: who decided its counted runs


# What a matrix's numbers are evidence of (MatrixResults.label; the PR comment shows it too).
HARNESS_CHECK = "harness check"  # every counted run's decisions came from a script
AGENTS = "agents"  # every counted run was decided by a model
MIXED = "mixed"  # both: the scripted rows are labelled harness checks
UNKNOWN = "unknown"  # some records do not say (made before runs recorded it), none scripted


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
    # What the numbers are evidence of: "agents", "harness check" (scripted decisions: they
    # check the harness, not agents), "mixed" or "unknown" (see HARNESS_CHECK and friends).
    label: str = UNKNOWN
    # The comparisons Holm adjusts together, per metric and agent scope ("`t` − `b`"), in the
    # order the report prints them; the promotion gate adjusts over the same family.
    holm_family: list[str] = []


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
    pass_k: list[int] = field(default_factory=lambda: list(PASS_K_VALUES))  # the spec's passK


def comparisons(conditions: Sequence[str], baseline: str) -> list[tuple[str, str, bool]]:
    """(baseline, treatment, served) of every comparison a report makes, in its order: each
    condition against the baseline, then each `brief-without:<page>` against `brief` on the
    blocks where `brief` served the page (served True). With more than two conditions these
    are Holm's family, per metric and agent scope; the promotion gate adjusts over the same."""
    out = [(baseline, t, False) for t in conditions if t != baseline]
    if REFERENCE in conditions:
        out += [(REFERENCE, c, True) for c in conditions if c.startswith(ABLATION_PREFIX)]
    return out


def comparison_label(baseline: str, treatment: str, served: bool = False) -> str:
    """The comparison in Markdown (the names come from records: escaped here, once)."""
    label = f"{escape.code(treatment)} − {escape.code(baseline)}"
    if served:
        page = escape.text(treatment[len(ABLATION_PREFIX) :])
        label += f" (where {escape.code(baseline)} served {page})"
    return label


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
        scripted=any(r.decisions == "script" for r in rows),
        simulated=any(r.simulated for r in rows),
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
    references = by_condition.get(REFERENCE, [])
    attributions = []
    for d in ablation_deltas:
        page = d.treatment[len(ABLATION_PREFIX) :]
        served = sum(1 for r in references if page in r.served)
        attributions.append(
            Attribution(
                page=page,
                condition=d.treatment,
                delta=d,
                sentence=(
                    f"removing {page} changes {LABELS[d.metric]} by {fmt_delta(d.result)}, on "
                    f"the {served} of {len(references)} `{REFERENCE}` runs the server served it"
                ),
                served=served,
                reference_runs=len(references),
            )
        )
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
                decisions=sorted({r.decisions or UNKNOWN for r in counted if r.agent == a}),
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
        pass_k=_pass_k(by_cell, conditions, agents, fixtures, data.pass_k),
        holm=adjust,
        label=evidence_label(counted),
        holm_family=[comparison_label(*c) for c in comparisons(conditions, baseline)],
    )


def evidence_label(counted: Sequence[RunRow]) -> str:
    """What the counted runs are evidence of: agents, a harness check, mixed or unknown."""
    said = {r.decisions for r in counted}
    if "script" in said:
        return HARNESS_CHECK if said == {"script"} else MIXED
    return AGENTS if said == {"model"} else UNKNOWN


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
    ks: Sequence[int] = PASS_K_VALUES,
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
                for k in (k for k in ks if k <= most):
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
