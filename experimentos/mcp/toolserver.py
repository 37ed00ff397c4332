"""The MCPServer the tools run on, with what an agent needs from it beyond the SDK's defaults.

- tools/list in its lean form (listing.py): what a model reads on every session;
- deprecated aliases (the old dotted names) that stay callable for one release but are not
  listed, so the listing stays lean and new agents learn only the current names;
- argument errors that name every problem at once, in the words of the schema (`event.path:
  required`), unknown arguments refused with the nearest known name, an unknown tool answered
  with the nearest tool names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from experimentos.errors import did_you_mean
from experimentos.mcp.listing import clean_text, lean_input_schema, lean_output_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alias:
    """An old tool name that still works: the tool it calls, and its renamed arguments."""

    target: str
    renames: dict[str, str] = field(default_factory=dict)

    def arguments(self, given: dict[str, Any]) -> dict[str, Any]:
        return {self.renames.get(k, k): v for k, v in given.items()}


class ToolServer(MCPServer):
    """MCPServer with a lean tools/list, hidden deprecated aliases and teaching argument errors.

    `on_rejected(tool, arguments, message)` is told about calls refused before the tool ran
    (bad arguments), so the server's own record of a run keeps them too.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, Alias] = {}
        self.on_rejected: Callable[[str, dict[str, Any], str], None] | None = None
        self._listing: tuple[tuple[str, ...], list] | None = None

    def alias(self, old: str, new: str, renames: dict[str, str] | None = None) -> None:
        """Keep `old` callable as `new` (arguments renamed), without listing it."""
        self.aliases[old] = Alias(new, renames or {})

    async def list_tools(self) -> list:
        tools = await super().list_tools()
        key = tuple(t.name for t in tools)
        if self._listing is None or self._listing[0] != key:
            lean = [
                t.model_copy(
                    update={
                        "description": clean_text(t.description),
                        "input_schema": lean_input_schema(t.input_schema),
                        "output_schema": lean_output_schema(t.output_schema),
                    }
                )
                for t in tools
            ]
            self._listing = (key, lean)
        return self._listing[1]

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        alias = self.aliases.get(name)
        return super()._tool_input_schema(alias.target if alias else name)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        alias = self.aliases.get(name)
        if alias is not None:
            log.warning("tool %s is deprecated: call %s", name, alias.target)
            name, arguments = alias.target, alias.arguments(arguments)
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            raise ToolError(f"unknown tool {name!r}{did_you_mean(name, self._names())}")
        known = list(tool.parameters.get("properties", {}))
        unknown = [k for k in arguments if k not in known]
        try:
            if unknown:
                problems = [
                    f"{k}: unknown argument{did_you_mean(k, known)}" for k in sorted(unknown)
                ]
                try:  # and whatever else is wrong, in the same answer
                    tool.fn_metadata.validate_arguments(
                        {k: v for k, v in arguments.items() if k in known}
                    )
                except ValidationError as exc:
                    problems += argument_problems(exc, arguments)
                raise ToolError(_problems(name, problems, known))
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                message = _problems(name, argument_problems(exc.__cause__, arguments), known)
            elif unknown:
                message = str(exc)
            else:
                raise
            if self.on_rejected is not None:
                self.on_rejected(name, arguments, message)
            raise ToolError(message) from None

    def _names(self) -> list[str]:
        return [t.name for t in self._tool_manager.list_tools()]


def _problems(tool: str, problems: list[str], known: list[str]) -> str:
    count = len(problems)
    head = f"{tool}: {count} problem{'s' if count != 1 else ''} with the arguments"
    takes = f"({tool} takes: {', '.join(known)})" if known else f"({tool} takes no arguments)"
    return "\n".join([head + ":", *(f"- {p}" for p in problems), takes])


def argument_problems(exc: ValidationError, arguments: dict[str, Any]) -> list[str]:
    """Every error of a validation, as `path: what is wrong`, the path in the caller's terms
    (a union's tag, which the caller never wrote, is left out)."""
    problems = []
    for err in exc.errors(include_url=False):
        path = _caller_path(err["loc"], arguments)
        kind = err["type"]
        message = err["msg"].removeprefix("Value error, ")
        if kind == "missing":
            message = "required"
        elif kind == "extra_forbidden":
            message = "unknown field"
        elif kind in ("enum", "literal_error") or message.startswith("Input should be"):
            message = f"{message} (got {_short(err.get('input'))})"
        problems.append(f"{path}: {message}" if path else message)
    return list(dict.fromkeys(problems))


def _caller_path(loc: tuple, arguments: dict[str, Any]) -> str:
    parts: list[str] = []
    current: Any = arguments
    for segment in loc:
        if isinstance(current, dict):
            if segment in current:
                parts.append(str(segment))
                current = current[segment]
                continue
            if segment == "custom" or current.get("type") == segment:
                continue  # a tagged union's tag
            parts.append(str(segment))
            current = None
        elif isinstance(current, list) and isinstance(segment, int) and segment < len(current):
            parts.append(str(segment))
            current = current[segment]
        else:
            parts.append(str(segment))
            current = None
    return ".".join(parts)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
