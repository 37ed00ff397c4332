"""`report compare A B` (the PR gate) and `report summary` (the PR comment's Markdown).

A and B are matrix references: `<matrix-id>` (or `<experiment>/<matrix-id>`) in the working
tree, or `<matrix-id>@<git-rev>` as of a revision, so one matrix can be compared with itself
across a pull request. Runs of A and B are paired by cell and repeat (fixture, condition, agent,
repeat); delta = B - A. The two matrices' runs are independent, so pairing them by repeat
number is arbitrary, but the paired test stays valid (under no difference each discordant pair
is equally likely either way); it is only less powerful than an unpaired test would be.

Scopes: each fixture x condition x agent (the issue's breakdown), each condition x agent over
all fixtures, and each condition over everything. The gate metrics are pass and clean pass;
their p-values are Holm-adjusted over every row of the comparison (a gate must not cry wolf),
and a row whose B is significantly worse than A is a regression: `compare` exits 1 on one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from experimentos.errors import NotFound, UsageError
from experimentos.markdown.escape import code, text
from experimentos.matrix.metrics import LABELS
from experimentos.reports.analysis import Delta, judge, paired_delta
from experimentos.reports.load import find_matrix, matrices, report_rel
from experimentos.reports.render import environment, headline
from experimentos.reports.results import MatrixData
from experimentos.reports.rows import RunRow
from experimentos.reports.sources import open_source
from experimentos.stats import fmt_delta, fmt_p, fmt_p_is, fmt_rate, holm

GATE_METRICS = ("pass", "clean_pass")


class MatrixRef(BaseModel):
    text: str  # as given
    matrix_id: str
    experiment: str
    rev: str | None = None
    commit: str | None = None
    counted: int
    excluded: int


class CompareRow(BaseModel):
    fixture: str | None  # None: all fixtures
    condition: str | None  # None: all conditions
    agent: str | None  # None: all agents
    delta: Delta


class Comparison(BaseModel):
    a: MatrixRef
    b: MatrixRef
    rows: list[CompareRow]
    only_a: list[str]  # cells (fixture/condition/agent) with counted runs in A only
    only_b: list[str]

    @property
    def regressions(self) -> list[CompareRow]:
        return [r for r in self.rows if r.delta.regression]


def parse_ref(text: str) -> tuple[str, str | None]:
    """`id`, `exp/id`, `id@rev` -> (matrix reference, revision or None)."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("a matrix reference is <matrix-id> or <matrix-id>@<git-rev>")
    ref, sep, rev = text.strip().partition("@")
    if sep and not rev:
        raise UsageError(f"{text!r}: nothing after '@' (expected <matrix-id>@<git-rev>)")
    if not ref:
        raise UsageError(f"{text!r}: no matrix id before '@'")
    return ref, (rev or None)


def _load(root: Path, text: str, missing_ok: bool = False) -> tuple[MatrixRef, MatrixData]:
    """A side of the comparison; with `missing_ok`, a matrix with no runs at its revision is
    an empty side (a report a pull request adds has nothing at the base)."""
    ref, rev = parse_ref(text)
    source = open_source(root, rev)
    try:
        data = find_matrix(source, ref)
    except NotFound:
        if not (missing_ok and rev is not None):
            raise
        slug, _, matrix_id = ref.rpartition("/")
        data = MatrixData(matrix_id=matrix_id, experiment=slug or "-", rows=[])
    counted = sum(1 for r in data.rows if r.counted)
    info = MatrixRef(
        text=text,
        matrix_id=data.matrix_id,
        experiment=data.experiment,
        rev=rev,
        commit=source.commit,
        counted=counted,
        excluded=len(data.rows) - counted,
    )
    return info, data


def _relabel(rows: list[RunRow], side: str) -> list[RunRow]:
    return [r.model_copy(update={"condition": f"{side}\0{r.condition}"}) for r in rows if r.counted]


