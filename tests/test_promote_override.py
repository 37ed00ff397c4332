"""The promotion's review: a person's override recorded in the page, the trust rules `check`
keeps, bad input refused with exit 2, expiry, and the JSON answer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from experimentos.errors import UsageError
from experimentos.knowledge.check import check
from experimentos.promote import promote
from experimentos.promote.proposal import OVERRIDE_HEADING, without_override
from experimentos.store import Workspace

from .conftest import git
from .promote_helpers import (
    ABLATION,
    PAGE,
    check_branch,
    effect_kb,
    make_kb,
    on_branch,
    snapshot,
    write_matrix,
)
from .proposal_helpers import branches

TODAY = dt.date(2026, 4, 1)


@pytest.fixture
def effect(tmp_path: Path) -> Workspace:
    return effect_kb(tmp_path)


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
    assert result.rationale.endswith("other outcome comparisons (Holm). x")  # kept as a note
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
