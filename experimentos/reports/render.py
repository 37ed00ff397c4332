"""Render a matrix's results as Markdown: YAML frontmatter, tables, inline SVG charts.

One Jinja environment (`environment()`, StrictUndefined) renders every template; the context is
built here as plain strings, so the templates only loop and print. Output is byte-stable: rows
come in spec (or sorted) order, numbers go through experimentos.stats.fmt, chart coordinates
are printed with one decimal, and nothing reads a clock.
"""

from __future__ import annotations

import functools
from typing import Any

from experimentos import __version__
from experimentos.markdown import escape
from experimentos.matrix.metrics import LABELS, RULES
from experimentos.reports.analysis import ABLATION_PREFIX, Delta
from experimentos.reports.charts import PALETTE, Bar, delta_chart, rate_chart
from experimentos.reports.results import HARNESS_CHECK, MIXED, Group, MatrixResults
from experimentos.stats import (
    Rate,
    fmt_delta,
    fmt_fixed,
    fmt_mean,
    fmt_p,
    fmt_p_is,
    fmt_p_of,
    fmt_pass_k,
    fmt_rate,
)
from experimentos.store.yamlio import dump_yaml

REPORT_FORMAT = 1
GENERATOR = f"experimentos {__version__} (report format {REPORT_FORMAT})"
ALL_AGENTS = "all agents"
ALL_FIXTURES = "all fixtures"
RATE_CHART_METRICS = ("clean_pass", "pass")
PROTOCOL = ("brief_loaded_before_first_edit", "deps_resolved_before_first_edit")
SIG_METRICS = {"tokens_in", "tokens_out", "cost_usd", "wall_s", "churn"}
SIMULATED_METRICS = {"tokens_in", "tokens_out", "cost_usd"}  # made up when a script decided


@functools.cache
def environment():  # noqa: ANN201 - jinja2 is imported lazily
    """The one Jinja environment of reports: package templates, StrictUndefined, filters."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("experimentos.reports", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown; SVG text goes through the `xml` filter
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Values from records are escaped where they are formatted (escape.text, escape.code);
    # these filters keep each cell and line one line and defuse anything printed raw.
    env.filters["cell"] = escape.cell
    env.filters["line"] = escape.line
    env.filters["xml"] = escape.xml
    return env


table_cell = escape.cell
xml_text = escape.xml


def _table(columns: list[str], rows: list[list[str]], empty: str, numeric: int = 0) -> dict:
    """A table: the first len(columns) - numeric columns left-aligned, the rest right."""
    align = ["---"] * (len(columns) - numeric) + ["---:"] * numeric
    return {"columns": columns, "align": align, "rows": rows, "empty": empty}


def _agent(agent: str | None) -> str:
    return escape.text(agent) if agent is not None else ALL_AGENTS


def _group_agent(g: Group) -> str:
    """The agent column of a group's row: marked when a script decided its runs."""
    return _agent(g.agent) + (" (scripted)" if g.scripted else "")


def _code(text: str) -> str:
    return escape.code(text)


def _rate(rate: Rate) -> str:
    return fmt_rate(rate)


def _delta_text(d: Delta) -> str:
    sig = 3 if d.metric in SIG_METRICS else None
    return fmt_delta(d.result, sig=sig)


def _p_holm(d: Delta) -> str:
    return fmt_p(d.p_adjusted) if d.p_adjusted is not None and not d.harness_check else "—"


def _p(d: Delta) -> str:
    """The p-value column: none for a harness check (a script's outcomes do not vary by
    chance, so a p-value would read as evidence it is not)."""
    return "—" if d.harness_check else fmt_p_of(d.result)


