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
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)

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


def _d(text: str, *examples: Any) -> Any:
    """A field's description (and examples): they are what an agent reads in the tool schema."""
    return Field(description=text, examples=list(examples) or None)


class BriefLoaded(_Payload):
    """The agent read a brief."""

    brief_id: Annotated[Short, _d("The brief's id.", "brief.0123456789abcdef")]
    page_ids: list[Ref] = Field(default_factory=list, description="The pages it held.")


class DependencyResolved(_Payload):
    """The agent loaded the pages a brief depends on."""

    page_ids: Annotated[
        list[Ref], Field(min_length=1), _d("The pages loaded.", ["failure.red-green-churn"])
    ]
    brief_id: Annotated[Short | None, _d("The brief they came from.")] = None


class FileInspected(_Payload):
    """The agent read a file of the repository."""

    path: Annotated[Short, _d("Repository-relative path.", "src/db/schema.ts")]
    lines: Annotated[Short | None, _d("The lines read.", "10-24")] = None


class PackageVersionChecked(_Payload):
    """The agent checked an installed package version."""

    package: Annotated[Short, _d("Package name.", "drizzle-kit")]
    version: Annotated[Short, _d("The version found.", "0.30.4")]
    source: Annotated[Short | None, _d("Where it was read.", "package-lock.json")] = None


class FileEdited(_Payload):
    """The agent changed a file."""

    path: Annotated[Short, _d("Repository-relative path.", "src/db/schema.ts")]
    summary: Annotated[Long | None, _d("What changed.")] = None
    lines_added: Annotated[Count | None, _d("Lines added.")] = None
    lines_removed: Annotated[Count | None, _d("Lines removed.")] = None


class TestRunPayload(_Payload):
    """The agent ran tests."""

    __test__ = False  # not a pytest class

    passed: Annotated[bool, _d("Whether every test passed.")]
    command: Annotated[Short | None, _d("The exact command.", "npm test")] = None
    total: Annotated[Count | None, _d("Tests run.")] = None
    failed: Annotated[Count | None, _d("Tests that failed.")] = None


class FailureObserved(_Payload):
    """The agent saw a known or new failure mode."""

    description: Annotated[Long, _d("What happened.")]
    failure_id: Annotated[Ref | None, _d("A failure page id.", "failure.red-green-churn")] = None


class InterventionApplied(_Payload):
    """The agent applied an intervention."""

    description: Annotated[Long, _d("What was done.")]
    intervention_id: Annotated[
        Ref | None, _d("An intervention page id.", "intervention.narrow-shell-commands")
    ] = None


class DecisionRecorded(_Payload):
    """The agent decided something (record_decision writes this too)."""

    decision: Annotated[Long, _d("The decision.", "keep the drizzle-kit pin")]
    rationale: Annotated[Long | None, _d("Why.")] = None
    page_ids: list[Ref] = Field(default_factory=list, description="Pages it follows.")


class FinalAnswer(_Payload):
    """What the agent reported (complete_run writes this too)."""

    text: Annotated[Long, _d("The answer as given to the user.")]


class McpToolCalled(_Payload):
    """The MCP server's own record of a tool call (written by the server only)."""

    tool: Short
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: Long | None = None
    page_ids: list[Ref] = Field(default_factory=list)  # served by the answer (server only)


class CommandRun(_Payload):
    """The agent ran a shell command."""

    command: Annotated[Long, _d("The command line.", "npx drizzle-kit --version")]
    exit_code: Annotated[int | None, _d("Its exit code.")] = None
    cwd: Annotated[Short | None, _d("Where it ran.")] = None


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


# --- what an agent reports through the MCP tool record_run_event ------------------------------
# One object per event: its `type` beside the fields of that type's payload, so each type has
# its own schema and a client sees the fields it needs before it calls. What another tool
# records is not reported here (one way to do each thing): the server logs its own tool calls
# (mcp_tool_called) and the brief and dependencies a call served; record_decision and
# complete_run write decision_recorded and final_answer.
RECORDED_BY_TOOLS = {
    "brief_loaded": "start_pre_work_protocol or get_work_brief with your run_id",
    "dependency_resolved": "resolve_dependencies with your run_id",
    "decision_recorded": "record_decision",
    "final_answer": "complete_run",
    "mcp_tool_called": "the server itself",
}
AGENT_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t not in RECORDED_BY_TOOLS)


def _type_first(schema: dict[str, Any]) -> None:
    properties = schema.get("properties", {})
    if "type" in properties:
        schema["properties"] = {"type": properties.pop("type"), **properties}


def _event_model(event_type: str, payload: type[_Payload]) -> type[_Payload]:
    name = payload.__name__.removesuffix("Payload") + "Event"
    return create_model(
        name,
        __base__=payload,
        __doc__=payload.__doc__,
        __module__=__name__,
        type=(Literal[event_type], ...),
    )


class CustomEvent(BaseModel):
    """Your own event: type x-<name>, any other fields."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_type_first)

    type: Annotated[str, Field(pattern=CUSTOM_TYPE_PATTERN, examples=["x-note"])]


AGENT_EVENT_MODELS: dict[str, type[BaseModel]] = {
    t: _event_model(t, EVENT_PAYLOADS[t]) for t in AGENT_EVENT_TYPES
}
for _model in AGENT_EVENT_MODELS.values():
    _model.model_config["json_schema_extra"] = _type_first
    _model.model_rebuild(force=True)


def _event_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(kind, str) and _CUSTOM_RE.fullmatch(kind):
        return "custom"
    return kind if kind in AGENT_EVENT_MODELS else None


AgentEvent = Annotated[
    Union[  # noqa: UP007 - a tuple of members built at import time
        tuple(Annotated[m, Tag(t)] for t, m in AGENT_EVENT_MODELS.items())
        + (Annotated[CustomEvent, Tag("custom")],)
    ],
    Discriminator(
        _event_tag,
        custom_error_type="event_type",
        custom_error_message=(
            f"`type` must be one of {', '.join(AGENT_EVENT_TYPES)}, or x-<name> for your own ("
            + "; ".join(f"{t}: recorded by {how}" for t, how in RECORDED_BY_TOOLS.items())
            + ")"
        ),
    ),
]


def split_event(event: BaseModel) -> tuple[str, dict[str, Any]]:
    """An agent's event object as (type, payload) for the log."""
    data = event.model_dump(mode="json", exclude_none=True)
    return data.pop("type"), data


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
