"""The proposal commands: --propose on page writes, `propose FILE…`, `proposals …`."""

from __future__ import annotations

import json

import pytest

from .conftest import git, page_text, write_files
from .proposal_helpers import add_bare_remote, branches, make_dirty, make_repo, show, snapshot
from .test_proposals_push import TOKEN, FakeGitHub


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("EXPERIMENTOS_GITHUB_API", raising=False)
    return make_repo(tmp_path / "repo")


def test_page_new_and_set_status_propose(repo, cli):
    top = repo.root
    make_dirty(top)
    before = snapshot(top)
    made = cli(top, "page", "new", "claim", "x", "--title", "X", "--propose", "--json")
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    assert data["name"] == "xos/page/claim.x" and data["pages"][0]["change"] == "added"
    args = ["page", "set-status", "policy.keep-pins", "accepted", "--rationale", "Broke twice"]
    args += ["--evidence", "failure.blind-upgrade", "--reviewer", "ada", "--propose"]
    args += ["--why", "The runs show it."]
    refused = cli(top, *args)  # keep-pins has an uncommitted edit the base does not have
    assert refused.exit_code == 2
    assert "policies/keep-pins.md" in refused.stderr and "--working-tree" in refused.stderr
    assert branches(top) == ["xos/page/claim.x"]
    review = cli(top, *args, "--working-tree")
    assert review.exit_code == 0, review.output
    assert "proposed xos/status/policy.keep-pins-accepted" in review.stdout
    assert "status draft -> accepted" in review.stdout
    assert snapshot(top) == before
    assert not (top / "wiki/claims/x.md").exists()
    assert branches(top) == ["xos/page/claim.x", "xos/status/policy.keep-pins-accepted"]
    message = git(top, "log", "-1", "--format=%B", "xos/status/policy.keep-pins-accepted")
    assert "Why:\nThe runs show it.\n" in message and "Evidence: failure.blind-upgrade" in message
    proposed = show(top, "xos/status/policy.keep-pins-accepted", "policies/keep-pins.md")
    assert "An unstaged edit." in proposed and "status: accepted" in proposed


def test_refused_proposal_exits_2_without_a_branch(repo, cli):
    top = repo.root
    result = cli(top, "page", "set-status", "policy.keep-pins", "accepted", "--propose", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "ReviewRequired"
    write_files(top, {"wiki/claims/bad.md": "---\nid: claim.bad\ntype: claim\n---\n"})
    result = cli(top, "propose", "wiki/claims/bad.md", "--why", "w")
    assert result.exit_code == 2
    assert "wiki/claims/bad.md: title" in result.stderr and "Traceback" not in result.output
    assert branches(top) == []


def test_propose_files_list_and_show(repo, cli):
    top = repo.root
    claim = page_text("claim.pins", "claim", "Pins", body="## Claim\n")
    write_files(top, {"wiki/claims/pins.md": claim})
    made = cli(
        top, "propose", str(top / "wiki/claims/pins.md"), "--why", "w", "--evidence", "run.a,run.b"
    )
    assert made.exit_code == 0, made.output
    assert "xos/page/claim.pins" in made.stdout
    assert show(top, "xos/page/claim.pins", "wiki/claims/pins.md") == claim

    listed = cli(top, "proposals", "list", "--json")
    assert listed.exit_code == 0
    (entry,) = json.loads(listed.stdout)
    assert (entry["name"], entry["kind"], entry["base"]) == ("xos/page/claim.pins", "page", "main")
    text = cli(top, "proposals", "list")
    assert text.stdout.startswith("xos/page/claim.pins") and text.stderr == "1 proposal\n"

    detail = json.loads(cli(top, "proposals", "show", "page/claim.pins", "--json").stdout)
    assert detail["evidence"] == ["run.a", "run.b"]
    assert detail["pages"][0]["id"] == "claim.pins" and "+title: Pins" in detail["diff"]
    shown = cli(top, "proposals", "show", "xos/page/claim.pins")
    assert 'added wiki/claims/pins.md (claim.pins): "Pins", draft' in shown.stdout
    assert "diff --git" in shown.stdout
    assert "diff --git" not in cli(top, "proposals", "show", "claim.pins", "--no-diff").stdout
    missing = cli(top, "proposals", "show", "nope")
    assert missing.exit_code == 2 and "no proposal 'nope'" in missing.stderr


def test_push_commands(repo, cli, tmp_path, monkeypatch):
    top = repo.root
    bare = add_bare_remote(top, tmp_path / "remote.git", url="https://github.com/acme/kb.git")
    cli(top, "page", "new", "claim", "x", "--title", "X", "--propose")
    pushed = cli(top, "proposals", "push", "claim.x")
    assert pushed.exit_code == 0, pushed.output
    assert "gh pr create --repo acme/kb --base main --head xos/page/claim.x --fill" in pushed.stdout
    assert "GITHUB_TOKEN is not set" in pushed.stderr
    assert git(bare, "rev-parse", "refs/heads/xos/page/claim.x").strip()

    cli(top, "page", "new", "claim", "y", "--title", "Y", "--propose")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub() as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        opened = cli(top, "proposals", "push", "xos/page/claim.y", "--json")
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.stdout)["pull_request"]["number"] == 7

    cli(top, "page", "new", "claim", "z", "--title", "Z", "--propose")
    with FakeGitHub(fail=502) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        failed = cli(top, "proposals", "push", "claim.z")
    assert failed.exit_code == 1
    assert "no pull request: GitHub API POST" in failed.stderr and TOKEN not in failed.output
    assert "gh pr create" in failed.stdout


def test_propose_outside_git(tmp_path, cli):
    root = tmp_path / "plain"
    assert cli(None, "init", str(root)).exit_code == 0
    result = cli(root, "page", "new", "claim", "x", "--title", "X", "--propose")
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr
    assert not (root / "wiki/claims/x.md").exists()
