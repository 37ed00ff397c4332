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

from .conftest import git, page_text
from .promote_helpers import (
    ABLATION,
    PAGE,
    check_branch,
    effect_kb,
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
    # The other outcomes: pass, the five rules, and pass/clean pass per fixture (Holm).
    assert {(c.metric, c.fixture) for c in gate.checks} == {
        ("pass", None),
        ("pin_changed", None),
        ("protected_edit", None),
        ("out_of_scope", None),
        ("forbidden_command", None),
        ("content_lost", None),
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
    # Holm over the six other outcomes (clean pass and five rules): 6 x 2^-15 (the rest: p = 1).
    assert bad.p_adjusted == pytest.approx(6 * 2 / 2**16)
    # Newcombe's interval: Wilson 16/16 low = 16/(16 + z^2) = 0.806, Wilson 0/16 high = 0.194,
    # phi = 0 (an empty margin): low = 1 - sqrt(0.194^2 + 0.194^2) = 0.726.
    assert gate.reasons == [
        "significant regression with the page: protected edit +1.00 [+0.73, +1.00] over 16 "
        "pairs, p < 0.001, Holm < 0.001"
    ]


def test_a_page_the_matrix_never_ablated_is_refused_with_the_condition_to_add(tmp_path, cli):
    """`brief` vs `none` measures the whole brief: an audit saw it credited (+0.72, 80 runs as
    evidence) to a page served in 0 of 120 runs, and to a page with an empty appliesTo. Only
    the page's ablation speaks for it; without one the gate refuses and says what to add."""
    general = page_text("policy.general", "policy", "General", body="## Rule\n")
    fixtures = {"f1": (["lib"], [PAGE]), "f2": (["other"], [])}
    ws, commit = make_kb(tmp_path / "repo", fixtures=fixtures,
                         pages={"policies/general.md": general})  # fmt: skip
    blocks = {("f1", "a1"): strong_effect(10), ("f2", "a1"): strong_effect(10)}
    write_matrix(ws, "headline", ["none", "brief"], blocks, commit)
    rows = find_matrix(Source(ws.root), "headline").rows
    assert paired_delta(rows, "clean_pass", "none", "brief").significant  # the brief helps
    for page in (PAGE, "policy.general"):  # guarded by f1 / no appliesTo at all
        gate = compute_gate(ws, page, "headline")
        assert not gate.passed and gate.basis is None and gate.primary is None
        [reason] = gate.reasons
        assert reason.startswith(f"the matrix never tested {page}: it has no counted runs of ")
        assert f"add the condition `brief-without:{page}` (with `brief`)" in reason
        assert "experiments/headline/matrix.yaml" in reason
    result = cli(ws.root, "promote", PAGE, "--matrix", "headline")
    assert result.exit_code == 1 and "add the condition `brief-without:policy.keep-pins`" in (
        result.stdout
    )
    assert branches(ws.root) == []


def test_only_blocks_whose_brief_run_was_served_the_page_count(tmp_path):
    """The server's log says which pages each brief served: the effect is computed on the
    blocks whose `brief` run was served the page, against the ablation's runs of those blocks."""
    ws, commit = make_kb(tmp_path / "repo")
    # In repeats 1-4 the brief served only another page: the page cannot have helped there.
    unserved = {("f1", "a1", r): ["policy.read-the-test"] for r in (1, 2, 3, 4)}
    write_matrix(ws, "partly", [ABLATION, "brief"], {("f1", "a1"): strong_effect(20)}, commit,
                 served=unserved)  # fmt: skip
    gate = compute_gate(ws, PAGE, "partly")
    assert (gate.served, gate.served_runs, gate.brief_runs) == ("yes", 16, 20)
    assert gate.primary.pairs == 16 and len(gate.runs) == 32
    assert not any(run.endswith(f".r{r}") for run in gate.runs for r in (1, 2, 3, 4))
    rows = find_matrix(Source(ws.root), "partly").rows
    by_hand = paired_delta([r for r in rows if r.repeat > 4], "clean_pass", ABLATION, "brief")
    assert gate.primary.result == by_hand.result
    assert "served in 16 of 20 `brief` runs" in gate.notes[0]
    report = results_for(ws.root, "partly")
    attribution = next(a for a in report.attributions if a.delta.metric == "clean_pass")
    assert attribution.delta.pairs == 16 and attribution.delta.delta == pytest.approx(
        -by_hand.delta
    )


def test_a_page_no_brief_served_is_refused(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    never = {("f1", "a1", r): ["policy.read-the-test"] for r in range(1, 11)}
    write_matrix(ws, "never", [ABLATION, "brief"], {("f1", "a1"): strong_effect(10)}, commit,
                 served=never)  # fmt: skip
    gate = compute_gate(ws, PAGE, "never")
    assert gate.served == "no" and not gate.passed and gate.primary.pairs == 0
    assert gate.reasons[0] == (
        f"the MCP server's log shows {PAGE} served in none of the 10 `brief` runs (no brief "
        "carried it, no run read it): the ablation says nothing about it"
    )


def test_scripted_runs_are_a_harness_check_the_gate_refuses(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    write_matrix(ws, "scripted", [ABLATION, "brief"], {("f1", "a1"): strong_effect(10)}, commit,
                 decisions="script")  # fmt: skip
    gate = compute_gate(ws, PAGE, "scripted")
    assert not gate.passed and gate.primary.harness_check and not gate.primary.significant
    assert gate.reasons[0].startswith(
        "a harness check, not evidence: a script made the decisions of 20 of the 20 compared runs"
    )
    # The flag is for tests of the gate itself: scripted runs judged as a model's.
    assert compute_gate(ws, PAGE, "scripted", allow_scripted=True).passed
    write_matrix(ws, "older", [ABLATION, "brief"], {("f1", "a1"): strong_effect(10)}, commit,
                 decisions=None)  # fmt: skip
    older = compute_gate(ws, PAGE, "older")
    assert not older.passed and "do not record whether a model or a script" in older.reasons[0]


def test_the_page_changed_since_the_runs_is_noted(tmp_path):
    ws, commit = make_kb(tmp_path / "repo")
    write_matrix(ws, "changed", [ABLATION, "brief"], {("f1", "a1"): strong_effect(10)}, commit)
    with (ws.root / "policies/keep-pins.md").open("a", encoding="utf-8") as handle:
        handle.write("\nA later edit.\n")
    gate = compute_gate(ws, PAGE, "changed")
    assert gate.passed and gate.served == "yes"
    assert gate.notes[0].startswith("the page changed since the runs were made")


def test_the_gate_adjusts_over_the_holm_family_the_report_prints(effect):
    gate = compute_gate(effect, PAGE, "ablate")
    report = results_for(effect.root, "ablate")
    assert (
        gate.holm_family
        == report.holm_family
        == [
            "`brief` − `none`",
            f"`{ABLATION}` − `none`",
            f"`{ABLATION}` − `brief` (where `brief` served {PAGE})",
        ]
    )
    from experimentos.reports.render import render_report

    head = render_report(report).split("## Outcomes")[0]
    assert ", ".join(gate.holm_family) in head
    attribution = next(
        a.delta for a in report.attributions if a.page == PAGE and a.delta.metric == "clean_pass"
    )
    assert gate.primary.p_adjusted == attribution.p_adjusted
