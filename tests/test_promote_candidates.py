"""`experimentos candidates EXP`: what the matrices of an experiment suggest for each page."""

from __future__ import annotations

import json

import pytest

from experimentos.promote import candidates
from experimentos.promote.candidates import classify
from experimentos.promote.gate import compute_gate

from .conftest import page_text
from .promote_helpers import ABLATION, PAGE, REVIEWED, make_kb, strong_effect, write_matrix

THIRD = page_text(
    "policy.third", "policy", "Third", extra="appliesTo:\n  library: lib\n", body="## Rule\n"
)
FOURTH = page_text(
    "policy.fourth", "policy", "Fourth", extra="appliesTo:\n  library: other\n", body="## Rule\n"
)
GENERAL = page_text("policy.general", "policy", "General", body="## Rule\n")
CONDITIONS = [
    "none",
    "brief",
    ABLATION,
    "brief-without:policy.read-the-test",
    "brief-without:policy.third",
    "brief-without:policy.gone",
]


def blocks() -> dict:
    """12 repeats on f1 and f2. Without the brief the pin is always bumped. Removing
    keep-pins undoes the brief (strong effect); removing read-the-test changes nothing;
    removing third loses 3 clean passes on f1 (too few to tell); removing gone: nothing."""
    out = {}
    for fixture in ("f1", "f2"):
        runs = []
        for i, (without, with_) in enumerate(strong_effect(12)):
            third = "P" if fixture == "f1" and i in (0, 1, 2) else with_
            runs.append("P" + with_ + without + with_ + third + with_)
        out[(fixture, "a1")] = runs
    return out


@pytest.fixture
def kb(tmp_path):
    pages = {
        "policies/read-the-test.md": REVIEWED,
        "policies/third.md": THIRD,
        "policies/fourth.md": FOURTH,
        "policies/general.md": GENERAL,
    }
    ws, commit = make_kb(tmp_path / "repo", pages=pages)
    write_matrix(ws, "many", CONDITIONS, blocks(), commit)
    return ws


def test_candidates_suggest_promote_demote_and_retest_with_numbers(kb):
    result = candidates(kb, "many")
    assert result.matrices == ["many/many"]
    found = {c.page: c for c in result.candidates}
    # policy.general has no appliesTo and no ablation: nothing speaks for it, nothing is for it.
    # policy.gone is ablated but no longer in the knowledge base.
    assert set(found) == {PAGE, "policy.read-the-test", "policy.third", "policy.fourth"}
    assert result.skipped == ["many/many: policy.gone (ablated)"]

    keep = found[PAGE]
    assert (keep.suggestion, keep.basis, keep.pairs) == ("promote", "ablation", 24)
    assert keep.delta == pytest.approx(20 / 24) and keep.low > 0
    assert (
        keep.why
        == "the gate passes (ablation), no significant regression in 10 other outcome comparisons"
    )

    # policy.fourth applies to f2 but was never ablated: brief vs none (the whole brief) does
    # not speak for it; the suggestion is the condition to add.
    fourth = found["policy.fourth"]
    assert (fourth.suggestion, fourth.basis, fourth.pairs) == ("test", None, 0)
    assert "add the condition `brief-without:policy.fourth` (with `brief`)" in fourth.why

    reviewed = found["policy.read-the-test"]  # accepted, and removing it changes nothing
    assert (reviewed.suggestion, reviewed.delta, reviewed.status) == ("demote", 0.0, "accepted")
    assert reviewed.why == "no effect: the observed delta is 0"

    third = found["policy.third"]
    assert third.suggestion == "retest" and third.delta == pytest.approx(3 / 24)
    assert third.repeats_needed is not None and third.repeats_needed > 12
    assert third.why.startswith(f"underpowered: about {third.repeats_needed} repeats needed (")
    # The same numbers the gate gives for the page on its own.
    gate = compute_gate(kb, "policy.third", "many")
    assert third.p_value == gate.primary.p_value and third.p_adjusted == gate.primary.p_adjusted
    assert [c.suggestion for c in result.candidates] == ["promote", "demote", "retest", "test"]


def test_candidates_cli_text_and_json(kb, cli):
    result = cli(kb.root, "candidates", "many")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "promote (1)" in out and "demote (1)" in out and "retest (1)" in out
    assert "test (1)" in out and "policy.fourth [draft] on many/many: never ablated" in out
    assert "policy.keep-pins [draft] on many/many: +0.83 [" in out
    assert "skipped: many/many: policy.gone (ablated), not in the knowledge base" in out
    data = json.loads(cli(kb.root, "candidates", "experiment.many", "--json").stdout)
    assert {c["page"]: c["suggestion"] for c in data["candidates"]} == {
        PAGE: "promote",
        "policy.fourth": "test",
        "policy.read-the-test": "demote",
        "policy.third": "retest",
    }


def test_an_accepted_page_that_harms_is_demoted(tmp_path):
    accepted = REVIEWED.replace("policy.read-the-test", PAGE).replace("read-the-test", "x")
    ws, commit = make_kb(
        tmp_path / "repo", keep_pins=False, pages={"policies/keep-pins.md": accepted}
    )
    # With the page the agent bumps the pin; without it, a clean pass.
    write_matrix(ws, "harm", [ABLATION, "brief"], {("f1", "a1"): ["CP"] * 10}, commit)
    candidate = classify(compute_gate(ws, PAGE, "harm"))
    assert candidate.suggestion == "demote" and candidate.delta == -1.0
    assert candidate.why == "harm: the page makes clean pass worse"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nope"], "no experiment 'nope'"), (["many", "--metric", "tokens_in"], "pass/fail")],
)
def test_candidates_bad_input_exits_2(kb, cli, args, message):
    result = cli(kb.root, "candidates", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_a_scripted_ablation_suggests_nothing(tmp_path):
    """An audit saw `candidates` propose demoting a page that works, from a scripted ablation
    whose script had read the ablated page's name: scripted runs suggest nothing."""
    ws, commit = make_kb(tmp_path / "repo")
    write_matrix(ws, "scripted", [ABLATION, "brief"], {("f1", "a1"): ["CC"] * 10}, commit,
                 decisions="script")  # fmt: skip
    [found] = [c for c in candidates(ws, "scripted").candidates if c.page == PAGE]
    assert found.suggestion == "none" and "harness check" in found.why


def test_applies_to_reads_the_fixtures_manifests(tmp_path):
    """f3 declares no libraries in fixture.yaml; its package.json depends on lib: the page is
    for f3, so candidates names the ablation to add."""
    from .conftest import git, write_files
    from .promote_helpers import head

    fixtures = {"f2": (["other"], []), "f3": ([], [])}
    ws, _ = make_kb(tmp_path / "repo", fixtures=fixtures)
    write_files(ws.root, {"fixtures/f3/package.json": '{"dependencies": {"lib": "1.2.3"}}\n'})
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "f3 depends on lib")
    blocks = {("f2", "a1"): ["FF"] * 10, ("f3", "a1"): strong_effect(10)}
    write_matrix(ws, "manifests", ["none", "brief"], blocks, head(ws.root))
    found = {c.page: c for c in candidates(ws, "manifests").candidates}
    assert found[PAGE].suggestion == "test"
