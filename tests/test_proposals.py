"""Proposals against real git repositories: the user's branch, index and tree stay untouched."""

from __future__ import annotations

import pytest

from experimentos.errors import (
    AlreadyExists,
    GitError,
    InvalidPage,
    NotFound,
    ReviewRequired,
    UsageError,
)
from experimentos.models.knowledge import Page, PageType
from experimentos.proposals import (
    NewPage,
    PageEdit,
    PageFile,
    StatusChange,
    list_proposals,
    propose,
    propose_files,
    propose_new_page,
    propose_page,
    propose_status,
    show_proposal,
)
from experimentos.store import Workspace

from .conftest import git, page_text, write_files
from .proposal_helpers import (
    POLICY,
    branches,
    commit_objects,
    make_dirty,
    make_repo,
    show,
    snapshot,
    worktrees,
)

CLAIM = page_text("claim.pins-break", "claim", "Bumps break", body="## Claim\n")


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def test_new_page_proposal_leaves_user_state_byte_identical(repo):
    top = repo.root
    make_dirty(top)
    before = snapshot(top)
    proposal = propose_new_page(
        repo, "claim", "pins-break", "Bumps break", "Seen twice.", why="Two runs broke."
    )
    assert snapshot(top) == before
    assert worktrees(top) == [f"worktree {top}"]
    assert proposal.name == "xos/page/claim.pins-break"
    assert branches(top) == ["xos/page/claim.pins-break"]
    assert git(top, "rev-parse", f"{proposal.name}^").strip() == proposal.base_commit
    assert proposal.base == "main"
    # The page is in the proposal's commit, built from the base (not from the dirty tree).
    text = show(top, proposal.name, "wiki/claims/pins-break.md")
    assert "id: claim.pins-break" in text and "summary: Seen twice." in text
    assert "staged edit" not in show(top, proposal.name, "wiki/failures/blind-upgrade.md")
    changed = git(top, "diff", "--name-only", "main", proposal.name).split()
    assert changed == ["wiki/claims/pins-break.md"]


def test_commit_message_is_structured(repo):
    proposal = propose_status(
        repo,
        "policy.keep-pins",
        "accepted",
        rationale="Two runs broke after a bump",
        evidence=["failure.blind-upgrade", "run.r1"],
        reviewer="ada",
    )
    message = git(repo.root, "log", "-1", "--format=%B", proposal.name)
    assert message.splitlines()[0] == "xos: status policy.keep-pins-accepted"
    assert "- changed policies/keep-pins.md (policy.keep-pins): status draft -> accepted" in message
    assert "Why:\nTwo runs broke after a bump\n" in message
    trailers = git(repo.root, "log", "-1", "--format=%(trailers)", proposal.name)
    assert "Evidence: failure.blind-upgrade, run.r1" in trailers
    assert "Xos-Base: main" in trailers and "Xos-Kind: status" in trailers
    page = show(repo.root, proposal.name, "policies/keep-pins.md")
    assert "status: accepted" in page and "reviewer: ada" in page


def test_show_reports_pages_fields_and_status_transitions(repo):
    proposal = propose(
        repo,
        [
            NewPage(Page(id="claim.pins-break", type=PageType.claim, title="Bumps break")),
            StatusChange(
                "policy.keep-pins", "accepted", "Broke twice", ("claim.pins-break",), "ada"
            ),
            PageEdit("failure.blind-upgrade", {"confidence": "high", "tags": ["deps"]}),
        ],
        kind="review",
        slug="pins",
        why="Evidence arrived.",
        evidence=["claim.pins-break"],
    )
    detail = show_proposal(repo, "review/pins")
    assert detail.name == proposal.name == "xos/review/pins"
    assert (detail.kind, detail.slug, detail.base, detail.commits) == ("review", "pins", "main", 1)
    assert detail.why == "Evidence arrived."
    assert detail.evidence == ["claim.pins-break"]
    by_id = {p.id: p for p in detail.pages}
    added = by_id["claim.pins-break"]
    assert added.change == "added" and added.status.new == "draft" and added.status.old is None
    policy = by_id["policy.keep-pins"]
    assert (policy.status.old, policy.status.new) == ("draft", "accepted")
    assert {c.field: c.new for c in policy.fields}["review.rationale"] == "Broke twice"
    failure = by_id["failure.blind-upgrade"]
    assert failure.status is None and not failure.body_changed
    assert {c.field: (c.old, c.new) for c in failure.fields} == {
        "confidence": ("medium", "high"),
        "tags": ([], ["deps"]),
    }
    assert "+confidence: high" in detail.diff and "+status: accepted" in detail.diff
    assert detail.other_files == []
    # What the proposal returned is what show reads back.
    assert [p.model_dump() for p in proposal.pages] == [
        p.model_dump() for p in sorted(detail.pages, key=lambda p: p.path)
    ]


