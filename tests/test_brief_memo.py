"""What briefs keep with the snapshot changes no brief (issue 20, speed): every brief of a
session compiled over one live knowledge base (its memos warm, filled by the briefs before it,
with other requests) is the brief a fresh knowledge base gives (its memos cold), byte for byte,
as JSON and Markdown."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from experimentos.briefs import entries
from experimentos.briefs.compiler import compile_brief
from experimentos.briefs.models import BriefRequest
from experimentos.briefs.render import render_brief
from experimentos.knowledge.live import Live

from .conftest import page_text, write_files
from .test_brief_pressure import rule_page

TODAY = dt.date(2026, 3, 1)
SCHEMA = "export const users = 1;\nexport const posts = 2;\n"


def _scope(library: str, extra: str = "") -> str:
    return f"appliesTo:\n  library: {library}\n{extra}"


def _pages() -> dict[str, str]:
    """Rules, background and evidence whose verdicts, trust and staleness read every part of a
    request: named libraries (in the text or given), files, agent, and a superseder whose own
    scope decides whether it applies."""
    sha = hashlib.sha256(SCHEMA.encode()).hexdigest()
    pages = {
        "wiki/failures/widget-breaks.md": page_text(
            "failure.widget-breaks",
            "failure",
            title="Widgetlib breaks",
            extra="status: accepted\nsummary: It breaks.\n" + _scope("widgetlib"),
        ),
        "wiki/knowledge/widget-pin.md": page_text(
            "knowledge.widget-pin",
            "knowledge_card",
            title="Why widgetlib is pinned",
            extra="status: accepted\nsummary: Pinned for the cache.\n"
            + _scope("widgetlib")
            + "dependsOn: [failure.widget-breaks]\n",
        ),
        # A rule a superseder scoped to gizmo retires only where gizmo applies (named).
        "policies/old.md": rule_page("policy.old", "Keep the widget cache warm"),
        "policies/new.md": rule_page(
            "policy.new",
            "Rebuild the widget cache with gizmo",
            scope=_scope("gizmo"),
            extra="supersedes: [policy.old]\n",
        ),
        # Named in a request but not declared by the manifests (vendored): kept, with a note.
        "policies/vendored.md": rule_page(
            "policy.vendored", "Patch vendorlib in place", scope=_scope("vendorlib")
        ),
        "policies/paths.md": rule_page(
            "policy.paths",
            "Edit the schema by hand",
            scope="appliesTo:\n  library: widgetlib\n  paths: ['src/db/**']\n",
        ),
        "policies/agent.md": rule_page(
            "policy.agent",
            "Let codex run the widget migrations",
            scope="appliesTo:\n  agent: codex\n",
        ),
        # Cites code (its verdict is re-checked on every brief), and one that rests on it.
        "policies/cited.md": rule_page(
            "policy.cited",
            "Keep the widget schema default in one place",
            extra=f"cites:\n  - {{path: src/db/schema.ts, lines: '1-2', sha256: {sha}}}\n",
        ),
        "policies/rests.md": rule_page(
            "policy.rests",
            "Regenerate widget migrations after schema edits",
            extra="dependsOn: [policy.cited, knowledge.widget-pin]\n",
        ),
        "policies/expired.md": rule_page(
            "policy.expired", "Clear the widget cache weekly", extra="expires: 2026-01-15\n"
        ),
        "policies/lab.md": rule_page("policy.lab", "Pin widgetlib minor versions").replace(
            "evidence: [failure.widget-breaks]", "evidence: [experiment.pins, run.r1]"
        ),
        "policies/ca.md": rule_page(
            "policy.ca", "Upgrade widgetlib eagerly", "contradicts: [policy.cb]\n"
        ),
        "policies/cb.md": rule_page("policy.cb", "Upgrade widgetlib never"),
        "policies/unreviewed.md": rule_page(
            "policy.unreviewed", "Delete the widget lockfile", reviewed=False
        ),
    }
    for i in range(24):  # a crowd, so that tight budgets cut rules and list them by id
        pages[f"policies/crowd-{i}.md"] = rule_page(
            f"policy.crowd-{i}",
            f"Widget rule {i} about the cache and the migrations",
            extra=f"requiredChecks: [run widget check {i}]\nforbiddenActions: [skip step {i}]\n",
            body=f"## Rule\n\nStep {i}: check the widget cache before migrating.\n",
        )
    return pages


REQUESTS = [
    {"task": "change the widget cache"},
    {"task": "rebuild the widget cache with gizmo"},  # names gizmo: policy.old is retired
    {"task": "change the widget cache", "libraries": ["gizmo"]},
    {"task": "patch vendorlib and the widget cache"},  # named, not declared
    {"task": "change the widget cache", "budget": 600},
    {"task": "rebuild the widget cache with gizmo", "budget": 900, "depth": 0},
    {"task": "edit the schema", "files": ["src/db/schema.ts"]},
    {"task": "edit the schema", "files": ["src/db/schema.ts"], "agent": "codex"},
    {"task": "change the widget cache", "libraries": ["widgetlib", "vendorlib"]},
    {"task": "change the widget cache", "budget": 2500, "depth": 3},
    {"task": "change the widget cache"},  # the first again, after the others
    {"task": "migrate gizmo and vendorlib", "budget": 1200},
]


@pytest.fixture
def kb(empty_kb, tmp_path):
    write_files(empty_kb.root, _pages())
    repo = write_files(
        tmp_path / "app",
        {
            "package.json": json.dumps({"dependencies": {"widgetlib": "1.2.3", "left-pad": "^1"}}),
            "src/db/schema.ts": SCHEMA,
        },
    )
    return empty_kb, repo


def _text(brief) -> str:  # noqa: ANN001 - Brief
    return brief.model_dump_json() + "\n" + render_brief(brief)


def _cold(workspace, request: BriefRequest) -> str:  # noqa: ANN001 - Workspace
    entries._ENTRIES.clear()  # rendered entries outlive a snapshot: start without them too
    return _text(compile_brief(Live(workspace, watch=False, index=False), request, today=TODAY))


def test_briefs_over_warm_memos_equal_briefs_over_cold_ones(kb):
    workspace, repo = kb
    requests = [BriefRequest(**r, repo=str(repo)) for r in REQUESTS]
    cold = [_cold(workspace, r) for r in requests]
    # One session, the requests in order then in reverse: every memo is filled by the others.
    live = Live(workspace, watch=False, index=False)
    for i in [*range(len(requests)), *reversed(range(len(requests)))]:
        warm = _text(compile_brief(live, requests[i], today=TODAY))
        assert warm == cold[i], f"request {i} differs once the memos are warm: {REQUESTS[i]}"
    # The requests do tell the memos apart: gizmo named retires policy.old, and only then.
    assert "policy.old" in cold[0] and "superseded by policy.new" not in cold[0]
    assert "superseded by policy.new" in cold[1] and "superseded by policy.new" in cold[2]
    assert "Scope not verified: vendorlib" in cold[3]


def test_an_edit_between_briefs_is_seen_by_the_next_one(kb):
    """The memos belong to the snapshot: a page edited between two briefs is read again."""
    workspace, repo = kb
    request = BriefRequest(task="change the widget cache", repo=str(repo), budget=2500)
    live = Live(workspace, watch=False, index=False)
    compile_brief(live, request, today=TODAY)
    page = workspace.root / "policies" / "crowd-3.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("Step 3:", "Step three, edited:"),
        encoding="utf-8",
    )
    warm = _text(compile_brief(live, request, today=TODAY))
    assert warm == _cold(workspace, request)
    assert "Step three, edited:" in warm


def test_cited_code_changed_between_briefs_is_seen_by_the_next_one(kb):
    """Staleness that reads cited code is never kept: the code lives outside the knowledge
    base, so the same snapshot gives another brief once the cited file changed. A rule that
    rests on the rule citing it is no rule any more (it was kept as one: failed before)."""
    workspace, repo = kb
    live = Live(workspace, watch=False, index=False)
    request = BriefRequest(task="regenerate the widget migrations", repo=str(repo))

    def rules(brief) -> list[str]:  # noqa: ANN001 - Brief
        return brief.agent_work_context()["knowledge_boundaries"]["decision_capable"]

    first = compile_brief(live, request, today=TODAY)
    assert "policy.rests" in rules(first) and not first.stale_warnings
    (repo / "src" / "db" / "schema.ts").write_text("export const users = 3;\n", encoding="utf-8")
    for task in ("edit the widget schema default", "regenerate the widget migrations"):
        request = BriefRequest(task=task, repo=str(repo))
        warm = compile_brief(live, request, today=TODAY)
        assert "policy.rests" not in rules(warm)
        assert _text(warm) == _cold(workspace, request)
