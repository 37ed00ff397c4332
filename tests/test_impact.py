"""`experimentos impact --base REV`: each task's brief at a base revision and now, compared, on
real git repositories; the user's tree, index and HEAD untouched."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from experimentos.briefs.models import Brief, BriefEntry, BriefRequest, Conflict, Cut
from experimentos.impact import brief_impact, impact_tasks
from experimentos.impact.diff import diff_briefs
from experimentos.impact.render import MARKER, render_impact
from experimentos.impact.run import Impact, TaskImpact
from experimentos.store import Workspace

from .conftest import git, page_text, write_files
from .matrix_helpers import GOOD, make_root

REVIEW = "review: {reviewer: t, reviewedAt: 2026-01-01, rationale: r, evidence: [failure.broken]}\n"
NEW_POLICY = page_text(
    "policy.keep-test-txt",
    "policy",
    "Keep test.txt as it is",
    extra=f"status: accepted\nsummary: Never edit test.txt to make app.txt pass.\n{REVIEW}",
    body="## Rule\n\nLeave test.txt alone; fix app.txt so it says fixed.\n",
)


def _state(root: Path) -> tuple[str, str, str, str]:
    return (
        git(root, "status", "--porcelain", "--untracked-files=all"),
        git(root, "rev-parse", "HEAD"),
        git(root, "worktree", "list", "--porcelain"),
        git(root, "ls-files", "--stage"),
    )


@pytest.fixture
def root(tmp_path) -> Workspace:
    return make_root(tmp_path / "kb", {"good": GOOD})


def test_rules_demoted_and_added_with_the_markdown_diff(root):
    base = git(root.root, "rev-parse", "HEAD").strip()
    policy = root.root / "policies" / "fix-the-file.md"
    policy.write_text(policy.read_text().replace("status: accepted", "status: draft"))
    write_files(root.root, {"policies/keep-test-txt.md": NEW_POLICY})
    before = _state(root.root)
    leftovers = set(Path(tempfile.gettempdir()).glob("xos-impact-*"))
    result = brief_impact(root, "HEAD")
    # Nothing of the user's changed: tree, index, HEAD, worktrees; no temp dir left behind.
    assert _state(root.root) == before
    assert set(Path(tempfile.gettempdir()).glob("xos-impact-*")) == leftovers
    assert result.base_commit == base
    assert result.pages_changed == ["policies/fix-the-file.md", "policies/keep-test-txt.md"]
    (task,) = result.tasks
    assert task.name == "tiny" and task.source == "fixture" and task.error is None
    d = task.diff
    changes = {(r.id, r.change) for r in d.rules}
    assert ("policy.fix-the-file", "demoted") in changes
    assert ("policy.keep-test-txt", "added") in changes
    assert d.rules_before == ["policy.fix-the-file"] and "policy.keep-test-txt" in d.rules_after
    assert d.tokens_before > 0 and d.tokens_after > 0
    demoted = next(r for r in d.rules if r.change == "demoted")
    assert "draft" in demoted.detail
    assert "-## Decision rules: act on these" not in d.markdown_diff  # still has one rule
    assert "+### policy.keep-test-txt: Keep test.txt as it is" in d.markdown_diff
    assert "brief." not in d.markdown_diff.replace("brief.…", "")  # the id is masked
    text = render_impact(result)
    assert "1 of 1 task brief(s) change" in text and "| tiny | 1 → 1 |" in text
    assert "- demoted: `policy.fix-the-file` — Fix the file" in text
    assert "- new rule: `policy.keep-test-txt`" in text and "```diff" in text


def test_an_unchanged_knowledge_base_changes_no_brief(root, cli):
    result = cli(root.root, "impact", "--base", "HEAD", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changed"] == [] and data["pages_changed"] == []
    assert data["tasks"][0]["diff"]["changed"] is False
    text = cli(root.root, "impact", "--base", "HEAD").stdout
    assert "0 of 1 task brief(s) change" in text and "Unchanged (1): tiny." in text


def test_conflicts_and_warnings_that_appear(root):
    conflicting = page_text(
        "policy.rewrite-the-test",
        "policy",
        "Rewrite test.txt when app.txt is hard to fix",
        extra=(
            "status: accepted\nsummary: When app.txt cannot say fixed, rewrite test.txt.\n"
            f"{REVIEW}contradicts: [policy.fix-the-file]\n"
        ),
        body="## Rule\n\nRewrite test.txt so that app.txt passes.\n",
    )
    unreviewed = page_text(
        "policy.fixed-app-txt",
        "policy",
        "Make app.txt say fixed quickly",
        extra="status: accepted\nsummary: Write fixed into app.txt at once.\n",
    )
    write_files(
        root.root,
        {"policies/rewrite-the-test.md": conflicting, "policies/fixed-app-txt.md": unreviewed},
    )
    (task,) = brief_impact(root, "HEAD").tasks
    d = task.diff
    assert d.conflicts_added == ["policy.fix-the-file ↔ policy.rewrite-the-test"]
    assert any(w.endswith("policy.fixed-app-txt") for w in d.warnings_added), d.warnings_added
    # Neither side of a conflict is applied: the rule the base had is no longer a rule.
    assert ("policy.fix-the-file", "demoted") in {(r.id, r.change) for r in d.rules}


def _entry(pid: str, boundary: str = "decision_capable", form: str = "full", **kw) -> BriefEntry:
    return BriefEntry(
        id=pid,
        type="policy",
        title=pid,
        status="accepted",
        confidence="high",
        summary=kw.pop("summary", "s"),
        boundary=boundary,
        role="selected",
        path=f"policies/{pid}.md",
        form=form,
        **kw,
    )


def _brief(entries, **kw) -> Brief:
    return Brief(
        brief_id="brief.0123456789abcdef",
        request=BriefRequest(task="t"),
        knowledge_hash="h",
        search_mode="fts",
        entries=entries,
        tokenizer="x",
        **kw,
    )


def test_every_kind_of_rule_change_is_named():
    before = _brief(
        [
            _entry("p.kept"),
            _entry("p.compacted"),
            _entry("p.cut"),
            _entry("p.gone"),
            _entry("p.evidence-now"),
            _entry("p.reworded", rule="Do A."),
            _entry("p.promoted", boundary="evidence_only"),
            _entry("c.context", boundary="domain_context"),
        ],
        token_estimate=900,
    )
    after = _brief(
        [
            _entry("p.kept"),
            _entry("p.compacted", form="line"),
            _entry("p.evidence-now", boundary="evidence_only", trust="review expired"),
            _entry("p.reworded", rule="Do B."),
            _entry("p.promoted"),
            _entry("p.new"),
            _entry("c.other", boundary="domain_context"),
        ],
        cut=[Cut(id="p.cut", title="p.cut", tokens=90, reason="budget", rule=True)],
        conflicts=[Conflict(pages=["p.a", "p.b"], reason="contradicts")],
        token_estimate=1000,
        truncated=True,
    )
    d = diff_briefs(before, after, "same\n", "same\n")
    assert not d.changed  # the Markdown is what decides "changed"
    found = {r.id: (r.change, r.detail) for r in d.rules}
    assert found == {
        "p.compacted": ("compacted", "full → line"),
        "p.reworded": ("reworded", ""),
        "p.promoted": ("promoted", "was evidence only"),
        "p.new": ("added", ""),
        "p.cut": ("cut", "left out for the budget"),
        "p.gone": ("removed", ""),
        "p.evidence-now": ("demoted", "review expired"),
    }
    assert (d.pages_added, d.pages_removed) == (["c.other"], ["c.context"])
    assert d.conflicts_added == ["p.a ↔ p.b"] and d.tokens_delta == 100
    assert d.truncated_after and not d.truncated_before
    assert "+1 rule, +1 promoted, −1 rule, 1 demoted, 1 cut, 1 compacted" in d.summary()


def _big_impact(tasks: int, diff_lines: int) -> Impact:
    items = []
    for i in range(tasks):
        a = _brief([_entry("p.x")], token_estimate=100)
        b = _brief([_entry("p.y")], token_estimate=120)
        md_a = "".join(f"line {n} of task {i}\n" for n in range(diff_lines))
        md_b = "".join(f"LINE {n} of task {i}\n" for n in range(diff_lines))
        items.append(
            TaskImpact(
                name=f"task-{i:02}", source="config", task="t", diff=diff_briefs(a, b, md_a, md_b)
            )
        )
    return Impact(base="origin/main", base_commit="0" * 40, tasks=items)


def test_a_comment_stays_under_the_limit_and_says_what_it_left_out():
    impact = _big_impact(tasks=40, diff_lines=150)
    full = render_impact(impact, marker=True)
    assert len(full) > 65_536
    text = render_impact(impact, limit=64_512, marker=True, command="experimentos impact --base x")
    assert len(text) <= 64_512 and text.startswith(MARKER)
    assert "| task-39 | 1 → 1 |" in text  # the table keeps every task
    assert "<details><summary><b>task-00</b>" in text and "```diff" in text  # first ones whole
    assert "Left out to stay under GitHub's comment limit: the Markdown diffs of" in text
    assert "task-39" in text.split("Left out")[1]
    assert "`experimentos impact --base x` shows everything" in text
    # Past the diffs, whole details go, still said; the table is the last thing cut.
    tight = render_impact(impact, limit=6_000, command="c")
    assert len(tight) <= 6_000 and "the details of" in tight


def test_tasks_from_the_configuration(root, cli):
    config = root.root / "experimentos.toml"
    config.write_text(
        config.read_text() + '\n[impact]\nfixtures = false\ntasks = ["Fix app.txt", '
        '{name = "in the fixture", task = "Make app.txt say fixed", repo = "fixtures/tiny"}]\n'
    )
    specs = impact_tasks(Workspace(root.root), extra=["Another task"])
    assert [(s.name, s.source) for s in specs] == [
        ("Fix app.txt", "config"),
        ("in the fixture", "config"),
        ("Another task", "option"),
    ]
    assert specs[1].request.repo == str((root.root / "fixtures" / "tiny").resolve())
    config.write_text(config.read_text().replace('repo = "fixtures/tiny"', 'repo = "../../etc"'))
    bad = cli(root.root, "impact", "--base", "HEAD")
    assert bad.exit_code == 2
    assert "impact.tasks.1.repo" in bad.stderr and "inside the knowledge root" in bad.stderr


def test_a_base_that_is_no_commit_is_refused(root, cli):
    result = cli(root.root, "impact", "--base", "no-such-branch")
    assert result.exit_code == 2
    assert "no-such-branch" in result.stderr and "is not a commit" in result.stderr


def test_the_base_view_shares_the_parsed_pages_and_writes_only_what_differs(root, tmp_path):
    from experimentos.impact.run import _base, _head

    policy = root.root / "policies" / "fix-the-file.md"
    policy.write_text(policy.read_text().replace("Fix the file", "Fix that file"))
    head = _head(root)
    where = tmp_path / "base"
    where.mkdir()
    commit, view, differ = _base(root.root, "HEAD", head, where)
    assert commit == git(root.root, "rev-parse", "HEAD").strip()
    assert differ == ["policies/fix-the-file.md"]
    ours, theirs = head.snapshot(), view.snapshot()
    shared = "wiki/failures/broken.md"
    assert theirs.documents[shared] is ours.documents[shared]  # parsed once
    assert theirs.pages["policy.fix-the-file"].title == "Fix the file"  # the base's bytes
    assert ours.pages["policy.fix-the-file"].title == "Fix that file"
    written = sorted(
        p.relative_to(where).as_posix()
        for p in where.rglob("*")
        if p.is_file() and ".experimentos" not in p.parts
    )
    assert written == ["experimentos.toml", "policies/fix-the-file.md"]
    # Its index answers for the base's text, the working tree's for its own.
    from experimentos.index import search

    hits = search(view.index(), "Fix the file", mode="fts", limit=3, sync=False).results
    assert hits and hits[0].id == "policy.fix-the-file"
