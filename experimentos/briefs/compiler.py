"""Compile a brief: local facts -> candidates -> trust -> budget -> Markdown.

1. Local facts: the target repository's root manifests and lockfiles (memoised on their stat):
   every direct dependency, and the libraries the request names (`--library`, or words of the
   task text that name a dependency or a page's library).
2. Candidates and selection (select.py): hybrid search plus scope; what applies, ranked, with
   reasons; what is excluded, with reasons.
3. Trust (experimentos/knowledge/trust.py, entries.py): only accepted, reviewed, unexpired
   policies and interventions whose cited code is unchanged are decision rules; two of them
   that contradict each other are shown as a conflict, neither as a rule; the rest is domain
   context or evidence, whose checks and forbidden actions are shown only as claims.
4. Budget (budget.py): rules first, then domain context, then evidence, over the whole Markdown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from experimentos.briefs import render
from experimentos.briefs.budget import Packer, Pending, Plan
from experimentos.briefs.entries import (
    StaleCheck,
    boundary_of,
    cite_digest,
    make_entry,
    review_note,
    stat_key,
)
from experimentos.briefs.models import (
    Brief,
    BriefEntry,
    BriefRequest,
    Conflict,
    Form,
    KnowledgeWarning,
    StaleWarning,
)
from experimentos.briefs.select import Candidate, candidates, named_libraries, select
from experimentos.errors import UsageError
from experimentos.index.tokens import count_markdown, count_tokens, tokenizer_name
from experimentos.knowledge.graph import DEPENDS_ON, Closure
from experimentos.knowledge.live import Live, Snapshot
from experimentos.knowledge.trust import conflicts
from experimentos.repofacts.facts import LocalFacts, LocalVersion, cached_local_facts
from experimentos.repofacts.versions import MatchContext
from experimentos.store.gitroot import work_tree

__all__ = ["boundary_of", "brief_id", "cite_digest", "compile_brief"]

MEMO_SIZE = 128  # briefs remembered per snapshot
PAGE_TOKENS = 30  # the least a page can take in a brief (a reference: one heading line)
VERSIONS_SHARE = 0.15  # of the budget, at most, for direct dependencies the brief does not name


def compile_brief(live: Live, request: BriefRequest, today: dt.date | None = None) -> Brief:
    """The brief for `request` over the live knowledge base."""
    req = request.checked()
    today = today or dt.date.today()
    snap = live.snapshot()
    repo = _repo(req)
    local = cached_local_facts(repo) if repo else None
    # The same request over the same knowledge and manifests gives the same brief: an agent's
    # session asks for it several times (pre-work, work context, brief). Cited files are
    # re-checked on every hit, since they live outside the watched knowledge root.
    memo = snap.cache.setdefault("briefs", {})
    key = (req.model_dump_json(), id(local), today)
    hit = memo.get(key)
    if hit is not None and all(stat_key(path) == st for path, st in hit[1]):
        return hit[0]

    named, unknown = named_libraries(req, local, snap)
    context = MatchContext(
        agent=req.agent,
        model=req.model,
        toolchain=req.toolchain,
        repo_type=req.repo_type,
        libraries=named,
        files=req.files,
        local=local,
    )
    found, mode, notice = candidates(live, snap, req, context)
    selected, excluded, warnings = select(snap, found, context, today)
    stale = StaleCheck(repo or _git_root(live.workspace.root), today, snap.pages)
    trust = _Trust(snap, req.depth, selected, stale, today, req.budget)
    selected = trust.kept
    warnings = _unique_warnings([*warnings, *trust.warnings()])

    brief = Brief(
        brief_id="",
        request=req,
        knowledge_hash=snap.content_hash,
        search_mode=mode,
        notice=notice,
        excluded=excluded,
        conflicts=trust.conflicts,
        warnings=warnings,
        local_versions=_local_versions(local, named, [c.page for c in selected]),
        named_libraries=named,
        unknown_libraries=unknown,
        manifests=list(local.manifests) if local else [],
        manifest_problems=list(local.problems) if local else [],
        tokenizer=tokenizer_name(),
    )
    # The id covers every stale reason the brief could show, so it is known before the budget
    # decides which pages are shown (and its tokens count in the header).
    brief.brief_id = brief_id(brief, trust.stale_reasons())
    brief.versions_shown = _versions_shown(brief)
    plan = _fit(brief, snap, trust, selected)
    brief.stale_warnings = [
        StaleWarning(id=e.id, reason=reason) for e in brief.entries for reason in e.stale
    ]
    _settle_tokens(brief, plan, snap)
    if len(memo) >= MEMO_SIZE:
        memo.pop(next(iter(memo)))
    memo[key] = (brief, stale.checked)
    return brief


def brief_id(brief: Brief, stale: dict[str, list[str]] | None = None) -> str:
    """A hash of the request, the knowledge content, the local facts and the staleness of the
    pages (cited code outside the knowledge base) it saw."""
    payload = {
        "request": brief.request.model_dump(mode="json"),
        "knowledge": brief.knowledge_hash,
        "local": {k: v.model_dump(mode="json") for k, v in sorted(brief.local_versions.items())},
        "manifests": brief.manifests,
        "problems": [p.model_dump(mode="json") for p in brief.manifest_problems],
        "stale": stale if stale is not None else _stale_by_page(brief),
        "mode": brief.search_mode,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"brief.{digest[:16]}"


def _stale_by_page(brief: Brief) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for warning in brief.stale_warnings:
        out.setdefault(warning.id, []).append(warning.reason)
    return dict(sorted(out.items()))


# --- trust: boundaries, conflicts, notes ------------------------------------------------------


class _Trust:
    """Boundaries and notes of every page the brief may hold (the selected pages and their
    dependency closures), and the conflicts among its decision rules."""

    def __init__(
        self,
        snap: Snapshot,
        depth: int,
        selected: list[Candidate],
        stale: StaleCheck,
        today: dt.date,
        budget: int,
    ):
        self.snap, self.depth, self.stale, self.today = snap, depth, stale, today
        # Per snapshot and day: a page's boundary without cited code, and its review note.
        self._memo = snap.cache.setdefault(("trust", today), {})
        # Every rule is kept (each one goes in, or is named as left out); of the other pages,
        # only as many as the budget could ever show (a page costs PAGE_TOKENS at the least).
        rules = [c for c in selected if self._boundary(c.page.id) == "decision_capable"]
        others = [c for c in selected if self._boundary(c.page.id) != "decision_capable"]
        room = budget // PAGE_TOKENS + 20
        self.kept = sorted([*rules, *others[:room]], key=lambda c: (-c.score, c.page.id))
        self.omitted = max(len(others) - room, 0)  # counted as left out, never considered
        self.notes: dict[str, list[str]] = {c.page.id: c.notes for c in self.kept}
        members: dict[str, None] = {}
        for cand in self.kept:
            for node in self.closure(cand.page.id)[0].nodes:
                members.setdefault(node.id, None)
        self.members = list(members)
        self.boundary = {pid: self._boundary(pid) for pid in self.members}
        capable = {pid for pid in self.members if self.boundary[pid] == "decision_capable"}
        self.conflicts: list[Conflict] = []
        self.conflict_with: dict[str, list[str]] = {}
        # Every conflict of the knowledge base, once per snapshot and day; a brief shows those
        # whose two pages it holds as rules.
        every = self._memo.get("conflicts")
        if every is None:
            every = self._memo["conflicts"] = conflicts(snap.pages, today)
        for c in every:
            if c.first not in capable or c.second not in capable:
                continue
            self.conflicts.append(Conflict(pages=[c.first, c.second], via=c.via, reason=c.message))
            self.conflict_with.setdefault(c.first, []).append(c.second)
            self.conflict_with.setdefault(c.second, []).append(c.first)
        for pid in self.conflict_with:
            self.boundary[pid] = "evidence_only"  # shown as a conflict, never as a rule

    def stale_reasons(self) -> dict[str, list[str]]:
        pages = self.snap.pages
        found = {pid: self.stale.reasons(pages[pid]) for pid in self.members}
        return {pid: found[pid] for pid in sorted(found) if found[pid]}

    def closure(self, page_id: str) -> tuple[Closure, int]:
        key = ("closure", page_id, self.depth)
        found = self.snap.cache.get(key)
        if found is None:
            found = self.snap.cache[key] = self.snap.graph.closure(page_id, self.depth)
        return found, self.depth

    def _boundary(self, page_id: str) -> str:
        page = self.snap.pages[page_id]
        if any(cite.sha256 for cite in page.cites):  # cited code lives outside: check it now
            return boundary_of(page, bool(self.stale.reasons(page)), self.today)
        key = ("boundary", page_id)
        found = self._memo.get(key)
        if found is None:
            stale = bool(self.stale.reasons(page))
            found = self._memo[key] = boundary_of(page, stale, self.today)
        return found

    def review_note(self, page_id: str) -> str:
        key = ("note", page_id)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = review_note(self.snap.pages[page_id], self.today)
        return found

    def entry(self, page_id: str, form: Form) -> BriefEntry:
        page = self.snap.pages[page_id]
        notes = list(self.notes.get(page_id, []))
        if note := self.review_note(page_id):
            notes.append(note)
        return make_entry(
            self.snap,
            page,
            self.boundary[page_id],
            form,
            self.stale.reasons(page),
            notes,
            sorted(self.conflict_with.get(page_id, [])),
            self.today,
        )

    def warnings(self) -> list[KnowledgeWarning]:
        out = []
        for pid in self.members:
            note = self.review_note(pid)
            if note and "expired" not in note:  # expiry is a stale warning already
                message = note.removeprefix("Not a decision rule: ").rstrip(".")
                out.append(KnowledgeWarning(id=pid, code="review-missing", message=message))
        out += [
            KnowledgeWarning(
                id=c.pages[0], code="contradiction", message=f"{c.reason}; neither is applied"
            )
            for c in self.conflicts
        ]
        return out


def _unique_warnings(warnings: list[KnowledgeWarning]) -> list[KnowledgeWarning]:
    seen, out = set(), []
    for w in warnings:
        if (w.id, w.code, w.message) not in seen:
            seen.add((w.id, w.code, w.message))
            out.append(w)
    return out


# --- budget ------------------------------------------------------------------------------------


def _fit(brief: Brief, snap: Snapshot, trust: _Trust, selected: list[Candidate]) -> Plan:
    """Fill `brief` with entries in priority order within its budget (see budget.py)."""
    req = brief.request
    fixed = count_markdown(render.render_brief(brief))
    conflict_lines = [render.conflict_line(c) for c in brief.conflicts]
    info = {c.page.id: (c.score, c.reasons) for c in selected}
    packer = Packer(req.budget, fixed, conflict_lines, trust.entry, trust.closure, info)
    packer.plan.cut_omitted = trust.omitted
    groups: dict[str, list[Candidate]] = {}
    for cand in selected:
        pid = cand.page.id
        group = "conflict" if pid in trust.conflict_with else trust.boundary[pid]
        groups.setdefault(group, []).append(cand)
    for pid in sorted(trust.conflict_with):  # a conflicting rule pulled in as a dependency only
        if pid not in info:
            groups.setdefault("conflict", []).append(Candidate(snap.pages[pid]))

    def pending(group: str, head: Form, deps: Form, fallback: Form | None) -> list[Pending]:
        rule = group in ("decision_capable", "conflict")
        return [
            Pending(c.page.id, c.page.title, rule, head, deps, fallback)
            for c in groups.get(group, [])
        ]

    # 1. every rule as a line, 2. conflicts as lines, then 4. domain context, 5. evidence.
    packer.set_pending(
        [
            *pending("decision_capable", "line", "ref", None),
            *pending("conflict", "line", "ref", None),
            *pending("domain_context", "full", "full", "ref"),
            *pending("evidence_only", "full", "full", "ref"),
        ]
    )
    rules = sum(1 for p in packer.pending if p.rule)
    for _ in range(rules):
        packer.place_next()
    # 3. the rules in full, before any domain context.
    packer.upgrade([c.page.id for c in groups.get("decision_capable", [])], "full")
    for group in ("domain_context", "evidence_only"):
        for _ in range(len(groups.get(group, []))):
            packer.place_next()
        packer.upgrade(
            [
                pid
                for pid, e in packer.plan.entries.items()
                if e.form == "ref"
                and trust.boundary[pid] == group
                and pid not in trust.conflict_with
            ],
            "full",
        )
    plan = packer.plan
    brief.entries = _load_order(snap, plan.entries)
    brief.cut, brief.cut_omitted, brief.missing = plan.cut, plan.cut_omitted, plan.missing
    brief.not_loaded = plan.visible_not_loaded()
    brief.truncated = bool(plan.cut or plan.cut_omitted)
    brief.token_estimate = packer.used()
    return plan


def _settle_tokens(brief: Brief, plan: Plan, snap: Snapshot) -> None:
    """Count the final Markdown exactly. Should it run over the budget (the estimate is a sum
    of parts and should not, unless the ids of the rules left out alone overflow it), name
    fewer of those rules (the JSON lists them all), then back out the last steps."""
    markdown = render.render_brief(brief)
    actual = count_markdown(markdown)
    rules_cut = sum(1 for c in brief.cut if c.rule)
    while actual > brief.request.budget:
        listed = rules_cut if brief.rules_listed < 0 else brief.rules_listed
        if listed > 0:
            brief.rules_listed = max(listed - max((actual - brief.request.budget) // 4, 1), 0)
        elif plan.back_out():
            brief.entries = _load_order(snap, plan.entries)
            brief.cut, brief.cut_omitted = plan.cut, plan.cut_omitted
            brief.missing, brief.not_loaded = plan.missing, plan.visible_not_loaded()
            brief.stale_warnings = [
                StaleWarning(id=e.id, reason=reason) for e in brief.entries for reason in e.stale
            ]
            brief.truncated = True
            rules_cut = sum(1 for c in brief.cut if c.rule)
        else:
            break  # the skeleton alone (headings, local facts, the contract) is over budget
        markdown = render.render_brief(brief)
        actual = count_markdown(markdown)
    brief.token_estimate = actual
    brief._markdown = markdown


def _load_order(snap: Snapshot, included: dict[str, BriefEntry]) -> list[BriefEntry]:
    """Dependencies before the pages that need them; otherwise in the order they went in."""
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


# --- local facts --------------------------------------------------------------------------------


def _local_versions(
    local: LocalFacts | None, named: list[str], pages: list
) -> dict[str, LocalVersion]:
    """Every direct dependency, plus lockfile entries the request or a selected page names."""
    if local is None:
        return {}
    out = {entry.name: entry for entry in local.direct().values()}
    names = dict.fromkeys(named)
    for page in pages:
        if page.applies_to is not None and page.applies_to.library:
            names.update(dict.fromkeys(page.applies_to.values("library")))
    for name in names:
        entry = local.get(name)
        if entry is not None:
            out[entry.name] = entry
    return dict(sorted(out.items(), key=lambda item: item[0].lower()))


def _versions_shown(brief: Brief) -> int:
    """How many direct dependencies the brief does not name fit VERSIONS_SHARE of the budget
    (-1: all of them); the rest are counted in one line and listed in the JSON."""
    every = render.version_lines(brief)
    if sum(count_tokens(line) for line in every) <= VERSIONS_SHARE * brief.request.budget:
        return -1
    named = {n.lower() for n in brief.named_libraries}
    others = [v for v in brief.local_versions.values() if v.direct and v.name.lower() not in named]
    allowance = VERSIONS_SHARE * brief.request.budget
    shown = 0
    for v in others:
        allowance -= count_tokens(render.version_line(v, False))
        if allowance < 0:
            break
        shown += 1
    return shown


# --- request plumbing ----------------------------------------------------------------------------


def _repo(req: BriefRequest) -> Path | None:
    if req.repo is None:
        return None
    path = Path(req.repo).expanduser().resolve()
    if not path.is_dir():
        raise UsageError(f"repository {req.repo!r} is not a directory", field="repo")
    return path


def _git_root(start: Path) -> Path:
    return work_tree(start) or start
