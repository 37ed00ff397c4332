"""The exp, test and run command groups, through the CLI (in-process)."""

import json

import pytest


@pytest.fixture
def root(empty_kb, cli):
    result = cli(empty_kb.root, "exp", "new", "Brief helps", "--kind", "agent", "--hypothesis", "h")
    assert result.exit_code == 0, result.output
    return empty_kb.root


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def as_json(result):
    return json.loads(ok(result).stdout)


def fails(result, code=2):
    assert result.exit_code == code, result.output
    assert result.stdout == "" or result.stdout.startswith("{")
    return result.stderr


def test_exp_new_list_show_tree(root, cli):
    made = as_json(
        cli(
            root, "exp", "new", "Child A", "--kind", "ablation", "--parent", "brief-helps", "--json"
        )
    )
    assert made["id"] == "experiment.child-a" and made["parent"] == "experiment.brief-helps"
    assert made["path"] == "experiments/child-a/README.md" and made["status"] == "draft"
    listed = cli(root, "exp", "list")
    assert "experiment.brief-helps" in ok(listed).stdout and "2 experiments" in listed.stderr
    only = as_json(cli(root, "exp", "list", "--kind", "ablation", "--json"))
    assert [e["id"] for e in only] == ["experiment.child-a"]
    assert as_json(cli(root, "exp", "list", "--status", "running", "--json")) == []
    kids = as_json(cli(root, "exp", "list", "--parent", "brief-helps", "--json"))
    assert [e["id"] for e in kids] == ["experiment.child-a"]
    tree = ok(cli(root, "exp", "tree")).stdout.splitlines()
    assert tree[0].startswith("experiment.brief-helps  [draft]  agent")
    assert tree[1].startswith("  experiment.child-a  [draft]  ablation")
    tree_json = as_json(cli(root, "--json", "exp", "tree"))
    assert tree_json["roots"][0]["children"][0]["id"] == "experiment.child-a"
    shown = ok(cli(root, "exp", "show", "brief-helps")).stdout
    assert "hypothesis  h" in shown and "children    experiment.child-a" in shown
    assert "runs        0" in shown and "tests       0 (0 passed, 0 failed" in shown
    data = as_json(cli(root, "exp", "show", "experiment.brief-helps", "--json"))
    assert data["runs"] == 0 and data["tests"] == 0 and data["children"] == ["experiment.child-a"]
    assert data["hypothesis"] == "h" and data["created"].endswith("Z")


def test_exp_errors_exit_2_naming_the_problem(root, cli):
    assert "no experiment 'experiment.ghost'" in fails(cli(root, "exp", "show", "ghost"))
    assert "ghost" in fails(cli(root, "exp", "new", "X", "--kind", "ml", "--parent", "ghost"))
    assert "unknown kind 'toy'" in fails(cli(root, "exp", "new", "X", "--kind", "toy"))
    assert "already exists" in fails(cli(root, "exp", "new", "brief HELPS", "--kind", "ml"))
    assert "error:" in fails(cli(root, "exp", "show", "../etc"))
    err = cli(root, "exp", "show", "ghost", "--json")
    assert err.exit_code == 2 and json.loads(err.stdout)["error"]["type"] == "NotFound"


def test_exp_set_status_and_illegal_transitions(root, cli):
    message = fails(cli(root, "exp", "set-status", "brief-helps", "archived"))
    assert "cannot go from draft to archived; allowed: running" in message
    ok(cli(root, "exp", "set-status", "brief-helps", "running", "--note", "kick-off"))
    data = as_json(cli(root, "exp", "set-status", "brief-helps", "interpreted", "--json"))
    assert [h["to"] for h in data["statusHistory"]] == ["running", "interpreted"]
    assert data["statusHistory"][0]["note"] == "kick-off"
    assert "allowed: archived, running" in fails(
        cli(root, "exp", "set-status", "brief-helps", "draft")
    )
    ok(cli(root, "exp", "set-status", "brief-helps", "archived"))
    assert "final" in fails(cli(root, "exp", "set-status", "brief-helps", "running"))
    assert "draft -> running" in ok(cli(root, "exp", "show", "brief-helps")).stdout
    err = cli(root, "exp", "set-status", "brief-helps", "running", "--json")
    assert json.loads(err.stdout)["error"]["field"] == "status"


