"""`experimentos doctor` and `check --stale`: knowledge that no longer matches the code or graph.

Findings, each with the page, its file and a stable code:
  cite-drifted (warning)   cited lines moved; the same text is at `now`
  cite-unhashed (warning)  a citation without sha256 cannot be checked
  cite-changed             the cited text is not in the file any more
  cite-orphaned            the cited file is gone
  cite-unreadable          the cited path is not a regular file inside the repository
  review-expired (warning) `expires` is past
  stale-dependency         a dependsOn target (directly or further down) is stale, deprecated,
                           rejected or superseded; the chain of ids says which and how
  contradiction            two accepted pages contradict each other
  source-gone              a claim's derivedFrom source is missing, rejected or deprecated
  near-duplicate (warning) two pages whose index vectors are closer than the threshold

`stale_warnings` gives briefs the same verdicts, page by page, as words.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from experimentos.knowledge.graph import DEPENDS_ON, Graph, is_page_ref
from experimentos.knowledge.trust import conflicts, decision_capable
from experimentos.lifecycle.cites import (
    STALE_STATUSES,
    CiteCheck,
    CitedFiles,
    check_cite,
    default_repo,
)
from experimentos.lifecycle.duplicates import DuplicateScan, NearDuplicate, near_duplicates
from experimentos.models.knowledge import Page, PageType, Problem, Status
from experimentos.store import Workspace

RETIRED = frozenset({Status.rejected, Status.deprecated, Status.superseded})
EXPIRED_WORDS = "has a review that expired on"  # a page's own expiry, as stale_warnings says it
Severity = Literal["error", "warning"]


class Expired(BaseModel):
    page: str
    page_path: str
    expires: dt.date


class StaleDependency(BaseModel):
    """A page that rests, through dependsOn, on a page that is stale or retired."""

    page: str
    page_path: str
    cause: str = Field(description="the stale or retired page at the end of the chain")
    reason: str = Field(description="why the cause is stale")
    chain: list[str] = Field(description="page -> ... -> cause, along dependsOn")


class Contradiction(BaseModel):
    """Two accepted pages that contradict each other, directly or (rules) through a page one
    rests on. `kind`: `rules` — both are decision-capable (the `check` error: neither may drive
    an agent); `evidence` — neither is (both cannot be true: reject or scope one); `overruled` —
    a reviewed rule contradicts accepted evidence, which is how a rule overrules misleading
    advice: reported, not a problem."""

    a: str
    b: str
    a_path: str
    b_path: str
    kind: Literal["rules", "evidence", "overruled"] = "rules"
    via: str | None = None  # the accepted page the contradiction goes through, if any


class SourceGone(BaseModel):
    page: str
    page_path: str
    source: str
    reason: str


class DoctorReport(BaseModel):
    root: str
    repo: str
    today: dt.date
    pages: int
    unreadable_pages: int = Field(0, description="files that do not parse (see `check`)")
    cites: dict[str, int] = Field(default_factory=dict, description="citations by status")
    cite_findings: list[CiteCheck] = Field(default_factory=list, description="all but fresh")
    expired: list[Expired] = Field(default_factory=list)
    stale_dependencies: list[StaleDependency] = Field(default_factory=list)
    contradictions: list[Contradiction] = Field(default_factory=list)
    sources_gone: list[SourceGone] = Field(default_factory=list)
    near_duplicates: list[NearDuplicate] = Field(default_factory=list)
    duplicates: DuplicateScan | None = None
    seconds: dict[str, float] = Field(default_factory=dict)

    def problems(self, stale_only: bool = False) -> list[Problem]:
        """The findings as `check` problems (with `stale_only`: what `check --stale` adds)."""
        out = [_cite_problem(c) for c in self.cite_findings]
        if not stale_only:
            out += [
                Problem(
                    path=e.page_path,
                    field="expires",
                    code="review-expired",
                    severity="warning",
                    message=f"review expired on {e.expires.isoformat()}; re-review or deprecate",
                )
                for e in self.expired
            ]
        out += [
            Problem(
                path=s.page_path,
                field="dependsOn",
                code="stale-dependency",
                message=f"depends on {s.cause}, which {s.reason}: {' -> '.join(s.chain)}",
            )
            for s in self.stale_dependencies
        ]
        out += [
            Problem(
                path=g.page_path,
                field="derivedFrom",
                code="source-gone",
                message=f"source {g.source} {g.reason}",
            )
            for g in self.sources_gone
        ]
        if stale_only:
            return out
        out += [
            Problem(
                path=c.a_path,
                field="contradicts",
                code="contradiction",
                severity="error" if c.kind == "rules" else "warning",
                message=(
                    f"reviewed rules {c.a} and {c.b} contradict each other"
                    + (f" (through {c.via})" if c.via else "")
                    + "; briefs show neither as a rule"
                    if c.kind == "rules"
                    else f"accepted {c.a} and accepted {c.b} contradict each other; "
                    "reject or scope one"
                ),
            )
            for c in self.contradictions
            if c.kind != "overruled"
        ]
        out += [
            Problem(
                path=d.a_path or d.a,
                code="near-duplicate",
                severity="warning",
                message=f"{d.a} and {d.b} are near-duplicates (similarity {d.score:.3f})",
            )
            for d in self.near_duplicates
        ]
        return out

    @property
    def ok(self) -> bool:
        return not self.problems()


def _cite_problem(c: CiteCheck) -> Problem:
    severity: Severity = "warning" if c.status in ("drifted", "unhashed") else "error"
    return Problem(
        path=c.page_path,
        field=f"cites[{c.index}]",
        code=f"cite-{c.status}",
        severity=severity,
        message=c.message,
    )


@dataclass
class Health:
    """The staleness of every page of one knowledge base against one repository."""

    pages: dict[str, Page]
    paths: dict[str, str]
    cites: list[CiteCheck] = field(default_factory=list)
    direct: dict[str, list[str]] = field(default_factory=dict)  # page -> why it is stale
    expired: list[Expired] = field(default_factory=list)
    stale_dependencies: list[StaleDependency] = field(default_factory=list)
    contradictions: list[Contradiction] = field(default_factory=list)
    sources_gone: list[SourceGone] = field(default_factory=list)


def assess(
    pages: dict[str, Page],
    paths: dict[str, str],
    repo: Path,
    today: dt.date,
    graph: Graph | None = None,
    only: set[str] | None = None,
) -> Health:
    """Every finding except near-duplicates, from parsed pages (no knowledge file is read).

    With `only`, just those pages and what they depend on are examined (a brief's pages)."""
    health = Health(pages=pages, paths=paths)
    files = CitedFiles(repo)
    graph = graph or Graph(pages)
    ids = sorted(pages) if only is None else sorted(_depends_closure(graph, pages, only))
    for page_id in ids:
        page = pages[page_id]
        reasons = health.direct.setdefault(page_id, [])
        for i, cite in enumerate(page.cites):
            result = check_cite(files, page, paths[page_id], i, cite)
            health.cites.append(result)
            if result.status in STALE_STATUSES:
                reasons.append(f"cites {result.where}, which {_cite_words(result)}")
        if page.expires is not None and page.expires < today:
            health.expired.append(
                Expired(page=page_id, page_path=paths[page_id], expires=page.expires)
            )
            reasons.append(f"{EXPIRED_WORDS} {page.expires.isoformat()}")
        if page.status in RETIRED:
            reasons.append(f"is {page.status.value}")
        newer = _superseded_by(graph, pages, page_id)
        if newer and page.status is not Status.superseded:
            reasons.append(f"is superseded by {', '.join(newer)}")
    health.direct = {k: v for k, v in health.direct.items() if v}
    health.stale_dependencies = _propagate(graph, pages, paths, health.direct)
    examined = pages if only is None else {i: pages[i] for i in ids}
    health.contradictions = _contradictions(examined, paths, today)
    health.sources_gone = _sources_gone(examined, paths)
    if only is not None:
        health.stale_dependencies = [s for s in health.stale_dependencies if s.page in only]
    return health


def _depends_closure(graph: Graph, pages: dict[str, Page], roots: set[str]) -> set[str]:
    seen = {r for r in roots if r in pages}
    queue = deque(seen)
    while queue:
        for edge in graph.outgoing.get(queue.popleft(), []):
            if edge.kind == DEPENDS_ON and edge.target in pages and edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def _cite_words(result: CiteCheck) -> str:
    return {
        "changed": "changed",
        "orphaned": "is gone",
        "unreadable": "cannot be read",
    }[result.status]


def _superseded_by(graph: Graph, pages: dict[str, Page], page_id: str) -> list[str]:
    return sorted(
        e.source
        for e in graph.incoming.get(page_id, [])
        if e.kind == "supersedes" and pages[e.source].status is Status.accepted
    )


def _propagate(
    graph: Graph, pages: dict[str, Page], paths: dict[str, str], direct: dict[str, list[str]]
) -> list[StaleDependency]:
    """Pages resting on a stale page, each with its shortest dependsOn chain to one.

    A breadth-first walk backwards from every stale page at once: the first time a page is
    reached it gets the neighbour it was reached from, so following those links gives a
    shortest chain to the nearest stale page."""
    via: dict[str, str] = {}
    queue = deque(sorted(direct))
    queued = set(queue)
    while queue:
        current = queue.popleft()
        for edge in sorted(graph.incoming.get(current, []), key=lambda e: e.source):
            source = edge.source
            if edge.kind != DEPENDS_ON or source not in pages or source == current:
                continue
            if source not in via:
                via[source] = current
                if source not in queued:
                    queued.add(source)
                    queue.append(source)
    out = []
    for page_id in sorted(via):
        if pages[page_id].status in RETIRED:
            continue  # a retired page resting on another is no news
        chain = [page_id, via[page_id]]
        while chain[-1] not in direct:
            chain.append(via[chain[-1]])
        cause = chain[-1]
        out.append(
            StaleDependency(
                page=page_id,
                page_path=paths[page_id],
                cause=cause,
                reason="; ".join(direct[cause]),
                chain=chain,
            )
        )
    return out


def _contradictions(
    pages: dict[str, Page], paths: dict[str, str], today: dt.date
) -> list[Contradiction]:
    """Rule conflicts as the trust rules define them (knowledge.trust, shared with `check` and
    briefs), then direct contradictions between other accepted pages."""
    out = [
        Contradiction(
            a=c.first,
            b=c.second,
            a_path=paths[c.first],
            b_path=paths[c.second],
            kind="rules",
            via=c.via,
        )
        for c in conflicts(pages, today)
    ]
    seen = {(c.a, c.b) for c in out}
    for page_id in sorted(pages):
        page = pages[page_id]
        if page.status is not Status.accepted:
            continue
        for other in page.contradicts:
            target = pages.get(other)
            if target is None or target.status is not Status.accepted or other == page_id:
                continue
            a, b = sorted((page_id, other))
            if (a, b) in seen:
                continue
            seen.add((a, b))
            rules = decision_capable(page, today) + decision_capable(target, today)
            kind = "overruled" if rules else "evidence"
            out.append(Contradiction(a=a, b=b, a_path=paths[a], b_path=paths[b], kind=kind))
    return sorted(out, key=lambda c: (c.a, c.b))


def _sources_gone(pages: dict[str, Page], paths: dict[str, str]) -> list[SourceGone]:
    out = []
    for page_id in sorted(pages):
        page = pages[page_id]
        if page.type is not PageType.claim or page.status in RETIRED:
            continue
        for ref in page.derived_from:
            if not is_page_ref(ref):
                continue
            source = pages.get(ref)
            if source is None:
                reason = "is gone (no such page)"
            elif source.status in RETIRED:
                reason = f"is {source.status.value}"
            else:
                continue
            out.append(
                SourceGone(page=page_id, page_path=paths[page_id], source=ref, reason=reason)
            )
    return out


def doctor(
    workspace: Workspace,
    repo: Path | None = None,
    today: dt.date | None = None,
    *,
    duplicates: bool = True,
    threshold: float = 0.95,
) -> DoctorReport:
    """Every health finding of the knowledge base (citations checked against `repo`)."""
    started = time.perf_counter()
    today = today or dt.date.today()
    repo = Path(repo).resolve() if repo is not None else default_repo(workspace.root)
    if not repo.is_dir():
        from experimentos.errors import NotFound

        raise NotFound("repository directory does not exist", path=repo, field="repo")
    scan = workspace.scan()
    pages, paths, checksums = {}, {}, {}
    for doc in scan.documents:
        if doc.id not in pages:
            pages[doc.id], paths[doc.id] = doc.page, doc.path
            checksums[doc.path] = doc.checksum
    scanned = time.perf_counter()
    health = assess(pages, paths, repo, today)
    assessed = time.perf_counter()
    counts: dict[str, int] = {}
    for c in health.cites:
        counts[c.status] = counts.get(c.status, 0) + 1
    report = DoctorReport(
        root=str(workspace.root),
        repo=str(repo),
        today=today,
        pages=len(pages),
        unreadable_pages=len({p.path for p in scan.problems if p.severity == "error"}),
        cites=counts,
        cite_findings=[c for c in health.cites if c.status != "fresh"],
        expired=health.expired,
        stale_dependencies=health.stale_dependencies,
        contradictions=health.contradictions,
        sources_gone=health.sources_gone,
        seconds={
            "scan": round(scanned - started, 3),
            "checks": round(assessed - scanned, 3),
        },
    )
    if duplicates:
        report.near_duplicates, report.duplicates = near_duplicates(
            workspace, checksums, paths, threshold=threshold, pages=pages
        )
        report.seconds["duplicates"] = report.duplicates.seconds
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report


def stale_warnings(
    pages: dict[str, Page],
    repo: Path,
    today: dt.date | None = None,
    *,
    graph: Graph | None = None,
    paths: dict[str, str] | None = None,
    only: set[str] | None = None,
) -> dict[str, list[str]]:
    """Why each stale page is stale, in words, for briefs (pages not listed are not stale).

    A page is stale when code it cites changed or is gone, its review expired, or a page it
    depends on (at any depth) is stale, rejected, deprecated or superseded; a claim is stale
    when its source is gone. Drifted citations (the text moved) do not make a page stale.
    `only` limits the answer (and the work) to those pages and their dependencies."""
    paths = paths or {page_id: page_id for page_id in pages}
    health = assess(pages, paths, Path(repo), today or dt.date.today(), graph, only)
    out: dict[str, list[str]] = {}
    for page_id, reasons in health.direct.items():
        if (only is None or page_id in only) and pages[page_id].status not in RETIRED:
            out.setdefault(page_id, []).extend(f"this page {r}" for r in reasons)
    for dep in health.stale_dependencies:
        out.setdefault(dep.page, []).append(
            f"depends on {dep.cause}, which {dep.reason} ({' -> '.join(dep.chain)})"
        )
    for gone in health.sources_gone:
        out.setdefault(gone.page, []).append(f"its source {gone.source} {gone.reason}")
    return out
