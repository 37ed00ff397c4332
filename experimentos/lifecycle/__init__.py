"""Knowledge lifecycle: knowledge enters from issue threads and goes stale visibly.

ingest/      `ingest issue`: a GitHub thread -> a proposal with a source page and draft claims
cites.py     `cite add` and the state of one code citation (fresh, drifted, changed, orphaned)
health.py    `doctor` / `check --stale`: citations, review expiry, stale dependencies,
             contradicting accepted pages, claims whose source is gone; `stale_warnings` for briefs
duplicates.py  near-duplicate pages from the index's stored vectors (no re-embedding)

The promotion gate reads matrix reports, so it is a part of its own above them:
experimentos/promote/.
"""
