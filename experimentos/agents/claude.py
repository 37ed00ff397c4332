"""The `claude-code` adapter: `claude -p --output-format stream-json --verbose`.

HOME is the run's private directory (Claude Code keeps its settings and session files there),
the MCP server goes into a `--mcp-config` file (with `--strict-mcp-config`, so nothing else is
loaded), and `--allowedTools` names the built-in tools and our MCP tools (`mcp__<server>__<tool>`)
since `-p` cannot ask for permission. With a policy, ANTHROPIC_BASE_URL points at the scripted
model; a model endpoint (provider anthropic only) sets ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY
from its keyEnv; otherwise ANTHROPIC_API_KEY comes from the run's secrets.

stream-json lines: system (subtype init: cwd, tools, mcp_servers with status), assistant (message
with text / tool_use blocks), user (tool_result blocks), result (subtype, is_error, result,
num_turns, total_cost_usd, usage), and stream_event with --include-partial-messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from experimentos.agents.base import Invocation, RunSetup, Transcript, register
from experimentos.agents.cli_base import CliAdapter, CliOptions
from experimentos.agents.endpoint import ModelEndpoint
from experimentos.agents.transcripts import Builder, as_int, json_lines

SIM_MODEL = "claude-sonnet-4-5"
BUILTIN_TOOLS = ["Bash", "Read", "Edit", "MultiEdit", "Write", "Glob", "Grep", "LS", "TodoWrite"]
QUIET_ENV = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}
_EDITS = {"Edit": "update", "MultiEdit": "update", "Write": "write", "NotebookEdit": "update"}
_READS = {"Read", "NotebookRead"}
_QUIET_TYPES = {"stream_event", "rate_limit_event"}


class ClaudeOptions(CliOptions):
    allowed_tools: list[str] | None = None  # default: BUILTIN_TOOLS + the MCP server's tools


@register
class ClaudeAdapter(CliAdapter):
    name = "claude-code"
    options_model = ClaudeOptions
    providers = ("anthropic",)
    refusal = (
        "Claude Code speaks only the Anthropic Messages API: use provider anthropic with an "
        "endpoint that serves /v1/messages (Anthropic, or llama.cpp, vLLM and Ollama, which "
        "serve it too), or run an OpenAI-style endpoint with the codex or opencode adapter"
    )

    def prepare(self, setup: RunSetup) -> Invocation:
        binary = self.require_binary()
        options: ClaudeOptions = self.options  # type: ignore[assignment]
        setup.home.mkdir(parents=True, exist_ok=True)
        # The prompt goes right after -p: --allowedTools and --mcp-config take several values
        # and would swallow a trailing positional argument.
        argv = [binary, "-p", setup.prompt, "--output-format", "stream-json", "--verbose"]
        argv += ["--strict-mcp-config"]
        allowed = list(options.allowed_tools or BUILTIN_TOOLS)
        if setup.mcp is not None:
            config = setup.home / "mcp.json"
            config.write_text(json.dumps(mcp_config(setup), indent=2), encoding="utf-8")
            argv += ["--mcp-config", str(config)]
            if options.allowed_tools is None:
                prefix = f"mcp__{setup.mcp.name}"
                tools = [f"{prefix}__{t}" for t in setup.mcp.tools] or [prefix]
                allowed += tools
        argv += ["--allowedTools", ",".join(allowed)]
        env = dict(QUIET_ENV)
        url = self.sim_url(setup)
        if url:
            env["ANTHROPIC_BASE_URL"] = url
            env["ANTHROPIC_API_KEY"] = "sim-not-a-secret"
        model = self.spec.model_name or (SIM_MODEL if self.sim is not None else None)
        if model:
            argv += ["--model", model]
        argv += options.extra_args
        env = self.env(setup, **env)
        if self.spec.endpoint is not None:
            env.update(endpoint_env(self.spec.endpoint, self.endpoint_key()))
        return Invocation(argv=argv, env=env, cwd=setup.workdir, stdin="")

    def parse(self, lines: Iterable[str], workdir: Path | None = None) -> Transcript:
        return parse_claude(lines, workdir)

    def shell_network(self) -> tuple[bool | None, str]:
        # claude-code's own sandbox needs bubblewrap and is off by default; its Bash tool runs
        # commands as they are (an `npm ls` in a run reached the registry).
        return True, "claude-code runs its Bash tool unsandboxed: commands may reach the network"


def endpoint_env(endpoint: ModelEndpoint, key: dict[str, str]) -> dict[str, str]:
    """The variables that point Claude Code at `endpoint`: ANTHROPIC_BASE_URL (without /v1),
    the key from keyEnv as ANTHROPIC_API_KEY (a placeholder for a server without keys, so the
    CLI never asks to log in), and the model for its side requests too (they would otherwise
    name a Haiku model the endpoint does not serve)."""
    env = {
        "ANTHROPIC_BASE_URL": endpoint.anthropic_root,
        "ANTHROPIC_API_KEY": next(iter(key.values()), "no-key"),
        "ANTHROPIC_SMALL_FAST_MODEL": endpoint.name,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": endpoint.name,
    }
    if endpoint.max_output_tokens:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(endpoint.max_output_tokens)
    return env


def mcp_config(setup: RunSetup) -> dict[str, Any]:
    """The --mcp-config file: the run's MCP server over stdio. Never holds a secret."""
    assert setup.mcp is not None
    server: dict[str, Any] = {
        "type": "stdio",
        "command": setup.mcp.command,
        "args": list(setup.mcp.args),
    }
    if setup.mcp.env:
        server["env"] = dict(setup.mcp.env)
    return {"mcpServers": {setup.mcp.name: server}}


