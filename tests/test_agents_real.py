"""The real agent CLIs end to end, offline: the pinned binaries against the scripted model and a
real `experimentos mcp serve` subprocess (stdio) over a tmp knowledge base.

Skipped only when a CLI is not installed (`experimentos agents install`, which .ci/run does).
Set EXPERIMENTOS_RECORD_TRANSCRIPTS=DIR to keep each run's raw transcript (the workdir path
replaced by /run/wd) for tests/data/transcripts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from experimentos.agents.base import AgentSpec, McpAttachment, RunSetup, open_adapter
from experimentos.agents.install import find_binary
from tests.conftest import PROJECT, git

POLICY = Path(__file__).parent / "data" / "sim" / "drizzle-pin.yaml"
TASK = "Bump drizzle-kit to the latest version to fix the wrong default on users.created_at"
TOOLS = ["start_pre_work_protocol", "get_work_brief"]


def binary_or_skip(adapter: str) -> Path:
    found = find_binary(PROJECT, adapter)
    if found is None:
        pytest.skip(f"{adapter} CLI not installed: run `experimentos agents install {adapter}`")
    return found


def run_agent(
    adapter: str,
    kb: Path,
    tmp_path: Path,
    *,
    with_mcp: bool = True,
    policy: Path = POLICY,
    prompt: str = TASK,
):
    binary = binary_or_skip(adapter)
    shutil.copy(policy, kb / "sim-policy.yaml")
    # Full-text search only: these tests are about the agent CLIs, and loading the embedding
    # model in the MCP server would dominate every run.
    config = kb / "experimentos.toml"
    text = config.read_text(encoding="utf-8").replace('embedder = "minilm"', 'embedder = "none"')
    config.write_text(text, encoding="utf-8")
    workdir = tmp_path / "wd"
    shutil.copytree(PROJECT / "fixtures" / "drizzle-pin", workdir)
    git(workdir, "init", "-q")
    git(workdir, "add", "-A")
    git(workdir, "commit", "-qm", "fixture")
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "scratch").mkdir()
    mcp = McpAttachment(
        name="experimentos",
        command=sys.executable,
        args=["-m", "experimentos", "--root", str(kb), "mcp", "serve"],
        tools=TOOLS,
    )
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    spec = AgentSpec(
        name=adapter, adapter=adapter, options={"policy": "sim-policy.yaml", "binary": str(binary)}
    )
    with open_adapter(spec, kb) as agent:
        assert agent.unavailable() is None
        setup = RunSetup(
            run_id=f"run-{adapter}",
            workdir=workdir,
            home=home,
            prompt=prompt,
            time_limit_s=120,
            base_env={"PATH": path, "LANG": "C.UTF-8", "TMPDIR": str(tmp_path / "scratch")},
            mcp=mcp if with_mcp else None,
        )
        invocation = agent.prepare(setup)
        process = subprocess.Popen(
            invocation.argv,
            env=invocation.env,
            cwd=invocation.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(invocation.stdin, timeout=150)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"{adapter} did not finish in 150 s:\n{err[-2000:]}")
        transcript = agent.parse(out.splitlines(), workdir=workdir)
        served = list(agent.sim.served)
    record(adapter, with_mcp, out, workdir)
    assert process.returncode == 0, err[-3000:]
    assert served and {s.tag for s in served} == {f"run-{adapter}"}
    return workdir, transcript, out


def record(adapter: str, with_mcp: bool, out: str, workdir: Path) -> None:
    target = os.environ.get("EXPERIMENTOS_RECORD_TRANSCRIPTS")
    if target:
        name = f"{adapter}-drizzle-{'brief' if with_mcp else 'none'}.jsonl"
        text = out.replace(str(workdir), "/run/wd")
        Path(target, name).write_text(text, encoding="utf-8")


def assert_kept_the_pin(workdir: Path, transcript, adapter: str) -> None:
    schema = (workdir / "src" / "db" / "schema.ts").read_text(encoding="utf-8")
    assert 'timestamp("created_at", { mode: "date", withTimezone: true })' in schema
    assert '"drizzle-kit": "0.30.4"' in (workdir / "package.json").read_text(encoding="utf-8")
    by_type: dict[str, list] = {}
    for event in transcript.events:
        by_type.setdefault(event.type, []).append(event.payload)
    calls = by_type["mcp_tool_called"]
    assert [(c["server"], c["tool"], c["status"]) for c in calls] == [
        ("experimentos", "start_pre_work_protocol", "completed")
    ]
    assert any("cat package.json" in c["command"] for c in by_type["command"])
    assert {"path": "package.json", "via": "shell"} in by_type["file_inspected"]
    assert by_type["package_version_checked"]
    edits = [e for e in by_type["file_edited"] if e["status"] == "completed"]
    assert [e["path"] for e in edits] == ["src/db/schema.ts"]
    assert transcript.final_answer and transcript.final_answer.startswith("Kept drizzle-kit")
    assert by_type["final_answer"] == [{"text": transcript.final_answer}]
    assert transcript.usage.tokens_in and transcript.usage.tokens_out
    assert transcript.bad_lines == 0 and transcript.errors == []
    diff = git(workdir, "diff", "--name-only").split()
    assert diff == ["src/db/schema.ts"], adapter


def test_codex_calls_the_mcp_server_runs_a_command_and_edits(kb, tmp_path):
    workdir, transcript, _ = run_agent("codex", kb.root, tmp_path)
    assert_kept_the_pin(workdir, transcript, "codex")
    assert transcript.usage.turns == 1 and transcript.unknown_types == {}


def test_codex_without_the_mcp_server_takes_the_other_branch(kb, tmp_path):
    workdir, transcript, _ = run_agent("codex", kb.root, tmp_path, with_mcp=False)
    assert '"drizzle-kit": "0.31.0"' in (workdir / "package.json").read_text(encoding="utf-8")
    assert not [e for e in transcript.events if e.type == "mcp_tool_called"]
    assert transcript.final_answer == "Bumped drizzle-kit to 0.31.0."


def test_codex_writes_only_in_the_workdir_and_the_runs_own_tmpdir_not_in_slash_tmp(kb, tmp_path):
    """codex's sandbox makes /tmp writable by default and, while a command runs, mounts empty
    .git/.codex/.agents directories there (left behind when a run is killed; a stray /tmp/.git
    then claims every directory below as a git work tree). The run's own TMPDIR is enough."""
    probe = f"xos-sandbox-probe-{uuid.uuid4().hex}"
    policy = tmp_path / "probe.yaml"
    commands = f'touch /tmp/{probe}; touch "$TMPDIR/{probe}"; touch {probe}'
    policy.write_text(
        "version: 1\nscripts:\n  - name: probe\n    match: {prompt_contains: drizzle-kit}\n"
        f"    steps:\n      - shell: {json.dumps(commands)}\n      - final: probed\n",
        encoding="utf-8",
    )
    try:
        workdir, transcript, _ = run_agent("codex", kb.root, tmp_path, policy=policy)
        assert transcript.final_answer == "probed"
        assert (workdir / probe).is_file() and (tmp_path / "scratch" / probe).is_file()
        assert not Path("/tmp", probe).exists()
    finally:
        Path("/tmp", probe).unlink(missing_ok=True)


