"""Search the index: full-text, vector, or hybrid (fused rankings), grouped by page.

Filters become LanceDB where-clauses, so they apply inside the search, not after it. Every
answer names the mode that produced it; when vectors are unavailable, a vector or hybrid
request is answered by full-text search and says so.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from experimentos.errors import UsageError
from experimentos.index.chunks import heading_at
from experimentos.index.rows import CHUNKS, PAGES, sql_literal
from experimentos.index.table import Index, SyncSummary
from experimentos.store import parse_status, parse_type

MODES = ("hybrid", "vector", "fts")
RRF_K = 60
TIE_MARGIN = 8  # full-text rows asked for beyond those kept, to settle equal scores
_PAGE_COLUMNS = ["page_id", "type", "title", "status", "doc"]
_CHUNK_COLUMNS = ["page_id", "type", "title", "status", "heading", "text"]
_ID_COLUMNS = ["page_id"]  # the score and distance come with every row
_VALUE_RE = re.compile(r"^[\w.@/+:-]{1,100}$")


class SearchHit(BaseModel):
    id: str
    type: str
    title: str
    status: str
    score: float
    heading: str
    snippet: str


class SearchResponse(BaseModel):
    mode: str
    results: list[SearchHit]
    notice: str = ""


@dataclass
class Filters:
    type: str | None = None
    status: str | None = None
    library: str | None = None
    agent: str | None = None
    model: str | None = None

    def where(self) -> str | None:
        """A SQL where-clause. A page without an appliesTo key applies to every value of it."""
        clauses = []
        if self.type:
            clauses.append(f"type = {sql_literal(parse_type(self.type).value)}")
        if self.status:
            clauses.append(f"status = {sql_literal(parse_status(self.status).value)}")
        for key in ("library", "agent", "model"):
            value = getattr(self, key)
            if value:
                if not _VALUE_RE.fullmatch(value):
                    raise UsageError(f"{value!r} is not a valid {key} name", field=key)
                literal = sql_literal(value.lower())
                clauses.append(f"(array_has({key}, {literal}) OR array_length({key}) = 0)")
        return " AND ".join(clauses) or None


def search(
    index: Index,
    query: str,
    mode: str = "hybrid",
    limit: int = 10,
    filters: Filters | None = None,
    sync: bool = True,
) -> SearchResponse:
    """Search pages. Syncs changed files first unless told the caller just did."""
    mode, hits, notice = _answer(index, query, mode, limit, filters, sync, _run)
    return SearchResponse(mode=mode, results=hits, notice=notice)


@dataclass
class Ranking:
    mode: str
    scores: list[tuple[str, float]]  # (page id, score), best first, as `search` scores them
    notice: str = ""


def rank_pages(
    index: Index,
    query: str,
    mode: str = "hybrid",
    limit: int = 10,
    filters: Filters | None = None,
    sync: bool = True,
) -> Ranking:
    """The pages `search` returns, in its order and with its scores, without their text: a
    brief needs only which pages and how well, and reading each page's text from the table and
    cutting snippets from it cost about 1.5 ms of CPU per brief at 1,000 pages."""
    mode, scores, notice = _answer(index, query, mode, limit, filters, sync, _run_ids)
    return Ranking(mode=mode, scores=scores, notice=notice)


def _answer(
    index: Index,
    query: str,
    mode: str,
    limit: int,
    filters: Filters | None,
    sync: bool,
    run: Callable[[Index, str, str, int, str | None], list],
) -> tuple[str, list, str]:
    """(the mode that answered, `run`'s answer, a notice): the request checked, the index
    synced, vectors' absence and an unreadable index said in the notice."""
    if not query or not query.strip():
        raise UsageError("the search query is empty", field="query")
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r} (expected one of: {', '.join(MODES)})")
    if limit <= 0:
        raise UsageError("limit must be positive", field="limit")
    where = (filters or Filters()).where()
    notice = ""
    if sync:
        summary: SyncSummary = index.sync()
        if summary.rebuilt and summary.notice:
            notice = summary.notice
    if mode != "fts" and index.embedder is None:
        why = f"vector search unavailable ({index.choice.reason}); answered with full-text search"
        notice = f"{notice}; {why}" if notice else why
        mode = "fts"
    try:
        found = run(index, query, mode, limit, where)
    except (OSError, ValueError, RuntimeError) as exc:  # LanceDB's errors: rebuild and retry
        summary = index.sync(rebuild=True)
        why = f"rebuilt the index: it was unreadable ({type(exc).__name__})"
        notice = f"{why}; {notice}" if notice else why
        if summary.notice and summary.mode == "fts":
            notice += f"; {summary.notice}"
        found = run(index, query, mode, limit, where)
    return mode, found, notice


