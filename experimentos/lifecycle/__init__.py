"""Knowledge lifecycle: knowledge enters from issue threads and goes stale visibly.

ingest/      `ingest issue`: a GitHub thread -> a proposal with a source page and draft claims
cites.py     `cite add` and the state of one code citation (fresh, drifted, changed, orphaned)
health.py    `doctor` / `check --stale`: citations, review expiry, stale dependencies,
             contradicting accepted pages, claims whose source is gone; `stale_warnings` for briefs
duplicates.py  near-duplicate pages from the index's stored vectors (no re-embedding)

promote/     the promotion gate (`promote`, `candidates`, MCP `propose_promotion`) over the matrix
             reports; it reads experimentos.reports, so it sits above it (tests/test_layout.py
             places a module by its longest prefix: experimentos.lifecycle.promote is layer 7)
"""
