"""The pinned agent CLIs: where the project installs them and how adapters find them.

`experimentos agents install` runs `npm install` into `<root>/.experimentos/agents` (git-ignored),
so a checkout installs exactly the versions below; adapters look there first, then on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from experimentos.errors import UsageError
from experimentos.store.parse import load_json

AGENTS_DIR = Path(".experimentos") / "agents"


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


def prefix(root: Path) -> Path:
    return root / AGENTS_DIR


def install_argv(root: Path, names: list[str]) -> list[str]:
    specs = [PINS[n].spec for n in names]
    return ["npm", "install", "--prefix", str(prefix(root)), "--save-exact", "--no-audit",
            "--no-fund", "--loglevel=error", *specs]  # fmt: skip


def install_hint(root: Path, adapter: str) -> str:
    pin = PINS[adapter]
    return (
        f"{pin.binary} not found in {prefix(root)} or on PATH; run `experimentos agents install "
        f"{adapter}` (npm install --prefix {prefix(root)} {pin.spec})"
    )


def find_binary(root: Path, adapter: str) -> Path | None:
    """The CLI for `adapter`: the project-local install first, then PATH."""
    pin = PINS[adapter]
    local = prefix(root) / "node_modules" / ".bin" / pin.binary
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which(pin.binary)
    return Path(found) if found else None


def installed_version(root: Path, adapter: str) -> str | None:
    """The version of the project-local install (from its package.json), or None."""
    manifest = prefix(root) / "node_modules" / PINS[adapter].package / "package.json"
    try:
        data = load_json(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
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
    """`npm install` the pinned CLIs into the project-local prefix."""
    names = names or sorted(PINS)
    unknown = [n for n in names if n not in PINS]
    if unknown:
        known = ", ".join(sorted(PINS))
        raise UsageError(f"no pinned CLI for {', '.join(unknown)} (known: {known})", field="agent")
    if shutil.which("npm") is None:
        raise UsageError("npm is not installed; install Node.js 20 or newer (with npm) first")
    target = prefix(root)
    target.mkdir(parents=True, exist_ok=True)
    argv = install_argv(root, names)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"npm install did not finish in {timeout_s:.0f} s", path=target) from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise UsageError(f"npm install failed (exit {done.returncode}):\n{tail}", path=target)
    return InstallResult(str(target), argv, {n: installed_version(root, n) for n in names})
