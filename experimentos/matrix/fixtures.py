"""Fixtures on disk: load and scan manifests, materialize a run's workdir, run the oracle.

A fixture directory is hostile input like any file on disk: it is walked without following
links, a symlink (above all one that leaves the directory) or any other non-regular file is
refused with its path, and only regular files are read (opened with O_NOFOLLOW). The bytes read
at load time are the bytes every workdir gets, and the content hash covers exactly them plus
the manifest, the oracle and the solutions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ValidationError

from experimentos.errors import (
    ExperimentosError,
    GitError,
    InvalidPage,
    NotFound,
    UnsafeId,
    UsageError,
)
from experimentos.knowledge.models import Problem
from experimentos.matrix.fixture import (
    FIXTURE_FILE,
    ORACLE_DIR,
    RESERVED_NAMES,
    SOLUTIONS_DIR,
    Fixture,
)
from experimentos.store.documents import validation_problems
from experimentos.store.files import inside
from experimentos.store.yamlio import YamlError, load_yaml

FIXTURES_DIR = "fixtures"
MAX_FILES = 2000
MAX_BYTES = 20 * 1024 * 1024  # all files of one fixture together
OUTPUT_TAIL_BYTES = 16 * 1024
SETUP_TIMEOUT_S = 120.0
BASE_REF = "refs/experimentos/base"  # the initial commit, whatever the agent does to HEAD
# The initial commit is identical on every machine: fixed identity, date and message, and no
# user or system git config (autocrlf, hooks, signing) in play.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "experimentos",
    "GIT_AUTHOR_EMAIL": "fixtures@experimentos.invalid",
    "GIT_AUTHOR_DATE": "946684800 +0000",
    "GIT_COMMITTER_NAME": "experimentos",
    "GIT_COMMITTER_EMAIL": "fixtures@experimentos.invalid",
    "GIT_COMMITTER_DATE": "946684800 +0000",
}
# Interpreter droppings that are not the agent's work: kept out of every diff.
GIT_EXCLUDES = ("__pycache__/", "*.pyc", ".pytest_cache/")


@dataclass(frozen=True)
class FixtureFile:
    path: str  # relative, posix separators
    executable: bool
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class LoadedFixture:
    """A validated fixture: its manifest, directory, content hash and the files it holds."""

    fixture: Fixture
    directory: Path  # resolved
    content_hash: str  # "sha256:<hex>" over every file of the directory, in path order
    repo_files: tuple[FixtureFile, ...] = field(repr=False)  # what a workdir receives
    oracle_files: tuple[FixtureFile, ...] = field(repr=False)
    solutions: tuple[str, ...] = ()  # patch names (file name without .patch), sorted

    @property
    def name(self) -> str:
        return self.fixture.name

    def solution_path(self, name: str) -> Path:
        if name not in self.solutions:
            raise NotFound(f"fixture {self.name} has no solution {name!r}", field="solutions")
        return self.directory / SOLUTIONS_DIR / f"{name}.patch"


class OracleResult(BaseModel):
    """The oracle's verdict on one workdir."""

    command: str
    exit_code: int | None  # None when it was killed at the time limit
    passed: bool
    timed_out: bool
    seconds: float
    output_tail: str  # the last OUTPUT_TAIL_BYTES of stdout and stderr, interleaved
    output_bytes: int  # how much it printed in total
    truncated: bool


# --- loading ---------------------------------------------------------------------------------


def fixtures_root(root: Path) -> Path:
    return Path(root) / FIXTURES_DIR


def load_fixture(root: Path, name: str) -> LoadedFixture:
    """Load `fixtures/<name>` under the knowledge root `root`.

    Raises NotFound (no such fixture), UnsafeId (a bad name, a symlink, a non-regular file) or
    InvalidPage (the manifest does not parse or validate; every problem listed).
    """
    base = fixtures_root(root)
    rel = f"{FIXTURES_DIR}/{name}"
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise UnsafeId(f"{name!r} is not a fixture name", path=rel)
    directory = base / name
    if directory.is_symlink():
        raise UnsafeId(_link_message(directory, base), path=rel)
    if not directory.is_dir():
        raise NotFound("no such fixture", path=rel)
    if not inside(Path(root), directory):
        raise UnsafeId("fixture directory resolves outside the knowledge root", path=rel)
    files = _read_tree(directory, rel)
    manifest = next((f for f in files if f.path == FIXTURE_FILE), None)
    if manifest is None:
        raise InvalidPage(
            f"{rel}/{FIXTURE_FILE}",
            [_problem(f"{rel}/{FIXTURE_FILE}", "fixture-manifest-missing", "no fixture.yaml")],
        )
    fixture = _parse_manifest(manifest.data, f"{rel}/{FIXTURE_FILE}", name)
    repo, oracle, solutions = [], [], []
    for item in files:
        top = item.path.split("/", 1)[0]
        if top == ORACLE_DIR:
            oracle.append(FixtureFile(item.path.split("/", 1)[1], item.executable, item.data))
        elif top == SOLUTIONS_DIR:
            if item.path.endswith(".patch") and item.path.count("/") == 1:
                solutions.append(item.path[len(SOLUTIONS_DIR) + 1 : -len(".patch")])
        elif top not in RESERVED_NAMES:
            repo.append(item)
    return LoadedFixture(
        fixture=fixture,
        directory=directory.resolve(),
        content_hash=_content_hash(files),
        repo_files=tuple(repo),
        oracle_files=tuple(oracle),
        solutions=tuple(sorted(solutions)),
    )