def _frontmatter(r: MatrixResults) -> str:
    def one_or_many(values: list[str]) -> str | list[str] | None:
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    data: dict[str, Any] = {
        "title": f"Matrix {r.matrix_id}",
        "matrix": r.matrix_id,
        "experiment": f"experiment.{r.experiment}",
        "generator": GENERATOR,
        "specHash": one_or_many(r.spec_hashes),
        "knowledgeCommit": one_or_many(r.knowledge_commits),
        "knowledge": {c: one_or_many(h) for c, h in r.knowledge_hashes.items() if h},
        "fixtures": {f: one_or_many(h) for f, h in r.fixtures.items()},
        "agents": [
            {
                "name": a.name,
                "adapter": a.adapter,
                "version": one_or_many(a.versions),
                "decisions": one_or_many(a.decisions),
            }
            for a in r.agents
        ],
        "label": r.label,
        "conditions": list(r.conditions),
        "baseline": r.baseline,
        "cells": len(r.cells),
        "repeats": r.repeats,
        "runs": {
            "expected": r.runs.expected,
            "counted": r.runs.counted,
            "excluded": [
                {"run": e.run_id, "status": e.status, "reason": e.reason} for e in r.runs.excluded
            ],
            "missing": list(r.runs.missing),
        },
    }
    return dump_yaml(data)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _summary(r: MatrixResults) -> str:
    expected = f" of {r.runs.expected} expected" if r.runs.expected is not None else ""
    parts = [
        f"{r.runs.counted} runs counted{expected}; {len(r.runs.excluded)} excluded, "
        f"{len(r.runs.missing)} missing.",
        " × ".join(
            _count(len(items), noun)
            for items, noun in (
                (r.fixtures, "fixture"),
                (r.conditions, "condition"),
                (r.agents, "agent"),
            )
        )
        + f" × up to {_count(r.repeats, 'repeat')}; baseline {_code(r.baseline)}.",
    ]
    return " ".join(parts)


HARNESS_BANNER = (
    "**Harness check**: a script made every decision in these runs (the scripted adapter, or "
    "an agent CLI driven by the scripted model), so the numbers check the harness, not "
    "evidence about agents; no significance verdict is given, and tokens and cost are "
    "simulated."
)
MIXED_BANNER = (
    "**Partly a harness check**: a script made the decisions of the rows marked (scripted); "
    "those rows and every comparison that pools them are harness checks with no significance "
    "verdict, not evidence about agents."
)


def headline(r: MatrixResults) -> list[str]:
    """One line per condition against the baseline (all agents) on clean pass and pass, and
    one per page ablation; first, for scripted runs, that they are a harness check."""
    lines = []
    if r.label == HARNESS_CHECK:
        lines.append(HARNESS_BANNER)
    elif r.label == MIXED:
        lines.append(MIXED_BANNER)
    for d in r.deltas:
        if d.agent is None and d.metric in ("clean_pass", "pass"):
            lines.append(_delta_line(d))
    for a in r.attributions:
        if a.delta.metric == "clean_pass":
            p = "" if a.delta.harness_check else f"{fmt_p_is(a.delta.p_value)}; "
            lines.append(f"{escape.text(a.sentence)} ({p}{a.delta.verdict})")
    return lines


def inference_notes(r: MatrixResults) -> list[str]:
    """What the headline's p-values are adjusted over, and what they generalise to."""
    if r.holm:
        family = ", ".join(r.holm_family)  # Markdown, escaped where it was made
        holm = (
            "Holm's correction is applied, per metric and per agent scope, over the family of "
            f"{len(r.holm_family)} comparisons: {family} (per fixture: the comparisons with "
            f"{_code(r.baseline)} on that fixture)."
        )
    elif r.holm_family:
        holm = (
            f"No multiplicity adjustment: one comparison ({r.holm_family[0]}) per metric and scope."
        )
    else:
        holm = "No comparison: nothing is adjusted."
    names = ", ".join(_code(f) for f in r.fixtures)
    chosen = (
        f"The fixtures ({names}) were chosen, not sampled: the intervals and p-values cover the "
        "runs' variation on these fixtures, so the inference holds for these fixtures, not for "
        "tasks in general."
    )
    return [holm, chosen]


def _delta_line(d: Delta) -> str:
    if d.harness_check:
        return (
            f"**{escape.text(d.treatment)}** vs {_code(d.baseline)}, {LABELS[d.metric]}: "
            f"{_delta_text(d)} over {d.pairs} pairs: {d.verdict}"
        )
    holm = f", {fmt_p_is(d.p_adjusted, 'Holm p')}" if d.p_adjusted is not None else ""
    return (
        f"**{escape.text(d.treatment)}** vs {_code(d.baseline)}, {LABELS[d.metric]}: "
        f"{_delta_text(d)} over {d.pairs} pairs, {fmt_p_is(d.p_value)}{holm}: {d.verdict}"
    )


def _outcomes(groups: list[Group]) -> dict:
    columns = ["condition", "agent", "runs", *(LABELS[m] for m in ("pass", "clean_pass", *RULES))]
    rows = [
        [_code(g.condition), _group_agent(g), str(g.runs)]
        + [_rate(g.rates[m]) for m in ("pass", "clean_pass", *RULES)]
        for g in groups
    ]
    return _table(columns, rows, "No counted runs.")


