"""The numbers a results pull request and its comment carry, per matrix.

For each matrix: its headline (the deltas with intervals and verdicts, as the report states
them), its run counts, the rows of its report that changed against the base branch's report
(cell by cell, "before -> after"), links to the report and the site, and, only when the run
records themselves differ from the base's, the `report compare` of the two sets of runs (a
pull request that only regenerates a report compares nothing with itself).

The "after" side is the report the run records produce now (rendered in memory), so the
numbers are right even when the committed file is stale (which is then said); the "before"
side is the report file committed at the base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from experimentos.ci.github import Repository
from experimentos.errors import ExperimentosError
from experimentos.markdown import escape
from experimentos.reports.load import matrices, report_rel
from experimentos.reports.results import MatrixData
from experimentos.reports.sources import Unreadable, open_source
from experimentos.store import Workspace

MAX_ROWS = 25  # changed rows shown per matrix; the rest are counted
_TABLE_SEP = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$")
_DIGIT = re.compile(r"\d")


class RowChange(BaseModel):
    section: str
    row: str
    change: str  # added | removed | changed
    cells: list[str] = Field(default_factory=list)  # "column: before → after"


class MatrixNumbers(BaseModel):
    experiment: str
    matrix_id: str
    report_path: str
    status: str  # new | updated | unchanged | removed
    # What the numbers are evidence of, as the reports library labels a matrix (e.g. "harness
    # check": a script made the decisions, so no significance verdict); None when it has none.
    label: str | None = None
    counts: str = ""
    headline: list[str] = Field(default_factory=list)
    rows: list[RowChange] = Field(default_factory=list)
    rows_more: int = 0
    rows_resized: int = 0  # rows whose estimates held; only counts and intervals moved
    runs_added: int = 0  # run records new since the base
    runs_changed: int = 0  # run records at the base that differ now (or are gone)
    comparison: str | None = None  # `report compare` Markdown, when runs at the base changed
    regression: bool = False
    stale: bool = False  # the committed report is not what the records produce
    report_url: str | None = None
    site_url: str | None = None


@dataclass
class Links:
    """Where the report and the site are, for links (all optional)."""

    repository: Repository | None = None
    ref: str | None = None  # a commit or branch the report file is read at on github.com
    prefix: str = ""  # the knowledge root inside the repository
    site: str | None = None  # the published site's base URL

    def report(self, rel: str) -> str | None:
        if self.repository is None or not self.ref:
            return None
        path = f"{self.prefix}/{rel}" if self.prefix else rel
        return self.repository.url("blob", self.ref, path)

    def site_page(self, slug: str, matrix_id: str) -> str | None:
        if not self.site:
            return None
        from experimentos.site.urls import report_url

        return self.site.rstrip("/") + "/" + report_url(slug, matrix_id)


# --- reading a report's Markdown ----------------------------------------------------------------


@dataclass
class ParsedReport:
    counts: str
    headline: list[str]
    rows: dict[tuple[str, str], dict[str, str]]  # (section, row key) -> column -> cell


def _cells(line: str) -> list[str]:
    body = line.strip()[1:]
    body = body[:-1] if body.endswith("|") else body
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def parse_report(text: str) -> ParsedReport:
    """A report's counts line, headline bullets and table rows keyed by section and row."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        text = text[end + 5 :] if end != -1 else text
    lines = text.splitlines()
    counts, headline = "", []
    rows: dict[tuple[str, str], dict[str, str]] = {}
    section, parent = "", ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            parent = section = line[3:].strip()
        elif line.startswith("### "):
            section = f"{parent} / {line[4:].strip()}" if parent else line[4:].strip()
        elif line.startswith("# "):
            section = parent = ""
        elif not counts and not section and line.strip() and not line.startswith(("<", "|")):
            counts = line.strip()
        elif section == "Headline" and line.startswith("- "):
            headline.append(line[2:].strip())
        elif line.startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            header = _cells(line)
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = _cells(lines[i])
                keys = []
                for cell in cells:
                    if _DIGIT.search(cell.replace("`", "")) and keys:
                        break
                    keys.append(cell)
                key = " · ".join(keys)
                while (section, key) in rows:
                    key += " (again)"
                rows[(section, key)] = dict(zip(header, cells, strict=False))
                i += 1
            continue
        i += 1
    return ParsedReport(counts=counts, headline=headline, rows=rows)


_COUNT_COLUMNS = {"runs", "pairs", "n", "k/n"}


