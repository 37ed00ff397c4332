import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

from experimentos.errors import NotFound, UnsafeId, UsageError
from experimentos.lab.experiments import new_experiment
from experimentos.lab.runs import append_event, read_events, start_run
from experimentos.lab.runs.events import events_rel, parse_events
from experimentos.models.events import EVENT_TYPES, RunEvent

from .conftest import PROJECT


@pytest.fixture
def run(empty_kb):
    new_experiment(empty_kb, "Events", "agent")
    record = start_run(empty_kb, "events", "task")
    return empty_kb, record.model.id, empty_kb.root / events_rel(record.path)


VALID = {
    "brief_loaded": {"brief_id": "brief.1", "page_ids": ["policy.keep-pins"]},
    "dependency_resolved": {"page_ids": ["failure.x"]},
    "file_inspected": {"path": "src/a.py", "lines": "1-20"},
    "package_version_checked": {"package": "drizzle-kit", "version": "0.30.4"},
    "file_edited": {"path": "src/a.py", "lines_added": 3},
    "test_run": {"passed": True, "command": "pytest -q", "total": 12, "failed": 0},
    "failure_observed": {"description": "migration dropped a default"},
    "intervention_applied": {"description": "pinned", "intervention_id": "intervention.pin"},
    "decision_recorded": {"decision": "keep", "rationale": "policy", "page_ids": ["policy.p"]},
    "final_answer": {"text": "done"},
    "mcp_tool_called": {"tool": "get_page", "arguments": {"id": "policy.p"}, "ok": True},
    "command": {"command": "npm test", "exit_code": 1},
}


def test_every_contract_type_is_accepted_and_written_as_one_json_line(run):
    ws, run_id, log = run
    assert set(VALID) == set(EVENT_TYPES)
    for event_type, payload in VALID.items():
        append_event(ws, run_id, event_type, payload)
    append_event(ws, run_id, "x-custom.thing", {"anything": [1, 2]}, source="server")
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(VALID) + 2
    first = json.loads(lines[0])
    assert list(first) == ["step", "ts", "type", "source", "payload"]
    assert first["step"] == 1 and first["ts"].endswith("Z") and first["source"] == "agent"
    events = read_events(ws, run_id)
    assert events.problems == []
    assert [e.step for e in events.events] == list(range(1, len(VALID) + 2))
    assert events.events[-1].source == "server" and events.events[-1].type == "x-custom.thing"
    assert events.events[5].payload == VALID["test_run"]


@pytest.mark.parametrize(
    ("event_type", "payload", "field"),
    [
        ("file_edited", {}, "payload.path"),
        ("file_edited", {"path": "a", "reason": "x"}, "payload.reason"),
        ("test_run", {"passed": "maybe"}, "payload.passed"),
        ("test_run", {"passed": True, "failed": -1}, "payload.failed"),
        ("package_version_checked", {"package": "x"}, "payload.version"),
        ("dependency_resolved", {"page_ids": []}, "payload.page_ids"),
        ("dependency_resolved", {"page_ids": ["../etc/passwd"]}, "payload.page_ids.0"),
        ("decision_recorded", {"rationale": "r"}, "payload.decision"),
        ("final_answer", {"text": ""}, "payload.text"),
        ("mcp_tool_called", {"ok": True}, "payload.tool"),
        ("brief_loaded", [], "payload"),
        ("file_changed", {"path": "a"}, "type"),
        ("x-", {}, "type"),
        ("X-upper", {}, "type"),
    ],
)
def test_bad_events_are_refused_naming_the_field(run, event_type, payload, field):
    ws, run_id, log = run
    with pytest.raises(UsageError) as err:
        append_event(ws, run_id, event_type, payload)
    assert err.value.field == field
    assert not log.exists()  # nothing was written


def test_bad_source_and_unknown_runs_are_refused(run):
    ws, run_id, _ = run
    with pytest.raises(UsageError, match="source"):
        append_event(ws, run_id, "final_answer", {"text": "x"}, source="human")
    with pytest.raises(NotFound, match="run.missing"):
        append_event(ws, "run.missing", "final_answer", {"text": "x"})
    with pytest.raises(UnsafeId):
        append_event(ws, "run.../../x", "final_answer", {"text": "x"})


def test_reader_skips_a_torn_last_line_and_the_next_append_does_not_glue_onto_it(run):
    ws, run_id, log = run
    append_event(ws, run_id, "file_edited", {"path": "a"})
    append_event(ws, run_id, "file_edited", {"path": "b"})
    with log.open("ab") as handle:  # what a writer killed mid-line leaves behind
        handle.write(b'{"step": 3, "ts": "2026-04-26T10:00:00Z", "type": "file_ed')
    events = read_events(ws, run_id)
    assert [e.step for e in events.events] == [1, 2]
    assert [(p.code, p.severity) for p in events.problems] == [("event-torn-line", "warning")]
    event = append_event(ws, run_id, "file_edited", {"path": "c"})
    assert event.step == 3
    lines = log.read_bytes().split(b"\n")
    assert all(json.loads(line)["step"] == n for n, line in enumerate(lines[:-1], start=1))
    assert read_events(ws, run_id).problems == []


