"""What every wire format shares: reading the conversation, deciding the next move.

Each tool call the scripted model makes carries an id `…sim_<op>_<sub>`: `op` is the policy
step's ordinal in the conversation, `sub` the call within it (a step can take several calls, e.g.
claude's Read before Edit, codex's tool_search before a deferred MCP tool). The next request
shows those ids and their results, so the next move is derived from the request alone.
"""

from __future__ import annotations

import abc
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from experimentos.agents.sim.policy import (
    Final,
    Policy,
    Seen,
    Step,
    ToolOp,
    choose_script,
    next_op,
)

_SIM_ID = re.compile(r"sim_(\d+)_(\d+)$")
NO_SCRIPT = "No policy script matches this task; the scripted model has nothing to do."


@dataclass(frozen=True)
class SimCall:
    """A call the scripted model made earlier in this conversation."""

    op: int
    sub: int
    kind: str  # the wire's own item or tool name, e.g. tool_search_call, Read
    call_id: str


@dataclass
class Conversation:
    prompt: str
    cwd: str | None
    calls: list[SimCall] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)  # call id -> result text
    has_tools: bool = True


@dataclass(frozen=True)
class Move:
    """The model's answer: a tool call (name + arguments in the wire's terms) or text."""

    text: str | None = None
    call: dict[str, Any] | None = None
    op: int | None = None
    sub: int = 0


def parse_sim_id(call_id: str) -> tuple[int, int] | None:
    found = _SIM_ID.search(call_id or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def approx_tokens(text: str) -> int:
    """A plausible, deterministic token count (about four characters a token)."""
    return max(1, math.ceil(len(text) / 4))


class Wire(abc.ABC):
    """One request in one wire format."""

    def __init__(self, body: dict[str, Any]):
        self.body = body
        self.conversation = self.read()

    @abc.abstractmethod
    def read(self) -> Conversation: ...

    @abc.abstractmethod
    def available(self, tool: str) -> bool:
        """Whether the agent offers (or can discover) our MCP tool `tool`."""

    @abc.abstractmethod
    def first_call(self, op: ToolOp, seen: Seen) -> dict[str, Any]:
        """The first wire call for a tool step."""

    def follow_up(self, step: Step, last: SimCall, seen: Seen) -> dict[str, Any] | None:
        """The next call of a multi-call step after `last`, or None when the step is done."""
        return None

    def decide(self, policy: Policy) -> Move:
        conv = self.conversation
        outputs: dict[int, str] = {}
        for call in conv.calls:
            if call.call_id in conv.results:
                previous = outputs.get(call.op, "")
                outputs[call.op] = previous + conv.results[call.call_id]
        seen = Seen(prompt=conv.prompt, cwd=conv.cwd, outputs=outputs, available=self.available)
        script = choose_script(policy, seen)
        if script is None:
            return Move(text=NO_SCRIPT)
        done = 0
        if conv.calls:
            last = conv.calls[-1]
            current = next_op(script, seen, last.op)
            if isinstance(current, ToolOp):
                more = self.follow_up(current.step, last, seen)
                if more is not None:
                    return Move(call=more, op=last.op, sub=last.sub + 1)
            done = last.op + 1
        move = next_op(script, seen, done)
        if isinstance(move, Final):
            return Move(text=move.text)
        return Move(call=self.first_call(move, seen), op=move.index, sub=0)


def mcp_name(tool: str) -> str:
    """How agents show our tool names: anything but letters, digits, _ and - becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", tool)


def abs_path(cwd: str | None, path: str) -> str:
    """`path` made absolute against the agent's working directory (when the request shows it)."""
    return path if os.path.isabs(path) or not cwd else os.path.join(cwd, path)


def whole_lines(cwd: str | None, path: str, old: str, new: str) -> tuple[str, str]:
    """Widen a substring edit to the whole lines it touches, as a patch needs them.

    The scripted model looks at the file the way a model would after reading it; when the file
    cannot be read or does not contain `old`, the edit is returned as given (and will fail in
    the agent, which is what a wrong edit should do).
    """
    try:
        with open(abs_path(cwd, path), encoding="utf-8") as handle:
            text = handle.read(2_000_000)
    except (OSError, UnicodeDecodeError):
        return old, new
    at = text.find(old)
    if at < 0:
        return old, new
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at + len(old))
    end = len(text) if end < 0 else end
    before, after = text[start:at], text[at + len(old) : end]
    return before + old + after, before + new + after
