"""The promotion gate: does a matrix show that a page helps, and harms nothing else?

The gate reads the run records of one matrix through the report library
(experimentos.reports: rows, `paired_delta`, `page_attribution`, `judge`, `with_holm`) and
computes nothing the report computes differently. It passes when:

1. the matrix ablated the page (`brief-without:<page>` next to `brief`; a matrix that did not
   is refused with the condition to add: experimentos.promote.scope), and the MCP server's
   log shows the page served in `brief` runs; only the blocks of those runs are compared;
2. a model made the runs' decisions: runs of the scripted adapter or the scripted model are a
   harness check, never evidence (`allow_scripted` lifts that for tests only);
3. the comparison shows an improvement on the gate metric (clean pass unless told otherwise)
   that the report calls significant: the 95% interval excludes 0, McNemar's exact p <= 0.05,
   and, when the matrix has more than two conditions, the Holm-adjusted p <= 0.05 over the
   family the report prints beside its headline (`holm_family`);
4. no other outcome moves significantly the wrong way with the page, after Holm over all of
   them together: pass, clean pass and each ground-truth rule on the same scope, pass and clean
   pass per fixture (when there are several) and per agent (when there are several).

Effort metrics (churn, tokens, cost, wall time) are measured on the same pairs and shown, but
never block: a brief costs tokens by design, and a reviewer weighs that.

Every comparison is oriented the page's way: baseline = the condition without the page,
treatment = the one with it, so a positive clean-pass delta means the page helps. For an
ablation that is the report's attribution turned around (the report prints "removing the page
changes clean pass by -0.65 [-0.82, -0.38]"; the gate prints +0.65 [+0.38, +0.82]); McNemar's
test and Newcombe's interval are symmetric, so the numbers are the same ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from experimentos.errors import UsageError
from experimentos.markdown.escape import code
from experimentos.matrix.metrics import BINARY, LABELS, RULES
from experimentos.models.knowledge import DECISION_TYPES, GateBasis, Page
from experimentos.promote.scope import (
    Scope,
    choose_scope,
    counted_conditions,
    served,
)
from experimentos.reports.analysis import (
    ABLATION_PREFIX,
    BASELINE,
    REFERENCE,
    SCRIPT,
    Delta,
    judge,
    page_attribution,
    paired_delta,
    served_rows,
    with_holm,
)
from experimentos.reports.load import find_matrix, report_rel
from experimentos.reports.results import MatrixData, comparison_label, comparisons
from experimentos.reports.rows import RunRow
from experimentos.reports.sources import Source
from experimentos.stats import fmt_delta, fmt_p_is, holm
from experimentos.store import Workspace

DEFAULT_METRIC = "clean_pass"
GATE_METRICS = BINARY  # a pass/fail metric decides; numeric ones only inform
OUTCOME_METRICS = ("pass", "clean_pass", *RULES)
SPLIT_METRICS = ("pass", "clean_pass")  # per fixture and per agent
COST_METRICS = ("churn", "tokens_in", "tokens_out", "cost_usd", "wall_s")


class GateResult(BaseModel):
    """What the promotion gate read and decided for one page on one matrix."""

    page: str
    title: str
    type: str
    status: str
    matrix: str = Field(description="<experiment>/<matrix-id>")
    matrix_id: str
    experiment: str = Field(description="experiment.<slug>")
    report_path: str
    metric: str
    basis: GateBasis | None
    baseline: str | None = Field(description="the condition without the page")
    treatment: str | None = Field(description="the condition with the page")
    fixtures: list[str] = Field(description="the fixtures the comparison is restricted to")
    fixture_notes: dict[str, str] = Field(default_factory=dict, description="why in or out")
    primary: Delta | None = Field(description="the gate metric, the page's way (with - without)")
    checks: list[Delta] = Field(
        default_factory=list, description="the other outcomes, Holm-adjusted together"
    )
    costs: list[Delta] = Field(default_factory=list, description="effort metrics; never block")
    runs: list[str] = Field(default_factory=list, description="run ids of the primary's pairs")
    served: Literal["yes", "no", "unknown"] = Field(
        default="yes", description="whether the server's log shows the page served at all"
    )
    served_runs: int = Field(default=0, description="`brief` runs the page was served in")
    brief_runs: int = Field(default=0, description="counted `brief` runs")
    holm_family: list[str] = Field(
        default_factory=list,
        description="the comparisons Holm adjusts the gate metric over: the family the report "
        "prints beside its headline (empty: two conditions, no adjustment)",
    )
    passed: bool
    reasons: list[str] = Field(default_factory=list, description="why the gate did not pass")
    notes: list[str] = Field(default_factory=list)
    repeats_needed: int | None = Field(
        default=None, description="when underpowered: repeats to detect the observed delta"
    )

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.checks if d.regression]

    @property
    def slug(self) -> str:
        return self.experiment.split(".", 1)[1]

    def headline(self) -> str:
        """One line: the gate metric's delta, interval, pairs and p-values."""
        d = self.primary
        if d is None or self.baseline is None:
            return "no comparison"
        p = f"McNemar exact p {p_text(d.p_value)}"
        if d.p_adjusted is not None:
            p += f", Holm-adjusted p {p_text(d.p_adjusted)}"
        return (
            f"{LABELS[self.metric]} {fmt_delta(d.result)} with the page over {d.pairs} pairs "
            f"({code(self.treatment)} vs {code(self.baseline)}), {p}"
        )


