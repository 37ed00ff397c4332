"""The parts a matrix run is made of: redaction, transcript sidecars and events, the event-log
timeline, the agent process, the shell transcript format, and the bound MCP server."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import anyio
import mcp
import pytest

from experimentos.agents.base import Transcript, TranscriptEvent
from experimentos.agents.shell import parse_shell_transcript
from experimentos.errors import UsageError
from experimentos.lab.experiments import new_experiment
from experimentos.lab.runs import (
    append_event,
    append_events,
    compute_metrics,
    read_events,
    read_run,
    start_run,
    validate_completion,
)
from experimentos.matrix import transcripts
from experimentos.matrix.process import run_process
from experimentos.mcp.server import build_server
from experimentos.store import Workspace
from experimentos.store.redact import redact, secret_values

# --- redaction ------------------------------------------------------------------------------


def test_redact_masks_given_values_and_credential_shapes():
    text = (
        "key=hunter2-secret-value Authorization: Bearer abcdefghijklmnop123 "
        "sk-proj-ABCDEFGHIJKLMNOPQRSTUV ghp_" + "a" * 36 + " AKIAABCDEFGHIJKLMNOP ok"
    )
    out = redact(text, ["hunter2-secret-value", "x"])
    assert "hunter2" not in out and "abcdefghijklmnop123" not in out
    assert "sk-proj" not in out and "ghp_" not in out and "AKIA" not in out
    assert out.endswith(" ok") and "Bearer [REDACTED]" in out
    assert redact("x marks the spot", ["x"]) == "x marks the spot"  # too short to be a secret


def test_secret_values_are_taken_from_secret_looking_names():
    env = {"OPENAI_API_KEY": "sk-long-enough", "PATH": "/usr/bin", "GH_TOKEN": "tok-12345"}
    assert sorted(secret_values(env)) == ["sk-long-enough", "tok-12345"]


# --- transcripts --------------------------------------------------------------------------


def test_the_raw_transcript_is_capped_head_and_tail(monkeypatch):
    monkeypatch.setattr(transcripts, "MAX_TRANSCRIPT_BYTES", 1000)
    lines = [json.dumps({"n": i, "pad": "x" * 40}) for i in range(200)]
    data, info = transcripts.render_raw(lines, [])
    kept = data.decode().splitlines()
    assert info["truncated"] and info["bytes"] <= 1100 and info["lines"] == 200
    assert json.loads(kept[0])["n"] == 0 and json.loads(kept[-1])["n"] == 199
    marker = [json.loads(k) for k in kept if "x-experimentos.truncated" in k][0]
    assert marker["omitted_lines"] == 200 - (len(kept) - 1)


def test_transcript_events_fit_the_contract_or_are_kept_as_custom_events():
    transcript = Transcript(
        events=[
            TranscriptEvent(index=0, type="file_edited", payload={"path": "a.py", "kind": "x"}),
            TranscriptEvent(
                index=1, type="test_run", payload={"command": "pytest", "exit_code": 1}
            ),
            TranscriptEvent(index=1, type="package_version_checked", payload={"command": "npm ls"}),
            TranscriptEvent(index=2, type="command", payload={"command": "curl -H s3cr3t-token"}),
        ]
    )
    times = [1_700_000_000.0, 1_700_000_001.5, 1_700_000_002.0]
    events, misfits = transcripts.transcript_events(transcript, times, ["s3cr3t-token"])
    assert [(t, p) for t, p, _ in events] == [
        ("file_edited", {"path": "a.py"}),
        ("test_run", {"passed": False, "command": "pytest"}),
        ("x-transcript.package_version_checked", {"command": "npm ls"}),
        ("command", {"command": "curl -H [REDACTED]"}),
    ]
    assert misfits == 1
    assert events[1][2] == dt.datetime.fromtimestamp(times[1], dt.UTC)


# --- the event log: bulk appends and the timeline -----------------------------------------------


@pytest.fixture
def run(empty_kb: Workspace):
    new_experiment(empty_kb, "e", "agent")
    return empty_kb, start_run(empty_kb, "e", "task").model.id


def test_append_events_writes_all_or_nothing(run):
    ws, run_id = run
    with pytest.raises(UsageError) as err:
        append_events(ws, run_id, [("file_edited", {"path": "a"}, None), ("file_edited", {}, None)])
    assert err.value.field == "payload.path"
    assert read_events(ws, run_id).events == []
    written = append_events(
        ws, run_id, [("command", {"command": "ls"}, None), ("final_answer", {"text": "t"}, None)],
        source="transcript",
    )  # fmt: skip
    assert [e.step for e in written] == [1, 2] and {e.source for e in written} == {"transcript"}


def test_transcript_events_are_ordered_by_time_against_server_events(run):
    ws, run_id = run
    t0 = dt.datetime.now(dt.UTC)
    append_event(ws, run_id, "brief_loaded", {"brief_id": "b"}, source="server", now=t0)
    # written after the agent ended, stamped with when the lines arrived
    append_events(
        ws, run_id,
        [("file_edited", {"path": "a"}, t0 - dt.timedelta(seconds=5)),
         ("file_edited", {"path": "b"}, t0 + dt.timedelta(seconds=5))],
        source="transcript",
    )  # fmt: skip
    metrics = compute_metrics(read_events(ws, run_id).events)
    assert metrics.evidence == "server" and metrics.prework
    assert not metrics.prework_before_first_edit  # the first edit came before the brief
    report = validate_completion(ws, run_id)
    assert any(s.step == "pre_work" and s.state == "late" for s in report.steps)


def test_transcript_claims_never_count_as_protocol(run):
    ws, run_id = run
    append_events(
        ws, run_id, [("mcp_tool_called", {"tool": "start_pre_work_protocol"}, None)],
        source="transcript",
    )  # fmt: skip
    metrics = compute_metrics(read_events(ws, run_id).events)
    assert metrics.evidence == "agent" and not metrics.prework and metrics.mcp_tool_calls == 0


# --- the agent process --------------------------------------------------------------------


def test_lines_arrive_with_their_times_and_stdin_reaches_the_agent(tmp_path):
    script = (
        "import sys, time\nprint(sys.stdin.read().upper(), flush=True)\ntime.sleep(0.4)\nprint('b')"
    )
    began = time.time()
    result = run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env={}, time_limit=20, stdin="hello"
    )
    assert result.exit_code == 0 and result.lines == ["HELLO", "b"]
    assert began <= result.times[0] and result.times[1] - result.times[0] >= 0.3


def test_a_process_that_cannot_start_says_why(tmp_path):
    result = run_process([str(tmp_path / "nope")], cwd=tmp_path, env={}, time_limit=5)
    assert result.exit_code is None and "could not start" in result.error


def test_an_overlong_line_is_cut_not_kept_whole(tmp_path, monkeypatch):
    from experimentos.matrix import process

    monkeypatch.setattr(process, "MAX_LINE_BYTES", 100)
    script = "print('x' * 1000); print('next')"
    result = run_process([sys.executable, "-c", script], cwd=tmp_path, env={}, time_limit=20)
    assert [len(x) for x in result.lines] == [100, 4] and result.cut_lines == 1


# --- the shell transcript format ---------------------------------------------------------


def test_the_shell_transcript_format():
    lines = [
        '{"type": "command", "command": "npm test", "exit_code": 1}',
        '{"type": "usage", "tokens_in": 10, "tokens_out": 2}',
        '{"type": "usage", "tokens_in": 5, "cost_usd": 0.25}',
        "not json",
        '["a list"]',
        '{"type": "telepathy"}',
        '{"type": "error", "message": "rate limited"}',
        '{"type": "final_answer", "text": "done"}',
    ]
    parsed = parse_shell_transcript(lines)
    assert [e.type for e in parsed.events] == ["command", "final_answer"]
    assert parsed.usage.tokens_in == 15 and parsed.usage.tokens_out == 2
    assert parsed.usage.cost_usd == 0.25 and parsed.bad_lines == 2
    assert parsed.unknown_types == {"telepathy": 1} and parsed.errors == ["rate limited"]
    assert parsed.final_answer == "done"


# --- the MCP server bound to a run ------------------------------------------------------------


def test_a_bound_server_serves_a_variant_and_logs_into_the_bound_run(run, kb: Workspace):
    records, run_id = run
    (kb.root / "experimentos.toml").write_text('format = 1\n[index]\nembedder = "none"\n')
    server = build_server(records, knowledge=Workspace(kb.root), run_id=run_id)

    async def script(client):
        brief = await client.call_tool(
            "start_pre_work_protocol", {"task": "bump drizzle-kit", "libraries": ["drizzle-kit"]}
        )
        page = await client.call_tool(
            "get_page", {"page_id": "policy.keep-drizzle-kit-pin-verify-locally"}
        )
        done = await client.call_tool(
            "complete_run", {"run_id": run_id, "final_answer": "kept the pin"}
        )
        return brief, page, done

    async def main():
        async with mcp.Client(server) as client:
            return await script(client)

    brief, page, done = anyio.run(main)
    assert not brief.is_error and not page.is_error and not done.is_error
    assert brief.structured_content["run_id"] == run_id
    events = read_events(records, run_id).events
    server_tools = [e.payload["tool"] for e in events if e.type == "mcp_tool_called"]
    assert server_tools == ["start_pre_work_protocol", "get_page", "complete_run"]
    assert {e.type for e in events if e.source == "server"} >= {"brief_loaded"}
    # the harness, not the agent, ends a matrix run
    assert read_run(records, run_id).model.status.value == "running"
    assert "harness" in done.structured_content["note"]
    assert not list(kb.root.glob("experiments/*/runs/*"))  # records stay in the root
