"""A matrix's results as a small structured answer (the MCP tool `get_matrix_results`).

An agent reading what was measured needs the headline numbers, not the whole report: per
condition x agent the pass and clean-pass rates with their intervals, each condition's paired
delta against the baseline on those two metrics, and the page attributions.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from experimentos.reports.analysis import Delta
from experimentos.reports.build import results_for
from experimentos.reports.results import MatrixResults
from experimentos.stats import Rate

ANSWER_METRICS = ("pass", "clean_pass")


class RateAnswer(BaseModel):
    rate: float | None
    low: float | None
    high: float | None
    k: int
    n: int


class GroupAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    condition: str
    agent: str | None  # None: all agents
    runs: int
    pass_: RateAnswer = Field(alias="pass")
    clean_pass: RateAnswer


class DeltaAnswer(BaseModel):
    metric: str
    baseline: str
    treatment: str
    agent: str | None
    pairs: int
    delta: float | None
    low: float | None
    high: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool
    underpowered: bool
    repeats_needed: int | None
    verdict: str
    harness_check: bool = False  # scripted decisions: no significance verdict


class AttributionAnswer(BaseModel):
    page: str
    sentence: str
    result: DeltaAnswer


class MatrixAnswer(BaseModel):
    matrix: str
    experiment: str
    report_path: str
    label: str = Field(
        description="What the numbers are evidence of: agents, harness check (a script made "
        "the decisions: not evidence about agents), mixed or unknown."
    )
    conditions: list[str]
    baseline: str
    agents: list[str]
    fixtures: list[str]
    runs_counted: int
    runs_excluded: int
    runs_missing: int
    groups: list[GroupAnswer]
    deltas: list[DeltaAnswer]
    attributions: list[AttributionAnswer]


def _rate(rate: Rate) -> RateAnswer:
    return RateAnswer(rate=rate.p, low=rate.low, high=rate.high, k=rate.k, n=rate.n)


def _delta(d: Delta) -> DeltaAnswer:
    r = d.result
    return DeltaAnswer(
        metric=d.metric,
        baseline=d.baseline,
        treatment=d.treatment,
        agent=d.agent,
        pairs=d.pairs,
        delta=r.delta,
        low=r.low,
        high=r.high,
        p_value=r.p_value,
        p_adjusted=r.p_adjusted,
        significant=d.significant,
        underpowered=r.underpowered,
        repeats_needed=d.repeats_needed,
        verdict=d.verdict,
        harness_check=d.harness_check,
    )


def answer(results: MatrixResults) -> MatrixAnswer:
    return MatrixAnswer(
        matrix=results.matrix_id,
        experiment=results.experiment,
        report_path=results.report_path,
        label=results.label,
        conditions=results.conditions,
        baseline=results.baseline,
        agents=[a.name for a in results.agents],
        fixtures=list(results.fixtures),
        runs_counted=results.runs.counted,
        runs_excluded=len(results.runs.excluded),
        runs_missing=len(results.runs.missing),
        groups=[
            GroupAnswer(
                condition=g.condition,
                agent=g.agent,
                runs=g.runs,
                pass_=_rate(g.rates["pass"]),
                clean_pass=_rate(g.rates["clean_pass"]),
            )
            for g in results.groups
        ],
        deltas=[_delta(d) for d in results.deltas if d.metric in ANSWER_METRICS],
        attributions=[
            AttributionAnswer(page=a.page, sentence=a.sentence, result=_delta(a.delta))
            for a in results.attributions
        ],
    )


def matrix_answer(root: Path, matrix: str) -> MatrixAnswer:
    """The answer for `<matrix-id>` or `<experiment>/<matrix-id>` in the working tree."""
    return answer(results_for(root, matrix))
