"""The brief compiler over real pages, a real LanceDB index and the real model when installed."""

import datetime as dt
import hashlib
import json
import shutil
import time

import pytest

from experimentos.briefs.compiler import cite_digest, compile_brief
from experimentos.briefs.models import BriefRequest
from experimentos.briefs.render import render_brief, write_brief
from experimentos.errors import UsageError
from experimentos.index.tokens import count_tokens, heuristic_tokens, tokenizer_name
from experimentos.knowledge.graph import DEPENDS_ON
from experimentos.knowledge.live import Live, load_snapshot
from experimentos.store import Workspace
from experimentos.store.watch import ChangeWatcher

from .conftest import PROJECT, page_text, write_files

TASK = "Bump drizzle-kit to the latest version to fix the wrong default on users.created_at"
CONTEXT_KEYS = [
    "version",
    "brief_id",
    "run_id",
    "task",
    "required_load_order",
    "knowledge_boundaries",
    "decision_rules",
    "known_failures",
    "evidence",
    "required_checks",
    "forbidden_actions",
    "local_versions",
    "stale_warnings",
    "tool_sequence",
    "completion_contract",
    "token_estimate",
    "truncated",
    "conflicts",
    "knowledge_warnings",
]


@pytest.fixture
def fixture_repo(tmp_path):
    """A copy of the drizzle-pin fixture: drizzle-kit pinned to 0.30.4 with a lockfile."""
    target = tmp_path / "drizzle-pin"
    shutil.copytree(PROJECT / "fixtures" / "drizzle-pin", target)
    return target


@pytest.fixture
def live(kb):
    live = Live(kb)
    yield live
    live.close()


def brief_for(live, **kwargs):
    request = BriefRequest(**{"task": TASK, **kwargs})
    return compile_brief(live, request)


def test_golden_policy_decides_claim_is_evidence_and_version_scope_excludes(live, fixture_repo):
    brief = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    context = brief.agent_work_context()
    bounds = context["knowledge_boundaries"]
    assert "policy.keep-drizzle-kit-pin-verify-locally" in bounds["decision_capable"]
    assert "claim.upgrade-drizzle-kit-fixes-migration-default" in bounds["evidence_only"]
    assert "claim.upgrade-drizzle-kit-fixes-migration-default" not in bounds["decision_capable"]
    local = context["local_versions"]["drizzle-kit"]
    assert local["locked"] == "0.30.4" and local["source"] == "package-lock.json"
    # The 0.31-line card is scoped to >=0.31,<1.0: it must not reach a repo pinned to 0.30.4.
    excluded = {x.id: x.reasons for x in brief.excluded}
    card = "knowledge.drizzle-kit-0-31-release-line"
    assert card not in context["required_load_order"]
    assert any("0.30.4 does not satisfy >=0.31,<1.0" in r for r in excluded[card])
    # The policy's rules reach the agent as rules, with its checks and forbidden actions.
    rules = {r["id"]: r for r in context["decision_rules"]}
    policy = rules["policy.keep-drizzle-kit-pin-verify-locally"]
    assert policy["rule"].startswith("In a repository that pins drizzle-kit")
    assert any("bumping drizzle-kit" in a for a in context["forbidden_actions"])
    assert list(context) == CONTEXT_KEYS
    assert context["version"] == "agent_work_context.v1"


def test_every_selected_page_carries_reasons_and_dependencies_come_first(live, fixture_repo):
    brief = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"], budget=20000)
    order = [e.id for e in brief.entries]
    for entry in brief.entries:
        assert entry.reasons, entry.id
        for dep in entry.depends_on:
            if dep in order:
                assert order.index(dep) < order.index(entry.id), (dep, entry.id)
    policy = next(e for e in brief.entries if e.id == "policy.keep-drizzle-kit-pin-verify-locally")
    assert any("appliesTo.library drizzle-kit" in r for r in policy.reasons)
    assert any(r.startswith("search rank") for r in policy.reasons)


def test_budget_never_ships_a_page_without_its_dependencies(live, fixture_repo):
    full = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"], budget=20000)
    assert not full.truncated and not full.cut
    for budget in (700, 1200, 2000):
        brief = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"], budget=budget)
        assert brief.token_estimate <= budget
        ids = {e.id for e in brief.entries}
        snap = live.snapshot()
        for entry in brief.entries:
            if entry.role != "selected" or entry.form != "full":
                continue  # a compact rule names its dependencies (get_page) instead
            closure = snap.graph.closure(entry.id, 2)
            assert set(closure.ids) <= ids, (budget, entry.id)
        if brief.cut:
            assert brief.truncated
            assert all(c.reason.endswith(" tokens") for c in brief.cut), brief.cut
            assert "Left out for the budget" in render_brief(brief)
    small = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"], budget=300)
    assert small.truncated


