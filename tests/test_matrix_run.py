"""`matrix run` end to end with shell agents: records, sidecars, statuses, exit codes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from experimentos.errors import UsageError
from experimentos.lab.runs import read_events
from experimentos.matrix.runner import run_matrix

from .matrix_helpers import (
    CRASH,
    EXP,
    GOOD,
    HANG,
    LAZY,
    MCP_AGENT,
    cli_run,
    json_out,
    make_root,
    read_spec,
    records,
    runs_dir,
    write_spec,
)


def test_a_run_records_outcome_diff_transcript_and_usage(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD, "lazy": LAZY}, repeats=2)
    summary = run_matrix(ws, EXP, jobs=2)
    assert summary.to_run == 4 and summary.errored == 0
    assert [r.run_id for r in summary.runs] == [
        "run.m.tiny.none.good.r1",
        "run.m.tiny.none.good.r2",
        "run.m.tiny.none.lazy.r1",
        "run.m.tiny.none.lazy.r2",
    ]
    found = records(ws.root)
    good, lazy = found["run.m.tiny.none.good.r1"], found["run.m.tiny.none.lazy.r1"]
    assert (good.status.value, good.outcome.value) == ("finished", "success")
    assert (lazy.status.value, lazy.outcome.value) == ("finished", "failure")
    block = good.matrix
    assert block.cell == "tiny/none/good/1" and block.fixture == "tiny" and block.repeat == 1
    assert block.oracle.passed and block.oracle.exit_code == 0
    assert block.usage.tokens_in == 10 and block.usage.cost_usd == 0.5
    assert block.rules["broken"] == [] and block.diff["files_changed"] == 1
    assert good.metrics["oracle_passed"] is True and good.metrics["lines_added"] == 1
    assert good.knowledge_commit and block.knowledge is None  # none serves no knowledge
    assert block.spec_hash.startswith("sha256:") and block.cell_hash.startswith("sha256:")
    diff = (runs_dir(ws.root) / "run.m.tiny.none.good.r1.diff").read_text()
    assert "-broken" in diff and "+fixed" in diff
    raw = (runs_dir(ws.root) / "run.m.tiny.none.good.r1.transcript.jsonl").read_text()
    assert json.loads(raw.splitlines()[0]) == {"type": "file_inspected", "path": "app.txt"}
    events = read_events(ws, "run.m.tiny.none.good.r1").events
    assert {e.source for e in events} == {"transcript"}
    assert [e.type for e in events] == [
        "file_inspected", "file_edited", "command", "final_answer"
    ]  # fmt: skip
    assert "good on tiny (none, repeat 1): oracle passed" in good.body


def test_dry_run_lists_cells_in_stable_order_and_runs_nothing(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, conditions=["none", "brief"], repeats=2)
    result = cli_run(ws.root, "matrix", "run", EXP, "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    data = json_out(result)
    assert [c["cell"] for c in data["cells"]] == [
        "tiny/none/good/1", "tiny/none/good/2", "tiny/brief/good/1", "tiny/brief/good/2"
    ]  # fmt: skip
    assert {c["state"] for c in data["cells"]} == {"missing"} and data["to_run"] == 4
    assert not runs_dir(ws.root).exists() or not list(runs_dir(ws.root).iterdir())
    text = cli_run(ws.root, "matrix", "run", EXP, "--dry-run").stdout
    assert "run.m.tiny.brief.good.r2" in text and "4 to run" in text


def test_a_second_run_needs_resume_and_resume_runs_only_what_is_missing(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, repeats=1)
    run_matrix(ws, EXP)
    with pytest.raises(UsageError, match="--resume") as err:
        run_matrix(ws, EXP)
    assert err.value.field == "resume"
    before = (runs_dir(ws.root) / "run.m.tiny.none.good.r1.md").read_bytes()
    write_spec(ws.root, {**read_spec(ws.root), "repeats": 2})
    summary = run_matrix(ws, EXP, resume=True)
    assert summary.already_done == 1 and [r.run_id for r in summary.runs] == [
        "run.m.tiny.none.good.r2"
    ]
    assert (runs_dir(ws.root) / "run.m.tiny.none.good.r1.md").read_bytes() == before
    assert run_matrix(ws, EXP, resume=True).to_run == 0


def test_changed_inputs_are_run_again_on_resume(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    run_matrix(ws, EXP)
    (ws.root / "fixtures" / "tiny" / "app.txt").write_text("broken again\n")
    dry = run_matrix(ws, EXP, dry_run=True)
    assert [(c.state, c.reason) for c in dry.cells] == [("stale", "the fixture changed")]
    summary = run_matrix(ws, EXP, resume=True)
    assert [r.run_id for r in summary.runs] == ["run.m.tiny.none.good.r1"]
    run = records(ws.root)["run.m.tiny.none.good.r1"]
    assert run.matrix.previous_attempts[0].reason == "its fingerprint changed: the fixture changed"


def test_an_agent_crash_is_an_error_and_exits_1_a_failed_task_is_not(tmp_path):
    ws = make_root(tmp_path / "root", {"lazy": LAZY})
    result = cli_run(ws.root, "matrix", "run", EXP, "--json")
    assert result.returncode == 0, result.stderr
    assert json_out(result)["counts"] == {"finished": 1, "outcome:failure": 1}
    ws = make_root(tmp_path / "crash", {"crash": CRASH})
    result = cli_run(ws.root, "matrix", "run", EXP, "--json")
    assert result.returncode == 1
    data = json_out(result)
    assert data["errored"] == 1 and data["runs"][0]["status"] == "failed"
    assert "exited with 3" in data["runs"][0]["reason"]
    run = records(ws.root)["run.m.tiny.none.crash.r1"]
    assert run.status.value == "failed" and run.outcome is None
    agent = run.matrix.agent_process
    assert agent.exit_code == 3 and "boom" in agent.output_tail
    assert run.matrix.transcript["errors"] == ["model unreachable"]
    # an errored run is not a result: --resume runs it again, keeping the earlier attempt
    (ws.root / "agents" / "crash.sh").write_text(GOOD)
    again = cli_run(ws.root, "matrix", "run", EXP, "--resume", "--json")
    assert again.returncode == 0, again.stderr
    run = records(ws.root)["run.m.tiny.none.crash.r1"]
    assert run.outcome.value == "success" and run.matrix.attempt == 2
    assert [a.status.value for a in run.matrix.previous_attempts] == ["failed"]
    assert "exited with 3" in run.matrix.previous_attempts[0].reason


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def test_a_hung_agent_is_killed_at_the_limit_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    ws = make_root(tmp_path / "root", {"hang": HANG}, time_limit=1.5)
    script = (ws.root / "agents" / "hang.sh").read_text().replace("$PIDS", str(pids))
    (ws.root / "agents" / "hang.sh").write_text(script)
    began = time.monotonic()
    summary = run_matrix(ws, EXP)
    took = time.monotonic() - began
    assert took < 20
    child, parent = (int((pids / n).read_text()) for n in ("child.pid", "parent.pid"))
    deadline = time.monotonic() + 5
    while (_alive(child) or _alive(parent)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child) and not _alive(parent)
    run = records(ws.root)["run.m.tiny.none.hang.r1"]
    # a timed-out agent is a result (a failure that counts), not an error
    assert summary.errored == 0 and run.status.value == "finished"
    assert run.outcome.value == "failure" and run.matrix.agent_process.timed_out
    assert run.metrics["agent_timed_out"] is True and "limit" in run.body


def test_the_bound_mcp_server_logs_every_call_whether_or_not_the_agent_passes_a_run_id(tmp_path):
    ws = make_root(tmp_path / "root", {"briefed": MCP_AGENT}, conditions=["brief", "none"])
    summary = run_matrix(ws, EXP)
    assert summary.runs[0].status == "finished", summary.runs[0]
    run_id = "run.m.tiny.brief.briefed.r1"
    events = read_events(ws, run_id).events
    server = [e for e in events if e.source == "server"]
    tools = [e.payload["tool"] for e in server if e.type == "mcp_tool_called"]
    assert tools == ["start_pre_work_protocol", "get_page"]
    assert {"brief_loaded", "dependency_resolved"} <= {e.type for e in server}
    run = records(ws.root)[run_id]
    assert run.outcome.value == "success"  # the brief carried the policy
    assert run.metrics["evidence"] == "server" and run.metrics["prework_before_first_edit"]
    assert run.metrics["mcp_tool_calls"] == 2
    assert run.matrix.knowledge.pages == 2 and "working tree" in run.matrix.knowledge.variant
    assert "start_pre_work_protocol" in run.matrix.prompt
    # the transcript's own claim of the call is kept apart and never counts as protocol
    claimed = [e for e in events if e.source == "transcript" and e.type == "mcp_tool_called"]
    assert len(claimed) == 1
    none = records(ws.root)["run.m.tiny.none.briefed.r1"]
    assert none.status.value == "failed"  # no server attached: the agent crashed on KeyError


def test_brief_without_a_page_serves_the_knowledge_minus_that_page(tmp_path):
    ws = make_root(
        tmp_path / "root", {"briefed": MCP_AGENT}, conditions=["brief-without:policy.fix-the-file"]
    )
    run_matrix(ws, EXP)
    run = records(ws.root)["run.m.tiny.without-policy.fix-the-file.briefed.r1"]
    assert run.outcome.value == "failure"  # without the policy the agent guesses
    assert run.matrix.knowledge.pages == 1
    assert run.matrix.knowledge.variant.endswith("without policy.fix-the-file")


def test_secrets_reach_the_agent_and_never_a_record(tmp_path, monkeypatch):
    leak = """#!/bin/sh