def check_metric(metric: str) -> str:
    if metric not in GATE_METRICS:
        raise UsageError(
            f"the gate decides on a pass/fail metric; {metric!r} is not one "
            f"(choose from: {', '.join(GATE_METRICS)})",
            field="metric",
        )
    return metric


def check_page_type(page: Page, path: str | None = None) -> None:
    if page.type not in DECISION_TYPES:
        raise UsageError(
            f"{page.id} is a {page.type}: only policy and intervention pages become decision "
            "rules, so only they are promoted by the gate (accept other pages with "
            "`experimentos page set-status`)",
            path=path,
            field="type",
        )


def compute_gate(
    workspace: Workspace,
    page_id: str,
    matrix: str,
    metric: str = DEFAULT_METRIC,
    *,
    allow_scripted: bool = False,
) -> GateResult:
    """The gate for `page_id` on `matrix` (`<matrix-id>` or `<experiment>/<matrix-id>`), from
    the run records in the working tree. `allow_scripted` (tests only) judges runs a script
    decided as if a model had."""
    check_metric(metric)
    doc = workspace.read(page_id)
    check_page_type(doc.page, doc.path)
    data = find_matrix(Source(workspace.root), matrix)
    return gate_for(workspace.root, data, doc.page, metric, allow_scripted=allow_scripted)


def gate_for(
    root: Path,
    data: MatrixData,
    page: Page,
    metric: str = DEFAULT_METRIC,
    *,
    costs: bool = True,
    allow_scripted: bool = False,
) -> GateResult:
    """The gate for `page` on one matrix's rows (`costs=False` skips the effort metrics, whose
    bootstrap intervals cost the most)."""
    if allow_scripted:  # tests only: a script's runs judged as if a model had decided
        data = dataclasses.replace(data, rows=[_as_model(r) for r in data.rows])
    scope = choose_scope(data, page)
    result = GateResult(
        page=page.id,
        title=page.title,
        type=page.type.value,
        status=page.status.value,
        matrix=f"{data.experiment}/{data.matrix_id}",
        matrix_id=data.matrix_id,
        experiment=f"experiment.{data.experiment}",
        report_path=report_rel(data.experiment, data.matrix_id),
        metric=metric,
        basis=scope.basis,
        baseline=scope.baseline,
        treatment=scope.treatment,
        fixtures=scope.fixture_list(data) if scope.basis else [],
        fixture_notes=scope.notes,
        primary=None,
        passed=False,
    )
    if scope.problem:
        result.reasons.append(scope.problem)
        return result
    assert scope.baseline is not None and scope.treatment is not None
    check = served(root, data, page, scope)
    result.served, result.served_runs, result.brief_runs = check.verdict, check.served, check.runs
    result.notes += check.notes
    if check.problem:
        result.reasons.append(check.problem)

    rows = served_rows(data.rows, page.id, scope.treatment)
    fx = scope.fixtures  # None: every fixture (an ablation)
    primary = _primary(data, page, metric)
    result.primary = primary
    result.holm_family = _family_labels(data)
    result.runs = _paired_runs(rows, metric, scope.baseline, scope.treatment, fx)
    scripted = _scripted(rows, set(result.runs))
    if scripted:
        result.reasons.append(scripted)
    result.checks = _checks(rows, scope, metric, data)
    if costs:
        result.costs = [
            paired_delta(rows, m, scope.baseline, scope.treatment, fixtures=fx)
            for m in COST_METRICS
        ]
    result.reasons += _primary_reasons(primary)
    if primary.underpowered:
        result.repeats_needed = primary.repeats_needed
    for d in result.regressions:
        result.reasons.append(f"significant regression with the page: {describe(d)}")
    result.passed = not result.reasons
    return result