def _run(index: Index, query: str, mode: str, limit: int, where: str | None) -> list[SearchHit]:
    depth = max(limit * 5, 50)
    if mode == "fts":
        return [_page_hit(row, row["_score"], query) for row in _fts(index, query, where, limit)]
    if mode == "vector":
        vector = index.embedder.embed_query(query)
        ranked = _group(_vector(index, vector, where, depth))
        return [_chunk_hit(rows[0], 1.0 - rows[0]["_distance"], query) for rows in ranked[:limit]]
    fts_rows, vec_pages = _both(index, query, where, depth, _PAGE_COLUMNS, _CHUNK_COLUMNS)
    by_fts = {row["page_id"]: row for row in fts_rows}
    by_vec = {row["page_id"]: row for row in vec_pages}
    hits = []
    for pid, score in _fused(index, fts_rows, vec_pages)[:limit]:
        # The full-text row places the snippet where the query's words are; else the window.
        if pid in by_fts:
            hits.append(_page_hit(by_fts[pid], score, query))
        else:
            hits.append(_chunk_hit(by_vec[pid], score, query))
    return hits


def _run_ids(
    index: Index, query: str, mode: str, limit: int, where: str | None
) -> list[tuple[str, float]]:
    """`_run`'s pages and scores (rounded as a SearchHit rounds them), reading only ids."""
    depth = max(limit * 5, 50)
    if mode == "fts":
        rows = _fts(index, query, where, limit, _ID_COLUMNS)
        scored = [(row["page_id"], row["_score"]) for row in rows]
    elif mode == "vector":
        vector = index.embedder.embed_query(query)
        ranked = _group(_vector(index, vector, where, depth, _ID_COLUMNS))
        scored = [(rows[0]["page_id"], 1.0 - rows[0]["_distance"]) for rows in ranked[:limit]]
    else:
        fts_rows, vec_pages = _both(index, query, where, depth, _ID_COLUMNS, _ID_COLUMNS)
        scored = _fused(index, fts_rows, vec_pages)[:limit]
    return [(pid, round(float(score), 6)) for pid, score in scored]


def _fts(
    index: Index, query: str, where: str | None, limit: int, columns: list[str] = _PAGE_COLUMNS
) -> list[dict]:
    """Pages ranked by BM25 over their whole text, equal scores in the order of their ids.

    LanceDB returns pages with equal scores in any order, and at its limit any of them: a few
    more rows are asked for than kept, and more again while the last of them still ties with
    the last one kept, so that the same query gives the same pages in the same order."""
    table = index.table(PAGES)
    if table is None:
        return []
    ask = limit + TIE_MARGIN
    while True:
        builder = table.search(query, query_type="fts", fts_columns="doc")
        if where:
            builder = builder.where(where, prefilter=True)
        rows = builder.select(columns).limit(ask).to_list()
        rows.sort(key=lambda row: (-row["_score"], row["page_id"]))
        if len(rows) < ask or rows[limit - 1]["_score"] > rows[-1]["_score"]:
            return rows[:limit]
        ask *= 4


def _vector(
    index: Index, vector: Any, where: str | None, depth: int, columns: list[str] = _CHUNK_COLUMNS
) -> list[dict]:
    """Windows ranked by cosine similarity to the query."""
    table = index.table(CHUNKS)
    if table is None:
        return []
    if index.warm and not where:
        from experimentos.index import memory

        vectors = memory.load(index, table)
        if vectors is not None:
            return memory.scan(vectors, vector, depth, columns)
    builder = (
        table.search(vector, query_type="vector", vector_column_name="vector")
        .distance_type("cosine")
        .nprobes(64)
    )
    if where:
        builder = builder.where(where, prefilter=True)
    return builder.select(columns).limit(depth).to_list()


def _both(
    index: Index,
    query: str,
    where: str | None,
    depth: int,
    fts_columns: list[str],
    vector_columns: list[str],
) -> tuple[list[dict], list[dict]]:
    """(full-text rows, each page's best window): the full-text search runs while the query is
    embedded."""
    pending = _workers().submit(_fts, index, query, where, depth, fts_columns)
    vector = index.embedder.embed_query(query)
    vec_pages = [rows[0] for rows in _group(_vector(index, vector, where, depth, vector_columns))]
    return pending.result(), vec_pages  # re-raises the full-text search's error here


