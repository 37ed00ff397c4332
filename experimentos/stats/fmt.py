"""Stable text for the numbers in reports: the same float always prints the same bytes.

Python's float formatting is correctly rounded (half-even on the exact binary value) and does
not depend on the platform or locale, so these helpers only fix the choices a report must not
leave open: digits, the sign of zero ("-0.00" never appears), a real minus sign (U+2212, as
the issue's "−0.30 [−0.52, −0.08]"), and one spelling for a missing value ("n/a").
They are registered as Jinja filters by the report templates; JSON output carries the floats.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from experimentos.stats.models import Mean, PairedBinary, PairedContinuous, PassK, Rate, SampleSize

MINUS = "\u2212"
NA = "n/a"


def _clean(text: str) -> str:
    # "-0.00" is a rounding artefact of a tiny negative number; print it as zero.
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]
    return text.replace("-", MINUS)


def fmt_fixed(value: float | None, digits: int = 2) -> str:
    """`value` with `digits` decimals; None prints as n/a."""
    if value is None:
        return NA
    return _clean(format(value, f".{digits}f"))


def fmt_signed(value: float | None, digits: int = 2) -> str:
    """Like fmt_fixed, with an explicit + on positive values (deltas)."""
    text = fmt_fixed(value, digits)
    if text == NA or text.startswith(MINUS) or not text.strip("0."):
        return text
    return "+" + text


def fmt_sig(value: float | None, sig: int = 3) -> str:
    """`value` to `sig` significant digits in fixed point (never 1e+04), thousands grouped."""
    if value is None:
        return NA
    if sig < 1:
        raise ValueError(f"sig must be at least 1, got {sig}")
    if value == 0:
        return "0"
    exponent = Decimal(value).adjusted()  # floor(log10(|value|)), exactly
    decimals = max(0, sig - 1 - exponent)
    text = format(value, f",.{decimals}f")
    # Rounding up can add a digit (9.996 -> 10.00); drop one decimal to keep `sig` digits.
    if decimals and Decimal(text.replace(",", "")).adjusted() > exponent:
        text = format(value, f",.{decimals - 1}f")
    return _clean(text)


def fmt_signed_sig(value: float | None, sig: int = 3) -> str:
    """Like fmt_sig, with an explicit + on positive values (deltas of tokens or cost)."""
    text = fmt_sig(value, sig)
    if text == NA or text.startswith(MINUS) or not text.strip("0.,"):
        return text
    return "+" + text


def _formatter(digits: int, sig: int | None, signed: bool) -> Callable[[float | None], str]:
    if sig is not None:
        return lambda v: (fmt_signed_sig if signed else fmt_sig)(v, sig)
    return lambda v: (fmt_signed if signed else fmt_fixed)(v, digits)


def fmt_interval(
    low: float | None,
    high: float | None,
    digits: int = 2,
    *,
    signed: bool = False,
    sig: int | None = None,
) -> str:
    """[low, high] with `digits` decimals (or `sig` significant digits); signed=True puts + on
    positive bounds (intervals of deltas)."""
    if low is None or high is None:
        return NA
    one = _formatter(digits, sig, signed)
    return f"[{one(low)}, {one(high)}]"


def fmt_p(p: float | None) -> str:
    """A p-value with three decimals, or <0.001."""
    if p is None:
        return NA
    if p < 0.001:
        return "<0.001"
    return format(p, ".3f")


def fmt_p_is(p: float | None, name: str = "p") -> str:
    """A p-value in a sentence: 'p = 0.125', 'p < 0.001' (never 'p = <0.001')."""
    text = fmt_p(p)
    return f"{name} < {text[1:]}" if text.startswith("<") else f"{name} = {text}"


def fmt_p_of(result: PairedBinary | PairedContinuous) -> str:
    """A result's p-value; a Monte Carlo one with its standard error: '0.012 ±0.0003 (MC)'."""
    text = fmt_p(result.p_value)
    error = getattr(result, "p_error", None)
    if error is None or result.p_value is None:
        return text
    return f"{text} ±{format(error, '.4f')} (MC)"


def fmt_rate(rate: Rate, digits: int = 2) -> str:
    """'0.67 [0.21, 0.94] (2/3)'; a rate of no runs prints 'n/a (0/0)'."""
    if rate.p is None:
        return f"{NA} ({rate.k}/{rate.n})"
    interval = fmt_interval(rate.low, rate.high, digits)
    return f"{fmt_fixed(rate.p, digits)} {interval} ({rate.k}/{rate.n})"


def fmt_pass_k(result: PassK, digits: int = 2) -> str:
    """'0.70 [0.21, 0.93]', or 'n/a (reason)'."""
    if result.estimate is None:
        return f"{NA} ({result.reason})"
    return f"{fmt_fixed(result.estimate, digits)} {fmt_interval(result.low, result.high, digits)}"


def fmt_delta(
    result: PairedBinary | PairedContinuous, digits: int = 2, *, sig: int | None = None
) -> str:
    """'−0.30 [−0.52, −0.08]' (sig=3 for tokens or cost: '+1,230 [+98.5, +2,400]'), or
    'n/a (reason)'. A delta without an interval (one pair) prints as '+2.00 [n/a]'."""
    if result.delta is None:
        return f"{NA} ({result.reason})"
    interval = fmt_interval(result.low, result.high, digits, signed=True, sig=sig)
    if interval == NA:
        interval = f"[{NA}]"
    return f"{_formatter(digits, sig, True)(result.delta)} {interval}"


def fmt_mean(result: Mean, sig: int = 3) -> str:
    """'130 [104, 214] (n=10)' to `sig` significant digits, or 'n/a (no values)'."""
    if result.mean is None:
        return f"{NA} ({result.reason})"
    interval = fmt_interval(result.low, result.high, sig=sig)
    if interval == NA:
        interval = f"[{NA}]"
    return f"{fmt_sig(result.mean, sig)} {interval} (n={result.n})"


def fmt_sample_size(size: SampleSize | None) -> str:
    """'77 pairs (39 repeats)', or the reason there is no such number."""
    if size is None:
        return ""
    if size.pairs is None:
        return f"{NA} ({size.reason})"
    if size.pairs_per_repeat == 1:
        return f"{size.pairs} pairs"
    return f"{size.pairs} pairs ({size.repeats} repeats)"
