"""What the index stores: the Arrow schemas of its two tables and the rows built from a page."""

from __future__ import annotations

import hashlib

from experimentos.index.chunks import chunk_page, page_document
from experimentos.models.knowledge import Page

PAGES, CHUNKS = "pages", "chunks"  # page-level full text; window-level vectors
APPLIES_KEYS = ("agent", "model", "toolchain", "repo_type", "library")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def in_clause(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


def arrow_schema(name: str, dim: int):  # noqa: ANN201
    """The Arrow schema of a table (`dim`: the vector width of the chunks table)."""
    import pyarrow as pa

    strings = pa.list_(pa.string())
    common = [
        pa.field("path", pa.string()),
        pa.field("page_id", pa.string()),
        pa.field("type", pa.string()),
        pa.field("status", pa.string()),
        pa.field("confidence", pa.string()),
        pa.field("title", pa.string()),
        *(pa.field(key, strings) for key in APPLIES_KEYS),
        pa.field("tags", strings),
    ]
    if name == PAGES:
        return pa.schema(
            [*common, pa.field("page_hash", pa.string()), pa.field("doc", pa.string())]
        )
    return pa.schema(
        [
            *common,
            pa.field("id", pa.string()),
            pa.field("ord", pa.int32()),
            pa.field("heading", pa.string()),
            pa.field("text", pa.string()),
            pa.field("text_hash", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def arrow(name: str, rows: list[dict], dim: int):  # noqa: ANN201
    """Rows as an Arrow table of `name`'s schema (vectors as one flat float32 buffer)."""
    import numpy as np
    import pyarrow as pa

    fields = arrow_schema(name, dim)
    columns = {}
    for column in fields.names:
        if column == "vector":
            flat = np.asarray([r["vector"] for r in rows], dtype=np.float32).ravel()
            columns[column] = pa.FixedSizeListArray.from_arrays(
                pa.array(flat, type=pa.float32()), dim
            )
        else:
            values = [r[column] for r in rows]
            columns[column] = pa.array(values, type=fields.field(column).type)
    return pa.table(columns, schema=fields)


def body_hash(page: Page) -> str:
    return hashlib.sha256(page.body.encode("utf-8")).hexdigest()[:32] if page.body.strip() else ""


def page_row(rel: str, page: Page, page_hash: str) -> dict:
    applies = page.applies_to
    return {
        "path": rel,
        "page_id": page.id,
        "type": page.type.value,
        "status": page.status.value,
        "confidence": page.confidence.value,
        "title": page.title,
        "tags": [t.lower() for t in page.tags],
        **{k: [v.lower() for v in applies.values(k)] if applies else [] for k in APPLIES_KEYS},
        "page_hash": page_hash,
        "doc": page_document(page),
    }


def window_rows(page_row: dict, page: Page, words: int, max_windows: int) -> list[dict]:
    base = {k: v for k, v in page_row.items() if k not in ("page_hash", "doc")}
    return [
        {
            **base,
            "id": f"{page.id}#{chunk.ord}",
            "ord": chunk.ord,
            "heading": chunk.heading,
            "text": chunk.text,
            "text_hash": chunk.text_hash,
        }
        for chunk in chunk_page(page, words, max_windows)
    ]