echo "{\\"type\\":\\"command\\",\\"command\\":\\"curl -H key:$XOS_TEST_TOKEN\\"}"
echo "token is $XOS_TEST_TOKEN" >&2
echo fixed > app.txt
exit 1
"""
    ws = make_root(tmp_path / "root", {"leak": leak}, extra={"secrets": ["XOS_TEST_TOKEN"]})
    monkeypatch.setenv("XOS_TEST_TOKEN", "s3cr3t-value-123")
    run_matrix(ws, EXP)
    written = b"".join(p.read_bytes() for p in runs_dir(ws.root).iterdir())
    assert b"s3cr3t-value-123" not in written
    assert b"[REDACTED]" in written
    run = records(ws.root)["run.m.tiny.none.leak.r1"]
    assert "token is [REDACTED]" in run.matrix.agent_process.output_tail


def test_a_missing_secret_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("XOS_TEST_ABSENT", raising=False)
    ws = make_root(tmp_path / "root", {"good": GOOD}, extra={"secrets": ["XOS_TEST_ABSENT"]})
    with pytest.raises(UsageError) as err:
        run_matrix(ws, EXP)
    assert err.value.field == "secrets.0"
    assert not runs_dir(ws.root).exists() or not list(runs_dir(ws.root).iterdir())


def test_ctrl_c_aborts_the_runs_in_flight_and_resume_runs_them_again(tmp_path):
    sleeper = "#!/bin/sh\nsleep 30\necho fixed > app.txt\n"
    ws = make_root(tmp_path / "root", {"slow": sleeper}, repeats=2)
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "experimentos", "--root", str(ws.root), "matrix", "run", EXP,
         "--jobs", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = records(ws.root) if runs_dir(ws.root).exists() else {}
        if len(found) == 2 and all(r.status.value == "running" for r in found.values()):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert json.loads(out)["interrupted"] is True
    found = records(ws.root)
    assert {r.status.value for r in found.values()} == {"aborted"}
    assert all("interrupted" in r.matrix.reason for r in found.values())
    write_spec(ws.root, {**read_spec(ws.root), "agents": [
        {"name": "slow", "adapter": "shell", "options": {"script": "agents/fast.sh"}}
    ]})  # fmt: skip
    (ws.root / "agents" / "fast.sh").write_text(GOOD)
    (ws.root / "agents" / "fast.sh").chmod(0o755)
    # aborted runs are not results: the changed agent spec does not conflict with them
    assert run_matrix(ws, EXP, resume=True).to_run == 2
    assert {r.outcome.value for r in records(ws.root).values()} == {"success"}


# Tries to reach a TCP server the test runs on the host's loopback; says what happened.
NETWORK_PROBE = """\
import json, os, socket
port = int(os.environ["PROBE_PORT"])
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    reached = "reached"
except OSError as exc:
    reached = f"refused: {exc}"
