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
    read_regular,
    resolve_inside,
    state_path,
)
from experimentos.store.safe import is_inside as inside

__all__ = [
    "STATE_DIR",
    "atomic_write",
    "file_mode",
    "inside",
    "safe_target",
    "state_lock",
    "write_lock",
]
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
    """The absolute path for a write to `rel`, refusing anything that would land outside root."""
    target = root / rel
    if target.is_symlink():
        raise UnsafeId("refusing to write through a symlink", path=rel)
    ancestor = target.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    try:
        resolve_inside(root, ancestor.relative_to(root).as_posix())
    except UnsafePath as exc:
        message = "path resolves outside the knowledge root" if exc.code == OUTSIDE else exc.message
        raise UnsafeId(message, path=rel) from None
    except NotFound:
        raise UnsafeId("a directory on the path is a broken symlink", path=rel) from None
    return target


@contextlib.contextmanager
def state_lock(root: Path, name: str) -> Iterator[None]:
    """An exclusive, cross-process lock file `name` under the root's .experimentos/ (which must
    be a real directory: a lock file is never created through a symlink)."""
    fd = open_lock(state_path(root) / name, f"{STATE_DIR}/{name}")
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
        target.parent.mkdir(parents=True, exist_ok=True)
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