def _estimate(cell: str) -> str:
    """What a cell says, without its interval and counts: `0.50 [0.15, 0.85] (2/4)` -> `0.50`."""
    return re.split(r" \[| \(", cell, maxsplit=1)[0].strip()


def changed_rows(before: ParsedReport, after: ParsedReport) -> tuple[list[RowChange], int]:
    """(rows whose estimates or verdicts changed, in the new report's order, then rows that
    are new or gone; how many more rows changed only in their counts and intervals)."""
    out, resized = [], 0
    for key, cells in after.rows.items():
        old = before.rows.get(key)
        if old is None:
            out.append(RowChange(section=key[0], row=key[1], change="added"))
            continue
        if old == cells:
            continue
        moved = [
            c
            for c, v in cells.items()
            if c.lower() not in _COUNT_COLUMNS and _estimate(old.get(c, "")) != _estimate(v)
        ]
        if not moved:
            resized += 1
            continue
        counts = [c for c in cells if c.lower() in _COUNT_COLUMNS and old.get(c) != cells[c]]
        diff = [f"{c}: {old.get(c, '—')} → {cells[c]}" for c in counts + moved]
        out.append(RowChange(section=key[0], row=key[1], change="changed", cells=diff))
    for key in before.rows:
        if key not in after.rows:
            out.append(RowChange(section=key[0], row=key[1], change="removed"))
    return out, resized


# --- the numbers of each matrix -----------------------------------------------------------------


def _read(source, rel: str) -> str | None:  # noqa: ANN001 - reports.sources.Source
    try:
        raw = source.read(rel)
    except Unreadable:
        return None
    return raw.decode("utf-8", "replace") if raw is not None else None


def _runs_diff(old: MatrixData | None, new: MatrixData) -> tuple[int, int]:
    """(runs added, runs at the base that changed or are gone)."""
    before = {r.run_id: r for r in old.rows} if old is not None else {}
    after = {r.run_id: r for r in new.rows}
    added = sum(1 for run_id in after if run_id not in before)
    changed = sum(1 for run_id, row in before.items() if after.get(run_id) != row)
    return added, changed


def matrix_numbers(
    workspace: Workspace,
    experiments: list[str] | None,
    base: str | None,
    links: Links | None = None,
    *,
    only: set[tuple[str, str]] | None = None,
) -> list[MatrixNumbers]:
    """The numbers of every matrix under `experiments` (default all; `only`: these
    (experiment, matrix) pairs), against the reports committed at `base` (None: no base)."""
    from experimentos.reports.compare import compare_matrices, render_comparison
    from experimentos.reports.render import render_report
    from experimentos.reports.results import analyze

    links = links or Links()
    root = workspace.root
    here = open_source(root, None)
    there = open_source(root, base) if base else None
    current = matrices(here, experiments)
    at_base: dict[tuple[str, str], MatrixData] = {}
    if there is not None:
        known = set(there.experiments())
        slugs = [s for s in (experiments or known) if s in known]
        at_base = {(m.experiment, m.matrix_id): m for m in matrices(there, slugs)}
    out = []
    for data in current:
        key = (data.experiment, data.matrix_id)
        if only is not None and key not in only:
            continue
        rel = report_rel(*key)
        results = analyze(data, rel)
        text = render_report(results)
        after = parse_report(text)
        committed = _read(here, rel)
        before_text = _read(there, rel) if there is not None else None
        before = parse_report(before_text) if before_text else None
        old = at_base.get(key)
        added, changed = _runs_diff(old, data)
        item = MatrixNumbers(
            experiment=data.experiment,
            matrix_id=data.matrix_id,
            report_path=rel,
            status="new" if before is None and old is None else "updated",
            label=getattr(results, "label", None),
            counts=after.counts,
            headline=after.headline,
            runs_added=added,
            runs_changed=changed,
            stale=committed != text,
            report_url=links.report(rel),
            site_url=links.site_page(*key),
        )
        if before is not None:
            rows, item.rows_resized = changed_rows(before, after)
            item.rows, item.rows_more = rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)
            if not rows and not item.rows_resized and not added and not changed:
                item.status = "unchanged"
        # Runs only added: the runs at the base are all still here, and pairing them with
        # themselves would show nothing. Runs replaced or removed: compare the two sets.
        if base and old is not None and changed:
            ref = f"{data.experiment}/{data.matrix_id}"
            try:
                result = compare_matrices(root, f"{ref}@{base}", ref)
            except ExperimentosError as exc:
                item.comparison = f"_report compare failed: {exc}_"
            else:
                item.comparison = render_comparison(result).strip()
                item.regression = bool(result.regressions)
        out.append(item)
    seen = {(m.experiment, m.matrix_id) for m in current}
    for key, data in sorted(at_base.items()):
        if key in seen or (only is not None and key not in only):
            continue
        if experiments is not None and key[0] not in experiments:
            continue
        rel = report_rel(*key)
        out.append(
            MatrixNumbers(
                experiment=key[0],
                matrix_id=key[1],
                report_path=rel,
                status="removed",
                counts=f"the run records of this matrix are gone (it had {len(data.rows)} at base)",
                runs_changed=len(data.rows),
            )
        )
    return out


