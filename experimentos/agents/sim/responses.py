"""The OpenAI Responses streaming API, as codex speaks it (`POST /v1/responses`, SSE).

Codex offers `exec_command` (shell), the freeform `apply_patch` tool (edits), and MCP tools as a
`namespace` tool `mcp__<server>` whose tool names have dots turned into `_`. Codex 0.171 defers
MCP tools behind `tool_search`: the model searches, codex answers with the namespace, and the
namespaced function call then reaches the MCP server. The scripted model does the same.
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
    approx_tokens,
    mcp_name,
    parse_sim_id,
    whole_lines,
)

_CWD = re.compile(r"<cwd>(.*?)</cwd>", re.S)
_CALL_TYPES = ("function_call", "custom_tool_call", "tool_search_call")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for item in content:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
            elif isinstance(item, str):
                parts.append(item)
        return "\n".join(parts)
    if isinstance(content, dict):
        return _text_of(content.get("content") or content.get("text") or "")
    return ""


class ResponsesWire(Wire):
    def read(self) -> Conversation:
        items = self.body.get("input")
        items = items if isinstance(items, list) else []
        prompts: list[str] = []
        cwd = None
        conv = Conversation(prompt="", cwd=None)
        self.namespaces: dict[str, set[str]] = {}
        self.function_names: set[str] = set()
        self.custom_names: set[str] = set()
        for tool in self.body.get("tools") or []:
            self._learn_tool(tool)
        for item in items:
            if not isinstance(item, dict):
                continue
            kind = item.get("type", "message")
            if kind == "message" and item.get("role") in ("user", "developer"):
                text = _text_of(item.get("content"))
                found = _CWD.search(text)
                if found:
                    cwd = found.group(1).strip()
                if (
                    item.get("role") == "user"
                    and text.strip()
                    and not text.lstrip().startswith("<")
                ):
                    prompts.append(text.strip())
            elif kind in _CALL_TYPES:
                ids = parse_sim_id(str(item.get("call_id", "")))
                if ids:
                    conv.calls.append(SimCall(ids[0], ids[1], kind, str(item["call_id"])))
            elif kind in ("function_call_output", "custom_tool_call_output"):
                conv.results[str(item.get("call_id", ""))] = _text_of(item.get("output"))
            elif kind == "tool_search_output":
                for tool in item.get("tools") or []:
                    self._learn_tool(tool)
                conv.results[str(item.get("call_id", ""))] = ""
        conv.prompt = "\n".join(prompts)
        conv.cwd = cwd
        return conv

    def _learn_tool(self, tool: Any) -> None:
        if not isinstance(tool, dict):
            return
        kind, name = tool.get("type"), tool.get("name")
        if kind == "namespace" and isinstance(name, str):
            inner = {t.get("name") for t in tool.get("tools") or [] if isinstance(t, dict)}
            self.namespaces.setdefault(name, set()).update(n for n in inner if n)
        elif kind == "function" and isinstance(name, str):
            self.function_names.add(name)
        elif kind == "custom" and isinstance(name, str):
            self.custom_names.add(name)
        elif kind == "tool_search":
            self.function_names.add("tool_search")

    # --- MCP tools ---------------------------------------------------------------------

    def _namespace_for(self, tool: str) -> str | None:
        wanted = mcp_name(tool)
        for namespace, names in sorted(self.namespaces.items()):
            if namespace.startswith("mcp__") and wanted in names:
                return namespace
        return None

    def _mcp_configured(self) -> bool:
        # codex offers the MCP resource tools only when an MCP server is configured.
        return "list_mcp_resources" in self.function_names or any(
            n.startswith("mcp__") for n in self.namespaces
        )

    def available(self, tool: str) -> bool:
        if self._namespace_for(tool):
            return True
        return self._mcp_configured() and "tool_search" in self.function_names

    def _mcp_call(self, step: Step, seen: Seen) -> dict[str, Any]:
        assert step.mcp is not None
        namespace = self._namespace_for(step.mcp.tool) or f"mcp__{step.mcp.server}"
        return {
            "type": "function_call",
            "namespace": namespace,
            "name": mcp_name(step.mcp.tool),
            "arguments": json.dumps(expand(step.mcp.arguments, seen)),
        }

    # --- calls -------------------------------------------------------------------------

    def first_call(self, op: ToolOp, seen: Seen) -> dict[str, Any]:
        step = op.step
        if step.shell is not None:
            command = expand(step.shell, seen)
            return {"type": "function_call", "name": "exec_command", "arguments": _args(command)}
        if step.edit is not None:
            path = expand(step.edit.path, seen)
            old, new = expand(step.edit.old, seen), expand(step.edit.new, seen)
            old, new = whole_lines(seen.cwd, path, old, new)
            lines = [f"*** Update File: {path}", "@@"]
            lines += [f"-{line}" for line in _lines(old)] + [f"+{line}" for line in _lines(new)]
            return self._patch(lines, seen)
        if step.write is not None:
            lines = [f"*** Add File: {expand(step.write.path, seen)}"]
            lines += [f"+{line}" for line in _lines(expand(step.write.content, seen))]
            return self._patch(lines, seen)
        assert step.mcp is not None
        if self._namespace_for(step.mcp.tool) is None and "tool_search" in self.function_names:
            return {
                "type": "tool_search_call",
                "execution": "client",
                "arguments": {"query": mcp_name(step.mcp.tool), "limit": 8},
            }
        return self._mcp_call(step, seen)

    def follow_up(self, step: Step, last: SimCall, seen: Seen) -> dict[str, Any] | None:
        if step.mcp is not None and last.kind == "tool_search_call":
            return self._mcp_call(step, seen)
        return None

    def _patch(self, lines: list[str], seen: Seen) -> dict[str, Any]:
        patch = "\n".join(["*** Begin Patch", *lines, "*** End Patch"]) + "\n"
        if "apply_patch" in self.custom_names:
            return {"type": "custom_tool_call", "name": "apply_patch", "input": patch}
        if "apply_patch" in self.function_names:
            return {
                "type": "function_call",
                "name": "apply_patch",
                "arguments": _args(patch, "input"),
            }
        # Older models get no patch tool; codex still intercepts `apply_patch` run as a command.
        command = f"apply_patch <<'SIM_PATCH'\n{patch}SIM_PATCH"
        return {"type": "function_call", "name": "exec_command", "arguments": _args(command)}

    # --- rendering ---------------------------------------------------------------------

    def render(self, move: Move) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        """The SSE events for `move`, and the final response object."""
        seed = json.dumps(self.body.get("input"), sort_keys=True, default=str)
        digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
        if move.call is not None:
            item = dict(move.call)
            item["call_id"] = f"call_sim_{move.op}_{move.sub}"
            item.setdefault("status", "completed")
            item["id"] = f"fc_{digest}"
        else:
            item = {
                "type": "message",
                "id": f"msg_{digest}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": move.text or "", "annotations": []}],
            }
        prompt_text = json.dumps(
            [self.body.get("instructions"), self.body.get("input"), self.body.get("tools")],
            default=str,
        )
        tokens_in, tokens_out = approx_tokens(prompt_text), approx_tokens(json.dumps(item))
        model = self.body.get("model") or "sim"
        base = {"id": f"resp_{digest}", "object": "response", "model": model}
        response = {
            **base,
            "status": "completed",
            "output": [item],
            "usage": {
                "input_tokens": tokens_in,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": tokens_out,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": tokens_in + tokens_out,
            },
        }
        events = [
            ("response.created", {"response": {**base, "status": "in_progress", "output": []}}),
            ("response.output_item.done", {"output_index": 0, "item": item}),
            ("response.completed", {"response": response}),
        ]
        return [(name, {"type": name, **data}) for name, data in events], response


def _args(value: str, key: str = "cmd") -> str:
    return json.dumps({key: value})


def _lines(text: str) -> list[str]:
    if text == "":
        return []
    return text.removesuffix("\n").split("\n")
