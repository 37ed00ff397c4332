"""Near-duplicate pages from the vectors the index already holds (nothing is embedded here).

A page's vector is the mean of its windows' vectors in the index's chunks table, normalised.
Pages whose file changed since the last `experimentos index` are left out (their vectors
describe older text) and counted, so the report says when to re-index. Pairs joined by a
`supersedes` edge are expected to be similar and are not reported.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel

from experimentos.errors import UnsafePath

if TYPE_CHECKING:
    from experimentos.models.knowledge import Page
    from experimentos.store import Workspace

BLOCK_ROWS = 1024  # rows of the similarity matrix computed at once (1024 x 10,000 floats)
MAX_PAIRS = 1000  # pairs reported; the count of all pairs is kept


class NearDuplicate(BaseModel):
    a: str
    b: str
    score: float
    a_path: str | None = None
    b_path: str | None = None


class DuplicateScan(BaseModel):
    """How the near-duplicate pass went: vectors come from the index, never from the model."""

    ran: bool
    reason: str = ""
    threshold: float
    pages: int = 0  # pages compared
    skipped: int = 0  # pages changed since the last index sync, or not in the index
    pairs: int = 0
    seconds: float = 0.0


def near_duplicates(
    workspace: Workspace,
    checksums: dict[str, str],
    paths: dict[str, str],
    *,
    threshold: float = 0.95,
    pages: dict[str, Page] | None = None,
) -> tuple[list[NearDuplicate], DuplicateScan]:
    """Pairs of pages whose index vectors have cosine similarity >= `threshold`.

    `checksums` maps a page file's path to the sha256 of its bytes now (what the index records
    as page_hash); `paths` maps page ids to their files."""
    started = time.perf_counter()
    scan = DuplicateScan(ran=False, threshold=threshold)
    if not 0.0 < threshold <= 1.0:
        from experimentos.errors import UsageError

        raise UsageError("the similarity threshold must be in (0, 1]", field="threshold")
    loaded = _index_vectors(workspace)
    if isinstance(loaded, str):
        scan.reason = loaded
        return [], scan
    import numpy as np

    indexed_hash, ids, matrix = loaded
    keep = [i for i, page_id in enumerate(ids) if _current(page_id, paths, checksums, indexed_hash)]
    scan.skipped = len(set(paths) - {ids[i] for i in keep})
    ids = [ids[i] for i in keep]
    matrix = matrix[keep]
    scan.ran, scan.pages = True, len(ids)
    if scan.skipped:
        scan.reason = (
            f"{scan.skipped} page(s) changed since the last index sync or are not indexed; "
            "run `experimentos index` to include them"
        )
    related = _supersedes_pairs(pages or {})
    found: list[tuple[float, int, int]] = []
    for start in range(0, len(ids), BLOCK_ROWS):
        block = matrix[start : start + BLOCK_ROWS] @ matrix.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if c <= i:
                continue
            pair = (ids[i], ids[c]) if ids[i] < ids[c] else (ids[c], ids[i])
            if pair in related:
                continue
            found.append((float(block[r, c]), i, c))
    found.sort(key=lambda item: (-item[0], ids[item[1]], ids[item[2]]))
    scan.pairs = len(found)
    out = []
    for score, i, j in found[:MAX_PAIRS]:
        a, b = sorted((ids[i], ids[j]))
        out.append(
            NearDuplicate(
                a=a, b=b, score=round(min(score, 1.0), 4), a_path=paths.get(a), b_path=paths.get(b)
            )
        )
    scan.seconds = round(time.perf_counter() - started, 3)
    return out, scan


def _current(
    page_id: str, paths: dict[str, str], checksums: dict[str, str], indexed: dict[str, str]
) -> bool:
    path = paths.get(page_id)
    return path is not None and indexed.get(page_id) == checksums.get(path)


def _supersedes_pairs(pages: dict[str, Page]) -> set[tuple[str, str]]:
    out = set()
    for page in pages.values():
        for target in page.supersedes:
            out.add((page.id, target) if page.id < target else (target, page.id))
    return out


def _index_vectors(workspace: Workspace):  # noqa: ANN202 - (hashes, ids, matrix) or a reason
    """(page_id -> indexed page_hash, page ids, unit page vectors) or why there are none."""
    from experimentos.index.rows import CHUNKS, PAGES
    from experimentos.index.table import Index

    try:
        index = Index(workspace)
        built = (index.dir / "lance").is_dir()
    except UnsafePath as exc:  # .experimentos/ or its index is a link or a file: never followed
        return f"the index is not usable here ({exc})"
    if not built:
        return "no index yet; run `experimentos index` (with the embeddings extra) first"
    try:
        pages_table = index.table(PAGES)
        chunks = index.table(CHUNKS)
    except (OSError, ValueError, RuntimeError) as exc:
        return f"the index cannot be read ({type(exc).__name__}); run `experimentos index`"
    if chunks is None or pages_table is None:
        return "the index holds no vectors (full-text only); build it with the embeddings extra"
    import numpy as np

    hashes_table = pages_table.search().select(["page_id", "page_hash"]).limit(None).to_arrow()
    indexed = dict(
        zip(
            hashes_table.column("page_id").to_pylist(),
            hashes_table.column("page_hash").to_pylist(),
            strict=True,
        )
    )
    data = chunks.search().select(["page_id", "vector"]).limit(None).to_arrow()
    if data.num_rows == 0:
        return "the index holds no vectors"
    column = data.column("vector").combine_chunks()
    dim = column.type.list_size
    vectors = column.flatten().to_numpy().astype(np.float32, copy=False).reshape(-1, dim)
    owners = data.column("page_id").to_pylist()
    # Mean of each page's windows: one vector per page.
    ids = sorted(set(owners))
    position = {page_id: i for i, page_id in enumerate(ids)}
    rows = np.fromiter((position[o] for o in owners), dtype=np.int64, count=len(owners))
    sums = np.zeros((len(ids), dim), dtype=np.float32)
    np.add.at(sums, rows, vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return indexed, ids, sums / norms