def compare_matrices(root: Path, a: str, b: str) -> Comparison:
    """Per fixture x condition x agent (and pooled) deltas B - A of the gate metrics."""
    # The side at a git revision may predate the matrix (exit 0, nothing to compare); a
    # matrix missing on both sides, or in the working tree, is bad input.
    ref_b, data_b = _load(root, b, missing_ok=True)
    ref_a, data_a = _load(root, a, missing_ok=bool(data_b.rows))
    if not data_b.rows and not data_a.rows:
        raise NotFound(f"no runs of {b!r} nor of {a!r}", field="matrix")
    cells_a = {(r.fixture, r.condition, r.agent) for r in data_a.rows if r.counted}
    cells_b = {(r.fixture, r.condition, r.agent) for r in data_b.rows if r.counted}
    both = cells_a & cells_b
    rows = _relabel(data_a.rows, "a") + _relabel(data_b.rows, "b")
    conditions = _order({c for _, c, _ in both}, data_b.conditions or data_a.conditions)
    agents = _order({x for _, _, x in both}, data_b.agents or data_a.agents)
    fixtures = _order({f for f, _, _ in both}, data_b.fixtures or data_a.fixtures)
    scopes: list[tuple[str | None, str, str | None]] = []
    for condition in conditions:
        scopes.append((None, condition, None))
        scopes += [(None, condition, agent) for agent in agents]
        scopes += [
            (fixture, condition, agent)
            for fixture in fixtures
            for agent in agents
            if (fixture, condition, agent) in both
        ]
    out: list[CompareRow] = []
    for fixture, condition, agent in scopes:
        for metric in GATE_METRICS:
            delta = paired_delta(
                [r for r in rows if r.condition.endswith(f"\0{condition}")],
                metric,
                f"a\0{condition}",
                f"b\0{condition}",
                fixtures=[fixture]
                if fixture
                else sorted({f for f, c, _ in both if c == condition}),
                agents=[agent] if agent else None,
            )
            delta = delta.model_copy(
                update={"baseline": a, "treatment": b, "fixture": fixture, "agent": agent}
            )
            out.append(CompareRow(fixture=fixture, condition=condition, agent=agent, delta=delta))
    adjusted = holm([r.delta.p_value for r in out])
    for row, p in zip(out, adjusted, strict=True):
        key = "binary" if row.delta.binary is not None else "numeric"
        result = row.delta.result.model_copy(update={"p_adjusted": p})
        row.delta = judge(row.delta.model_copy(update={key: result}))
    return Comparison(
        a=ref_a,
        b=ref_b,
        rows=out,
        only_a=[_cell(c) for c in sorted(cells_a - cells_b, key=_key)],
        only_b=[_cell(c) for c in sorted(cells_b - cells_a, key=_key)],
    )


def _order(found: set, preferred: list[str]) -> list[str]:
    head = [x for x in preferred if x in found]
    return head + sorted(found - set(head))


def _key(cell: tuple) -> tuple:
    return tuple(x or "" for x in cell)


def _cell(cell: tuple) -> str:
    return "/".join(x or "" for x in cell)


def _scope(row: CompareRow) -> str:
    parts = [
        code(row.fixture) if row.fixture else "all fixtures",
        code(row.condition) if row.condition else "all conditions",
        text(row.agent) if row.agent else "all agents",
    ]
    return " · ".join(parts)


def render_comparison(c: Comparison) -> str:
    """The comparison as Markdown (what a PR comment shows)."""
    regressions = c.regressions
    if regressions:
        verdict = (
            f"**{len(regressions)} significant regression(s)** of {code(c.b.text)} against "
            f"{code(c.a.text)} (Holm-adjusted over {len(c.rows)} comparisons)."
        )
    else:
        verdict = (
            f"No significant regression of {code(c.b.text)} against {code(c.a.text)} "
            f"(Holm-adjusted over {len(c.rows)} comparisons)."
        )
    rows = [
        [
            _scope(r),
            LABELS[r.delta.metric],
            fmt_rate(r.delta.result.baseline),  # type: ignore[union-attr]
            fmt_rate(r.delta.result.treatment),  # type: ignore[union-attr]
            fmt_delta(r.delta.result),
            fmt_p(r.delta.p_value),
            fmt_p(r.delta.p_adjusted),
            ("**regression** — " if r.delta.regression else "") + r.delta.verdict,
        ]
        for r in c.rows
    ]
    context = {
        "title": f"{code(c.a.text)} → {code(c.b.text)}",
        "verdict": verdict,
        "a": _describe(c.a),
        "b": _describe(c.b),
        "comparison": {
            "columns": ["scope", "metric", "A", "B", "B − A [95% CI]", "p", "p (Holm)", "verdict"],
            "align": ["---"] * 8,
            "rows": rows,
            "empty": "No cell ran in both matrices: nothing to compare.",
        },
        "only": [f"only in A: {code(x)}" for x in c.only_a]
        + [f"only in B: {code(x)}" for x in c.only_b],
    }
    text = environment().get_template("compare.md.j2").render(**context)
    return text.rstrip("\n") + "\n"


