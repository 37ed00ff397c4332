"""Tests of an experiment: assertions, and their evaluation against runs and metrics.

Kinds: metric_threshold (a run metric, or an experiment aggregate metric, compared with a
value), run_outcome (a given run, or the latest ended one, ended with the expected outcome),
manual (a person's verdict with a rationale) and condition_delta (defined now, evaluable once
matrices exist). Evaluating records passed, details and the run used; when a test cannot be
evaluated (no ended run, a missing metric, no verdict yet), nothing is written and the reason
is returned: a verdict is never invented.
"""

from __future__ import annotations

import datetime as dt
import operator
from typing import Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from experimentos.errors import (
    AlreadyExists,
    InputErrors,
    NotFound,
    UsageError,
    article,
    from_validation,
    several,
)
from experimentos.knowledge.pages import default_reviewer
from experimentos.lab.experiments import read_experiment, utc_now
from experimentos.lab.runs.records import read_run
from experimentos.models.lab import (
    ASSERTION_KINDS,
    LATEST,
    Assertion,
    ConditionDelta,
    Experiment,
    ExperimentTest,
    ManualCheck,
    MetricThreshold,
    MetricValue,
    Operator,
    RunOutcome,
    RunOutcomeCheck,
    RunRecord,
    RunStatus,
)
from experimentos.store import Workspace
from experimentos.store.ids import suggest
from experimentos.store.lab_paths import assertion_path, make_test_id, slugify, split_test_id
from experimentos.store.lab_scan import scan_experiments, scan_runs, scan_tests
from experimentos.store.records import Record, load_record, save_record

_ASSERTION = TypeAdapter(Assertion)
_TYPE_TAGS = {"bool", "int", "float", "str"}
_OPS = {
    Operator.gt: operator.gt,
    Operator.ge: operator.ge,
    Operator.lt: operator.lt,
    Operator.le: operator.le,
    Operator.eq: operator.eq,
    Operator.ne: operator.ne,
}


class Evaluation(BaseModel):
    """The result of evaluating one test; `evaluated` False means nothing was recorded."""

    id: str
    kind: str
    evaluated: bool
    passed: bool | None = None
    details: str
    run_ref: str | None = None
    evaluated_at: dt.datetime | None = None


def parse_assertion(data: dict) -> Assertion:
    """An assertion from its kind and parameters; UsageError naming the bad field."""
    kind = data.get("kind")
    if kind not in ASSERTION_KINDS:
        names = ", ".join(ASSERTION_KINDS)
        raise UsageError(f"unknown test kind {kind!r} (expected one of: {names})", field="kind")
    try:
        return _ASSERTION.validate_python(data)
    except ValidationError as exc:

        def loc(err: dict) -> list[str]:
            parts = []
            for part in err["loc"][1:]:  # [0] is the kind (the union's tag)
                if isinstance(part, str) and ("[" in part or part in _TYPE_TAGS):
                    break  # the member of a union that failed, not a field
                parts.append(str(part))
            return parts

        error = from_validation(exc, prefix=["assertion"], loc=loc, what=f"{kind}: ")
        for one in error.errors if isinstance(error, InputErrors) else [error]:
            if one.message == f"{kind}: unknown field":
                one.message = f"{kind}: not a parameter of this kind"
        raise (several(error.errors) if isinstance(error, InputErrors) else error) from None


def read_test(workspace: Workspace, test_id: str) -> Record[ExperimentTest]:
    """The test with this id (UnsafeId, NotFound naming it, InvalidPage)."""
    experiment, test = split_test_id(test_id)
    rel = assertion_path(experiment, test).as_posix()
    try:
        record = load_record(workspace.root, rel, ExperimentTest)
    except NotFound:
        hint = suggest(workspace.root, "test", test_id)
        raise NotFound(f"no test {test_id!r}{hint}", path=rel) from None
    if record.model.id != test_id:
        raise UsageError(f"id {record.model.id!r} does not match its path", path=rel, field="id")
    return record


