"""`experimentos candidates EXP`: what the matrices of an experiment suggest for each page.

The pages considered on each matrix: every page it ablates (`brief-without:<page>`), and every
policy or intervention a fixture names in `guardedBy` or whose `appliesTo` keys positively
match a fixture. Only an ablation speaks for a page (experimentos.promote.scope); a page the
matrix is for but never ablated is suggested for testing, with the condition to add. Retired
pages (rejected, deprecated, superseded) are left out.

Each page gets the promotion gate (experimentos.promote.gate) and one suggestion:

    promote  not accepted yet, and the gate passes
    demote   accepted, and the page harms (its delta, or another outcome, significantly the
             wrong way) or shows no effect (the observed delta is 0 or against it)
    retest   the observed delta favours the page but the interval spans 0 (underpowered: with
             the repeats that would detect it) or Holm takes it over 0.05
    test     a fixture is for the page but the matrix never ablated it: add
             `brief-without:<page>` (the `why` says so)
    none     nothing to do: an accepted page that passes, a draft with no effect or harm, or a
             comparison that cannot speak for the page (not served, a harness check, no pairs)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from experimentos.errors import NotFound
from experimentos.matrix.metrics import HIGHER_IS_BETTER, LABELS
from experimentos.models.knowledge import DECISION_TYPES, Page, Status
from experimentos.promote.gate import (
    DEFAULT_METRIC,
    GateResult,
    check_metric,
    describe,
    gate_for,
    repeats_needed_text,
)
from experimentos.promote.scope import (
    applies_to_fixture,
    counted_conditions,
    has_keys,
    load_fixture_infos,
    matrix_fixtures,
)
from experimentos.reports.analysis import ABLATION_PREFIX
from experimentos.reports.load import matrices
from experimentos.reports.results import MatrixData
from experimentos.reports.sources import Source
from experimentos.store import Workspace
from experimentos.store.lab_paths import experiment_slug

Suggestion = Literal["promote", "demote", "retest", "test", "none"]
ORDER: tuple[Suggestion, ...] = ("promote", "demote", "retest", "test", "none")
RETIRED = (Status.rejected, Status.deprecated, Status.superseded)


class Candidate(BaseModel):
    """One page on one matrix: the suggestion, why, and the numbers behind it."""

    page: str
    title: str
    status: str
    matrix: str
    suggestion: Suggestion
    why: str
    metric: str
    basis: str | None
    baseline: str | None
    treatment: str | None
    fixtures: list[str]
    pairs: int
    delta: float | None
    low: float | None
    high: float | None
    p_value: float | None
    p_adjusted: float | None
    repeats_needed: int | None
    regressions: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list, description="why the gate did not pass")


class CandidatesResult(BaseModel):
    experiment: str
    metric: str
    matrices: list[str]
    candidates: list[Candidate]
    skipped: list[str] = Field(
        default_factory=list, description="ablated pages that are not in the knowledge base"
    )

    def by(self, suggestion: Suggestion) -> list[Candidate]:
        return [c for c in self.candidates if c.suggestion == suggestion]


def candidates(
    workspace: Workspace, experiment: str, metric: str = DEFAULT_METRIC
) -> CandidatesResult:
    """Every page the matrices of `experiment` speak for, with the suggestion they make."""
    check_metric(metric)
    slug = experiment_slug(experiment)
    source = Source(workspace.root)
    found = matrices(source, [slug])
    if not found:
        raise NotFound(f"experiment {slug!r} has no matrix runs", field="experiment")
    pages = workspace.scan().pages()
    result = CandidatesResult(
        experiment=f"experiment.{slug}",
        metric=metric,
        matrices=[f"{m.experiment}/{m.matrix_id}" for m in found],
        candidates=[],
    )
    for data in found:
        considered, skipped = _considered(workspace, data, pages)
        result.skipped += skipped
        for page_id in considered:
            gate = gate_for(workspace.root, data, pages[page_id], metric, costs=False)
            result.candidates.append(classify(gate))
    result.candidates.sort(key=lambda c: (ORDER.index(c.suggestion), c.page, c.matrix))
    return result


def _considered(
    workspace: Workspace, data: MatrixData, pages: dict[str, Page]
) -> tuple[list[str], list[str]]:
    """The page ids one matrix speaks for or is for (sorted), and the ablated pages that are
    not in the knowledge base."""
    conditions = counted_conditions(data)
    chosen: set[str] = set()
    skipped = []
    for condition in sorted(conditions):
        if condition.startswith(ABLATION_PREFIX):
            page_id = condition[len(ABLATION_PREFIX) :]
            page = pages.get(page_id)
            if page is None:
                skipped.append(f"{data.experiment}/{data.matrix_id}: {page_id} (ablated)")
            elif page.type in DECISION_TYPES and page.status not in RETIRED:
                chosen.add(page_id)
    infos = load_fixture_infos(workspace.root, matrix_fixtures(data))
    readable = [i for i in infos.values() if i.fixture is not None]
    for page in pages.values():
        if page.type not in DECISION_TYPES or page.status in RETIRED or page.id in chosen:
            continue
        guarded = any(page.id in i.fixture.guarded_by for i in readable)  # type: ignore[union-attr]
        if guarded or (
            has_keys(page.applies_to) and any(applies_to_fixture(page, i)[0] for i in readable)
        ):
            chosen.add(page.id)
    return sorted(chosen), skipped


def classify(gate: GateResult) -> Candidate:
    """The suggestion for one page's gate (see the module docstring)."""
    d = gate.primary
    accepted = gate.status == Status.accepted.value
    regressions = [describe(r) for r in gate.regressions]
    suggestion: Suggestion
    if gate.basis is None:
        suggestion, why = "test", "; ".join(gate.reasons) or "no ablation of the page"
    elif d is None or d.delta is None or gate.served == "no" or d.harness_check:
        suggestion, why = "none", "; ".join(gate.reasons) or "no comparison"
    else:
        better = d.delta > 0 if gate.metric in HIGHER_IS_BETTER else d.delta < 0
        harm = d.regression or bool(regressions)
        if gate.passed:
            suggestion = "none" if accepted else "promote"
            why = (
                "accepted, and the gate passes: keep it"
                if accepted
                else f"the gate passes ({gate.basis}), no significant regression in "
                f"{len(gate.checks)} other outcome comparisons"
            )
        elif harm:
            suggestion = "demote" if accepted else "none"
            what = (
                f"the page makes {LABELS[gate.metric]} worse"
                if d.regression
                else f"{len(regressions)} significant regression(s) with the page"
            )
            why = f"harm: {what}" + ("" if accepted else " (a draft: nothing to promote)")
        elif better:
            suggestion = "retest"
            why = (
                f"underpowered: {repeats_needed_text(d)}"
                if d.underpowered
                else "not significant after Holm: more repeats, or fewer comparisons"
            )
        else:
            suggestion = "demote" if accepted else "none"
            direction = "0" if d.delta == 0 else "against the page"
            why = f"no effect: the observed delta is {direction}" + (
                "" if accepted else " (nothing to promote)"
            )
    r = d.result if d is not None else None
    return Candidate(
        page=gate.page,
        title=gate.title,
        status=gate.status,
        matrix=gate.matrix,
        suggestion=suggestion,
        why=why,
        metric=gate.metric,
        basis=gate.basis,
        baseline=gate.baseline,
        treatment=gate.treatment,
        fixtures=gate.fixtures,
        pairs=d.pairs if d is not None else 0,
        delta=r.delta if r else None,
        low=r.low if r else None,
        high=r.high if r else None,
        p_value=r.p_value if r else None,
        p_adjusted=r.p_adjusted if r else None,
        repeats_needed=gate.repeats_needed,
        regressions=regressions,
        reasons=gate.reasons,
    )
