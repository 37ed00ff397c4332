"""Compile a brief: local facts -> candidates -> explainable ranking -> dependencies -> budget.

1. Local facts: the target repository's manifests and lockfiles (memoised on their stat).
2. Candidates: hybrid search on the task (plus the libraries), and every page whose `appliesTo`
   positively matches the request (library, agent, model, toolchain, repo_type, path globs).
   A candidate whose scope contradicts the request, or which is rejected, deprecated or
   superseded, is excluded and the reason kept.
3. Ranking: relative search score + matched scope keys + priors by type, status, confidence;
   each selected page carries the reasons in words.
4. Dependencies along dependsOn to the requested depth; missing targets are reported.
5. Budget: a page goes in only together with its dependencies; what does not fit is listed.
6. Boundaries: accepted policy/intervention -> decision_capable, accepted knowledge/failure ->
   domain_context, everything else -> evidence_only; stale pages (expired review, cited code
   changed) are demoted to evidence with a warning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from experimentos.briefs.models import (
    Boundary,
    Brief,
    BriefEntry,
    BriefRequest,
    Cut,
    Excluded,
    MissingDependency,
    StaleWarning,
)
from experimentos.briefs.render import entry_block, overhead_block
from experimentos.errors import UsageError
from experimentos.index.tokens import count_tokens, tokenizer_name
from experimentos.knowledge.graph import DEPENDS_ON
from experimentos.knowledge.live import TEXT_KEYS, Live, Snapshot
from experimentos.knowledge.models import Page, PageType, Status
from experimentos.repofacts.facts import LocalFacts, LocalVersion, cached_local_facts, python_key
from experimentos.repofacts.versions import MatchContext, applies, exact_version, path_matches

SEARCH_LIMIT = 12
MIN_ENTRY_TOKENS = 40  # below this no page entry fits
MEMO_SIZE = 128  # briefs remembered per snapshot
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
_GONE = (Status.rejected, Status.deprecated, Status.superseded)
_RULE_RE = re.compile(r"^##\s+Rule\s*$(.*?)(?=^##\s|\Z)", re.MULTILINE | re.DOTALL)
RULE_WORDS = 90


@dataclass
class _Candidate:
    page: Page
    rank: int | None = None  # 1-based search rank
    relative: float = 0.0  # search score / best search score
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


def compile_brief(live: Live, request: BriefRequest, today: dt.date | None = None) -> Brief:
    """The brief for `request` over the live knowledge base."""
    req = request.checked()
    today = today or dt.date.today()
    snap = live.snapshot()
    repo = _repo(req)
    local = cached_local_facts(repo) if repo else None
    context = MatchContext(
        agent=req.agent,
        model=req.model,
        toolchain=req.toolchain,
        repo_type=req.repo_type,
        libraries=req.libraries,
        files=req.files,
        local=local,
    )
    # The same request over the same knowledge and manifests gives the same brief: an agent's
    # session asks for it several times (pre-work, work context, brief). Cited files are
    # re-checked on every hit, since they live outside the watched knowledge root.
    memo = snap.cache.setdefault("briefs", {})
    key = (req.model_dump_json(), id(local), today)
    hit = memo.get(key)
    if hit is not None and all(_stat_key(path) == st for path, st in hit[1]):
        return hit[0]

    candidates, mode, notice = _candidates(live, snap, req, context)
    selected, excluded = _select(snap, candidates, context)

    cite_root = repo or _git_root(live.workspace.root)
    stale = _StaleCheck(snap, cite_root, today)
    included: dict[str, BriefEntry] = {}
    cut: list[Cut] = []
    missing: list[MissingDependency] = []
    local_versions = _relevant_versions(local, req, [c.page for c in candidates.values()])
    warnings_seen: dict[str, list[str]] = {}

    def entry_for(page: Page, role: str, cand: _Candidate | None) -> BriefEntry:
        reasons = stale.reasons(page)
        if reasons:
            warnings_seen[page.id] = reasons
        return _entry(snap, page, role, cand, reasons)

    # The fixed part of the brief (headings, local versions, problems) counts against the budget.
    used = count_tokens(overhead_block(req, local_versions, local))
    for cand in selected:
        if req.budget - used < MIN_ENTRY_TOKENS and cand.page.id not in included:
            # Nothing more can fit: list the rest without rendering them.
            cut.append(Cut(id=cand.page.id, title=cand.page.title, tokens=0,
                           reason="budget exhausted"))  # fmt: skip
            continue
        if cand.page.id in included:
            included[cand.page.id].reasons = cand.reasons
            included[cand.page.id].score = round(cand.score, 4)
            continue
        closure = snap.graph.closure(cand.page.id, req.depth)
        missing.extend(
            MissingDependency(source=e.source, target=e.target)
            for e in closure.missing
            if MissingDependency(source=e.source, target=e.target) not in missing
        )
        unit = [entry_for(cand.page, "selected", cand)]
        for node in closure.nodes[1:]:
            if node.id in included:
                if cand.page.id not in included[node.id].required_by:
                    included[node.id].required_by.append(cand.page.id)
                continue
            dep = entry_for(snap.pages[node.id], "dependency", None)
            dep.required_by = [node.via]
            dep.reasons = [f"dependency of {node.via} (depth {node.depth})"]
            unit.append(dep)
        cost = sum(e.tokens for e in unit)
        if used + cost > req.budget and len(unit) > 1:
            # Too big in full: ship the dependencies as one-line references instead.
            small = [unit[0], *(_compact(snap, e) for e in unit[1:])]
            if used + sum(e.tokens for e in small) <= req.budget:
                unit, cost = small, sum(e.tokens for e in small)
        if used + cost > req.budget:
            deps = len(unit) - 1
            why = f"needs {cost} tokens" + (f" with {deps} dependencies" if deps else "")
            cut.append(
                Cut(
                    id=cand.page.id,
                    title=cand.page.title,
                    tokens=cost,
                    reason=f"{why}; {max(req.budget - used, 0)} of the budget left",
                )
            )
            continue
        used += cost
        for entry in unit:
            included[entry.id] = entry

    entries = _load_order(snap, included)
    warnings = [
        StaleWarning(id=pid, reason=reason)
        for pid in (e.id for e in entries)
        for reason in warnings_seen.get(pid, [])
    ]
    brief = Brief(
        brief_id="",
        request=req,
        knowledge_hash=snap.content_hash,
        search_mode=mode,
        notice=notice,
        entries=entries,
        excluded=excluded,
        cut=cut,
        missing=missing,
        stale_warnings=warnings,
        local_versions=local_versions,
        manifests=list(local.manifests) if local else [],
        manifest_problems=list(local.problems) if local else [],
        tokenizer=tokenizer_name(),
        token_estimate=used,
        truncated=bool(cut),
    )
    brief.brief_id = brief_id(brief)
    if len(memo) >= MEMO_SIZE:
        memo.pop(next(iter(memo)))
    memo[key] = (brief, stale.checked)
    return brief


def brief_id(brief: Brief) -> str:
    """A hash of the request, the knowledge content and the local facts it saw."""
    payload = {
        "request": brief.request.model_dump(mode="json"),
        "knowledge": brief.knowledge_hash,
        "local": {k: v.model_dump(mode="json") for k, v in sorted(brief.local_versions.items())},
        "manifests": brief.manifests,
        "problems": [p.model_dump(mode="json") for p in brief.manifest_problems],
        "stale": [w.model_dump(mode="json") for w in brief.stale_warnings],
        "mode": brief.search_mode,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"brief.{digest[:16]}"


# --- candidates and selection ---------------------------------------------------------------


def _repo(req: BriefRequest) -> Path | None:
    if req.repo is None:
        return None
    path = Path(req.repo).expanduser().resolve()
    if not path.is_dir():
        raise UsageError(f"repository {req.repo!r} is not a directory", field="repo")
    return path


def _git_root(start: Path) -> Path:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def _candidates(
    live: Live, snap: Snapshot, req: BriefRequest, context: MatchContext
) -> tuple[dict[str, _Candidate], str, str]:
    out: dict[str, _Candidate] = {}
    mode, notice = "none", ""
    index = live.index()
    if index is not None:
        from experimentos.index.search import search

        query = " ".join([req.task, *req.libraries])
        response = search(index, query, mode="hybrid", limit=SEARCH_LIMIT, sync=False)
        mode, notice = response.mode, response.notice or live.notice
        hits = [h for h in response.results if h.id in snap.pages]
        best = max((h.score for h in hits), default=0.0) or 1.0
        for rank, hit in enumerate(hits, 1):
            out[hit.id] = _Candidate(snap.pages[hit.id], rank=rank, relative=hit.score / best)
    for page_id in sorted(_structural(snap, context)):
        out.setdefault(page_id, _Candidate(snap.pages[page_id]))
    return out, mode, notice


def _structural(snap: Snapshot, context: MatchContext) -> set[str]:
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


def _superseded_by(snap: Snapshot, page_id: str) -> list[str]:
    return sorted(
        e.source
        for e in snap.graph.incoming.get(page_id, [])
        if e.kind == "supersedes" and snap.pages[e.source].status is Status.accepted
    )


def _select(
    snap: Snapshot, candidates: dict[str, _Candidate], context: MatchContext
) -> tuple[list[_Candidate], list[Excluded]]:
    selected: list[_Candidate] = []
    excluded: list[Excluded] = []
    for cand in candidates.values():
        page = cand.page
        if page.status in _GONE:
            excluded.append(
                Excluded(id=page.id, title=page.title, reasons=[f"status {page.status}"])
            )
            continue
        newer = _superseded_by(snap, page.id)
        if newer:
            why = f"superseded by {', '.join(newer)}"
            excluded.append(Excluded(id=page.id, title=page.title, reasons=[why]))
            continue
        match = applies(page.applies_to, context)
        if not match.applies:
            reasons = [r for r in match.reasons if not r.split(": ", 1)[-1].startswith("unknown")]
            excluded.append(Excluded(id=page.id, title=page.title, reasons=reasons))
            continue
        if not match.matched and cand.relative < MIN_RELATIVE_SCORE:
            continue  # found by search only, and only weakly
        cand.score = cand.relative + sum(KEY_WEIGHT.get(k, 0.0) for k in match.matched)
        cand.score += TYPE_WEIGHT[page.type] + CONFIDENCE_WEIGHT[page.confidence.value]
        cand.score += ACCEPTED_WEIGHT if page.status is Status.accepted else 0.0
        if cand.rank is not None:
            cand.reasons.append(f"search rank {cand.rank} (relative score {cand.relative:.2f})")
        cand.reasons += [_matched_reason(page, key, context) for key in match.matched]
        cand.reasons += [f"scope not verified: {r}" for r in match.reasons]
        cand.reasons.append(f"{page.status} {page.type}, {page.confidence} confidence")
        selected.append(cand)
    selected.sort(key=lambda c: (-c.score, c.page.id))
    excluded.sort(key=lambda e: e.id)
    return selected, excluded


def _matched_reason(page: Page, key: str, context: MatchContext) -> str:
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


def _relevant_versions(
    local: LocalFacts | None, req: BriefRequest, pages: list[Page]
) -> dict[str, LocalVersion]:
    if local is None:
        return {}
    names = list(req.libraries)
    for page in pages:
        if page.applies_to is not None:
            names += page.applies_to.values("library")
    out: dict[str, LocalVersion] = {}
    for name in names:
        entry = local.get(name)
        if entry is not None:
            out[entry.name] = entry
    return dict(sorted(out.items()))


# --- entries, staleness, order ----------------------------------------------------------------


def boundary_of(page: Page, stale: bool) -> Boundary:
    if stale or page.status is not Status.accepted:
        return "evidence_only"
    if page.decision_capable:
        return "decision_capable"
    if page.type in (PageType.knowledge_card, PageType.failure):
        return "domain_context"
    return "evidence_only"


def rule_text(page: Page) -> str:
    """The page's `## Rule` section, cut to RULE_WORDS words."""
    found = _RULE_RE.search(page.body)
    if not found:
        return ""
    words = found.group(1).split()
    text = " ".join(words[:RULE_WORDS])
    return text + (" …" if len(words) > RULE_WORDS else "")