def create_test(
    workspace: Workspace,
    experiment: str,
    name: str,
    assertion: dict | Assertion,
    description: str = "",
) -> Record[ExperimentTest]:
    """Create experiments/<slug>/tests/<test>.md (not yet evaluated); the slug comes from name."""
    exp = read_experiment(workspace, experiment).model
    if not name.strip():
        raise UsageError("a test needs a non-empty name", field="name")
    spec = parse_assertion(assertion if isinstance(assertion, dict) else assertion.model_dump())
    run = getattr(spec, "run", None)
    if run not in (None, LATEST):
        _run_of(workspace, exp, run)  # a named run must exist and belong to the experiment
    slug = slugify(name)
    rel = assertion_path(exp.slug, slug).as_posix()
    test_id = make_test_id(exp.slug, slug)
    if (workspace.root / rel).exists():
        raise AlreadyExists(f"test {test_id!r} already exists", path=rel)
    test = ExperimentTest(id=test_id, name=name.strip(), assertion=spec, body=description.strip())
    return save_record(workspace.root, rel, test)


Verdict = Literal["passed", "failed", "unset"]


def list_tests(
    workspace: Workspace,
    experiment: str | None = None,
    verdict: Verdict | None = None,
    kind: str | None = None,
) -> list[ExperimentTest]:
    """Tests that parse, by id; optionally of one experiment, one verdict and one kind."""
    if kind is not None and kind not in ASSERTION_KINDS:
        names = ", ".join(ASSERTION_KINDS)
        raise UsageError(f"unknown test kind {kind!r} (expected one of: {names})", field="kind")
    wanted = {"passed": True, "failed": False, "unset": None}
    if verdict is not None and verdict not in wanted:
        raise UsageError(f"unknown verdict {verdict!r} (passed, failed or unset)", field="passed")
    if experiment:
        slugs = [read_experiment(workspace, experiment).model.slug]
    else:
        slugs = [r.model.slug for r in scan_experiments(workspace.root).records]
    tests = [t.model for slug in slugs for t in scan_tests(workspace.root, slug).records]
    return sorted(
        (
            t
            for t in tests
            if (verdict is None or t.passed is wanted[verdict])
            and (kind is None or t.assertion.kind == kind)
        ),
        key=lambda t: t.id,
    )


# --- evaluation ------------------------------------------------------------------------------


class _NotEvaluable(Exception):
    """Why a test cannot be evaluated now (nothing is recorded)."""


def _run_of(workspace: Workspace, exp: Experiment, run_id: str) -> RunRecord:
    run = read_run(workspace, run_id).model
    if run.experiment != exp.id:
        raise UsageError(f"{run_id} belongs to {run.experiment}, not {exp.id}", field="run")
    return run


def _selected_run(workspace: Workspace, exp: Experiment, selector: str) -> RunRecord:
    if selector != LATEST:
        run = _run_of(workspace, exp, selector)
        if run.status is RunStatus.running:
            raise _NotEvaluable(f"{run.id} is still running")
        return run
    ended = [r.model for r in scan_runs(workspace.root, exp.slug).records if r.model.ended]
    if not ended:
        raise _NotEvaluable(f"{exp.id} has no ended run yet")
    return max(ended, key=lambda r: (r.ended, r.started, r.id))


def _number(value: MetricValue, what: str) -> float:
    if isinstance(value, str):
        raise _NotEvaluable(f"{what} is text ({value!r}), not a number")
    return float(value)


def aggregate_metrics(workspace: Workspace, exp: Experiment) -> dict[str, MetricValue]:
    """An experiment's aggregate metrics: those set on it, over derived ones from ended runs.

    Derived: runs_ended, success_rate (share of ended runs with outcome success), and
    mean_<name> for every numeric run metric.
    """
    ended = [r.model for r in scan_runs(workspace.root, exp.slug).records if r.model.ended]
    derived: dict[str, MetricValue] = {"runs_ended": len(ended)}
    if ended:
        wins = sum(1 for r in ended if r.outcome is RunOutcome.success)
        derived["success_rate"] = wins / len(ended)
        names = sorted({k for r in ended for k, v in r.metrics.items() if not isinstance(v, str)})
        for name in names:
            values = [
                float(r.metrics[name])
                for r in ended
                if not isinstance(r.metrics.get(name, ""), str)
            ]
            derived[f"mean_{name}"] = sum(values) / len(values)
    return {**derived, **exp.metrics}