def test_show_compares_with_the_merge_base(repo):
    proposal = propose_new_page(repo, "claim", "pins-break", "Bumps break", why="w")
    write_files(repo.root, {"wiki/claims/later.md": page_text("claim.later", "claim")})
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "main moves on")
    detail = show_proposal(repo, proposal.name)
    assert [p.id for p in detail.pages] == ["claim.pins-break"]
    assert "later" not in detail.diff


def test_list_proposals(repo):
    assert list_proposals(repo) == []
    one = propose_new_page(repo, "claim", "pins-break", "Bumps break", why="w")
    two = propose_status(repo, "policy.keep-pins", "rejected", "never seen")
    listed = list_proposals(repo)
    assert [p.name for p in listed] == sorted([one.name, two.name])
    status = next(p for p in listed if p.kind == "status")
    assert (status.slug, status.base, status.commit) == (
        "policy.keep-pins-rejected",
        "main",
        two.commit,
    )
    assert status.subject == "xos: status policy.keep-pins-rejected"
    assert not status.merged
    git(repo.root, "merge", "-q", "--ff-only", two.name)
    assert [p.merged for p in list_proposals(repo)] == [False, True]
    assert show_proposal(repo, two.name).merged


def test_taken_name_gets_a_suffix(repo):
    first = propose_new_page(repo, "claim", "pins-break", "Bumps break", why="w")
    second = propose_new_page(repo, "claim", "pins-break", "Bumps break again", why="w")
    third = propose_new_page(repo, "claim", "pins-break", "Third", why="w")
    assert [first.name, second.name, third.name] == [
        "xos/page/claim.pins-break",
        "xos/page/claim.pins-break-2",
        "xos/page/claim.pins-break-3",
    ]
    assert second.subject == "xos: page claim.pins-break-2"
    # The first proposal is untouched.
    assert "title: Bumps break\n" in show(repo.root, first.name, "wiki/claims/pins-break.md")


def test_proposal_from_another_base_branch(repo):
    top = repo.root
    git(top, "branch", "knowledge")
    git(top, "checkout", "-q", "-b", "feature")
    write_files(top, {"src.py": "print()\n"})
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "feature work")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w", base="knowledge")
    assert proposal.base == "knowledge"
    assert (
        git(top, "rev-parse", f"{proposal.name}^").strip()
        == git(top, "rev-parse", "knowledge").strip()
    )
    assert git(top, "symbolic-ref", "--short", "HEAD").strip() == "feature"
    with pytest.raises(GitError, match="no branch 'nope'"):
        propose_new_page(repo, "claim", "y", "Y", why="w", base="nope")


