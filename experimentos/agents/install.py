"""The pinned agent CLIs: where the project installs them and how adapters find them.

`experimentos agents install` runs `npm install` into `<root>/.experimentos/agents` (git-ignored),
so a checkout installs exactly the versions below; adapters look there first, then on PATH.

A repository could ship files there (`git add -f`), so nothing in the prefix is run unless
`agents install` put it there on this machine: the install writes a record of each CLI's entry
file (path, sha256, size, device, inode, change time), and the CLI is used only while its file
still matches. A copied or committed record does not (other inodes and change times): such a
CLI is refused with the command that fixes it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from experimentos.errors import ExperimentosError, UnsafePath, UsageError
from experimentos.store.parse import load_json
from experimentos.store.safe import read_regular, state_path, state_rel

AGENTS = "agents"  # the prefix, under the state directory: .experimentos/agents
RECORD = "experimentos-install.json"  # what `agents install` installed there, and how to verify
RECORD_FORMAT = 1
MAX_RECORD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Pin:
    adapter: str
    package: str
    version: str
    binary: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


PINS: dict[str, Pin] = {
    p.adapter: p
    for p in (
        Pin("codex", "@openai/codex", "0.171.0", "codex"),
        Pin("claude-code", "@anthropic-ai/claude-code", "2.1.332", "claude"),
        Pin("opencode", "opencode-ai", "1.18.33", "opencode"),
    )
}


def prefix(root: Path, *, create: bool = False) -> Path:
    """.experimentos/agents through the store's guarded state path (UnsafePath for a link or a
    file in its place: npm would install through it, outside the root)."""
    return state_path(root, AGENTS, create=create)


def install_argv(target: Path, names: list[str]) -> list[str]:
    specs = [PINS[n].spec for n in names]
    return ["npm", "install", "--prefix", str(target), "--save-exact", "--no-audit",
            "--no-fund", "--loglevel=error", *specs]  # fmt: skip


def install_hint(root: Path, adapter: str) -> str:
    pin = PINS[adapter]
    rel = state_rel(AGENTS)
    fix = f"run `experimentos agents install {adapter}` (npm install --prefix {rel} {pin.spec})"
    _, problem = verified_binary(root, adapter)
    if problem:
        return f"{problem}; refusing to run it: {fix}"
    return f"{pin.binary} not found in {rel} or on PATH; {fix}"


# --- what was installed, and checking it is still that ---------------------------------------


class InstalledEntry(BaseModel):
    """One CLI as `agents install` left it: the file its .bin link runs, and that file's bytes
    and identity on this machine (device, inode, change time): a copy of the same files and
    record (a commit, a tarball) has other inodes and change times, so it is not trusted."""

    model_config = ConfigDict(extra="forbid")

    package: str
    version: str
    binary: str
    entry: str  # relative to the prefix: node_modules/<package>/<bin file>
    sha256: str
    size: int
    dev: int
    ino: int
    ctime_ns: int


class InstallRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = RECORD_FORMAT
    installed: dict[str, InstalledEntry] = Field(default_factory=dict)


def read_record(root: Path) -> InstallRecord | None:
    """The install record of the root's prefix, or None (absent, unreadable, not a record)."""
    try:
        raw = read_regular(root, state_rel(AGENTS, RECORD), limit=MAX_RECORD_BYTES)
        if len(raw) > MAX_RECORD_BYTES:
            return None
        return InstallRecord.model_validate_json(raw)
    except (ExperimentosError, ValidationError, ValueError, RecursionError):
        return None


def _entry_of(base: Path, adapter: str) -> tuple[Path, str]:
    """(real path, prefix-relative path) of the file .bin/<binary> runs; OSError/ValueError
    when it is missing or resolves outside the prefix."""
    link = base / "node_modules" / ".bin" / PINS[adapter].binary
    real = link.resolve(strict=True)
    rel = real.relative_to(base.resolve())  # ValueError when outside the prefix
    return real, rel.as_posix()


def _describe(base: Path, adapter: str) -> InstalledEntry:
    pin = PINS[adapter]
    real, rel = _entry_of(base, adapter)
    info = os.stat(real)
    data = real.read_bytes()
    return InstalledEntry(
        package=pin.package,
        version=pin.version,
        binary=pin.binary,
        entry=rel,
        sha256=hashlib.sha256(data).hexdigest(),
        size=info.st_size,
        dev=info.st_dev,
        ino=info.st_ino,
        ctime_ns=info.st_ctime_ns,
    )


_HASHED: dict[tuple, str] = {}  # (path, identity) -> sha256: a matrix asks once per run


