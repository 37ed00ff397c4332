"""The read-only MCP tool that lets an agent read what a matrix measured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from experimentos.mcp.records import READ, logged

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from experimentos.mcp.state import Server


def register(server: MCPServer, state: Server) -> None:
    """Add `get_matrix_results` to `server`."""

    @server.tool(annotations=READ)
    @logged(state, "get_matrix_results")
    def get_matrix_results(
        matrix: Annotated[
            str,
            Field(description="A matrix id, e.g. scripted-brief-matrix (or <experiment>/<id>)."),
        ],
        run_id: Annotated[str | None, Field(description="Your run id, if any.")] = None,
    ) -> dict[str, Any]:
        """What a matrix measured: pass and clean-pass rates per condition x agent with 95%
        intervals, each condition's paired delta against the baseline (p-value, underpowered,
        repeats needed), and what removing single pages did."""
        from experimentos.reports.answer import matrix_answer

        found = matrix_answer(state.records.root, matrix)
        return found.model_dump(mode="json", by_alias=True)
