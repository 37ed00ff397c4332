"""The `scripted` adapter: a policy script played as an agent process, no agent CLI needed.

    agents:
      - name: scripted
        adapter: scripted
        options: {policy: experiments/<slug>/policy.yaml}

The agent is a real subprocess (`python -m experimentos.agents.scripted`) in the run's workdir.
It walks the same policy scripts as the scripted model server (experimentos.agents.sim.policy):
shell steps run as shell commands, edit/write steps change files, mcp steps call the attached
experimentos MCP server over stdio (the real protocol, a server bound to the run), and `if`
steps branch on what the earlier steps returned. Its stdout is the shell adapter's transcript
format, so the runner reads it the same way.

Like the scripted model, this is a stand-in for an LLM's decisions, not an agent: it makes a
matrix (and `experimentos demo`) runnable on any machine with the core install. Real agents are
measured with the codex, claude-code and opencode adapters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from experimentos.agents.base import (
    Adapter,
    AgentSpec,
    Decisions,
    Invocation,
    RunSetup,
    Transcript,
    option_error,
    register,
)
from experimentos.agents.shell import parse_shell_transcript, script_env
from experimentos.errors import UsageError
from experimentos.store.files import inside

OUTPUT_LIMIT = 8000  # characters of a step's result kept for later branches
SHELL_TIMEOUT_S = 60


@register
class ScriptedAdapter(Adapter):
    name = "scripted"

    def __init__(self, spec: AgentSpec, root: Path):
        super().__init__(spec, root)
        if spec.endpoint is not None:
            raise UsageError(
                f"agent {spec.name!r}: the scripted adapter plays a policy script and calls no "
                "model; give the model endpoint to codex, claude-code or opencode",
                field="model",
            )

    def _policy(self) -> Path:
        policy = self.spec.options.get("policy")
        if not isinstance(policy, str) or not policy.strip():
            raise UsageError(
                "the scripted adapter needs options.policy (a policy script inside the "
                "knowledge root)",
                field="options.policy",
            )
        path = Path(policy)
        path = path if path.is_absolute() else self.root / path
        if not inside(self.root, path):
            raise UsageError(f"{policy} is outside the knowledge root", field="options.policy")
        from experimentos.agents.sim.policy import load_policy

        load_policy(path)  # refused up front, with the field, when it does not validate
        return path.resolve()

    def __enter__(self) -> ScriptedAdapter:
        self._policy()
        return self

    def check(self) -> None:
        try:
            self._policy()
        except UsageError as exc:
            raise option_error("policy", self.spec.options.get("policy"), exc) from None

    def unavailable(self) -> str | None:
        try:
            self._policy()
        except UsageError as exc:
            return exc.message
        return None

    def input_files(self) -> dict[str, Path]:
        return {self.spec.options["policy"]: self._policy()}

    def wants_isolation(self) -> bool:
        return True  # a policy script needs no network: its shell steps get none

    def decisions(self) -> tuple[Decisions, str]:
        return "script", f"the scripted adapter playing {self.spec.options.get('policy')}"

    def prepare(self, setup: RunSetup) -> Invocation:
        argv = [sys.executable, "-m", "experimentos.agents.scripted", str(self._policy())]
        return Invocation(argv=argv, env=script_env(self.spec, setup), cwd=setup.workdir)

    def parse(self, lines: Iterable[str], workdir: Path | None = None) -> Transcript:
        return parse_shell_transcript(lines)


# --- the agent process -----------------------------------------------------------------------


def _emit(kind: str, **fields: Any) -> None:
    print(json.dumps({"type": kind, **fields}, ensure_ascii=False), flush=True)


def _shell(command: str, cwd: Path) -> str:
    try:
        done = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=SHELL_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        _emit("command", command=command, exit_code=None)
        return f"timed out after {SHELL_TIMEOUT_S} s"
    _emit("command", command=command, exit_code=done.returncode)
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def _edit(cwd: Path, rel: str, old: str | None, new: str) -> str:
    path = cwd / rel
    if not inside(cwd, path):
        return f"refused: {rel} is outside the working directory"
    if old is None:
        if path.exists():
            return f"refused: {rel} exists (write makes new files only)"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new, encoding="utf-8")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            return f"edit failed: {exc.strerror or exc}"
        if old not in text:
            return f"edit failed: the text to replace is not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    _emit("file_edited", path=rel)
    return f"edited {rel}"


def _tool_text(result: Any) -> str:
    parts = [getattr(c, "text", "") for c in result.content]
    if result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(p for p in parts if p)


async def _play(policy_path: Path, prompt: str, cwd: Path, mcp: dict | None) -> None:
    import contextlib

    from experimentos.agents.sim.policy import Final, Seen, choose_script, expand, load_policy

    policy = load_policy(policy_path)
    async with contextlib.AsyncExitStack() as stack:
        session = None
        tools: set[str] = set()
        if mcp is not None:
            from mcp import ClientSession, StdioServerParameters
            from mcp.client.stdio import stdio_client

            params = StdioServerParameters(
                command=mcp["command"], args=mcp["args"], env={**os.environ, **mcp["env"]}
            )
            read, write = await stack.enter_async_context(stdio_client(params))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            tools = {tool.name for tool in (await session.list_tools()).tools}
        seen = Seen(prompt=prompt, cwd=str(cwd), available=tools.__contains__)
        script = choose_script(policy, seen)
        if script is None:
            _emit("final_answer", text="No script of the policy matches this task.")
            return
        from experimentos.agents.sim.policy import next_op

        turns = 0
        while True:
            op = next_op(script, seen, turns)
            if isinstance(op, Final):
                _emit("final_answer", text=op.text)
                break
            turns += 1
            step = op.step
            if step.shell is not None:
                result = _shell(expand(step.shell, seen), cwd)
            elif step.edit is not None:
                edit = step.edit
                result = _edit(cwd, edit.path, expand(edit.old, seen), expand(edit.new, seen))
            elif step.write is not None:
                result = _edit(cwd, step.write.path, None, expand(step.write.content, seen))
            else:
                call = step.mcp
                arguments = expand(call.arguments, seen)
                if session is None or call.tool not in tools:
                    result, ok = f"no MCP tool {call.tool}", False
                else:
                    answer = await session.call_tool(call.tool, arguments)
                    result, ok = _tool_text(answer), not answer.is_error
                _emit("mcp_tool_called", tool=call.tool, ok=ok)
            seen.outputs[op.index] = result[:OUTPUT_LIMIT]
        _emit("usage", turns=turns)


def main(argv: list[str] | None = None) -> int:
    """Play the policy script named in argv[0] for the task in EXPERIMENTOS_TASK."""
    import anyio

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m experimentos.agents.scripted POLICY", file=sys.stderr)
        return 2
    prompt = os.environ.get("EXPERIMENTOS_TASK", "")
    mcp = json.loads(os.environ["EXPERIMENTOS_MCP"]) if os.environ.get("EXPERIMENTOS_MCP") else None
    try:
        anyio.run(_play, Path(args[0]), prompt, Path.cwd(), mcp)
    except UsageError as exc:
        _emit("error", message=str(exc))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
