import datetime as dt

import pytest

from experimentos.errors import AlreadyExists, NotFound, UnsafeId, UsageError
from experimentos.lab.assertions import (
    aggregate_metrics,
    create_test,
    evaluate_test,
    evaluate_tests,
    list_tests,
    read_test,
)
from experimentos.lab.experiments import new_experiment, read_experiment, set_experiment_metric
from experimentos.lab.runs import append_event, finish_run, start_run

T0 = dt.datetime(2026, 4, 26, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def lab(empty_kb):
    new_experiment(empty_kb, "Lab", "agent")
    return empty_kb


def _finished_run(ws, outcome, edits, at, tests_pass=True, experiment="lab"):
    run = start_run(ws, experiment, "task", now=at).model
    for n in range(edits):
        append_event(ws, run.id, "file_edited", {"path": f"f{n}.py"})
    append_event(ws, run.id, "test_run", {"passed": tests_pass})
    finish_run(ws, run.id, outcome=outcome, now=at + dt.timedelta(minutes=5))
    return run.id


def _file(ws, record):
    return (ws.root / record.path).read_text()


def test_create_writes_an_unevaluated_test(lab):
    record = create_test(
        lab,
        "lab",
        "Few files edited",
        {"kind": "metric_threshold", "metric": "files_edited", "op": "<=", "value": 3},
        description="Small diffs only.",
    )
    assert record.path == "experiments/lab/tests/few-files-edited.md"
    assert record.model.id == "test.lab.few-files-edited"
    text = _file(lab, record)
    assert "passed: null\n" in text and "runRef: null\n" in text and "evaluatedAt: null\n" in text
    assert "  kind: metric_threshold\n  metric: files_edited\n  op: <=\n  value: 3\n" in text
    assert text.endswith("\nSmall diffs only.\n")
    assert read_test(lab, record.model.id).model == record.model
    with pytest.raises(AlreadyExists, match="test.lab.few-files-edited"):
        create_test(lab, "lab", "few files edited", {"kind": "manual"})


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "metric_threshold", "op": ">", "value": 1}, "assertion.metric"),
        ({"kind": "metric_threshold", "metric": "m", "op": "~", "value": 1}, "assertion.op"),
        ({"kind": "metric_threshold", "metric": "m", "op": ">", "value": "x"}, "assertion.value"),
        (
            {"kind": "metric_threshold", "metric": "m", "op": ">", "value": 1, "scope": "world"},
            "assertion.scope",
        ),
        (
            {
                "kind": "metric_threshold",
                "metric": "m",
                "op": ">",
                "value": 1,
                "scope": "experiment",
                "run": "latest",
            },
            "assertion",
        ),
        ({"kind": "run_outcome", "expected": "victory"}, "assertion.expected"),
        ({"kind": "run_outcome", "run": "../x"}, "assertion.run"),
        ({"kind": "manual", "metric": "m"}, "assertion.metric"),
        ({"kind": "condition_delta", "metric": "m", "baseline": "a"}, "assertion.treatment"),
        ({"kind": "vibes"}, "kind"),
    ],
)
def test_bad_assertions_are_refused_naming_the_field(lab, spec, field):
    with pytest.raises(UsageError) as err:
        create_test(lab, "lab", "t", spec)
    assert err.value.field == field
    assert not (lab.root / "experiments/lab/tests/t.md").exists()


def test_create_refuses_unknown_experiments_and_foreign_runs(lab):
    with pytest.raises(NotFound, match="experiment.ghost"):
        create_test(lab, "ghost", "t", {"kind": "manual"})
    new_experiment(lab, "Other", "ml")
    foreign = start_run(lab, "other", "t").model.id
    with pytest.raises(UsageError, match="belongs to experiment.other"):
        create_test(lab, "lab", "t", {"kind": "run_outcome", "run": foreign})
    with pytest.raises(NotFound):
        create_test(lab, "lab", "t", {"kind": "run_outcome", "run": "run.nope"})
    for bad in ("test.lab", "test.lab.a.b", "test.../x.y", "lab.t"):
        with pytest.raises(UnsafeId):
            read_test(lab, bad)