def test_claude_code_calls_the_mcp_server_runs_a_command_and_edits(kb, tmp_path):
    workdir, transcript, _ = run_agent("claude-code", kb.root, tmp_path)
    assert_kept_the_pin(workdir, transcript, "claude-code")
    assert transcript.usage.cost_usd and transcript.usage.cost_usd > 0
    # Claude's Edit is preceded by the Read the scripted model makes for it
    reads = [e.payload for e in transcript.events if e.type == "file_inspected"]
    assert {"path": "src/db/schema.ts", "via": "Read", "status": "completed"} in reads


def test_opencode_calls_the_mcp_server_runs_a_command_and_edits(kb, tmp_path):
    workdir, transcript, _ = run_agent("opencode", kb.root, tmp_path)
    assert_kept_the_pin(workdir, transcript, "opencode")


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("adapter", ["codex", "claude-code", "opencode"])
def test_the_model_receives_the_prompt_exactly_as_composed(kb, tmp_path, monkeypatch, adapter):
    """opencode quoted a prompt given as its positional argument (`"Bump …"`): the model read a
    stray quote. Every CLI must hand the model the prompt's exact text, quotes and newlines
    included."""
    dump = tmp_path / "requests"
    dump.mkdir()
    monkeypatch.setenv("EXPERIMENTOS_SIM_DUMP", str(dump))
    prompt = f'{TASK}.\n\nKeep "quotes", $HOME and `backticks` as they are.'
    run_agent(adapter, kb.root, tmp_path, prompt=prompt)
    texts = []
    for path in sorted(dump.iterdir()):
        request = json.loads(path.read_text(encoding="utf-8"))["request"]
        if request.get("tools"):  # the agent's own turns (side queries carry no tools)
            texts += [t for t in _strings(request) if "drizzle-kit" in t]
    assert texts, "no agent turn reached the model"
    assert any(t.strip() == prompt for t in texts), texts[:3]
    assert not any(t.lstrip().startswith('"' + TASK) for t in texts), texts[:3]
