"""The completion contract of a run, computed from its events.

Steps, in order: pre-work protocol -> dependencies loaded before the first edit -> a decision
recorded -> tests run -> tests passing -> final answer. A step is `done`, `missing`, or `late`
(done, but after the first file edit: an ordering violation that can no longer be repaired).
`validate_completion` lists every violation; `next_required_action` names the first missing
step, what to do about it and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from experimentos.lab.runs.events import read_events
from experimentos.lab.runs.metrics import (
    Evidence,
    evidence_of,
    first_index,
    first_step,
    is_decision,
    is_dependency_load,
    is_prework,
    timeline,
)
from experimentos.models.events import RunEvent
from experimentos.store import Workspace


class StepState(StrEnum):
    done = "done"
    missing = "missing"
    late = "late"


class CompletionStep(BaseModel):
    step: str
    title: str
    state: StepState
    detail: str
    action: str  # what to do when the step is missing


class Violation(BaseModel):
    step: str
    message: str


class CompletionReport(BaseModel):
    """validate_run_completion: every step's state and every violation (empty when complete)."""

    run_id: str
    complete: bool
    evidence: Evidence
    steps: list[CompletionStep]
    violations: list[Violation] = Field(default_factory=list)


class NextAction(BaseModel):
    """get_next_required_action: the first missing step, or done."""

    run_id: str
    done: bool
    step: str | None = None
    action: str | None = None
    why: str


_PREWORK_ACTION = (
    "call start_pre_work_protocol (or get_work_brief) and read the brief before touching code"
)
_DEPS_ACTION = "call resolve_dependencies and load the pages it lists before the first edit"
_DECISION_ACTION = "call record_decision with the decision, its rationale and the pages it rests on"
_TESTS_ACTION = "run the project's tests and record a test_run event with the result"
_PASS_ACTION = "fix the failure, re-run the tests and record a passing test_run event"
_FINAL_ACTION = "record a final_answer event (or call complete_run) with what was done"


def _ordered_step(
    events: Sequence[RunEvent],
    name: str,
    title: str,
    match: Callable[[RunEvent], bool],
    action: str,
    first_edit: int | None,
    missing: str,
) -> CompletionStep:
    at = first_index(events, match)
    step = events[at].step if at is not None else None
    edit = first_index(events, lambda e: e.type == "file_edited")
    if step is None:
        state, detail = StepState.missing, missing
    elif edit is not None and at > edit:
        state = StepState.late
        detail = f"{title} at step {step} came after the first file edit at step {first_edit}"
    else:
        state, detail = StepState.done, f"{title} at step {step}"
    return CompletionStep(step=name, title=title, state=state, detail=detail, action=action)


def completion_steps(events: Sequence[RunEvent]) -> list[CompletionStep]:
    """The contract's steps, evaluated over a run's events (in `timeline` order)."""
    events = timeline(events)
    evidence = evidence_of(events)
    first_edit = first_step(events, lambda e: e.type == "file_edited")
    # With the server's own log present, only its records count for the protocol steps.
    per_server = " (per the MCP server's own log)" if evidence == "server" else ""
    steps = [
        _ordered_step(
            events,
            "pre_work",
            "pre-work protocol",
            lambda e: is_prework(e, evidence),
            _PREWORK_ACTION,
            first_edit,
            "no brief was loaded (pre-work protocol not started)" + per_server,
        ),
        _ordered_step(
            events,
            "dependencies",
            "dependencies loaded",
            lambda e: is_dependency_load(e, evidence),
            _DEPS_ACTION,
            first_edit,
            "the brief's dependencies were never resolved" + per_server,
        ),
    ]
    decision = first_step(events, lambda e: is_decision(e, evidence))
    steps.append(
        CompletionStep(
            step="decision",
            title="decision recorded",
            state=StepState.done if decision else StepState.missing,
            detail=f"decision at step {decision}" if decision else "no decision recorded",
            action=_DECISION_ACTION,
        )
    )
    tests = [e for e in events if e.type == "test_run"]
    steps.append(
        CompletionStep(
            step="tests_run",
            title="tests run",
            state=StepState.done if tests else StepState.missing,
            detail=f"{len(tests)} test run{'s' if len(tests) != 1 else ''}"
            if tests
            else "no test run recorded",
            action=_TESTS_ACTION,
        )
    )
    if not tests:
        passing, detail = False, "no test run recorded"
    else:
        last = tests[-1]
        passing = bool(last.payload["passed"])
        verdict = "passed" if passing else "failed"
        detail = f"the last test run (step {last.step}) {verdict}"
    steps.append(
        CompletionStep(
            step="tests_passing",
            title="tests passing",
            state=StepState.done if passing else StepState.missing,
            detail=detail,
            action=_PASS_ACTION if tests else _TESTS_ACTION,
        )
    )
    final = first_step(events, lambda e: e.type == "final_answer")
    steps.append(
        CompletionStep(
            step="final_answer",
            title="final answer",
            state=StepState.done if final else StepState.missing,
            detail=f"final answer at step {final}" if final else "no final answer recorded",
            action=_FINAL_ACTION,
        )
    )
    return steps


def completion_report(run_id: str, events: Sequence[RunEvent]) -> CompletionReport:
    steps = completion_steps(events)
    violations = [
        Violation(
            step=s.step, message=s.detail if s.state is StepState.late else f"missing: {s.detail}"
        )
        for s in steps
        if s.state is not StepState.done
    ]
    return CompletionReport(
        run_id=run_id,
        complete=not violations,
        evidence=evidence_of(events),
        steps=steps,
        violations=violations,
    )


def validate_completion(workspace: Workspace, run_id: str) -> CompletionReport:
    """Every violation of the completion contract by a run's events so far."""
    return completion_report(run_id, read_events(workspace, run_id).events)


def next_required_action(workspace: Workspace, run_id: str) -> NextAction:
    """The first missing step of the contract, what to do and why; `done` when none is missing."""
    steps = completion_steps(read_events(workspace, run_id).events)
    for step in steps:
        if step.state is StepState.missing:
            order = " -> ".join(s.title for s in steps)
            why = f"{step.detail}; it is the first step of the completion contract ({order}) "
            why += "not yet recorded"
            return NextAction(
                run_id=run_id, done=False, step=step.step, action=step.action, why=why
            )
    late = [s.detail for s in steps if s.state is StepState.late]
    why = "every step of the completion contract is recorded"
    if late:
        why += f"; ordering violations remain: {'; '.join(late)}"
    return NextAction(run_id=run_id, done=True, why=why)
