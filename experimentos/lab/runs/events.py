"""A run's append-only event log: experiments/<slug>/runs/<run-id>.events.jsonl.

The contract (types, payloads) is experimentos/models/events.py. Appends from any number of
processes are serialised by an flock on a sidecar lock file under .experimentos/; the next step
is read from the file under that lock, never from a cache, so it is right across processes.
A writer killed mid-line leaves a torn last line: readers skip it (with a warning), and the next
append cuts it off before writing, so nothing is glued onto it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from experimentos.errors import NotFound, UsageError, redact
from experimentos.models.events import (
    SOURCES,
    EventError,
    RunEvent,
    check_type,
    utc_now,
    validate_payload,
)
from experimentos.models.knowledge import Problem
from experimentos.models.lab import RunRecord, RunStatus
from experimentos.store import Workspace
from experimentos.store.files import safe_target, state_lock
from experimentos.store.lab_paths import EVENTS_SUFFIX, check_run_id
from experimentos.store.lab_scan import locate_run
from experimentos.store.parse import load_json
from experimentos.store.records import load_record
from experimentos.store.safe import read_regular

MAX_EVENT_BYTES = 256 * 1024
_TAIL = 64 * 1024


class EventLog(BaseModel):
    """The events of a run that parse, in step order, and every problem with the file."""

    run_id: str
    path: str
    events: list[RunEvent] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)


def events_rel(record_rel: str) -> str:
    """The event log's path next to a run record's path."""
    return record_rel.removesuffix(".md") + EVENTS_SUFFIX


@contextlib.contextmanager
def run_lock(root: Path, run_id: str) -> Iterator[None]:
    """The cross-process lock of one run: its appends and its finish are serialised by it."""
    with state_lock(root, f"{check_run_id(run_id)}.lock"):
        yield


def _parse_line(line: bytes) -> RunEvent | str:
    """The event on a line, or why it is not one."""
    try:
        return RunEvent.model_validate(load_json(line))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    except ValueError as exc:
        return f"not JSON: {exc}"
    except RecursionError:  # a line of 100,000 nested brackets: a bad line, not a crash
        return "not JSON: nested too deeply"


def parse_events(raw: bytes, rel: str) -> tuple[list[RunEvent], list[Problem]]:
    """Events of a log's bytes; bad lines and a torn last line are reported and skipped."""
    events: list[RunEvent] = []
    problems: list[Problem] = []
    lines = raw.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline
    last = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        event = _parse_line(line)
        if isinstance(event, str):
            problems.append(
                Problem(path=rel, code="event-invalid", message=f"line {number}: {event}")
            )
            continue
        if event.step <= last:
            problems.append(
                Problem(
                    path=rel,
                    field="step",
                    code="event-step-order",
                    message=f"line {number}: step {event.step} does not follow step {last}",
                )
            )
            continue
        last = event.step
        events.append(event)
    if torn.strip():
        problems.append(
            Problem(
                path=rel,
                code="event-torn-line",
                severity="warning",
                message=f"line {len(lines) + 1} is incomplete (a writer stopped mid-line); skipped",
            )
        )
    return events, problems


def read_events(workspace: Workspace, run_id: str) -> EventLog:
    """The event log of a run (an absent log is an empty one)."""
    root = workspace.root
    _, record_rel = locate_run(root, run_id)
    rel = events_rel(record_rel)
    try:
        raw = read_regular(root, rel)
    except NotFound:
        raw = b""
    events, problems = parse_events(raw, rel)
    return EventLog(run_id=run_id, path=rel, events=events, problems=problems)


