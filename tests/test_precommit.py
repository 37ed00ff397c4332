"""The pre-commit hooks (.pre-commit-hooks.yaml): their entries run, pass on a consistent
knowledge base, and stop a commit with an invalid page or a stale report."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import PROJECT, write_files
from .matrix_helpers import EXP, GOOD, make_root

HOOKS = PROJECT / ".pre-commit-hooks.yaml"


def _hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


def _run(hook: dict, root: Path) -> subprocess.CompletedProcess:
    """The hook's entry as pre-commit runs it: in the repository's top directory, no file
    names passed, the installed `experimentos` on PATH."""
    argv = shlex.split(hook["entry"])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("EXPERIMENTOS_ROOT", None)
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_hooks_are_declared_for_pre_commit():
    hooks = _hooks()
    assert set(hooks) == {"experimentos-check", "experimentos-reports"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert hook["entry"].startswith("experimentos ") and hook["name"] and hook["description"]
    check, reports = (re.compile(hooks[h]["files"]) for h in hooks)
    assert check.search("wiki/claims/x.md") and check.search("policies/p.md")
    assert check.search("experimentos.toml") and not check.search("README.md")
    assert reports.search(f"experiments/{EXP}/runs/run.x.md") and not reports.search("wiki/a.md")


def test_the_entries_pass_and_stop_a_bad_commit(tmp_path):
    from experimentos.matrix.runner import run_matrix
    from experimentos.reports.build import build_reports

    hooks = _hooks()
    ws = make_root(tmp_path / "kb", {"good": GOOD})
    run_matrix(ws, EXP)
    build_reports(ws)
    for hook in hooks.values():
        done = _run(hook, ws.root)
        assert done.returncode == 0, (hook["id"], done.stdout, done.stderr)
    # A new run without its report: the reports hook stops the commit, naming the file.
    run_matrix(ws, EXP, repeats=2)
    stale = _run(hooks["experimentos-reports"], ws.root)
    assert stale.returncode == 1
    assert f"experiments/{EXP}/results/{EXP}.md is stale" in stale.stdout + stale.stderr
    # A page whose id does not match its path: the check hook stops it, naming the file.
    write_files(ws.root, {"wiki/claims/wrong.md": "---\nid: claim.other\ntype: claim\n---\n"})
    bad = _run(hooks["experimentos-check"], ws.root)
    assert bad.returncode == 1 and "wiki/claims/wrong.md" in bad.stdout + bad.stderr
