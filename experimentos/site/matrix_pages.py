"""The matrix grid: fixture x condition x agent, each cell coloured by its clean-pass rate with
the counts, each cell one click from its runs (what researchers open first, as in promptfoo's
and Inspect's viewers).

The numbers are the report's: the runs come from experimentos.reports.load (only `finished`
runs count; failed, aborted, unreadable and other-fingerprint runs are excluded with their
reason) and each cell is `group_stats` of its runs, the same function that makes the report's
per-fixture table. A cell's n counts the runs whose clean pass is known. Runs whose decisions
came from a script are a harness check (reports.results.evidence_label): the page says so, as
the report does, and so do their agents' columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experimentos.reports.load import matrices
from experimentos.reports.results import (
    HARNESS_CHECK,
    MIXED,
    UNKNOWN,
    MatrixData,
    _condition_order,
    _ordered,
    evidence_label,
    group_stats,
)
from experimentos.reports.rows import RunRow
from experimentos.reports.sources import Source
from experimentos.site.urls import Link, experiment_url, matrix_url, report_url, run_url
from experimentos.stats import Rate
from experimentos.stats.fmt import fmt_fixed, fmt_rate

METRIC = "clean_pass"
SCRIPTED = "script"  # RunRow.decisions of a run whose decisions came from a script
LABEL_NOTES = {
    HARNESS_CHECK: "a script made every decision in these runs (the scripted adapter, or an "
    "agent CLI driven by the scripted model): the grid checks the harness, it is not evidence "
    "about agents.",
    MIXED: "a script made the decisions of the runs in the columns marked harness check: those "
    "columns check the harness, they are not evidence about agents.",
    UNKNOWN: "some run records do not say whether a model or a script made the decisions "
    "(they were recorded before runs said so).",
}


@dataclass
class MatrixView:
    """One matrix's grid, ready for the template (and where each run's cell is)."""

    slug: str
    matrix_id: str
    path: str
    context: dict[str, Any]
    cell_of_run: dict[str, str] = field(default_factory=dict)  # run id -> cell anchor URL


def _scripted(rows: list[RunRow]) -> bool:
    return any(r.decisions == SCRIPTED for r in rows)


def _cell(rows: list[RunRow], condition: str, agent: str | None, fixture: str | None) -> dict:
    """A grid cell: clean pass k/n, its rate (for the colour) and interval, and pass."""
    group = group_stats(rows, condition, agent, fixture, means=False)
    rate: Rate = group.rates[METRIC]
    passed: Rate = group.rates["pass"]
    unknown = group.nulls.get(METRIC, 0)
    title = f"clean pass {fmt_rate(rate)}; pass {fmt_rate(passed)}"
    if unknown:
        title += f"; clean pass unknown for {unknown} run(s)"
    return {
        "key": f"{fixture or 'all'}/{condition}/{agent or 'all'}",
        "count": f"{rate.k}/{rate.n}",
        "rate": None if rate.p is None else f"{rate.p:.2f}",
        "shown": "—" if rate.p is None else fmt_fixed(rate.p),
        "title": title,
        "runs": len(rows),
        "unknown": unknown,
        "scripted": group.scripted,
    }


def _run_row(row: RunRow, slug: str) -> dict[str, Any]:
    text = f"r{row.repeat}" if row.repeat is not None else row.run_id
    clean = row.value(METRIC) if row.counted else None
    rules = [
        name
        for name in ("pin_changed", "protected_edit", "out_of_scope", "forbidden_command")
        if row.value(name) is True
    ]
    return {
        "link": Link(text, run_url(slug, row.run_id), note=row.run_id),
        "id": row.run_id,
        "counted": row.counted,
        "status": row.status,
        "pass": row.value("pass") if row.counted else None,
        "clean": clean,
        "verdict": "excluded"
        if not row.counted
        else ("unset" if clean is None else ("pass" if clean else "fail")),
        "rules": ", ".join(rules),
        "reason": row.reason or "",
    }


def matrix_view(data: MatrixData, reports: set[tuple[str, str]], experiment: str) -> MatrixView:
    """The grid of one matrix (`reports`: the (slug, matrix id) pairs that have a report page;
    `experiment`: the experiment's name)."""
    slug, matrix_id = data.experiment, data.matrix_id
    path = matrix_url(slug, matrix_id)
    counted = [r for r in data.rows if r.counted]
    shown = counted or data.rows  # a matrix of excluded runs still shows where they are
    conditions = _condition_order((r.condition for r in shown), data.conditions)
    agents = _ordered((r.agent for r in shown), data.agents)
    fixtures = _ordered((r.fixture for r in shown), data.fixtures)
    by_cell: dict[tuple, list[RunRow]] = {}
    every: dict[tuple, list[RunRow]] = {}
    for row in data.rows:
        key = (row.fixture, row.condition, row.agent)
        every.setdefault(key, []).append(row)
        if row.counted:
            by_cell.setdefault(key, []).append(row)

    anchors: dict[tuple, str] = {}
    drill = []
    cell_of_run: dict[str, str] = {}
    for f in fixtures:
        for a in agents:
            for c in conditions:
                members = every.get((f, c, a))
                if not members:
                    continue
                anchor = f"cell-{len(drill) + 1}"
                anchors[(f, c, a)] = anchor
                runs = sorted(members, key=lambda r: (r.repeat or 0, r.run_id))
                for run in runs:
                    cell_of_run[run.run_id] = f"{path}#{anchor}"
                drill.append(
                    {
                        "anchor": anchor,
                        "fixture": f,
                        "condition": c,
                        "agent": a,
                        "runs": [_run_row(r, slug) for r in runs],
                    }
                )

    def cell(f: str | None, c: str, a: str) -> dict[str, Any]:
        if f is None:
            rows = [r for (ff, cc, aa), rs in by_cell.items() if cc == c and aa == a for r in rs]
        else:
            rows = by_cell.get((f, c, a), [])
        out = _cell(rows, c, a, f)
        out["anchor"] = anchors.get((f, c, a)) if f is not None else None
        out["repeats"] = (
            [_run_row(r, slug) for r in sorted(every.get((f, c, a), []), key=_repeat)]
            if f is not None
            else []
        )
        return out

    columns = [(a, c) for a in agents for c in conditions]
    scripted_agents = {a for a in agents if _scripted([r for r in counted if r.agent == a])}
    excluded = [r for r in data.rows if not r.counted]
    missing = sorted(set(data.expected or []) - {r.run_id for r in data.rows})
    label = evidence_label(counted)
    context = {
        "id": matrix_id,
        "experiment": Link(experiment, experiment_url(slug)),
        "report": Link("the report", report_url(slug, matrix_id))
        if (slug, matrix_id) in reports
        else None,
        "label": label if label in LABEL_NOTES else None,
        "label_note": LABEL_NOTES.get(label, ""),
        "agents": [
            {"name": a, "span": len(conditions), "scripted": a in scripted_agents} for a in agents
        ],
        "columns": [{"key": f"{a}/{c}", "condition": c, "agent": a} for a, c in columns],
        "rows": [{"fixture": f, "cells": [cell(f, c, a) for a, c in columns]} for f in fixtures],
        "total": [cell(None, c, a) for a, c in columns] if len(fixtures) > 1 else [],
        "drill": drill,
        "counts": {
            "runs": len(data.rows),
            "counted": len(counted),
            "excluded": len(excluded),
            "expected": len(data.expected) if data.expected is not None else None,
            "missing": len(missing),
        },
        "shape": f"{len(fixtures)} fixture(s) × {len(conditions)} condition(s) × "
        f"{len(agents)} agent(s)",
        "excluded": [_run_row(r, slug) for r in excluded],
        "missing": missing,
    }
    return MatrixView(slug, matrix_id, path, context, cell_of_run)


def _repeat(row: RunRow) -> tuple[int, str]:
    return (row.repeat or 0, row.run_id)


def matrix_views(
    root: Path, titles: dict[str, str], reports: set[tuple[str, str]]
) -> list[MatrixView]:
    """Every matrix of the knowledge root with its grid, sorted by experiment and matrix id.

    `titles`: experiment slug -> its name."""
    return [
        matrix_view(data, reports, titles.get(data.experiment, data.experiment))
        for data in matrices(Source(root))
    ]


def matrix_index_rows(views: list[MatrixView]) -> list[dict[str, Any]]:
    return [
        {
            "link": Link(view.matrix_id, view.path),
            "experiment": view.context["experiment"],
            "shape": view.context["shape"],
            "counts": view.context["counts"],
            "label": view.context["label"],
        }
        for view in views
    ]
