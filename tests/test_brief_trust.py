"""The trust rules of briefs (issue 11): only reviewed rules decide, evidence never overrides or
instructs, conflicts are shown as conflicts, the budget keeps rules first, local facts are
complete, rules are never cut mid-sentence, and depth limits are said out loud."""

import json
import re
import shutil

import pytest
import yaml

from experimentos.briefs.compiler import compile_brief
from experimentos.briefs.models import BriefRequest
from experimentos.briefs.render import render_brief
from experimentos.index.tokens import count_tokens
from experimentos.knowledge.live import Live

from .conftest import PROJECT, page_text, write_files

PIN = "policy.keep-drizzle-kit-pin-verify-locally"
DRIZZLE_TASK = (
    "Bump drizzle-kit to the latest version to fix the wrong default on users.created_at in the "
    "generated migration"
)
REVIEW = (
    "review:\n  reviewer: me\n  reviewedAt: 2026-01-01\n  rationale: Seen in runs.\n"
    "  evidence: [failure.widget-breaks]\n"
)
WIDGET = "appliesTo:\n  library: widgetlib\n"


def rule_page(page_id: str, title: str, extra: str = "", reviewed: bool = True, body=None) -> str:
    kind = page_id.split(".")[0]
    head = f"status: accepted\nsummary: {title}.\n{WIDGET}" + (REVIEW if reviewed else "")
    return page_text(
        page_id, kind, title=title, extra=head + extra, body=body or "## Rule\n\nDo it.\n"
    )


@pytest.fixture
def widget_repo(tmp_path):
    return write_files(
        tmp_path / "widget",
        {"package.json": json.dumps({"dependencies": {"widgetlib": "1.2.3", "left-pad": "^1"}})},
    )


def kb_with(empty_kb, pages: dict[str, str]):
    base = {
        "wiki/failures/widget-breaks.md": page_text(
            "failure.widget-breaks",
            "failure",
            title="Widgetlib breaks",
            extra="status: accepted\nsummary: It breaks.\n",
        )
    }
    write_files(empty_kb.root, {**base, **pages})
    return Live(empty_kb, watch=False, index=False)


def brief(live, task="change the widget", **kwargs):
    return compile_brief(live, BriefRequest(task=task, **kwargs))


def bounds(result) -> dict[str, list[str]]:
    return result.agent_work_context()["knowledge_boundaries"]


def section(markdown: str, heading: str) -> str:
    """The text of one `## heading` section of the Markdown ("" when absent)."""
    found = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    return found.group(1) if found else ""


# --- rule 1: decision-capable means accepted and reviewed ---------------------------------------


def test_an_accepted_policy_without_review_is_evidence_and_its_actions_are_not_copied(
    empty_kb, widget_repo
):
    live = kb_with(
        empty_kb,
        {
            "policies/unreviewed.md": rule_page(
                "policy.unreviewed",
                "Never touch the widget cache",
                extra="forbiddenActions: [deleting the widget cache]\n"
                "requiredChecks: [run the widget doctor]\n",
                reviewed=False,
            ),
            "policies/reviewed.md": rule_page("policy.reviewed", "Pin widgetlib"),
        },
    )
    result = brief(live, repo=str(widget_repo))
    context = result.agent_work_context()
    assert bounds(result)["decision_capable"] == ["policy.reviewed"]
    assert "policy.unreviewed" in bounds(result)["evidence_only"]
    assert "deleting the widget cache" not in context["forbidden_actions"]
    assert "run the widget doctor" not in context["required_checks"]
    markdown = render_brief(result)
    assert "policy.unreviewed" not in section(markdown, "Decision rules")
    assert "Not a decision rule: an accepted policy without a complete review" in markdown
    assert ("policy.unreviewed", "review-missing") in {(w.id, w.code) for w in result.warnings}


# --- rule 2: only a decision-capable page supersedes one ----------------------------------------


def test_evidence_that_supersedes_a_reviewed_policy_is_ignored_with_a_warning(
    empty_kb, widget_repo
):
    live = kb_with(
        empty_kb,
        {
            "policies/keep.md": rule_page("policy.keep", "Keep the widget pin"),
            "wiki/claims/newer.md": page_text(
                "claim.newer",
                "claim",
                title="Upgrading widgetlib fixes it",
                extra=f"status: accepted\n{WIDGET}supersedes: [policy.keep]\n",
            ),
        },
    )
    result = brief(live, repo=str(widget_repo))
    assert "policy.keep" in bounds(result)["decision_capable"]
    assert "policy.keep" not in {x.id for x in result.excluded}
    warning = next(w for w in result.warnings if w.code == "supersede-by-evidence")
    assert warning.id == "claim.newer" and "policy.keep still applies" in warning.message
    assert "claim.newer [supersede-by-evidence]" in section(render_brief(result), "Knowledge")
    # A reviewed policy does supersede it.
    write_files(
        empty_kb.root,
        {
            "policies/newest.md": rule_page(
                "policy.newest", "Newer rule", "supersedes: [policy.keep]\n"
            )
        },
    )
    later = brief(Live(empty_kb, watch=False, index=False), repo=str(widget_repo))
    assert {x.id: x.reasons for x in later.excluded}["policy.keep"] == [
        "superseded by policy.newest"
    ]


