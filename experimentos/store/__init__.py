"""Files are the only truth: parsing, paths, atomic writes and scans of the knowledge root."""

from experimentos.store.documents import Document, parse_document, render
from experimentos.store.paths import (
    id_for_path,
    make_id,
    page_path,
    parse_status,
    parse_type,
    split_id,
)
from experimentos.store.workspace import Scan, Workspace, find_root

__all__ = [
    "Document",
    "Scan",
    "Workspace",
    "find_root",
    "id_for_path",
    "make_id",
    "page_path",
    "parse_document",
    "parse_status",
    "parse_type",
    "render",
    "split_id",
]