def test_token_estimate_matches_the_rendered_markdown(live, fixture_repo):
    brief = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    actual = count_tokens(render_brief(brief))
    assert abs(actual - brief.token_estimate) <= 0.1 * actual


def test_same_request_same_id_and_an_edit_changes_it(kb, fixture_repo):
    live = Live(kb, watch=False)
    first = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    again = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    assert first.brief_id == again.brief_id and first.brief_id.startswith("brief.")
    other = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"], budget=1500)
    assert other.brief_id != first.brief_id
    fresh = compile_brief(
        Live(kb, watch=False),
        BriefRequest(task=TASK, repo=str(fixture_repo), libraries=["drizzle-kit"]),
    )
    assert fresh.brief_id == first.brief_id  # another process computes the same id
    path = kb.root / "policies" / "keep-drizzle-kit-pin-verify-locally.md"
    path.write_text(path.read_text(encoding="utf-8").replace("keep the pinned", "keep the"))
    edited = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    assert edited.brief_id != first.brief_id
    lock = fixture_repo / "package-lock.json"
    lock.write_text(lock.read_text().replace('"version": "0.30.4"', '"version": "0.30.5"'))
    bumped = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    assert bumped.local_versions["drizzle-kit"].locked == "0.30.5"
    assert bumped.brief_id != edited.brief_id


REVIEWED = (
    "review: {reviewer: me, reviewedAt: 2026-01-01, rationale: r, evidence: [failure.loop-a]}\n"
)
STALE_PAGES = {
    "policies/old-rule.md": page_text(
        "policy.old-rule",
        "policy",
        title="Run the migration generator before touching schema files",
        extra="status: accepted\nsummary: Generate migrations first.\nexpires: 2020-01-01\n"
        "appliesTo:\n  library: widgetlib\n" + REVIEWED,
        body="## Rule\n\nGenerate first.\n",
    ),
    "policies/cited-rule.md": page_text(
        "policy.cited-rule",
        "policy",
        title="Keep the schema default in one place",
        extra="status: accepted\nsummary: The default lives in schema.ts.\n" + REVIEWED + ""
        "appliesTo:\n  library: widgetlib\n"
        "cites:\n  - {path: src/schema.ts, lines: '1-2', sha256: HASH}\n",
        body="## Rule\n\nOne place.\n",
    ),
    "wiki/failures/loop-a.md": page_text(
        "failure.loop-a",
        "failure",
        title="Loop A widgetlib",
        extra="appliesTo:\n  library: "
        "widgetlib\ndependsOn: [failure.loop-b, failure.gone]\nstatus: accepted\n",
    ),
    "wiki/failures/loop-b.md": page_text(
        "failure.loop-b", "failure", title="Loop B", extra="dependsOn: [failure.loop-a]\n"
    ),
    "policies/opencode-only.md": page_text(
        "policy.opencode-only",
        "policy",
        title="Narrow shell commands for widgetlib under opencode",
        extra="status: accepted\nappliesTo:\n  agent: opencode\n  library: widgetlib\n",
    ),
}


@pytest.fixture
def widget(empty_kb, tmp_path):
    repo = write_files(
        tmp_path / "widget",
        {
            "package.json": json.dumps({"dependencies": {"widgetlib": "1.2.3"}}),
            "src/schema.ts": "line one\nline two\nline three\n",
        },
    )
    digest = hashlib.sha256(b"line one\nline two\n").hexdigest()
    pages = dict(STALE_PAGES)
    pages["policies/cited-rule.md"] = pages["policies/cited-rule.md"].replace("HASH", digest)
    write_files(empty_kb.root, pages)
    return empty_kb, repo


def test_expired_review_and_changed_citations_demote_to_evidence(widget):
    kb, repo = widget
    live = Live(kb, watch=False)
    request = dict(task="change the widget schema default", repo=str(repo), agent="claude-code")
    brief = brief_for(live, **request)
    bounds = brief.agent_work_context()["knowledge_boundaries"]
    assert "policy.cited-rule" in bounds["decision_capable"]  # the cited lines still match
    assert "policy.old-rule" in bounds["evidence_only"]
    warnings = {(w.id, w.reason) for w in brief.stale_warnings}
    assert ("policy.old-rule", "review expired on 2020-01-01") in warnings
    # Changing a cited line demotes the page; a change outside the cited lines does not.
    (repo / "src/schema.ts").write_text("line one\nline two\nline 3\n")
    assert (
        "policy.cited-rule"
        in brief_for(live, **request).agent_work_context()["knowledge_boundaries"][
            "decision_capable"
        ]
    )
    (repo / "src/schema.ts").write_text("line one\nline 2\nline 3\n")
    again = brief_for(live, **request)
    assert (
        "policy.cited-rule" in again.agent_work_context()["knowledge_boundaries"]["evidence_only"]
    )
    assert any(
        w.id == "policy.cited-rule" and "cited code changed" in w.reason
        for w in again.stale_warnings
    )
    assert again.brief_id != brief.brief_id


