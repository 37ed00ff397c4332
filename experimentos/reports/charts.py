"""Chart geometry: bars with interval whiskers, as numbers the SVG templates print.

No plotting library: a bar chart of rates (0..1) or of deltas (-1..1 around a zero line) is a
few rectangles and lines, and computing them here keeps the output byte-stable (coordinates
are printed with one decimal). The templates (templates/chart_*.svg.j2) hold no arithmetic.
Only elements and attributes the static site's SVG allowlist keeps are used (no style, no
script, no links), so the same markup renders in the site and in any Markdown viewer that
shows inline SVG.
"""

from __future__ import annotations

from dataclasses import dataclass

LABEL_W = 210.0
PLOT_W = 300.0
VALUE_W = 150.0
ROW_H = 22.0
TOP = 30.0
BOTTOM = 24.0
BAR_H = 12.0
# One colour per condition, in condition order (colour-blind safe: Okabe-Ito).
PALETTE = ("#999999", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def _f(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


@dataclass
class Bar:
    label: str
    value: float | None  # None: nothing to draw (no runs / no pairs)
    low: float | None
    high: float | None
    text: str  # printed at the right
    colour: str


def rate_chart(title: str, bars: list[Bar]) -> dict:
    """Horizontal bars on a 0..1 axis with whiskers at the interval's ends."""
    return _chart(title, bars, lo=0.0, hi=1.0, ticks=(0.0, 0.25, 0.5, 0.75, 1.0))


def delta_chart(title: str, bars: list[Bar]) -> dict:
    """Horizontal bars from a zero line on a -1..1 axis (a delta of two rates)."""
    return _chart(title, bars, lo=-1.0, hi=1.0, ticks=(-1.0, -0.5, 0.0, 0.5, 1.0))


def _chart(title: str, bars: list[Bar], *, lo: float, hi: float, ticks: tuple) -> dict:
    def x(v: float) -> float:
        return LABEL_W + (min(hi, max(lo, v)) - lo) / (hi - lo) * PLOT_W

    zero = x(max(lo, 0.0))
    height = TOP + ROW_H * len(bars) + BOTTOM
    rows = []
    for i, bar in enumerate(bars):
        mid = TOP + ROW_H * i + ROW_H / 2
        row = {
            "label": bar.label,
            "text": bar.text,
            "colour": bar.colour,
            "label_y": _f(mid + 4),
            "drawn": bar.value is not None,
        }
        if bar.value is not None:
            start, end = sorted((zero, x(bar.value)))
            row |= {
                "bar_x": _f(start),
                "bar_y": _f(mid - BAR_H / 2),
                "bar_w": _f(max(end - start, 1.0)),
                "bar_h": _f(BAR_H),
            }
        row["whisker"] = bar.low is not None and bar.high is not None
        if row["whisker"]:
            row |= {
                "w_x1": _f(x(bar.low)),  # type: ignore[arg-type]
                "w_x2": _f(x(bar.high)),  # type: ignore[arg-type]
                "w_y": _f(mid),
                "cap_y1": _f(mid - 5),
                "cap_y2": _f(mid + 5),
            }
        rows.append(row)
    axis_y = TOP + ROW_H * len(bars)
    return {
        "title": title,
        "width": _f(LABEL_W + PLOT_W + VALUE_W),
        "height": _f(height),
        "title_y": _f(16),
        "label_x": _f(LABEL_W - 6),
        "text_x": _f(LABEL_W + PLOT_W + 8),
        "plot_top": _f(TOP - 4),
        "axis_y": _f(axis_y),
        "tick_y": _f(axis_y + 14),
        "zero_x": _f(zero),
        "ticks": [{"x": _f(x(t)), "label": _tick(t)} for t in ticks],
        "bars": rows,
    }


def _tick(value: float) -> str:
    text = f"{value:g}"
    return text.replace("-", "\u2212")