def _step_of(line: bytes) -> int | None:
    try:
        data = load_json(line)
    except ValueError:
        return None
    step = data.get("step") if isinstance(data, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _tail_state(fd: int) -> tuple[int, int | None, bool]:
    """(last step, offset to cut a torn tail at or None, whether a newline is missing).

    Reads backwards from the end in growing chunks: an append costs the tail, not the file.
    """
    size = os.fstat(fd).st_size
    chunk = min(size, _TAIL)
    while True:
        start = size - chunk
        data = os.pread(fd, chunk, start)
        cut, needs_newline, torn_step = None, False, None
        if data and not data.endswith(b"\n"):
            nl = data.rfind(b"\n")
            if nl == -1 and start > 0:
                chunk = min(size, chunk * 4)
                continue
            torn = data[nl + 1 :]
            torn_step = _step_of(torn)
            if torn_step is None:
                cut = start + nl + 1  # an unacknowledged half line: drop it
            else:
                needs_newline = True  # a whole event that only lacks its newline: keep it
            data = data[: nl + 1]
        lines = data.split(b"\n")[:-1]
        if start > 0 and lines:
            lines = lines[1:]  # the first line of a chunk may start mid-line
        for line in reversed(lines):
            step = _step_of(line)
            if step is not None:
                return max(step, torn_step or 0), cut, needs_newline
        if start == 0 or chunk >= size:
            return torn_step or 0, cut, needs_newline
        chunk = min(size, chunk * 4)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def append_event(
    workspace: Workspace,
    run_id: str,
    event_type: str,
    payload: dict | None = None,
    source: str = "agent",
    now: dt.datetime | None = None,
) -> RunEvent:
    """Validate an event against the contract and append it with the next step.

    Agent events are refused once the run has ended; server events (the MCP server's own log
    of tool calls) are always kept.
    """
    return append_events(workspace, run_id, [(event_type, payload, now)], source=source)[0]


def append_events(
    workspace: Workspace,
    run_id: str,
    events: list[tuple[str, dict | None, dt.datetime | None]],
    source: str = "agent",
) -> list[RunEvent]:
    """Append several events of one source under one lock and one fsync, in order.

    Each item is (type, payload, ts or None for now). Every event is validated before any is
    written, so a bad one writes nothing. The matrix runner writes a parsed transcript this way
    (source "transcript", ts = when each line arrived).
    """
    root = workspace.root
    if source not in SOURCES:
        names = ", ".join(SOURCES)
        raise UsageError(f"source must be one of {names}, not {source!r}", field="source")
    checked = []
    for event_type, payload, when in events:
        try:
            check_type(event_type)
            clean = validate_payload(event_type, payload if payload is not None else {})
        except EventError as exc:
            raise UsageError(str(exc), field=exc.field) from None
        # An agent's output, a tool error or a transcript may carry a token: never record one.
        text = json.dumps(clean, ensure_ascii=False)
        if (masked := redact(text)) != text:
            clean = json.loads(masked)
        checked.append((event_type, clean, when))
    _, record_rel = locate_run(root, run_id)
    rel = events_rel(record_rel)
    target = safe_target(root, rel)
    written: list[RunEvent] = []
    with run_lock(root, run_id):
        if source == "agent":
            try:
                record = load_record(root, record_rel, RunRecord).model
            except NotFound:
                raise NotFound(f"no run {run_id!r}", field="run") from None
            if record.status is not RunStatus.running:
                raise UsageError(
                    f"{run_id} is {record.status.value}; events can no longer be added",
                    path=record_rel,
                    field="status",
                )
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(target, flags, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError("the event log is not a regular file", path=rel)
            last, cut, needs_newline = _tail_state(fd)
            if cut is not None:
                os.ftruncate(fd, cut)
            lines = [b"\n"] if needs_newline else []
            for event_type, clean, when in checked:
                ts = when or utc_now()
                ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)  # the line's precision
                last += 1
                event = RunEvent(step=last, ts=ts, type=event_type, source=source, payload=clean)
                line = event.to_line()
                if len(line) > MAX_EVENT_BYTES:
                    raise UsageError(
                        f"event is {len(line)} bytes; the limit is {MAX_EVENT_BYTES}",
                        field="payload",
                    )
                lines.append(line)
                written.append(event)
            if written:
                _write_all(fd, b"".join(lines))
                os.fsync(fd)
        finally:
            os.close(fd)
    return written