def test_configured_base(repo):
    top = repo.root
    git(top, "branch", "knowledge")
    git(top, "checkout", "-q", "-b", "feature")
    with (top / "experimentos.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[proposals]\nbase = "knowledge"\n')
    proposal = propose_new_page(Workspace(top), "claim", "x", "X", why="w")
    assert proposal.base == "knowledge"
    assert propose_new_page(Workspace(top), "claim", "y", "Y", why="w", base="main").base == "main"


def test_knowledge_root_in_a_subdirectory(tmp_path):
    ws = make_repo(tmp_path / "mono", prefix="docs/kb")
    top = tmp_path / "mono"
    make_dirty(top, "docs/kb")
    before = snapshot(top)
    # the page has an uncommitted edit: said, not silently left out of the proposal
    with pytest.raises(UsageError, match="policies/keep-pins.md.*--working-tree"):
        propose_status(ws, "policy.keep-pins", "rejected", "superseded by tests")
    assert branches(top) == [] and snapshot(top) == before
    proposal = propose_status(
        ws, "policy.keep-pins", "rejected", "superseded by tests", working_tree=True
    )
    assert snapshot(top) == before
    proposed = show(top, proposal.name, "docs/kb/policies/keep-pins.md")
    assert "status: rejected" in proposed and "An unstaged edit." in proposed
    detail = show_proposal(ws, proposal.name)
    assert [p.path for p in detail.pages] == ["policies/keep-pins.md"]


def test_hand_written_files(repo, monkeypatch):
    top = repo.root
    write_files(top, {"wiki/claims/pins-break.md": CLAIM})
    before = snapshot(top)
    monkeypatch.chdir(top / "wiki")
    proposal = propose_files(
        repo, ["claims/pins-break.md", top / "policies/keep-pins.md"], why="w", slug="by-hand"
    )
    assert snapshot(top) == before  # the untracked file stays untracked
    assert proposal.name == "xos/page/by-hand"
    assert [p.id for p in proposal.pages] == ["claim.pins-break"]  # keep-pins is unchanged
    assert show(top, proposal.name, "wiki/claims/pins-break.md") == CLAIM


def test_page_file_keeps_bytes_and_replaces_a_page(repo):
    edited = POLICY.replace("Do not bump.", "Never bump.")
    proposal = propose(repo, [PageFile(edited.encode())], kind="page", slug="edit", why="w")
    assert show(repo.root, proposal.name, "policies/keep-pins.md") == edited
    (page,) = proposal.pages
    assert page.change == "modified" and page.body_changed and page.fields == []


def test_propose_page_text(repo):
    proposal = propose_page(repo, CLAIM, why="An agent found it.", evidence=["run.r7"])
    assert proposal.name == "xos/page/claim.pins-break"
    assert show(repo.root, proposal.name, "wiki/claims/pins-break.md") == CLAIM
    assert show_proposal(repo, proposal.name).evidence == ["run.r7"]
    with pytest.raises(InvalidPage):
        propose_page(repo, "no frontmatter", why="w")


def _refused(repo, call, error):
    top = repo.root
    before_commits, before = commit_objects(top), snapshot(top)
    with pytest.raises(error) as info:
        call()
    assert branches(top) == []
    assert commit_objects(top) == before_commits
    assert snapshot(top) == before
    assert worktrees(top) == [f"worktree {top}"]
    return info.value


def test_invalid_page_is_refused_before_any_branch_or_commit(repo):
    bad = b"---\nid: claim.x\ntype: claim\ntitle: X\nconfidence: certain\n---\n"
    exc = _refused(
        repo, lambda: propose(repo, [PageFile(bad)], kind="page", slug="x", why="w"), InvalidPage
    )
    assert exc.field == "confidence"
    wrong_place = PageFile(CLAIM.encode(), "wiki/failures/pins-break.md")
    exc = _refused(
        repo, lambda: propose(repo, [wrong_place], kind="page", slug="x", why="w"), InvalidPage
    )
    assert exc.problems[0].code == "id-path-mismatch"


def test_check_errors_introduced_by_the_change_are_refused(repo):
    dangling = page_text("claim.x", "claim", extra="dependsOn: [failure.missing]\n")
    exc = _refused(
        repo,
        lambda: propose(repo, [PageFile(dangling.encode())], kind="page", slug="x", why="w"),
        InvalidPage,
    )
    assert exc.problems[0].code == "dangling-reference"
    # keep-pins depends on blind-upgrade; making blind-upgrade depend back closes a loop.
    looped = PageEdit("failure.blind-upgrade", {"dependsOn": ["policy.keep-pins"]})
    exc = _refused(
        repo, lambda: propose(repo, [looped], kind="edit", slug="x", why="w"), InvalidPage
    )
    assert exc.problems[0].code == "dependency-cycle"


def test_errors_already_on_the_base_do_not_block(repo):
    top = repo.root
    broken = page_text("claim.old", "claim", extra="dependsOn: [failure.gone]\n")
    write_files(top, {"wiki/claims/old.md": broken})
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "an old dangling reference")
    proposal = propose_new_page(repo, "claim", "new", "New", why="w")
    assert proposal.name == "xos/page/claim.new"


