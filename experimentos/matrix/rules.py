"""Ground-truth rules of a run, read from its workdir's git diff against the initial commit.

The diff covers everything the agent left behind: tracked files changed, added or deleted, and
new untracked files (not ignored ones), whether or not the agent committed, staged or moved
HEAD. It is computed in a private index, so the agent's own index is never touched, and file
contents are read from git objects, never through the working tree (a symlink the agent made
is compared as a link, not followed).

Rules (names as in `experimentos.models.fixture.RuleName`):

- `pin_changed`: the declared specifier or the locked version of a `pinned` library differs
  between the initial commit and the workdir, read with the brief's own manifest readers
  (repofacts). The same range written another way is *not* a change: `^0.30.4` and
  `>=0.30.4 <0.31.0-0` (npm), `>=2,<3` and `<3, >=2`, `==1.0` and `==1.0.0` (PEP 440). A range
  that admits other versions *is* one, even if the lock did not move (`0.30.4` -> `^0.30.4`
  loosens a pin), and so is a library removed from the manifests or a manifest that no longer
  parses. Only root manifests count, as for briefs.
- `protected_edit`: a changed path matches a `protectedPaths` glob.
- `out_of_scope`: a changed path matches no `allowedPaths` glob (no globs: the rule is off).
- `forbidden_command`: a shell command the agent ran matches a `forbiddenCommands` regex
  (re.search); the transcript supplies the commands, so `check_rules` takes them as input.
- `content_lost`: a file named in `keep` no longer contains one of its `contains` texts, or,
  for an entry without `contains`, changed at all (deleted, edited, made a link). Contents are
  compared as git stores them (the initial commit against the private index).
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, Field, computed_field

from experimentos.errors import GitError, NotFound
from experimentos.matrix.fixtures import BASE_REF, LoadedFixture
from experimentos.matrix.procgroup import clean_env
from experimentos.models.fixture import Fixture, RuleName
from experimentos.repofacts.facts import LocalFacts, LocalVersion, read_local_facts
from experimentos.repofacts.versions import parse_npm_range, parse_semver, path_matches

# Root files the repofacts readers understand (requirements*.txt by pattern).
MANIFEST_NAMES = (
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
)
MAX_COMMAND_CHARS = 20_000
GIT_TIMEOUT_S = 300  # longer commands are matched on their head only
_REGULAR_MODES = ("100644", "100755")


class FileChange(BaseModel):
    path: str
    status: Literal["added", "modified", "deleted", "type_changed"]
    lines_added: int | None = None  # None for binary files
    lines_removed: int | None = None


class DiffStats(BaseModel):
    """What changed in a workdir since its initial commit."""

    base: str  # the initial commit
    files: list[FileChange] = Field(default_factory=list)
    files_changed: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    text: str = Field(default="", repr=False)  # `git diff` output (binary files named only)


class PinChange(BaseModel):
    library: str
    field: Literal["declared", "locked"]
    old: str | None
    new: str | None
    old_source: str | None = None  # the manifest the old value came from
    new_source: str | None = None

    def __str__(self) -> str:
        return f"{self.library} {self.field} {self.old or '-'} -> {self.new or '-'}"


class PathHit(BaseModel):
    path: str
    glob: str


class ContentHit(BaseModel):
    path: str
    text: str | None = None  # the text it no longer contains; None: the file changed


class CommandMatch(BaseModel):
    index: int  # position in the commands given
    command: str
    pattern: str


class RuleReport(BaseModel):
    """Which rules a workdir (and the commands that made it) broke, with the details."""

    fixture: str
    diff: DiffStats
    pin_changed: list[PinChange] = Field(default_factory=list)
    protected_edit: list[PathHit] = Field(default_factory=list)
    out_of_scope: list[str] = Field(default_factory=list)
    forbidden_command: list[CommandMatch] = Field(default_factory=list)
    content_lost: list[ContentHit] = Field(default_factory=list)
    commands_checked: bool = False  # False: no transcript given, forbidden_command unknown

    @computed_field
    @property
    def broken(self) -> list[RuleName]:
        return [name for name in _RULE_ORDER if getattr(self, name)]

    @computed_field
    @property
    def ok(self) -> bool:
        return not self.broken


_RULE_ORDER: tuple[RuleName, ...] = (
    "pin_changed",
    "protected_edit",
    "out_of_scope",
    "forbidden_command",
    "content_lost",
)


def check_rules(
    loaded: LoadedFixture | Fixture, workdir: Path, commands: Iterable[str] | None = None
) -> RuleReport:
    """Every ground-truth rule of the fixture, checked on `workdir` (and on `commands`, the
    shell commands the agent ran, when given)."""
    fixture = loaded.fixture if isinstance(loaded, LoadedFixture) else loaded
    with _Snapshot(Path(workdir)) as snap:
        diff = snap.diff()
        pins = _pin_changes(snap, fixture.pinned)
        lost = _content_lost(snap, fixture)
    paths = [change.path for change in diff.files]
    report = RuleReport(
        fixture=fixture.name,
        diff=diff,
        pin_changed=pins,
        protected_edit=protected_edits(fixture, paths),
        out_of_scope=out_of_scope(fixture, paths),
        content_lost=lost,
    )
    if commands is not None:
        report.forbidden_command = forbidden_command(fixture, commands)
        report.commands_checked = True
    return report


def diff_stats(workdir: Path) -> DiffStats:
    """Files changed, lines added and removed, and the diff text since the initial commit."""
    with _Snapshot(Path(workdir)) as snap:
        return snap.diff()


def protected_edits(fixture: Fixture, paths: Iterable[str]) -> list[PathHit]:
    hits = []
    for path in paths:
        glob = next((g for g in fixture.protected_paths if path_matches(g, path)), None)
        if glob is not None:
            hits.append(PathHit(path=path, glob=glob))
    return hits


def out_of_scope(fixture: Fixture, paths: Iterable[str]) -> list[str]:
    if not fixture.allowed_paths:
        return []
    return [p for p in paths if not any(path_matches(g, p) for g in fixture.allowed_paths)]


def forbidden_command(fixture: Fixture, commands: Iterable[str]) -> list[CommandMatch]:
    """Every (command, pattern) pair where a forbiddenCommands regex finds a match."""
    patterns = [(p, re.compile(p)) for p in fixture.forbidden_commands]
    matches = []
    for index, command in enumerate(commands):
        text = str(command)[:MAX_COMMAND_CHARS]
        for source, pattern in patterns:
            if pattern.search(text):
                matches.append(CommandMatch(index=index, command=text, pattern=source))
    return matches


# --- the workdir as git sees it -------------------------------------------------------------


class _Snapshot:
    """The workdir staged into a private index on top of the initial commit."""

    def __init__(self, workdir: Path):
        if not (workdir / ".git").is_dir():
            raise NotFound("workdir is not a git repository made by materialize", path=workdir)
        self.workdir = workdir
        self._tmp = tempfile.TemporaryDirectory(prefix="xos-rules-")
        tmp = Path(self._tmp.name)
        self.env = clean_env(tmp, {"GIT_INDEX_FILE": str(tmp / "index")})
        self.base = self._base()
        self.git("read-tree", self.base)
        self.git("add", "-A")  # honours .gitignore and .git/info/exclude for new files

    def __enter__(self) -> _Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()

    def git(self, *args: str, check: bool = True) -> bytes:
        argv = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.quotePath=false", *args]
        try:
            result = subprocess.run(
                argv, cwd=self.workdir, env=self.env, capture_output=True, timeout=GIT_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"git {args[0]} failed: {exc}", path=self.workdir) from None
        if check and result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip()
            raise GitError(message or f"git {args[0]} failed", path=self.workdir)
        return result.stdout

    def _base(self) -> str:
        found = self.git("rev-parse", "--verify", "-q", f"{BASE_REF}^{{commit}}", check=False)
        if found.strip():
            return found.decode().strip()
        roots = self.git("rev-list", "--max-parents=0", "HEAD", check=False).decode().split()
        if not roots:
            raise GitError("workdir has no initial commit", path=self.workdir)
        return roots[-1]

    def diff(self) -> DiffStats:
        statuses = _z_pairs(
            self.git("diff", "--cached", "--no-renames", "--name-status", "-z", self.base)
        )
        numstat = {}
        for record in self.git(
            "diff", "--cached", "--no-renames", "--numstat", "-z", self.base
        ).split(b"\0"):
            if record:
                added, removed, path = record.decode("utf-8", "replace").split("\t", 2)
                numstat[path] = (
                    None if added == "-" else int(added),
                    None if removed == "-" else int(removed),
                )
        kinds = {"A": "added", "M": "modified", "D": "deleted", "T": "type_changed"}
        files = []
        for status, path in statuses:
            added, removed = numstat.get(path, (None, None))
            kind = kinds.get(status[:1], "modified")
            files.append(
                FileChange(path=path, status=kind, lines_added=added, lines_removed=removed)
            )
        text = self.git(
            "diff", "--cached", "--no-renames", "--no-color", "--no-ext-diff", self.base
        )
        return DiffStats(
            base=self.base,
            files=files,
            files_changed=len(files),
            lines_added=sum(f.lines_added or 0 for f in files),
            lines_removed=sum(f.lines_removed or 0 for f in files),
            text=text.decode("utf-8", "replace"),
        )

    def blob(self, side: Literal["base", "work"], path: str) -> tuple[str, bytes] | None:
        """(mode, bytes) of one file on one side, or None when it is not there."""
        if side == "base":
            listing = self.git("ls-tree", "-z", self.base, "--", path)
            records = [r for r in listing.split(b"\0") if r]
            if not records:
                return None
            meta, _ = records[0].decode("utf-8", "replace").split("\t", 1)
            mode, _kind, oid = meta.split()
        else:
            listing = self.git("ls-files", "-s", "-z", "--", path)
            records = [r for r in listing.split(b"\0") if r]
            if not records:
                return None
            meta, _ = records[0].decode("utf-8", "replace").split("\t", 1)
            mode, oid, _stage = meta.split()
        return mode, self.git("cat-file", "blob", oid)

    def manifests(self, side: Literal["base", "work"]) -> dict[str, bytes]:
        """Root manifest files of one side: name -> bytes (regular files only)."""
        if side == "base":
            listing = self.git("ls-tree", "-z", self.base)
            entries = []
            for record in filter(None, listing.split(b"\0")):
                meta, name = record.decode("utf-8", "replace").split("\t", 1)
                mode, kind, oid = meta.split()
                entries.append((mode, oid, name))
        else:
            entries = []
            for record in filter(None, self.git("ls-files", "-s", "-z").split(b"\0")):
                meta, name = record.decode("utf-8", "replace").split("\t", 1)
                mode, oid, _stage = meta.split()
                entries.append((mode, oid, name))
        out = {}
        for mode, oid, name in entries:
            if "/" in name or not _is_manifest(name):
                continue
            if mode in _REGULAR_MODES:
                out[name] = self.git("cat-file", "blob", oid)
        return out


def _z_pairs(raw: bytes) -> list[tuple[str, str]]:
    parts = raw.decode("utf-8", "replace").split("\0")
    return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def _is_manifest(name: str) -> bool:
    return name in MANIFEST_NAMES or fnmatch.fnmatchcase(name, "requirements*.txt")


# --- kept content --------------------------------------------------------------------------------


def _content_lost(snap: _Snapshot, fixture: Fixture) -> list[ContentHit]:
    hits: list[ContentHit] = []
    for entry in fixture.keep:
        before, after = snap.blob("base", entry.path), snap.blob("work", entry.path)
        if entry.contains is None:
            if before != after:
                hits.append(ContentHit(path=entry.path))
            continue
        regular = after is not None and after[0] in _REGULAR_MODES
        text = after[1].decode("utf-8", "replace") if regular else ""
        hits += [ContentHit(path=entry.path, text=t) for t in entry.contains if t not in text]
    return hits


# --- pins --------------------------------------------------------------------------------------


def _facts(files: dict[str, bytes]) -> LocalFacts:
    with tempfile.TemporaryDirectory(prefix="xos-facts-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        return read_local_facts(Path(tmp))


def _pin_changes(snap: _Snapshot, pinned: list[str]) -> list[PinChange]:
    if not pinned:
        return []
    old_files, new_files = snap.manifests("base"), snap.manifests("work")
    if old_files == new_files:
        return []
    old, new = _facts(old_files), _facts(new_files)
    changes: list[PinChange] = []
    for library in pinned:
        changes += pin_changes(library, old.get(library), new.get(library))
    return changes


def pin_changes(
    library: str, old: LocalVersion | None, new: LocalVersion | None
) -> list[PinChange]:
    """How one library's declared specifier and locked version moved (empty: it did not)."""
    ecosystem = (old or new).ecosystem if (old or new) else "npm"
    out = []
    for name in ("declared", "locked"):
        before = getattr(old, name) if old else None
        after = getattr(new, name) if new else None
        same = _same_range if name == "declared" else _same_version
        if not same(before, after, ecosystem):
            out.append(
                PinChange(
                    library=library,
                    field=name,
                    old=before,
                    new=after,
                    old_source=old.source if old else None,
                    new_source=new.source if new else None,
                )
            )
    return out


