"""The `codex` adapter: `codex exec --json` with a per-run CODEX_HOME.

The MCP server goes into `$CODEX_HOME/config.toml` as `[mcp_servers.<name>]`. With a policy the
model provider is the scripted model (`-c model_provider=sim …`, wire_api "responses", a dummy
key in an env var). A model endpoint (provider openai-responses: codex 0.171.0 speaks no other
API) becomes `model_providers.endpoint` with its base_url and `env_key` = the endpoint's keyEnv;
a plain model name uses codex's default provider, with OPENAI_API_KEY / CODEX_API_KEY from the
run's secrets.

`codex exec --json` prints JSONL: thread.started, turn.started, item.started/updated/completed
(items: agent_message, reasoning, command_execution, file_change, mcp_tool_call, web_search,
todo_list, plan, collab_tool_call, error), turn.completed (usage), turn.failed, error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from experimentos.agents.base import Invocation, RunSetup, Transcript, register
from experimentos.agents.cli_base import CliAdapter, CliOptions, toml_inline, toml_string
from experimentos.agents.endpoint import ModelEndpoint
from experimentos.agents.install import PINS
from experimentos.agents.transcripts import Builder, add_tokens, json_lines

SIM_KEY_VAR = "EXPERIMENTOS_SIM_KEY"
ENDPOINT_PROVIDER = "endpoint"  # the model_providers key a matrix's model endpoint gets
CODEX_VERSION = PINS["codex"].version
# A model codex has metadata for: with an unknown name it sends no apply_patch tool and no
# MCP tools at all (checked against 0.171.0).
SIM_MODEL = "gpt-5.5"

_QUIET_TYPES = {"thread.started", "turn.started", "item.updated", "item.plan.delta"}
# Items that start before they complete: one killed at the time limit still counts as tried.
_STARTED = {"command_execution", "mcp_tool_call", "file_change"}
_QUIET_ITEMS = {"reasoning", "web_search", "todo_list", "plan", "collab_tool_call"}


class CodexOptions(CliOptions):
    sandbox: Literal["read-only", "workspace-write", "danger-full-access"] = "workspace-write"


@register
class CodexAdapter(CliAdapter):
    name = "codex"
    options_model = CodexOptions
    providers = ("openai-responses",)
    refusal = (
        f'codex {CODEX_VERSION} speaks only the Responses API (its wire_api "chat" was '
        "removed): use provider openai-responses (llama.cpp, vLLM and Ollama serve "
        "/v1/responses too), or run this endpoint with the opencode adapter"
    )

    def prepare(self, setup: RunSetup) -> Invocation:
        binary = self.require_binary()
        options: CodexOptions = self.options  # type: ignore[assignment]
        codex_home = setup.home / "codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(config_toml(setup), encoding="utf-8")
        argv = [binary, "exec", "--json", "--skip-git-repo-check", "--sandbox", options.sandbox]
        env_extra = {"CODEX_HOME": str(codex_home)}
        url = self.sim_url(setup)
        endpoint = self.spec.endpoint
        if url is not None:
            provider = {"name": "sim", "base_url": f"{url}/v1", "wire_api": "responses"}
            provider["env_key"] = SIM_KEY_VAR
            argv += provider_args("sim", provider)
            argv += ["-m", self.spec.model_name or SIM_MODEL]
            env_extra[SIM_KEY_VAR] = "sim-not-a-secret"
        elif endpoint is not None:
            argv += endpoint_args(endpoint)
        elif self.spec.model_name:
            argv += ["-m", self.spec.model_name]
        argv += [*options.extra_args, setup.prompt]
        # stdin is closed ("" not None): codex otherwise waits to read more of the prompt.
        return Invocation(argv=argv, env=self.env(setup, **env_extra), cwd=setup.workdir, stdin="")

    def parse(self, lines: Iterable[str], workdir: Path | None = None) -> Transcript:
        return parse_codex(lines, workdir)

    def shell_network(self) -> tuple[bool | None, str]:
        sandbox = self.options.sandbox  # type: ignore[attr-defined]
        if sandbox == "danger-full-access":
            return True, "codex --sandbox danger-full-access: its commands may reach the network"
        return False, f"codex's {sandbox} sandbox: network_access = false (no network)"


def provider_args(key: str, provider: dict[str, Any]) -> list[str]:
    return ["-c", f"model_provider={key}", "-c", f"model_providers.{key}={toml_inline(provider)}"]


def endpoint_args(endpoint: ModelEndpoint) -> list[str]:
    """`-c` overrides that make `endpoint` codex's model provider (key by env var name only)."""
    provider: dict[str, Any] = {
        "name": f"experimentos {endpoint.provider}",
        "base_url": endpoint.endpoint,
        "wire_api": "responses",
    }
    if endpoint.key_env:
        provider["env_key"] = endpoint.key_env
    argv = provider_args(ENDPOINT_PROVIDER, provider)
    if endpoint.context_window:
        argv += ["-c", f"model_context_window={endpoint.context_window}"]
    # maxOutputTokens has no codex setting (0.171.0 ignores model_max_output_tokens): the
    # endpoint's own limit applies.
    return [*argv, "-m", endpoint.name]


