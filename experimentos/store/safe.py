"""Files on disk are hostile: the one place that decides what may be read, listed or used.

Every reader goes through here. A read resolves its path (symlinks followed), refuses one that
leaves the root or loops, and opens only a regular file, without blocking on a FIFO; a listing
reports such entries as problems with their path and keeps going; the state directory
(`.experimentos/`) must be a real directory inside the root, never a symlink.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from experimentos.errors import NotFound, UnsafePath
from experimentos.models.knowledge import Problem

STATE_DIR = ".experimentos"

OUTSIDE = "symlink-outside-root"
LOOP = "symlink-loop"
NOT_A_FILE = "not-a-regular-file"
NOT_A_DIR = "not-a-directory"
READ_ERROR = "read-error"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _loop(rel: str) -> UnsafePath:
    return UnsafePath("symlink loop (the link resolves to itself)", path=rel, code=LOOP)


def _outside(rel: str) -> UnsafePath:
    return UnsafePath("symlink points outside the knowledge root", path=rel, code=OUTSIDE)


def resolve_inside(root: Path, rel: str | PurePosixPath) -> Path:
    """The real path of root/rel: NotFound when nothing is there (or a link dangles), UnsafePath
    when a symlink on the way leaves `root` (itself resolved) or loops."""
    rel = PurePosixPath(rel).as_posix()
    try:
        real = (root / rel).resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a symlink loop this way
        raise _loop(rel) from None
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound("no such file", path=rel) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop(rel) from None
        raise UnsafePath(exc.strerror or str(exc), path=rel, code=READ_ERROR) from None
    if not real.is_relative_to(root.resolve()):
        raise _outside(rel)
    return real


def is_inside(root: Path, path: Path) -> bool:
    """Whether `path` (symlinks followed) lies inside `root`; False for a loop."""
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):
        return False
    return resolved.is_relative_to(root.resolve())


def read_regular(root: Path, rel: str | PurePosixPath, *, limit: int | None = None) -> bytes:
    """The bytes of root/rel, which must resolve to a regular file inside `root`.

    With `limit`, at most limit + 1 bytes are read (enough for the caller to say "too large").
    Raises NotFound, or UnsafePath with a problem code.
    """
    rel = PurePosixPath(rel).as_posix()
    real = resolve_inside(root, rel)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the path was just
        # resolved, so a symlink here means it was swapped since.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound("no such file", path=rel) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath("file was replaced by a symlink while being read", path=rel,
                             code=LOOP) from None  # fmt: skip
        if exc.errno in (errno.ENXIO, errno.ENODEV):  # a socket or a device
            raise UnsafePath("not a regular file", path=rel, code=NOT_A_FILE) from None
        raise UnsafePath(exc.strerror or str(exc), path=rel, code=READ_ERROR) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsafePath(f"not a regular file ({_kind(mode)})", path=rel, code=NOT_A_FILE)
        chunks, size = [], 0
        while limit is None or size <= limit:
            want = 1 << 20 if limit is None else min(1 << 20, limit + 1 - size)
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafePath(exc.strerror or str(exc), path=rel, code=READ_ERROR) from None
    finally:
        os.close(fd)


def regular_file(root: Path, rel: str | PurePosixPath) -> bool:
    """Whether root/rel resolves to a regular file inside `root` (no exception, no open)."""
    try:
        return stat.S_ISREG(os.stat(resolve_inside(root, rel)).st_mode)
    except (NotFound, UnsafePath, OSError):
        return False


@dataclass
class Listing:
    """Regular files found (root-relative path, stat of the file they resolve to) and every
    entry that was not followed or not a regular file, as a problem with its path."""

    files: list[tuple[str, os.stat_result]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [rel for rel, _ in self.files]


def list_files(
    root: Path,
    rel: str,
    *,
    recursive: bool = False,
    follow: Callable[[str], bool] | None = None,
) -> Listing:
    """The files under the directory root/rel, sorted, never leaving the root and never looping.

    Symlinks are resolved: one that leaves the root, loops or dangles is a problem, one to a
    regular file inside the root is listed. With `recursive`, subdirectories are walked; a
    symlinked directory inside the root is walked only when `follow(rel)` says so (else it is
    reported as not scanned). A missing directory lists nothing.
    """
    out = Listing()
    root = root.resolve()
    try:
        top = resolve_inside(root, rel)
    except NotFound:
        return out
    except UnsafePath as exc:
        out.problems.append(Problem(path=rel, code=exc.code, message=exc.message))
        return out
    if not top.is_dir():
        return out
    _walk(root, rel, top, out, recursive, follow or (lambda _rel: False), set())
    return out


def _walk(
    root: Path,
    rel: str,
    real: Path,
    out: Listing,
    recursive: bool,
    follow: Callable[[str], bool],
    seen: set[tuple[int, int]],
) -> None:
    try:
        st = os.stat(real)
        key = (st.st_dev, st.st_ino)
        if key in seen:
            message = "symlink leads back into a directory already scanned"
            out.problems.append(Problem(path=rel, code=LOOP, message=message))
            return
        seen.add(key)
        with os.scandir(real) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        code = LOOP if exc.errno == errno.ELOOP else READ_ERROR
        out.problems.append(Problem(path=rel, code=code, message=exc.strerror or str(exc)))
        return
    for entry in entries:
        child = f"{rel}/{entry.name}"
        try:
            if entry.is_symlink():
                _link(root, child, out, recursive, follow, seen)
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError:  # removed between listing and looking
            continue
        if stat.S_ISDIR(info.st_mode):
            if recursive:
                _walk(root, child, Path(entry.path), out, recursive, follow, seen)
        elif stat.S_ISREG(info.st_mode):
            out.files.append((child, info))
        else:
            message = f"not a regular file ({_kind(info.st_mode)}); not read"
            out.problems.append(Problem(path=child, code=NOT_A_FILE, message=message))


def _link(
    root: Path,
    rel: str,
    out: Listing,
    recursive: bool,
    follow: Callable[[str], bool],
    seen: set[tuple[int, int]],
) -> None:
    try:
        real = resolve_inside(root, rel)
        info = os.stat(real)
    except UnsafePath as exc:
        out.problems.append(Problem(path=rel, code=exc.code, message=exc.message))
        return
    except (NotFound, FileNotFoundError):
        out.problems.append(
            Problem(
                path=rel,
                code="unknown-file",
                severity="warning",
                message="broken symlink (its target does not exist)",
            )
        )
        return
    if stat.S_ISDIR(info.st_mode):
        if recursive and follow(rel):
            _walk(root, rel, real, out, recursive, follow, seen)
        elif recursive:
            out.problems.append(
                Problem(
                    path=rel,
                    code="unknown-file",
                    severity="warning",
                    message="symlinked directory is not scanned",
                )
            )
    elif stat.S_ISREG(info.st_mode):
        out.files.append((rel, info))
    else:
        message = f"not a regular file ({_kind(info.st_mode)}); not read"
        out.problems.append(Problem(path=rel, code=NOT_A_FILE, message=message))


def plain_name(name: str) -> bool:
    """A single path part: not empty, `.` or `..`, no separator, no NUL."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\x00" not in name
    )


