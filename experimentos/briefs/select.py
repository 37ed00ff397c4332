"""Select what a brief may hold: candidates from search and scope, what applies, and why.

Candidates are the hybrid search hits on the task (plus the named libraries) and every page
whose `appliesTo` positively matches the request. A candidate that is rejected, deprecated or
superseded (by a decision-capable page; a `supersedes` edge from anything else is ignored with
a warning), or whose scope contradicts the request, is excluded with its reasons. The rest is
ranked: relative search score + matched scope keys + priors by type, status and confidence.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from experimentos.briefs.models import BriefRequest, Excluded, KnowledgeWarning
from experimentos.knowledge.live import TEXT_KEYS, Live, Snapshot
from experimentos.knowledge.trust import (
    LAB_KINDS,
    RETIRED,
    Known,
    decision_capable,
    not_decision_capable_why,
)
from experimentos.models.knowledge import Page, PageType, Status
from experimentos.repofacts.facts import LocalFacts, python_key
from experimentos.repofacts.mentions import mentioned
from experimentos.repofacts.versions import MatchContext, applies, exact_version, path_matches

SEARCH_LIMIT = 12
# A page found only by search must score at least this share of the best hit to be selected.
MIN_RELATIVE_SCORE = 0.35
KEY_WEIGHT = {
    "library": 0.6,
    "versions": 0.3,
    "paths": 0.6,
    "agent": 0.3,
    "model": 0.3,
    "toolchain": 0.3,
    "repo_type": 0.3,
}
UNDECLARED_WEIGHT = 0.3  # the page's library is named in the request, not declared here
TYPE_WEIGHT = {
    PageType.policy: 0.3,
    PageType.intervention: 0.25,
    PageType.failure: 0.2,
    PageType.knowledge_card: 0.15,
    PageType.claim: 0.1,
    PageType.source: 0.05,
}
CONFIDENCE_WEIGHT = {"high": 0.1, "medium": 0.05, "low": 0.0}
ACCEPTED_WEIGHT = 0.2


@dataclass
class Candidate:
    page: Page
    rank: int | None = None  # 1-based search rank
    raw: float = 0.0  # its search score
    relative: float = 0.0  # search score / the best score of a hit that can appear
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown with the page whatever the form
    matched: list[str] = field(default_factory=list)  # appliesTo keys that match the request
    named: bool = False  # its library is named in the request (not only a dependency)


def named_libraries(
    req: BriefRequest, local: LocalFacts | None, snap: Snapshot
) -> tuple[list[str], list[str]]:
    """(libraries the request names: `--library` plus those the task text mentions among the
    repository's direct dependencies and the pages' `appliesTo.library`; those of them the
    repository's manifests do not declare)."""
    names = [entry.name for entry in local.direct().values()] if local else []
    names += sorted(snap.by_value["library"])
    named = list(req.libraries)
    keys = {python_key(n) for n in named}
    for name in mentioned(req.task, names):
        if python_key(name) not in keys:
            keys.add(python_key(name))
            named.append(name)
    unknown = []
    if local is not None and local.manifests:
        unknown = [name for name in named if local.get(name) is None]
    return named, unknown


def candidates(
    live: Live, snap: Snapshot, req: BriefRequest, context: MatchContext
) -> tuple[dict[str, Candidate], str, str]:
    """(candidates by id, the search mode that found them, a notice about the index)."""
    out: dict[str, Candidate] = {}
    mode, notice = "none", ""
    index = live.index()
    if index is not None:
        from experimentos.index.search import rank_pages

        query = " ".join([req.task, *req.libraries])
        ranking = rank_pages(index, query, mode="hybrid", limit=SEARCH_LIMIT, sync=False)
        mode, notice = ranking.mode, ranking.notice or live.notice
        hits = [(pid, score) for pid, score in ranking.scores if pid in snap.pages]
        for rank, (pid, score) in enumerate(hits, 1):  # relative scores: once exclusions known
            out[pid] = Candidate(snap.pages[pid], rank=rank, raw=score)
    for page_id in sorted(structural(snap, context)):
        out.setdefault(page_id, Candidate(snap.pages[page_id]))
    return out, mode, notice


def structural(snap: Snapshot, context: MatchContext) -> set[str]:
    """Pages whose appliesTo names something in the request (checked in full later)."""
    found: set[str] = set()
    for key in TEXT_KEYS:
        value = getattr(context, key)
        if value:
            found |= snap.by_value[key].get(value.strip().casefold(), set())
    libraries = snap.by_value["library"]
    names = {python_key(name) for name in context.libraries}
    if context.local is not None:
        names |= {python_key(name) for name in context.local.versions}
    # Lockfiles list thousands of packages and pages name a few libraries: walk the smaller side.
    smaller, larger = (names, libraries) if len(names) < len(libraries) else (libraries, names)
    for name in smaller:
        if name in larger:
            found |= libraries[name]
    if context.files:
        for page_id in snap.with_paths:
            globs = snap.pages[page_id].applies_to.paths
            if any(path_matches(g, f) for g in globs for f in context.files):
                found.add(page_id)
    return found


def superseded_by(
    snap: Snapshot,
    page: Page,
    today: dt.date,
    context: MatchContext | None = None,
    known: Known | None = None,
) -> tuple[list[str], list[KnowledgeWarning]]:
    """(decision-capable pages that supersede `page` here; warnings for pages that claim to but
    may not: only a decision-capable page can supersede a decision-capable one). With a
    `context`, a superseder whose own scope contradicts it does not apply here, so it removes
    nothing here (a rule for drizzle-kit 1.x does not retire the 0.31 rule for a 0.31 repo)."""
    newer: list[str] = []
    warnings: list[KnowledgeWarning] = []
    target_decides = decision_capable(page, today, known)
    for edge in snap.graph.incoming.get(page.id, []):
        if edge.kind != "supersedes":
            continue
        source = snap.pages[edge.source]
        if context is not None and not applies(source.applies_to, context).applies:
            continue
        if decision_capable(source, today, known):
            newer.append(source.id)
        elif not target_decides:
            if source.status is Status.accepted:  # the old rule, when it never was one
                newer.append(source.id)
        elif source.status is Status.accepted or source.type not in (
            PageType.policy,
            PageType.intervention,
        ):
            if source.status in RETIRED:
                continue
            why = not_decision_capable_why(source, today, known)
            warnings.append(
                KnowledgeWarning(
                    id=source.id,
                    code="supersede-by-evidence",
                    message=f"claims to supersede {page.id}, but {why}; ignored: "
                    f"{page.id} still applies",
                )
            )
    return sorted(newer), warnings


@dataclass
class Verdict:
    """What a page's status and scope say for one request context (memoised per snapshot)."""

    excluded: Excluded | None = None
    scope_score: float = 0.0  # matched keys and priors; the search score is added per request
    by_scope: bool = False  # applies by its scope: kept without a strong search hit
    matched: list[str] = field(default_factory=list)  # appliesTo keys that match
    named: bool = False  # its library is named in the request
    reasons: list[str] = field(default_factory=list)  # besides the search rank
    notes: list[str] = field(default_factory=list)
    warnings: list[KnowledgeWarning] = field(default_factory=list)


def applies_here(
    snap: Snapshot, page: Page, context: MatchContext, today: dt.date, known: Known | None = None
) -> bool:
    """Whether `page` can appear in a brief for this context: not retired, not superseded here,
    its scope not contradicted."""
    return verdict(snap, page, context, today, known).excluded is None


def verdict(
    snap: Snapshot, page: Page, context: MatchContext, today: dt.date, known: Known | None = None
) -> Verdict:
    """Status, supersession and scope of `page` for this context."""
    if page.status in RETIRED:
        reasons = [f"status {page.status}"]
        return Verdict(excluded=Excluded(id=page.id, title=page.title, reasons=reasons))
    newer, ignored = superseded_by(snap, page, today, context, known)
    if newer:
        why = f"superseded by {', '.join(newer)}"
        return Verdict(excluded=Excluded(id=page.id, title=page.title, reasons=[why]))
    match = applies(page.applies_to, context)
    if not match.applies:
        reasons = [r for r in match.reasons if not r.split(": ", 1)[-1].startswith("unknown")]
        return Verdict(excluded=Excluded(id=page.id, title=page.title, reasons=reasons))
    out = Verdict(by_scope=bool(match.matched or match.undeclared), warnings=ignored)
    out.matched = list(match.matched) + (["undeclared"] if match.undeclared else [])
    names = {python_key(n) for n in context.libraries}
    libraries = page.applies_to.values("library") if page.applies_to else []
    out.named = any(python_key(n) in names for n in libraries)
    out.scope_score = sum(KEY_WEIGHT.get(k, 0.0) for k in match.matched)
    out.scope_score += UNDECLARED_WEIGHT if match.undeclared else 0.0
    out.scope_score += TYPE_WEIGHT[page.type] + CONFIDENCE_WEIGHT[page.confidence.value]
    out.scope_score += ACCEPTED_WEIGHT if page.status is Status.accepted else 0.0
    out.reasons = [matched_reason(page, key, context) for key in match.matched]
    out.reasons += [f"scope not verified: {r}" for r in match.reasons]
    out.reasons.append(f"{page.status} {page.type}, {page.confidence} confidence")
    if match.undeclared:
        names = " | ".join(match.undeclared)
        out.notes.append(
            f"Scope not verified: {names} is named in the request but not declared by the "
            "repository's manifests (vendored, or installed another way?); check that this "
            "page applies before acting on it."
        )
    return out


def _maybe_rule(page: Page) -> bool:
    review = page.review
    return (
        page.status is Status.accepted
        and page.type in (PageType.policy, PageType.intervention)
        and review is not None
        and bool(review.evidence)
    )


def _library_keys(snap: Snapshot, page: Page) -> frozenset[str]:
    """The libraries (normalised) whose naming in a request can change `page`'s verdict: its
    own, and those of the pages that supersede it."""
    pages = [page] + [
        snap.pages[e.source] for e in snap.graph.incoming.get(page.id, []) if e.kind == "supersedes"
    ]
    return frozenset(
        python_key(name)
        for p in pages
        if p.applies_to is not None
        for name in p.applies_to.values("library")
    )


def _lab_evidence(snap: Snapshot, page: Page) -> bool:
    """Whether deciding about `page` may ask which lab records exist (its review, or that of a
    page that supersedes it, names an experiment, test or run): such verdicts are not kept."""
    pages = [page] + [
        snap.pages[e.source] for e in snap.graph.incoming.get(page.id, []) if e.kind == "supersedes"
    ]
    return any(
        p.review is not None and any(r.split(".", 1)[0] in LAB_KINDS for r in p.review.evidence)
        for p in pages
    )


def select(
    snap: Snapshot,
    found: dict[str, Candidate],
    context: MatchContext,
    today: dt.date,
    known: Known | None = None,
) -> tuple[list[Candidate], list[Excluded], list[KnowledgeWarning]]:
    """(the candidates that apply, best first; the excluded ones with reasons; warnings)."""
    selected: list[Candidate] = []
    excluded: list[Excluded] = []
    warnings: list[KnowledgeWarning] = []
    # Verdicts per context: an agent's session asks about one repository many times, and only
    # the search part of a candidate's score changes with the task. The libraries a request
    # names vary with its text (a task that mentions numpy names numpy), and a page's verdict
    # reads them only through its own libraries and those of the pages that supersede it: the
    # verdict is kept per page and that part of the named set, so a task naming one more
    # library does not weigh every page in scope again.
    scope = context.model_dump(exclude={"local", "libraries"})
    memo = snap.cache.setdefault(
        ("verdicts", json.dumps(scope), bool(context.libraries), id(context.local), today), {}
    )
    named = frozenset(python_key(name) for name in context.libraries)
    keys = snap.cache.setdefault(("library-keys",), {})
    verdicts: dict[str, Verdict] = {}
    for cand in found.values():
        page = cand.page
        reads = keys.get(page.id)
        if reads is None:
            reads = keys[page.id] = _library_keys(snap, page)
        reads = named & reads
        key = (page.id, reads) if reads else page.id
        found_verdict = memo.get(key)
        if found_verdict is None:
            found_verdict = verdict(snap, page, context, today, known)
            if not _lab_evidence(snap, page):
                memo[key] = found_verdict
        verdicts[page.id] = found_verdict
    # The cut for search-only pages is relative to the best hit that can appear.
    best = max(
        (c.raw for c in found.values() if c.rank and verdicts[c.page.id].excluded is None),
        default=0.0,
    )
    for cand in found.values():
        page = cand.page
        found_verdict = verdicts[page.id]
        if found_verdict.excluded is not None:
            excluded.append(found_verdict.excluded)
            continue
        cand.relative = cand.raw / best if cand.rank and best > 0 else 0.0
        if (
            not found_verdict.by_scope
            and cand.relative < MIN_RELATIVE_SCORE
            and not _maybe_rule(page)
        ):
            continue  # found by search only, and only weakly (rules: rank.py decides)
        warnings += found_verdict.warnings
        cand.matched, cand.named = found_verdict.matched, found_verdict.named
        cand.score = cand.relative + found_verdict.scope_score
        if cand.rank is not None:
            rank = f"search rank {cand.rank} (relative score {cand.relative:.2f})"
            cand.reasons = [rank, *found_verdict.reasons]
        else:
            cand.reasons = found_verdict.reasons
        cand.notes = found_verdict.notes
        selected.append(cand)
    selected.sort(key=lambda c: (-c.score, c.page.id))
    excluded.sort(key=lambda e: e.id)
    return selected, excluded, warnings


def matched_reason(page: Page, key: str, context: MatchContext) -> str:
    scope = page.applies_to
    if key == "library":
        names = scope.values("library")
        local = context.local
        for name in names:
            entry = local.get(name) if local else None
            if entry:
                return f"appliesTo.library {name} is a dependency here ({entry.source})"
        return f"appliesTo.library {' | '.join(names)} is named in the request"
    if key == "versions":
        for name in scope.values("library"):
            entry = context.local.get(name) if context.local else None
            if entry and (version := exact_version(entry)):
                return f"appliesTo.versions {scope.versions} matches {entry.name} {version}"
        return f"appliesTo.versions {scope.versions} matches"
    if key == "paths":
        hits = [f for f in context.files if any(path_matches(g, f) for g in scope.paths)]
        return f"appliesTo.paths matches {', '.join(hits[:3])}"
    return f"appliesTo.{key} matches {getattr(context, key)}"
