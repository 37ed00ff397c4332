import datetime as dt

import pytest

from experimentos.errors import AlreadyExists, NotFound, UnsafeId, UsageError
from experimentos.lab.experiments import new_experiment, set_experiment_status
from experimentos.lab.runs import (
    append_event,
    finish_run,
    list_runs,
    next_required_action,
    read_events,
    read_run,
    start_run,
    validate_completion,
)
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import git

T0 = dt.datetime(2026, 4, 26, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def lab(empty_kb):
    new_experiment(empty_kb, "Lab", "agent")
    return empty_kb


def _events(ws, run_id, *events):
    for item in events:
        event_type, payload, *rest = item
        append_event(ws, run_id, event_type, payload, source=rest[0] if rest else "agent")


def test_start_records_the_run_and_the_knowledge_commit(tmp_repo):
    root = tmp_repo({"README.md": "kb\n"})
    init_workspace(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    head = git(root, "rev-parse", "HEAD").strip()
    ws = Workspace(root)
    new_experiment(ws, "Git lab", "agent")
    record = start_run(
        ws,
        "git-lab",
        " fix the migration ",
        agent="opencode",
        model="gemma",
        toolchain="shell",
        condition="brief",
        brief="brief.abc",
        now=T0,
    )
    run = record.model
    assert run.id.startswith("run.20260426-100000-")
    assert record.path == f"experiments/git-lab/runs/{run.id}.md"
    assert run.knowledge_commit == head
    assert (run.task, run.agent, run.condition, run.brief) == (
        "fix the migration",
        "opencode",
        "brief",
        "brief.abc",
    )
    assert run.status.value == "running" and run.ended is None and run.outcome is None
    text = (root / record.path).read_text()
    assert f"knowledgeCommit: {head}\n" in text and "started: 2026-04-26T10:00:00Z\n" in text
    assert read_run(ws, run.id).model == run


def test_outside_git_the_knowledge_commit_is_null(lab):
    assert start_run(lab, "lab", "t").model.knowledge_commit is None


def test_start_refuses_without_an_experiment(empty_kb):
    with pytest.raises(NotFound, match="no experiment 'experiment.ghost'"):
        start_run(empty_kb, "ghost", "task")
    assert not (empty_kb.root / "experiments/ghost").exists()


def test_start_refuses_archived_experiments_bad_ids_and_duplicates(lab):
    with pytest.raises(UsageError, match="task"):
        start_run(lab, "lab", "  ")
    for bad in ("run/../x", "run.", "run.a..b", "x.abc", "run.A"):
        with pytest.raises(UnsafeId):
            start_run(lab, "lab", "t", run_id=bad)
    start_run(lab, "lab", "t", run_id="run.fixed-1")
    new_experiment(lab, "Other", "ml")
    with pytest.raises(AlreadyExists, match="run.fixed-1"):
        start_run(lab, "other", "t", run_id="run.fixed-1")
    for status in ("running", "interpreted", "archived"):
        set_experiment_status(lab, "other", status)
    with pytest.raises(UsageError, match="archived"):
        start_run(lab, "other", "t")


def test_finish_computes_metrics_from_events(lab):
    run = start_run(lab, "lab", "t", now=T0).model
    _events(
        lab,
        run.id,
        ("brief_loaded", {"brief_id": "brief.1", "page_ids": ["policy.keep-pins"]}),
        ("dependency_resolved", {"page_ids": ["failure.upgrade"]}),
        ("file_inspected", {"path": "src/a.py"}),
        ("decision_recorded", {"decision": "keep the pin", "page_ids": ["policy.keep-pins"]}),
        ("file_edited", {"path": "src/a.py"}),
        ("test_run", {"passed": False, "failed": 2, "total": 10}),
        ("file_edited", {"path": "src/a.py"}),
        ("file_edited", {"path": "src/b.py"}),
        ("test_run", {"passed": False}),
        ("test_run", {"passed": True, "command": "pytest"}),
        ("final_answer", {"text": "fixed"}),
    )
    record = finish_run(
        lab,
        run.id,
        outcome="success",
        summary="Kept the pin; fixed the test.",
        metrics={"oracle_passed": True},
        now=T0 + dt.timedelta(seconds=90),
    )
    done = record.model
    assert done.status.value == "finished" and done.outcome.value == "success"
    assert done.ended == T0 + dt.timedelta(seconds=90)
    assert done.body == "Kept the pin; fixed the test.\n"
    m = done.metrics
    assert m["events"] == 11 and m["evidence"] == "agent"
    assert m["prework_before_first_edit"] is True
    assert m["dependencies_before_first_edit"] is True
    assert m["decision_recorded"] is True and m["final_answer_recorded"] is True
    assert m["tests_run"] == 3 and m["test_failures_before_pass"] == 2
    assert m["tests_passing_at_end"] is True
    assert m["files_edited"] == 2
    assert m["duration_seconds"] == 90.0 and m["oracle_passed"] is True
    assert read_run(lab, run.id).model.metrics == m  # as written


def test_finish_is_refused_twice_and_checks_its_inputs(lab):
    run = start_run(lab, "lab", "t").model
    with pytest.raises(UsageError, match="finished, failed, aborted"):
        finish_run(lab, run.id, status="running")
    with pytest.raises(UsageError, match="unknown outcome 'great'"):
        finish_run(lab, run.id, outcome="great")
    with pytest.raises(UsageError, match="files_edited"):
        finish_run(lab, run.id, metrics={"files_edited": 0})
    finish_run(lab, run.id, status="aborted")
    with pytest.raises(UsageError, match="already ended \\(aborted\\)"):
        finish_run(lab, run.id)
    # an ended run takes no more agent events; the server's own log is still kept
    with pytest.raises(UsageError, match="aborted"):
        append_event(lab, run.id, "file_edited", {"path": "a"})
    append_event(lab, run.id, "mcp_tool_called", {"tool": "get_page"}, source="server")
    assert [e.type for e in read_events(lab, run.id).events] == ["mcp_tool_called"]


def test_metrics_of_a_run_that_edited_first(lab):
    run = start_run(lab, "lab", "t").model
    _events(
        lab,
        run.id,
        ("file_edited", {"path": "a.py"}),
        ("brief_loaded", {"brief_id": "b"}),
        ("dependency_resolved", {"page_ids": ["policy.p"]}),
        ("test_run", {"passed": False}),
    )
    m = finish_run(lab, run.id, status="failed").model.metrics
    assert m["prework"] is True and m["prework_before_first_edit"] is False
    assert m["dependencies_before_first_edit"] is False
    assert m["tests_passing_at_end"] is False and m["test_failures_before_pass"] == 1
    assert m["decision_recorded"] is False and m["final_answer_recorded"] is False


def test_server_recorded_events_are_preferred_for_protocol_metrics(lab):
    # The agent claims a brief, but the server's own log shows no pre-work tool call.
    claimed = start_run(lab, "lab", "t").model
    _events(
        lab,
        claimed.id,
        ("mcp_tool_called", {"tool": "search_knowledge", "arguments": {"q": "x"}}, "server"),
        ("brief_loaded", {"brief_id": "b"}),
        ("mcp_tool_called", {"tool": "get_work_brief"}),  # agent-reported: not ground truth
        ("dependency_resolved", {"page_ids": ["policy.p"]}),
        ("file_edited", {"path": "a.py"}),
    )
    m = finish_run(lab, claimed.id).model.metrics
    assert m["evidence"] == "server" and m["mcp_tool_calls"] == 1
    assert m["prework"] is False and m["prework_before_first_edit"] is False
    assert m["dependencies_before_first_edit"] is False

    # The server recorded the pre-work and dependency calls before the first edit.
    honest = start_run(lab, "lab", "t").model
    _events(
        lab,
        honest.id,
        ("mcp_tool_called", {"tool": "start_pre_work_protocol", "ok": True}, "server"),
        ("mcp_tool_called", {"tool": "resolve_dependencies", "ok": False}, "server"),
        ("mcp_tool_called", {"tool": "resolve_dependencies"}, "server"),
        ("file_edited", {"path": "a.py"}),
    )
    m = finish_run(lab, honest.id).model.metrics
    assert m["prework_before_first_edit"] is True
    assert m["dependencies_before_first_edit"] is True
    assert m["mcp_tool_calls"] == 3

    # Without any server event, the agent's own events are the evidence.
    agent_only = start_run(lab, "lab", "t").model
    _events(lab, agent_only.id, ("mcp_tool_called", {"tool": "get_work_brief"}))
    assert finish_run(lab, agent_only.id).model.metrics["prework"] is True


def test_completion_contract_lists_violations_and_the_next_action(lab):
    run = start_run(lab, "lab", "t").model
    report = validate_completion(lab, run.id)
    assert not report.complete
    assert [v.step for v in report.violations] == [
        "pre_work",
        "dependencies",
        "decision",
        "tests_run",
        "tests_passing",
        "final_answer",
    ]
    action = next_required_action(lab, run.id)
    assert (action.done, action.step) == (False, "pre_work")
    assert "start_pre_work_protocol" in action.action and "no brief" in action.why

    plan = [
        (("brief_loaded", {"brief_id": "b"}), "dependencies"),
        (("dependency_resolved", {"page_ids": ["policy.p"]}), "decision"),
        (("decision_recorded", {"decision": "d"}), "tests_run"),
        (("test_run", {"passed": False}), "tests_passing"),
        (("test_run", {"passed": True}), "final_answer"),
        (("final_answer", {"text": "done"}), None),
    ]
    for event, expected_next in plan:
        _events(lab, run.id, event)
        action = next_required_action(lab, run.id)
        assert action.step == expected_next, event
    assert action.done and action.action is None
    assert validate_completion(lab, run.id).complete


def test_failing_last_test_run_asks_for_a_fix(lab):
    run = start_run(lab, "lab", "t").model
    _events(
        lab,
        run.id,
        ("brief_loaded", {"brief_id": "b"}),
        ("dependency_resolved", {"page_ids": ["policy.p"]}),
        ("decision_recorded", {"decision": "d"}),
        ("test_run", {"passed": True}),
        ("test_run", {"passed": False}),
    )
    action = next_required_action(lab, run.id)
    assert action.step == "tests_passing" and "fix the failure" in action.action
    assert "step 5" in action.why


def test_ordering_violations_are_reported_but_do_not_block(lab):
    run = start_run(lab, "lab", "t").model
    _events(
        lab,
        run.id,
        ("file_edited", {"path": "a.py"}),
        ("brief_loaded", {"brief_id": "b"}),
        ("dependency_resolved", {"page_ids": ["policy.p"]}),
        ("decision_recorded", {"decision": "d"}),
        ("test_run", {"passed": True}),
        ("final_answer", {"text": "t"}),
    )
    report = validate_completion(lab, run.id)
    assert not report.complete
    assert [
        (v.step, "after the first file edit at step 1" in v.message) for v in report.violations
    ] == [
        ("pre_work", True),
        ("dependencies", True),
    ]
    action = next_required_action(lab, run.id)
    assert action.done and "ordering violations remain" in action.why


def test_list_runs_filters(lab):
    new_experiment(lab, "Other", "ml")
    a = start_run(lab, "lab", "a", now=T0).model
    b = start_run(lab, "other", "b", now=T0 + dt.timedelta(minutes=1)).model
    finish_run(lab, a.id, outcome="failure")
    assert [r.id for r in list_runs(lab)] == [a.id, b.id]
    assert [r.id for r in list_runs(lab, experiment="other")] == [b.id]
    assert [r.id for r in list_runs(lab, status="finished")] == [a.id]
    with pytest.raises(UsageError, match="unknown status"):
        list_runs(lab, status="done")
    with pytest.raises(NotFound):
        list_runs(lab, experiment="nope")
    with pytest.raises(NotFound, match="run.nope"):
        read_run(lab, "run.nope")