def _metric_threshold(
    workspace: Workspace, exp: Experiment, spec: MetricThreshold
) -> tuple[bool, str, str | None]:
    if spec.scope == "experiment":
        metrics = aggregate_metrics(workspace, exp)
        ended = metrics["runs_ended"]
        origin = (
            " (set on the experiment)"
            if spec.metric in exp.metrics
            else f" (derived from {ended} ended run{'s' if ended != 1 else ''})"
        )
        where, run_ref = f"{exp.id} aggregate metric {spec.metric}", None
    else:
        run = _selected_run(workspace, exp, spec.run or LATEST)
        metrics, origin = run.metrics, ""
        where, run_ref = f"{run.id} metric {spec.metric}", run.id
    if spec.metric not in metrics:
        known = ", ".join(sorted(metrics)) or "none"
        raise _NotEvaluable(f"{where} does not exist (metrics: {known})")
    actual = _number(metrics[spec.metric], where)
    passed = _OPS[spec.op](actual, float(spec.value))
    details = (
        f"{where} = {metrics[spec.metric]!r}{origin}; {spec.op.value} {spec.value!r}: "
        f"{'holds' if passed else 'does not hold'}"
    )
    return passed, details, run_ref


def _run_outcome(
    workspace: Workspace, exp: Experiment, spec: RunOutcomeCheck
) -> tuple[bool, str, str]:
    run = _selected_run(workspace, exp, spec.run)
    got = run.outcome.value if run.outcome else "no outcome"
    passed = run.outcome is spec.expected
    details = f"{run.id} ended {run.status.value} with {got}; expected {spec.expected.value}" + (
        " (the latest ended run)" if spec.run == LATEST else ""
    )
    return passed, details, run.id


def evaluate_test(
    workspace: Workspace,
    test_id: str,
    verdict: bool | None = None,
    rationale: str = "",
    reviewer: str | None = None,
    now: dt.datetime | None = None,
) -> Evaluation:
    """Evaluate one test and record the verdict; a manual test takes `verdict` + `rationale`."""
    record = read_test(workspace, test_id)
    test = record.model
    spec = test.assertion
    exp = read_experiment(workspace, test.experiment_slug).model
    if verdict is not None and not isinstance(spec, ManualCheck):
        raise UsageError(
            f"{test_id} is {article(spec.kind)} {spec.kind} test; only manual tests take a verdict"
        )
    run_ref: str | None = None
    try:
        if isinstance(spec, MetricThreshold):
            passed, details, run_ref = _metric_threshold(workspace, exp, spec)
        elif isinstance(spec, RunOutcomeCheck):
            passed, details, run_ref = _run_outcome(workspace, exp, spec)
        elif isinstance(spec, ConditionDelta):
            raise _NotEvaluable(
                f"condition_delta is not evaluable until matrices exist ({spec.metric}: "
                f"{spec.treatment} - {spec.baseline} {spec.op.value} {spec.value}); "
                "passed is left unset"
            )
        else:
            if verdict is None:
                raise _NotEvaluable("a manual test needs a verdict (pass or fail) and a rationale")
            if not rationale.strip():
                raise UsageError("a manual verdict needs a rationale", field="rationale")
            passed = verdict
            who = reviewer or default_reviewer()
            details = f"manual verdict by {who}: {rationale.strip()}"
    except _NotEvaluable as reason:
        return Evaluation(id=test.id, kind=spec.kind, evaluated=False, details=str(reason))
    at = now or utc_now()
    changed = test.model_copy(
        update={"passed": passed, "details": details, "run_ref": run_ref, "evaluated_at": at}
    )
    save_record(workspace.root, record.path, changed, like=record)
    return Evaluation(
        id=test.id,
        kind=spec.kind,
        evaluated=True,
        passed=passed,
        details=details,
        run_ref=run_ref,
        evaluated_at=at,
    )


def evaluate_tests(
    workspace: Workspace, experiment: str, now: dt.datetime | None = None
) -> list[Evaluation]:
    """Evaluate every test of an experiment (manual ones report that they need a verdict)."""
    exp = read_experiment(workspace, experiment).model
    return [
        evaluate_test(workspace, t.model.id, now=now)
        for t in scan_tests(workspace.root, exp.slug).records
    ]
