import datetime as dt

import pytest

from experimentos.errors import AlreadyExists, IllegalTransition, NotFound, UnsafeId, UsageError
from experimentos.lab.experiments import (
    delete_experiment,
    describe_experiment,
    experiment_tree,
    list_experiments,
    new_experiment,
    parse_metric_value,
    read_experiment,
    set_experiment_metric,
    set_experiment_parent,
    set_experiment_status,
)
from experimentos.lab.runs import start_run
from experimentos.models.lab import ExperimentStatus
from experimentos.store.lab_paths import slugify

from .conftest import write_files

T0 = dt.datetime(2026, 4, 26, 10, 0, tzinfo=dt.UTC)


def test_slug_is_derived_from_the_name():
    assert slugify("Does the brief help OpenCode?") == "does-the-brief-help-opencode"
    assert slugify("  Café -- crème  ") == "cafe-creme"
    assert len(slugify("x" * 300)) == 120
    assert slugify("a" * 119 + " b") == "a" * 119  # no trailing '-' after the cut
    with pytest.raises(UsageError):
        slugify("!!!")


def test_new_experiment_writes_the_readme(empty_kb):
    record = new_experiment(
        empty_kb, "Brief helps OpenCode", "agent", hypothesis="Fewer failures", now=T0
    )
    assert record.path == "experiments/brief-helps-opencode/README.md"
    text = (empty_kb.root / record.path).read_text()
    assert text.startswith("---\nid: experiment.brief-helps-opencode\nname: Brief helps OpenCode\n")
    assert "created: 2026-04-26T10:00:00Z\n" in text
    assert "hypothesis: Fewer failures\n" in text
    again = read_experiment(empty_kb, "experiment.brief-helps-opencode")
    assert again.model == record.model
    assert again.raw == record.raw


def test_new_experiment_refuses_collisions_unknown_kinds_and_parents(empty_kb):
    new_experiment(empty_kb, "Alpha", "ml")
    with pytest.raises(AlreadyExists, match="experiment.alpha"):
        new_experiment(empty_kb, "ALPHA!", "rl")
    with pytest.raises(UsageError, match="unknown kind 'widget'.*ablation"):
        new_experiment(empty_kb, "Beta", "widget")
    with pytest.raises(NotFound, match="parent experiment 'nope' does not exist") as err:
        new_experiment(empty_kb, "Gamma", "ml", parent="nope")
    assert err.value.field == "parent"
    assert not (empty_kb.root / "experiments/gamma").exists()


def test_unsafe_refs_are_refused(empty_kb):
    for ref in ("../etc", "experiment.a/b", "a..b", "A", "experiment.a.b", ""):
        with pytest.raises(UnsafeId):
            read_experiment(empty_kb, ref)


def test_lifecycle_keeps_a_history_and_names_allowed_transitions(empty_kb):
    new_experiment(empty_kb, "Life", "research", now=T0)
    with pytest.raises(IllegalTransition, match="allowed: running") as err:
        set_experiment_status(empty_kb, "life", "interpreted")
    assert err.value.allowed == ["running"]
    steps = [("running", "go"), ("interpreted", "read"), ("running", "reopen"), ("interpreted", "")]
    for i, (status, note) in enumerate(steps):
        set_experiment_status(empty_kb, "life", status, note, now=T0 + dt.timedelta(hours=i))
    with pytest.raises(IllegalTransition, match="allowed: archived, running"):
        set_experiment_status(empty_kb, "life", "draft")
    archived = set_experiment_status(empty_kb, "life", "archived").model
    assert archived.status is ExperimentStatus.archived
    history = [(c.from_.value, c.to.value, c.note) for c in archived.status_history]
    assert history == [
        ("draft", "running", "go"),
        ("running", "interpreted", "read"),
        ("interpreted", "running", "reopen"),
        ("running", "interpreted", ""),
        ("interpreted", "archived", ""),
    ]
    for status in ("running", "draft", "archived"):
        with pytest.raises(IllegalTransition, match="final") as err:
            set_experiment_status(empty_kb, "life", status)
        assert err.value.allowed == []
    with pytest.raises(UsageError, match="unknown status 'done'"):
        set_experiment_status(empty_kb, "life", "done")
    # the file round-trips: the history parses back with its timestamps
    text = (empty_kb.root / "experiments/life/README.md").read_text()
    assert "- {from: draft, to: running, at: '2026-04-26T10:00:00Z', note: go}" in text
    assert read_experiment(empty_kb, "life").model.status_history[0].at == T0


def test_tree_and_parent_cycles(empty_kb):
    new_experiment(empty_kb, "Root", "research")
    new_experiment(empty_kb, "Child", "ablation", parent="root")
    new_experiment(empty_kb, "Grandchild", "sweep", parent="experiment.child")
    new_experiment(empty_kb, "Other", "ml")
    tree = experiment_tree(empty_kb)
    assert [n.id for n in tree.roots] == ["experiment.other", "experiment.root"]
    root = tree.roots[1]
    assert [c.id for c in root.children] == ["experiment.child"]
    assert [g.id for g in root.children[0].children] == ["experiment.grandchild"]

    with pytest.raises(UsageError, match="cycle") as err:
        set_experiment_parent(empty_kb, "root", "grandchild")
    assert err.value.field == "parent"
    assert "root -> experiment.grandchild -> experiment.child -> experiment.root" in str(err.value)
    with pytest.raises(UsageError, match="cycle"):
        set_experiment_parent(empty_kb, "root", "root")
    assert read_experiment(empty_kb, "root").model.parent is None  # nothing written

    set_experiment_parent(empty_kb, "other", "grandchild")
    assert read_experiment(empty_kb, "other").model.parent == "experiment.grandchild"
    set_experiment_parent(empty_kb, "other", None)
    assert read_experiment(empty_kb, "other").model.parent is None
    assert [e.id for e in list_experiments(empty_kb, parent="root")] == ["experiment.child"]
    assert [e.id for e in list_experiments(empty_kb, kind="sweep")] == ["experiment.grandchild"]