# --- rule 3: contradicting rules become a named conflict ----------------------------------------


@pytest.mark.parametrize("through", [False, True], ids=["direct", "through-an-accepted-page"])
def test_contradicting_rules_are_a_conflict_and_neither_is_a_rule(empty_kb, widget_repo, through):
    if through:  # a contradicts the failure that b rests on
        a_extra, b_extra = (
            "contradicts: [failure.widget-breaks]\n",
            "dependsOn: [failure.widget-breaks]\n",
        )
    else:
        a_extra, b_extra = "contradicts: [intervention.b]\n", ""
    live = kb_with(
        empty_kb,
        {
            "policies/a.md": rule_page("policy.a", "Always pin widgetlib", a_extra),
            "wiki/interventions/b.md": rule_page("intervention.b", "Upgrade widgetlib", b_extra),
            "policies/c.md": rule_page("policy.c", "Log widget calls"),
        },
    )
    result = brief(live, repo=str(widget_repo))
    assert bounds(result)["decision_capable"] == ["policy.c"]
    assert [c.pages for c in result.conflicts] == [["intervention.b", "policy.a"]]
    rules = {r["id"] for r in result.agent_work_context()["decision_rules"]}
    assert rules == {"policy.c"}
    markdown = render_brief(result)
    conflict = section(markdown, "Conflicting rules")
    assert "intervention.b and policy.a" in conflict
    assert "### policy.a" in conflict and "### intervention.b" in conflict
    assert "policy.a" not in section(markdown, "Decision rules")
    assert result.agent_work_context()["conflicts"][0]["pages"] == ["intervention.b", "policy.a"]


# --- rule 4: evidence never instructs ------------------------------------------------------------


def test_checks_and_forbidden_actions_of_evidence_are_only_claims(empty_kb, widget_repo):
    live = kb_with(
        empty_kb,
        {
            "wiki/claims/advice.md": page_text(
                "claim.advice",
                "claim",
                title="Delete the widget cache to fix it",
                extra=f"status: accepted\nsummary: Delete it.\n{WIDGET}"
                "requiredChecks: [run widget doctor]\nforbiddenActions: [keeping the cache]\n",
            ),
        },
    )
    result = brief(live, repo=str(widget_repo))
    context = result.agent_work_context()
    assert context["required_checks"] == [] and context["forbidden_actions"] == []
    markdown = render_brief(result)
    assert "**Forbidden:**" not in markdown and "**Required checks:**" not in markdown
    assert "The page claims, unverified, that these actions do harm: keeping the cache" in markdown
    assert "The page claims, unverified, that these checks matter: run widget doctor" in markdown


# --- rule 5: the budget keeps rules first, over the whole Markdown ------------------------------


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    """The starter knowledge with its real index (built once for this module)."""
    from experimentos.store import Workspace
    from experimentos.store.scaffold import init_workspace

    root = tmp_path_factory.mktemp("starter") / "kb"
    init_workspace(root)
    for top in ("wiki", "policies"):
        shutil.copytree(PROJECT / top, root / top, dirs_exist_ok=True)
    live = Live(Workspace(root), watch=False)
    yield live
    live.close()


@pytest.fixture
def drizzle(tmp_path):
    target = tmp_path / "drizzle-pin"
    shutil.copytree(PROJECT / "fixtures" / "drizzle-pin", target)
    return target


def test_budget_800_still_carries_the_keep_the_pin_rule(starter, drizzle):
    result = brief(starter, DRIZZLE_TASK, repo=str(drizzle), budget=800)
    rules = {r["id"]: r for r in result.agent_work_context()["decision_rules"]}
    assert PIN in rules and rules[PIN]["rule"]
    markdown = render_brief(result)
    assert f"### {PIN}" in section(markdown, "Decision rules")
    assert count_tokens(markdown) == result.token_estimate <= 800