def state_rel(*parts: str) -> str:
    """`.experimentos[/parts...]` as a root-relative path (for messages and safe reads)."""
    return "/".join((STATE_DIR, *parts))


def state_path(root: Path, *parts: str, create: bool = True) -> Path:
    """root/.experimentos[/parts...]: the one way to any path under the state directory.

    Each part is a plain name, and each directory on the way is a real directory inside the
    root, created when missing (unless `create` is False: then the path is returned as soon as
    a part is missing, with nothing below it to check). A symlink or a file in their place is
    refused, never followed or removed: the index is deleted and rebuilt in there, locks are
    truncated, npm installs into it, and a link would aim all that at someone else's files.
    """
    bad = next((p for p in parts if not plain_name(p)), None)
    if bad is not None:
        raise UnsafePath(f"{bad!r} is not a plain name", path=state_rel(), code=NOT_A_DIR)
    current = Path(root)
    names = (STATE_DIR, *parts)
    for depth, name in enumerate(names, start=1):
        current = current / name
        rel = "/".join(names[:depth])
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            if not create:
                return Path(root).joinpath(*names)
            try:
                os.mkdir(current)
                continue
            except FileExistsError:  # made by another process just now
                mode = os.lstat(current).st_mode
        except NotADirectoryError:  # a file further up; reported at that level already
            raise UnsafePath("is not a directory", path=rel, code=NOT_A_DIR) from None
        if stat.S_ISLNK(mode):
            raise UnsafePath(
                "is a symlink; experimentos keeps its index, locks and installs in real "
                f"directories inside the knowledge root (remove the link: rm {rel})",
                path=rel,
                code=NOT_A_DIR,
            )
        if not stat.S_ISDIR(mode):
            raise UnsafePath(
                "is not a directory; it must be a directory of derived data experimentos "
                f"keeps (remove it: rm {rel}; nothing in it is the only copy)",
                path=rel,
                code=NOT_A_DIR,
            )
    return current


def open_lock(path: Path, rel: str) -> int:
    """A descriptor for a lock file at `path` (created if missing), refusing a symlink, a
    non-regular file or a file with a second hard link in its place: a lock's holder writes
    and truncates it, and that must never reach another file. The directory holding it comes
    from `state_path` (a verified real directory)."""
    try:
        fd = os.open(
            path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise UnsafePath("is a symlink; refusing to use it as a lock", path=rel,
                             code=NOT_A_FILE) from None  # fmt: skip
        raise UnsafePath(exc.strerror or str(exc), path=rel, code=READ_ERROR) from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file; refusing to use it as a lock"
    elif info.st_nlink != 1:
        problem = "has another hard link; refusing to use it as a lock"
    if problem:
        os.close(fd)
        raise UnsafePath(problem, path=rel, code=NOT_A_FILE)
    return fd
