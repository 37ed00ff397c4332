"""MCP errors an agent can act on: OS errors and crashes become tool errors naming the
argument, and reading an unknown resource is resource-not-found, not an internal error."""

from __future__ import annotations

import anyio
import mcp
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from experimentos.mcp.server import build_server
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import page_text, write_files

HUGE = "a" * 1_000_000


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "kb"
    init_workspace(root)
    config = root / "experimentos.toml"
    config.write_text(config.read_text().replace('"minilm"', '"none"'), encoding="utf-8")
    write_files(root, {"policies/keep-pins.md": page_text("policy.keep-pins", "policy", "Pins")})
    server = build_server(Workspace(root))
    yield server
    server.state.live.close()


def run(server, script):
    async def main():
        async with mcp.Client(server) as client:
            return await script(client)

    return anyio.run(main)


def text(result) -> str:
    return " ".join(c.text for c in result.content if c.type == "text")


@pytest.mark.parametrize(
    "tool", ["get_work_brief", "get_agent_work_context", "start_pre_work_protocol"]
)
def test_an_unusable_repo_path_is_a_tool_error_naming_the_argument(server, tool):
    async def script(c):
        return await c.call_tool(tool, {"task": "bump it", "repo": HUGE})

    result = run(server, script)
    assert result.is_error
    message = text(result)
    assert "repo" in message and "too long" in message.lower(), message
    assert len(message) < 1000  # the 1 MB value is not echoed back


def test_an_unexpected_crash_is_a_readable_tool_error(server, monkeypatch):
    def boom(*_args, **_kwargs):
        raise ZeroDivisionError("division by zero in the graph walk")

    monkeypatch.setattr(server.state, "dependencies", boom)

    async def script(c):
        first = await c.call_tool("resolve_dependencies", {"page_id": "policy.keep-pins"})
        after = await c.call_tool("get_page", {"page_id": "policy.keep-pins"})
        return first, after

    first, after = run(server, script)
    assert first.is_error
    message = text(first)
    assert "resolve_dependencies" in message and "ZeroDivisionError" in message
    assert message != "Error executing tool resolve_dependencies"
    assert not after.is_error  # the server stays up


@pytest.mark.parametrize(
    "uri",
    [
        "wiki://pages/policy.nope",
        "wiki://pages/policy..bad",
        "wiki://pages/nothing",
        "brief://brief.0123456789abcdef",
        "brief://not-a-brief",
    ],
)
def test_reading_an_unknown_resource_is_resource_not_found(server, uri):
    async def script(c):
        with pytest.raises(MCPError) as caught:
            await c.read_resource(uri)
        return caught.value

    error = run(server, script)
    assert error.error.code == INVALID_PARAMS, (uri, error.error)
    assert error.error.message


def test_a_known_page_resource_is_read(server):
    async def script(c):
        return await c.read_resource("wiki://pages/policy.keep-pins")

    result = run(server, script)
    assert "id: policy.keep-pins" in result.contents[0].text


def _filler(schema: dict):  # a plausible value of a tool argument's JSON schema
    kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
    if "integer" in kinds or "number" in kinds:
        return 1
    if "boolean" in kinds:
        return False
    if "array" in kinds:
        return ["x"]
    if "object" in kinds:
        return {}
    return "x"


def test_a_nul_character_in_any_argument_of_any_tool_is_a_tool_error_naming_it(server):
    """A NUL cannot be part of a path (the system refuses it with ValueError, not OSError):
    every string argument of every tool, alone or in a list, is refused by name."""

    async def script(c):
        problems = []
        for tool in (await c.list_tools()).tools:
            props = tool.input_schema.get("properties", {})
            required = tool.input_schema.get("required", [])
            for name, schema in props.items():
                kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
                if "string" not in kinds and "array" not in kinds:
                    continue
                args = {r: _filler(props[r]) for r in required}
                args[name] = ["a\x00b"] if "string" not in kinds else "a\x00b"
                result = await c.call_tool(tool.name, args)
                message = text(result)
                if "unexpectedly" in message or not result.is_error and "\x00" in message:
                    problems.append((tool.name, name, message[:200]))
        return problems

    assert run(server, script) == []
