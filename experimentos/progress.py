"""Progress of long work, on stderr: a bar on a terminal, a line per phase otherwise.

Never on stdout, so `--json` answers stay clean whatever is drawn. Every long step (the first
index, the one-time ONNX export, embedding, a matrix run) reports through the one process-wide
reporter:

    with progress.task("indexing: embedding", total=len(texts), unit="chunks") as task:
        for batch in batches:
            ...
            task.advance(len(batch))

On a terminal the task is one line redrawn in place (a bar, done/total, elapsed, ETA); in a log
(CI, a pipe) it is a line when it starts, a line at most every `interval` seconds while it runs
(every update for tasks that ask for it), and a line when it ends. `mcp serve` silences it (its
stderr is a client's log); `EXPERIMENTOS_PROGRESS=0` silences it anywhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

ENV = "EXPERIMENTOS_PROGRESS"
INTERVAL = 10.0  # seconds between two lines of the same task in a log
_BAR = 24
_REDRAW = 0.1  # seconds between two redraws on a terminal


def clock_text(seconds: float) -> str:
    """0:07, 1:05:09: how long, at a glance."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Task:
    """One phase of long work: what it does, how far along, how long it has taken."""

    def __init__(
        self,
        reporter: Reporter,
        label: str,
        total: int | None,
        unit: str,
        every: float | None,
    ):
        self.reporter = reporter
        self.label = label
        self.total = total
        self.unit = unit
        self.every = reporter.interval if every is None else every
        self.done = 0
        self.detail = ""
        self.started = reporter.clock()
        self._last_line = self.started
        self._last_draw = 0.0
        self.finished = False

    # --- what the work calls ------------------------------------------------------------------

    def update(self, done: int, total: int | None = None, detail: str | None = None) -> None:
        """Set how far along the task is (and, when it becomes known, its total)."""
        if total is not None:
            self.total = total
        if detail is not None:
            self.detail = detail
        self.done = done
        self.reporter._progressed(self)

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        self.update(self.done + n, detail=detail)

    def finish(self, detail: str | None = None) -> None:
        if self.finished:
            return
        if detail is not None:
            self.detail = detail
        self.finished = True
        self.reporter._finished(self)

    # --- how it reads ------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.reporter.clock() - self.started

    def eta(self) -> float | None:
        if not self.total or not self.done or self.done >= self.total:
            return None
        return self.elapsed / self.done * (self.total - self.done)

    def counts(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None:
            return f"{self.done}{unit}" if self.done else ""
        percent = int(100 * self.done / self.total) if self.total else 100
        return f"{self.done}/{self.total}{unit} ({percent}%)"

    def line(self) -> str:
        parts = [p for p in (self.counts(), self.detail) if p]
        parts.append(f"{clock_text(self.elapsed)} elapsed")
        eta = self.eta()
        if eta is not None:
            parts.append(f"ETA {clock_text(eta)}")
        return f"{self.label}: " + " · ".join(parts)

    def start_line(self) -> str:
        if self.total is None:
            return f"{self.label} …"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label}: {self.total}{unit} …"

    def end_line(self) -> str:
        parts = [p for p in (self.counts(), self.detail) if p]
        parts.append(f"done in {clock_text(self.elapsed)}")
        return f"{self.label}: " + " · ".join(parts)

    def bar(self) -> str:
        if self.total:
            filled = int(_BAR * min(self.done, self.total) / self.total)
            gauge = "[" + "#" * filled + "-" * (_BAR - filled) + "] "
        else:
            spin = "|/-\\"[int(self.elapsed * 4) % 4]
            gauge = f"{spin} "
        return f"{self.label} {gauge}" + self.line()[len(self.label) + 2 :]

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


class Reporter:
    """Draws tasks on a stream (stderr by default, looked up when written: tests swap it)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interactive: bool | None = None,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stream = stream
        self._interactive = interactive
        self.interval = interval
        self.clock = clock
        self._silenced = 0
        self._lock = threading.Lock()
        self._drawn = False  # a bar is on the terminal's current line

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def enabled(self) -> bool:
        return not self._silenced and os.environ.get(ENV, "1").strip().lower() not in (
            "0",
            "false",
            "no",
            "off",
        )

    def interactive(self) -> bool:
        if self._interactive is not None:
            return self._interactive
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def task(
        self, label: str, total: int | None = None, unit: str = "", every: float | None = None
    ) -> Task:
        """Start a task; `every`: seconds between its lines in a log (0: every update)."""
        task = Task(self, label, total, unit, every)
        if self.enabled:
            if self.interactive():
                self._draw(task)
            else:
                self._write(task.start_line())
        return task

    def note(self, text: str) -> None:
        """A line of its own (a bar on the terminal is redrawn by the next update)."""
        if self.enabled:
            self._write(text)

    def callback(self, label: str, unit: str = "") -> Callable[[str, int, int], None]:
        """A `(phase, done, total)` callback (what Index.sync and fixture checks take): one task
        per phase, labelled `<label>: <phase>`. Close it with `.close()` on the callback."""
        tasks: dict[str, Task] = {}

        def update(phase: str, done: int, total: int) -> None:
            task = tasks.get(phase)
            if task is None:
                for other in tasks.values():
                    other.finish()
                task = tasks[phase] = self.task(f"{label}: {phase}", total, unit)
            task.update(done, total)
            if total and done >= total:
                task.finish()

        def close() -> None:
            for task in tasks.values():
                task.finish()

        update.close = close  # type: ignore[attr-defined]
        return update

    @contextlib.contextmanager
    def silenced(self) -> Iterator[None]:
        """No progress while the block runs (a server whose stderr is a client's log)."""
        self.silence()
        try:
            yield
        finally:
            self._silenced -= 1

    def silence(self) -> None:
        """No progress from now on in this process."""
        self._silenced += 1

    # --- drawing ------------------------------------------------------------------------------

    def _progressed(self, task: Task) -> None:
        if not self.enabled or task.finished:
            return
        now = self.clock()
        if self.interactive():
            if now - task._last_draw >= _REDRAW or (task.total and task.done >= task.total):
                task._last_draw = now
                self._draw(task)
        elif now - task._last_line >= task.every:
            task._last_line = now
            self._write(task.line())

    def _finished(self, task: Task) -> None:
        if not self.enabled:
            return
        if self.interactive():
            self._draw(task)
            with self._lock:
                self._emit("\n")
                self._drawn = False
        else:
            self._write(task.end_line())

    def _draw(self, task: Task) -> None:
        with self._lock:
            self._emit("\r\033[K" + task.bar())
            self._drawn = True

    def _write(self, text: str) -> None:
        with self._lock:
            if self._drawn:
                self._emit("\r\033[K")
                self._drawn = False
            self._emit(text + "\n")

    def _emit(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr never stops the work
            pass


_reporter = Reporter()


def reporter() -> Reporter:
    """The process-wide reporter (stderr)."""
    return _reporter


def task(label: str, total: int | None = None, unit: str = "", every: float | None = None) -> Task:
    """Start a task on the process-wide reporter."""
    return _reporter.task(label, total, unit, every)
