"""The promotion gate on synthetic matrices: a real effect is promoted (as a proposal), a null
and an underpowered one are refused with their numbers, an override records the person's
decision, and nothing reaches the user's branch or working tree."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from experimentos.knowledge.check import check
from experimentos.lifecycle.promote import compute_gate, promote
from experimentos.lifecycle.promote.proposal import OVERRIDE_HEADING, without_override
from experimentos.reports.analysis import paired_delta
from experimentos.reports.build import results_for
from experimentos.reports.load import find_matrix
from experimentos.reports.sources import Source
from experimentos.stats import mcnemar_exact
from experimentos.store import Workspace, parse_document

from .conftest import git, page_text, write_files
from .promote_helpers import ABLATION, PAGE, head, make_kb, strong_effect, write_matrix
from .proposal_helpers import branches
from .proposal_helpers import snapshot as full_snapshot

TODAY = dt.date(2026, 4, 1)


def ablation_matrix(ws: Workspace, commit: str, name: str = "ablate", n: int = 10) -> None:
    """none, brief, brief-without:policy.keep-pins on f1 and f2 x one agent x n repeats; without
    the brief (none) the agent always bumps the pin."""
    blocks = {
        (fixture, "a1"): ["P" + pair[1] + pair[0] for pair in strong_effect(n)]
        for fixture in ("f1", "f2")
    }
    write_matrix(ws, name, ["none", "brief", ABLATION], blocks, commit)


@pytest.fixture
def effect(tmp_path: Path) -> Workspace:
    ws, commit = make_kb(tmp_path / "repo")
    ablation_matrix(ws, commit)
    return ws


def snapshot(top: Path) -> dict:
    """The user's repository state, without .experimentos/ (git-ignored derived data: the
    report rows are cached there, as `report build` caches them)."""
    found = full_snapshot(top)
    found["files"] = {k: v for k, v in found["files"].items() if not k.startswith(".experimentos")}
    return found


def on_branch(top: Path, branch: str, rel: str):
    raw = subprocess.run(
        ["git", "show", f"{branch}:{rel}"], cwd=top, check=True, capture_output=True
    ).stdout
    return parse_document(raw, rel).page


def check_branch(top: Path, branch: str, where: Path):
    git(top, "worktree", "add", "-q", "--detach", str(where), branch)
    try:
        return check(Workspace(where))
    finally:
        git(top, "worktree", "remove", "--force", str(where))


# --- the gate -----------------------------------------------------------------------------------


def test_a_real_effect_passes_with_the_reports_own_numbers(effect: Workspace):
    gate = compute_gate(effect, PAGE, "ablate")
    assert gate.passed, gate.reasons
    assert gate.basis == "ablation"
    assert (gate.baseline, gate.treatment) == (ABLATION, "brief")
    d = gate.primary
    # 20 pairs: in 16 the page turns a bumped pin into a clean pass, never the other way.
    assert d.pairs == 20 and d.binary.only_treatment == 16 and d.binary.only_baseline == 0
    assert d.delta == pytest.approx(0.8)
    assert d.p_value == mcnemar_exact(0, 16) == pytest.approx(2 / 2**16)
    # The report's attribution of the same page, turned around: the very same numbers.
    report = results_for(effect.root, "ablate")
    attribution = next(
        a.delta for a in report.attributions if a.page == PAGE and a.delta.metric == "clean_pass"
    )
    assert attribution.delta == pytest.approx(-d.delta)
    assert (attribution.result.low, attribution.result.high) == pytest.approx((-d.result.high, -d.result.low))
    # Three conditions: Holm over the report's family, exactly as the report adjusted it.
    assert report.holm and d.p_adjusted == attribution.p_adjusted
    # The runs behind it: both runs of every pair.
    assert len(gate.runs) == 40 and all(r.startswith("run.ablate.") for r in gate.runs)
    # The other outcomes: pass, the four rules, and pass/clean pass per fixture (Holm).
    assert {(c.metric, c.fixture) for c in gate.checks} == {
        ("pass", None),
        ("pin_changed", None),
        ("protected_edit", None),
        ("out_of_scope", None),
        ("forbidden_command", None),
        ("pass", "f1"),
        ("clean_pass", "f1"),
        ("pass", "f2"),
        ("clean_pass", "f2"),
    }
    assert gate.regressions == []
    assert {c.metric for c in gate.costs} == {
        "churn",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "wall_s",
    }


def test_promote_proposes_the_accepted_page_and_leaves_the_tree_alone(effect, tmp_path):
    top = effect.root
    before = snapshot(top)
    result = promote(effect, PAGE, "ablate", reviewer="Ada Lovelace", today=TODAY)
    assert snapshot(top) == before  # HEAD, index, config, main and every file unchanged
    assert result.promoted and result.proposal is not None
    assert branches(top) == ["xos/promote/policy.keep-pins"]
    page = on_branch(top, result.proposal.name, "policies/keep-pins.md")
    assert page.status.value == "accepted"
    review = page.review
    assert review.reviewer == "Ada Lovelace" and review.reviewed_at == TODAY
    assert review.evidence[0] == "experiment.ablate" and len(review.evidence) == 41
    assert review.rationale.startswith("Promotion gate passed on matrix ablate/ablate")
    assert "clean pass +0.80 [" in review.rationale and "20 pairs" in review.rationale
    gate = review.gate
    assert gate.passed and gate.override is None
    assert (gate.matrix, gate.metric, gate.basis) == ("ablate/ablate", "clean_pass", "ablation")
    assert (gate.baseline, gate.treatment, gate.pairs) == (ABLATION, "brief", 20)
    assert gate.delta == 0.8 and gate.low > 0 and gate.p_value == pytest.approx(3.052e-05)
    assert page.body == Workspace(top).read(PAGE).page.body  # the body is the author's
    # The review rules `check` enforces hold on the proposed tree: no error at all.
    report = check_branch(top, result.proposal.name, tmp_path / "wt")
    assert report.errors == []
    assert page.decision_capable and review.rationale.strip() and review.evidence


def test_the_reviewer_defaults_to_the_git_identity(effect):
    git(effect.root, "config", "user.name", "Repo Owner")
    result = promote(effect, PAGE, "ablate", dry_run=True, today=TODAY)
    assert result.reviewer == "Repo Owner"
    assert "reviewer: Repo Owner" in result.page_text
    assert branches(effect.root) == []  # a dry run proposes nothing


def test_a_null_effect_is_refused_with_its_numbers(tmp_path, cli):
    ws, commit = make_kb(tmp_path / "repo")
    # The page changes nothing: in 2 blocks it helps, in 2 it hurts, elsewhere the same.
    runs = ["PP"] * 6 + ["PC", "CP", "CC", "CC"] + ["CP", "PC"] + ["CC"] * 8
    write_matrix(ws, "null", [ABLATION, "brief"], {("f1", "a1"): runs}, commit)
    before = snapshot(ws.root)
    result = cli(ws.root, "promote", PAGE, "--matrix", "null")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "gate did not pass" in out
    assert "clean pass 0.00 [−0.20, +0.20] over 20 pairs, p = 1.000" in out
    assert "observed delta is 0: no number of repeats detects it" in out
    assert "nothing proposed" in out
    assert branches(ws.root) == [] and snapshot(ws.root) == before


def test_an_underpowered_effect_is_refused_naming_the_repeats_needed(tmp_path, cli):
    ws, commit = make_kb(tmp_path / "repo")
    # 2 fixtures x 2 repeats: the page helps in 3 of 4 pairs, hurts in none. McNemar exact
    # p = 2 x 0.5^3 = 0.25. Connor 1987 with psi = 3/4, delta = 3/4:
    # (1.95996 x 0.86603 + 0.84162 x sqrt(0.75 - 0.5625))^2 / 0.5625 = 7.56 -> 8 pairs; the
    # exact test needs 6 discordant pairs, 6 / 0.75 = 8 too; 2 pairs a repeat -> 4 repeats.
    blocks = {("f1", "a1"): ["PC", "PC"], ("f2", "a1"): ["PC", "CC"]}
    write_matrix(ws, "small", [ABLATION, "brief"], blocks, commit)
    result = cli(ws.root, "promote", PAGE, "--matrix", "small")
    assert result.exit_code == 1, result.output
    assert "underpowered: clean pass +0.75 [" in result.stdout
    assert "about 4 repeats needed (8 pairs at 80% power)" in result.stdout
    assert "repeats needed: about 4" in result.stdout
    data = json.loads(cli(ws.root, "promote", PAGE, "--matrix", "small", "--json").stdout)
    assert data["promoted"] is False and data["gate"]["repeats_needed"] == 4
    assert data["gate"]["primary"]["binary"]["p_value"] == 0.25
    assert branches(ws.root) == []