with open("app.txt", "w") as f:
    f.write("fixed\\n")
print(json.dumps({"type": "final_answer", "text": reached}), flush=True)
"""


def test_the_record_says_whether_the_agents_shell_had_network(tmp_path):
    """A script agent runs without network where the host allows a network namespace, and the
    record says so either way; the CLIs' own sandboxes are recorded as they are."""
    import socket

    from experimentos.agents import network
    from experimentos.agents.base import AgentSpec, open_adapter
    from experimentos.agents.codex import config_toml

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        ws = make_root(tmp_path / "root", {"probe": "import os\n" + NETWORK_PROBE})
        spec = read_spec(ws.root)
        spec["agents"][0]["options"]["env"] = {"PROBE_PORT": str(port)}
        open_spec = json.loads(json.dumps({**spec["agents"][0], "name": "open"}))
        open_spec["options"]["network"] = True
        spec["agents"].append(open_spec)
        write_spec(ws.root, spec)
        assert run_matrix(ws, EXP).errored == 0
    finally:
        server.close()
    found = {r.agent: r for r in records(ws.root).values()}
    probe, opened = found["probe"], found["open"]
    assert opened.matrix.agent_network.access is True
    assert "options.network is true" in opened.matrix.agent_network.how
    assert opened.matrix.transcript["finalAnswer"] == "reached"
    if network.offline_prefix() is not None:
        assert probe.matrix.agent_network.access is False
        assert "network namespace" in probe.matrix.agent_network.how
        assert probe.matrix.transcript["finalAnswer"].startswith("refused")
    else:  # the host refuses a namespace: the record says the shell was not isolated
        assert probe.matrix.agent_network.access is True
        assert probe.matrix.agent_network.how.startswith("not isolated")
    with open_adapter(AgentSpec(name="c", adapter="claude-code"), ws.root) as agent:
        assert agent.shell_network()[0] is True
    with open_adapter(AgentSpec(name="c", adapter="codex"), ws.root) as agent:
        assert agent.shell_network() == (
            False, "codex's workspace-write sandbox: network_access = false (no network)"
        )  # fmt: skip
    from experimentos.agents.base import RunSetup

    setup = RunSetup(run_id="run.t0", workdir=tmp_path, home=tmp_path, prompt="p",
                     time_limit_s=1, base_env={})  # fmt: skip
    assert "network_access = false" in config_toml(setup)
