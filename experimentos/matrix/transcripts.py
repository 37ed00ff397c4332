"""An agent's transcript as the run keeps it: the raw sidecar file and the parsed run events.

`<run-id>.transcript.jsonl` holds the lines the agent printed on stdout, verbatim except that
secrets are masked and the file is capped (the first lines and the last ones are kept, with one
`{"type": "x-experimentos.truncated", ...}` line between them saying how many were left out).

The parsed events go into the run's event log with source `transcript` and the time the line
they came from arrived, so a reader can interleave them with the MCP server's own events.
A payload that does not fit the event contract is trimmed to the contract's fields; failing
that it is kept as `x-transcript.<type>`, so nothing the agent did is silently lost.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from experimentos.agents.base import Transcript
from experimentos.models.events import EVENT_PAYLOADS, EventError, validate_payload
from experimentos.store.redact import redact

MAX_TRANSCRIPT_BYTES = 4 * 1024 * 1024
TAIL_SHARE = 0.25  # of the cap, kept from the end (usage and the final answer come last)
MAX_TEXT = 4000  # characters of one string inside an event payload
MAX_EVENTS = 5000


def _redact_value(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        text = redact(value, secrets)
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {str(k): _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, secrets) for v in value[:200]]
    return value


def render_raw(lines: list[str], secrets: list[str], dropped: int = 0) -> tuple[bytes, dict]:
    """The sidecar's bytes and what was kept: {lines, bytes, truncated, omitted_lines}."""
    clean = [redact(line, secrets).encode("utf-8") + b"\n" for line in lines]
    total = sum(len(x) for x in clean)
    if total <= MAX_TRANSCRIPT_BYTES and not dropped:
        data = b"".join(clean)
        return data, {"lines": len(lines), "bytes": len(data), "truncated": False}
    head_cap = int(MAX_TRANSCRIPT_BYTES * (1 - TAIL_SHARE))
    tail_cap = MAX_TRANSCRIPT_BYTES - head_cap
    head, size = [], 0
    for line in clean:
        if size + len(line) > head_cap:
            break
        head.append(line)
        size += len(line)
    tail, size = [], 0
    for line in reversed(clean[len(head) :]):
        if size + len(line) > tail_cap:
            break
        tail.append(line)
        size += len(line)
    tail.reverse()
    omitted = len(clean) - len(head) - len(tail) + dropped
    marker = json.dumps({"type": "x-experimentos.truncated", "omitted_lines": omitted})
    data = b"".join([*head, marker.encode() + b"\n", *tail])
    info = {"lines": len(lines), "bytes": len(data), "truncated": True, "omittedLines": omitted}
    return data, info


def _fit(event_type: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The event as the contract accepts it, or None."""
    code = payload.get("exit_code")
    if event_type == "test_run" and "passed" not in payload and isinstance(code, int):
        payload = {**payload, "passed": code == 0}  # a test command's verdict is its exit
    try:
        return event_type, validate_payload(event_type, payload)
    except EventError:
        pass
    model = EVENT_PAYLOADS.get(event_type)
    if model is not None:
        known = {k: v for k, v in payload.items() if k in model.model_fields}
        try:
            return event_type, validate_payload(event_type, known)
        except EventError:
            pass
    custom = f"x-transcript.{event_type}"[:64]
    try:
        return custom, validate_payload(custom, payload)
    except EventError:
        return None


def transcript_events(
    transcript: Transcript, times: list[float], secrets: list[str]
) -> tuple[list[tuple[str, dict, dt.datetime]], int]:
    """(type, payload, ts) for the event log, and how many events did not fit the contract."""
    out: list[tuple[str, dict, dt.datetime]] = []
    misfits = 0
    fallback = times[-1] if times else None
    for event in transcript.events[:MAX_EVENTS]:
        arrived = times[event.index] if 0 <= event.index < len(times) else fallback
        ts = dt.datetime.fromtimestamp(arrived, dt.UTC) if arrived else dt.datetime.now(dt.UTC)
        payload = _redact_value(dict(event.payload), secrets)
        fitted = _fit(event.type, payload)
        if fitted is None or fitted[0] != event.type:
            misfits += 1
        if fitted is not None:
            out.append((fitted[0], fitted[1], ts))
    return out, misfits


def summary(transcript: Transcript, misfits: int, secrets: list[str]) -> dict[str, Any]:
    """The parse summary kept in the run record's `transcript` block."""
    counts: dict[str, int] = {}
    for event in transcript.events:
        counts[event.type] = counts.get(event.type, 0) + 1
    final = transcript.final_answer
    return {
        "events": counts,
        "unknownTypes": dict(sorted(transcript.unknown_types.items())),
        "badLines": transcript.bad_lines,
        "eventsNotInContract": misfits,
        "errors": [redact(e, secrets)[:2000] for e in transcript.errors[:20]],
        "finalAnswer": redact(final, secrets)[:MAX_TEXT] if final else None,
    }


def commands(transcript: Transcript) -> list[str]:
    """Every shell command the transcript shows the agent running, in order."""
    found = []
    for event in transcript.events:
        command = event.payload.get("command")
        if event.type == "command" and isinstance(command, str):
            found.append(command)
    return found
