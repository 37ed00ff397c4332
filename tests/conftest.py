from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

PROJECT = Path(__file__).resolve().parents[1]


def documentation() -> str:
    """The hand-written documentation: the README and every page under docs/ (the command
    reference that docs/hooks.py generates into docs/cli.md at build time is not in it)."""
    paths = [PROJECT / "README.md", *sorted((PROJECT / "docs").rglob("*.md"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in paths)


# Property tests explore new inputs on every local run; CI (.ci/run sets HYPOTHESIS_PROFILE=ci)
# replays one fixed seed, so a landing is decided by the code, not by the draw. Crashes the
# exploration finds become @example cases next to the property.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True, scope="session")
def _one_onnx_graph_per_session(tmp_path_factory):
    """Knowledge bases made by tests share one exported ONNX graph (each root would otherwise
    export its own under .experimentos/models/, which is what a user's root does)."""
    from experimentos.index.onnx import CACHE_ENV

    os.environ.setdefault(CACHE_ENV, str(tmp_path_factory.mktemp("onnx-graph")))


@pytest.fixture(autouse=True, scope="session")
def _nothing_above_the_temp_dirs_claims_a_test(tmp_path_factory):
    """Whatever sits above pytest's temp dirs (a repository, an experimentos.toml, a sandbox's
    leftover `.git` in /tmp) is not the knowledge root or project of a test: the root search
    stops below the base temp dir, as git's does (GIT_CEILING_DIRECTORIES)."""
    from experimentos.store.gitroot import CEILING_ENV

    base = str(tmp_path_factory.getbasetemp().resolve())
    previous = os.environ.get(CEILING_ENV)
    os.environ[CEILING_ENV] = os.pathsep.join(filter(None, [base, previous]))


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text or bytes) under `root` and return it."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def tmp_repo(tmp_path: Path):
    """A real git repository in tmp_path; call it with a dict of files to write and commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")

    def write(files: dict[str, str | bytes] | None = None, message: str = "files") -> Path:
        write_files(root, files or {})
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", message)
        return root

    return write


@pytest.fixture
def kb(tmp_path: Path) -> Workspace:
    """An initialised knowledge base holding a copy of the project's starter pages."""
    root = tmp_path / "kb"
    init_workspace(root)
    for top in ("wiki", "policies"):
        shutil.copytree(PROJECT / top, root / top, dirs_exist_ok=True)
    return Workspace(root)


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    """An executable that does nothing: an agent CLI's binary where only its argv matters."""
    binary = tmp_path / "bin" / "agent"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    binary.chmod(0o755)
    return binary


@pytest.fixture
def empty_kb(tmp_path: Path) -> Workspace:
    root = tmp_path / "empty"
    init_workspace(root)
    return Workspace(root)


@pytest.fixture
def cli():
    """Run the CLI in-process: cli(root, *args) -> click Result (stdout and stderr apart)."""
    runner = CliRunner()

    def invoke(root: Path | None, *args: str):
        prefix = ["--root", str(root)] if root is not None else []
        return runner.invoke(app, [*prefix, *args], catch_exceptions=False)

    return invoke


def page_text(
    page_id: str, page_type: str, title: str = "T", extra: str = "", body: str = ""
) -> str:
    head = f"---\nid: {page_id}\ntype: {page_type}\ntitle: {title}\n{extra}---\n"
    return f"{head}\n{body or 'Body.'}\n"
