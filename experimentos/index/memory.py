"""Exact vector scans from memory, for warm processes (the MCP server).

A LanceDB query costs a few milliseconds of fixed overhead; a long-lived process can instead
keep every window's vector in one float32 matrix (10,000 windows are 15 MB) and answer a query
with one matrix product. The copy is keyed on the chunks table's version, so a sync by this or
any other process is seen on the next query. One-shot commands do not use it: loading the
matrix costs more than the one query they make.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from experimentos.index.table import Index

MAX_ROWS = 200_000  # 300 MB of vectors; past this the ANN index answers
_COLUMNS = ["page_id", "type", "title", "status", "heading", "text"]


@dataclass
class Vectors:
    version: Any  # the index manifest's stamp when loaded (every sync rewrites it)
    matrix: np.ndarray  # (rows, dim), unit length
    rows: list[dict[str, Any]]


def load(index: Index, table: Any) -> Vectors | None:
    """The table's vectors in memory, reused while the index manifest is unchanged (every sync
    that changes a table rewrites it last), so a warm query asks LanceDB nothing."""
    import numpy as np

    version = index._meta_stamp() or table.version
    cached: Vectors | None = getattr(index, "_memory", None)
    if cached is not None and cached.version == version:
        return cached
    if table.count_rows() > MAX_ROWS:
        return None
    data = table.to_arrow()
    column = data["vector"].combine_chunks()
    dim = column.type.list_size
    matrix = column.flatten().to_numpy().astype(np.float32, copy=False).reshape(len(data), dim)
    rows = data.select(_COLUMNS).to_pylist()
    index._memory = Vectors(version=version, matrix=matrix, rows=rows)
    return index._memory


def scan(
    vectors: Vectors, query: np.ndarray, depth: int, columns: list[str] = _COLUMNS
) -> list[dict[str, Any]]:
    """The `depth` nearest windows by cosine distance, as LanceDB would return them (`columns`
    of each, and its `_distance`)."""
    import numpy as np

    if not vectors.rows:
        return []
    scores = vectors.matrix @ query.astype(np.float32, copy=False)
    depth = min(depth, len(scores))
    top = np.argpartition(-scores, depth - 1)[:depth]
    top = top[np.argsort(-scores[top], kind="stable")]
    if columns == _COLUMNS:
        return [{**vectors.rows[i], "_distance": float(1.0 - scores[i])} for i in top]
    rows = vectors.rows
    return [{**{c: rows[i][c] for c in columns}, "_distance": float(1.0 - scores[i])} for i in top]
