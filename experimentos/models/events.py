"""The run event contract: one JSON object per line of a run's <run-id>.events.jsonl.

    {"step": 3, "ts": "2026-04-26T10:15:02.125Z", "type": "file_edited", "source": "agent",
     "payload": {"path": "src/db/schema.ts"}}

step     1, 2, 3, … unique and increasing within a run (assigned by the writer under a lock)
ts       UTC timestamp, ISO 8601
source   "agent" (reported by the agent), "server" (recorded by the MCP server itself) or
         "transcript" (parsed by the matrix runner from the agent CLI's own output; its ts is
         when the line arrived, so order a log by ts, not step, to interleave it)
type     one of the types below, or any name starting with "x-" (free payload)
payload  an object validated against the type's model (unknown fields are refused):

    brief_loaded             brief_id; page_ids=[]
    dependency_resolved      page_ids (at least one); brief_id
    file_inspected           path; lines
    package_version_checked  package, version; source (where the version was read)
    file_edited              path; summary, lines_added, lines_removed
    test_run                 passed (bool); command, total, failed
    failure_observed         description; failure_id (a failure page id)
    intervention_applied     description; intervention_id (an intervention page id)
    decision_recorded        decision; rationale, page_ids=[]
    final_answer             text
    mcp_tool_called          tool; arguments={}, ok=true, error, page_ids=[] (the pages its
                             answer served: a brief's pages, a page read whole)
    command                  command (a shell command the agent ran); exit_code, cwd

Fields after the semicolon are optional. This module is the only definition of the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from experimentos.models.knowledge import Ref
from experimentos.models.lab import Timestamp

SOURCES = ("agent", "server", "transcript")
Source = Literal["agent", "server", "transcript"]
CUSTOM_PREFIX = "x-"
CUSTOM_TYPE_PATTERN = r"^x-[a-z0-9][a-z0-9_.-]{0,62}$"
_CUSTOM_RE = re.compile(CUSTOM_TYPE_PATTERN)

Short = Annotated[str, Field(min_length=1, max_length=4096)]
Long = Annotated[str, Field(min_length=1, max_length=65536)]
Count = Annotated[int, Field(ge=0)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class BriefLoaded(_Payload):
    brief_id: Short
    page_ids: list[Ref] = Field(default_factory=list)


class DependencyResolved(_Payload):
    page_ids: Annotated[list[Ref], Field(min_length=1)]
    brief_id: Short | None = None


class FileInspected(_Payload):
    path: Short
    lines: Short | None = None


class PackageVersionChecked(_Payload):
    package: Short
    version: Short
    source: Short | None = None


class FileEdited(_Payload):
    path: Short
    summary: Long | None = None
    lines_added: Count | None = None
    lines_removed: Count | None = None


class TestRunPayload(_Payload):
    __test__ = False  # not a pytest class

    passed: bool
    command: Short | None = None
    total: Count | None = None
    failed: Count | None = None


class FailureObserved(_Payload):
    description: Long
    failure_id: Ref | None = None


class InterventionApplied(_Payload):
    description: Long
    intervention_id: Ref | None = None


class DecisionRecorded(_Payload):
    decision: Long
    rationale: Long | None = None
    page_ids: list[Ref] = Field(default_factory=list)


class FinalAnswer(_Payload):
    text: Long


class McpToolCalled(_Payload):
    tool: Short
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: Long | None = None
    page_ids: list[Ref] = Field(default_factory=list)  # served by the answer (server only)


class CommandRun(_Payload):
    command: Long
    exit_code: int | None = None
    cwd: Short | None = None


EVENT_PAYLOADS: dict[str, type[_Payload]] = {
    "brief_loaded": BriefLoaded,
    "dependency_resolved": DependencyResolved,
    "file_inspected": FileInspected,
    "package_version_checked": PackageVersionChecked,
    "file_edited": FileEdited,
    "test_run": TestRunPayload,
    "failure_observed": FailureObserved,
    "intervention_applied": InterventionApplied,
    "decision_recorded": DecisionRecorded,
    "final_answer": FinalAnswer,
    "mcp_tool_called": McpToolCalled,
    "command": CommandRun,
}
EVENT_TYPES = tuple(EVENT_PAYLOADS)


class EventError(ValueError):
    """An event that breaks the contract; `field` names where (type, payload.<name>, …)."""

    def __init__(self, message: str, field: str):
        self.field = field
        super().__init__(message)


def check_type(event_type: str) -> str:
    """The event type itself, or EventError naming the known types."""
    if event_type in EVENT_PAYLOADS or (
        isinstance(event_type, str) and _CUSTOM_RE.fullmatch(event_type)
    ):
        return event_type
    known = ", ".join(EVENT_TYPES)
    raise EventError(
        f"unknown event type {event_type!r} (expected one of: {known}; "
        f"or a custom type matching {CUSTOM_TYPE_PATTERN})",
        "type",
    )


def validate_payload(event_type: str, payload: Any) -> dict[str, Any]:
    """The payload normalised by its type's model; EventError naming the first bad field."""
    check_type(event_type)
    if not isinstance(payload, dict):
        raise EventError(f"payload must be a JSON object, got {type(payload).__name__}", "payload")
    model = EVENT_PAYLOADS.get(event_type)
    if model is None:  # a custom x- type: any object
        return payload
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        found = []
        for err in exc.errors(include_url=False):
            where = ".".join(["payload", *(str(p) for p in err["loc"])])
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            found.append((where, message.removeprefix("Value error, ")))
        (first, message), rest = found[0], found[1:]
        also = "; ".join(f"{where}: {text}" for where, text in rest)
        message = f"{event_type} event: {message}" + (f" (also {also})" if also else "")
        raise EventError(message, first) from None
    return parsed.model_dump(mode="json", exclude_none=True)


class RunEvent(BaseModel):
    """One line of a run's event log."""

    model_config = ConfigDict(extra="forbid")

    step: Annotated[int, Field(ge=1)]
    ts: Timestamp
    type: str
    source: Source = "agent"
    payload: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _contract(self) -> RunEvent:
        try:
            self.payload = validate_payload(self.type, self.payload)
        except EventError as exc:
            raise ValueError(f"{exc.field}: {exc}") from None
        return self

    def to_line(self) -> bytes:
        """The event as one line of JSON, newline-terminated."""
        data = self.model_dump(mode="json")
        data["ts"] = self.ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
