"""The MCP tool that proposes promoting a page on measured evidence: `propose_promotion`.

A write tool (refused under --read-only, counted against [server] max_proposals): it computes
the promotion gate and, when it passes, commits the accepted page on an `xos/promote/…`
branch, never the user's branch. An agent cannot override a gate that did not pass (that is a
person's decision: `experimentos promote --override`); it gets the numbers and, when the
matrix was too small, the repeats that would tell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from mcp.types import CallToolResult
from pydantic import Field

from experimentos.matrix.metrics import BINARY
from experimentos.mcp import params as p
from experimentos.mcp.answers import PromotionAnswer, reply
from experimentos.mcp.records import WRITE, logged

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from experimentos.mcp.state import Server


def register(server: MCPServer, state: Server) -> None:
    """Add `propose_promotion` to `server`."""

    @server.tool(annotations=WRITE)
    @logged(state, "propose_promotion", write=True)
    def propose_promotion(
        page_id: Annotated[
            str,
            Field(
                description="The policy or intervention to accept.",
                examples=["policy.keep-drizzle-kit-pin-verify-locally"],
            ),
        ],
        matrix: Annotated[
            str,
            Field(
                description="The matrix whose runs decide (<id> or <experiment>/<id>).",
                examples=["scripted-brief-matrix"],
            ),
        ],
        metric: Annotated[
            Literal[BINARY],  # type: ignore[valid-type] - the pass/fail metrics, a closed set
            Field(description="The pass/fail metric that decides."),
        ] = "clean_pass",
        reviewer: Annotated[
            str | None, Field(description="Who reviews it (default: the git user.name).")
        ] = None,
        run_id: p.OptionalRunId = None,
    ) -> Annotated[CallToolResult, PromotionAnswer]:
        """When a matrix measured a page: run its promotion gate (the page must improve the
        metric with a 95% interval above 0 and regress nothing) and, if it passes, propose it
        as accepted on a reviewable branch. If not, nothing is proposed: `reasons` say why and
        `repeats_needed` how many repeats would tell."""
        from experimentos.promote.gate import describe
        from experimentos.promote.proposal import plan_promotion, submit

        workspace = state.live.workspace
        plan = plan_promotion(workspace, page_id, matrix, metric=metric, reviewer=reviewer)
        if plan.change is not None:
            with state.proposal_slot():
                submit(workspace, plan)
        found = plan.result
        gate = found.gate
        primary = gate.primary
        answer = PromotionAnswer(
            passed=gate.passed,
            page=gate.page,
            matrix=gate.matrix,
            metric=gate.metric,
            basis=gate.basis,
            baseline=gate.baseline,
            treatment=gate.treatment,
            fixtures=gate.fixtures,
            headline=gate.headline(),
            delta=primary.delta if primary else None,
            low=primary.result.low if primary else None,
            high=primary.result.high if primary else None,
            p_value=primary.p_value if primary else None,
            p_adjusted=primary.p_adjusted if primary else None,
            pairs=primary.pairs if primary else 0,
            repeats_needed=gate.repeats_needed,
            reasons=gate.reasons,
            regressions=[describe(d) for d in gate.regressions],
            notes=gate.notes + found.notes,
            runs=len(gate.runs),
            proposal=found.proposal.model_dump(mode="json") if found.proposal else None,
        )
        return reply(answer, f"{answer.headline}\n" + "".join(f"- {r}\n" for r in answer.reasons))
