"""Adapters without running an agent: invocations, config files, env, secrets, parsers."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from experimentos.agents.base import AgentSpec, McpAttachment, RunSetup, open_adapter
from experimentos.agents.claude import parse_claude
from experimentos.agents.codex import parse_codex
from experimentos.agents.opencode import parse_opencode
from experimentos.agents.transcripts import read_paths, unwrap_shell
from experimentos.errors import UsageError

DATA = Path(__file__).parent / "data"
TRANSCRIPTS = DATA / "transcripts"
RUN_WD = Path("/run/wd")  # the recorded transcripts' workdir
SECRET = "sk-test-4f9a1c-not-real"


def setup_for(tmp_path: Path, *, mcp: bool = True) -> RunSetup:
    (tmp_path / "wd").mkdir(exist_ok=True)
    attachment = McpAttachment(
        name="experimentos",
        command="/usr/bin/xos",
        args=["--root", "/kb", "mcp", "serve", "--run-id", "run-1"],
        env={"EXPERIMENTOS_LOG": "warning"},
        tools=["start_pre_work_protocol", "data.experiments.list"],
    )
    return RunSetup(
        run_id="run-1",
        workdir=tmp_path / "wd",
        home=tmp_path / "home",
        prompt="Fix the default; do not bump the pin",
        time_limit_s=60,
        base_env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        mcp=attachment if mcp else None,
        secrets={"OPENAI_API_KEY": SECRET, "ANTHROPIC_API_KEY": SECRET},
    )


def files_under(path: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(path.rglob("*")) if p.is_file())


@pytest.mark.parametrize("adapter", ["codex", "claude-code", "opencode"])
def test_secrets_reach_the_env_only_and_the_env_is_clean(adapter, tmp_path, fake_cli, monkeypatch):
    monkeypatch.setenv("LEAKY_VARIABLE", "from-the-parent")
    spec = AgentSpec(name=adapter, adapter=adapter, options={"binary": str(fake_cli)})
    with open_adapter(spec, tmp_path) as agent:
        invocation = agent.prepare(setup_for(tmp_path))
    assert invocation.env["OPENAI_API_KEY"] == SECRET
    assert "LEAKY_VARIABLE" not in invocation.env and invocation.env["PATH"] == "/usr/bin:/bin"
    assert invocation.env["HOME"] == str(tmp_path / "home")
    assert invocation.cwd == tmp_path / "wd" and invocation.argv[0] == str(fake_cli)
    assert SECRET not in files_under(tmp_path / "home")
    assert SECRET not in " ".join(invocation.argv)


def test_codex_config_holds_the_mcp_server(tmp_path, fake_cli):
    spec = AgentSpec(name="c", adapter="codex", model="gpt-5.5", options={"binary": str(fake_cli)})
    with open_adapter(spec, tmp_path) as agent:
        invocation = agent.prepare(setup_for(tmp_path))
    home = Path(invocation.env["CODEX_HOME"])
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    server = config["mcp_servers"]["experimentos"]
    assert server["command"] == "/usr/bin/xos" and server["args"][-1] == "run-1"
    assert server["enabled_tools"] == ["start_pre_work_protocol", "data.experiments.list"]
    assert server["required"] is True and server["default_tools_approval_mode"] == "approve"
    assert server["env"] == {"EXPERIMENTOS_LOG": "warning"}
    assert invocation.argv[1:4] == ["exec", "--json", "--skip-git-repo-check"]
    assert invocation.argv[-1] == "Fix the default; do not bump the pin"
    assert invocation.argv[-3:-1] == ["-m", "gpt-5.5"] and invocation.stdin == ""


def test_codex_with_the_scripted_model_points_at_it(tmp_path, fake_cli):
    (tmp_path / "p.yaml").write_text("scripts: [{name: a}]\n", encoding="utf-8")
    spec = AgentSpec(
        name="c", adapter="codex", options={"binary": str(fake_cli), "policy": "p.yaml"}
    )
    with open_adapter(spec, tmp_path) as agent:
        invocation = agent.prepare(setup_for(tmp_path, mcp=False))
        url = agent.sim.base_url("run-1")
    provider = next(a for a in invocation.argv if a.startswith("model_providers.sim="))
    assert f'base_url="{url}/v1"' in provider and 'wire_api="responses"' in provider
    assert (Path(invocation.env["CODEX_HOME"]) / "config.toml").read_text().count("mcp") == 0


def test_claude_gets_an_mcp_config_and_allowed_tools(tmp_path, fake_cli):
    spec = AgentSpec(name="c", adapter="claude-code", options={"binary": str(fake_cli)})
    with open_adapter(spec, tmp_path) as agent:
        invocation = agent.prepare(setup_for(tmp_path))
    argv = invocation.argv
    assert argv[1:3] == ["-p", "Fix the default; do not bump the pin"]
    config = json.loads(Path(argv[argv.index("--mcp-config") + 1]).read_text(encoding="utf-8"))
    assert config["mcpServers"]["experimentos"]["command"] == "/usr/bin/xos"
    allowed = argv[argv.index("--allowedTools") + 1].split(",")
    assert "Bash" in allowed and "mcp__experimentos__start_pre_work_protocol" in allowed
    assert "ANTHROPIC_BASE_URL" not in invocation.env  # a real provider: its default endpoint
    assert invocation.env["DISABLE_TELEMETRY"] == "1"


def test_opencode_config_references_keys_by_env(tmp_path, fake_cli):
    (tmp_path / "p.yaml").write_text("scripts: [{name: a}]\n", encoding="utf-8")
    options = {"binary": str(fake_cli), "policy": "p.yaml"}
    with open_adapter(AgentSpec(name="o", adapter="opencode", options=options), tmp_path) as agent:
        invocation = agent.prepare(setup_for(tmp_path))
    config = json.loads(Path(invocation.env["OPENCODE_CONFIG"]).read_text(encoding="utf-8"))
    assert config["provider"]["sim"]["options"]["apiKey"] == "{env:SIM_API_KEY}"
    assert config["mcp"]["experimentos"]["command"][0] == "/usr/bin/xos"
    # On stdin, not as a positional word (opencode quotes a word holding spaces)
    assert invocation.stdin == "Fix the default; do not bump the pin"
    assert "Fix the default; do not bump the pin" not in invocation.argv


def test_a_missing_binary_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with open_adapter(AgentSpec(name="c", adapter="codex"), tmp_path) as agent:
        problem = agent.unavailable()
        assert problem and "experimentos agents install codex" in problem
        assert "@openai/codex@0.171.0" in problem
        with pytest.raises(UsageError):
            agent.prepare(setup_for(tmp_path))


def refused(spec: AgentSpec, root: Path) -> UsageError:
    with pytest.raises(UsageError) as caught, open_adapter(spec, root):
        pass
    return caught.value


def test_bad_options_and_policies_name_their_field(tmp_path):
    bad = refused(AgentSpec(name="c", adapter="codex", options={"sandbox": "yolo"}), tmp_path)
    assert bad.field == "options.sandbox"
    typo = refused(AgentSpec(name="c", adapter="claude-code", options={"polcy": "x"}), tmp_path)
    assert typo.field == "options.polcy"
    outside = AgentSpec(name="c", adapter="codex", options={"policy": "../p.yaml"})
    assert "leaves the knowledge root" in refused(outside, tmp_path / "kb").message
    assert refused(AgentSpec(name="x", adapter="nope"), tmp_path).field == "adapter"


# --- parsers on real transcripts ------------------------------------------------------------


def lines_of(name: str) -> list[str]:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8").splitlines()


def summary(transcript) -> list[tuple[str, str]]:
    keys = {
        "mcp_tool_called": "tool",
        "file_edited": "path",
        "file_inspected": "path",
        "command": "command",
        "test_run": "command",
        "package_version_checked": "command",
        "final_answer": "text",
    }
    return [(e.type, str(e.payload.get(keys[e.type]))) for e in transcript.events]


KEPT = "Kept drizzle-kit at 0.30.4 as the reviewed policy says; declared created_at with time zone."


def test_codex_transcript_recorded_here():
    t = parse_codex(lines_of("codex-drizzle-brief.jsonl"), workdir=RUN_WD)
    assert summary(t) == [
        ("mcp_tool_called", "start_pre_work_protocol"),
        ("command", "/bin/bash -lc 'cat package.json'"),
        ("package_version_checked", "/bin/bash -lc 'cat package.json'"),
        ("file_inspected", "package.json"),
        ("file_edited", "src/db/schema.ts"),
        ("final_answer", KEPT),
    ]
    assert t.usage.tokens_in > 1000 and t.usage.tokens_out > 0 and t.usage.turns == 1
    assert t.usage.cost_usd is None  # codex reports tokens, not cost
    assert t.unknown_types == {} and t.bad_lines == 0 and t.errors == []
    none = parse_codex(lines_of("codex-drizzle-none.jsonl"), workdir=RUN_WD)
    assert ("file_edited", "package.json") in summary(none)


def test_claude_transcript_recorded_here():
    t = parse_claude(lines_of("claude-code-drizzle-brief.jsonl"), workdir=RUN_WD)
    assert summary(t) == [
        ("mcp_tool_called", "start_pre_work_protocol"),
        ("command", "cat package.json"),
        ("package_version_checked", "cat package.json"),
        ("file_inspected", "package.json"),
        ("file_inspected", "src/db/schema.ts"),
        ("file_edited", "src/db/schema.ts"),
        ("final_answer", KEPT),
    ]
    edited = next(e for e in t.events if e.type == "file_edited")
    assert edited.payload["status"] == "completed"
    assert t.usage.cost_usd and t.usage.cost_usd > 0 and t.usage.turns
    assert t.unknown_types == {} and t.bad_lines == 0 and t.errors == []
    assert t.model_id == "claude-sonnet-4-5"  # what the provider's messages say they came from


def test_opencode_transcript_recorded_here():
    t = parse_opencode(lines_of("opencode-drizzle-brief.jsonl"), workdir=RUN_WD)
    assert summary(t) == [
        ("mcp_tool_called", "start_pre_work_protocol"),
        ("command", "cat package.json"),
        ("package_version_checked", "cat package.json"),
        ("file_inspected", "package.json"),
        ("file_inspected", "src/db/schema.ts"),
        ("file_edited", "src/db/schema.ts"),
        ("final_answer", KEPT),
    ]
    assert t.usage.tokens_in and t.usage.turns and t.errors == []


@pytest.mark.parametrize(
    ("parse", "name"),
    [
        (parse_codex, "codex-drizzle-brief.jsonl"),
        (parse_claude, "claude-code-drizzle-brief.jsonl"),
        (parse_opencode, "opencode-drizzle-brief.jsonl"),
    ],
)
def test_torn_and_unknown_lines_never_crash(parse, name):
    lines = lines_of(name)
    whole = parse(lines)
    torn = [lines[0][: len(lines[0]) // 2], "", "not json", "[1, 2]", "null", '"text"', "{"]
    weird = [
        '{"type": "brand.new.event", "x": 1}',
        '{"type": "brand.new.event"}',
        '{"type": "item.completed", "item": {"type": "hologram"}}',
        '{"type": "assistant", "message": {"content": "not a list"}}',
        '{"type": "tool_use", "part": {"tool": "bash", "state": null}}',
        '{"type": "result", "usage": "none", "total_cost_usd": "free"}',
        '{"type": 7}',
    ]
    t = parse([*torn, *lines, *weird, lines[-1][:10]])
    assert t.bad_lines == 7 and t.unknown_types.get("brand.new.event") == 2
    # everything the whole transcript said is still found
    assert {e.type for e in whole.events} <= {e.type for e in t.events}
    assert parse([]).events == [] and parse(["\x00\xff garbage"]).bad_lines == 1


def test_codex_failures_and_errors_are_reported():
    lines = [
        json.dumps({"type": "item.completed", "item": {"type": "command_execution",
                    "command": "pytest -q tests", "exit_code": 1, "status": "failed"}}),
        json.dumps({"type": "item.completed", "item": {"type": "error", "message": "warn"}}),
        json.dumps({"type": "turn.failed", "error": {"message": "stream disconnected"}}),
        json.dumps({"type": "error", "message": "Reconnecting... 1/5"}),
    ]  # fmt: skip
    t = parse_codex(lines)
    run = next(e for e in t.events if e.type == "test_run")
    assert run.payload == {"command": "pytest -q tests", "exit_code": 1}
    assert t.errors == ["warn", "stream disconnected", "Reconnecting... 1/5"]
    assert t.final_answer is None and t.usage.turns is None


@pytest.mark.parametrize(
    ("command", "paths"),
    [
        ("cat package.json src/a.ts", ["package.json", "src/a.ts"]),
        ("sed -n 1,20p src/db/schema.ts", ["src/db/schema.ts"]),
        ("grep -n drizzle package-lock.json | head -5", ["package-lock.json"]),
        ("ls -la && npm test", []),
        ("cat 'unterminated", []),
    ],
)
def test_reading_commands_name_their_files(command, paths):
    assert read_paths(command) == paths


def test_codex_shell_wrapper_is_unwrapped():
    assert unwrap_shell("/bin/bash -lc 'cat package.json'") == "cat package.json"
    assert unwrap_shell('bash -lc "npm test"') == "npm test"
    assert unwrap_shell("npm ls drizzle-kit") == "npm ls drizzle-kit"


def test_recorded_transcripts_stay_small():
    sizes = {p.name: p.stat().st_size for p in TRANSCRIPTS.glob("*.jsonl")}
    assert sizes and all(size < 100_000 for size in sizes.values()), sizes
    assert os.path.isfile(DATA / "sim" / "drizzle-pin.yaml")


def test_codex_items_started_but_never_completed_still_count():
    """A run killed at its time limit: the command it started is still in the transcript."""
    started = {"id": "item_3", "type": "command_execution", "command": "npm install x@latest",
               "aggregated_output": "", "exit_code": None, "status": "in_progress"}  # fmt: skip
    done = {**started, "id": "item_2", "command": "ls", "status": "completed", "exit_code": 0}
    lines = [
        json.dumps({"type": "item.started", "item": {**done, "status": "in_progress"}}),
        json.dumps({"type": "item.completed", "item": done}),
        json.dumps({"type": "item.started", "item": started}),
    ]
    commands = [e.payload for e in parse_codex(lines).events if e.type == "command"]
    assert commands == [
        {"command": "ls", "exit_code": 0},
        {"command": "npm install x@latest", "status": "in_progress"},
    ]
