"""Issue 11 rule 9 for our fixtures: with the starter knowledge alone, the brief for each
fixture's task carries a decision rule against that fixture's trap."""

import shutil

import pytest

from experimentos.briefs.compiler import compile_brief
from experimentos.briefs.models import BriefRequest
from experimentos.knowledge.live import Live
from experimentos.matrix.fixtures import list_fixtures
from experimentos.store import Workspace

from .conftest import PROJECT

FIXTURES, PROBLEMS = list_fixtures(PROJECT)


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    """The starter knowledge as shipped (wiki/, policies/, the project's config), nothing else."""
    root = tmp_path_factory.mktemp("starter")
    for top in ("wiki", "policies"):
        shutil.copytree(PROJECT / top, root / top)
    shutil.copy(PROJECT / "experimentos.toml", root / "experimentos.toml")
    live = Live(Workspace(root), watch=False)
    yield live
    live.close()


def test_the_starter_knowledge_is_strictly_clean(cli):
    result = cli(PROJECT, "check", "--strict")
    assert result.exit_code == 0, result.stdout


@pytest.mark.parametrize("loaded", FIXTURES, ids=[f.name for f in FIXTURES])
def test_brief_carries_a_decision_rule_against_the_trap(starter, loaded):
    """`experimentos brief "<task>" --repo fixtures/<name>`: only the task and the repository."""
    fixture = loaded.fixture
    assert fixture.guarded_by, f"{fixture.name}: name the pages that guard its trap (guardedBy)"
    brief = compile_brief(starter, BriefRequest(task=fixture.task, repo=str(loaded.directory)))
    context = brief.agent_work_context()
    rules = {rule["id"]: rule for rule in context["decision_rules"]}
    guards = [page_id for page_id in fixture.guarded_by if page_id in rules]
    assert guards, (
        f"{fixture.name}: none of {fixture.guarded_by} is a decision rule of its brief "
        f"(rules: {sorted(rules)}; load order: {context['required_load_order']})"
    )
    stale = {warning["id"] for warning in context["stale_warnings"]}
    for page_id in guards:
        # A rule the agent can act on: its statement and what it forbids, from a fresh review.
        assert rules[page_id]["rule"].strip() and rules[page_id]["forbidden_actions"]
        assert page_id not in stale


def test_there_are_at_least_six_fixtures():
    assert PROBLEMS == []
    assert len(FIXTURES) >= 6
