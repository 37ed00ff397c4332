"""The promotion gate on synthetic matrices: a real effect is promoted (as a proposal), a null
and an underpowered one are refused with their numbers, a regression elsewhere blocks it, and
the comparison that speaks for a page (ablation, guardedBy, appliesTo) is the right one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from experimentos.promote import compute_gate, promote
from experimentos.reports.analysis import paired_delta
from experimentos.reports.build import results_for
from experimentos.reports.load import find_matrix
from experimentos.reports.sources import Source
from experimentos.stats import mcnemar_exact
from experimentos.store import Workspace

from .conftest import git, page_text, write_files
from .promote_helpers import (
    ABLATION,
    KEEP_PINS,
    PAGE,
    ablation_matrix,
    check_branch,
    effect_kb,
    head,
    make_kb,
    on_branch,
    snapshot,
    strong_effect,
    write_matrix,
)
from .proposal_helpers import branches

TODAY = dt.date(2026, 4, 1)


@pytest.fixture
def effect(tmp_path: Path) -> Workspace:
    return effect_kb(tmp_path)


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
    assert (attribution.result.low, attribution.result.high) == pytest.approx(
        (-d.result.high, -d.result.low)
    )
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


def test_a_significant_regression_elsewhere_blocks_the_gate(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    # With the page the oracle passes in all 16 pairs (without it: never), but by editing a
    # protected test file every time: pass improves, protected_edit regresses, clean pass
    # stays 0 on both sides.
    write_matrix(ws, "edits", [ABLATION, "brief"], {("f1", "a1"): ["FP"] * 16}, commit,
                 rule="protected_edit")  # fmt: skip
    gate = compute_gate(ws, PAGE, "edits", metric="pass")
    assert gate.primary.significant and gate.primary.delta == 1.0  # the metric itself improves
    assert not gate.passed
    (bad,) = gate.regressions
    assert bad.metric == "protected_edit" and bad.delta == 1.0
    # Holm over the five other outcomes: 5 x 2^-15 (the rest have p = 1).
    assert bad.p_adjusted == pytest.approx(5 * 2 / 2**16)
    # Newcombe's interval: Wilson 16/16 low = 16/(16 + z^2) = 0.806, Wilson 0/16 high = 0.194,
    # phi = 0 (an empty margin): low = 1 - sqrt(0.194^2 + 0.194^2) = 0.726.
    assert gate.reasons == [
        "significant regression with the page: protected edit +1.00 [+0.73, +1.00] over 16 "
        "pairs, p < 0.001, Holm < 0.001"
    ]


def test_brief_vs_none_on_the_fixtures_the_page_applies_to(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    # f1 uses lib (the page's appliesTo.library), f2 does not. On f1 the brief fixes the bump;
    # on f2 both conditions fail the oracle.
    blocks = {("f1", "a1"): [pair for pair in strong_effect(10)], ("f2", "a1"): ["FF"] * 10}
    write_matrix(ws, "headline", ["none", "brief"], blocks, commit)
    gate = compute_gate(ws, PAGE, "headline")
    assert gate.basis == "appliesTo" and gate.fixtures == ["f1"]
    assert gate.fixture_notes == {
        "f1": "appliesTo library matches",
        "f2": "left out: library: lib is not used by this repository",
    }
    rows = find_matrix(Source(ws.root), "headline").rows
    alone = paired_delta(rows, "clean_pass", "none", "brief", fixtures=["f1"])
    assert gate.primary.result == alone.result  # two conditions: no Holm step
    assert gate.passed and gate.served == "yes" and len(gate.runs) == 20
    everywhere = paired_delta(rows, "clean_pass", "none", "brief")
    assert everywhere.pairs == 20 and gate.primary.pairs == 10


def test_a_fixtures_guarded_by_wins_over_applies_to(tmp_path):
    fixtures = {"f1": (["lib"], []), "f2": (["other"], [PAGE])}
    ws, commit = make_kb(tmp_path / "repo", fixtures=fixtures)
    blocks = {("f1", "a1"): strong_effect(10), ("f2", "a1"): ["FF"] * 10}
    write_matrix(ws, "guarded", ["none", "brief"], blocks, commit)
    gate = compute_gate(ws, PAGE, "guarded")
    assert gate.basis == "guardedBy" and gate.fixtures == ["f2"]
    assert gate.fixture_notes["f1"] == "left out: its guardedBy does not name the page"
    assert not gate.passed
    assert gate.reasons == [
        "underpowered: clean pass on fixture f2 0.00 [\u22120.28, +0.28] over 10 pairs, p = 1.000; "
        "no discordant pairs: the conditions never disagreed"
    ]


def test_brief_vs_none_does_not_speak_for_a_page_the_runs_were_not_served(tmp_path):
    ws, before = make_kb(tmp_path / "repo", keep_pins=False)
    blocks = {("f1", "a1"): strong_effect(10)}
    write_matrix(ws, "older", ["none", "brief"], blocks, before)
    write_files(ws.root, {"policies/keep-pins.md": KEEP_PINS})
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "the page, written after the matrix ran")
    gate = compute_gate(ws, PAGE, "older")
    assert gate.served == "no" and not gate.passed
    assert gate.reasons == [
        "the page was not in the knowledge the `brief` runs were served (policies/keep-pins.md "
        f"is absent at {before[:12]}): `brief` vs `none` says nothing about it"
    ]
    assert gate.primary.significant  # the brief helped; the page cannot take the credit


def test_an_uncommitted_knowledge_snapshot_is_a_note_not_a_refusal(tmp_path):
    ws, before = make_kb(tmp_path / "repo", keep_pins=False)
    write_matrix(ws, "dirty", ["none", "brief"], {("f1", "a1"): strong_effect(10)}, before,
                 dirty=True)  # fmt: skip
    write_files(ws.root, {"policies/keep-pins.md": KEEP_PINS})
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "the page")
    gate = compute_gate(ws, PAGE, "dirty")
    assert gate.served == "unknown" and gate.passed
    assert "uncommitted (dirty) working tree" in gate.notes[0]


def test_the_page_changed_since_the_runs_is_noted(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    write_matrix(ws, "changed", ["none", "brief"], {("f1", "a1"): strong_effect(10)}, commit)
    with (ws.root / "policies/keep-pins.md").open("a", encoding="utf-8") as handle:
        handle.write("\nA later edit.\n")
    gate = compute_gate(ws, PAGE, "changed")
    assert gate.passed and gate.served == "yes"
    assert gate.notes[0].startswith("the page changed since the runs were made")


def test_a_matrix_without_a_comparison_for_the_page(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    write_matrix(ws, "briefonly", ["brief"], {("f1", "a1"): ["C"] * 4}, commit)
    gate = compute_gate(ws, PAGE, "briefonly")
    assert not gate.passed and gate.primary is None and gate.basis is None
    assert gate.reasons == [
        f"the matrix has no `{ABLATION}` ablation and no `brief` vs `none` comparison (its "
        "conditions: brief)"
    ]


def test_brief_vs_none_with_three_conditions_uses_the_reports_holm_family(tmp_path):
    general = page_text("policy.general", "policy", "General", body="## Rule\n")
    ws, commit = make_kb(tmp_path / "repo", pages={"policies/general.md": general})
    ablation_matrix(ws, commit)
    gate = compute_gate(ws, "policy.general", "ablate")
    # No appliesTo: the page applies to every fixture, so its gate is the report's headline.
    assert gate.basis == "appliesTo" and gate.fixtures == ["f1", "f2"]
    assert set(gate.fixture_notes.values()) == {
        "the page's appliesTo is empty: it applies to every fixture"
    }
    report = results_for(ws.root, "ablate")
    headline = next(
        d
        for d in report.deltas
        if (d.baseline, d.treatment, d.metric, d.agent) == ("none", "brief", "clean_pass", None)
    )
    assert gate.primary.result == headline.result  # p_adjusted included
    assert headline.p_adjusted is not None and headline.p_adjusted > headline.p_value


def test_a_page_no_fixture_is_for(tmp_path):
    elsewhere = page_text(
        "policy.elsewhere", "policy", "Elsewhere", extra="appliesTo:\n  library: zzz\n"
    )
    ws, commit = make_kb(tmp_path / "repo", pages={"policies/elsewhere.md": elsewhere})
    write_matrix(ws, "headline", ["none", "brief"], {("f1", "a1"): strong_effect(10)}, commit)
    gate = compute_gate(ws, "policy.elsewhere", "headline")
    assert not gate.passed and gate.primary is None and gate.fixtures == []
    assert gate.fixture_notes == {"f1": "left out: library: zzz is not used by this repository"}
    assert gate.reasons == [
        "no fixture of the matrix names the page in guardedBy or matches its appliesTo, and the "
        "matrix has no ablation of it"
    ]


def test_applies_to_reads_the_fixtures_manifests(tmp_path):
    """f3 declares no libraries in fixture.yaml; its package.json depends on lib."""
    fixtures = {"f2": (["other"], []), "f3": ([], [])}
    ws, _ = make_kb(tmp_path / "repo", fixtures=fixtures)
    write_files(ws.root, {"fixtures/f3/package.json": '{"dependencies": {"lib": "1.2.3"}}\n'})
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "f3 depends on lib")
    blocks = {("f2", "a1"): ["FF"] * 10, ("f3", "a1"): strong_effect(10)}
    write_matrix(ws, "manifests", ["none", "brief"], blocks, head(ws.root))
    gate = compute_gate(ws, PAGE, "manifests")
    assert gate.fixtures == ["f3"] and gate.fixture_notes["f3"] == "appliesTo library matches"
    assert gate.passed
