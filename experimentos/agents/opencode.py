"""The `opencode` adapter: `opencode run --format json`.

The run's config is a file named by OPENCODE_CONFIG (HOME and the XDG directories are the run's
private ones): the MCP server as a `local` entry of `mcp`, permissions that never ask, and, with
a policy, a provider `sim` that speaks the Anthropic Messages API (`@ai-sdk/anthropic`) to the
scripted model. A model endpoint becomes the provider `endpoint`: `@ai-sdk/openai-compatible`
(openai-chat), `@ai-sdk/openai` (openai-responses) or `@ai-sdk/anthropic` (anthropic) with its
baseURL and `apiKey: "{env:<keyEnv>}"`. A plain model name is `<provider>/<model>` as opencode
names them, with the API key from the run's secrets.

`--format json` prints one JSON object a line: step_start, text (part.text), tool_use (part.tool,
part.state: status, input, output), step_finish (part.tokens: input, output, reasoning,
cache.read/write; part.cost), error (error.name, error.data.message).
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
ENDPOINT_PROVIDER = "endpoint"  # the provider id a matrix's model endpoint gets
DEFAULT_CONTEXT = 128_000  # opencode's limit needs both numbers; these fill the one not given
DEFAULT_OUTPUT = 32_000
_EDITS = {"edit": "update", "write": "write", "patch": "update", "multiedit": "update"}
_READS = {"read"}
_BUILTIN = {"bash", "read", "edit", "write", "patch", "multiedit", "grep", "glob", "list", "ls",
            "todowrite", "todoread", "task", "webfetch", "invalid"}  # fmt: skip
_QUIET_TYPES = {"step_start", "reasoning"}


class OpencodeOptions(CliOptions):
    pass


@register
class OpencodeAdapter(CliAdapter):
    name = "opencode"
    options_model = OpencodeOptions
    providers = ("openai-chat", "openai-responses", "anthropic")

    def prepare(self, setup: RunSetup) -> Invocation:
        binary = self.require_binary()
        setup.home.mkdir(parents=True, exist_ok=True)
        config = setup.home / "opencode.json"
        sim_url = self.sim_url(setup)
        endpoint = self.spec.endpoint
        if sim_url is not None:
            model = self.spec.model_name or f"sim/{SIM_MODEL}"
        elif endpoint is not None:
            model = f"{ENDPOINT_PROVIDER}/{endpoint.name}"
        else:
            model = self.spec.model_name
        data = opencode_config(setup, sim_url, endpoint)
        config.write_text(json.dumps(data, indent=2), encoding="utf-8")
        argv = [binary, "run", "--format", "json"]
        if model:
            argv += ["--model", model]
        # The prompt goes in on stdin: `opencode run` rebuilds its positional words into one
        # line and wraps a word with spaces in quotes, so the model read `"<prompt>"` (checked
        # against 1.18.33; stdin text reaches the model as it is).
        argv += self.options.extra_args
        env = {
            "OPENCODE_CONFIG": str(config),
            "XDG_CONFIG_HOME": str(setup.home / ".config"),
            "XDG_DATA_HOME": str(setup.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(setup.home / ".cache"),
            "XDG_STATE_HOME": str(setup.home / ".local" / "state"),
            # No model catalogue fetch, no plugin or LSP downloads, no share links: the run
            # stays on this machine (and offline they only cost time-outs).
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "OPENCODE_DISABLE_SHARE": "1",
            "OPENCODE_DISABLE_CLAUDE_CODE": "1",
        }
        if self.sim is not None:
            env["SIM_API_KEY"] = "sim-not-a-secret"
        return Invocation(
            argv=argv, env=self.env(setup, **env), cwd=setup.workdir, stdin=setup.prompt
        )

    def parse(self, lines: Iterable[str], workdir: Path | None = None) -> Transcript:
        return parse_opencode(lines, workdir)

    def shell_network(self) -> tuple[bool | None, str]:
        return True, "opencode runs shell commands unsandboxed: they may reach the network"


def opencode_config(
    setup: RunSetup, sim_url: str | None, endpoint: ModelEndpoint | None = None
) -> dict[str, Any]:
    """The run's opencode.json. Keys are referenced as {env:VAR}, never written."""
    data: dict[str, Any] = {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny"},
    }
    if sim_url is not None:
        data["provider"] = {
            "sim": {
                "npm": "@ai-sdk/anthropic",
                "name": "experimentos scripted model",
                "options": {"baseURL": f"{sim_url}/v1", "apiKey": "{env:SIM_API_KEY}"},
                "models": {SIM_MODEL: {"name": "scripted"}},
            }
        }
    elif endpoint is not None:
        data["provider"] = {ENDPOINT_PROVIDER: endpoint_provider(endpoint)}
    if setup.mcp is not None:
        entry: dict[str, Any] = {
            "type": "local",
            "command": [setup.mcp.command, *setup.mcp.args],
            "enabled": True,
        }
        if setup.mcp.env:
            entry["environment"] = dict(setup.mcp.env)
        data["mcp"] = {setup.mcp.name: entry}
    return data


