"""The derived search index (LanceDB) and hybrid search over it."""

from experimentos.index.search import Filters, SearchHit, SearchResponse, search
from experimentos.index.table import Index, SyncSummary

__all__ = ["Filters", "Index", "SearchHit", "SearchResponse", "SyncSummary", "search"]
