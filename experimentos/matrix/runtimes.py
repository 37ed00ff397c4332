"""The interpreters an oracle and an agent run with, and the ones a fixture says it needs.

The oracle and the agent both run with the clean environment's PATH (procgroup.clean_env), so
`python3` and `node` resolve the same way for both; which ones they were, and their versions,
go into every run record (`matrix.runtimes`), since an oracle or a test suite may behave
differently under another interpreter. A fixture may name the versions it needs
(`runtime: {python: ">=3.10", node: ">=20"}`): a matrix whose interpreters do not satisfy them
is refused before anything runs, and `fixture check` reports it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from experimentos.models.fixture import Fixture
from experimentos.repofacts.versions import matches

INTERPRETERS = {"python": "python3", "node": "node"}  # runtime key -> the command on PATH
VERSION_TIMEOUT_S = 20.0


@functools.cache
def runtimes(path: str | None = None) -> dict[str, dict[str, str | None]]:
    """{command: {path, version}} of python3 and node on `path` (default: this PATH), the path
    resolved through links; a command that is not there is left out."""
    search = path if path is not None else os.environ.get("PATH", os.defpath)
    out: dict[str, dict[str, str | None]] = {}
    for command in INTERPRETERS.values():
        found = shutil.which(command, path=search)
        if found is None:
            continue
        resolved = os.path.realpath(found)
        out[command] = {"path": resolved, "version": _version(resolved)}
    return out


def _version(binary: str) -> str | None:
    try:
        done = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if done.returncode == 0 and text else None


def _bare(version: str) -> str:
    """'Python 3.11.9' -> '3.11.9', 'v20.20.2' -> '20.20.2'."""
    return version.split()[-1].lstrip("v") if version else version


def runtime_problems(fixture: Fixture, found: dict[str, dict[str, str | None]]) -> list[str]:
    """Why the interpreters `found` do not satisfy what the fixture needs (empty: they do)."""
    wanted = fixture.runtime
    if wanted is None:
        return []
    problems = []
    for key, command in INTERPRETERS.items():
        spec = getattr(wanted, key)
        if spec is None:
            continue
        have = found.get(command)
        if have is None:
            problems.append(f"needs {key} {spec}, but there is no {command} on PATH")
            continue
        version = have.get("version") or ""
        ok = matches(spec, _bare(version), "npm" if key == "node" else "python")
        if ok is None:
            problems.append(f"runtime.{key}: {spec!r} is not a version range")
        elif not ok:
            problems.append(
                f"needs {key} {spec}, found {version or 'an unknown version'} at {have['path']}"
            )
    return problems