def endpoint_provider(endpoint: ModelEndpoint) -> dict[str, Any]:
    """opencode's custom provider for a model endpoint: the AI SDK package that speaks its API,
    the base URL as that package wants it, the key as an {env:VAR} reference."""
    npm, url = {
        "openai-chat": ("@ai-sdk/openai-compatible", endpoint.endpoint),
        "openai-responses": ("@ai-sdk/openai", endpoint.endpoint),
        "anthropic": ("@ai-sdk/anthropic", f"{endpoint.anthropic_root}/v1"),
    }[endpoint.provider]
    options: dict[str, Any] = {"baseURL": url}
    # A server without keys still gets a placeholder: the SDKs refuse to start without one.
    options["apiKey"] = f"{{env:{endpoint.key_env}}}" if endpoint.key_env else "no-key"
    model: dict[str, Any] = {"name": endpoint.name}
    if endpoint.context_window or endpoint.max_output_tokens:
        context = endpoint.context_window or DEFAULT_CONTEXT
        output = endpoint.max_output_tokens or min(DEFAULT_OUTPUT, context // 4)
        model["limit"] = {"context": context, "output": output}
    return {
        "npm": npm,
        "name": f"experimentos {endpoint.provider}",
        "options": options,
        "models": {endpoint.name: model},
    }


def parse_opencode(lines: Iterable[str], workdir: Path | None = None) -> Transcript:
    """Map `opencode run --format json` lines to events and usage."""
    b = Builder(workdir)
    texts: list[str] = []
    last = 0
    turns = 0
    for index, data in json_lines(lines, b):
        last = index
        kind = data.get("type")
        part = data.get("part") if isinstance(data.get("part"), dict) else {}
        if kind == "text":
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
        elif kind == "tool_use":
            _tool(b, index, part)
        elif kind == "step_finish":
            turns += 1
            tokens = part.get("tokens") if isinstance(part.get("tokens"), dict) else {}
            cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
            usage = b.transcript.usage
            tokens_in = as_int(tokens.get("input")) + as_int(cache.get("read"))
            usage.tokens_in = (usage.tokens_in or 0) + tokens_in + as_int(cache.get("write"))
            out = as_int(tokens.get("output")) + as_int(tokens.get("reasoning"))
            usage.tokens_out = (usage.tokens_out or 0) + out
            cost = part.get("cost")
            if isinstance(cost, int | float) and not isinstance(cost, bool):
                usage.cost_usd = (usage.cost_usd or 0.0) + float(cost)
        elif kind == "error":
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            detail = error.get("data") if isinstance(error.get("data"), dict) else {}
            b.transcript.errors.append(str(detail.get("message") or error.get("name") or "error"))
        elif kind not in _QUIET_TYPES:
            b.unknown(str(kind))
    b.transcript.usage.turns = turns or None
    return b.finish(texts[-1] if texts else None, last)


def _tool(b: Builder, index: int, part: dict[str, Any]) -> None:
    tool = str(part.get("tool", ""))
    state = part.get("state") if isinstance(part.get("state"), dict) else {}
    args = state.get("input") if isinstance(state.get("input"), dict) else {}
    status = "failed" if state.get("status") == "error" else state.get("status")
    path = args.get("filePath")
    if tool == "bash":
        b.command(index, str(args.get("command", "")), status=status)
    elif tool in _READS and isinstance(path, str):
        b.add(index, "file_inspected", path=b.rel(path), via=tool, status=status)
    elif tool in _EDITS and isinstance(path, str):
        b.add(index, "file_edited", path=b.rel(path), change=_EDITS[tool], via=tool, status=status)
    elif tool not in _BUILTIN and "_" in tool:
        # MCP tools are `<server>_<tool>`; the server name cannot hold `_` reliably, so the
        # first `_` splits (our server is "experimentos").
        server, name = tool.split("_", 1)
        b.add(index, "mcp_tool_called", server=server, tool=name, arguments=args, status=status)
