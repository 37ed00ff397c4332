"""Find matrices: group an experiment's run rows by matrix id, and read what its spec expects."""

from __future__ import annotations

from collections.abc import Iterable

from experimentos.errors import ExperimentosError, NotFound, UnsafeId, UsageError
from experimentos.matrix.cells import expand
from experimentos.matrix.spec import MatrixSpec, parse_spec, spec_rel
from experimentos.models.names import check_matrix_id
from experimentos.reports.results import MatrixData
from experimentos.reports.rows import RunRow, load_rows, without_mixed_fingerprints
from experimentos.reports.sources import Source, Unreadable
from experimentos.store.lab_paths import EXPERIMENTS_DIR, experiment_slug

RESULTS_DIR = "results"


def report_rel(slug: str, matrix_id: str) -> str:
    """experiments/<slug>/results/<matrix-id>.md (UnsafeId for a name that is not a slug: the
    ids come from run records, which are refused when they hold one; this is the last guard)."""
    try:
        check_matrix_id(matrix_id)
    except ValueError as exc:
        raise UnsafeId(str(exc), field="matrix") from None
    return f"{EXPERIMENTS_DIR}/{experiment_slug(slug)}/{RESULTS_DIR}/{matrix_id}.md"


def _spec(source: Source, slug: str) -> MatrixSpec | None:
    rel = spec_rel(slug)
    try:
        raw = source.read(rel)
        return parse_spec(raw, rel) if raw is not None else None
    except (Unreadable, ExperimentosError):
        return None  # a broken spec does not stop a report of the runs that exist


def matrices(source: Source, experiments: Iterable[str] | None = None) -> list[MatrixData]:
    """Every matrix with run records under the given experiments (default: all), sorted."""
    if experiments is not None:
        slugs = [experiment_slug(e) for e in experiments]
        known = set(source.experiments())
        for slug in slugs:
            if slug not in known:
                raise NotFound(f"no experiment {slug!r} in {source.label}", field="experiment")
    else:
        slugs = source.experiments()
    rows = load_rows(source, slugs)
    grouped: dict[tuple[str, str], list[RunRow]] = {}
    for row in rows:
        grouped.setdefault((row.experiment, row.matrix_id), []).append(row)
    specs = {slug: _spec(source, slug) for slug in sorted({s for s, _ in grouped})}
    out = []
    for (slug, matrix_id), members in sorted(grouped.items()):
        rows = without_mixed_fingerprints(members)
        data = MatrixData(matrix_id=matrix_id, experiment=slug, rows=rows)
        spec = specs.get(slug)
        if spec is not None and (spec.id or slug) == matrix_id:
            data.conditions = list(spec.conditions)
            data.agents = [a.name for a in spec.agents]
            data.fixtures = list(spec.fixtures)
            if spec.pass_k:
                data.pass_k = sorted(set(spec.pass_k))
            try:
                data.expected = [cell.run_id for cell in expand(spec, matrix_id)]
            except ExperimentosError:
                data.expected = None
        out.append(data)
    return out


def find_matrix(source: Source, ref: str) -> MatrixData:
    """The matrix `ref` names: `<matrix-id>` or `<experiment>/<matrix-id>`."""
    slug, _, matrix_id = ref.rpartition("/")
    if not matrix_id:
        raise UsageError(f"{ref!r} is not a matrix id", field="matrix")
    found = [m for m in matrices(source, [slug] if slug else None) if m.matrix_id == matrix_id]
    if not found:
        raise NotFound(f"no runs of matrix {matrix_id!r} in {source.label}", field="matrix")
    if len(found) > 1:
        where = ", ".join(f"{m.experiment}/{m.matrix_id}" for m in found)
        raise UsageError(
            f"matrix {matrix_id!r} has runs in several experiments; name one: {where}",
            field="matrix",
        )
    return found[0]
