"""Contexts for the experiments tree, each experiment (with its tests), each run, each report."""

from __future__ import annotations

import json
from typing import Any

from experimentos.models.events import RunEvent
from experimentos.models.lab import ExperimentTest
from experimentos.site.collect import SourceExperiment, SourceReport, SourceRun
from experimentos.site.env import fmt
from experimentos.site.markdown import render_markdown
from experimentos.site.urls import (
    Link,
    SiteMap,
    experiment_url,
    report_url,
    run_url,
    test_anchor,
)

PAYLOAD_SHOWN = 400  # characters of an event payload on the timeline
_DIFF_CLASSES = (("+++", "file"), ("---", "file"), ("diff ", "file"), ("@@", "hunk"))


def _short(value: Any, limit: int = PAYLOAD_SHOWN) -> str:
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = value
    return text if len(text) <= limit else text[: limit - 1] + "…"


LONG_TOKEN = 24  # a value with a word this long (a hash, an id, a path) may break anywhere


def _rows(mapping: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Key/value rows of a flat mapping; nested values as compact JSON."""
    rows = []
    for key, value in (mapping or {}).items():
        text = _value(value)
        long = any(len(word) >= LONG_TOKEN for word in text.split())
        rows.append({"key": str(key), "value": text, "long": long})
    return rows


def _value(value: Any) -> str:
    if isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
    ):
        return _short(value, 2000)
    return fmt(value)


# --- the tree ---------------------------------------------------------------------------------


def experiment_tree(experiments: list[SourceExperiment]) -> list[dict[str, Any]]:
    """Nested nodes: roots are experiments without a (known) parent; children sorted by slug."""
    by_id = {e.model.id: e for e in experiments}
    children: dict[str, list[SourceExperiment]] = {}
    roots = []
    for exp in experiments:
        parent = exp.model.parent
        if parent in by_id:
            children.setdefault(parent, []).append(exp)
        else:
            roots.append(exp)
    seen: set[str] = set()

    def node(exp: SourceExperiment) -> dict[str, Any]:
        seen.add(exp.model.id)
        kids = [k for k in children.get(exp.model.id, []) if k.model.id not in seen]
        return {
            "link": Link(exp.model.name, experiment_url(exp.slug)),
            "id": exp.model.id,
            "kind": exp.model.kind.value,
            "status": exp.model.status.value,
            "runs": len(exp.runs),
            "tests": len(exp.tests),
            "reports": len(exp.reports),
            "children": [node(k) for k in kids],
        }

    tree = [node(e) for e in roots]
    # A parent cycle leaves its members without a root: show them at the top level.
    tree += [node(e) for e in experiments if e.model.id not in seen]
    return tree


# --- one experiment ---------------------------------------------------------------------------


def _assertion(test: ExperimentTest) -> str:
    a = test.assertion
    if a.kind == "metric_threshold":
        run = f" (run {a.run})" if a.run else ""
        return f"{a.scope} metric {a.metric} {a.op.value} {fmt(a.value)}{run}"
    if a.kind == "run_outcome":
        return f"run {a.run} ended with {a.expected.value}"
    if a.kind == "manual":
        return f"manual: {a.question}" if a.question else "manual verdict"
    return f"{a.metric}({a.treatment}) - {a.metric}({a.baseline}) {a.op.value} {fmt(a.value)}"


def _verdict(passed: bool | None) -> str:
    return "unset" if passed is None else ("pass" if passed else "fail")


def _run_row(run: SourceRun) -> dict[str, Any]:
    record = run.record
    matrix = record.matrix
    oracle = record.metrics.get("oracle_passed")
    if matrix and matrix.oracle:
        oracle = matrix.oracle.passed
    # A matrix run is named by its cell (fixture/condition/agent/repeat); its id is long.
    text = matrix.cell if matrix else record.id
    return {
        "link": Link(text, run_url(run.experiment, record.id), note=record.id),
        "agent": record.agent,
        "model": record.model,
        "condition": record.condition,
        "status": record.status.value,
        "outcome": record.outcome.value if record.outcome else None,
        "started": record.started,
        "seconds": _duration(run),
        "oracle": oracle,
    }


def _duration(run: SourceRun) -> float | None:
    record = run.record
    if record.ended is None:
        return None
    return round((record.ended - record.started).total_seconds(), 3)


def experiment_page(
    exp: SourceExperiment,
    site: SiteMap,
    all_exps: list[SourceExperiment],
    grids: list[Link] | None = None,
):
    """(site path, context) of one experiment, its tests, runs, matrix grids and reports."""
    path = experiment_url(exp.slug)
    model = exp.model
    parent = site.link(model.parent, site.titles.get(model.parent)) if model.parent else None
    children = [
        Link(e.model.name, experiment_url(e.slug)) for e in all_exps if e.model.parent == model.id
    ]
    tests = []
    for record in exp.tests:
        test = record.model
        tests.append(
            {
                "anchor": test_anchor(test.slug),
                "name": test.name,
                "id": test.id,
                "assertion": _assertion(test),
                "verdict": _verdict(test.passed),
                "details": test.details,
                "run": site.link(test.run_ref) if test.run_ref else None,
                "evaluated_at": test.evaluated_at,
                "body": render_markdown(test.body, site.resolver(path, record.path)),
            }
        )
    context = {
        "id": model.id,
        "name": model.name,
        "kind": model.kind.value,
        "status": model.status.value,
        "created": model.created,
        "parent": parent,
        "children": children,
        "hypothesis": model.hypothesis,
        "metrics": _rows(model.metrics),
        "history": [
            {"from": h.from_.value, "to": h.to.value, "at": h.at, "note": h.note}
            for h in model.status_history
        ],
        "body": render_markdown(model.body, site.resolver(path, exp.path), title=model.name),
        "tests": tests,
        "runs": [_run_row(r) for r in exp.runs],
        "reports": [_report_link(r) for r in exp.reports],
        "grids": grids or [],
        "matrix_yaml": exp.matrix_yaml,
        "source": exp.path,
    }
    return path, context


def _report_link(report: SourceReport) -> Link:
    return Link(report_title(report), report_url(report.experiment, report.matrix_id))


def report_title(report: SourceReport) -> str:
    title = report.meta.get("title")
    return str(title) if isinstance(title, str) and title.strip() else f"Matrix {report.matrix_id}"


# --- one run ----------------------------------------------------------------------------------


def timeline(events: list[RunEvent]) -> list[dict[str, Any]]:
    """The event log in step order, with seconds since the first event."""
    if not events:
        return []
    start = min(e.ts for e in events)
    return [
        {
            "step": e.step,
            "at": f"+{(e.ts - start).total_seconds():.3f}s",
            "type": e.type,
            "source": e.source,
            "payload": _short(e.payload) if e.payload else "",
        }
        for e in sorted(events, key=lambda e: e.step)
    ]


def diff_lines(diff: str) -> list[dict[str, str]]:
    """The diff's lines with a class each: file headers, hunks, additions, removals. Each keeps
    its line end: the page shows each line as a block, and copying the block gives the diff."""
    out = []
    for line in diff.splitlines(keepends=True):
        kind = next((c for prefix, c in _DIFF_CLASSES if line.startswith(prefix)), "")
        if not kind and line.startswith("+"):
            kind = "add"
        elif not kind and line.startswith("-"):
            kind = "del"
        out.append({"kind": kind or "ctx", "text": line})
    return out


def _process(process: Any) -> dict[str, Any] | None:
    if process is None:
        return None
    return {
        "command": process.command,
        "exit_code": process.exit_code,
        "passed": process.passed,
        "timed_out": process.timed_out,
        "seconds": process.seconds,
        "output": process.output_tail,
        "output_bytes": process.output_bytes,
        "truncated": process.truncated,
    }


def run_page(
    run: SourceRun, site: SiteMap, grid_cell: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(site path, context) of one run: what it was, its timeline, diff, oracle, transcript;
    `grid_cell`: the URL of its cell in its matrix's grid."""
    record = run.record
    path = run_url(run.experiment, record.id)
    matrix = record.matrix
    context: dict[str, Any] = {
        "id": record.id,
        "task": record.task,
        "experiment": site.link(record.experiment, site.titles.get(record.experiment)),
        "facts": _rows(
            {
                "agent": record.agent,
                "model": record.model,
                "toolchain": record.toolchain,
                "condition": record.condition,
                "status": record.status.value,
                "outcome": record.outcome.value if record.outcome else None,
                "brief": record.brief,
                "knowledge commit": record.knowledge_commit,
                "started": record.started,
                "ended": record.ended,
                "seconds": _duration(run),
            }
        ),
        "metrics": _rows(record.metrics),
        "timeline": timeline(run.events),
        "diff": diff_lines(run.diff) if run.diff is not None else None,
        "diff_cut": run.diff_cut,
        "body": render_markdown(record.body, site.resolver(path, run.path)),
        "matrix": None,
        "grid_cell": grid_cell,
    }
    if matrix is not None:
        knowledge = matrix.knowledge.model_dump(by_alias=True) if matrix.knowledge else None
        rules = matrix.rules or {}
        rules_ok = None if rules.get("ok") is None else bool(rules.get("ok"))
        transcript = matrix.transcript or {}
        context["matrix"] = {
            "facts": _rows(
                {
                    "matrix": matrix.id,
                    "cell": matrix.cell,
                    "fixture": matrix.fixture,
                    "adapter": matrix.adapter,
                    "agent version": matrix.agent_version,
                    "repeat": matrix.repeat,
                    "attempt": matrix.attempt,
                    "time limit (s)": matrix.time_limit_s,
                    "harness": matrix.harness,
                    "spec hash": matrix.spec_hash,
                    "fixture hash": matrix.fixture_hash,
                    "reason": matrix.reason,
                }
            ),
            "knowledge": _rows(knowledge),
            "prompt": matrix.prompt,
            "agent": _process(matrix.agent_process),
            "oracle": _process(matrix.oracle),
            "usage": _rows(matrix.usage.model_dump(by_alias=True) if matrix.usage else None),
            "rules_ok": rules_ok,
            "rules_said": "not checked"
            if rules_ok is None
            else ("every rule kept" if rules_ok else "a rule was broken"),
            "rules": _rows({k: v for k, v in rules.items() if k != "ok"}),
            "diff_files": [
                {
                    "path": str(f.get("path", "")),
                    "status": str(f.get("status", "")),
                    "added": f.get("lines_added"),
                    "removed": f.get("lines_removed"),
                }
                for f in (matrix.diff or {}).get("files", [])
                if isinstance(f, dict)
            ],
            "transcript": _rows(
                {k: v for k, v in transcript.items() if k not in ("finalAnswer", "errors")}
            ),
            "final_answer": transcript.get("finalAnswer"),
            "transcript_errors": [_short(e) for e in transcript.get("errors") or []],
            "attempts": [
                {"status": a.status.value, "reason": a.reason, "ended": a.ended}
                for a in matrix.previous_attempts
            ],
            "timings": _rows(matrix.timings),
        }
    return path, context


# --- one report -------------------------------------------------------------------------------


def report_page(
    report: SourceReport, exp: SourceExperiment, site: SiteMap, grid: Link | None = None
):
    """(site path, context) of a matrix report: its frontmatter, tables and charts, its runs,
    and its matrix's grid."""
    path = report_url(report.experiment, report.matrix_id)
    runs = [
        Link(r.record.id, run_url(exp.slug, r.record.id))
        for r in exp.runs
        if r.record.matrix is not None and r.record.matrix.id == report.matrix_id
    ]
    title = report_title(report)
    context = {
        "title": title,
        "matrix_id": report.matrix_id,
        "experiment": Link(exp.model.name, experiment_url(exp.slug)),
        "meta": _rows(report.meta),
        "body": render_markdown(
            report.body, site.resolver(path, report.path), keep_svg=True, title=title
        ),
        "runs": runs,
        "grid": grid,
        "source": report.path,
    }
    return path, context


def report_index_rows(experiments: list[SourceExperiment]) -> list[dict[str, Any]]:
    return [
        {
            "link": _report_link(report),
            "experiment": Link(exp.model.name, experiment_url(exp.slug)),
            "matrix_id": report.matrix_id,
        }
        for exp in experiments
        for report in exp.reports
    ]