def test_cycles_are_safe_missing_targets_flagged_and_other_agents_excluded(widget):
    kb, repo = widget
    brief = brief_for(
        Live(kb, watch=False), task="widgetlib loop", repo=str(repo), agent="claude-code"
    )
    ids = [e.id for e in brief.entries]
    assert {"failure.loop-a", "failure.loop-b"} <= set(ids)
    assert {(m.source, m.target) for m in brief.missing} == {("failure.loop-a", "failure.gone")}
    excluded = {x.id: x.reasons for x in brief.excluded}
    assert excluded["policy.opencode-only"] == ["agent: page is for opencode, not claude-code"]
    assert "policy.opencode-only" not in ids


def test_cite_digest_reads_lines_and_refuses_escapes(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"1\r\n2\r\n3\r\n")
    assert cite_digest(tmp_path, "a.txt", "2") == hashlib.sha256(b"2\r\n").hexdigest()
    assert cite_digest(tmp_path, "a.txt") == hashlib.sha256(b"1\r\n2\r\n3\r\n").hexdigest()
    assert cite_digest(tmp_path, "missing.txt") is None
    assert cite_digest(tmp_path / "sub", "../a.txt") is None


def test_paths_scope_matches_touched_files(live, tmp_path):
    request = dict(task="update generated protobuf code", files=["api/generated/user_pb2.py"])
    brief = brief_for(live, **request)
    entry = next(e for e in brief.entries if e.id == "failure.editing-vendored-or-generated-code")
    assert any("appliesTo.paths matches api/generated/user_pb2.py" in r for r in entry.reasons)
    other = brief_for(live, task="update generated protobuf code", files=["src/app.py"])
    assert "failure.editing-vendored-or-generated-code" in {x.id for x in other.excluded}


def test_malformed_manifest_is_reported_not_fatal(live, tmp_path):
    repo = write_files(tmp_path / "bad", {"package.json": "{not json", "Cargo.toml": "[package]"})
    brief = brief_for(live, repo=str(repo), libraries=["drizzle-kit"])
    paths = {p.path for p in brief.manifest_problems}
    assert paths == {"package.json", "Cargo.toml"}
    markdown = render_brief(brief)
    assert "problem: `package.json`" in markdown and "Cargo.toml" in markdown


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"task": "   "}, "task"),
        ({"budget": 0}, "budget"),
        ({"budget": -5}, "budget"),
        ({"depth": 11}, "depth"),
        ({"libraries": [" "]}, "libraries"),
        ({"repo": "/definitely/not/here"}, "repo"),
    ],
)
def test_bad_requests_name_the_field(live, kwargs, field):
    with pytest.raises(UsageError) as err:
        compile_brief(live, BriefRequest(**{"task": TASK, **kwargs}))
    assert err.value.field == field


def test_write_is_idempotent_and_stays_inside_the_root(live, fixture_repo):
    brief = brief_for(live, repo=str(fixture_repo), libraries=["drizzle-kit"])
    rel = write_brief(live.workspace, brief)
    path = live.workspace.root / rel
    assert rel == f"briefs/{brief.brief_id}.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"---\nid: {brief.brief_id}\n") and "# Work brief:" in text
    mtime = path.stat().st_mtime_ns
    assert write_brief(live.workspace, brief) == rel and path.stat().st_mtime_ns == mtime