def _entry(
    snap: Snapshot, page: Page, role: str, cand: _Candidate | None, stale: list[str]
) -> BriefEntry:
    boundary = boundary_of(page, bool(stale))
    key = ("entry", page.id, snap.checksums[page.id], boundary, tuple(stale))
    cached = snap.cache.get(key)
    if cached is None:
        entry = BriefEntry(
            id=page.id,
            type=page.type.value,
            title=page.title,
            status=page.status.value,
            confidence=page.confidence.value,
            summary=page.summary,
            boundary=boundary,
            role="selected",
            depends_on=[t for t in page.depends_on if t in snap.pages],
            rule=rule_text(page) if boundary == "decision_capable" else "",
            required_checks=list(page.required_checks),
            forbidden_actions=list(page.forbidden_actions),
            stale=list(stale),
            path=snap.path_of(page.id),
        )
        entry.tokens = count_tokens(entry_block(entry))
        snap.cache[key] = cached = entry
    # Shallow: the lists a brief changes (reasons, required_by) are replaced, never appended to.
    update: dict = {"role": role, "reasons": [], "required_by": []}
    if cand is not None:
        update.update(score=round(cand.score, 4), reasons=list(cand.reasons))
    return cached.model_copy(update=update)


def _compact(snap: Snapshot, entry: BriefEntry) -> BriefEntry:
    """The entry as a reference: heading and status line only."""
    key = ("compact", entry.id, snap.checksums[entry.id], entry.boundary, tuple(entry.stale))
    tokens = snap.cache.get(key)
    small = entry.model_copy(update={"compact": True})
    if tokens is None:
        tokens = snap.cache[key] = count_tokens(entry_block(small))
    small.tokens = tokens
    return small


