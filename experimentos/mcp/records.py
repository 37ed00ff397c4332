"""MCP tools that record what an agent did (runs, decisions, proposals) and read experiments.

Every tool call that carries a run id is also written to that run's event log by the server
itself (`mcp_tool_called`, `source: server`), so protocol metrics rest on the server's record,
not on what the agent says it did. Write tools are refused under `--read-only`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from experimentos.errors import ExperimentosError, UsageError, redact
from experimentos.lab.experiments import ExperimentSummary, ExperimentTree
from experimentos.lab.runs import CompletionReport, NextAction
from experimentos.mcp import params as p
from experimentos.mcp.answers import (
    ExperimentList,
    RunAnswer,
    RunCompleted,
    TestAnswer,
    TestList,
    reply,
)
from experimentos.models.events import AgentEvent, RunEvent, split_event
from experimentos.proposals.models import Proposal

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from experimentos.mcp.state import Server

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_MAX_ARG = 200
log = logging.getLogger(__name__)


def _small(arguments: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments as logged: long strings cut, so a page proposal does not bloat the log."""
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        if value is None:
            continue
        if isinstance(value, BaseModel):  # a union argument (an event) as the caller sent it
            value = value.model_dump(mode="json", exclude_none=True)
        if isinstance(value, str) and len(value) > _MAX_ARG:
            value = value[:_MAX_ARG] + "…"
        out[key] = value
    return out


def _short(value: str, limit: int = 80) -> str:
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value)} characters)"


def os_error_message(exc: OSError, arguments: dict[str, Any]) -> str:
    """An OS error as the agent can act on it: which argument, and what the system said."""
    reason = exc.strerror or str(exc)
    names = [os.fsdecode(f) for f in (exc.filename, exc.filename2) if isinstance(f, str | bytes)]
    for key, value in arguments.items():
        if isinstance(value, str) and value and any(value in name for name in names):
            return f"{key}: cannot use {_short(value)}: {reason}"
    where = f" ({_short(names[0])})" if names else ""
    return f"a file the call needs could not be used{where}: {reason}"


def log_call(
    state: Server,
    tool: str,
    run_id: str | None,
    arguments: dict,
    error: str | None,
    page_ids: list[str] | None = None,
):
    """Write the server's own record of a tool call into the run's events (best effort), with
    the pages its answer served."""
    if not run_id:
        return
    from experimentos.lab.runs import append_event

    payload: dict[str, Any] = {"tool": tool, "arguments": _small(arguments), "ok": error is None}
    if error:
        payload["error"] = error[:2000]
    if page_ids:
        payload["page_ids"] = page_ids
    # An unknown or unsafe run id is not logged: the tool's own answer already says so.
    with contextlib.suppress(ExperimentosError):
        append_event(state.records, run_id, "mcp_tool_called", payload, source="server")


