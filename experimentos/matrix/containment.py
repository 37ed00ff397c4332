"""The runner's side of supervise.py: start a command contained, clean up after it, and tell a
supervisor of this family from any other process.

A command is contained by a supervisor (a child subreaper, see supervise.py) and, where this
machine lets the runner create cgroups below its own (cgroup v2, a delegated or root-owned
hierarchy), by a fresh cgroup the runner kills and removes when the command has ended.
"""

from __future__ import annotations

import functools
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from experimentos.matrix.supervise import GRACE_S, KILL_WAIT_S, MARKER, SCRIPT, send

__all__ = [
    "GRACE_S",
    "KILL_WAIT_S",
    "Containment",
    "cgroup_base",
    "contain",
    "is_supervisor",
    "kill_cgroup",
    "running",
    "start_problem",
    "stop",
    "wait_exit",
]


@functools.lru_cache(maxsize=1)
def _own_cgroup() -> Path | None:
    """This process's cgroup v2 directory, when there is one this process may create in."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
        mounts = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    mount = next(
        (line.split()[4] for line in mounts if " - cgroup2 " in line and len(line.split()) > 4),
        None,
    )
    if path is None or mount is None:
        return None
    base = Path(mount) / path.lstrip("/")
    probe = base / f"xos-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return None
    return base


def cgroup_base() -> Path | None:
    """Where run cgroups are made, or None when this machine gives none (then the subreaper
    alone holds the descendants)."""
    return _own_cgroup()


@dataclass
class Containment:
    """One command's supervisor: its token, its cgroup (if any), and the argv that starts it."""

    token: str
    cgroup: Path | None = None

    def argv(self, argv: list[str]) -> list[str]:
        head = [sys.executable, "-I", "-S", SCRIPT, MARKER, "--token", self.token]
        if self.cgroup is not None:
            head += ["--cgroup", str(self.cgroup)]
        return [*head, "--", *argv]

    def close(self) -> None:
        """Kill whatever is left in the cgroup and remove it (the supervisor has exited)."""
        if self.cgroup is not None:
            kill_cgroup(self.cgroup)
            self.cgroup = None


def contain(token: str | None = None) -> Containment:
    """A containment for one command: a fresh token, and a fresh cgroup where allowed."""
    token = token or secrets.token_hex(16)
    base = cgroup_base()
    cgroup = None
    if base is not None:
        candidate = base / f"xos-{os.getpid()}-{token[:12]}"
        try:
            candidate.mkdir()
            cgroup = candidate
        except OSError:
            cgroup = None
    return Containment(token, cgroup)


def kill_cgroup(cgroup: Path, wait_s: float = KILL_WAIT_S) -> None:
    """SIGKILL every process in `cgroup` (cgroup.kill where the kernel has it), wait until it is
    empty, remove it. Never raises: a cgroup that will not empty is left behind."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            break
        if not pids:
            break
        try:
            (cgroup / "cgroup.kill").write_text("1")
        except OSError:
            for pid in pids:
                send(pid, signal.SIGKILL)
        time.sleep(0.02)
    while time.monotonic() < deadline:
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # busy: the last process is still exiting
            time.sleep(0.02)


def is_supervisor(pid: int, token: str) -> bool:
    """Whether `pid` is a supervisor of this family that carries `token` (its command line)."""
    if not isinstance(token, str) or not token:
        return False
    try:
        raw = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    args = raw.decode("utf-8", "replace").split("\0")
    try:
        at = args.index(MARKER)
    except ValueError:
        return False
    return args[at + 1 : at + 3] == ["--token", token] and SCRIPT in args[:at]


def running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie."""
    try:
        raw = Path(f"/proc/{int(pid)}/stat").read_bytes()
    except (OSError, ValueError):
        return False
    fields = raw.rsplit(b")", 1)[-1].split()
    return bool(fields) and fields[0] not in (b"Z", b"X")


def stop(pid: int) -> None:
    """Tell a supervisor to kill everything it holds at once (SIGUSR1)."""
    send(pid, signal.SIGUSR1)


def wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `proc` to exit; True when it did. Woken by the kernel
    (a pidfd) rather than by Popen.wait's polling, whose back-off adds tens of ms to every short
    command."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or reaped already
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        ready, _, _ = select.select([fd], [], [], max(timeout, 0))
    finally:
        os.close(fd)
    if not ready:
        return False
    proc.wait()
    return True


def start_problem(argv0: str, env: dict[str, str], cwd: Path) -> str | None:
    """Why `argv0` cannot be executed (as Popen would say), or None. Checked before the
    supervisor starts, so a missing binary is still "could not start", not an exit code."""
    if "/" in argv0:
        path = Path(argv0) if os.path.isabs(argv0) else Path(cwd) / argv0
        if not path.exists():
            return "No such file or directory"
        if not path.is_file() or not os.access(path, os.X_OK):
            return "Permission denied"
        return None
    if shutil.which(argv0, path=env.get("PATH", os.defpath)) is None:
        return "No such file or directory"
    return None