def list_fixtures(root: Path) -> tuple[list[LoadedFixture], list[Problem]]:
    """Every fixture under `root/fixtures`, and a problem (path, field, code) for each one that
    cannot be loaded; the scan never stops at the first bad one."""
    base = fixtures_root(root)
    if not base.is_dir():
        return [], []
    loaded: list[LoadedFixture] = []
    problems: list[Problem] = []
    for entry in sorted(os.scandir(base), key=lambda e: e.name):
        rel = f"{FIXTURES_DIR}/{entry.name}"
        if entry.name.startswith("."):
            continue  # .gitkeep and friends
        if not entry.is_dir(follow_symlinks=False) and not entry.is_symlink():
            problems.append(
                _problem(rel, "unknown-file", "not a fixture directory", severity="warning")
            )
            continue
        try:
            loaded.append(load_fixture(root, entry.name))
        except InvalidPage as exc:
            problems.extend(exc.problems)
        except ExperimentosError as exc:
            problems.append(_problem(exc.path or rel, _code(exc), exc.message, exc.field))
    return loaded, problems


def _code(exc: ExperimentosError) -> str:
    if isinstance(exc, UnsafeId):
        return "fixture-unsafe-file"
    return "fixture-invalid"


def _problem(
    path: str, code: str, message: str, field_name: str | None = None, severity: str = "error"
) -> Problem:
    return Problem(path=path, field=field_name, code=code, message=message, severity=severity)