def test_metric_threshold_on_a_run_metric(lab):
    first = _finished_run(lab, "success", 2, T0)
    latest = _finished_run(lab, "failure", 5, T0 + dt.timedelta(hours=1))
    small = create_test(
        lab,
        "lab",
        "small",
        {"kind": "metric_threshold", "metric": "files_edited", "op": "<=", "value": 3},
    ).model
    result = evaluate_test(lab, small.id, now=T0)
    assert result.evaluated and result.passed is False and result.run_ref == latest
    assert f"{latest} metric files_edited = 5" in result.details and "<= 3" in result.details
    pinned = create_test(
        lab,
        "lab",
        "pinned",
        {
            "kind": "metric_threshold",
            "metric": "files_edited",
            "op": "<=",
            "value": 3,
            "run": first,
        },
    ).model
    result = evaluate_test(lab, pinned.id, now=T0)
    assert result.passed is True and result.run_ref == first
    stored = read_test(lab, pinned.id).model
    assert (stored.passed, stored.run_ref, stored.evaluated_at) == (True, first, T0)
    assert stored.details == result.details
    boolean = create_test(
        lab,
        "lab",
        "green",
        {"kind": "metric_threshold", "metric": "tests_passing_at_end", "op": "==", "value": True},
    ).model
    assert evaluate_test(lab, boolean.id).passed is True


def test_metric_threshold_without_a_run_or_metric_is_not_evaluated(lab):
    spec = {"kind": "metric_threshold", "metric": "files_edited", "op": ">", "value": 0}
    test = create_test(lab, "lab", "t", spec).model
    start_run(lab, "lab", "still running")
    result = evaluate_test(lab, test.id)
    assert (result.evaluated, result.passed) == (False, None)
    assert "no ended run" in result.details
    _finished_run(lab, "success", 1, T0)
    missing = create_test(lab, "lab", "m", {**spec, "metric": "tokens"}).model
    result = evaluate_test(lab, missing.id)
    assert not result.evaluated and "tokens does not exist" in result.details
    assert read_test(lab, missing.id).model.passed is None  # nothing recorded


def test_metric_threshold_on_experiment_aggregate_metrics(lab):
    _finished_run(lab, "success", 1, T0)
    _finished_run(lab, "success", 3, T0 + dt.timedelta(hours=1))
    _finished_run(lab, "failure", 2, T0 + dt.timedelta(hours=2), tests_pass=False)
    exp = read_experiment(lab, "lab").model
    derived = aggregate_metrics(lab, exp)
    assert derived["runs_ended"] == 3
    assert derived["success_rate"] == pytest.approx(2 / 3)
    assert derived["mean_files_edited"] == pytest.approx(2.0)
    assert derived["mean_tests_passing_at_end"] == pytest.approx(2 / 3)

    rate = create_test(
        lab,
        "lab",
        "rate",
        {
            "kind": "metric_threshold",
            "metric": "success_rate",
            "op": ">=",
            "value": 0.7,
            "scope": "experiment",
        },
    ).model
    result = evaluate_test(lab, rate.id)
    assert result.passed is False and result.run_ref is None
    assert "derived from 3 ended runs)" in result.details

    set_experiment_metric(lab, "lab", "success_rate", 0.8)  # set on the experiment: it wins
    result = evaluate_test(lab, rate.id)
    assert result.passed is True and "set on the experiment" in result.details
    set_experiment_metric(lab, "lab", "label", "good")
    text = create_test(
        lab,
        "lab",
        "label",
        {
            "kind": "metric_threshold",
            "metric": "label",
            "op": "==",
            "value": 1,
            "scope": "experiment",
        },
    ).model
    result = evaluate_test(lab, text.id)
    assert not result.evaluated and "not a number" in result.details