def _hash_of(path: Path, info: os.stat_result) -> str:
    key = (str(path), info.st_dev, info.st_ino, info.st_size, info.st_ctime_ns, info.st_mtime_ns)
    if key not in _HASHED:
        _HASHED[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _HASHED[key]


def verified_binary(root: Path, adapter: str) -> tuple[Path | None, str | None]:
    """(the project-local CLI, None) when `agents install` installed it on this machine and it is
    unchanged; (None, why) when a file is there that may not be run; (None, None) when nothing
    is installed there. Nothing is executed to find out."""
    pin = PINS[adapter]
    try:
        base = prefix(root)
    except UnsafePath as exc:
        return None, f"{exc.path}: {exc.message}"
    link = base / "node_modules" / ".bin" / pin.binary
    if not os.path.lexists(link):
        return None, None
    shown = state_rel(AGENTS, "node_modules", ".bin", pin.binary)
    refused = f"{shown} was not installed by `experimentos agents install` on this machine"
    record = read_record(root)
    entry = record.installed.get(adapter) if record else None
    if entry is None:
        return None, refused
    try:
        real, rel = _entry_of(base, adapter)
        info = os.stat(real)
        same = (
            rel == entry.entry
            and stat.S_ISREG(info.st_mode)
            and (info.st_size, info.st_dev, info.st_ino, info.st_ctime_ns)
            == (entry.size, entry.dev, entry.ino, entry.ctime_ns)
        )
        same = same and _hash_of(real, info) == entry.sha256
    except (OSError, ValueError, RuntimeError):
        same = False
    if not same:
        return None, f"{refused}, or it changed since"
    return link, None


def find_binary(root: Path, adapter: str) -> Path | None:
    """The CLI for `adapter`: the project-local install when `agents install` installed it here
    (verified), else PATH. A local file that does not verify is refused, not replaced by PATH's:
    `install_hint` says why."""
    local, problem = verified_binary(root, adapter)
    if local is not None:
        return local
    if problem is not None:
        return None
    found = shutil.which(PINS[adapter].binary)
    return Path(found) if found else None


def is_local(root: Path, binary: Path) -> bool:
    """Whether `binary` is in the project-local prefix (its .bin directory)."""
    try:
        return binary.parent == prefix(root) / "node_modules" / ".bin"
    except UnsafePath:
        return False


def installed_version(root: Path, adapter: str) -> str | None:
    """The version of the project-local install (from its package.json), or None."""
    rel = state_rel(AGENTS, "node_modules", *PINS[adapter].package.split("/"), "package.json")
    try:
        data = load_json(read_regular(root, rel, limit=MAX_RECORD_BYTES))
    except (ExperimentosError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def binary_version(binary: Path, timeout_s: float = 30.0) -> str | None:
    """What `<binary> --version` prints (first line), or None when it fails."""
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[0].strip() if done.returncode == 0 and lines else None


@dataclass(frozen=True)
class InstallResult:
    prefix: str
    argv: list[str]
    versions: dict[str, str | None]


def install(root: Path, names: list[str] | None = None, *, timeout_s: float = 900) -> InstallResult:
    """`npm install` the pinned CLIs into the project-local prefix, and record what was installed.

    npm runs in a fresh directory under .experimentos/ (so no package.json, lockfile, .npmrc or
    link that a repository shipped in the prefix steers it or is written through), which then
    replaces the prefix. CLIs installed earlier (and still verifying) are installed again with
    the new ones, so nothing is lost by the swap."""
    names = names or sorted(PINS)
    unknown = [n for n in names if n not in PINS]
    if unknown:
        known = ", ".join(sorted(PINS))
        raise UsageError(f"no pinned CLI for {', '.join(unknown)} (known: {known})", field="agent")
    current = prefix(root)  # refused now (a link, a file) before npm runs
    if shutil.which("npm") is None:
        raise UsageError("npm is not installed; install Node.js 20 or newer (with npm) first")
    kept = [n for n in sorted(PINS) if n not in names and verified_binary(root, n)[0]]
    wanted = sorted({*names, *kept})
    tmp = Path(tempfile.mkdtemp(dir=state_path(root), prefix=".agents-new-"))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would outlive the swap: a prefix is not private
        argv = install_argv(tmp, wanted)
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                stdin=subprocess.DEVNULL,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            raise UsageError(
                f"npm install did not finish in {timeout_s:.0f} s", path=state_rel(AGENTS)
            ) from None
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise UsageError(
                f"npm install failed (exit {done.returncode}):\n{tail}", path=state_rel(AGENTS)
            )
        try:
            record = InstallRecord(installed={n: _describe(tmp, n) for n in wanted})
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"npm install left no usable CLI ({exc})", path=state_rel(AGENTS)
            ) from None
        (tmp / RECORD).write_text(record.model_dump_json(indent=1), encoding="utf-8")
        _swap(tmp, current)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return InstallResult(str(current), argv, {n: installed_version(root, n) for n in names})


def _swap(new: Path, current: Path) -> None:
    """Put the directory `new` in place of the prefix `current` (a real directory or absent)."""
    old = None
    if os.path.lexists(current):
        old = Path(tempfile.mkdtemp(dir=current.parent, prefix=".agents-old-"))
        os.rename(current, old / "agents")
    os.rename(new, current)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)  # never follows a link inside it