class _StaleCheck:
    """Why a page is stale: its review expired, or the code it cites changed."""

    def __init__(self, snap: Snapshot, repo: Path, today: dt.date):
        self.snap, self.repo, self.today = snap, repo, today
        self.checked: list[tuple[Path, tuple | None]] = []  # cited files and their stat

    def reasons(self, page: Page) -> list[str]:
        out = []
        if page.expires is not None and page.expires < self.today:
            out.append(f"review expired on {page.expires.isoformat()}")
        for cite in page.cites:
            if cite.sha256 is None:
                continue
            where = cite.path + (f":{cite.lines}" if cite.lines else "")
            self.checked.append((self.repo / cite.path, _stat_key(self.repo / cite.path)))
            digest = cite_digest(self.repo, cite.path, cite.lines)
            if digest is None:
                out.append(f"cited file {cite.path} not found in {self.repo}")
            elif digest != cite.sha256:
                out.append(f"cited code changed: {where} no longer has the reviewed sha256")
        return out


_DIGESTS: dict[tuple, str | None] = {}


def _stat_key(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def cite_digest(repo: Path, path: str, lines: str | None = None) -> str | None:
    """sha256 of a cited file, or of lines `a-b` of it (1-based, inclusive, with their line
    endings); None when the file does not exist. Memoised on the file's stat."""
    try:
        target = (repo / path).resolve()
        if not target.is_relative_to(repo.resolve()):
            return None
        st = target.stat()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device in the target repo would block a read
        return None
    key = (str(target), lines, st.st_mtime_ns, st.st_size, st.st_ino)
    if key not in _DIGESTS:
        try:
            data = target.read_bytes()
        except OSError:
            return None
        if lines:
            first, _, last = lines.partition("-")
            start, end = int(first), int(last or first)
            data = b"".join(data.splitlines(keepends=True)[start - 1 : end])
        if len(_DIGESTS) > 4096:
            _DIGESTS.clear()
        _DIGESTS[key] = hashlib.sha256(data).hexdigest()
    return _DIGESTS[key]


def _load_order(snap: Snapshot, included: dict[str, BriefEntry]) -> list[BriefEntry]:
    """Dependencies before the pages that need them; otherwise in the order they were chosen."""
    order: list[BriefEntry] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(page_id: str) -> None:
        if page_id in placed or page_id in visiting:  # cycles are safe: first visit wins
            return
        visiting.add(page_id)
        for edge in snap.graph.outgoing.get(page_id, []):
            if edge.kind == DEPENDS_ON and edge.target in included:
                place(edge.target)
        visiting.discard(page_id)
        placed.add(page_id)
        order.append(included[page_id])

    for page_id in included:
        place(page_id)
    return order