def test_tree_flags_hand_edited_cycles_and_missing_parents(empty_kb):
    def readme(slug, parent):
        return (
            f"---\nid: experiment.{slug}\nname: {slug}\nkind: ml\nparent: experiment.{parent}\n"
            "created: 2026-04-26T10:00:00Z\n---\n"
        )

    write_files(
        empty_kb.root,
        {
            "experiments/a/README.md": readme("a", "b"),
            "experiments/b/README.md": readme("b", "a"),
            "experiments/c/README.md": readme("c", "gone"),
        },
    )
    tree = experiment_tree(empty_kb)
    problems = {n.id: n.problem for n in tree.roots}
    assert problems["experiment.c"] == "parent experiment.gone does not exist"
    assert "cycle" in problems["experiment.a"]
    assert tree.roots[-1].children[0].id == "experiment.b"


def test_metrics_are_a_mapping(empty_kb):
    new_experiment(empty_kb, "M", "optimization")
    set_experiment_metric(empty_kb, "m", "success_rate", parse_metric_value("0.75"))
    set_experiment_metric(empty_kb, "m", "runs", parse_metric_value("12"))
    set_experiment_metric(empty_kb, "m", "ok", parse_metric_value("true"))
    set_experiment_metric(empty_kb, "m", "note", parse_metric_value("v1.10"))
    metrics = read_experiment(empty_kb, "m").model.metrics
    assert metrics == {"success_rate": 0.75, "runs": 12, "ok": True, "note": "v1.10"}
    assert type(metrics["runs"]) is int and type(metrics["ok"]) is bool
    set_experiment_metric(empty_kb, "m", "note", None)
    assert "note" not in read_experiment(empty_kb, "m").model.metrics
    with pytest.raises(NotFound):
        set_experiment_metric(empty_kb, "m", "note", None)
    with pytest.raises(UsageError, match="metric name") as err:
        set_experiment_metric(empty_kb, "m", "bad name!", 1)
    assert err.value.field == "name"
    with pytest.raises(UsageError, match="finite"):
        parse_metric_value("nan")


def test_delete_cascades_tests_and_refuses_runs_without_force(empty_kb):
    from experimentos.lab.assertions import create_test

    new_experiment(empty_kb, "Doomed", "bot")
    create_test(empty_kb, "doomed", "manual check", {"kind": "manual"})
    create_test(empty_kb, "doomed", "outcome", {"kind": "run_outcome"})
    result = delete_experiment(empty_kb, "doomed")
    assert result.tests == 2 and result.runs == 0
    assert "experiments/doomed/tests/manual-check.md" in result.removed
    assert not (empty_kb.root / "experiments/doomed").exists()

    new_experiment(empty_kb, "Busy", "bot")
    run = start_run(empty_kb, "busy", "task").model
    with pytest.raises(UsageError, match=f"1 run.*{run.id}.*--force"):
        delete_experiment(empty_kb, "busy")
    assert (empty_kb.root / "experiments/busy/README.md").is_file()
    assert delete_experiment(empty_kb, "busy", force=True).runs == 1
    assert not (empty_kb.root / "experiments/busy").exists()
    with pytest.raises(NotFound, match="experiment.busy"):
        delete_experiment(empty_kb, "busy")


def test_delete_refuses_while_children_exist(empty_kb):
    new_experiment(empty_kb, "Parent", "research")
    new_experiment(empty_kb, "Kid", "ml", parent="parent")
    with pytest.raises(UsageError, match="experiment.kid"):
        delete_experiment(empty_kb, "parent", force=True)
    assert (empty_kb.root / "experiments/parent/README.md").is_file()


def test_describe_counts_runs_and_tests(empty_kb):
    from experimentos.lab.assertions import create_test, evaluate_test
    from experimentos.lab.runs import finish_run

    new_experiment(empty_kb, "Counted", "agent")
    new_experiment(empty_kb, "Sub", "ablation", parent="counted")
    a = start_run(empty_kb, "counted", "one").model
    start_run(empty_kb, "counted", "two")
    finish_run(empty_kb, a.id, outcome="success")
    ok = create_test(empty_kb, "counted", "ok", {"kind": "run_outcome"}).model
    bad = create_test(empty_kb, "counted", "bad", {"kind": "run_outcome", "expected": "failure"})
    create_test(empty_kb, "counted", "later", {"kind": "manual"})
    evaluate_test(empty_kb, ok.id)
    evaluate_test(empty_kb, bad.model.id)
    summary = describe_experiment(empty_kb, "counted")
    assert summary.runs == 2
    assert summary.runs_by_status == {"running": 1, "finished": 1, "failed": 0, "aborted": 0}
    assert (summary.tests, summary.tests_passed, summary.tests_failed) == (3, 1, 1)
    assert summary.tests_unevaluated == 1
    assert summary.children == ["experiment.sub"]
