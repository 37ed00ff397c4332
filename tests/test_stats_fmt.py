"""Report formatting: one spelling per number, so reports are byte-identical."""

from __future__ import annotations

import pytest

from experimentos.stats import (
    fmt_delta,
    fmt_fixed,
    fmt_interval,
    fmt_mean,
    fmt_p,
    fmt_pass_k,
    fmt_rate,
    fmt_sample_size,
    fmt_sig,
    fmt_signed,
    fmt_signed_sig,
    mean_interval,
    paired_binary_counts,
    paired_continuous,
    pass_k,
    wilson,
)
from experimentos.stats.fmt import MINUS


def test_fixed_and_signed():
    assert fmt_fixed(0.5) == "0.50"
    assert fmt_fixed(None) == "n/a"
    assert fmt_fixed(-0.3) == f"{MINUS}0.30"
    assert fmt_fixed(-0.001) == "0.00"  # never "-0.00"
    assert fmt_fixed(-0.0) == "0.00"
    assert fmt_signed(0.3) == "+0.30"
    assert fmt_signed(-0.3) == "\u22120.30"
    assert fmt_signed(0.001) == "0.00" and fmt_signed(-0.001) == "0.00"
    # half-even on the exact binary value, the same on every platform: 0.125 is exact in
    # binary and rounds to even; 0.675 is stored as 0.67500000000000004 and rounds up.
    assert fmt_fixed(0.125) == "0.12" and fmt_fixed(0.675) == "0.68"


def test_significant_digits():
    assert fmt_sig(12345.678) == "12,346"
    assert fmt_sig(1234.5) == "1,234"  # more integer digits than `sig` are kept, not 1.23e+03
    assert fmt_sig(0.012345) == "0.0123"
    assert fmt_sig(9.996) == "10.0"  # rounding up adds a digit: one decimal fewer
    assert fmt_sig(-0.0004) == f"{MINUS}0.000400"
    assert fmt_sig(0) == "0" and fmt_sig(None) == "n/a"
    assert fmt_sig(3.14159, 2) == "3.1"
    with pytest.raises(ValueError):
        fmt_sig(1.0, 0)


def test_intervals_and_p_values():
    assert fmt_interval(0.1, 0.9) == "[0.10, 0.90]"
    assert fmt_interval(-0.52, -0.08, signed=True) == f"[{MINUS}0.52, {MINUS}0.08]"
    assert fmt_interval(-0.1, 0.2, signed=True) == f"[{MINUS}0.10, +0.20]"
    assert fmt_interval(None, 0.2) == "n/a"
    assert fmt_p(0.0312) == "0.031" and fmt_p(0.0004) == "<0.001" and fmt_p(1.0) == "1.000"
    assert fmt_p(None) == "n/a"


def test_a_p_value_in_a_sentence_reads_as_a_relation():
    """`p = <0.001` read as nonsense in reports and gate output: a sentence says p < 0.001."""
    from experimentos.stats import fmt_p_is

    assert fmt_p_is(0.0004) == "p < 0.001"
    assert fmt_p_is(0.125) == "p = 0.125"
    assert fmt_p_is(None) == "p = n/a"
    assert fmt_p_is(0.0004, "Holm p") == "Holm p < 0.001"


def test_results():
    assert fmt_rate(wilson(2, 3)) == "0.67 [0.21, 0.94] (2/3)"
    assert fmt_rate(wilson(0, 0)) == "n/a (0/0)"
    assert fmt_pass_k(pass_k([(5, 2)], 2)) == "0.70 [0.21, 0.93]"
    assert fmt_pass_k(pass_k([], 2)) == "n/a (no tasks)"
    # the example shape: "removing policy.X changes clean pass by −0.30 [−0.52, −0.08]"
    result = paired_binary_counts(both=4, only_baseline=7, only_treatment=1, neither=8)
    assert fmt_delta(result) == f"{MINUS}0.30 [{MINUS}0.52, {MINUS}0.03]"
    assert fmt_delta(paired_binary_counts(0, 0, 0, 0)) == "n/a (no pairs)"
    assert fmt_delta(paired_continuous([], [])) == "n/a (no pairs)"
    size = paired_binary_counts(3, 2, 6, 9, pairs_per_repeat=4).sample_size
    assert fmt_sample_size(size) == "77 pairs (20 repeats)"
    assert fmt_sample_size(paired_binary_counts(3, 2, 6, 9).sample_size) == "77 pairs"
    assert fmt_sample_size(None) == ""
    zero = paired_binary_counts(5, 1, 1, 5).sample_size
    assert fmt_sample_size(zero).startswith("n/a (observed delta is 0")


def test_same_inputs_same_bytes():
    first = paired_continuous([1.0, 5.0, 2.0, 8.0], [2.0, 9.0, 2.5, 7.0])
    second = paired_continuous([1.0, 5.0, 2.0, 8.0], [2.0, 9.0, 2.5, 7.0])
    assert fmt_delta(first) == fmt_delta(second)
    assert first.model_dump_json() == second.model_dump_json()


def test_numeric_metrics_use_significant_digits():
    tokens = mean_interval([120, 80, 100, 400, 90, 110, 95, 105, 85, 115], seed=1)
    text = fmt_mean(tokens)
    assert text.startswith("130 [") and text.endswith("] (n=10)")
    assert fmt_mean(mean_interval([])) == "n/a (no values)"
    assert fmt_mean(mean_interval([7.0])) == "7.00 [n/a] (n=1)"
    cost = paired_continuous([0.0123, 0.02, 0.011], [0.0101, 0.015, 0.0122])
    # delta = (-0.0022 - 0.005 + 0.0012)/3 = -0.002
    assert fmt_delta(cost, sig=2).startswith(f"{MINUS}0.0020 [")
    assert fmt_delta(paired_continuous([1.0], [3.0])) == "+2.00 [n/a]"
    assert fmt_signed_sig(1234.5) == "+1,234" and fmt_signed_sig(0) == "0"
    assert fmt_interval(98.46, 2401.0, sig=3, signed=True) == "[+98.5, +2,401]"
