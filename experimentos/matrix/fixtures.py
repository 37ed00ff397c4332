"""Fixtures on disk: load and scan manifests, materialize a run's workdir, run the oracle.

A fixture directory is hostile input like any file on disk: it is walked without following
links, a symlink (above all one that leaves the directory) or any other non-regular file is
refused with its path, and only regular files are read (opened with O_NOFOLLOW). The bytes read
at load time are the bytes every workdir gets, and the content hash covers exactly them plus
the manifest, the oracle and the solutions.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from experimentos.errors import (
    ExperimentosError,
    GitError,
    InvalidPage,
    NotFound,
    UnsafeId,
    UnsafePath,
    UsageError,
)
from experimentos.matrix.procgroup import OracleResult, clean_env, run_command
from experimentos.models.fixture import (
    FIXTURE_FILE,
    FIXTURE_NAME,
    ORACLE_DIR,
    RESERVED_NAMES,
    SOLUTIONS_DIR,
    Fixture,
)
from experimentos.models.knowledge import Problem
from experimentos.store.documents import validation_problems
from experimentos.store.safe import (
    NOT_A_FILE,
    OUTSIDE,
    is_inside,
    list_files,
    read_regular,
    resolve_inside,
)
from experimentos.store.yamlio import YamlError, load_yaml

FIXTURES_DIR = "fixtures"
MAX_FILES = 2000
MAX_BYTES = 20 * 1024 * 1024  # all files of one fixture together
TOO_LARGE = "file-too-large"
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
ORACLE_PACKAGE_JSON = '{"type": "module", "private": true}\n'
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


# --- loading ---------------------------------------------------------------------------------


def fixtures_root(root: Path) -> Path:
    return Path(root) / FIXTURES_DIR


def load_fixture(root: Path, name: str) -> LoadedFixture:
    """Load `fixtures/<name>` under the knowledge root `root`.

    Raises NotFound (no such fixture), UnsafeId (not a fixture name), UnsafePath (a symlink, a
    non-regular file; `code` as in the store) or InvalidPage (the manifest does not parse or
    validate; every problem listed).
    """
    rel = f"{FIXTURES_DIR}/{name}"
    if not isinstance(name, str) or not re.fullmatch(FIXTURE_NAME, name):
        raise UnsafeId(f"{name!r} is not a fixture name", path=rel)
    directory = fixtures_root(root) / name
    if directory.is_symlink():
        raise _link_refused(directory, fixtures_root(root), rel)
    if not directory.is_dir():
        raise NotFound("no such fixture", path=rel)
    if not is_inside(Path(root), directory):
        message = "fixture directory resolves outside the knowledge root"
        raise UnsafePath(message, path=rel, code=OUTSIDE)
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
    try:
        base = resolve_inside(Path(root), FIXTURES_DIR)
    except NotFound:
        return [], []
    except UnsafePath as exc:
        return [], [_problem(FIXTURES_DIR, exc.code, exc.message)]
    if not base.is_dir():
        return [], [_problem(FIXTURES_DIR, "not-a-directory", "fixtures must be a directory")]
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
    if isinstance(exc, UnsafePath):
        return exc.code  # the store's stable codes: symlink-outside-root, symlink-loop, ...
    return "fixture-unsafe-file" if isinstance(exc, UnsafeId) else "fixture-invalid"


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


def _link_refused(link: Path, within: Path, rel: str) -> UnsafePath:
    """Every symlink in a fixture is refused: one that leaves `within` above all."""
    target = os.readlink(link)
    if not is_inside(within, link):
        message = f"symlink leaves the fixture directory (-> {target}); refused, never followed"
        return UnsafePath(message, path=rel, code=OUTSIDE)
    message = f"symlink (-> {target}); fixtures hold regular files only, never links"
    return UnsafePath(message, path=rel, code=NOT_A_FILE)


def _read_tree(directory: Path, rel_root: str) -> list[FixtureFile]:
    """Every regular file under `directory`, sorted by path; anything else is refused.

    The store lists and reads (never leaving the directory, never looping, no FIFO opened);
    on top of that a fixture may hold no symlink at all, so that what is hashed and copied is
    exactly what the directory contains."""
    listing = list_files(directory, ".", recursive=True)
    for problem in listing.problems:
        rel = problem.path.removeprefix("./")
        shown = f"{rel_root}/{rel}"
        if (directory / rel).is_symlink():
            raise _link_refused(directory / rel, directory, shown)
        raise UnsafePath(problem.message, path=shown, code=problem.code)
    out: list[FixtureFile] = []
    total = 0
    for listed, _ in listing.files:
        rel = listed.removeprefix("./")
        shown = f"{rel_root}/{rel}"
        if ".git" in PurePosixPath(rel).parts:
            raise UnsafeId("a fixture is not a git repository (materialize makes one)", path=shown)
        if (directory / rel).is_symlink():
            raise _link_refused(directory / rel, directory, shown)
        if len(out) >= MAX_FILES:
            message = f"fixture holds more than {MAX_FILES} files"
            raise UnsafePath(message, path=rel_root, code=TOO_LARGE)
        data = read_regular(directory, rel, limit=MAX_BYTES - total)
        total += len(data)
        if total > MAX_BYTES:
            message = f"fixture is larger than {MAX_BYTES} bytes"
            raise UnsafePath(message, path=rel_root, code=TOO_LARGE)
        executable = bool(os.lstat(directory / rel).st_mode & stat.S_IXUSR)
        out.append(FixtureFile(rel, executable, data))
    out.sort(key=lambda f: f.path)
    return out


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


# --- the oracle ------------------------------------------------------------------------------


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
        if not (oracle_dir / "package.json").exists():
            # Node reads a .js file as an ES module only under a package.json that says so
            # (before 20.19 it never guessed): oracles are written as modules; CommonJS ones
            # are .cjs, or bring their own package.json in oracle/.
            (oracle_dir / "package.json").write_text(ORACLE_PACKAGE_JSON, encoding="utf-8")
        home = scratch / "home"
        home.mkdir()
        env = clean_env(home, {"ORACLE_DIR": str(oracle_dir), "FIXTURE": loaded.name})
        return run_command(oracle.command, workdir, limit, env=env)