def test_rules_before_domain_context_before_evidence_at_every_budget(starter, drizzle):
    snap = starter.snapshot()
    for budget in range(500, 2600, 150):
        result = brief(starter, DRIZZLE_TASK, repo=str(drizzle), budget=budget)
        markdown = render_brief(result)
        # The budget covers the whole Markdown: every section, "left out" and the contract.
        assert count_tokens(markdown) == result.token_estimate, budget
        assert result.token_estimate <= budget, budget
        chosen = [e for e in result.entries if e.role == "selected"]
        kinds = {e.boundary for e in chosen}
        if any(c.rule for c in result.cut):
            assert kinds <= {"decision_capable"}, budget  # no context while a rule is out
        cut_context = [
            c
            for c in result.cut
            if not c.rule and snap.pages[c.id].type.value in ("failure", "knowledge_card")
        ]
        if cut_context and snap.pages[cut_context[0].id].status.value == "accepted":
            assert "evidence_only" not in kinds, budget
        if result.cut:
            assert result.truncated
            for c in result.cut:
                if c.rule:
                    assert c.id in section(markdown, "Left out for the budget"), budget


def test_when_even_the_rules_do_not_fit_they_are_listed_by_id(empty_kb, widget_repo):
    pages = {
        f"policies/r{i}.md": rule_page(f"policy.r{i}", f"Widget rule number {i}") for i in range(6)
    }
    result = brief(kb_with(empty_kb, pages), repo=str(widget_repo), budget=250)
    assert result.truncated
    cut_rules = [c.id for c in result.cut if c.rule]
    assert cut_rules
    left_out = section(render_brief(result), "Left out for the budget")
    for page_id in cut_rules:
        assert page_id in left_out
    shown = {e.id for e in result.entries}
    assert shown | set(cut_rules) >= {f"policy.r{i}" for i in range(6)}


def test_a_brief_stays_within_its_budget_when_many_rules_are_left_out(empty_kb, widget_repo):
    pages = {
        f"policies/many-{i}.md": rule_page(f"policy.many-{i}", f"Widget rule number {i}")
        for i in range(80)
    }
    live = kb_with(empty_kb, pages)
    for budget in (500, 900):
        result = brief(live, repo=str(widget_repo), budget=budget)
        markdown = render_brief(result)
        assert count_tokens(markdown) == result.token_estimate <= budget
        cut = [c.id for c in result.cut if c.rule]
        shown = {e.id for e in result.entries}
        assert len(cut) + len(shown & set(pages_ids(pages))) == 80  # every rule: in, or listed
        assert "rules left out, by id" in markdown


def pages_ids(pages: dict[str, str]) -> list[str]:
    return [yaml.safe_load(text.split("---")[1])["id"] for text in pages.values()]


# --- rule 6: local facts are complete; the task text names libraries ----------------------------


def test_local_facts_list_every_direct_dependency_and_read_libraries_from_the_task(
    starter, drizzle
):
    result = brief(starter, DRIZZLE_TASK, repo=str(drizzle))  # no --library
    assert set(result.local_versions) == {"drizzle-kit", "drizzle-orm", "pg"}
    pg = result.local_versions["pg"]
    assert (pg.declared, pg.locked, pg.direct) == ("8.13.1", "8.13.1", True)
    assert result.named_libraries == ["drizzle-kit"]
    pin = next(e for e in result.entries if e.id == PIN)
    assert any("appliesTo.library drizzle-kit is a dependency here" in r for r in pin.reasons)
    facts = section(render_brief(result), "Local facts")
    assert "- pg 8.13.1 (npm, declared `8.13.1`; package-lock.json)\n" in facts
    assert "- drizzle-kit 0.30.4 (npm, declared `0.30.4`; package-lock.json) · named in" in facts


@pytest.mark.parametrize("via", ["task", "--library"])
def test_a_named_library_the_repo_does_not_declare_is_unknown_not_unused(empty_kb, tmp_path, via):
    repo = write_files(
        tmp_path / "clients",
        {
            "requirements.txt": "requests==2.32.3\n",
            "vendor/acme_sdk/__init__.py": "def fetch_items():\n    pass\n",
        },
    )
    live = kb_with(
        empty_kb,
        {
            "policies/acme.md": page_text(
                "policy.acme",
                "policy",
                title="Call the vendored acme-sdk shim by its local names",
                extra=f"status: accepted\nsummary: Read the shim.\n{REVIEW}"
                "appliesTo:\n  library: acme-sdk\n",
            ),
        },
    )
    task = "fix the failing acme-sdk client call" if via == "task" else "fix the client call"
    libraries = ["acme-sdk"] if via == "--library" else []
    result = brief(live, task, repo=str(repo), libraries=libraries)
    assert "policy.acme" not in {x.id for x in result.excluded}
    assert "policy.acme" in bounds(result)["decision_capable"]
    assert result.unknown_libraries == ["acme-sdk"]
    entry = next(e for e in result.entries if e.id == "policy.acme")
    assert any("acme-sdk is named in the request but not declared" in n for n in entry.notes)
    markdown = render_brief(result)
    assert "acme-sdk: named in the request but not declared by the root manifests" in markdown
    assert "- requests 2.32.3 (python, declared `==2.32.3`; requirements.txt)" in markdown


