"""MCP `propose_promotion` through the real protocol (the in-memory client)."""

from __future__ import annotations

import anyio
import mcp
import pytest

from experimentos.mcp.server import build_server

from .promote_helpers import ABLATION, PAGE, make_kb, strong_effect, write_matrix
from .proposal_helpers import branches


def run(server, script):
    async def main():
        async with mcp.Client(server) as client:
            return await script(client)

    return anyio.run(main)


@pytest.fixture
def kb(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    write_matrix(ws, "ablate", [ABLATION, "brief"], {("f1", "a1"): strong_effect(10)}, commit)
    small = {("f1", "a1"): ["PC", "PC"], ("f2", "a1"): ["PC", "CC"]}
    write_matrix(ws, "small", [ABLATION, "brief"], small, commit)
    return ws


def test_a_passing_gate_becomes_a_proposal(kb):
    server = build_server(kb)

    async def script(c):
        tools = {t.name: t for t in (await c.list_tools()).tools}
        found = await c.call_tool(
            "propose_promotion", {"page_id": PAGE, "matrix": "ablate", "reviewer": "Agent Smith"}
        )
        return tools["propose_promotion"], found

    tool, found = run(server, script)
    assert tool.annotations.read_only_hint is False and tool.description
    assert not found.is_error, found.content
    data = found.structured_content
    assert data["passed"] and data["basis"] == "ablation" and data["pairs"] == 10
    assert data["delta"] == pytest.approx(0.8) and data["low"] > 0
    assert data["proposal"]["name"] == "xos/promote/policy.keep-pins"
    assert branches(kb.root) == ["xos/promote/policy.keep-pins"]
    assert server.state.proposals_opened == 1
    assert kb.read(PAGE).page.status.value == "draft"  # the working tree is the user's


def test_a_failing_gate_proposes_nothing_and_says_how_many_repeats(kb):
    server = build_server(kb)

    async def script(c):
        return await c.call_tool("propose_promotion", {"page_id": PAGE, "matrix": "small"})

    found = run(server, script)
    assert not found.is_error
    data = found.structured_content
    assert data["passed"] is False and data["proposal"] is None
    assert data["repeats_needed"] == 4 and data["reasons"][0].startswith("underpowered:")
    assert branches(kb.root) == [] and server.state.proposals_opened == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"page_id": "policy.nope", "matrix": "ablate"}, "policy.nope"),
        ({"page_id": "../../etc/passwd", "matrix": "ablate"}, "unknown prefix"),
        ({"page_id": PAGE, "matrix": "nope"}, "no runs of matrix 'nope'"),
        ({"page_id": PAGE, "matrix": "ablate", "metric": "tokens_in"}, "metric: Input should be"),
        ({"page_id": "failure.blind-upgrade", "matrix": "ablate"}, "only policy and intervention"),
    ],
)
def test_bad_ids_are_tool_errors(kb, arguments, message):
    async def script(c):
        return await c.call_tool("propose_promotion", arguments)

    found = run(build_server(kb), script)
    assert found.is_error and message in found.content[0].text
    assert branches(kb.root) == []


def test_read_only_refuses_it(kb):
    async def script(c):
        return await c.call_tool("propose_promotion", {"page_id": PAGE, "matrix": "ablate"})

    found = run(build_server(kb, read_only=True), script)
    assert found.is_error and "--read-only" in found.content[0].text
    assert branches(kb.root) == []
