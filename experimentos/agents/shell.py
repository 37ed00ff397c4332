"""The `shell` adapter: run a script of ours as the agent (baselines, tests, benchmarks).

    agents:
      - name: keep-pin
        adapter: shell
        options:
          script: experiments/demo/agents/keep-pin.sh   # inside the knowledge root
          args: [--fast]                                # optional
          env: {MODE: careful}                          # optional, plain (non-secret) values
          decisions: script                             # default; `model` for a script that
                                                        # drives a real model (an LLM wrapper)
          network: false                                # default: run without network (true
                                                        # for a script that calls a model API)

The script runs with the run's workdir as its cwd and this environment (on top of the clean
base the runner gives every agent): EXPERIMENTOS_TASK (the prompt), EXPERIMENTOS_RUN_ID,
EXPERIMENTOS_WORKDIR, EXPERIMENTOS_TIME_LIMIT, EXPERIMENTOS_MODEL (when the spec names one; with
a model endpoint also EXPERIMENTOS_MODEL_PROVIDER, EXPERIMENTOS_MODEL_BASE_URL and, with a key,
EXPERIMENTOS_MODEL_KEY_ENV and that variable) and,
for conditions that attach the MCP server, EXPERIMENTOS_MCP: a JSON object {name, command, args,
env} that starts the server over stdio, bound to the run.

Its stdout is the transcript: one JSON object per line, `type` plus the fields of that type.

    {"type": "command", "command": "npm test", "exit_code": 1}
    {"type": "file_inspected", "path": "src/db/schema.ts"}
    {"type": "file_edited", "path": "src/db/schema.ts", "summary": "..."}
    {"type": "test_run", "passed": true, "command": "npm test"}
    {"type": "package_version_checked", "package": "drizzle-kit", "version": "0.30.4"}
    {"type": "mcp_tool_called", "tool": "get_work_brief", "ok": true}
    {"type": "final_answer", "text": "Kept the pin; fixed the default in schema.ts."}
    {"type": "usage", "tokens_in": 1200, "tokens_out": 300, "cost_usd": 0.01, "model": "m-2026"}
    {"type": "error", "message": "..."}

Other types are counted as unknown and kept in the raw transcript; lines that are not JSON
objects are counted as bad lines. Neither stops the parse.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from experimentos.agents.base import (
    Adapter,
    AgentSpec,
    Decisions,
    Invocation,
    RunSetup,
    Transcript,
    TranscriptEvent,
    register,
)
from experimentos.agents.endpoint import endpoint_key
from experimentos.errors import UsageError
from experimentos.store.files import inside
from experimentos.store.parse import load_json

EVENT_TYPES = (
    "command",
    "file_inspected",
    "file_edited",
    "test_run",
    "package_version_checked",
    "mcp_tool_called",
)
_USAGE_INT = ("tokens_in", "tokens_out", "turns")


@register
class ShellAdapter(Adapter):
    name = "shell"

    def _script(self) -> Path:
        script = self.spec.options.get("script")
        if not isinstance(script, str) or not script.strip():
            raise UsageError(
                "the shell adapter needs options.script (a path inside the knowledge root)",
                field="options.script",
            )
        path = Path(script)
        path = path if path.is_absolute() else self.root / path
        if not inside(self.root, path):
            raise UsageError(f"{script} is outside the knowledge root", field="options.script")
        try:
            mode = path.stat().st_mode
        except OSError:
            raise UsageError(f"no script at {script}", field="options.script") from None
        if not stat.S_ISREG(mode):
            raise UsageError(f"{script} is not a regular file", field="options.script")
        return path.resolve()

    def __enter__(self) -> ShellAdapter:
        self._script()  # a missing or misplaced script is refused before any run starts
        return self

    def check(self) -> None:
        self._script()

    def unavailable(self) -> str | None:
        if "script" not in self.spec.options:
            return None  # runnable here; each agent spec names its own script
        try:
            self._script()
        except UsageError as exc:
            return exc.message
        return None

    def input_files(self) -> dict[str, Path]:
        return {self.spec.options["script"]: self._script()}

    def wants_isolation(self) -> bool:
        network = self.spec.options.get("network", False)
        if not isinstance(network, bool):
            raise UsageError("options.network must be true or false", field="options.network")
        return not network

    def shell_network(self) -> tuple[bool | None, str]:
        return True, "options.network is true: the script may reach the network"

    def decisions(self) -> tuple[Decisions, str]:
        said = self.spec.options.get("decisions", "script")
        if said not in ("model", "script"):
            raise UsageError(
                f"options.decisions must be model or script, not {said!r}",
                field="options.decisions",
            )
        script = self.spec.options.get("script")
        if said == "model":
            return "model", f"a model driven by the shell script {script}"
        return "script", f"the shell script {script}"

    def prepare(self, setup: RunSetup) -> Invocation:
        script = self._script()
        options = self.spec.options
        args = options.get("args", [])
        extra = options.get("env", {})
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise UsageError("options.args must be a list of strings", field="options.args")
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            raise UsageError("options.env must map names to strings", field="options.env")
        if os.access(script, os.X_OK):
            argv = [str(script), *args]
        elif script.suffix == ".py":
            argv = [sys.executable, str(script), *args]
        else:
            argv = ["/bin/sh", str(script), *args]
        env = script_env(self.spec, setup, extra)
        return Invocation(argv=argv, env=env, cwd=setup.workdir)

    def parse(self, lines: Iterable[str], workdir: Path | None = None) -> Transcript:
        return parse_shell_transcript(lines)


def script_env(
    spec: AgentSpec, setup: RunSetup, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment a script agent runs with (the module docstring lists the variables);
    `extra` (options.env) cannot override them."""
    env = {
        **setup.base_env,
        **(extra or {}),
        "EXPERIMENTOS_TASK": setup.prompt,
        "EXPERIMENTOS_RUN_ID": setup.run_id,
        "EXPERIMENTOS_WORKDIR": str(setup.workdir),
        "EXPERIMENTOS_TIME_LIMIT": f"{setup.time_limit_s:g}",
        **setup.secrets,
    }
    if spec.model_name:
        env["EXPERIMENTOS_MODEL"] = spec.model_name
    if spec.endpoint is not None:  # a script that calls the model itself
        env["EXPERIMENTOS_MODEL_PROVIDER"] = spec.endpoint.provider
        env["EXPERIMENTOS_MODEL_BASE_URL"] = spec.endpoint.endpoint
        if spec.endpoint.key_env:
            env["EXPERIMENTOS_MODEL_KEY_ENV"] = spec.endpoint.key_env
            env.update(endpoint_key(spec.name, spec.endpoint))
    if setup.mcp is not None:
        env["EXPERIMENTOS_MCP"] = json.dumps(
            {
                "name": setup.mcp.name,
                "command": setup.mcp.command,
                "args": setup.mcp.args,
                "env": setup.mcp.env,
            }
        )
    return env


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def parse_shell_transcript(lines: Iterable[str]) -> Transcript:
    """The shell transcript format (module docstring) as events and usage; never raises."""
    out = Transcript()
    totals: dict[str, float] = {}
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = load_json(line)
        except ValueError:
            out.bad_lines += 1
            continue
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            out.bad_lines += 1
            continue
        kind = data.pop("type")
        if kind in EVENT_TYPES:
            out.events.append(TranscriptEvent(index=index, type=kind, payload=data))
        elif kind == "final_answer":
            text = data.get("text")
            if isinstance(text, str):
                out.final_answer = text
                out.events.append(TranscriptEvent(index=index, type=kind, payload={"text": text}))
            else:
                out.bad_lines += 1
        elif kind == "usage":
            if isinstance(data.get("model"), str) and data["model"]:
                out.model_id = data["model"][:200]  # the model id the provider reported
            for key in (*_USAGE_INT, "cost_usd"):
                value = _number(data.get(key))
                if value is not None:
                    totals[key] = totals.get(key, 0) + value
        elif kind == "error":
            out.errors.append(str(data.get("message", ""))[:2000])
        else:
            out.unknown_types[kind] = out.unknown_types.get(kind, 0) + 1
    for key, value in totals.items():
        setattr(out.usage, key, int(value) if key in _USAGE_INT else float(value))
    return out
