"""Stale and expired badges for knowledge pages: the one place the site asks why a page is stale.

The verdicts are the knowledge doctor's (`experimentos.lifecycle.health.stale_warnings`, the same
words briefs show): cited code that changed or is gone, a review whose `expires` date has passed,
a dependsOn chain that reaches a stale or retired page, a claim whose source is gone. A page's
own expiry is an `expired` badge; every other reason is a `stale` badge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from experimentos.knowledge.graph import Graph
from experimentos.lifecycle.health import EXPIRED_WORDS, stale_warnings
from experimentos.models.knowledge import Page

_OWN_EXPIRY = f"this page {EXPIRED_WORDS} "


@dataclass(frozen=True, order=True)
class Badge:
    """A warning shown on a page: kind `expired` or `stale`, and why in words."""

    kind: str
    reason: str


def page_badges(
    pages: dict[str, Page], repo: Path, today: dt.date, graph: Graph | None = None
) -> dict[str, list[Badge]]:
    """Page id -> its badges (pages without any are left out), each list sorted."""
    out: dict[str, list[Badge]] = {}
    for page_id, reasons in stale_warnings(pages, repo, today, graph=graph).items():
        badges = {
            Badge("expired", "review expired on " + reason.removeprefix(_OWN_EXPIRY))
            if reason.startswith(_OWN_EXPIRY)
            else Badge("stale", reason)
            for reason in reasons
        }
        if badges:
            out[page_id] = sorted(badges)
    return out
