"""Stale and expired badges for knowledge pages: the one place the site asks why a page is stale.

Today this uses the staleness rules the briefs apply (experimentos/briefs): a review whose
`expires` date has passed, and `cites` whose sha256 no longer matches the cited code. When the
lifecycle doctor lands (`experimentos.lifecycle.health.stale_warnings`, with stale dependencies
and gone sources), point `page_badges` at it; nothing else in the site changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from experimentos.briefs.compiler import cite_digest
from experimentos.knowledge.models import Page


@dataclass(frozen=True, order=True)
class Badge:
    """A warning shown on a page: kind `expired` or `stale`, and why in words."""

    kind: str
    reason: str


def page_badges(pages: dict[str, Page], repo: Path, today: dt.date) -> dict[str, list[Badge]]:
    """Page id -> its badges (pages without any are left out), each list sorted."""
    out: dict[str, list[Badge]] = {}
    for page_id in sorted(pages):
        page = pages[page_id]
        badges = []
        if page.expires is not None and page.expires < today:
            badges.append(Badge("expired", f"review expired on {page.expires.isoformat()}"))
        for cite in page.cites:
            if cite.sha256 is None:
                continue
            where = cite.path + (f":{cite.lines}" if cite.lines else "")
            digest = cite_digest(repo, cite.path, cite.lines)
            if digest is None:
                badges.append(Badge("stale", f"cited file {cite.path} not found"))
            elif digest != cite.sha256:
                badges.append(Badge("stale", f"cited code changed: {where}"))
        if badges:
            out[page_id] = sorted(set(badges))
    return out
