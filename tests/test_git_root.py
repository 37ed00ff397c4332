"""Finding the knowledge root and the project the way git finds a repository.

A sandboxed agent CLI (codex's bubblewrap) leaves empty `.git` directories behind as mount points,
in shared places like /tmp; a repository above GIT_CEILING_DIRECTORIES must not claim a root below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from experimentos.briefs.compiler import _git_root
from experimentos.errors import RootNotFound
from experimentos.lifecycle.cites import default_repo
from experimentos.mcp.clients import project_dir
from experimentos.store import find_root
from experimentos.store.gitroot import CEILING_ENV, is_repository
from tests.conftest import git


@pytest.fixture
def below_a_stray_git(tmp_path, monkeypatch) -> Path:
    """tmp/outer/.git is an empty directory (a sandbox's leftover mount point)."""
    monkeypatch.setenv(CEILING_ENV, str(tmp_path))
    (tmp_path / "outer" / ".git").mkdir(parents=True)
    inner = tmp_path / "outer" / "inner"
    inner.mkdir()
    return inner


def test_an_empty_git_directory_is_not_a_knowledge_root(below_a_stray_git):
    with pytest.raises(RootNotFound):
        find_root(below_a_stray_git)


def test_an_empty_git_directory_is_not_the_project(below_a_stray_git):
    assert project_dir(below_a_stray_git) == below_a_stray_git
    assert default_repo(below_a_stray_git) == below_a_stray_git
    assert _git_root(below_a_stray_git) == below_a_stray_git


def test_the_cli_finds_no_root_below_a_stray_git_directory(below_a_stray_git, cli, monkeypatch):
    monkeypatch.chdir(below_a_stray_git)
    monkeypatch.delenv("EXPERIMENTOS_ROOT", raising=False)
    result = cli(None, "check")
    assert result.exit_code == 2 and "experimentos init" in result.stderr


def test_mcp_config_writes_into_the_root_not_beside_a_stray_git_directory(below_a_stray_git, cli):
    from experimentos.store.scaffold import init_workspace

    init_workspace(below_a_stray_git)
    result = cli(below_a_stray_git, "mcp", "config", "--client", "claude-code", "--write")
    assert result.exit_code == 0, result.stderr
    assert (below_a_stray_git / ".mcp.json").is_file()
    assert not (below_a_stray_git.parent / ".mcp.json").exists()


def test_a_real_repository_and_a_worktree_are_found(tmp_path, monkeypatch):
    monkeypatch.setenv(CEILING_ENV, str(tmp_path))
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    assert is_repository(repo) and find_root(repo / "a" / "b") == repo
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))
    assert (tmp_path / "wt" / ".git").is_file()
    assert find_root(tmp_path / "wt") == tmp_path / "wt"
    assert project_dir(tmp_path / "wt") == tmp_path / "wt"


def test_a_repository_above_a_ceiling_does_not_claim_the_root(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    below = repo / "ceiling" / "kb"
    below.mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "experimentos.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv(CEILING_ENV, str(repo / "ceiling"))
    with pytest.raises(RootNotFound):
        find_root(below)
    assert project_dir(below) == below
    monkeypatch.setenv(CEILING_ENV, f"relative/ignored:{tmp_path}")
    assert find_root(below) == repo


def test_a_git_file_that_is_a_link_or_not_a_gitdir_is_not_a_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / ".git").write_text("not a gitdir line\n", encoding="utf-8")
    assert not is_repository(plain)
    linked = tmp_path / "linked"
    linked.mkdir()
    outside = tmp_path / "outside-gitfile"
    outside.write_text("gitdir: /elsewhere\n", encoding="utf-8")
    (linked / ".git").symlink_to(outside)
    assert not is_repository(linked)