def _as_model(row: RunRow) -> RunRow:
    return row.model_copy(update={"decisions": "model"}) if row.decisions == SCRIPT else row


def _scripted(rows: Sequence[RunRow], run_ids: set[str]) -> str | None:
    """Why the compared runs are not evidence about an agent (None: a model decided all)."""
    used = [r for r in rows if r.run_id in run_ids]
    by_script = sum(1 for r in used if r.decisions == SCRIPT)
    unknown = sum(1 for r in used if r.decisions is None)
    if by_script:
        return (
            f"a harness check, not evidence: a script made the decisions of {by_script} of the "
            f"{len(used)} compared runs (the scripted adapter or the scripted model); run the "
            "matrix with a model"
        )
    if unknown:
        return (
            f"{unknown} of the {len(used)} compared runs do not record whether a model or a "
            "script decided (made before runs recorded it): run the matrix again"
        )
    return None


def _primary(data: MatrixData, page: Page, metric: str) -> Delta:
    """The gate metric the page's way on the blocks whose `brief` run was served the page,
    its p-value Holm-adjusted over the family the report prints."""
    ablation = f"{ABLATION_PREFIX}{page.id}"
    rows = served_rows(data.rows, page.id)
    oriented = paired_delta(rows, metric, ablation, REFERENCE)
    family = report_family(data, metric, None)
    if family is None:
        return oriented
    twin = next(d for d in family if d.baseline == REFERENCE and d.treatment == ablation)
    key = "binary" if oriented.binary is not None else "numeric"
    adjusted = oriented.result.model_copy(update={"p_adjusted": twin.p_adjusted})
    return judge(oriented.model_copy(update={key: adjusted}))


def _family_labels(data: MatrixData) -> list[str]:
    conditions = _condition_order(counted_conditions(data), data.conditions)
    if len(conditions) <= 2:
        return []
    baseline = BASELINE if BASELINE in conditions else conditions[0]
    return [comparison_label(*c) for c in comparisons(conditions, baseline)]


def report_family(
    data: MatrixData, metric: str, fixtures: Sequence[str] | None
) -> list[Delta] | None:
    """The comparisons a report Holm-adjusts together for `metric` on `fixtures` (all agents),
    built from the same list the report prints (experimentos.reports.results.comparisons):
    every condition against the baseline, and every ablation against `brief` on the blocks
    where `brief` served its page; None when the matrix has two conditions (no adjustment)."""
    conditions = _condition_order(counted_conditions(data), data.conditions)
    if len(conditions) <= 2:
        return None
    baseline = BASELINE if BASELINE in conditions else conditions[0]
    rows = data.rows
    family = [
        page_attribution(rows, t[len(ABLATION_PREFIX) :], metric, fixtures=fixtures)
        if is_served
        else paired_delta(rows, metric, b, t, fixtures=fixtures)
        for b, t, is_served in comparisons(conditions, baseline)
    ]
    return with_holm(family)