def test_exp_set_metric_and_set_parent(root, cli):
    ok(cli(root, "exp", "set-metric", "brief-helps", "success_rate", "0.8"))
    data = as_json(cli(root, "exp", "set-metric", "brief-helps", "runs", "10", "--json"))
    assert data["metrics"] == {"success_rate": 0.8, "runs": 10}
    ok(cli(root, "exp", "set-metric", "brief-helps", "runs", "--unset"))
    assert as_json(cli(root, "exp", "show", "brief-helps", "--json"))["metrics"] == {
        "success_rate": 0.8
    }
    assert "VALUE" in fails(cli(root, "exp", "set-metric", "brief-helps", "runs"))
    assert "metric name" in fails(cli(root, "exp", "set-metric", "brief-helps", "a b", "1"))

    ok(cli(root, "exp", "new", "Kid", "--kind", "ml", "--parent", "brief-helps"))
    assert "cycle" in fails(cli(root, "exp", "set-parent", "brief-helps", "kid"))
    ok(cli(root, "exp", "set-parent", "kid", "--clear"))
    ok(cli(root, "exp", "set-parent", "brief-helps", "kid"))
    assert as_json(cli(root, "exp", "show", "brief-helps", "--json"))["parent"] == "experiment.kid"
    assert "does not exist" in fails(cli(root, "exp", "set-parent", "kid", "ghost"))


def test_exp_delete(root, cli):
    ok(cli(root, "test", "new", "brief-helps", "judge", "--kind", "manual"))
    run_id = ok(cli(root, "run", "start", "brief-helps", "--task", "t")).stdout.strip()
    message = fails(cli(root, "exp", "delete", "brief-helps"))
    assert "has 1 run (" in message and run_id in message and "--force" in message
    assert (root / "experiments/brief-helps/tests/judge.md").is_file()
    data = as_json(cli(root, "exp", "delete", "brief-helps", "--force", "--json"))
    assert (data["tests"], data["runs"]) == (1, 1)
    assert not (root / "experiments/brief-helps").exists()
    assert "experiment.brief-helps" in fails(cli(root, "exp", "delete", "brief-helps"))


def test_test_commands(root, cli):
    run_id = ok(cli(root, "run", "start", "brief-helps", "--task", "t")).stdout.strip()
    ok(cli(root, "run", "event", run_id, "file_edited", "--payload", '{"path": "a.py"}'))
    ok(cli(root, "run", "finish", run_id, "--outcome", "success"))
    made = as_json(
        cli(
            root,
            "test",
            "new",
            "brief-helps",
            "Small diff",
            "--kind",
            "metric_threshold",
            "--metric",
            "files_edited",
            "--op",
            "<=",
            "--value",
            "2",
            "--json",
        )
    )
    assert made["id"] == "test.brief-helps.small-diff" and made["passed"] is None
    assert made["assertion"] == {
        "kind": "metric_threshold",
        "metric": "files_edited",
        "op": "<=",
        "value": 2,
        "scope": "run",
        "run": None,
    }
    ok(cli(root, "test", "new", "brief-helps", "Won", "--kind", "run_outcome", "--run", run_id))
    ok(
        cli(
            root,
            "test",
            "new",
            "brief-helps",
            "Lost",
            "--kind",
            "run_outcome",
            "--expected",
            "failure",
        )
    )
    ok(
        cli(
            root,
            "test",
            "new",
            "brief-helps",
            "Judge",
            "--kind",
            "manual",
            "--question",
            "Readable?",
        )
    )
    delta = [
        "--kind", "condition_delta", "--metric", "success_rate",
        "--baseline", "none", "--treatment", "brief", "--value", "0.1",
    ]  # fmt: skip
    ok(cli(root, "test", "new", "brief-helps", "Delta", *delta))

    shown = ok(cli(root, "test", "show", "test.brief-helps.small-diff")).stdout
    assert shown.startswith("---\nid: test.brief-helps.small-diff\n")
    assert (
        as_json(cli(root, "test", "show", "test.brief-helps.won", "--json"))["assertion"]["run"]
        == run_id
    )

    result = cli(root, "test", "evaluate", "brief-helps")
    assert result.exit_code == 1, result.output  # one test failed
    lines = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert "  passed  " in lines["test.brief-helps.small-diff"]
    assert "  failed  " in lines["test.brief-helps.lost"]
    assert "not evaluable until matrices exist" in lines["test.brief-helps.delta"]
    assert "not evaluated" in lines["test.brief-helps.judge"]

    manual = as_json(
        cli(
            root,
            "test",
            "evaluate",
            "test.brief-helps.judge",
            "--verdict",
            "pass",
            "--rationale",
            "clear",
            "--reviewer",
            "ana",
            "--json",
        )  # fmt: skip
    )
    assert manual[0]["passed"] is True and manual[0]["details"] == "manual verdict by ana: clear"
    passed = as_json(cli(root, "test", "list", "--verdict", "passed", "--json"))
    assert {t["id"] for t in passed} == {
        "test.brief-helps.small-diff",
        "test.brief-helps.won",
        "test.brief-helps.judge",
    }
    assert [
        t["id"] for t in as_json(cli(root, "test", "list", "--verdict", "failed", "--json"))
    ] == ["test.brief-helps.lost"]
    unset = as_json(
        cli(root, "test", "list", "--verdict", "unset", "--kind", "condition_delta", "--json")
    )
    assert [t["id"] for t in unset] == ["test.brief-helps.delta"]
    listed = cli(root, "test", "list", "brief-helps")
    assert "5 tests" in ok(listed).stderr and "test.brief-helps.won" in listed.stdout


