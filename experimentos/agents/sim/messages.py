"""The Anthropic Messages streaming API (`POST /v1/messages`), as claude-code speaks it.

Claude Code offers `Bash`, `Read`, `Edit`, `Write` and MCP tools named
`mcp__<server>__<tool>`. Its Edit refuses a file it has not read, so an `edit` step is two calls
(Read, then Edit). Requests without tools are side queries (titles, summaries): they get plain
text. OpenCode's tools on this wire are lower-case (`bash`, `read`, `edit`, `write`, camelCase
arguments) and its MCP tools are `<server>_<tool>`; that dialect is chosen when `bash` is
offered and `Bash` is not.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from experimentos.agents.sim.policy import Seen, Step, ToolOp, expand
from experimentos.agents.sim.wire import (
    Conversation,
    Move,
    SimCall,
    Wire,
    abs_path,
    approx_tokens,
    mcp_name,
    parse_sim_id,
)

_CWD = re.compile(r"(?i)working directory: *(\S+)")
_MCP_NAME = re.compile(r"\bmcp__[A-Za-z0-9_-]+")
SIDE_ANSWER = "OK."

# tool names and argument names per dialect
_CLAUDE = {
    "bash": "Bash",
    "read": "Read",
    "edit": "Edit",
    "write": "Write",
    "path": "file_path",
    "old": "old_string",
    "new": "new_string",
}
_OPENCODE = {
    "bash": "bash",
    "read": "read",
    "edit": "edit",
    "write": "write",
    "path": "filePath",
    "old": "oldString",
    "new": "newString",
}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _text_of(content: Any) -> str:
    return "\n".join(
        b["text"]
        for b in _blocks(content)
        if b.get("type") == "text" and isinstance(b.get("text"), str)
    )


class MessagesWire(Wire):
    def read(self) -> Conversation:
        tools = self.body.get("tools") or []
        self.tool_names = [t["name"] for t in tools if isinstance(t, dict) and "name" in t]
        names = set(self.tool_names)
        self.dialect = _OPENCODE if "bash" in names and "Bash" not in names else _CLAUDE
        system = self.body.get("system")
        system_text = system if isinstance(system, str) else _text_of(system)
        conv = Conversation(prompt="", cwd=None, has_tools=bool(self.tool_names))
        # Claude Code defers MCP tools: their names arrive in a system reminder, and ToolSearch
        # ("select:<name>") loads one before it can be called.
        self.deferred: set[str] = set()
        found = _CWD.search(system_text)
        prompts: list[str] = []
        for message in self.body.get("messages") or []:
            if not isinstance(message, dict):
                continue
            for block in _blocks(message.get("content")):
                kind = block.get("type")
                if message.get("role") == "user" and kind == "text":
                    text = str(block.get("text", "")).strip()
                    if text and not text.startswith("<"):
                        prompts.append(text)
                    elif "ToolSearch" in text:
                        self.deferred.update(_MCP_NAME.findall(text))
                    found = found or _CWD.search(text)
                elif message.get("role") == "assistant" and kind == "tool_use":
                    ids = parse_sim_id(str(block.get("id", "")))
                    if ids:
                        call = SimCall(ids[0], ids[1], str(block.get("name")), str(block["id"]))
                        conv.calls.append(call)
                elif kind == "tool_result":
                    conv.results[str(block.get("tool_use_id", ""))] = _text_of(block.get("content"))
        conv.prompt = "\n".join(prompts)
        conv.cwd = found.group(1) if found else None
        return conv

    def _mcp_tool(self, tool: str) -> str | None:
        wanted = mcp_name(tool)
        for name in self.tool_names:
            if name.startswith("mcp__") and name.endswith(f"__{wanted}"):
                return name
        if self.dialect is _OPENCODE:
            builtin = set(_OPENCODE.values())
            for name in self.tool_names:
                if name not in builtin and name.endswith(f"_{wanted}"):
                    return name
        return None

    def _deferred_tool(self, tool: str) -> str | None:
        wanted = mcp_name(tool)
        return next((n for n in sorted(self.deferred) if n.endswith(f"__{wanted}")), None)

    def available(self, tool: str) -> bool:
        return self._mcp_tool(tool) is not None or self._deferred_tool(tool) is not None

    def _mcp_call(self, step: Step, seen: Seen) -> dict[str, Any]:
        assert step.mcp is not None
        name = (
            self._mcp_tool(step.mcp.tool)
            or self._deferred_tool(step.mcp.tool)
            or f"mcp__{step.mcp.server}__{mcp_name(step.mcp.tool)}"
        )
        return {"name": name, "input": expand(step.mcp.arguments, seen)}

    def first_call(self, op: ToolOp, seen: Seen) -> dict[str, Any]:
        step, d = op.step, self.dialect
        if step.shell is not None:
            command = expand(step.shell, seen)
            return {
                "name": d["bash"],
                "input": {"command": command, "description": "Run a command"},
            }
        if step.edit is not None:
            path = abs_path(seen.cwd, expand(step.edit.path, seen))
            return {"name": d["read"], "input": {d["path"]: path}}
        if step.write is not None:
            path = abs_path(seen.cwd, expand(step.write.path, seen))
            content = expand(step.write.content, seen)
            return {"name": d["write"], "input": {d["path"]: path, "content": content}}
        assert step.mcp is not None
        deferred = self._deferred_tool(step.mcp.tool)
        if self._mcp_tool(step.mcp.tool) is None and deferred and "ToolSearch" in self.tool_names:
            return {
                "name": "ToolSearch",
                "input": {"query": f"select:{deferred}", "max_results": 1},
            }
        return self._mcp_call(step, seen)

    def follow_up(self, step: Step, last: SimCall, seen: Seen) -> dict[str, Any] | None:
        d = self.dialect
        if step.mcp is not None and last.kind == "ToolSearch":
            return self._mcp_call(step, seen)
        if step.edit is not None and last.kind == d["read"]:
            return {
                "name": d["edit"],
                "input": {
                    d["path"]: abs_path(seen.cwd, expand(step.edit.path, seen)),
                    d["old"]: expand(step.edit.old, seen),
                    d["new"]: expand(step.edit.new, seen),
                },
            }
        return None

    # --- rendering ---------------------------------------------------------------------

    def render(self, move: Move) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        """The SSE events for `move`, and the equivalent non-streaming message."""
        seed = json.dumps(self.body.get("messages"), sort_keys=True, default=str)
        digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
        if move.call is not None:
            block = {
                "type": "tool_use",
                "id": f"toolu_sim_{move.op}_{move.sub}",
                "name": move.call["name"],
                "input": move.call["input"],
            }
            stop = "tool_use"
        else:
            block = {"type": "text", "text": move.text or ""}
            stop = "end_turn"
        prompt_text = json.dumps(
            [self.body.get("system"), self.body.get("messages"), self.body.get("tools")],
            default=str,
        )
        tokens_in, tokens_out = approx_tokens(prompt_text), approx_tokens(json.dumps(block))
        usage = {
            "input_tokens": tokens_in,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": tokens_out,
        }
        message = {
            "id": f"msg_sim_{digest}",
            "type": "message",
            "role": "assistant",
            "model": self.body.get("model") or "sim",
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        if block["type"] == "tool_use":
            opening = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            opening = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        events = [
            ("message_start", {"message": start}),
            ("content_block_start", {"index": 0, "content_block": opening}),
            ("content_block_delta", {"index": 0, "delta": delta}),
            ("content_block_stop", {"index": 0}),
            (
                "message_delta",
                {
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": tokens_out},
                },
            ),
            ("message_stop", {}),
        ]
        return [(name, {"type": name, **data}) for name, data in events], message

    def side_answer(self) -> Move:
        return Move(text=SIDE_ANSWER)