def _condition_order(seen: set[str], preferred: Sequence[str]) -> list[str]:
    # The report's order (spec order, else none, brief, then the rest sorted): the baseline
    # of a matrix without `none` is its first condition.
    if preferred:
        head = [c for c in preferred if c in seen]
    else:
        head = [c for c in (BASELINE, REFERENCE) if c in seen]
    return head + sorted(seen - set(head))


def _checks(rows: Sequence[RunRow], scope: Scope, metric: str, data: MatrixData) -> list[Delta]:
    """Every other outcome comparison, the page's way, Holm-adjusted as one family."""
    b, t, fx = scope.baseline, scope.treatment, scope.fixtures
    assert b is not None and t is not None
    found = [paired_delta(rows, m, b, t, fixtures=fx) for m in OUTCOME_METRICS if m != metric]
    names = scope.fixture_list(data)
    if len(names) > 1:
        found += [paired_delta(rows, m, b, t, fixtures=[f]) for f in names for m in SPLIT_METRICS]
    agents = sorted({r.agent for r in rows if r.counted and r.condition in (b, t) and r.agent})
    if len(agents) > 1:
        found += [
            paired_delta(rows, m, b, t, fixtures=fx, agents=[a])
            for a in agents
            for m in SPLIT_METRICS
        ]
    adjusted = holm([d.p_value for d in found])
    out = []
    for d, p in zip(found, adjusted, strict=True):
        key = "binary" if d.binary is not None else "numeric"
        out.append(judge(d.model_copy(update={key: d.result.model_copy(update={"p_adjusted": p})})))
    return out


def _paired_runs(
    rows: Sequence[RunRow],
    metric: str,
    baseline: str,
    treatment: str,
    fixtures: Sequence[str] | None,
) -> list[str]:
    """The run ids behind the primary comparison: both runs of every pair it counted."""
    wanted = set(fixtures) if fixtures is not None else None
    sides: dict[str, dict[tuple, RunRow]] = {baseline: {}, treatment: {}}
    for row in rows:
        if (
            row.counted
            and row.condition in sides
            and (wanted is None or row.fixture in wanted)
            and row.value(metric) is not None
        ):
            sides[row.condition][row.block] = row  # type: ignore[index]
    blocks = set(sides[baseline]) & set(sides[treatment])
    return sorted(sides[c][b].run_id for c in (baseline, treatment) for b in blocks)


def _primary_reasons(d: Delta) -> list[str]:
    result = d.result
    if result.delta is None:
        return [f"no pairs to compare: {result.reason}"]
    helps = not d.regression and d.significant
    if helps:
        return []
    if d.regression:
        return [f"the page makes {LABELS[d.metric]} worse: {describe(d)}"]
    if d.underpowered:
        return [f"underpowered: {describe(d)}; {repeats_needed_text(d)}"]
    return [f"not significant after Holm: {describe(d)}"]


def p_text(p: float | None) -> str:
    """'= 0.125', '< 0.001' (stats.fmt_p_is without its name)."""
    return fmt_p_is(p, "").lstrip()


def repeats_needed_text(d: Delta) -> str:
    """'about 31 repeats needed (61 pairs at 80% power)', or why no number would do."""
    size = d.result.sample_size
    if size is None:
        return "the repeats needed are unknown"
    if size.pairs is None:
        return size.reason or "the repeats needed are unknown"
    return f"about {size.repeats} repeats needed ({size.pairs} pairs at {size.power:.0%} power)"


def describe(d: Delta) -> str:
    """'clean pass +0.65 [+0.38, +0.82] over 20 pairs, p < 0.001' (with its scope)."""
    where = []
    if d.fixture is not None:
        where.append(f"fixture {d.fixture}")
    if d.agent is not None:
        where.append(f"agent {d.agent}")
    scope = f" on {', '.join(where)}" if where else ""
    p = f"p {p_text(d.p_value)}"
    if d.p_adjusted is not None:
        p += f", Holm {p_text(d.p_adjusted)}"
    sig = 3 if d.kind == "numeric" else None
    return f"{LABELS[d.metric]}{scope} {fmt_delta(d.result, sig=sig)} over {d.pairs} pairs, {p}"