def _fused(index: Index, fts_rows: list[dict], vec_pages: list[dict]) -> list[tuple[str, float]]:
    """The two page rankings fused, best first (ties by id)."""
    fts_scores = [(row["page_id"], row["_score"]) for row in fts_rows]
    vec_scores = [(row["page_id"], 1.0 - row["_distance"]) for row in vec_pages]
    if index.workspace.config.index.fusion == "rrf":
        fused = reciprocal_rank_fusion(fts_scores, vec_scores)
    else:
        fused = convex_fusion(fts_scores, vec_scores)
    return [(pid, fused[pid]) for pid in sorted(fused, key=lambda p: (-fused[p], p))]


_WORKERS: ThreadPoolExecutor | None = None
_WORKERS_LOCK = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """Threads kept for full-text queries: starting one per query costs more than the query."""
    global _WORKERS
    with _WORKERS_LOCK:
        if _WORKERS is None:
            _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="experimentos-fts")
        return _WORKERS


def convex_fusion(*ranked: list[tuple[str, float]], weights: tuple[float, ...] = ()) -> dict:
    """Sum of min-max-normalised scores (equal weights by default); absent from a list = 0.

    Measured against reciprocal rank fusion on both benchmarks (SciFact nDCG@10 0.730 vs 0.715;
    the project's own queries 0.896 vs 0.873): score magnitudes carry information that ranks
    drop, e.g. one page far ahead in BM25.
    """
    weights = weights or tuple(1.0 / len(ranked) for _ in ranked)
    fused: dict[str, float] = {}
    for weight, scores in zip(weights, ranked, strict=True):
        if not scores:
            continue
        values = [score for _, score in scores]
        low, high = min(values), max(values)
        for pid, score in scores:
            norm = (score - low) / (high - low) if high > low else 1.0
            fused[pid] = fused.get(pid, 0.0) + weight * norm
    return fused


def reciprocal_rank_fusion(*ranked: list[tuple[str, float]], k: int = RRF_K) -> dict:
    """Sum of 1 / (k + rank) over the lists a page appears in."""
    fused: dict[str, float] = {}
    for scores in ranked:
        for rank, (pid, _) in enumerate(scores):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (k + rank + 1)
    return fused


def _group(rows: list[dict]) -> list[list[dict]]:
    """Windows (best first) grouped by page, pages in the order of their best window."""
    pages: dict[str, list[dict]] = {}
    for row in rows:
        pages.setdefault(row["page_id"], []).append(row)
    return list(pages.values())


def _page_hit(row: dict, score: float, query: str) -> SearchHit:
    """A hit from a full-text row: the snippet and heading are where the query's words are."""
    doc = row["doc"]
    position = _first_term(doc, query, skip=len(row["title"]))
    heading = heading_at(doc, position) if position is not None else ""
    return _hit(row, score, heading, snippet(doc[len(row["title"]) :], query))


def _chunk_hit(row: dict, score: float, query: str) -> SearchHit:
    """A hit from a vector row: the window that matched."""
    return _hit(row, score, row["heading"], snippet(row["text"], query))


def _hit(row: dict, score: float, heading: str, text: str) -> SearchHit:
    return SearchHit(
        id=row["page_id"],
        type=row["type"],
        title=row["title"],
        status=row["status"],
        score=round(float(score), 6),
        heading=heading,
        snippet=text,
    )


def _terms(query: str) -> list[str]:
    return sorted(
        {t for t in re.findall(r"\w+", query.lower()) if len(t) > 2}, key=len, reverse=True
    )


def _first_term(text: str, query: str, skip: int = 0) -> int | None:
    lowered = text.lower()
    positions = [p for p in (lowered.find(t, skip) for t in _terms(query)) if p >= 0]
    return min(positions) if positions else None


def snippet(text: str, query: str, width: int = 200) -> str:
    """About `width` characters of `text` around the first query term it contains."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    position = _first_term(text, query)
    start = max(0, position - width // 4) if position else 0
    start = text.rfind(" ", 0, start) + 1 if start else 0
    piece = text[start : start + width]
    if start + width < len(text):
        piece = piece[: piece.rfind(" ")] if " " in piece else piece
        piece += " …"
    return ("… " if start else "") + piece