def test_a_whole_last_event_missing_its_newline_is_kept(run):
    ws, run_id, log = run
    append_event(ws, run_id, "file_edited", {"path": "a"})
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    assert [e.step for e in read_events(ws, run_id).events] == []  # unterminated: not yet whole
    assert append_event(ws, run_id, "file_edited", {"path": "b"}).step == 2
    assert [e.payload["path"] for e in read_events(ws, run_id).events] == ["a", "b"]


def test_reader_reports_bad_and_out_of_order_lines(run):
    ws, run_id, log = run
    ok = RunEvent(step=1, ts="2026-04-26T10:00:00Z", type="final_answer", payload={"text": "x"})
    again = ok.model_copy(update={"step": 1})
    log.write_bytes(ok.to_line() + b"not json\n" + again.to_line() + b'{"step": 2}\n')
    events, problems = parse_events(log.read_bytes(), "log")
    assert [e.step for e in events] == [1]
    assert [p.code for p in problems] == ["event-invalid", "event-step-order", "event-invalid"]
    assert "line 2" in problems[0].message and "line 3" in problems[1].message
    # the next step follows the highest step on disk
    assert append_event(ws, run_id, "final_answer", {"text": "y"}).step == 3


def test_appends_read_only_the_tail_of_a_long_log(run):
    ws, run_id, log = run
    big = "x" * 60_000  # a few events larger than the tail window
    for _ in range(5):
        append_event(ws, run_id, "failure_observed", {"description": big})
    assert append_event(ws, run_id, "final_answer", {"text": "t"}).step == 6


WRITER = textwrap.dedent(
    """
    import sys
    from experimentos.lab.runs import append_event
    from experimentos.store import Workspace

    root, run_id, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ws = Workspace(root)
    n = 0
    while count < 0 or n < count:
        payload = {"path": f"w{writer}/{n}", "summary": "y" * (1 + n % 50)}
        append_event(ws, run_id, "file_edited", payload)
        n += 1
    """
)


def _writer(root, run_id, writer, count):
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), run_id, str(writer), str(count)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_concurrent_writer_processes_lose_nothing(run):
    ws, run_id, log = run
    writers, per_writer = 8, 200
    procs = [_writer(ws.root, run_id, w, per_writer) for w in range(writers)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    result = read_events(ws, run_id)
    assert result.problems == []
    assert [e.step for e in result.events] == list(range(1, writers * per_writer + 1))
    seen = Counter(e.payload["path"] for e in result.events)
    expected = {f"w{w}/{n}" for w in range(writers) for n in range(per_writer)}
    assert set(seen) == expected and set(seen.values()) == {1}
    # and each writer's own events kept their order
    for w in range(writers):
        mine = [
            int(e.payload["path"].split("/")[1])
            for e in result.events
            if e.payload["path"].startswith(f"w{w}/")
        ]
        assert mine == sorted(mine)


def _wait_for_events(ws, run_id, at_least, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(read_events(ws, run_id).events) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("the writer did not get going")


def test_a_writer_killed_mid_write_leaves_a_parseable_log(run):
    ws, run_id, log = run
    for round_ in range(3):
        proc = _writer(ws.root, run_id, round_, -1)  # appends until killed
        _wait_for_events(ws, run_id, 20 * (round_ + 1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        result = read_events(ws, run_id)
        assert all(p.code == "event-torn-line" for p in result.problems), result.problems
        steps = [e.step for e in result.events]
        assert steps == list(range(1, len(steps) + 1))
    after = append_event(ws, run_id, "final_answer", {"text": "after the kills"})
    result = read_events(ws, run_id)
    assert result.problems == []
    assert result.events[-1] == after and after.step == len(result.events)
    for line in log.read_bytes().split(b"\n")[:-1]:
        json.loads(line)


SUICIDE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from experimentos.lab.runs.events import run_lock

    root, run_id, log = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    with run_lock(root, run_id):
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        os.write(fd, b'{"step": 99, "ts": "2026-04-26T10:00:00Z", "type": "final_answ')
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_writer_killed_while_holding_the_lock_releases_it(run):
    ws, run_id, log = run
    append_event(ws, run_id, "file_edited", {"path": "a"})
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run(
        [sys.executable, "-c", SUICIDE, str(ws.root), run_id, str(log)], env=env, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    assert [p.code for p in read_events(ws, run_id).problems] == ["event-torn-line"]
    assert append_event(ws, run_id, "final_answer", {"text": "t"}).step == 2
    result = read_events(ws, run_id)
    assert [e.step for e in result.events] == [1, 2] and result.problems == []