def _costs(groups: list[Group]) -> dict:
    metrics = list(groups[0].means) if groups else []
    columns = ["condition", "agent", *(LABELS[m] for m in metrics)]
    rows = [
        [_code(g.condition), _group_agent(g)]
        + [fmt_mean(g.means[m]) + _simulated(g, m) for m in metrics]
        for g in groups
    ]
    return _table(columns, rows, "No counted runs.")


def _simulated(g: Group, metric: str) -> str:
    found = g.means[metric].mean is not None
    return " (simulated)" if found and g.simulated and metric in SIMULATED_METRICS else ""


def _protocol(groups: list[Group]) -> dict:
    columns = ["condition", "agent", *(LABELS[m] for m in PROTOCOL)]
    rows = [
        [_code(g.condition), _group_agent(g)] + [_rate(g.rates[m]) for m in PROTOCOL]
        for g in groups
        if any(g.rates[m].n for m in PROTOCOL)
    ]
    return _table(columns, rows, "No condition attached the MCP server.")


def _delta_row(d: Delta, first: str) -> list[str]:
    return [
        first,
        _agent(d.agent),
        str(d.pairs),
        _delta_text(d),
        _p(d),
        _p_holm(d),
        d.verdict,
    ]


DELTA_COLUMNS = ["metric", "agents", "pairs", "delta [95% CI]", "p", "p (Holm)", "verdict"]


def _delta_sections(r: MatrixResults) -> list[dict]:
    sections = []
    for treatment in [c for c in r.conditions if c != r.baseline]:
        rows = [_delta_row(d, LABELS[d.metric]) for d in r.deltas if d.treatment == treatment]
        sections.append(
            {
                "title": f"{_code(treatment)} − {_code(r.baseline)}",
                "table": _table(DELTA_COLUMNS, rows, "No pairs."),
            }
        )
    return sections


def _rules_broken(g: Group) -> str:
    broken = [f"{LABELS[m]} {g.rates[m].k}/{g.rates[m].n}" for m in RULES if g.rates[m].k]
    return ", ".join(broken) if broken else "none"


def _fixture_table(r: MatrixResults) -> dict:
    columns = ["fixture", "condition", "agent", "runs", "pass", "clean pass", "rules broken"]
    rows = [
        [
            _code(g.fixture or ""),
            _code(g.condition),
            _group_agent(g),
            str(g.runs),
            _rate(g.rates["pass"]),
            _rate(g.rates["clean_pass"]),
            _rules_broken(g),
        ]
        for g in r.fixture_groups
    ]
    return _table(columns, rows, "No counted runs.")


def _fixture_delta_table(r: MatrixResults) -> dict:
    columns = ["fixture", "comparison", "metric", "pairs", "delta [95% CI]", "p", "p (Holm)",
               "verdict"]  # fmt: skip
    rows = [
        [
            _code(d.fixture or ""),
            f"{_code(d.treatment)} − {_code(d.baseline)}",
            LABELS[d.metric],
            str(d.pairs),
            _delta_text(d),
            _p(d),
            _p_holm(d),
            d.verdict,
        ]
        for d in r.fixture_deltas
    ]
    return _table(columns, rows, "Only one condition: nothing to compare per fixture.")


def _attribution(r: MatrixResults) -> tuple[list[str], dict]:
    lines = [escape.text(a.sentence) for a in r.attributions if a.delta.metric == "clean_pass"]
    columns = ["page", "metric", "pairs", "delta [95% CI]", "p", "p (Holm)", "verdict"]
    rows = [
        [
            _code(a.page),
            LABELS[a.delta.metric],
            str(a.delta.pairs),
            _delta_text(a.delta),
            _p(a.delta),
            _p_holm(a.delta),
            a.delta.verdict,
        ]
        for a in r.attributions
    ]
    empty = (
        f"No `{ABLATION_PREFIX}<page>` condition in this matrix: add one (with `brief`) to "
        "measure what a single page contributes."
    )
    return lines, _table(columns, rows, empty)


def _pass_k_table(r: MatrixResults) -> dict:
    columns = ["condition", "agent", "metric", "k", "pass@k [95% CI]", "pass^k [95% CI]"]
    rows = [
        [
            _code(p.condition),
            _agent(p.agent),
            LABELS[p.metric],
            str(p.k),
            fmt_pass_k(p.pass_at_k),
            fmt_pass_k(p.pass_hat_k),
        ]
        for p in r.pass_k
    ]
    return _table(columns, rows, "No counted runs.")


