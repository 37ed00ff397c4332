"""The read-only MCP tool that lets an agent read what a matrix measured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.types import CallToolResult

from experimentos.mcp import params as p
from experimentos.mcp.answers import matrix_markdown, reply
from experimentos.mcp.records import READ, logged
from experimentos.reports.answer import MatrixAnswer

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from experimentos.mcp.state import Server


def register(server: MCPServer, state: Server) -> None:
    """Add `get_matrix_results` to `server`."""

    @server.tool(annotations=READ)
    @logged(state, "get_matrix_results")
    def get_matrix_results(
        matrix: p.MatrixId, run_id: p.OptionalRunId = None
    ) -> Annotated[CallToolResult, MatrixAnswer]:
        """What a matrix measured, to judge a page or a condition: pass and clean-pass rates
        per condition x agent with 95% intervals, each condition's paired delta against the
        baseline (p-value, whether it is underpowered) and what removing single pages did."""
        from experimentos.reports.answer import matrix_answer

        data = matrix_answer(state.records.root, matrix).model_dump(mode="json", by_alias=True)
        return reply(data, matrix_markdown(data))