def test_live_picks_up_edits_creates_and_deletes(kb):
    for inotify in (True, False):
        name = f"fresh-{'inotify' if inotify else 'stat'}"
        live = Live(kb, watch=inotify, index=False)
        assert live.watch_mode == ("inotify" if inotify else "stat")
        first = live.snapshot()
        assert live.snapshot() is first  # nothing changed: the same snapshot, nothing re-read
        new = kb.root / "wiki" / "failures" / f"{name}.md"
        new.write_text(page_text(f"failure.{name}", "failure", title="Fresh"))
        second = live.snapshot()
        assert f"failure.{name}" in second.pages
        # inotify names the file, so only it is looked at; the stat fallback rescans.
        expected = {f"wiki/failures/{name}.md"} if inotify else None
        assert live._watcher.changed_files == expected
        # Unchanged files are reused, not re-parsed.
        assert (
            second.documents["policies/no-destructive-git.md"]
            is first.documents["policies/no-destructive-git.md"]
        )
        new.write_text("---\nid: [broken\n---\n")
        third = live.snapshot()
        assert f"failure.{name}" not in third.pages
        assert any(p.path.endswith(f"{name}.md") for p in third.problems)
        new.unlink()
        assert not live.snapshot().problems
        live.close()


def test_watcher_sees_a_page_directory_created_later(empty_kb):
    shutil.rmtree(empty_kb.root / "wiki")
    watcher = ChangeWatcher(empty_kb.root)
    assert watcher.changed()
    assert not watcher.changed()
    (empty_kb.root / "wiki" / "claims").mkdir(parents=True)
    assert watcher.changed()
    (empty_kb.root / "wiki" / "claims" / "x.md").write_text("x")
    assert watcher.changed()
    assert not watcher.changed()
    watcher.close()


def test_an_updated_snapshot_equals_a_full_load(kb):
    live = Live(kb, index=False)
    live.snapshot()
    root = kb.root
    path = root / "policies" / "keep-drizzle-kit-pin-verify-locally.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "appliesTo:\n  library: drizzle-kit", "appliesTo:\n  library: [drizzle-kit, drizzle-orm]"
    ), encoding="utf-8")  # fmt: skip
    (root / "wiki" / "failures" / "red-green-churn.md").unlink()
    (root / "wiki" / "claims" / "new.md").write_text(
        page_text("claim.new", "claim", extra="appliesTo:\n  paths: [src/**]\n")
    )
    updated, full = live.snapshot(), load_snapshot(kb)

    def norm(snap):
        lookup = {
            k: {v: sorted(ids) for v, ids in d.items() if ids} for k, d in snap.by_value.items()
        }
        return snap.content_hash, lookup, sorted(snap.with_paths), sorted(snap.pages)

    assert norm(updated) == norm(full)
    assert (
        "policy.keep-drizzle-kit-pin-verify-locally" in updated.by_value["library"]["drizzle-orm"]
    )
    assert sorted(map(repr, updated.graph.edges)) == sorted(map(repr, full.graph.edges))
    live.close()


def test_snapshot_reload_reparses_only_changed_files(kb):
    first = load_snapshot(kb)
    path = kb.root / "policies" / "no-destructive-git.md"
    time.sleep(0.01)
    path.write_text(path.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    second = load_snapshot(kb, first)
    rel = "policies/no-destructive-git.md"
    assert second.documents[rel] is not first.documents[rel]
    assert (
        second.documents["policies/fix-the-real-source.md"]
        is first.documents["policies/fix-the-real-source.md"]
    )
    assert second.content_hash != first.content_hash
    assert any(e.kind == DEPENDS_ON for e in second.graph.edges)


def test_heuristic_token_count_is_within_15_percent_of_the_tokenizer():
    if tokenizer_name() == "heuristic":
        pytest.skip("the embeddings extra is not installed")
    texts = [p.read_text(encoding="utf-8") for p in sorted((PROJECT / "wiki").rglob("*.md"))]
    for text in texts:
        assert abs(heuristic_tokens(text) - count_tokens(text)) <= 0.15 * count_tokens(text)


def test_today_decides_expiry(live, fixture_repo):
    late = compile_brief(
        live,
        BriefRequest(task=TASK, repo=str(fixture_repo), libraries=["drizzle-kit"]),
        today=dt.date(2028, 1, 1),
    )
    bounds = late.agent_work_context()["knowledge_boundaries"]
    assert "policy.keep-drizzle-kit-pin-verify-locally" in bounds["evidence_only"]
    assert not bounds["decision_capable"]


def test_full_text_only_knowledge_base_still_briefs(tmp_path, fixture_repo):
    from experimentos.store.scaffold import copy_starter, init_workspace

    root = tmp_path / "fts"
    init_workspace(root)
    (root / "experimentos.toml").write_text('[index]\nembedder = "none"\n')
    copy_starter(root)
    brief = brief_for(
        Live(Workspace(root), watch=False), repo=str(fixture_repo), libraries=["drizzle-kit"]
    )
    assert brief.search_mode == "fts"
    assert "policy.keep-drizzle-kit-pin-verify-locally" in [e.id for e in brief.entries]
