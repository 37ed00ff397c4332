"""Atomic, checksum-guarded file writes that never leave the knowledge root."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from experimentos.errors import AlreadyExists, ConcurrentEdit, NotFound, UnsafeId, UnsafePath
from experimentos.store.documents import checksum
from experimentos.store.safe import (
    OUTSIDE,
    STATE_DIR,
    open_lock,
    plain_name,
    read_regular,
    resolve_inside,
    state_path,
    state_rel,
)
from experimentos.store.safe import is_inside as inside

__all__ = [
    "STATE_DIR",
    "add_to_file",
    "atomic_write",
    "file_mode",
    "inside",
    "make_parents",
    "safe_target",
    "state_lock",
    "write_lock",
]


def _parts(rel: str) -> list[str]:
    """The parts of a root-relative write path: never absolute, never an empty, `.` or `..`
    part, never a NUL (ids from records and agents end up here)."""
    shown = rel.replace("\x00", "\\0") if isinstance(rel, str) else repr(rel)
    if not isinstance(rel, str) or not rel or "\x00" in rel or rel.startswith("/"):
        raise UnsafeId("not a relative path inside the knowledge root", path=shown)
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeId("path has an empty, '.' or '..' part; refusing to write", path=shown)
    return parts


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (reading it means setting it; a lock keeps threads from racing)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode(target: Path) -> int:
    """The mode a file written at `target` gets: the mode of the file it replaces, else what
    open() would give a new file (0o666 minus the umask). A temp file from mkstemp is 0600 and
    a rename keeps that, so every temp-then-rename writer chmods the temp file to this first."""
    try:
        info = os.lstat(target)
    except OSError:
        return 0o666 & ~current_umask()
    if stat.S_ISREG(info.st_mode):
        return stat.S_IMODE(info.st_mode)
    return 0o666 & ~current_umask()


def safe_target(root: Path, rel: str) -> Path:
    """The absolute path for a write to `rel`, refusing anything that would land outside root.

    Every part of `rel` is checked, not only the nearest existing directory: a `..` part is
    refused outright, and each existing part that is a symlink must resolve inside the root (a
    symlink as the file itself is refused). Parts that do not exist yet are created by the
    writer one by one (`make_parents`), which checks again."""
    parts = _parts(rel)
    current = Path(root)
    for depth, part in enumerate(parts, start=1):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            break  # this part and everything below it will be created by the writer
        except NotADirectoryError:
            raise UnsafeId("a part of the path is a file, not a directory", path=rel) from None
        if not stat.S_ISLNK(mode):
            continue
        if depth == len(parts):
            raise UnsafeId("refusing to write through a symlink", path=rel)
        try:
            resolve_inside(root, "/".join(parts[:depth]))
        except UnsafePath as exc:
            message = (
                "path resolves outside the knowledge root" if exc.code == OUTSIDE else exc.message
            )
            raise UnsafeId(message, path=rel) from None
        except NotFound:
            raise UnsafeId("a directory on the path is a broken symlink", path=rel) from None
    return Path(root) / rel


def make_parents(root: Path, rel: str) -> Path:
    """Create the missing directories of root/rel one part at a time, then check the directory
    the file goes into resolves inside the root (a part swapped for a link meanwhile is caught
    here). Returns that directory."""
    parts = _parts(rel)
    current = Path(root)
    for part in parts[:-1]:
        current = current / part
        with contextlib.suppress(FileExistsError):
            os.mkdir(current)
    if not inside(root, current):
        raise UnsafeId("path resolves outside the knowledge root", path=rel)
    return current


def add_to_file(root: Path, rel: str, data: bytes, *, create_only: bool = False) -> bool:
    """Append `data` to root/rel, creating it (and its directories) if missing; with
    `create_only`, write only a file that does not exist yet (False when it does). The path is
    checked part by part and the file opened without following a link (UnsafeId / UnsafePath):
    for the small files `init` adds to, in repositories where they may be links."""
    target = safe_target(root, rel)
    make_parents(root, rel)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    flags |= os.O_EXCL if create_only else os.O_APPEND
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise UnsafeId(exc.strerror or str(exc), path=rel) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeId("not a regular file; refusing to write", path=rel)
        os.write(fd, data)
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def state_lock(root: Path, name: str) -> Iterator[None]:
    """An exclusive, cross-process lock file `name` under the root's .experimentos/ (which must
    be a real directory: a lock file is never created through a symlink)."""
    if not plain_name(name):
        raise UnsafeId(f"lock name {name!r} is not a plain file name")
    fd = open_lock(state_path(root) / name, state_rel(name))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    """The lock that makes a writer's check-then-rename atomic across processes."""
    return state_lock(root, "write.lock")


def atomic_write(root: Path, rel: str, data: bytes, *, expected: str | None) -> None:
    """Write `data` to root/rel via temp file + rename.

    `expected` is the checksum of the bytes the writer read, or None for a new file. If the file
    on disk no longer has that checksum, the write is refused: nobody's edit is overwritten.
    """
    target = safe_target(root, rel)
    with write_lock(root):
        if target.exists():
            if expected is None:
                raise AlreadyExists("file already exists", path=rel)
            current = checksum(read_regular(root, rel))
            if current != expected:
                raise ConcurrentEdit(
                    "file changed on disk since it was read; re-read it and apply the change again",
                    path=rel,
                )
        elif expected is not None:
            raise ConcurrentEdit("file was deleted since it was read", path=rel)
        make_parents(root, rel)
        mode = file_mode(target)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), mode)
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
