"""What a brief may hold, as the trust rules see it: the boundary of every page (a rule,
reviewed background or only evidence), its notes, why, and the conflicts among its rules.

The rules themselves live in experimentos/knowledge/trust.py; this applies them to the pages
of one brief, memoised per snapshot and day except for what lives outside the knowledge base
(cited code, the lab's records), which is checked on every brief.
"""

from __future__ import annotations

import datetime as dt

from experimentos.briefs.entries import (
    StaleCheck,
    boundary_of,
    make_entry,
    review_note,
    trust_reason,
)
from experimentos.briefs.models import BriefEntry, Conflict, Form, KnowledgeWarning
from experimentos.briefs.select import Candidate
from experimentos.knowledge.graph import Closure
from experimentos.knowledge.live import Snapshot
from experimentos.knowledge.trust import LAB_KINDS, Known, background_conflicts, conflicts

PAGE_TOKENS = 30  # the least a page can take in a brief (a reference: one heading line)


class Trust:
    """Boundaries and notes of every page the brief may hold (the selected pages and their
    dependency closures), and the conflicts among its decision rules."""

    def __init__(self, snap: Snapshot, depth: int, stale: StaleCheck, today: dt.date, known: Known):
        self.snap, self.depth, self.stale, self.today, self.known = snap, depth, stale, today, known
        # Per snapshot and day: a page's boundary without cited code or lab evidence, its note.
        self._memo = snap.cache.setdefault(("trust", today), {})
        self._boundaries: dict[str, str] = {}
        self._said: dict[str, tuple] = {}  # per page: what its entry says in any form

    def keep(self, selected: list[Candidate], budget: int) -> None:
        """The pages the brief may hold: every rule (each goes in, or is named as left out);
        of the other pages, only as many as the budget could ever show."""
        rules, others = [], []
        for cand in selected:
            decides = self.boundary_of(cand.page.id) == "decision_capable"
            (rules if decides else others).append(cand)
        room = budget // PAGE_TOKENS + 20
        self.kept = [*rules, *others[:room]]
        self.omitted = max(len(others) - room, 0)  # counted as left out, never considered
        self.notes: dict[str, list[str]] = {c.page.id: c.notes for c in self.kept}
        members: dict[str, None] = {}
        for cand in self.kept:
            for node in self.closure(cand.page.id)[0].nodes:
                members.setdefault(node.id, None)
        self.members = list(members)
        self.boundary = {pid: self.boundary_of(pid) for pid in self.members}
        capable = {pid for pid in self.members if self.boundary[pid] == "decision_capable"}
        self.conflicts: list[Conflict] = []
        self.conflict_with: dict[str, list[str]] = {}
        # The conflicts among the rules this brief may hold (two rules; reviewed background
        # that disputes one of them: then the rule applies, with a warning).
        graph = self.snap.graph
        pairs = conflicts(  # a page whose boundary says rule is decision-capable
            self.snap.pages, self.today, among=sorted(capable), known=self.known, checked=True
        )
        for c in pairs:
            self.conflicts.append(Conflict(pages=[c.first, c.second], via=c.via, reason=c.message))
            self.conflict_with.setdefault(c.first, []).append(c.second)
            self.conflict_with.setdefault(c.second, []).append(c.first)
        for pid in self.conflict_with:
            self.boundary[pid] = "evidence_only"  # shown as a conflict, never as a rule
        self.disputed = background_conflicts(
            self.snap.pages,
            self.today,
            self.known,
            capable=[pid for pid in sorted(capable) if pid not in self.conflict_with],
            contradicted_by=lambda pid: [
                e.source for e in graph.incoming.get(pid, []) if e.kind == "contradicts"
            ],
        )

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

    def boundary_of(self, page_id: str) -> str:
        found = self._boundaries.get(page_id)
        if found is None:
            found = self._boundaries[page_id] = self._boundary(page_id)
        return found

    @staticmethod
    def _lab(page) -> bool:  # noqa: ANN001 - Page
        """Whether the page's review names lab records (looked up per brief, never memoised)."""
        return page.review is not None and any(
            r.split(".", 1)[0] in LAB_KINDS for r in page.review.evidence
        )

    def _boundary(self, page_id: str) -> str:
        key = ("boundary", page_id)
        found = self._memo.get(key)  # kept only for pages that depend on nothing outside
        if found is not None:
            return found
        page = self.snap.pages[page_id]
        found = boundary_of(page, bool(self.stale.reasons(page)), self.today, self.known)
        # Cited code (the page's, or that of a page it rests on) and lab records are checked
        # on every brief.
        if not (self._lab(page) or self.stale.reads_code(page)):
            self._memo[key] = found
        return found

    def review_note(self, page_id: str) -> str:
        page = self.snap.pages[page_id]
        if self._lab(page):
            return review_note(page, self.today, self.known)
        key = ("note", page_id)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = review_note(page, self.today, self.known)
        return found

    def entry(self, page_id: str, form: Form) -> BriefEntry:
        """The entry of a page in `form` (what it says besides the form: once per brief)."""
        page = self.snap.pages[page_id]
        said = self._said.get(page_id)
        if said is None:
            notes = list(self.notes.get(page_id, []))
            if note := self.review_note(page_id):
                notes.append(note)
            boundary = self.boundary[page_id]
            stale = self.stale.reasons(page)
            conflict_with = sorted(self.conflict_with.get(page_id, []))
            why = trust_reason(page, boundary, stale, conflict_with, self.today, self.known)
            said = self._said[page_id] = (boundary, stale, notes, conflict_with, why)
        boundary, stale, notes, conflict_with, why = said
        return make_entry(
            self.snap, page, boundary, form, stale, notes, conflict_with, self.today, why
        )

    def warnings(self) -> list[KnowledgeWarning]:
        out = []
        for pid in self.members:
            note = self.review_note(pid)
            if note and "expired" not in note:  # expiry is a stale warning already
                message = note.removeprefix("Not a decision rule: ").rstrip(".")
                incomplete = any(k in message for k in ("itself", "does not exist", "future"))
                code = "review-incomplete" if incomplete else "review-missing"
                out.append(KnowledgeWarning(id=pid, code=code, message=message))
        out += [
            KnowledgeWarning(
                id=c.pages[0], code="contradiction", message=f"{c.reason}; neither is applied"
            )
            for c in self.conflicts
        ]
        out += [
            KnowledgeWarning(
                id=c.rule,
                code="contradiction",
                message=f"{c.message}; the rule applies: say in your report that reviewed "
                "background disputes it",
            )
            for c in self.disputed
        ]
        return out
