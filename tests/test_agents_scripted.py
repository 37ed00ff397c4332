"""The `scripted` adapter: a policy script played by a real agent process over real MCP."""

from __future__ import annotations

import json

from experimentos.agents.base import AgentSpec, open_adapter
from experimentos.errors import UsageError

from .conftest import git, write_files
from .matrix_helpers import (
    EXP,
    cli_run,
    json_out,
    make_root,
    read_spec,
    records,
    runs_dir,
    write_spec,
)

# Reads the brief when the server is attached: with the reviewed rule it fixes the file; without
# it, it edits the protected test instead (the trap).
POLICY = """\
version: 1
scripts:
  - name: tiny
    match: {prompt_contains: app.txt}
    steps:
      - mcp: {tool: start_pre_work_protocol, arguments: {task: "{prompt}", repo: "{cwd}"}}
      - shell: cat app.txt
      - if: {tool_result_contains: never touch test.txt}
        then:
          - edit: {path: app.txt, old: broken, new: fixed}
          - final: Fixed app.txt as the rule says.
        else:
          - write: {path: notes.txt, content: "guessing\\n"}
          - edit: {path: test.txt, old: expects fixed, new: expects broken}
          - final: Changed the test.
"""


def _root(tmp_path):
    ws = make_root(tmp_path / "kb", {}, conditions=["none", "brief"])
    write_files(ws.root, {"agents/policy.yaml": POLICY})
    spec = read_spec(ws.root)
    spec["agents"] = [
        {"name": "scripted", "adapter": "scripted", "options": {"policy": "agents/policy.yaml"}}
    ]
    write_spec(ws.root, spec)
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "scripted agent")
    return ws


def test_scripted_agent_reads_the_brief_over_mcp_and_the_ground_truth_shows_it(tmp_path):
    ws = _root(tmp_path)
    result = cli_run(ws.root, "matrix", "run", EXP, "--json")
    summary = json_out(result)
    assert result.returncode == 0, result.stderr
    assert summary["errored"] == 0
    runs = records(ws.root)
    brief = runs[f"run.{EXP}.tiny.brief.scripted.r1"]
    none = runs[f"run.{EXP}.tiny.none.scripted.r1"]
    assert brief.outcome.value == "success" and brief.matrix.rules["ok"]
    # Without the server the script takes the trap: the oracle fails and the test was edited.
    assert none.outcome.value == "failure"
    assert set(none.matrix.rules["broken"]) >= {"protected_edit", "out_of_scope"}
    # The server's own log (not the agent's transcript) shows the brief before the first edit.
    events = [
        json.loads(line)
        for line in (runs_dir(ws.root) / f"{brief.id}.events.jsonl").read_text().splitlines()
    ]
    served = [e for e in events if e["source"] == "server" and e["type"] == "brief_loaded"]
    edits = [e for e in events if e["source"] == "transcript" and e["type"] == "file_edited"]
    assert served and edits and served[0]["step"] < edits[0]["step"]
    transcript = (runs_dir(ws.root) / f"{brief.id}.transcript.jsonl").read_text()
    assert '"type": "mcp_tool_called", "tool": "start_pre_work_protocol", "ok": true' in transcript


def test_a_bad_policy_is_refused_before_any_run_naming_the_field(tmp_path):
    ws = _root(tmp_path)
    write_files(ws.root, {"agents/policy.yaml": "version: 1\nscripts:\n  - name: x\n    steps:\n"
                          "      - shell: ls\n        final: both\n"})  # fmt: skip
    spec = AgentSpec(name="s", adapter="scripted", options={"policy": "agents/policy.yaml"})
    try:
        with open_adapter(spec, ws.root):
            raise AssertionError("a bad policy must be refused")
    except UsageError as exc:
        assert exc.field == "scripts.0.steps.0" and "exactly one of" in exc.message
    outside = AgentSpec(name="s", adapter="scripted", options={"policy": "/etc/passwd"})
    try:
        with open_adapter(outside, ws.root):
            raise AssertionError("a policy outside the root must be refused")
    except UsageError as exc:
        assert exc.field == "options.policy"
