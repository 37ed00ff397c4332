"""Shared set-up for the proposal tests: a real repository, a bare remote, snapshots."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import git, page_text, write_files

FAILURE = page_text("failure.blind-upgrade", "failure", "Blind upgrade", body="## Symptoms\n")
POLICY = page_text(
    "policy.keep-pins",
    "policy",
    "Keep pins",
    extra="dependsOn: [failure.blind-upgrade]\n",
    body="## Rule\n\nDo not bump.\n",
)


def make_repo(path: Path, prefix: str = "") -> Workspace:
    """A git repository on branch main with a committed knowledge base at `prefix`."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    root = path / prefix if prefix else path
    init_workspace(root)
    write_files(root, {"wiki/failures/blind-upgrade.md": FAILURE, "policies/keep-pins.md": POLICY})
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "knowledge base")
    return Workspace(root)


def make_dirty(top: Path, prefix: str = "") -> None:
    """Uncommitted, staged and untracked changes, including to the pages a proposal touches."""
    root = top / prefix if prefix else top
    with (root / "policies/keep-pins.md").open("a", encoding="utf-8") as handle:
        handle.write("\nAn unstaged edit.\n")
    with (root / "wiki/failures/blind-upgrade.md").open("a", encoding="utf-8") as handle:
        handle.write("\nA staged edit.\n")
    git(top, "add", str(root / "wiki/failures/blind-upgrade.md"))
    write_files(root, {"wiki/failures/untracked.md": "not even a valid page", "notes.txt": "x"})


def snapshot(top: Path) -> dict:
    """Everything a proposal must leave alone: HEAD, the index, config, every work-tree file."""
    files = {}
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            files[rel] = ("link", os.readlink(path))
        elif path.is_file():
            files[rel] = ("file", path.read_bytes(), path.stat().st_mode)
        else:
            files[rel] = ("dir",)
    dot_git = top / ".git"
    return {
        "files": files,
        "HEAD": (dot_git / "HEAD").read_bytes(),
        "index": (dot_git / "index").read_bytes(),
        "config": (dot_git / "config").read_bytes(),
        "main": (dot_git / "refs/heads/main").read_bytes(),
    }


def branches(top: Path, pattern: str = "refs/heads/xos/") -> list[str]:
    return git(top, "for-each-ref", "--format=%(refname:strip=2)", pattern).split()


def commit_objects(top: Path) -> set[str]:
    """Every commit object in the repository, reachable or not."""
    out = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"],
        cwd=top,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split()[0] for line in out.splitlines() if line.endswith(" commit")}


def worktrees(top: Path) -> list[str]:
    return [
        line
        for line in git(top, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def show(top: Path, rev: str, path: str) -> str:
    return git(top, "show", f"{rev}:{path}")


def add_bare_remote(top: Path, bare: Path, url: str | None = None) -> Path:
    """A bare repository as `origin`; with `url`, that is its fetch URL and pushes go to bare."""
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(top, "remote", "add", "origin", url or str(bare))
    if url:
        git(top, "config", "remote.origin.pushurl", str(bare))
    git(top, "push", "-q", "origin", "main")
    return bare