# --- rule 7: rules are never cut mid-sentence ---------------------------------------------------


def test_a_rule_is_its_whole_rule_section_or_its_whole_summary(starter, drizzle):
    text = (PROJECT / "policies" / "keep-drizzle-kit-pin-verify-locally.md").read_text("utf-8")
    rule_section = text.split("## Rule", 1)[1].split("\n## ", 1)[0].strip()
    summary = yaml.safe_load(text.split("---")[1])["summary"]
    seen = set()
    for budget in (700, 800, 1000, 1500, 2000, 4000):
        result = brief(starter, DRIZZLE_TASK, repo=str(drizzle), budget=budget)
        rules = {r["id"]: r["rule"] for r in result.agent_work_context()["decision_rules"]}
        if PIN in rules:
            assert rules[PIN] in (rule_section, summary), budget
            seen.add(rules[PIN])
            markdown = render_brief(result)
            if rules[PIN] == summary:
                assert summary in markdown
            else:  # the rule section is quoted, line by line: page text stays data
                quoted = "\n".join(
                    f"> {line}" if line else ">" for line in rule_section.split("\n")
                )
                assert quoted in markdown
        else:
            assert PIN in {c.id for c in result.cut}
    assert seen == {rule_section, summary}


# --- rule 8: a closure cut by --depth says so ---------------------------------------------------


def test_a_closure_stopped_by_depth_names_every_page_it_did_not_load(empty_kb, widget_repo):
    live = kb_with(
        empty_kb,
        {
            "policies/p.md": rule_page("policy.p", "Widget rule", "dependsOn: [failure.f]\n"),
            "wiki/failures/f.md": page_text(
                "failure.f",
                "failure",
                title="F",
                extra="status: accepted\ndependsOn: [knowledge.k, knowledge.j]\n",
            ),
            "wiki/knowledge/k.md": page_text("knowledge.k", "knowledge_card", title="K"),
            "wiki/knowledge/j.md": page_text("knowledge.j", "knowledge_card", title="J"),
        },
    )
    result = brief(live, repo=str(widget_repo), depth=1)
    ids = {e.id for e in result.entries}
    assert {"policy.p", "failure.f"} <= ids and not ids & {"knowledge.k", "knowledge.j"}
    assert {(n.id, n.required_by, n.depth) for n in result.not_loaded} == {
        ("knowledge.k", "failure.f", 1),
        ("knowledge.j", "failure.f", 1),
    }
    section_text = section(render_brief(result), "Not loaded")
    assert "knowledge.k (dependsOn of failure.f) was not loaded" in section_text
    assert not brief(live, repo=str(widget_repo), depth=2).not_loaded


# Rule 9 (the starter knowledge guards every fixture's trap) is tests/test_fixture_briefs.py.


# --- staleness as the doctor sees it (issue 15): through dependsOn, and gone sources ------------


def test_a_rule_resting_on_a_retired_page_is_stale_evidence_with_the_chain(empty_kb, widget_repo):
    live = kb_with(
        empty_kb,
        {
            "policies/pin.md": rule_page(
                "policy.pin", "Pin widgetlib", extra="dependsOn: [knowledge.widget-cache]\n"
            ),
            "wiki/knowledge/widget-cache.md": page_text(
                "knowledge.widget-cache",
                "knowledge_card",
                "Widget cache",
                extra="status: accepted\ndependsOn: [failure.old-cache]\n",
            ),
            "wiki/failures/old-cache.md": page_text(
                "failure.old-cache", "failure", "Old cache", extra="status: deprecated\n"
            ),
            "wiki/claims/from-gone.md": page_text(
                "claim.from-gone",
                "claim",
                "Widgets need v2",
                extra=f"status: accepted\n{WIDGET}derivedFrom: [source.gone-thread]\n",
            ),
        },
    )
    result = brief(live, repo=str(widget_repo), depth=3)
    assert "policy.pin" in bounds(result)["evidence_only"]
    warnings = {(w.id, w.reason) for w in result.stale_warnings}
    chain = "policy.pin -> knowledge.widget-cache -> failure.old-cache"
    assert (
        "policy.pin",
        f"depends on failure.old-cache, which is deprecated ({chain})",
    ) in warnings
    assert ("claim.from-gone", "its source source.gone-thread is gone") in warnings