def config_toml(setup: RunSetup) -> str:
    """The per-run config: the sandbox and the MCP server (if any). Never holds a secret."""
    lines = ["# written by experimentos for one run", ""]
    # workspace-write: the workdir and the run's own TMPDIR, not the machine's /tmp. codex
    # otherwise writes there, and mounts empty .git/.codex/.agents directories in it while a
    # command runs (a killed run leaves them; a stray /tmp/.git claims every directory below).
    # network_access = false is codex's default, written so the run's config says it: the
    # agent's commands get no network (the record says so too).
    lines += ["[sandbox_workspace_write]", "exclude_slash_tmp = true", "network_access = false", ""]
    if setup.mcp is not None:
        mcp = setup.mcp
        table = f"mcp_servers.{toml_string(mcp.name)}"
        lines += [f"[{table}]", f"command = {toml_string(mcp.command)}"]
        lines.append("args = [" + ", ".join(toml_string(a) for a in mcp.args) + "]")
        # required: codex waits for the server before the first model request (0.171.0 starts
        # MCP servers in the background and defers their tools otherwise).
        # "approve": codex exec never asks, so tools that write (start_pre_work_protocol)
        # would fail with "requires approval" without it.
        lines += ["required = true", "startup_timeout_sec = 30", "tool_timeout_sec = 120"]
        lines.append('default_tools_approval_mode = "approve"')
        if mcp.tools:
            names = ", ".join(toml_string(t) for t in mcp.tools)
            lines.append(f"enabled_tools = [{names}]")
        if mcp.env:
            lines += ["", f"[{table}.env]"]
            lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in sorted(mcp.env.items())]
    return "\n".join(lines) + "\n"


def parse_codex(lines: Iterable[str], workdir: Path | None = None) -> Transcript:
    """Map `codex exec --json` lines to events and usage; unknown types are counted."""
    b = Builder(workdir)
    final: str | None = None
    last = 0
    turns = 0
    in_flight: dict[str, tuple[int, dict[str, Any]]] = {}  # item id -> (line, started item)
    for index, data in json_lines(lines, b):
        last = index
        kind = data.get("type")
        item = data.get("item") if isinstance(data.get("item"), dict) else None
        if kind == "item.started" and item is not None:
            if item.get("type") in _STARTED and isinstance(item.get("id"), str):
                in_flight[item["id"]] = (index, item)
        elif kind == "item.completed" and item is not None:
            in_flight.pop(str(item.get("id")), None)
            final = _item(b, index, item) or final
        elif kind == "turn.completed":
            turns += 1
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            add_tokens(b, usage.get("input_tokens"), usage.get("output_tokens"))
        elif kind in ("turn.failed", "error"):
            error = data.get("error") if kind == "turn.failed" else data
            message = error.get("message") if isinstance(error, dict) else None
            b.transcript.errors.append(str(message or kind))
        elif kind not in _QUIET_TYPES:
            b.unknown(str(kind))
    for index, item in sorted(in_flight.values(), key=lambda pair: pair[0]):
        _item(b, index, {**item, "status": "in_progress"})
    b.transcript.usage.turns = turns or None
    return b.finish(final, last)


def _item(b: Builder, index: int, item: dict[str, Any]) -> str | None:
    kind = item.get("type")
    if kind == "agent_message":
        text = item.get("text")
        return text if isinstance(text, str) else None
    if kind == "command_execution":
        extra = {"exit_code": item["exit_code"]} if isinstance(item.get("exit_code"), int) else {}
        if item.get("status") == "in_progress":
            extra["status"] = "in_progress"
        b.command(index, str(item.get("command", "")), **extra)
    elif kind == "file_change":
        for change in item.get("changes") or []:
            if isinstance(change, dict) and isinstance(change.get("path"), str):
                status = item.get("status")
                b.add(index, "file_edited", path=b.rel(change["path"]), change=change.get("kind"),
                      status=status)  # fmt: skip
    elif kind == "mcp_tool_call":
        error = item.get("error")
        b.add(
            index,
            "mcp_tool_called",
            server=item.get("server"),
            tool=item.get("tool"),
            arguments=item.get("arguments"),
            status=item.get("status"),
            error=error.get("message") if isinstance(error, dict) else None,
        )
    elif kind == "error":
        b.transcript.errors.append(str(item.get("message", "error")))
    elif kind not in _QUIET_ITEMS:
        b.unknown(f"item:{kind}")
    return None
