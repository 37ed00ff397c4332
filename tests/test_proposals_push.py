"""Pushing proposals to a bare remote, and pull requests against a local fake GitHub API."""

from __future__ import annotations

import json

import pytest

from experimentos.errors import GitError
from experimentos.proposals import github_repo, list_proposals, propose_new_page, push_proposal
from experimentos.proposals.push import redact_url

from .conftest import git
from .github_fake import FakeGitHub
from .proposal_helpers import add_bare_remote, make_dirty, make_repo, snapshot

TOKEN = "ghp_test_token_never_printed"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("EXPERIMENTOS_GITHUB_API", raising=False)
    return make_repo(tmp_path / "repo")


def test_push_to_a_bare_remote_without_token(repo, tmp_path):
    top = repo.root
    bare = add_bare_remote(top, tmp_path / "remote.git")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    make_dirty(top)
    before = snapshot(top)
    result = push_proposal(repo, proposal.name)
    assert snapshot(top) == before
    remote_tip = git(bare, "rev-parse", f"refs/heads/{proposal.name}").strip()
    assert remote_tip == proposal.commit == result.commit
    assert result.pull_request is None and result.github is None and result.pr_error is None
    assert result.pr_skipped == "the remote is not on GitHub"
    assert result.base == "main"
    assert result.command == f"gh pr create --base main --head {proposal.name} --fill"
    assert list_proposals(repo)[0].pushed_to == ["origin"]


def test_push_runs_the_pre_push_hook(repo, tmp_path):
    add_bare_remote(repo.root, tmp_path / "remote.git")
    marker = tmp_path / "pre-push-ran"
    hook = repo.root / ".git/hooks/pre-push"
    hook.write_text(f"#!/bin/sh\necho ran > {marker}\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    with pytest.raises(GitError, match="push failed"):
        push_proposal(repo, proposal.name)
    assert marker.read_text() == "ran\n"


def test_push_without_a_remote(repo):
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    with pytest.raises(GitError, match="no remote named 'origin'"):
        push_proposal(repo, proposal.name)


def test_github_remote_without_token_prints_the_command(repo, tmp_path):
    add_bare_remote(repo.root, tmp_path / "remote.git", url="git@github.com:acme/kb.git")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    result = push_proposal(repo, proposal.name)
    assert result.github == "acme/kb" and result.pull_request is None
    assert result.pr_skipped == "GITHUB_TOKEN is not set"
    assert result.command == (
        f"gh pr create --repo acme/kb --base main --head {proposal.name} --fill"
    )
    assert result.compare_url == (
        f"https://github.com/acme/kb/compare/main...{proposal.name}?expand=1"
    )


def test_pull_request_is_opened_through_the_api(repo, tmp_path, monkeypatch):
    bare = add_bare_remote(repo.root, tmp_path / "remote.git", url="https://github.com/acme/kb.git")
    proposal = propose_new_page(repo, "claim", "x", "X", why="Two runs broke.")
    with FakeGitHub() as api:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        result = push_proposal(repo, proposal.name)
    assert git(bare, "rev-parse", f"refs/heads/{proposal.name}").strip() == proposal.commit
    assert result.pull_request is not None and result.pull_request.number == 7
    assert result.pull_request.created and result.pr_error is None
    (request,) = api.requests
    assert request["method"] == "POST" and request["path"] == "/api/v3/repos/acme/kb/pulls"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    sent = request["json"]
    assert (sent["head"], sent["base"], sent["title"]) == (
        proposal.name,
        "main",
        "xos: page claim.x",
    )
    assert "Two runs broke." in sent["body"] and "wiki/claims/x.md" in sent["body"]
    assert TOKEN not in result.model_dump_json()


def test_existing_pull_request_is_returned(repo, tmp_path, monkeypatch):
    add_bare_remote(repo.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    existing = [{"number": 3, "html_url": "https://github.com/acme/kb/pull/3"}]
    with FakeGitHub(existing=existing) as api:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        result = push_proposal(repo, proposal.name)
    assert result.pull_request.number == 3 and not result.pull_request.created
    post, get = api.requests
    assert post["method"] == "POST" and get["method"] == "GET"
    assert f"head=acme%3A{proposal.name.replace('/', '%2F')}" in get["path"]


def test_api_failure_is_reported_after_the_push(repo, tmp_path, monkeypatch):
    bare = add_bare_remote(repo.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    with FakeGitHub(fail=500) as api:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        result = push_proposal(repo, proposal.name)
    assert git(bare, "rev-parse", f"refs/heads/{proposal.name}").strip() == proposal.commit
    assert result.pull_request is None
    assert "500" in result.pr_error and "Server Error" in result.pr_error
    assert TOKEN not in result.pr_error


def test_unreachable_api(repo, tmp_path, monkeypatch):
    add_bare_remote(repo.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    with FakeGitHub() as api:
        closed_url = api.url
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", closed_url)
    result = push_proposal(repo, proposal.name)
    assert result.pull_request is None and "unreachable" in result.pr_error


def test_rejected_push_is_an_error(repo, tmp_path):
    bare = add_bare_remote(repo.root, tmp_path / "remote.git")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    # Someone else's commit already sits on that branch name on the remote.
    other = git(bare, "commit-tree", "main^{tree}", "-p", "main", "-m", "someone else").strip()
    git(bare, "update-ref", f"refs/heads/{proposal.name}", other)
    with pytest.raises(GitError, match="push failed"):
        push_proposal(repo, proposal.name)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/kb.git", ("acme", "kb")),
        ("https://github.com/acme/kb", ("acme", "kb")),
        ("https://x-access-token:abc@github.com/acme/kb.git", ("acme", "kb")),
        ("git@github.com:acme/kb.git", ("acme", "kb")),
        ("github.com:acme/kb", ("acme", "kb")),
        ("ssh://git@github.com/acme/kb.git", ("acme", "kb")),
        ("ssh://git@github.com:22/acme/kb", ("acme", "kb")),
        ("https://gitlab.com/acme/kb.git", None),
        ("https://github.com.evil.example/acme/kb", None),
        ("/srv/git/kb.git", None),
        ("https://github.com/acme", None),
    ],
)
def test_github_repo(url, expected):
    assert github_repo(url) == expected


def test_redact_url():
    assert redact_url("https://user:secret@github.com/a/b") == "https://github.com/a/b"
    assert redact_url("git@github.com:a/b") == "git@github.com:a/b"


def test_a_token_echoed_by_the_api_is_never_printed(repo, tmp_path, monkeypatch, cli):
    add_bare_remote(repo.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    other = propose_new_page(repo, "claim", "y", "Y", why="w")
    with FakeGitHub(fail=401, echo=True) as api:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        as_json = cli(repo.root, "proposals", "push", proposal.name, "--json")
        as_text = cli(repo.root, "proposals", "push", other.name)
    assert api.requests and all(r["headers"]["Authorization"] == f"Bearer {TOKEN}"
                                for r in api.requests)  # fmt: skip
    assert as_json.exit_code == 1 and as_text.exit_code == 1
    error = json.loads(as_json.stdout)["pr_error"]
    assert "401" in error and "Bad credentials" in error and "[REDACTED]" in error
    for result in (as_json, as_text):
        assert TOKEN not in result.stdout and TOKEN not in result.stderr
