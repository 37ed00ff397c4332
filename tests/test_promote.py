"""The promotion gate on synthetic matrices: a real effect is promoted (as a proposal), a null
and an underpowered one are refused with their numbers, an override records the person's
decision, and nothing reaches the user's branch or working tree."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from experimentos.errors import UsageError
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
from .promote_helpers import (
    ABLATION,
    KEEP_PINS,
    PAGE,
    head,
    make_kb,
    strong_effect,
    write_matrix,
)
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


# --- the override -------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Workspace:
    ws, commit = make_kb(tmp_path / "repo")
    blocks = {("f1", "a1"): ["PC", "PC"], ("f2", "a1"): ["PC", "CC"]}
    write_matrix(ws, "small", [ABLATION, "brief"], blocks, commit)
    return ws


def test_an_override_records_the_persons_decision_in_the_page(small, cli, tmp_path):
    top = small.root
    before = snapshot(top)
    why = "The maintainers ask for it; the next matrix runs 8 repeats."
    result = cli(
        top,
        "promote",
        PAGE,
        "--matrix",
        "small",
        "--override",
        "--rationale",
        why,
        "--reviewer",
        "Ada Lovelace",
    )
    assert result.exit_code == 0, result.output
    assert "override by Ada Lovelace" in result.stdout
    assert snapshot(top) == before
    (branch,) = branches(top)
    page = on_branch(top, branch, "policies/keep-pins.md")
    assert page.status.value == "accepted"
    gate = page.review.gate
    assert gate.passed is False and gate.override == why
    assert gate.pairs == 4 and gate.delta == 0.75 and gate.p_value == 0.25
    assert gate.repeats_needed == 4
    assert page.review.reviewer == "Ada Lovelace"
    assert page.review.rationale.startswith(
        "Accepted by override: the promotion gate did not pass on matrix small/small "
        "(underpowered: clean pass +0.75 ["
    )
    assert page.review.rationale.endswith(why)
    # Visible in the page body too, after the author's text.
    assert page.body.startswith("## Rule\n\nKeep the pin of `lib`; fix the code instead.\n\n")
    section = page.body[page.body.index(OVERRIDE_HEADING) :]
    assert "did **not** pass" in section and "about 4 repeats needed" in section
    assert f"Accepted anyway by Ada Lovelace on {dt.date.today().isoformat()}: {why}" in section
    assert check_branch(top, branch, tmp_path / "wt").errors == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--override", "--reviewer", "Ada"], "--override needs --rationale"),
        (["--override", "--rationale", "because"], "name the reviewer with --reviewer"),
    ],
)
def test_an_override_needs_a_rationale_and_a_named_reviewer(small, cli, args, message):
    result = cli(small.root, "promote", PAGE, "--matrix", "small", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert branches(small.root) == []


def test_an_override_of_a_passing_gate_is_not_recorded(effect):
    result = promote(
        effect, PAGE, "ablate", override=True, rationale="x", reviewer="Ada", dry_run=True
    )
    assert result.promoted and not result.override
    assert result.notes == ["the gate passed: no override is recorded"]
    assert OVERRIDE_HEADING not in result.page_text and "override:" not in result.page_text


def test_a_new_review_replaces_an_old_override_section():
    body = "## Rule\n\nKeep it.\n\n## Promotion override\n\nold words\n\n## Limits\n\nNone.\n"
    assert without_override(body) == "## Rule\n\nKeep it.\n\n## Limits\n\nNone.\n"
    assert without_override("## Rule\n\nKeep it.\n\n") == "## Rule\n\nKeep it.\n\n"


# --- the trust rules still hold -------------------------------------------------------------------


def test_a_hand_set_accepted_status_without_a_review_is_caught_by_check(effect):
    path = effect.root / "policies/keep-pins.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "type: policy\n", "type: policy\nstatus: accepted\n"
        ),
        encoding="utf-8",
    )
    problems = [(p.code, p.field) for p in check(effect).errors]
    assert ("review-missing", "review") in problems


def test_a_failed_gate_without_an_override_does_not_parse(effect):
    path = effect.root / "policies/keep-pins.md"
    review = (
        "status: accepted\nreview:\n  reviewer: Mallory\n  reviewedAt: 2026-04-01\n"
        "  rationale: Trust me.\n  evidence: [experiment.ablate]\n"
        "  gate: {matrix: ablate/ablate, metric: clean_pass, passed: false}\n"
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace("type: policy\n", f"type: policy\n{review}"),
        encoding="utf-8",
    )
    (problem,) = check(effect).errors
    assert problem.code == "schema" and "only with an override rationale" in problem.message


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([PAGE, "--matrix", "nope"], "no runs of matrix 'nope'"),
        (["policy.unknown", "--matrix", "ablate"], "policy.unknown"),
        (["failure.blind-upgrade", "--matrix", "ablate"], "only policy and intervention"),
        ([PAGE, "--matrix", "ablate", "--metric", "churn"], "pass/fail metric"),
        ([PAGE, "--matrix", "ablate", "--metric", "bogus"], "pass/fail metric"),
        ([PAGE, "--matrix", "ablate", "--expires", "soon"], "not a date"),
        (["../etc/passwd", "--matrix", "ablate"], "unknown prefix"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(effect, cli, args, message):
    result = cli(effect.root, "promote", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert branches(effect.root) == []


def test_a_promotion_over_an_expired_review_needs_a_new_expiry(effect):
    path = effect.root / "policies/keep-pins.md"
    text = path.read_text(encoding="utf-8").replace(
        "type: policy\n", "type: policy\nexpires: 2026-01-01\n"
    )
    path.write_text(text, encoding="utf-8")
    git(effect.root, "commit", "-qam", "an expiry in the past")
    with pytest.raises(UsageError, match="--expires DATE"):
        promote(effect, PAGE, "ablate", reviewer="Ada", today=TODAY)
    result = promote(effect, PAGE, "ablate", reviewer="Ada", today=TODAY, expires="never")
    assert on_branch(effect.root, result.proposal.name, "policies/keep-pins.md").expires is None
    later = dt.date(2027, 1, 1)
    result = promote(effect, PAGE, "ablate", reviewer="Ada", today=TODAY, expires=later)
    assert on_branch(effect.root, result.proposal.name, "policies/keep-pins.md").expires == later


def test_json_of_a_passing_promotion(effect, cli):
    result = cli(effect.root, "promote", PAGE, "--matrix", "ablate", "--reviewer", "Ada", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["promoted"] and data["proposal"]["name"] == "xos/promote/policy.keep-pins"
    assert data["gate"]["passed"] and data["gate"]["primary"]["binary"]["only_treatment"] == 16
    assert data["evidence"][0] == "experiment.ablate"


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
