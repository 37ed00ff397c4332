"""Run an agent process: its own process group, a time limit, stdout line by line with times.

The agent (and everything it starts: the MCP server, shells, test runners) runs in a new
session under a supervisor (matrix/containment.py: a child subreaper, and a cgroup where the
machine allows one), so one signal reaches the whole group and nothing that leaves the group
(setsid) escapes either. At the time limit, or when the runner is stopped, the group gets
SIGTERM, then everything is killed after a short grace; after a normal exit everything left is
killed too, so no descendant outlives its run. Each stdout line is kept with the wall-clock time
it arrived, which is what orders the transcript against the MCP server's own events.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from experimentos.matrix import containment

MAX_LINE_BYTES = 1024 * 1024  # a longer line is cut (the rest of it is dropped)
MAX_KEPT_BYTES = 64 * 1024 * 1024  # lines past this are counted, not kept
STDERR_TAIL_BYTES = 16 * 1024
GRACE_S = 2.0
POLL_S = 0.2


@dataclass
class ProcessResult:
    """How an agent process ended and what it printed."""

    exit_code: int | None  # None when it was killed (time limit, stop) or never started
    timed_out: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    started_at: float = 0.0  # wall clock (epoch seconds)
    lines: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # arrival time of each line (epoch)
    stdout_bytes: int = 0
    dropped_lines: int = 0  # lines not kept (over MAX_KEPT_BYTES)
    cut_lines: int = 0  # lines longer than MAX_LINE_BYTES, kept cut
    stderr_tail: str = ""
    stderr_bytes: int = 0
    error: str | None = None  # the process could not be started


class _LineReader(threading.Thread):
    def __init__(self, pipe, result: ProcessResult):  # noqa: ANN001 - a binary pipe
        super().__init__(daemon=True)
        self.pipe, self.result = pipe, result
        self.kept = 0

    def run(self) -> None:
        result, cutting = self.result, False
        with self.pipe:
            while chunk := self.pipe.readline(MAX_LINE_BYTES):
                now = time.time()
                result.stdout_bytes += len(chunk)
                complete = chunk.endswith(b"\n")
                if cutting:  # the rest of a line that was too long
                    cutting = not complete
                    continue
                if not complete and len(chunk) >= MAX_LINE_BYTES:
                    cutting = True
                    result.cut_lines += 1
                if self.kept + len(chunk) > MAX_KEPT_BYTES:
                    result.dropped_lines += 1
                    continue
                self.kept += len(chunk)
                result.lines.append(chunk.rstrip(b"\r\n").decode("utf-8", "replace"))
                result.times.append(now)


class _Tail(threading.Thread):
    def __init__(self, pipe, result: ProcessResult):  # noqa: ANN001
        super().__init__(daemon=True)
        self.pipe, self.result = pipe, result
        self.buffer = bytearray()

    def run(self) -> None:
        with self.pipe:
            while chunk := self.pipe.read1(65536):
                self.result.stderr_bytes += len(chunk)
                self.buffer += chunk
                if len(self.buffer) > 2 * STDERR_TAIL_BYTES:
                    del self.buffer[: len(self.buffer) - STDERR_TAIL_BYTES]

    def text(self) -> str:
        return bytes(self.buffer[-STDERR_TAIL_BYTES:]).decode("utf-8", "replace")


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot), or None if it is gone.

    Stored with a pid so that a later runner kills that process and never one that merely
    reuses its pid.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _stdin_writer(pipe, data: str) -> threading.Thread:  # noqa: ANN001
    def write() -> None:
        with contextlib.suppress(OSError), pipe:
            pipe.write(data.encode("utf-8"))

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    time_limit: float,
    stdin: str | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[int], None] | None = None,
    token: str | None = None,
) -> ProcessResult:
    """Run `argv` in its own process group, under a supervisor carrying `token`, until it exits,
    `time_limit` passes or `stop` is set; everything it started is killed in every case before
    this returns. `on_start` gets the supervisor's pid (the group's leader)."""
    result = ProcessResult(exit_code=None, started_at=time.time())
    start = time.monotonic()
    problem = containment.start_problem(argv[0], env, cwd) if argv else "empty command"
    if problem:
        result.error = f"could not start {argv[0] if argv else ''!r}: {problem}"
        return result
    cage = containment.contain(token)
    try:
        proc = subprocess.Popen(
            cage.argv(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        cage.close()
        result.error = f"could not start {argv[0]!r}: {exc.strerror or exc}"
        return result
    readers = [_LineReader(proc.stdout, result), _Tail(proc.stderr, result)]
    for reader in readers:
        reader.start()
    if stdin is not None:
        _stdin_writer(proc.stdin, stdin)
    try:
        if on_start is not None:
            on_start(proc.pid)
        deadline = start + time_limit
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out = True
                break
            try:
                proc.wait(timeout=min(POLL_S, remaining))
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    result.interrupted = True
                    break
        if result.timed_out or result.interrupted:
            kill_group(proc.pid, signal.SIGTERM)  # the supervisor kills the rest after its grace
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=containment.GRACE_S + containment.KILL_WAIT_S)
    finally:
        kill_group(proc.pid)  # whatever is left of the group, in every case
        proc.wait()
        cage.close()  # and of the cgroup
    result.seconds = round(time.monotonic() - start, 3)
    if not (result.timed_out or result.interrupted):
        result.exit_code = proc.returncode
    for reader in readers:
        reader.join(5.0)  # a child that left the group may hold a pipe: do not wait on it
    result.stderr_tail = readers[1].text()
    return result
