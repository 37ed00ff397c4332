"""Contexts for the knowledge pages: one per page, and the list of all of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from experimentos.knowledge.graph import Graph
from experimentos.knowledge.trust import RETIRED, decision_capable, not_decision_capable_why
from experimentos.models.knowledge import TYPE_LAYOUT, Page, Status
from experimentos.site.badges import Badge
from experimentos.site.markdown import render_markdown
from experimentos.site.urls import Link, SiteMap, page_url
from experimentos.store import Document

EDGE_LABELS = {
    "dependsOn": "depends on",
    "contradicts": "contradicts",
    "supersedes": "supersedes",
    "mitigates": "mitigates",
    "derivedFrom": "derived from",
    "validatedBy": "validated by",
    "link": "links to",
}
INCOMING_LABELS = {
    "dependsOn": "needed by",
    "contradicts": "contradicted by",
    "supersedes": "superseded by",
    "mitigates": "mitigated by",
    "derivedFrom": "source of",
    "validatedBy": "validates",
    "link": "linked from",
}
TYPE_TITLES = {
    "policy": "Policies",
    "intervention": "Interventions",
    "failure": "Failures",
    "knowledge_card": "Knowledge cards",
    "claim": "Claims",
    "source": "Sources",
}
APPLIES_KEYS = ("agent", "model", "toolchain", "repo_type", "library", "versions", "paths")


def trust(page: Page, today: dt.date) -> dict[str, str]:
    """How far a page may be trusted, which the site shows (and colours) instead of its bare
    status: a decision rule (knowledge/trust.py), evidence, a draft, or retired."""
    status = page.status.value
    if decision_capable(page, today):
        return {
            "level": "rule",
            "label": f"{status} · rule",
            "why": f"a decision rule: an accepted {page.type.value} with a complete review",
        }
    if page.status in RETIRED:
        return {"level": "retired", "label": status, "why": f"retired: it is {status}"}
    why = "evidence only: " + not_decision_capable_why(page, today)
    if page.status is Status.accepted:
        return {"level": "evidence", "label": f"{status} · evidence", "why": why}
    return {"level": "draft", "label": status, "why": why}


def _badges(badges: list[Badge]) -> list[dict[str, str]]:
    return [{"kind": b.kind, "reason": b.reason} for b in badges]


def _grouped(edges: list, key: str, labels: dict[str, str], site: SiteMap) -> list[dict]:
    groups: dict[str, list[Link]] = {}
    for edge in edges:
        ref = getattr(edge, key)
        groups.setdefault(edge.kind, [])
        link = site.link(ref, site.titles.get(ref, ref))
        if link not in groups[edge.kind]:
            groups[edge.kind].append(link)
    order = list(labels)
    return [
        {"label": labels.get(kind, kind), "links": sorted(links, key=lambda x: x.text)}
        for kind, links in sorted(groups.items(), key=lambda kv: order.index(kv[0]))
    ]


def _applies(page: Page) -> list[dict[str, str]]:
    scope = page.applies_to
    if scope is None:
        return []
    return [
        {"key": key, "value": ", ".join(scope.values(key)) if key != "versions" else scope.versions}
        for key in APPLIES_KEYS
        if (scope.values(key) if key != "versions" else scope.versions)
    ]


def knowledge_page(
    doc: Document, graph: Graph, badges: list[Badge], site: SiteMap, today: dt.date
) -> tuple[str, dict[str, Any]]:
    """(site path, context) of one knowledge page."""
    page = doc.page
    path = page_url(page.id)
    review = None
    if page.review is not None:
        review = {
            "reviewer": page.review.reviewer,
            "reviewed_at": page.review.reviewed_at,
            "rationale": page.review.rationale,
            "evidence": [site.link(ref, site.titles.get(ref, ref)) for ref in page.review.evidence],
        }
    context = {
        "id": page.id,
        "title": page.title,
        "type": page.type.value,
        "status": page.status.value,
        "trust": trust(page, today),
        "confidence": page.confidence.value,
        "summary": page.summary,
        "source": doc.path,
        "badges": _badges(badges),
        "applies_to": _applies(page),
        "review": review,
        "expires": page.expires,
        "required_checks": page.required_checks,
        "forbidden_actions": page.forbidden_actions,
        "cites": [
            {"path": c.path, "lines": c.lines or "", "sha256": (c.sha256 or "")[:12]}
            for c in page.cites
        ],
        "edges_out": _grouped(graph.outgoing.get(page.id, []), "target", EDGE_LABELS, site),
        "edges_in": _grouped(graph.incoming.get(page.id, []), "source", INCOMING_LABELS, site),
        "tags": page.tags,
        "body": render_markdown(page.body, site.resolver(path, doc.path), title=page.title),
    }
    return path, context


def knowledge_index(
    documents: list[Document], badges: dict[str, list[Badge]], site: SiteMap, today: dt.date
) -> list[dict[str, Any]]:
    """Pages grouped by type (policies first), each group sorted by id."""
    groups = []
    for page_type in sorted(TYPE_LAYOUT, key=lambda t: list(TYPE_TITLES).index(t.value)):
        docs = sorted((d for d in documents if d.page.type is page_type), key=lambda d: d.id)
        if not docs:
            continue
        groups.append(
            {
                "title": TYPE_TITLES[page_type.value],
                "anchor": page_type.value,
                "rows": [
                    {
                        "link": Link(d.page.title, site.by_path[d.path]),
                        "id": d.id,
                        "status": d.page.status.value,
                        "trust": trust(d.page, today),
                        "confidence": d.page.confidence.value,
                        "badges": _badges(badges.get(d.id, [])),
                        "summary": d.page.summary,
                    }
                    for d in docs
                ],
            }
        )
    return groups