def parse_claude(lines: Iterable[str], workdir: Path | None = None) -> Transcript:
    """Map `claude -p --output-format stream-json --verbose` lines to events and usage."""
    b = Builder(workdir)
    pending: dict[str, dict[str, Any]] = {}  # tool_use id -> the payload its result completes
    last_text: str | None = None
    result_text: str | None = None
    last = 0
    for index, data in json_lines(lines, b):
        last = index
        kind = data.get("type")
        message = data.get("message") if isinstance(data.get("message"), dict) else {}
        content = message.get("content") if isinstance(message.get("content"), list) else []
        if kind == "system":
            for server in data.get("mcp_servers") or []:
                if isinstance(server, dict) and server.get("status") not in (None, "connected"):
                    b.transcript.errors.append(
                        f"MCP server {server.get('name')}: {server.get('status')}"
                    )
        elif kind == "assistant":
            reported = message.get("model")
            # As the API answered it; Claude Code's own messages (an API error it reports
            # as the assistant) say "<synthetic>".
            if isinstance(reported, str) and reported and not reported.startswith("<"):
                b.transcript.model_id = reported[:200]
            for block in content:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    last_text = block["text"]
                elif block.get("type") == "tool_use":
                    payload = _tool_use(b, index, block)
                    if payload is not None and isinstance(block.get("id"), str):
                        pending[block["id"]] = payload
        elif kind == "user":
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    payload = pending.pop(str(block.get("tool_use_id")), None)
                    if payload is not None:
                        payload["status"] = "failed" if block.get("is_error") else "completed"
        elif kind == "result":
            _result(b, data)
            if isinstance(data.get("result"), str):
                result_text = data["result"]
        elif kind not in _QUIET_TYPES:
            b.unknown(str(kind))
    return b.finish(result_text if result_text is not None else last_text, last)


def _tool_use(b: Builder, index: int, block: dict[str, Any]) -> dict[str, Any] | None:
    name = str(block.get("name", ""))
    args = block.get("input") if isinstance(block.get("input"), dict) else {}
    path = args.get("file_path") or args.get("notebook_path")
    if name == "Bash":
        command = str(args.get("command", ""))
        b.command(index, command)
        return _last_command(b)
    if name in _READS and isinstance(path, str):
        b.add(index, "file_inspected", path=b.rel(path), via=name)
        return b.transcript.events[-1].payload
    if name == "Grep" and isinstance(args.get("path"), str):
        b.add(index, "file_inspected", path=b.rel(args["path"]), via=name)
        return b.transcript.events[-1].payload
    if name in _EDITS and isinstance(path, str):
        b.add(index, "file_edited", path=b.rel(path), change=_EDITS[name], via=name)
        return b.transcript.events[-1].payload
    if name.startswith("mcp__") and "__" in name[5:]:
        server, tool = name[5:].split("__", 1)
        b.add(index, "mcp_tool_called", server=server, tool=tool, arguments=args)
        return b.transcript.events[-1].payload
    return None


def _last_command(b: Builder) -> dict[str, Any] | None:
    for event in reversed(b.transcript.events):
        if event.type == "command":
            return event.payload
    return None


def _result(b: Builder, data: dict[str, Any]) -> None:
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    total = b.transcript.usage
    tokens_in = sum(
        as_int(usage.get(k))
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    total.tokens_in = (total.tokens_in or 0) + tokens_in
    total.tokens_out = (total.tokens_out or 0) + as_int(usage.get("output_tokens"))
    cost = data.get("total_cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        total.cost_usd = (total.cost_usd or 0.0) + float(cost)
    if isinstance(data.get("num_turns"), int):
        total.turns = (total.turns or 0) + data["num_turns"]
    if data.get("is_error") or str(data.get("subtype", "success")) != "success":
        b.transcript.errors.append(str(data.get("result") or data.get("subtype") or "error"))
