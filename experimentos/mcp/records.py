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
from mcp.types import ToolAnnotations
from pydantic import Field

from experimentos.errors import ExperimentosError, UsageError, redact

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from experimentos.mcp.state import Server

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
RunId = Annotated[str, Field(description="The run id from record_run_start.")]
_MAX_ARG = 200
log = logging.getLogger(__name__)


def _small(arguments: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments as logged: long strings cut, so a page proposal does not bloat the log."""
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        if value is None:
            continue
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
                if not run_id and isinstance(result, dict):
                    run_id = result.get("run_id")
                run_id = run_id or getattr(result, "run_id", None)
                served = state.served(result) if error is None and result is not None else []
                log_call(state, name, run_id, kwargs, error, served)
                state.live.settle()

        return wrapper

    return decorate


def _dump(record: Any) -> dict[str, Any]:
    data = record.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["path"] = record.path
    return data


def register(server: MCPServer, state: Server) -> None:
    """Add the run, decision, proposal and experiment tools to `server`."""
    from experimentos.lab import assertions, experiments, runs

    ws = lambda: state.records  # noqa: E731 - the workspace may be replaced on reload

    @server.tool(annotations=WRITE)
    @logged(state, "record_run_start", write=True)
    def record_run_start(
        experiment: Annotated[str, Field(description="Experiment slug; the run belongs to it.")],
        task: str,
        agent: str | None = None,
        model: str | None = None,
        toolchain: str | None = None,
        condition: str | None = None,
        brief_id: str | None = None,
    ) -> dict[str, Any]:
        """Start a run under an experiment; returns its run id for the other record_* tools."""
        record = runs.start_run(
            ws(), experiment, task, agent=agent, model=model, toolchain=toolchain,
            condition=condition, brief=brief_id,
        )  # fmt: skip
        return {"run_id": record.model.id, **_dump(record)}

    @server.tool(annotations=WRITE)
    @logged(state, "record_run_event", write=True)
    def record_run_event(
        run_id: RunId,
        type: Annotated[str, Field(description="An event type, or x-<name> for your own.")],  # noqa: A002
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event (file_edited, test_run, …) to the run's log; returns its step."""
        event = runs.append_event(ws(), run_id, type, payload or {}, source="agent")
        return event.model_dump(mode="json")

    @server.tool(annotations=WRITE)
    @logged(state, "record_decision", write=True)
    def record_decision(
        run_id: RunId,
        decision: str,
        rationale: str | None = None,
        page_ids: Annotated[
            list[str] | None, Field(description="Pages (e.g. policies) the decision follows.")
        ] = None,
    ) -> dict[str, Any]:
        """Record a decision and the knowledge pages it rests on."""
        payload = {"decision": decision, "rationale": rationale, "page_ids": page_ids or []}
        payload = {k: v for k, v in payload.items() if v is not None}
        return runs.append_event(ws(), run_id, "decision_recorded", payload).model_dump(mode="json")

    @server.tool(annotations=WRITE)
    @logged(state, "complete_run", write=True)
    def complete_run(
        run_id: RunId,
        final_answer: Annotated[str, Field(description="What you report to the user.")],
        outcome: Annotated[str | None, Field(description="success, failure or partial")] = None,
        summary: str = "",
        status: Annotated[str, Field(description="finished, failed or aborted")] = "finished",
    ) -> dict[str, Any]:
        """Record the final answer, end the run, and return its completion report."""
        runs.append_event(ws(), run_id, "final_answer", {"text": final_answer})
        if run_id == state.bound_run:  # a matrix run: the harness ends it after the oracle
            report = runs.validate_completion(ws(), run_id)
            return {
                "run": None,
                "completion": report.model_dump(mode="json"),
                "note": "final answer recorded; the matrix harness ends this run",
            }
        record = runs.finish_run(ws(), run_id, status=status, outcome=outcome, summary=summary)
        report = runs.validate_completion(ws(), run_id)
        return {"run": _dump(record), "completion": report.model_dump(mode="json")}

    @server.tool(annotations=READ)
    @logged(state, "validate_run_completion")
    def validate_run_completion(run_id: RunId) -> dict[str, Any]:
        """Every violation of the completion contract by the run's events so far."""
        return runs.validate_completion(ws(), run_id).model_dump(mode="json")

    @server.tool(annotations=READ)
    @logged(state, "get_next_required_action")
    def get_next_required_action(run_id: RunId) -> dict[str, Any]:
        """The first missing step of the completion contract, what to do, and why."""
        return runs.next_required_action(ws(), run_id).model_dump(mode="json")

    @server.tool(annotations=WRITE)
    @logged(state, "propose_page", write=True)
    def propose_page(
        content: Annotated[str, Field(description="A whole page file: frontmatter + body.")],
        why: Annotated[str, Field(description="Why the change is needed.")],
        evidence: list[str] | None = None,
        run_id: RunId | None = None,
    ) -> dict[str, Any]:
        """Propose a new or changed page on a reviewable xos/ branch (never the user's branch)."""
        from experimentos.proposals import propose_page as propose

        with state.proposal_slot():
            proposal = propose(ws(), content, why=why, evidence=evidence or [])
        return proposal.model_dump(mode="json")

    @server.tool(name="data.experiments.list", annotations=READ)
    @logged(state, "data.experiments.list")
    def experiments_list(
        kind: str | None = None, status: str | None = None, parent: str | None = None
    ) -> dict[str, Any]:
        """Experiments, optionally filtered by kind, status and parent."""
        found = experiments.list_experiments(ws(), kind=kind, status=status, parent=parent)
        return {"experiments": [e.model_dump(mode="json", by_alias=True) for e in found]}

    @server.tool(name="data.experiments.tree", annotations=READ)
    @logged(state, "data.experiments.tree")
    def experiments_tree() -> dict[str, Any]:
        """The experiment tree (parents and children)."""
        return experiments.experiment_tree(ws()).model_dump(mode="json")

    @server.tool(name="data.experiments.describe", annotations=READ)
    @logged(state, "data.experiments.describe")
    def experiments_describe(id: str) -> dict[str, Any]:  # noqa: A002
        """One experiment with counts of runs and tests and pass/fail totals."""
        return experiments.describe_experiment(ws(), id).model_dump(mode="json", by_alias=True)

    @server.tool(name="data.tests.list", annotations=READ)
    @logged(state, "data.tests.list")
    def tests_list(
        experiment: str | None = None,
        verdict: Annotated[str | None, Field(description="passed, failed or unset")] = None,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """Tests (assertions) of experiments, optionally filtered."""
        found = assertions.list_tests(ws(), experiment=experiment, verdict=verdict, kind=kind)
        return {"tests": [t.model_dump(mode="json", by_alias=True) for t in found]}

    @server.tool(name="data.tests.describe", annotations=READ)
    @logged(state, "data.tests.describe")
    def tests_describe(id: str) -> dict[str, Any]:  # noqa: A002
        """One test: its assertion, verdict, details and the run it used."""
        return _dump(assertions.read_test(ws(), id))
