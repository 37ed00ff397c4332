"""Nothing a run starts outlives it: a supervisor process around each agent and oracle.

    python -I -S supervise.py --experimentos-supervise --token T [--cgroup DIR] -- ARGV...

Killing the process group is not enough: a child that calls `setsid` (or double-forks into a
session of its own) leaves the group. So the runner starts every agent and oracle command under
this supervisor (stdlib only, run as a script: it starts in a few milliseconds), which

- marks itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER): every process the command
  starts, even one that left the group and whose parent exited, is re-parented to the
  supervisor instead of init, so it stays a descendant the supervisor can find;
- where the machine allows one, first moves the command into a fresh cgroup v2 directory the
  runner made (`--cgroup`): whatever escapes the supervisor (were it killed itself) is still in
  there, and the runner kills the cgroup when the run ends;
- when the command exits, or it is told to stop (SIGTERM/SIGINT/SIGHUP: the command gets a
  grace period; SIGUSR1: at once), kills every descendant it still has, reaps them, and exits as
  the command did (its exit code, or the same signal).

The token on its command line is how a later runner (`matrix run --resume`) recognises a
supervisor of this family before it signals a pid that a lock file names (containment.py).
"""

from __future__ import annotations

# Only what starting fast needs: this runs once per agent and per oracle (the runner's side of
# it, which may import more, is matrix/containment.py).
import contextlib
import ctypes
import os
import signal
import sys
import time

SCRIPT = os.path.realpath(__file__)
MARKER = "--experimentos-supervise"
GRACE_S = 2.0  # a stopped command's time to exit on SIGTERM before everything is killed
KILL_WAIT_S = 10.0
PR_SET_CHILD_SUBREAPER = 36
_STOP = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_WATCHED = {signal.SIGCHLD, signal.SIGUSR1, *_STOP}


def send(pid: int, sig: int) -> None:
    """Signal `pid`, which may be gone already."""
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def _subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the process group is what is left


def _children_map() -> dict[int, list[int]]:
    """ppid -> live (non-zombie) children, from /proc."""
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] not in (b"Z", b"X"):
            out.setdefault(int(fields[1]), []).append(int(name))
    return out


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (for a subreaper: everything its children started)."""
    tree = _children_map()
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _reap(main: int, status: list[int]) -> bool:
    """Reap every child that has exited; False when no child is left at all."""
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        if pid == main:
            status.append(code)


def _kill_all(main: int, status: list[int]) -> None:
    """SIGKILL every live descendant, round after round (one forked meanwhile is re-parented
    here when its parent dies, and caught next round), reaping as they go, until none is left."""
    deadline = time.monotonic() + KILL_WAIT_S
    me = os.getpid()
    while time.monotonic() < deadline:
        left = descendants(me)
        for pid in left:
            send(pid, signal.SIGKILL)
        children = _reap(main, status)
        if not left and not children:
            return
        time.sleep(0.01)


def _exec_child(argv: list[str], cgroup: str | None) -> None:
    """In the forked child: join the cgroup, restore signals, become the command."""
    try:
        if cgroup:
            try:
                with open(os.path.join(cgroup, "cgroup.procs"), "w") as handle:
                    handle.write("0")
            except OSError:
                pass  # the subreaper still holds everything
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; a command must not
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"could not start {argv[0]!r}: {exc.strerror or exc}\n".encode())
    finally:
        os._exit(127)


def _exit_as(status: list[int]) -> None:
    code = status[0] if status else None
    if code is None:
        os._exit(128 + signal.SIGKILL)
    if os.WIFSIGNALED(code):
        sig = os.WTERMSIG(code)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(code))


def main(args: list[str]) -> None:
    if MARKER not in args or "--" not in args:
        sys.exit("usage: supervise.py --experimentos-supervise --token T [--cgroup DIR] -- ARGV")
    split = args.index("--")
    options, argv = args[:split], args[split + 1 :]
    cgroup = options[options.index("--cgroup") + 1] if "--cgroup" in options else None
    if not argv:
        sys.exit("supervise.py: no command")
    _subreaper()
    signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    main_pid = os.fork()
    if main_pid == 0:
        _exec_child(argv, cgroup)
    # The supervisor keeps no copy of the run's pipes: EOF comes when the command's side closes.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    status: list[int] = []
    grace_until: float | None = None
    while True:
        _reap(main_pid, status)
        if status:
            break
        timeout = 60.0 if grace_until is None else grace_until - time.monotonic()
        if timeout <= 0:
            break
        info = signal.sigtimedwait(_WATCHED, timeout)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo == signal.SIGUSR1:
            break
        if grace_until is None:  # a stop: the command gets its grace period
            grace_until = time.monotonic() + GRACE_S
            send(main_pid, signal.SIGTERM)
    _kill_all(main_pid, status)
    _exit_as(status)


if __name__ == "__main__":
    main(sys.argv[1:])
