"""Walking up from a directory the way git does: which ancestors to look in, and which `.git` is
a repository.

An empty `.git` directory is not a repository (git itself says "not a git repository"): sandboxes
leave such directories behind as mount points, in shared places like /tmp. The search stops below
every directory named in GIT_CEILING_DIRECTORIES, as git's own does, so a repository above a
ceiling never claims a knowledge root below it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

CEILING_ENV = "GIT_CEILING_DIRECTORIES"
_GITDIR_PREFIX = b"gitdir:"


def _ceilings() -> set[Path]:
    out: set[Path] = set()
    for entry in os.environ.get(CEILING_ENV, "").split(os.pathsep):
        if entry and os.path.isabs(entry):
            out.add(Path(entry).resolve())
    return out


def ancestors(start: Path) -> Iterator[Path]:
    """`start` (resolved), then its parents, stopping below a ceiling directory."""
    here = Path(start).resolve()
    ceilings = _ceilings()
    yield here
    for directory in here.parents:
        if directory in ceilings:
            return
        yield directory


def is_repository(directory: Path) -> bool:
    """`directory/.git` is a git directory (HEAD, objects, refs) or a `gitdir:` file."""
    dot_git = directory / ".git"
    try:
        if stat.S_ISREG(os.lstat(dot_git).st_mode):  # a worktree or submodule: "gitdir: <path>"
            # no link followed, and a file swapped for a FIFO since the lstat does not block
            fd = os.open(dot_git, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                return os.read(fd, len(_GITDIR_PREFIX)) == _GITDIR_PREFIX
            finally:
                os.close(fd)
        if not stat.S_ISDIR(os.stat(dot_git).st_mode):
            return False
    except OSError:
        return False
    return all(
        [(dot_git / "HEAD").is_file(), (dot_git / "objects").is_dir(), (dot_git / "refs").is_dir()]
    )


def work_tree(start: Path) -> Path | None:
    """The nearest ancestor of `start` (itself included) that is a git work tree, if any."""
    for directory in ancestors(start):
        if is_repository(directory):
            return directory
    return None