def _nulls(r: MatrixResults) -> dict:
    columns = ["metric", "condition", "agent", "runs without a value", "why"]
    rows = [
        [LABELS[m], _code(g.condition), _agent(g.agent), f"{n}/{g.runs}", escape.text("; ".join(
            g.null_reasons.get(m, [])))]
        for g in r.groups
        if g.agent is not None or len(r.agents) == 1
        for m, n in g.nulls.items()
        if m not in PROTOCOL or g.condition != "none"
    ]  # fmt: skip
    return _table(columns, rows, "Every metric had its source in every counted run.")


def _excluded(r: MatrixResults) -> dict:
    rows = [[_code(e.run_id), escape.text(e.status), escape.text(e.reason)]
            for e in r.runs.excluded]  # fmt: skip
    rows += [[_code(run_id), "missing", "the spec expects this run; no record exists"]
             for run_id in r.runs.missing]  # fmt: skip
    return _table(["run", "status", "reason"], rows, "None: every expected run counted.")


def _colours(r: MatrixResults) -> dict[str, str]:
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(r.conditions)}


def _rate_charts(r: MatrixResults) -> list[str]:
    colours = _colours(r)
    groups = [g for g in r.groups if g.agent is not None or len(r.agents) == 1]
    out = []
    for metric in RATE_CHART_METRICS:
        bars = [
            Bar(
                label=f"{g.condition} · {_agent(g.agent)}",
                value=g.rates[metric].p,
                low=g.rates[metric].low,
                high=g.rates[metric].high,
                text=f"{fmt_fixed(g.rates[metric].p)} ({g.rates[metric].k}/{g.rates[metric].n})",
                colour=colours[g.condition],
            )
            for g in groups
        ]
        title = f"{LABELS[metric]} by condition and agent (95% Wilson interval)"
        out.append(svg(rate_chart(title, bars)))
    return out


def _delta_charts(r: MatrixResults) -> list[str]:
    colours = _colours(r)
    bars = [
        Bar(
            label=f"{d.treatment} · {_agent(d.agent)}",
            value=d.delta,
            low=d.result.low,
            high=d.result.high,
            text=fmt_delta(d.result) + (" *" if d.significant else ""),
            colour=colours[d.treatment],
        )
        for d in r.deltas
        if d.metric == "clean_pass"
    ]
    if not bars:
        return []
    harness = all(d.harness_check for d in r.deltas if d.metric == "clean_pass")
    marks = "harness check: no significance marked" if harness else "* significant"
    title = f"clean pass − {r.baseline} (95% Newcombe interval; {marks})"
    return [svg(delta_chart(title, bars))]


def svg(chart: dict) -> str:
    return environment().get_template("chart.svg.j2").render(chart=chart).rstrip("\n")


def render_report(r: MatrixResults) -> str:
    """The report's Markdown (frontmatter, tables, charts): the same results, the same bytes."""
    lines, attribution_table = _attribution(r)
    holm_note = (
        "p-values are Holm-adjusted across the comparisons of each metric and agent scope "
        "(more than two conditions)."
        if r.holm
        else "Two conditions: one comparison per metric and scope, no multiplicity adjustment."
    )
    context = {
        "frontmatter": _frontmatter(r),
        "title": f"Matrix {_code(r.matrix_id)}",
        "summary": _summary(r),
        "headline": headline(r) or ["Only one condition: no comparison to report."],
        "inference": inference_notes(r),
        "outcomes": _outcomes(r.groups),
        "rate_charts": _rate_charts(r),
        "costs": _costs(r.groups),
        "protocol": _protocol(r.groups),
        "baseline": _code(r.baseline),
        "holm_note": holm_note,
        "delta_sections": _delta_sections(r),
        "delta_charts": _delta_charts(r),
        "fixture_table": _fixture_table(r),
        "fixture_delta_table": _fixture_delta_table(r),
        "attribution_lines": lines,
        "attribution_table": attribution_table,
        "pass_k": _pass_k_table(r),
        "nulls": _nulls(r),
        "excluded": _excluded(r),
    }
    text = environment().get_template("report.md.j2").render(**context)
    return _tidy(text)


def _tidy(text: str) -> str:
    """At most one blank line in a row, one newline at the end."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"