def test_test_errors(root, cli):
    assert "experiment.ghost" in fails(cli(root, "test", "new", "ghost", "t", "--kind", "manual"))
    assert "unknown test kind" in fails(
        cli(root, "test", "new", "brief-helps", "t", "--kind", "vibes")
    )
    message = fails(
        cli(root, "test", "new", "brief-helps", "t", "--kind", "metric_threshold", "--op", ">")
    )
    assert "assertion.metric" in message
    assert "no test 'test.brief-helps.nope'" in fails(
        cli(root, "test", "show", "test.brief-helps.nope")
    )
    assert "not a test id" in fails(cli(root, "test", "show", "brief-helps"))
    assert "Missing argument 'TEST_ID|EXPERIMENT'" in fails(cli(root, "test", "evaluate"))
    ok(cli(root, "test", "new", "brief-helps", "judge", "--kind", "manual"))
    assert "passed or failed" in fails(
        cli(root, "test", "evaluate", "test.brief-helps.judge", "--verdict", "meh")
    )
    assert "rationale" in fails(
        cli(root, "test", "evaluate", "test.brief-helps.judge", "--verdict", "fail")
    )
    refused = fails(cli(root, "test", "list", "--verdict", "maybe"))
    assert all(word in refused for word in ("'maybe'", "'passed'", "'failed'", "'unset'"))


def test_run_commands(root, cli):
    started = as_json(
        cli(
            root,
            "run",
            "start",
            "brief-helps",
            "--task",
            "fix it",
            "--agent",
            "opencode",
            "--model",
            "gemma",
            "--toolchain",
            "shell",
            "--condition",
            "brief",
            "--brief",
            "brief.1",
            "--id",
            "run.cli-1",
            "--json",
        )  # fmt: skip
    )
    assert started["id"] == "run.cli-1" and started["status"] == "running"
    assert started["path"] == "experiments/brief-helps/runs/run.cli-1.md"
    events = [
        ("brief_loaded", '{"brief_id": "brief.1"}'),
        ("dependency_resolved", '{"page_ids": ["policy.keep-pins"]}'),
        ("decision_recorded", '{"decision": "keep the pin"}'),
        ("file_edited", '{"path": "a.py"}'),
        ("test_run", '{"passed": true, "total": 3}'),
    ]
    for event_type, payload in events:
        ok(cli(root, "run", "event", "run.cli-1", event_type, "--payload", payload))
    server = as_json(
        cli(
            root,
            "run",
            "event",
            "run.cli-1",
            "mcp_tool_called",
            "--payload",
            '{"tool": "get_page"}',
            "--source",
            "server",
            "--json",
        )  # fmt: skip
    )
    assert server["step"] == 6 and server["source"] == "server"

    shown = ok(cli(root, "run", "show", "run.cli-1")).stdout
    assert "missing  final answer" in shown and "done     tests passing" in shown
    data = as_json(cli(root, "run", "show", "run.cli-1", "--json"))
    assert [e["step"] for e in data["events"]] == [1, 2, 3, 4, 5, 6]
    # a server-recorded event makes the server's log the evidence for the protocol steps
    assert data["completion"]["evidence"] == "server"
    violations = [v["step"] for v in data["completion"]["violations"]]
    assert violations == ["pre_work", "dependencies", "final_answer"]
    assert "MCP server's own log" in data["completion"]["violations"][0]["message"]

    ok(cli(root, "run", "event", "run.cli-1", "final_answer", "--payload", '{"text": "done"}'))
    finished = as_json(
        cli(
            root,
            "run",
            "finish",
            "run.cli-1",
            "--outcome",
            "success",
            "--summary",
            "All good.",
            "--metric",
            "oracle_passed=true",
            "--json",
        )  # fmt: skip
    )
    assert finished["status"] == "finished" and finished["outcome"] == "success"
    assert finished["metrics"]["files_edited"] == 1 and finished["metrics"]["oracle_passed"] is True
    assert (
        finished["metrics"]["final_answer_recorded"] is True and finished["body"] == "All good.\n"
    )
    ok(cli(root, "run", "start", "brief-helps", "--task", "second"))
    listed = cli(root, "run", "list")
    assert "2 runs" in ok(listed).stderr and "run.cli-1  finished  success" in listed.stdout
    running = as_json(cli(root, "run", "list", "--status", "running", "--json"))
    assert [r["task"] for r in running] == ["second"]
    assert len(as_json(cli(root, "run", "list", "brief-helps", "--json"))) == 2