def _same_version(a: str | None, b: str | None, ecosystem: str) -> bool:
    if a is None or b is None:
        return a == b
    if a.strip() == b.strip():
        return True
    if ecosystem == "npm":
        left, right = parse_semver(a), parse_semver(b)
        return left is not None and left == right
    with contextlib.suppress(InvalidVersion, ValueError):  # ValueError: 4,300+ digit parts
        return Version(a) == Version(b)
    return False


def _same_range(a: str | None, b: str | None, ecosystem: str) -> bool:
    """Whether two specifiers admit exactly the same versions, as far as their syntax tells."""
    if a is None or b is None:
        return a == b
    if "".join(a.split()) == "".join(b.split()):
        return True
    order = ("npm", "python") if ecosystem == "npm" else ("python", "npm")
    for syntax in order:
        left, right = _canonical(a, syntax), _canonical(b, syntax)
        if left is not None and right is not None:
            return left == right
    return False


def _canonical(spec: str, syntax: str) -> object | None:
    if syntax == "npm":
        ranges = parse_npm_range(spec)
        if ranges is None:
            return None
        return frozenset(
            frozenset((op, v.key()) for op, v in comparators) for comparators in ranges
        )
    try:
        return SpecifierSet(spec.strip())
    except (InvalidSpecifier, ValueError):
        return None
