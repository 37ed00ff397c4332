"""The command that installs an optional extra from wherever this copy of experimentos came from.

experimentos is not on a package index, so `pip install 'experimentos[embeddings]'` finds
nothing: an editable checkout needs `pip install -e '/its/path[embeddings]'`, a wheel needs its
own path. pip records the origin in the distribution's `direct_url.json` (PEP 610).
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

DIST = "experimentos"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _local_path(url: str) -> str | None:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else None


def requirement_for(extra: str, direct_url: dict | None, checkout: Path | None = None) -> str:
    """`pip install` arguments for `extra`, given the install's direct_url.json (or None)."""
    if direct_url is None:
        if checkout is not None:  # imported from a source tree that pip never installed
            return f"-e {shlex.quote(f'{checkout}[{extra}]')}"
        return shlex.quote(f"{DIST}[{extra}]")
    url = str(direct_url.get("url", ""))
    local = _local_path(url)
    if local is not None:
        editable = bool((direct_url.get("dir_info") or {}).get("editable"))
        target = shlex.quote(f"{local}[{extra}]")
        return f"-e {target}" if editable else target
    vcs = direct_url.get("vcs_info")
    if vcs:
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        url = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
    return shlex.quote(f"{DIST}[{extra}] @ {url}")


def _pip() -> str:
    """`pip` when the pip on PATH belongs to this interpreter, else `<python> -m pip`."""
    here = Path(sys.executable).parent
    found = shutil.which("pip")
    if found and Path(found).parent == here:
        return "pip"
    return f"{shlex.quote(sys.executable)} -m pip"


def _torch_pin(dist: metadata.Distribution | None, extra: str) -> str | None:
    """`torch==X` when `extra` pins torch (read from the installed metadata, not repeated here)."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in (dist.requires or []) if dist else []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = requirement.marker
        if requirement.name == "torch" and marker and marker.evaluate({"extra": extra}):
            return f"torch{requirement.specifier}"
    return None


@functools.cache
def install_hint(extra: str) -> str:
    """The command (one line) that installs `extra` into this environment."""
    try:
        dist: metadata.Distribution | None = metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        dist = None
    direct = None
    if dist is not None:
        raw = dist.read_text("direct_url.json")
        try:
            direct = json.loads(raw) if raw else None
        except ValueError:
            direct = None
    checkout = Path(__file__).resolve().parents[2]
    if dist is not None or not (checkout / "pyproject.toml").is_file():
        checkout = None
    pip = _pip()
    command = f"{pip} install {requirement_for(extra, direct, checkout)}"
    torch = _torch_pin(dist, extra)
    if torch and sys.platform.startswith("linux"):
        # PyPI's Linux torch wheel is the multi-GB CUDA build; the CPU one comes from here
        command = f"{pip} install {shlex.quote(torch)} --index-url {CPU_INDEX} && {command}"
    return command
