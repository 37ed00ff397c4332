"""A run's metrics, computed from its events alone.

Protocol metrics (pre-work, dependencies loaded before the first edit) prefer ground truth:
when the log holds any event the MCP server recorded itself (source "server"), only
server-recorded evidence counts for them, so an agent cannot claim a brief it never fetched.
Without server events (a run outside the MCP server) the agent's own events are used. Events a
harness parsed from the agent's transcript (source "transcript") show what the agent did (edits,
test runs) but never count as protocol evidence.

Order: a log is read in step order, except that a log holding transcript events (appended after
the agent ended, stamped with when each line arrived) is read in time order (`timeline`), so a
transcript edit falls between the server events around it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel

from experimentos.models.events import RunEvent

# MCP tools whose successful call counts as the pre-work protocol / as loading dependencies.
PREWORK_TOOLS = frozenset({"start_pre_work_protocol", "get_work_brief", "get_agent_work_context"})
DEPENDENCY_TOOLS = frozenset({"resolve_dependencies", "get_agent_work_context"})
DECISION_TOOLS = frozenset({"record_decision"})

Evidence = Literal["server", "agent"]


class RunMetrics(BaseModel):
    """What a run's events show; stored (snake_case names) in the run record's metrics."""

    events: int
    evidence: Evidence  # whose events the protocol metrics rest on
    prework: bool
    prework_before_first_edit: bool
    dependencies_before_first_edit: bool
    decision_recorded: bool
    tests_run: int
    test_failures_before_pass: int
    tests_passing_at_end: bool
    files_edited: int
    final_answer_recorded: bool
    mcp_tool_calls: int


def evidence_of(events: Sequence[RunEvent]) -> Evidence:
    return "server" if any(e.source == "server" for e in events) else "agent"


def timeline(events: Sequence[RunEvent]) -> list[RunEvent]:
    """The events in the order they happened: step order, or (ts, step) order when the log
    holds transcript events (written after the fact with their own times)."""
    if any(e.source == "transcript" for e in events):
        return sorted(events, key=lambda e: (e.ts, e.step))
    return list(events)


def _tool_call(event: RunEvent, tools: frozenset[str], evidence: Evidence) -> bool:
    if event.type != "mcp_tool_called" or event.payload.get("ok") is False:
        return False
    return event.payload.get("tool") in tools and event.source == evidence


def is_prework(event: RunEvent, evidence: Evidence) -> bool:
    """A brief loaded, or a pre-work tool called (server-recorded when the server logs)."""
    if event.type == "brief_loaded":
        return event.source == evidence
    return _tool_call(event, PREWORK_TOOLS, evidence)


def is_dependency_load(event: RunEvent, evidence: Evidence) -> bool:
    if event.type == "dependency_resolved":
        return event.source == evidence
    return _tool_call(event, DEPENDENCY_TOOLS, evidence)


def is_decision(event: RunEvent, evidence: Evidence) -> bool:
    return event.type == "decision_recorded" or _tool_call(event, DECISION_TOOLS, "server")


def first_step(events: Sequence[RunEvent], match: Callable[[RunEvent], bool]) -> int | None:
    return next((e.step for e in events if match(e)), None)


def first_index(events: Sequence[RunEvent], match: Callable[[RunEvent], bool]) -> int | None:
    """The position (in the order given) of the first event that matches."""
    return next((i for i, e in enumerate(events) if match(e)), None)


def before_first_edit(events: Sequence[RunEvent], match: Callable[[RunEvent], bool]) -> bool:
    """Whether `match` happened, and before any file was edited (in the order given)."""
    at = first_index(events, match)
    edit = first_index(events, lambda e: e.type == "file_edited")
    return at is not None and (edit is None or at < edit)


def compute_metrics(events: Sequence[RunEvent]) -> RunMetrics:
    """The metrics of a run from its events (in `timeline` order)."""
    events = timeline(events)
    evidence = evidence_of(events)
    tests = [e for e in events if e.type == "test_run"]
    failures_before_pass = 0
    for event in tests:
        if event.payload["passed"]:
            break
        failures_before_pass += 1
    return RunMetrics(
        events=len(events),
        evidence=evidence,
        prework=first_step(events, lambda e: is_prework(e, evidence)) is not None,
        prework_before_first_edit=before_first_edit(events, lambda e: is_prework(e, evidence)),
        dependencies_before_first_edit=before_first_edit(
            events, lambda e: is_dependency_load(e, evidence)
        ),
        decision_recorded=any(is_decision(e, evidence) for e in events),
        tests_run=len(tests),
        test_failures_before_pass=failures_before_pass,
        tests_passing_at_end=bool(tests) and bool(tests[-1].payload["passed"]),
        files_edited=len({e.payload["path"] for e in events if e.type == "file_edited"}),
        final_answer_recorded=any(e.type == "final_answer" for e in events),
        mcp_tool_calls=sum(
            1 for e in events if e.type == "mcp_tool_called" and e.source == "server"
        ),
    )
