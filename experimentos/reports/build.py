"""`report build`: write (or check) experiments/<slug>/results/<matrix-id>.md for each matrix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from experimentos.errors import NotFound
from experimentos.reports.load import find_matrix, matrices, report_rel
from experimentos.reports.render import render_report
from experimentos.reports.results import MatrixResults, analyze
from experimentos.reports.sources import Source, Unreadable, open_source
from experimentos.store import Workspace
from experimentos.store.documents import checksum
from experimentos.store.files import atomic_write

Status = Literal["written", "unchanged", "differs", "missing"]


@dataclass
class BuiltReport:
    path: str
    experiment: str
    matrix_id: str
    status: Status  # written/unchanged (build); unchanged/differs/missing (check)
    counted: int
    excluded: int

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "experiment": self.experiment,
            "matrix": self.matrix_id,
            "status": self.status,
            "counted": self.counted,
            "excluded": self.excluded,
        }


@dataclass
class BuildResult:
    check: bool
    reports: list[BuiltReport] = field(default_factory=list)

    @property
    def stale(self) -> list[BuiltReport]:
        """Reports whose committed file differs from what the records produce (or is missing)."""
        return [r for r in self.reports if r.status in ("differs", "missing")]


def results_for(root: Path, ref: str, rev: str | None = None) -> MatrixResults:
    """The analysed results of one matrix (`<matrix-id>` or `<experiment>/<matrix-id>`), from
    the working tree or from git revision `rev`."""
    source = open_source(root, rev)
    data = find_matrix(source, ref)
    return analyze(data, report_rel(data.experiment, data.matrix_id))


def build_reports(
    workspace: Workspace, experiments: Sequence[str] | None = None, *, check: bool = False
) -> BuildResult:
    """Render every matrix's report under the given experiments (default: all) and write the
    files that changed; with `check`, write nothing and say which files differ."""
    root = workspace.root
    source = Source(root)
    result = BuildResult(check=check)
    found = matrices(source, experiments or None)
    if experiments and not found:
        names = ", ".join(experiments)
        raise NotFound(f"no matrix runs under experiment(s) {names}", field="experiment")
    for data in found:
        rel = report_rel(data.experiment, data.matrix_id)
        results = analyze(data, rel)
        text = render_report(results).encode("utf-8")
        current = _current(source, rel)
        if current == text:
            status: Status = "unchanged"
        elif check:
            status = "missing" if current is None else "differs"
        else:
            atomic_write(
                root, rel, text, expected=checksum(current) if current is not None else None
            )
            status = "written"
        result.reports.append(
            BuiltReport(
                path=rel,
                experiment=data.experiment,
                matrix_id=data.matrix_id,
                status=status,
                counted=results.runs.counted,
                excluded=len(results.runs.excluded),
            )
        )
    return result


def _current(source: Source, rel: str) -> bytes | None:
    try:
        return source.read(rel)
    except Unreadable:
        return b""  # a symlink or a directory in its place: never equal, and not followed


def report_paths(results: Iterable[BuiltReport]) -> list[str]:
    return [r.path for r in results]
