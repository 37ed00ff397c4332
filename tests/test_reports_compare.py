"""`report compare A B` (the PR gate), `report summary`, and the MCP tool get_matrix_results."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mcp import Client
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.mcp.server import build_server
from experimentos.reports.compare import compare_matrices, parse_ref
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import git
from .report_helpers import EXP, write_hand_matrix


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The hand matrix committed in a git repository."""
    root = tmp_path / "kb"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    init_workspace(root)
    write_hand_matrix(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hand matrix")
    return root


def cli(root: Path, *args: str):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def break_the_brief(root: Path) -> None:
    """Every brief run's oracle now fails: clean pass with the brief drops from 13/20 to 0/20."""
    for path in sorted((root / "experiments" / EXP / "runs").glob("run.*.brief.*.md")):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("exitCode: 0", "exitCode: 1"), encoding="utf-8")


def test_parse_ref():
    assert parse_ref("m") == ("m", None)
    assert parse_ref("exp/m@HEAD~1") == ("exp/m", "HEAD~1")
    for bad in ("", "m@", "@HEAD"):
        with pytest.raises(Exception, match="matrix"):
            parse_ref(bad)


def test_the_same_records_at_two_revisions_show_no_regression(repo: Path):
    result = cli(repo, "report", "compare", f"{EXP}@HEAD", EXP)
    assert result.exit_code == 0, result.output
    assert f"No significant regression of `{EXP}` against `{EXP}@HEAD`" in result.output


def test_a_significant_drop_is_a_regression_and_exits_1(repo: Path):
    break_the_brief(repo)
    result = cli(repo, "report", "compare", f"{EXP}@HEAD", EXP)
    assert result.exit_code == 1, result.output
    assert "significant regression(s)" in result.output
    comparison = compare_matrices(repo, f"{EXP}@HEAD", EXP)
    flagged = {(r.fixture, r.condition, r.agent, r.delta.metric) for r in comparison.regressions}
    # brief, all agents, clean pass: 13 discordant pairs all against B: p = 2/2^13 = 0.000244.
    # Holm over 28 rows (2 conditions x (1 + 2 agents + 4 fixture x agent cells) x 2 metrics):
    # the smallest p is pass (14 discordant pairs: 2/2^14) times 28; clean pass comes second,
    # times 27: 27 x 2/2^13 = 0.0066 <= 0.05.
    assert (None, "brief", None, "clean_pass") in flagged
    row = next(r for r in comparison.rows if (r.fixture, r.condition, r.agent) == (
        None, "brief", None) and r.delta.metric == "clean_pass")  # fmt: skip
    assert row.delta.p_value == 2 / 2**13
    assert row.delta.p_adjusted == pytest.approx(27 * 2 / 2**13)
    assert row.delta.delta == pytest.approx(-13 / 20)
    # The none condition did not change: never flagged.
    assert all(r.condition == "brief" for r in comparison.regressions)
    assert "**regression** — significant (worse)" in result.output
    data = json.loads(cli(repo, "report", "compare", f"{EXP}@HEAD", EXP, "--json").stdout)
    assert data["regressions"] == len(comparison.regressions) and data["a"]["rev"] == "HEAD"


def test_summary_for_a_pull_request_comment(repo: Path):
    result = cli(repo, "report", "summary")
    assert result.exit_code == 0
    assert result.output.startswith("## Matrix reports\n")
    assert "clean pass: +0.40 [+0.10, +0.61] over 20 pairs, p = 0.021" in result.output
    break_the_brief(repo)
    result = cli(repo, "report", "summary", "--base", "HEAD")
    assert result.exit_code == 0  # summary reports; `compare` is the gate
    assert "**A significant regression** against the base" in result.output
    assert "- regression: all fixtures · `brief` · all agents, clean pass: −0.65" in result.output
    data = json.loads(cli(repo, "report", "summary", "--base", "HEAD", "--json").stdout)
    assert data["regression"] is True and data["base"] == "HEAD"


def test_a_matrix_new_since_the_base_compares_to_nothing(repo: Path):
    """A pull request that adds a matrix: at the base it has no runs; nothing regresses."""
    git(repo, "rm", "-r", "-q", "--cached", f"experiments/{EXP}")
    git(repo, "commit", "-q", "-m", "the base had no such matrix")  # the files stay on disk
    result = cli(repo, "report", "compare", f"{EXP}@HEAD", EXP)
    assert result.exit_code == 0, result.output
    assert "no runs (the matrix is new on the other side)" in result.output
    assert "only in B: `f1/none/a1`" in result.output


def test_bad_references_are_bad_input(repo: Path):
    assert "no runs of matrix 'nope'" in cli(repo, "report", "compare", "nope", EXP).output
    result = cli(repo, "report", "compare", f"{EXP}@no-such-rev", EXP)
    assert result.exit_code == 2 and "no git revision 'no-such-rev'" in result.output
    assert cli(repo, "report", "summary", "--base", "no-such-rev").exit_code == 2


def test_get_matrix_results_through_the_in_memory_client(repo: Path):
    server = build_server(Workspace(repo), read_only=True)

    async def call() -> tuple:
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            good = await client.call_tool("get_matrix_results", {"matrix": EXP})
            bad = await client.call_tool("get_matrix_results", {"matrix": "nope"})
            return tools["get_matrix_results"], good, bad

    tool, good, bad = asyncio.run(call())
    assert tool.annotations.read_only_hint is True
    assert not good.is_error
    answer = good.structured_content
    assert (answer["matrix"], answer["runs_counted"], answer["baseline"]) == (EXP, 40, "none")
    brief = next(g for g in answer["groups"] if g["condition"] == "brief" and g["agent"] is None)
    assert (brief["clean_pass"]["k"], brief["clean_pass"]["n"]) == (13, 20)
    assert brief["pass"]["k"] == 14
    delta = next(d for d in answer["deltas"] if d["metric"] == "clean_pass" and not d["agent"])
    assert delta["p_value"] == 0.021484375 and delta["significant"] is True
    pass_delta = next(d for d in answer["deltas"] if d["metric"] == "pass" and not d["agent"])
    assert pass_delta["underpowered"] is True and pass_delta["repeats_needed"] == 275
    assert len(json.dumps(answer)) < 20_000  # a small answer, not the report
    assert bad.is_error and "no runs of matrix 'nope'" in bad.content[0].text