# --- Markdown -------------------------------------------------------------------------------------

_PLAIN_LABELS = ("agents", "unknown")  # nothing to warn a reviewer about
_LABEL_NOTES = {
    "harness check": (
        ": a script made every decision, so these numbers check the harness, not agents "
        "(no significance verdict)"
    ),
    "mixed": ": the rows marked (scripted) are harness checks, not evidence about agents",
}
_STATUS = {
    "new": "new matrix",
    "updated": "updated",
    "unchanged": "report unchanged",
    "removed": "removed",
}


def render_numbers(items: list[MatrixNumbers], base: str | None, level: int = 3) -> str:
    """The Markdown of each matrix's numbers (a PR comment's or a PR body's section)."""
    hashes = "#" * level
    parts = []
    for m in items:
        links = []
        if m.report_url:
            links.append(f"[report]({m.report_url})")
        if m.site_url:
            links.append(f"[site]({m.site_url})")
        head = f"{hashes} {escape.code(f'{m.experiment}/{m.matrix_id}')}: {_STATUS[m.status]}"
        block = [head, ""]
        if m.regression:
            block += ["**A significant regression** against the base: see the comparison.", ""]
        if links:
            block += [" · ".join(links), ""]
        if m.label and m.label not in _PLAIN_LABELS:
            block += [f"Label: **{m.label}**" + _LABEL_NOTES.get(m.label, ""), ""]
        if m.counts:
            block += [m.counts, ""]
        if m.stale:
            block += [
                f"_{escape.code(m.report_path)} is not what the run records produce: run "
                "`experimentos report build` and commit it. The numbers here are the records'._",
                "",
            ]
        if m.headline:
            block += ["**Headline**", ""] + [f"- {line}" for line in m.headline] + [""]
        elif m.status != "removed":
            block += ["_No headline: the matrix has a single condition, or no counted run._", ""]
        if m.status == "new":
            block += [
                f"New: this matrix has no report at {escape.code(base)}; every row is new.",
                "",
            ]
        elif m.rows:
            total = len(m.rows) + m.rows_more
            block += [
                f"**Rows changed against {escape.code(base)}'s report** ({total})",
                "",
                "| section | row | change |",
                "|---|---|---|",
            ]
            for r in m.rows:
                what = "; ".join(r.cells) if r.change == "changed" else r.change
                block.append(f"| {escape.cell(r.section)} | {r.row} | {escape.cell(what)} |")
            if m.rows_more:
                block.append(f"\n…and {m.rows_more} more changed row(s): see the report.")
            block.append("")
        elif base and m.status == "updated":
            block += [f"No estimate or verdict differs from {escape.code(base)}'s report.", ""]
        elif base and m.status == "unchanged":
            block += [f"No row differs from {escape.code(base)}'s report.", ""]
        if m.rows_resized:
            block += [
                f"{m.rows_resized} more row(s) keep their estimates; only their counts and "
                "intervals moved.",
                "",
            ]
        if m.comparison:
            block += [
                "<details><summary>The runs against the base's runs (report compare)</summary>",
                "",
                m.comparison,
                "",
                "</details>",
                "",
            ]
        elif base and m.status == "updated" and not m.runs_changed:
            if m.runs_added:
                what = (
                    f"{m.runs_added} run record(s) added; the runs already at "
                    f"{escape.code(base)} are unchanged, so there is nothing to compare them with."
                )
            else:
                what = (
                    f"The run records are the same as at {escape.code(base)}: the report is "
                    "regenerated from them, nothing to compare."
                )
            block += [what, ""]
        parts.append("\n".join(block).rstrip("\n"))
    return "\n\n".join(parts) + ("\n" if parts else "")