def test_run_outcome_given_run_and_latest(lab):
    good = _finished_run(lab, "success", 1, T0)
    bad = _finished_run(lab, "failure", 1, T0 + dt.timedelta(hours=1))
    latest = create_test(lab, "lab", "latest", {"kind": "run_outcome"}).model
    result = evaluate_test(lab, latest.id)
    assert result.passed is False and result.run_ref == bad
    assert "ended finished with failure; expected success (the latest ended run)" in result.details
    given = create_test(lab, "lab", "given", {"kind": "run_outcome", "run": good}).model
    assert evaluate_test(lab, given.id).passed is True
    expect_fail = create_test(
        lab, "lab", "fail", {"kind": "run_outcome", "run": bad, "expected": "failure"}
    ).model
    assert evaluate_test(lab, expect_fail.id).passed is True
    running = start_run(lab, "lab", "t").model.id
    pending = create_test(lab, "lab", "pending", {"kind": "run_outcome", "run": running}).model
    result = evaluate_test(lab, pending.id)
    assert not result.evaluated and "still running" in result.details
    finish_run(lab, running, status="aborted")
    result = evaluate_test(lab, pending.id)
    assert result.passed is False and "aborted with no outcome" in result.details


def test_manual_verdicts_need_a_rationale(lab):
    test = create_test(
        lab, "lab", "readable", {"kind": "manual", "question": "Is it readable?"}
    ).model
    result = evaluate_test(lab, test.id)
    assert not result.evaluated and "verdict" in result.details
    with pytest.raises(UsageError, match="rationale"):
        evaluate_test(lab, test.id, verdict=True)
    result = evaluate_test(
        lab, test.id, verdict=False, rationale="too clever", reviewer="ana", now=T0
    )
    assert result.passed is False and result.details == "manual verdict by ana: too clever"
    stored = read_test(lab, test.id).model
    assert stored.passed is False and stored.evaluated_at == T0 and stored.run_ref is None
    other = create_test(lab, "lab", "auto", {"kind": "run_outcome"}).model
    with pytest.raises(UsageError, match="only manual tests"):
        evaluate_test(lab, other.id, verdict=True, rationale="r")


def test_condition_delta_is_defined_but_not_evaluable_yet(lab):
    _finished_run(lab, "success", 1, T0)
    test = create_test(
        lab,
        "lab",
        "brief helps",
        {
            "kind": "condition_delta",
            "metric": "success_rate",
            "baseline": "none",
            "treatment": "brief",
            "value": 0.2,
        },
    ).model
    before = (lab.root / "experiments/lab/tests/brief-helps.md").read_bytes()
    result = evaluate_test(lab, test.id)
    assert (result.evaluated, result.passed) == (False, None)
    assert "not evaluable until matrices exist" in result.details
    assert (lab.root / "experiments/lab/tests/brief-helps.md").read_bytes() == before


def test_evaluate_all_and_list_filters(lab):
    _finished_run(lab, "success", 1, T0)
    create_test(lab, "lab", "ok", {"kind": "run_outcome"})
    create_test(lab, "lab", "nope", {"kind": "run_outcome", "expected": "partial"})
    create_test(lab, "lab", "human", {"kind": "manual"})
    results = {r.id: r for r in evaluate_tests(lab, "lab")}
    assert results["test.lab.ok"].passed is True
    assert results["test.lab.nope"].passed is False
    assert not results["test.lab.human"].evaluated
    assert [t.id for t in list_tests(lab, verdict="passed")] == ["test.lab.ok"]
    assert [t.id for t in list_tests(lab, verdict="failed")] == ["test.lab.nope"]
    assert [t.id for t in list_tests(lab, verdict="unset")] == ["test.lab.human"]
    assert [t.id for t in list_tests(lab, kind="manual")] == ["test.lab.human"]
    assert len(list_tests(lab, experiment="lab")) == 3
    with pytest.raises(UsageError):
        list_tests(lab, kind="vibes")
