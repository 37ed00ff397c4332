"""Feedback on long work: progress on stderr (a bar on a terminal, a line per phase in a log),
never on stdout, so --json answers stay clean; the first index, the demo's index build and a
matrix run show what is happening and how far along."""

from __future__ import annotations

import io
import json

import pytest

from experimentos.index.embeddings import embeddings_installed
from experimentos.progress import ENV, Reporter, clock_text

from .matrix_helpers import GOOD, LAZY, cli_run, json_out, make_root


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_a_log_a_task_is_a_line_when_it_starts_every_interval_and_when_it_ends():
    out, clock = io.StringIO(), Clock()
    reporter = Reporter(out, interactive=False, interval=10, clock=clock)
    task = reporter.task("indexing: embedding", total=200, unit="chunks")
    for step in range(1, 5):  # 4 updates within 10 s: no line
        clock.now += 2
        task.update(step * 10)
    clock.now += 3  # 11 s in: one line, with the rate so far as ETA
    task.update(50)
    clock.now += 20
    task.finish()
    lines = out.getvalue().splitlines()
    assert lines == [
        "indexing: embedding: 200 chunks …",
        "indexing: embedding: 50/200 chunks (25%) · 0:11 elapsed · ETA 0:33",
        "indexing: embedding: 50/200 chunks (25%) · done in 0:31",
    ]


def test_a_task_may_ask_for_a_line_per_update_and_carry_a_detail():
    out, clock = io.StringIO(), Clock()
    reporter = Reporter(out, interactive=False, clock=clock)
    with reporter.task("matrix m", total=2, unit="cells", every=0) as task:
        clock.now += 30
        task.update(1, detail="1 passed")
        clock.now += 30
        task.update(2, detail="1 passed, 1 not passed")
    assert out.getvalue().splitlines() == [
        "matrix m: 2 cells …",
        "matrix m: 1/2 cells (50%) · 1 passed · 0:30 elapsed · ETA 0:30",
        "matrix m: 2/2 cells (100%) · 1 passed, 1 not passed · 1:00 elapsed",
        "matrix m: 2/2 cells (100%) · 1 passed, 1 not passed · done in 1:00",
    ]


def test_on_a_terminal_a_task_is_one_line_redrawn_with_a_bar():
    out, clock = io.StringIO(), Clock()
    reporter = Reporter(out, interactive=True, clock=clock)
    task = reporter.task("exporting", total=4, unit="steps")
    clock.now += 1
    task.update(2)
    reporter.note("a line of its own")
    clock.now += 1
    task.update(4)
    task.finish()
    text = out.getvalue()
    assert "\r\x1b[Kexporting [------------------------] 0/4 steps (0%)" in text
    assert "\r\x1b[Kexporting [############------------] 2/4 steps (50%)" in text
    assert "\r\x1b[Ka line of its own\n" in text
    assert text.endswith("\n") and text.count("\n") == 2  # the note, then the finished bar
    spinner = Reporter(io.StringIO(), interactive=True, clock=clock).task("loading")
    assert spinner.bar().startswith("loading | ") or spinner.bar()[8] in "|/-\\"


def test_it_can_be_silenced(monkeypatch):
    out = io.StringIO()
    reporter = Reporter(out, interactive=False)
    with reporter.silenced():
        reporter.task("quiet", total=1).finish()
    monkeypatch.setenv(ENV, "0")
    reporter.task("quiet too").finish()
    assert out.getvalue() == ""


def test_callbacks_of_phases_become_tasks():
    out, clock = io.StringIO(), Clock()
    progress = Reporter(out, interactive=False, clock=clock).callback("fixture check")
    progress("fixtures", 0, 3)
    clock.now += 1
    progress("fixtures", 3, 3)
    progress.close()
    assert out.getvalue().splitlines() == [
        "fixture check: fixtures: 3 …",
        "fixture check: fixtures: 3/3 (100%) · done in 0:01",
    ]


def test_clock_text():
    assert [clock_text(s) for s in (0, 7.4, 65, 3909)] == ["0:00", "0:07", "1:05", "1:05:09"]


@pytest.mark.skipif(not embeddings_installed(), reason="needs the embeddings extra")
def test_the_first_index_shows_its_progress_on_stderr_and_json_stays_clean(kb, cli):
    first = cli(kb.root, "index", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["rebuilt"] is True  # stdout: the answer alone
    err = first.stderr
    assert "indexing: embedding:" in err and " chunks …" in err
    assert "indexing: writing the tables" in err and "done in" in err
    again = cli(kb.root, "index", "--json")  # nothing to do: nothing to show
    assert json.loads(again.stdout)["rebuilt"] is False
    assert "indexing:" not in again.stderr


def test_a_matrix_run_reports_cells_passes_elapsed_and_eta_on_stderr_also_with_json(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD, "lazy": LAZY}, repeats=2)
    done = cli_run(ws.root, "matrix", "run", "m", "--jobs", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json_out(done)["to_run"] == 4  # stdout is the JSON answer, nothing else
    lines = [line for line in done.stderr.splitlines() if line.startswith("matrix m:")]
    assert lines[0] == "matrix m: 4 cells …"
    assert lines[1].startswith("matrix m: 1/4 cells (25%) · 1 passed · ")
    assert "elapsed · ETA" in lines[1]
    assert lines[4].startswith("matrix m: 4/4 cells (100%) · 2 passed, 2 not passed · ")
    assert lines[-1].startswith("matrix m: 4/4 cells (100%) · 2 passed, 2 not passed · done in")