def test_review_rules_and_references_are_enforced(repo):
    _refused(repo, lambda: propose_status(repo, "policy.keep-pins", "accepted"), ReviewRequired)
    _refused(
        repo,
        lambda: propose_status(repo, "policy.keep-pins", "accepted", "r", ["failure.nope"]),
        NotFound,
    )
    _refused(repo, lambda: propose_status(repo, "policy.nope", "rejected", "r"), NotFound)
    _refused(
        repo, lambda: propose_new_page(repo, "policy", "keep-pins", "Again", why="w"), AlreadyExists
    )
    _refused(
        repo,
        lambda: propose(
            repo,
            [PageEdit("policy.keep-pins", {"tags": ["a"]})],
            kind="edit",
            slug="x",
            why="w",
            evidence=["failure.nope"],
        ),
        NotFound,
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "Page"}, "kind"),
        ({"slug": "a/b"}, "path separator"),
        ({"slug": "x.lock"}, "not a valid git branch name"),
        ({"why": "  "}, "reason"),
        ({"evidence": ["not an id"]}, "not a valid reference"),
    ],
)
def test_bad_arguments(repo, kwargs, match):
    args = {"kind": "page", "slug": "x", "why": "w"} | kwargs
    change = PageEdit("policy.keep-pins", {"tags": ["a"]})
    _refused(repo, lambda: propose(repo, [change], **args), UsageError)
    with pytest.raises(UsageError, match=match):
        propose(repo, [change], **args)


def test_a_change_that_changes_nothing_is_refused(repo):
    unchanged = PageFile(POLICY.encode())
    with pytest.raises(UsageError, match="changes nothing"):
        propose(repo, [unchanged], kind="page", slug="x", why="w")
    assert branches(repo.root) == []


def test_not_a_git_repository(tmp_path):
    root = tmp_path / "plain"
    root.mkdir()
    ws = Workspace(root)
    with pytest.raises(GitError, match="not inside a git repository"):
        propose_new_page(ws, "claim", "x", "X", why="w")
    with pytest.raises(GitError, match="not inside a git repository"):
        list_proposals(ws)


def test_no_commits_yet(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    with pytest.raises(GitError, match="no commits yet"):
        propose_new_page(Workspace(root), "claim", "x", "X", why="w")
    assert branches(root) == []


def test_detached_head_needs_a_base(repo):
    git(repo.root, "checkout", "-q", "--detach")
    with pytest.raises(GitError, match="--onto"):
        propose_new_page(repo, "claim", "x", "X", why="w")
    assert propose_new_page(repo, "claim", "x", "X", why="w", base="main").base == "main"


def test_identity_fallback_only_without_configured_identity(repo, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    first = propose_new_page(repo, "claim", "x", "X", why="w")
    author = git(repo.root, "log", "-1", "--format=%an <%ae>", first.name).strip()
    assert author == "experimentos <experimentos@localhost>"
    git(repo.root, "config", "user.name", "Ada")
    git(repo.root, "config", "user.email", "ada@example.invalid")
    second = propose_new_page(repo, "claim", "y", "Y", why="w")
    author = git(repo.root, "log", "-1", "--format=%an <%ae>", second.name).strip()
    assert author == "Ada <ada@example.invalid>"


def test_user_hooks_do_not_run(repo):
    hooks = repo.root / ".git/hooks"
    marker = repo.root.parent / "hook-ran"
    for name in ("post-checkout", "pre-commit", "commit-msg", "post-commit"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\n", encoding="utf-8")
        hook.chmod(0o755)
    propose_new_page(repo, "claim", "x", "X", why="w")
    assert not marker.exists()


def test_show_unknown_proposal(repo):
    with pytest.raises(NotFound, match="no proposal"):
        show_proposal(repo, "page/nope")
    proposal = propose_new_page(repo, "claim", "x", "X", why="w")
    assert show_proposal(repo, "claim.x").name == proposal.name  # the slug alone, when unique