def test_run_errors(root, cli):
    message = fails(cli(root, "run", "start", "ghost", "--task", "t"))
    assert "no experiment 'experiment.ghost'" in message
    assert not (root / "experiments/ghost").exists()
    ok(cli(root, "run", "start", "brief-helps", "--task", "t", "--id", "run.e-1"))
    assert "payload.path" in fails(
        cli(root, "run", "event", "run.e-1", "file_edited", "--payload", "{}")
    )
    message = fails(
        cli(root, "run", "event", "run.e-1", "test_run", "--payload", '{"passed": "yes!"}')
    )
    assert "payload.passed" in message
    message = fails(cli(root, "run", "event", "run.e-1", "file_changed", "--payload", "{}"))
    assert "type: unknown event type 'file_changed'" in message and "x-" in message
    assert "not JSON" in fails(
        cli(root, "run", "event", "run.e-1", "final_answer", "--payload", "{")
    )
    assert "source" in fails(cli(root, "run", "event", "run.e-1", "x-note", "--source", "me"))
    err = cli(root, "run", "event", "run.e-1", "file_edited", "--payload", '{"path": ""}', "--json")
    assert json.loads(err.stdout)["error"]["field"] == "payload.path"
    assert "no run 'run.ghost'" in fails(cli(root, "run", "show", "run.ghost"))
    assert "not a run id" in fails(cli(root, "run", "event", "ghost", "x-note"))
    assert "NAME=VALUE" in fails(cli(root, "run", "finish", "run.e-1", "--metric", "oops"))
    assert "unknown outcome" in fails(cli(root, "run", "finish", "run.e-1", "--outcome", "meh"))
    ok(cli(root, "run", "finish", "run.e-1", "--status", "failed"))
    assert "already ended (failed)" in fails(cli(root, "run", "finish", "run.e-1"))
    assert "events can no longer be added" in fails(
        cli(root, "run", "event", "run.e-1", "final_answer", "--payload", '{"text": "late"}')
    )


def test_check_validates_the_experiments_tree(root, cli):
    ok(cli(root, "run", "start", "brief-helps", "--task", "t", "--id", "run.c-1"))
    ok(cli(root, "run", "event", "run.c-1", "final_answer", "--payload", '{"text": "x"}'))
    assert ok(cli(root, "check")).stdout.endswith("0 errors, 0 warnings\n")
    log = root / "experiments/brief-helps/runs/run.c-1.events.jsonl"
    with log.open("ab") as handle:
        handle.write(
            b'{"step": 1, "ts": "2026-04-26T10:00:00Z", "type": "final_answer", '
            b'"payload": {"text": "x"}}\n{"st'
        )
    readme = root / "experiments/brief-helps/README.md"
    readme.write_text(readme.read_text().replace("parent: null", "parent: experiment.gone"))
    (root / "experiments/brief-helps/tests").mkdir()
    (root / "experiments/brief-helps/tests/bad.md").write_text(
        "---\nid: test.brief-helps.bad\nname: b\n---\n"
    )
    report = json.loads(cli(root, "check", "--json").stdout)
    codes = {(p["path"].rsplit("/", 1)[-1], p["code"]) for p in report["problems"]}
    assert codes == {
        ("run.c-1.events.jsonl", "event-step-order"),
        ("run.c-1.events.jsonl", "event-torn-line"),
        ("README.md", "dangling-reference"),
        ("bad.md", "schema"),
    }
    assert cli(root, "check").exit_code == 1