def _describe(ref: MatrixRef) -> str:
    where = (
        f"at {text(ref.rev)} ({text(ref.commit[:12])})"
        if ref.rev and ref.commit
        else "working tree"
    )
    if ref.counted == 0 and ref.excluded == 0:
        return f"{code(ref.matrix_id)} {where}: no runs (the matrix is new on the other side)"
    return (
        f"{code(f'{ref.experiment}/{ref.matrix_id}')} {where}: {ref.counted} runs counted, "
        f"{ref.excluded} not counted"
    )


# --- summary ----------------------------------------------------------------------------------


class MatrixSummary(BaseModel):
    matrix_id: str
    experiment: str
    report_path: str
    counted: int
    excluded: int
    headline: list[str]
    comparison: Comparison | None = None  # against --base, when the matrix exists there
    new: bool = False  # not at --base


class Summary(BaseModel):
    base: str | None
    matrices: list[MatrixSummary]

    @property
    def regression(self) -> bool:
        return any(m.comparison is not None and m.comparison.regressions for m in self.matrices)


def summarize(root: Path, base: str | None = None) -> Summary:
    """Every matrix's headline; with `base`, each compared with itself at that revision."""
    from experimentos.reports.results import analyze

    current = matrices(open_source(root, None))
    at_base = (
        {(m.experiment, m.matrix_id) for m in matrices(open_source(root, base))} if base else set()
    )
    out = []
    for data in current:
        rel = report_rel(data.experiment, data.matrix_id)
        results = analyze(data, rel)
        ref = f"{data.experiment}/{data.matrix_id}"
        comparison = None
        if base and (data.experiment, data.matrix_id) in at_base:
            comparison = compare_matrices(root, f"{ref}@{base}", ref)
        out.append(
            MatrixSummary(
                matrix_id=data.matrix_id,
                experiment=data.experiment,
                report_path=rel,
                counted=results.runs.counted,
                excluded=len(results.runs.excluded),
                headline=headline(results),
                comparison=comparison,
                new=bool(base) and (data.experiment, data.matrix_id) not in at_base,
            )
        )
    return Summary(base=base, matrices=out)


def render_summary(s: Summary) -> str:
    sections = []
    for m in s.matrices:
        lines = list(m.headline) or ["Only one condition: no comparison to report."]
        regressions: list[str] = []
        if m.comparison is not None:
            regs = m.comparison.regressions
            lines.append(
                f"against {code(s.base)}: {len(regs)} significant regression(s) "
                f"over {len(m.comparison.rows)} comparisons"
                if regs
                else f"against {code(s.base)}: no significant regression"
            )
            regressions = [
                f"{_scope(r)}, {LABELS[r.delta.metric]}: {fmt_delta(r.delta.result)} "
                f"({fmt_p_is(r.delta.p_adjusted, 'Holm p')})"
                for r in regs
            ]
        elif m.new:
            lines.append(f"new: not at {code(s.base)}")
        sections.append(
            {
                "title": code(f"{m.experiment}/{m.matrix_id}"),
                "counts": f"{m.counted} runs counted, {m.excluded} not counted; report: "
                f"{code(m.report_path)}",
                "lines": lines,
                "regressions": regressions,
            }
        )
    verdict = (
        "**A significant regression** against the base: see below."
        if s.regression
        else ("No significant regression against the base." if s.base else "")
    )
    text = (
        environment()
        .get_template("summary.md.j2")
        .render(sections=sections, verdict=verdict, empty="No matrix runs in this repository.")
    )
    return text.rstrip("\n") + "\n"