def _parse_manifest(raw: bytes, path: str, name: str) -> Fixture:
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidPage(
            path, [_problem(path, "encoding", f"not valid UTF-8 (byte {exc.start})")]
        ) from None
    try:
        data = load_yaml(text)
    except YamlError as exc:
        raise InvalidPage(path, [_problem(path, exc.code, str(exc))]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise InvalidPage(
            path, [_problem(path, "schema", f"manifest must be a mapping, got {kind}")]
        )
    try:
        fixture = Fixture.model_validate(data)
    except ValidationError as exc:
        raise InvalidPage(path, validation_problems(path, exc)) from None
    if fixture.name != name:
        message = f"name {fixture.name!r} does not match the directory name {name!r}"
        raise InvalidPage(path, [_problem(path, "id-path-mismatch", message, "name")])
    return fixture


def _link_message(path: Path, within: Path) -> str:
    target = os.readlink(path)
    try:
        leaves = not inside(within, path)
    except (OSError, RuntimeError):  # a symlink loop cannot be resolved
        return f"symlink loop (-> {target}); refused, never followed"
    if leaves:
        return f"symlink leaves the fixture directory (-> {target}); refused, never followed"
    return f"symlink (-> {target}); fixtures hold regular files only"


def _read_tree(directory: Path, rel_root: str) -> list[FixtureFile]:
    """Every regular file under `directory`, sorted by path; anything else is refused."""
    out: list[FixtureFile] = []
    total = 0
    pending = [PurePosixPath()]
    while pending:
        sub = pending.pop()
        for entry in sorted(os.scandir(directory / sub), key=lambda e: e.name):
            rel = sub / entry.name
            shown = f"{rel_root}/{rel}"
            if entry.is_symlink():
                raise UnsafeId(_link_message(Path(entry.path), directory), path=shown)
            if entry.name == ".git":
                raise UnsafeId(
                    "a fixture is not a git repository (materialize makes one)", path=shown
                )
            if entry.is_dir(follow_symlinks=False):
                pending.append(rel)
                continue
            if not entry.is_file(follow_symlinks=False):
                raise UnsafeId("not a regular file; fixtures hold regular files only", path=shown)
            data, executable = _read_regular(Path(entry.path), shown)
            total += len(data)
            if len(out) >= MAX_FILES or total > MAX_BYTES:
                raise UnsafeId(
                    f"fixture is larger than {MAX_FILES} files or {MAX_BYTES} bytes",
                    path=rel_root,
                )
            out.append(FixtureFile(str(rel), executable, data))
    out.sort(key=lambda f: f.path)
    return out


def _read_regular(path: Path, shown: str) -> tuple[bytes, bool]:
    """Read a file that must still be a regular file when opened (no link swapped in)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UnsafeId(f"cannot open: {exc.strerror or exc}", path=shown) from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeId("not a regular file; fixtures hold regular files only", path=shown)
        if st.st_size > MAX_BYTES:
            raise UnsafeId(f"file is larger than {MAX_BYTES} bytes", path=shown)
        return handle.read(MAX_BYTES + 1), bool(st.st_mode & stat.S_IXUSR)


def _content_hash(files: list[FixtureFile]) -> str:
    digest = hashlib.sha256()
    for item in files:
        path = item.path.encode("utf-8")
        head = b"%d:%s:%s:%d\n" % (
            len(path),
            path,
            b"x" if item.executable else b"-",
            len(item.data),
        )
        digest.update(head)
        digest.update(item.data)
    return f"sha256:{digest.hexdigest()}"


# --- materialize -----------------------------------------------------------------------------


def materialize(loaded: LoadedFixture, dest: Path) -> None:
    """Write the fixture's repository files into `dest` (absent or empty), run its `setup`, and
    make one deterministic commit (also at refs/experimentos/base): the same fixture gives the
    same commit id on every machine, so a run's diff is exact."""
    dest = Path(dest)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise UsageError("workdir must be a new or empty directory", path=dest)
    dest.mkdir(parents=True, exist_ok=True)
    for item in loaded.repo_files:
        _write_file(dest, item)
    if loaded.fixture.setup:
        result = run_command(loaded.fixture.setup, dest, SETUP_TIMEOUT_S)
        if not result.passed:
            why = "timed out" if result.timed_out else f"exited {result.exit_code}"
            raise ExperimentosError(
                f"setup {why}: {result.output_tail[-500:]}", path=loaded.directory, field="setup"
            )
    git_env = {**clean_env(dest), **GIT_IDENTITY}
    _git(dest, git_env, "init", "-q", "-b", "main")
    exclude = dest / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("".join(f"{p}\n" for p in GIT_EXCLUDES), encoding="utf-8")
    _git(dest, git_env, "add", "-A", "-f")
    _git(
        dest,
        git_env,
        "commit",
        "-q",
        "--no-verify",
        "--allow-empty",
        "-m",
        f"fixture {loaded.name}",
    )
    _git(dest, git_env, "update-ref", BASE_REF, "HEAD")


def _write_file(dest: Path, item: FixtureFile) -> None:
    target = dest / item.path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(item.data)
    if item.executable:
        target.chmod(0o755)


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    argv = ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false", *args]
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}", path=cwd) from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed"
        raise GitError(message, path=cwd)
    return result.stdout.decode("utf-8", "replace")


# --- running commands: the oracle (and setup) --------------------------------------------------


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


def run_oracle(loaded: LoadedFixture, workdir: Path, timeout: float | None = None) -> OracleResult:
    """Run the fixture's oracle in `workdir` (exit 0 = solved).

    It runs in its own process group, killed as a group at the limit (`timeout`, default the
    manifest's), in a clean environment whose $ORACLE_DIR is a fresh copy of the fixture's
    oracle/ files (so neither the oracle nor the code it runs can touch the fixture). Output is
    kept to its last OUTPUT_TAIL_BYTES.
    """
    oracle = loaded.fixture.oracle
    if oracle is None:
        raise UsageError(f"fixture {loaded.name} has no oracle", field="oracle")
    workdir = Path(workdir)
    if not workdir.is_dir():
        raise NotFound("workdir does not exist", path=workdir)
    limit = oracle.timeout_s if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="xos-oracle-") as tmp:
        scratch = Path(tmp)
        oracle_dir = scratch / "oracle"
        oracle_dir.mkdir()
        for item in loaded.oracle_files:
            _write_file(oracle_dir, item)
        home = scratch / "home"
        home.mkdir()
        env = clean_env(home, {"ORACLE_DIR": str(oracle_dir), "FIXTURE": loaded.name})
        return run_command(oracle.command, workdir, limit, env=env)


def run_command(
    command: str,
    cwd: Path,
    timeout: float,
    *,
    env: dict[str, str] | None = None,
    tail_bytes: int = OUTPUT_TAIL_BYTES,
) -> OracleResult:
    """`sh -c command` in its own process group; the whole group is killed at `timeout` (and
    after a normal exit, so no stray child outlives it)."""
    if env is None:
        home = Path(tempfile.mkdtemp(prefix="xos-cmd-"))
        try:
            return run_command(command, cwd, timeout, env=clean_env(home), tail_bytes=tail_bytes)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    start = time.monotonic()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
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
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(proc.pid)
        proc.wait()
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