def logged(state: Server, name: str, write: bool = False) -> Callable:
    """Wrap a tool: domain errors become tool errors, calls with a run id are logged, and write
    tools are refused in read-only mode."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            error: str | None = None
            result: Any = None
            if "run_id" in kwargs:
                kwargs["run_id"] = state.incoming_run(kwargs["run_id"])
            try:
                if write and state.read_only:
                    raise UsageError(f"{name} is refused: the server runs with --read-only")
                _refuse_nul(kwargs)
                result = fn(**kwargs)
                return state.blind(result)
            except ExperimentosError as exc:
                error = str(exc)
                raise ToolError(state.blind(error)) from None
            except ToolError as exc:
                error = redact(str(exc))
                raise ToolError(state.blind(error)) from None
            except OSError as exc:  # a path argument the system refuses (too long, no access…)
                error = redact(os_error_message(exc, kwargs))
                raise ToolError(state.blind(error)) from None
            except Exception as exc:  # a bug: say so in words the agent can report
                log.exception("tool %s failed", name)
                detail = " ".join(str(exc).split())[:300]
                error = redact(
                    f"{name} failed unexpectedly ({type(exc).__name__}: {detail}); this is a "
                    "bug in experimentos, not in your arguments"
                )
                raise ToolError(state.blind(error)) from None
            finally:
                run_id = state.bound_run or kwargs.get("run_id")
                answer = result.structured_content if isinstance(result, CallToolResult) else result
                if not run_id and isinstance(answer, dict):
                    run_id = answer.get("run_id")
                run_id = run_id or getattr(answer, "run_id", None)
                served = state.served(answer, name) if error is None and answer is not None else []
                log_call(state, name, run_id, kwargs, error, served)
                state.live.settle()

        return wrapper

    return decorate


def _refuse_nul(kwargs: dict[str, Any]) -> None:
    """A NUL character in an argument: a UsageError naming it. No name or path can hold one, and
    the system refuses it with ValueError (not OSError) wherever it reaches a path."""
    for key, value in kwargs.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise UsageError(f"{key} holds a NUL character, which no name or path can", field=key)


def _dump(record: Any) -> dict[str, Any]:
    data = record.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["path"] = record.path
    return data


_EVENT_HELP = "What happened: its `type` decides the other fields (x-<name>: your own)."


def register(server: MCPServer, state: Server) -> None:
    """Add the run, decision, proposal and experiment tools to `server`."""
    from experimentos.lab import assertions, experiments, runs

    ws = lambda: state.records  # noqa: E731 - the workspace may be replaced on reload

    @server.tool(annotations=WRITE)
    @logged(state, "record_run_start", write=True)
    def record_run_start(
        experiment: Annotated[
            str,
            Field(
                description="The experiment (slug) the run belongs to; it must exist.",
                examples=["scripted-brief-matrix"],
            ),
        ],
        task: p.Task,
        agent: p.Agent = None,
        model: p.Model = None,
        toolchain: p.Toolchain = None,
        condition: p.Condition = None,
        brief_id: p.BriefId = None,
    ) -> Annotated[CallToolResult, RunAnswer]:
        """Start a run under an experiment (if start_pre_work_protocol did not start one);
        returns the run_id the other record_* tools take."""
        record = runs.start_run(
            ws(), experiment, task, agent=agent, model=model, toolchain=toolchain,
            condition=condition, brief=brief_id,
        )  # fmt: skip
        return reply({"run_id": record.model.id, **_dump(record)})

    @server.tool(annotations=WRITE)
    @logged(state, "record_run_event", write=True)
    def record_run_event(
        run_id: p.RunId,
        event: Annotated[
            AgentEvent,
            Field(
                description=_EVENT_HELP,
                json_schema_extra={"discriminator": {"propertyName": "type"}},
            ),
        ],
    ) -> Annotated[CallToolResult, RunEvent]:
        """Report one thing you did during a run: a file read or edited, tests or a command
        run, a version checked, a failure seen. The server records its own tool calls."""
        kind, payload = split_event(event)
        return reply(runs.append_event(ws(), run_id, kind, payload, source="agent"))

    @server.tool(annotations=WRITE)
    @logged(state, "record_decision", write=True)
    def record_decision(
        run_id: p.RunId,
        decision: Annotated[
            str, Field(description="What you decided.", examples=["keep the drizzle-kit pin"])
        ],
        rationale: Annotated[str | None, Field(description="Why.")] = None,
        page_ids: p.PageIds = None,
    ) -> Annotated[CallToolResult, RunEvent]:
        """Record a decision you made and the knowledge pages (policies) it follows."""
        payload = {"decision": decision, "rationale": rationale, "page_ids": page_ids or []}
        payload = {k: v for k, v in payload.items() if v is not None}
        return reply(runs.append_event(ws(), run_id, "decision_recorded", payload))

    @server.tool(annotations=WRITE)
    @logged(state, "complete_run", write=True)
    def complete_run(
        run_id: p.RunId,
        final_answer: Annotated[
            str, Field(description="What you report to the user, as you report it.")
        ],
        outcome: p.Outcome = None,
        summary: Annotated[str, Field(description="A human summary of the run.")] = "",
        status: p.EndStatus = "finished",
    ) -> Annotated[CallToolResult, RunCompleted]:
        """The last call of a run: records your final answer, ends the run and reports what
        the completion contract still misses."""
        runs.append_event(ws(), run_id, "final_answer", {"text": final_answer})
        if run_id == state.bound_run:  # a matrix run: the harness ends it after the oracle
            report = runs.validate_completion(ws(), run_id)
            return reply(
                RunCompleted(
                    run=None,
                    completion=report.model_dump(mode="json"),
                    note="final answer recorded; the matrix harness ends this run",
                )
            )
        outcome_text = outcome.value if outcome else None
        record = runs.finish_run(ws(), run_id, status=status, outcome=outcome_text, summary=summary)
        report = runs.validate_completion(ws(), run_id)
        return reply(RunCompleted(run=_dump(record), completion=report.model_dump(mode="json")))

    @server.tool(annotations=READ)
    @logged(state, "validate_run_completion")
    def validate_run_completion(run_id: p.RunId) -> Annotated[CallToolResult, CompletionReport]:
        """Before complete_run: every step of the completion contract the run's events do not
        show yet (empty when complete)."""
        return reply(runs.validate_completion(ws(), run_id))

    @server.tool(annotations=READ)
    @logged(state, "get_next_required_action")
    def get_next_required_action(run_id: p.RunId) -> Annotated[CallToolResult, NextAction]:
        """When unsure what a run still needs: the first missing step, what to do and why."""
        return reply(runs.next_required_action(ws(), run_id))

    @server.tool(annotations=WRITE)
    @logged(state, "propose_page", write=True)
    def propose_page(
        content: Annotated[
            str,
            Field(
                description="The whole page file: YAML frontmatter (id, type, title, status, "
                "summary, …) between --- lines, then the Markdown body.",
                examples=[
                    "---\nid: failure.example-slug\ntype: failure\ntitle: What went wrong\n"
                    "status: draft\nsummary: One sentence an agent can act on.\n---\n\nDetails.\n"
                ],
            ),
        ],
        why: Annotated[
            str, Field(description="Why the change is needed.", examples=["seen in run.x"])
        ],
        evidence: Annotated[
            list[str] | None, Field(description="Run or page ids that back the change.")
        ] = None,
        run_id: p.OptionalRunId = None,
    ) -> Annotated[CallToolResult, Proposal]:
        """Propose a new or changed knowledge page for review, as a git branch xos/… (never
        the user's branch); a person merges it or not."""
        from experimentos.proposals import propose_page as propose

        with state.proposal_slot():
            proposal = propose(ws(), content, why=why, evidence=evidence or [])
        return reply(proposal)

    @server.tool(annotations=READ)
    @logged(state, "experiments_list")
    def experiments_list(
        kind: p.KindFilter = None,
        status: p.ExperimentStatusFilter = None,
        parent: p.ParentFilter = None,
    ) -> Annotated[CallToolResult, ExperimentList]:
        """List experiments (each run belongs to one), optionally by kind, status and parent."""
        found = experiments.list_experiments(
            ws(),
            kind=kind.value if kind else None,
            status=status.value if status else None,
            parent=parent,
        )
        return reply({"experiments": [e.model_dump(mode="json", by_alias=True) for e in found]})

    @server.tool(annotations=READ)
    @logged(state, "experiments_tree")
    def experiments_tree() -> Annotated[CallToolResult, ExperimentTree]:
        """All experiments nested under their parents."""
        return reply(experiments.experiment_tree(ws()))

    @server.tool(annotations=READ)
    @logged(state, "experiments_describe")
    def experiments_describe(
        experiment: p.ExperimentSlug,
    ) -> Annotated[CallToolResult, ExperimentSummary]:
        """One experiment with its counts of runs (by status) and tests (passed, failed)."""
        return reply(experiments.describe_experiment(ws(), experiment))

    @server.tool(annotations=READ)
    @logged(state, "tests_list")
    def tests_list(
        experiment: p.ExperimentFilter = None,
        verdict: p.Verdict = None,
        kind: p.AssertionKind = None,
    ) -> Annotated[CallToolResult, TestList]:
        """Tests (assertions about an experiment's results) with their verdicts, filtered."""
        found = assertions.list_tests(ws(), experiment=experiment, verdict=verdict, kind=kind)
        return reply({"tests": [t.model_dump(mode="json", by_alias=True) for t in found]})

    @server.tool(annotations=READ)
    @logged(state, "tests_describe")
    def tests_describe(test: p.TestId) -> Annotated[CallToolResult, TestAnswer]:
        """One test: its assertion, verdict, details and the run it was evaluated on."""
        return reply(_dump(assertions.read_test(ws(), test)))
