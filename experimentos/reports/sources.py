"""Where a report reads run records from: the working tree, or the tree of a git revision.

Both answer the same three questions (which experiments, which run files, the bytes of a file),
so a report and a comparison (`ID@REV`) read a matrix the same way. Files are hostile: the
working tree is read through the store's safe reader (regular files inside the root only), and
a revision's tree yields regular blobs only (a committed symlink is reported, never followed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePosixPath

from experimentos.errors import GitError, NotFound, UnsafePath, UsageError
from experimentos.models.lab import name_slug_problem
from experimentos.store.git import Repo
from experimentos.store.lab_paths import EXPERIMENTS_DIR, RUNS_DIR, SIDECAR_SUFFIXES
from experimentos.store.records import MAX_FILE_BYTES
from experimentos.store.safe import read_regular, resolve_inside

_REGULAR = ("100644", "100755")
READ_LIMIT = MAX_FILE_BYTES * 4  # a record, an event log or a report
# O_NONBLOCK: a FIFO in place of a file must not block the read; O_NOFOLLOW: never a symlink.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class Unreadable(Exception):
    """A file that exists but may not or cannot be read (symlink, not a file, too large)."""


class Source:
    """The working tree under `root`."""

    label = "working tree"
    rev: str | None = None
    commit: str | None = None

    def __init__(self, root: Path):
        self.root = Path(root)
        self._dirs: dict[str, int | None] = {}

    def experiments(self) -> list[str]:
        """Experiment slugs that have a directory under experiments/."""
        return sorted(n for n in self._names(EXPERIMENTS_DIR) if not name_slug_problem(n))

    def run_files(self, slug: str) -> list[str]:
        """Paths of the run records (not their sidecars) of one experiment, sorted."""
        base = f"{EXPERIMENTS_DIR}/{slug}/{RUNS_DIR}"
        return [f"{base}/{n}" for n in sorted(self._names(base)) if _is_record(n)]

    def read(self, rel: str) -> bytes | None:
        """The bytes of a file; None when it is absent; Unreadable when it may not be read."""
        parent, _, name = rel.rpartition("/")
        real = self._dir(parent)
        if real is None or name in ("", ".", ".."):
            return self._read_checked(rel)
        # A run directory holds thousands of files: it is resolved (and checked to be inside
        # the root) once, and each file is opened in it without following a symlink.
        try:
            fd = os.open(name, _OPEN_FLAGS, dir_fd=real)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise Unreadable("is a symlink; not followed") from None
            return self._read_checked(rel)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise Unreadable("is not a regular file")
            data = os.read(fd, READ_LIMIT + 1)
            while len(data) <= READ_LIMIT:
                more = os.read(fd, READ_LIMIT + 1 - len(data))
                if not more:
                    break
                data += more
            if len(data) > READ_LIMIT:
                raise Unreadable(f"is larger than {READ_LIMIT} bytes")
            return data
        finally:
            os.close(fd)

    def _dir(self, rel: str) -> int | None:
        """A descriptor of directory root/rel once resolved inside the root (None: unusable)."""
        if rel not in self._dirs:
            fd = None
            try:
                real = resolve_inside(self.root, rel) if rel else self.root.resolve()
                fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except (UnsafePath, NotFound, OSError):
                fd = None
            self._dirs[rel] = fd
        return self._dirs[rel]

    def _read_checked(self, rel: str) -> bytes | None:
        try:
            return read_regular(self.root, rel, limit=READ_LIMIT)
        except NotFound:
            return None
        except UnsafePath as exc:
            raise Unreadable(exc.message) from None

    def close(self) -> None:
        for fd in self._dirs.values():
            if fd is not None:
                os.close(fd)
        self._dirs.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _names(self, rel: str) -> list[str]:
        try:
            real = resolve_inside(self.root, rel)
            return os.listdir(real)
        except (UnsafePath, NotFound, OSError):
            return []


class RevisionSource(Source):
    """The tree of a git revision of the repository that holds `root`."""

    def __init__(self, root: Path, rev: str):
        super().__init__(root)
        try:
            self.repo, prefix = Repo.containing(self.root)
        except GitError as exc:
            raise UsageError(f"cannot read revision {rev!r}: {exc.message}", field="rev") from None
        self.commit = self.repo.commit_of(rev)
        if self.commit is None:
            raise UsageError(f"no git revision {rev!r}", field="rev")
        self.rev = rev
        self.label = f"{rev} ({self.commit[:12]})"
        self.prefix = f"{prefix}/" if prefix else ""
        self._blobs: dict[str, tuple[str, str]] = {}  # rel -> (mode, oid)
        listing = self.repo.run(
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            self.commit,
            "--",
            f"{self.prefix}{EXPERIMENTS_DIR}",
        ).stdout
        for entry in filter(None, listing.split(b"\0")):
            meta, _, path = entry.decode("utf-8", "surrogateescape").partition("\t")
            mode, kind, oid = meta.split()
            if kind == "blob" and path.startswith(self.prefix):
                self._blobs[path[len(self.prefix) :]] = (mode, oid)
        self._cache: dict[str, bytes] = {}

    def experiments(self) -> list[str]:
        names = {PurePosixPath(rel).parts[1] for rel in self._blobs if rel.count("/") >= 2}
        return sorted(n for n in names if not name_slug_problem(n))

    def run_files(self, slug: str) -> list[str]:
        base = f"{EXPERIMENTS_DIR}/{slug}/{RUNS_DIR}/"
        return sorted(
            rel
            for rel in self._blobs
            if rel.startswith(base) and "/" not in rel[len(base) :] and _is_record(rel[len(base) :])
        )

    def read(self, rel: str) -> bytes | None:
        found = self._blobs.get(rel)
        if found is None:
            return None
        mode, oid = found
        if mode not in _REGULAR:
            raise Unreadable(f"is not a regular file at {self.rev} (git mode {mode})")
        if rel not in self._cache:
            self._load([r for r in self._wanted(rel) if r not in self._cache])
        return self._cache[rel]

    def _wanted(self, rel: str) -> list[str]:
        """`rel` and the other regular files of its directory: one git call per directory."""
        parent = rel.rsplit("/", 1)[0] + "/"
        return [
            r
            for r, (mode, _) in self._blobs.items()
            if r.startswith(parent) and "/" not in r[len(parent) :] and mode in _REGULAR
        ]

    def _load(self, rels: list[str]) -> None:
        oids = [self._blobs[r][1] for r in rels]
        out = self.repo.run("cat-file", "--batch", input=("\n".join(oids) + "\n").encode()).stdout
        at = 0
        for rel in rels:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            size = int(header[2])
            self._cache[rel] = out[end + 1 : end + 1 + size]
            at = end + 1 + size + 1


def _is_record(name: str) -> bool:
    return (
        name.endswith(".md")
        and name != "README.md"
        and not name.startswith(".")
        and not name.endswith(SIDECAR_SUFFIXES)
    )


def open_source(root: Path, rev: str | None) -> Source:
    """The working tree (rev None) or the tree of `rev`."""
    return Source(root) if rev is None else RevisionSource(root, rev)
