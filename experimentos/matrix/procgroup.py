"""Run a shell command in its own process group: clean environment, time limit, output tail.

The command runs under a supervisor (matrix/containment.py), so everything it starts is killed at
the limit and after a normal exit, even a child that left the group (setsid); output is drained
in a thread and only its last bytes are kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from pydantic import BaseModel

from experimentos.matrix import containment

OUTPUT_TAIL_BYTES = 16 * 1024


class OracleResult(BaseModel):
    """How a command (an oracle, a setup) ended."""

    command: str
    exit_code: int | None  # None when it was killed at the time limit
    passed: bool
    timed_out: bool
    seconds: float
    output_tail: str  # the last OUTPUT_TAIL_BYTES of stdout and stderr, interleaved
    output_bytes: int  # how much it printed in total
    truncated: bool


def clean_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment: PATH, a private HOME and TMPDIR, UTF-8, UTC, no bytecode files,
    no user or system git config. Nothing else of the caller's environment (no secrets)."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "NO_COLOR": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    env.update(extra or {})
    return env


def run_command(
    command: str,
    cwd: Path,
    timeout: float,
    *,
    env: dict[str, str] | None = None,
    tail_bytes: int = OUTPUT_TAIL_BYTES,
) -> OracleResult:
    """`sh -c command` in its own process group, under a supervisor; everything it started is
    killed at `timeout` and after a normal exit, so no stray descendant outlives it."""
    if env is None:
        home = Path(tempfile.mkdtemp(prefix="xos-cmd-"))
        try:
            return run_command(command, cwd, timeout, env=clean_env(home), tail_bytes=tail_bytes)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    start = time.monotonic()
    cage = containment.contain()
    proc = subprocess.Popen(
        cage.argv(["/bin/sh", "-c", command]),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, with the shell as leader
    )
    tail = _Tail(proc.stdout, tail_bytes)
    tail.start()
    timed_out = False
    try:
        if not containment.wait_exit(proc, timeout):
            timed_out = True
            containment.stop(proc.pid)  # kill the command and its descendants at once
            containment.wait_exit(proc, containment.KILL_WAIT_S)
    finally:
        _kill_group(proc.pid)
        proc.wait()
        cage.close()
    seconds = time.monotonic() - start
    tail.join(2.0)  # a child that left the group may still hold the pipe: do not wait on it
    exit_code = None if timed_out else proc.returncode
    return OracleResult(
        command=command,
        exit_code=exit_code,
        passed=exit_code == 0,
        timed_out=timed_out,
        seconds=round(seconds, 3),
        output_tail=tail.text(),
        output_bytes=tail.total,
        truncated=tail.total > tail_bytes,
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _Tail(threading.Thread):
    """Drains a pipe, keeping only its last `limit` bytes."""

    def __init__(self, pipe, limit: int):  # noqa: ANN001 - a binary file object
        super().__init__(daemon=True)
        self.pipe, self.limit = pipe, limit
        self.buffer = bytearray()
        self.total = 0

    def run(self) -> None:
        with self.pipe:
            while chunk := self.pipe.read1(65536):
                self.total += len(chunk)
                self.buffer += chunk
                if len(self.buffer) > 2 * self.limit:
                    del self.buffer[: len(self.buffer) - self.limit]

    def text(self) -> str:
        return bytes(self.buffer[-self.limit :]).decode("utf-8", "replace")
