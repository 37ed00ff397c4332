"""Issue ingestion: a GitHub thread becomes a proposal with one source page and draft claims.

thread   the payload (REST or `gh issue view --json`) parsed into a Thread
text     comment Markdown -> sentences, clauses (code and quotes kept apart)
scope    the library and version range the thread is about; alignment with a repository
advice   actionable advice (upgrade, pin, flag, use) and the later corrections of it
pages    the source and claim pages, and how a re-ingest merges them
github   --fetch: the thread from the GitHub REST API
run      plan and propose
"""

from experimentos.lifecycle.ingest.github import fetch_issue, parse_issue_ref
from experimentos.lifecycle.ingest.run import IngestResult, ingest_issue, plan_ingest
from experimentos.lifecycle.ingest.thread import Thread, parse_payload, read_payload

__all__ = [
    "IngestResult",
    "Thread",
    "fetch_issue",
    "ingest_issue",
    "parse_issue_ref",
    "parse_payload",
    "plan_ingest",
    "read_payload",
]
