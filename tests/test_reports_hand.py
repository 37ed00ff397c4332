"""40 hand-made run records with known outcomes: the metrics, intervals and p-values a report
prints, each checked against arithmetic done by hand (in the comments).

Wilson score interval, 95% (z = 1.959963984540054, z² = 3.841458820694124):
    centre = (p + z²/2n) / (1 + z²/n),  half = z/(1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)
e.g. 5/20: p = 0.25, 1 + z²/n = 1.192072941, centre = (0.25 + 0.096036471)/1.192072941
= 0.290281289, half = 1.644182404 · sqrt(0.009375 + 0.002400915) = 0.178419588,
so [0.111861701, 0.468700878].
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from experimentos.reports.analysis import page_attribution, paired_delta
from experimentos.reports.build import results_for
from experimentos.reports.render import render_report
from experimentos.reports.rows import load_rows
from experimentos.reports.sources import Source
from experimentos.store.scaffold import init_workspace

from .report_helpers import EXP, write_hand_matrix

Z = 1.959963984540054
Z_POWER = 0.8416212335729143  # the 80% one-sided normal quantile


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    init_workspace(root)
    return write_hand_matrix(root)


def wilson(k: int, n: int) -> tuple[float, float]:
    """The formula above, written out again here (not the library's)."""
    p = k / n
    d = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / d
    half = Z / d * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def test_wilson_by_hand_matches_the_literals():
    # The docstring's worked example, and two more used below.
    assert wilson(5, 20) == pytest.approx((0.11186170140766569, 0.468700877618744), abs=1e-12)
    assert wilson(13, 20) == pytest.approx((0.43285427668523624, 0.818808175898918), abs=1e-12)
    assert wilson(2, 10) == pytest.approx((0.05668215145437519, 0.5098375284633583), abs=1e-12)


def test_rows_carry_the_known_ground_truth(hand: Path):
    rows = {r.run_id: r for r in load_rows(Source(hand))}
    assert len(rows) == 40 and all(r.counted for r in rows.values())
    # f1 without the brief, repeat 1: the agent bumped the pin; the oracle passed.
    r = rows["run.hand.f1.none.a1.r1"]
    assert r.value("pass") is True and r.value("clean_pass") is False
    assert r.value("pin_changed") is True and r.value("protected_edit") is False
    assert r.metrics["pass"].source == "matrix.oracle.exitCode"
    assert r.value("churn") == 2  # +1 -1
    # The same block with the brief: a clean pass after two red test runs.
    r = rows["run.hand.f1.brief.a1.r1"]
    assert r.value("clean_pass") is True and r.value("red_green_cycles") == 2
    assert r.value("brief_loaded_before_first_edit") is True
    # a1 reports no cost: null with the reason, never 0.
    assert r.value("cost_usd") is None
    assert r.metrics["cost_usd"].reason == "the codex agent reported no cost in its transcript"
    # a2's test runs have no exit code: no red-green count.
    r = rows["run.hand.f2.brief.a2.r1"]
    assert r.value("red_green_cycles") is None
    assert "have no exit code" in r.metrics["red_green_cycles"].reason
    # The brief came after the first edit, or only as the agent's own claim: not before.
    assert rows["run.hand.f1.brief.a2.r5"].value("brief_loaded_before_first_edit") is False
    assert rows["run.hand.f1.brief.a2.r4"].value("brief_loaded_before_first_edit") is False
    # No server in the none condition: null, with the reason.
    none = rows["run.hand.f1.none.a2.r1"].metrics["brief_loaded_before_first_edit"]
    assert none.value is None and "attaches no MCP server" in none.reason


def test_rates_per_condition_and_agent(hand: Path):
    results = results_for(hand, EXP)
    groups = {(g.condition, g.agent): g for g in results.groups}
    # pass: none/a1 = f1a1 5 + f2a1 r1 = 6/10; brief/a2 = f1a2 r1-r3 + f2a2 r1-r4 = 7/10.
    assert (groups["none", "a1"].rates["pass"].k, groups["none", "a1"].rates["pass"].n) == (6, 10)
    assert groups["brief", "a2"].rates["pass"].k == 7
    # clean pass: none/a1 = f1a1 r4 + f2a1 r1 = 2/10 -> Wilson [0.0567, 0.5098].
    rate = groups["none", "a1"].rates["clean_pass"]
    assert (rate.k, rate.n) == (2, 10)
    assert (rate.low, rate.high) == pytest.approx(wilson(2, 10), abs=1e-12)
    # All agents: none 5/20, brief 13/20.
    assert groups["none", None].rates["clean_pass"].k == 5
    rate = groups["brief", None].rates["clean_pass"]
    assert (rate.k, rate.n) == (13, 20)
    assert (rate.low, rate.high) == pytest.approx(wilson(13, 20), abs=1e-12)
    # Rules: the pin changed in 4 of a1's 10 none runs, never with the brief; one protected
    # edit (brief/a2), one forbidden command (none/a1).
    assert groups["none", "a1"].rates["pin_changed"].k == 4
    assert groups["brief", None].rates["pin_changed"].k == 0
    assert groups["brief", "a2"].rates["protected_edit"].k == 1
    assert groups["none", "a1"].rates["forbidden_command"].k == 1
    # Protocol: brief/a2 = 10 - 1 claimed - 2 late = 7/10; none has no value at all.
    assert groups["brief", "a2"].rates["brief_loaded_before_first_edit"].k == 7
    assert groups["brief", None].rates["deps_resolved_before_first_edit"].k == 17
    assert groups["none", None].rates["brief_loaded_before_first_edit"].n == 0
    # Means: tokens in none/a1 = (1010 + 1020 + 1030 + 1040 + 1050) x 2 / 10 = 1030.
    assert groups["none", "a1"].means["tokens_in"].mean == 1030
    assert groups["brief", "a1"].means["tokens_in"].mean == 1530
    assert groups["brief", "a2"].means["cost_usd"].mean == pytest.approx(0.25)
    assert groups["brief", "a1"].means["cost_usd"].n == 0  # a1 reports no cost
    assert groups["brief", "a1"].nulls["cost_usd"] == 10


def test_paired_clean_pass_by_hand(hand: Path):
    rows = load_rows(Source(hand))
    d = paired_delta(rows, "clean_pass", "none", "brief")
    r = d.binary
    # The 2x2 table of the 20 blocks: both 4, only none (b) 1, only brief (c) 9, neither 6.
    assert (r.both, r.only_baseline, r.only_treatment, r.neither) == (4, 1, 9, 6)
    # delta = (c - b) / N = (9 - 1) / 20 = 0.40
    assert r.delta == pytest.approx(0.40, abs=1e-15)
    # McNemar exact: m = b + c = 10, p = 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024.
    assert r.p_value == 22 / 1024 == 0.021484375
    # Newcombe (method 10): p1 = 13/20, p2 = 5/20 with their Wilson limits; A = 4*6 - 1*9 = 15
    # > N/2 = 10, margins 13*7*5*15 = 6825, phi = (15 - 10)/sqrt(6825) = 0.0605227533.
    phi = (15 - 10) / math.sqrt(6825)
    l1, u1 = wilson(13, 20)
    l2, u2 = wilson(5, 20)
    p1, p2 = 0.65, 0.25
    low = 0.40 - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = 0.40 + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    assert (r.low, r.high) == pytest.approx((low, high), abs=1e-12)
    assert (r.low, r.high) == pytest.approx((0.10127957430040152, 0.6115555360847434), abs=1e-9)
    assert d.significant and not d.regression and d.verdict == "significant (better)"


def test_underpowered_pass_delta_says_how_many_repeats(hand: Path):
    rows = load_rows(Source(hand))
    d = paired_delta(rows, "pass", "none", "brief")
    r = d.binary
    # Pass pairs: both 10, b 3, c 4, neither 3: delta = 1/20; McNemar m = 7, min 3:
    # p = 2 * (1 + 7 + 21 + 35)/128 = 1.0.
    assert (r.both, r.only_baseline, r.only_treatment, r.neither) == (10, 3, 4, 3)
    assert r.delta == pytest.approx(0.05) and r.p_value == 1.0
    assert d.underpowered and not d.significant
    # Connor 1987: psi = 7/20, delta = 1/20:
    # (1.959964 * sqrt(0.35) + 0.841621 * sqrt(0.35 - 0.0025))² / 0.0025 = 1096.48 -> 1097
    # pairs; one repeat adds fixtures x agents = 4 pairs -> 275 repeats.
    needed = (Z * math.sqrt(0.35) + Z_POWER * math.sqrt(0.35 - 0.0025)) ** 2 / 0.0025
    assert math.ceil(needed) == 1097
    assert r.sample_size.pairs == 1097 and r.sample_size.repeats == 275
    assert d.repeats_needed == 275 and d.verdict == "underpowered: about 275 repeats needed"


def test_per_agent_delta_and_a_numeric_delta(hand: Path):
    rows = load_rows(Source(hand))
    # a1 only: both 2 (f1 r4, f2 r1), b 0, c 5, neither 3: delta 0.5, p = 2/2^5 = 0.0625.
    d = paired_delta(rows, "clean_pass", "none", "brief", agents=["a1"])
    assert (d.binary.only_baseline, d.binary.only_treatment) == (0, 5)
    assert d.delta == 0.5 and d.p_value == 0.0625 and d.underpowered
    # Connor: psi = 0.5, delta = 0.5: (1.959964 * 0.707107 + 0.841621 * 0.5)² / 0.25 = 13.06
    # -> 14 pairs (the exact-test floor is 6 / 0.5 = 12); 2 pairs a repeat -> 7 repeats.
    assert d.binary.sample_size.pairs == 14 and d.repeats_needed == 7
    # Tokens in, f1 x a1: every delta is +500: mean 500, a zero-width interval, and the exact
    # sign-flip p = 1/16 (one of the 2^5 / 2 sign patterns reaches |sum| = 2500).
    d = paired_delta(rows, "tokens_in", "none", "brief", fixtures=["f1"], agents=["a1"])
    n = d.numeric
    assert n.delta == 500 and (n.low, n.high) == (500, 500)
    assert n.p_value == 0.0625 and n.test == "sign-flip-exact"
    # The pin rule: b = 8 blocks broke it without the brief and kept it with it, c = 0:
    # delta = -8/20 = -0.40, p = 2/2^8 = 0.0078125; lower is better, so no regression.
    d = paired_delta(rows, "pin_changed", "none", "brief")
    assert d.delta == -0.40 and d.p_value == 0.0078125
    assert d.significant and not d.regression
    # A metric without its source on one side has no pairs (a1 reports no cost).
    d = paired_delta(rows, "cost_usd", "none", "brief", agents=["a1"])
    assert d.pairs == 0 and d.dropped == 10 and d.verdict == "n/a: no pairs"


def test_pass_k_by_hand(hand: Path):
    results = results_for(hand, EXP)
    found = {(p.condition, p.agent, p.metric, p.k): p for p in results.pass_k}
    # brief x a1, clean pass: f1 4/5, f2 3/5.
    # pass@2 = mean(1 - C(1,2)/C(5,2), 1 - C(2,2)/C(5,2)) = (1 + 0.9)/2 = 0.95;
    # pass^2 = mean(C(4,2)/10, C(3,2)/10) = (0.6 + 0.3)/2 = 0.45;
    # pass@5 = 1 (both tasks passed at least once); pass^5 = C(4,5) = C(3,5) = 0.
    row = found["brief", "a1", "clean_pass", 2]
    assert row.pass_at_k.estimate == pytest.approx(0.95, abs=1e-15)
    assert row.pass_hat_k.estimate == pytest.approx(0.45, abs=1e-15)
    row = found["brief", "a1", "clean_pass", 5]
    assert (row.pass_at_k.estimate, row.pass_hat_k.estimate) == (1.0, 0.0)
    # pass@1 is the clean-pass rate (outcomes table); k = 10 needs 10 repeats.
    assert {k for (_, _, _, k) in found} == {2, 5}


def test_the_report_prints_the_hand_numbers(hand: Path):
    text = render_report(results_for(hand, EXP))
    assert text.startswith("---\ntitle: Matrix hand\n")
    assert (
        "- **brief** vs `none`, clean pass: +0.40 [+0.10, +0.61] over 20 pairs, p = 0.021: "
        "significant (better)"
    ) in text
    assert (
        "- **brief** vs `none`, pass: +0.05 [n/a" not in text
    )  # a delta with pairs always has its interval
    assert "| `none` | a1 | 10 | 0.60 " in text
    assert "0.20 [0.06, 0.51] (2/10)" in text  # none/a1 clean pass
    assert "underpowered: about 275 repeats needed" in text
    assert "| cost USD | `none` | a1 | 10/10 | the codex agent reported no cost" in text
    assert "runs:\n  expected: 40\n  counted: 40\n  excluded: []\n  missing: []\n" in text
    assert text.count("<svg ") == 3


def test_page_attribution_from_an_ablation(tmp_path: Path):
    """brief-without:<page> vs brief: the brief runs of the hand matrix as `brief`, the none
    runs relabelled as the ablation of policy.p (they lack the page's effect). Only blocks whose
    brief run the server's log shows was served policy.p count: f1/a2/r4 only claimed its brief
    (source agent), so 19 of the 20 blocks are pairs."""
    from experimentos.reports.rows import RunRow

    root = tmp_path / "kb"
    init_workspace(root)
    write_hand_matrix(root)
    rows = [
        r.model_copy(update={"condition": "brief-without:policy.p"}) if r.condition == "none" else r
        for r in load_rows(Source(root))
    ]
    assert all(isinstance(r, RunRow) for r in rows)
    unserved = [r.block for r in rows if r.condition == "brief" and "policy.p" not in r.served]
    assert unserved == [("f1", "a2", 4)]
    d = page_attribution(rows, "policy.p")
    # The same table read the other way, less the block that was not served the page: the
    # removed pair was concordant (both fail), so the discordant pairs and p stay; 8 of 19.
    assert d.baseline == "brief" and d.treatment == "brief-without:policy.p"
    assert d.pairs == 19 and d.delta == pytest.approx(-8 / 19) and d.p_value == 0.021484375
    by_hand = paired_delta(
        [r for r in rows if r.block != ("f1", "a2", 4)],
        "clean_pass",
        "brief",
        "brief-without:policy.p",
    )
    assert d.result == by_hand.result
    assert d.significant and d.regression  # clean pass is higher-is-better
