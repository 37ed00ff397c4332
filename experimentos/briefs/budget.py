"""Fit a brief into its token budget, in the order an agent needs it.

The budget covers the whole Markdown: headings, local facts, every list ("left out" included)
and the completion contract. Pages go in by priority:
1. every applicable decision rule, as its one-line rule statement (the summary) and id, with
   its dependencies as references (heading and status line);
2. conflicting rules, the same way (they are shown as a conflict, never as rules);
3. the decision rules in full (the whole `## Rule` section, checks and forbidden actions);
4. domain context, in full, then its dependencies in full;
5. evidence, the same way.
A page goes in only with its dependencies. A rule that does not fit even as one line is listed
by id under "Left out for the budget" and `truncated` is set; so is any other page cut.
Estimates are sums of the token counts of the parts the renderer joins (whitespace separates
them, which the tokenizer never merges across); the compiler checks the final Markdown.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field

from experimentos.briefs import render
from experimentos.briefs.models import (
    BriefEntry,
    Cut,
    Form,
    MissingDependency,
    NotLoaded,
    StaleWarning,
)
from experimentos.index.tokens import count_tokens

MIN_ENTRY_TOKENS = 40  # below this no page fits, not even as a reference
TRUNCATED = "· truncated"  # what the header adds when something was left out
CUT_LIST = 50  # pages other than rules listed as left out (in the JSON; the rest are counted)
_RANK = {"ref": 0, "line": 1, "full": 2}


@dataclass
class Plan:
    """What the brief holds so far, and how to back out the steps that added to it."""

    entries: dict[str, BriefEntry] = field(default_factory=dict)  # in the order they went in
    cut: list[Cut] = field(default_factory=list)  # every rule, and the first CUT_LIST others
    cut_omitted: int = 0  # further pages left out, counted but not listed
    missing: list[MissingDependency] = field(default_factory=list)
    not_loaded: dict[str, NotLoaded] = field(default_factory=dict)
    # (entries, missing, not_loaded before the step; the page it added, or None for an upgrade)
    steps: list[tuple[dict, list, dict, Cut | None]] = field(default_factory=list)
    # Running sums of the "left out" list (cuts are only ever added): its cost is asked often.
    rules_cut: int = 0
    rules_cut_tokens: int = 0  # each rule's id and comma
    others_listed: int = 0
    others_shown_tokens: int = 0  # the lines of the first LIST_LIMIT others

    def visible_not_loaded(self) -> list[NotLoaded]:
        return [n for n in self.not_loaded.values() if n.id not in self.entries]

    def back_out(self) -> bool:
        """Undo the last step; a page it added is listed as cut. False when nothing is left."""
        if not self.steps:
            return False
        self.entries, self.missing, self.not_loaded, cut = self.steps.pop()
        if cut is not None:
            self.add_cut(cut.id, cut.title, cut.tokens, cut.reason, cut.rule)
        return True

    def add_cut(self, page_id: str, title: str, tokens: int, reason: str, rule: bool) -> None:
        """List a page as left out (a rule always; others up to CUT_LIST, then count them)."""
        if not rule and self.others_listed >= CUT_LIST:
            self.cut_omitted += 1
            return
        # Hundreds of pages can be cut from one brief; the values are ours: no validation.
        cut = Cut.model_construct(id=page_id, title=title, tokens=tokens, reason=reason, rule=rule)
        self.cut.append(cut)
        if rule:
            self.rules_cut += 1
            self.rules_cut_tokens += _rule_id(page_id)
        else:
            if self.others_listed < render.LIST_LIMIT:
                self.others_shown_tokens += _tokens(render.cut_line(cut))
            self.others_listed += 1


def _tokens(text: str) -> int:
    return count_tokens(text)


@functools.lru_cache(maxsize=16384)
def _entry_cost(page_id: str, tokens: int, boundary: str, stale: tuple[str, ...]) -> int:
    """An entry's block, its "do not claim" line if it is evidence, and its stale lines."""
    cost = tokens
    if boundary == "evidence_only":
        cost += _tokens(render.evidence_claim_line(page_id))
    return cost + sum(_tokens(render.stale_line(StaleWarning(id=page_id, reason=r))) for r in stale)


def estimate(plan: Plan, fixed: int, conflict_lines: list[str]) -> int:
    """Tokens of the Markdown the plan renders to (see the module docstring)."""
    total = fixed
    sections: set[str] = set()
    for entry in plan.entries.values():
        total += _entry_cost(entry.id, entry.tokens, entry.boundary, tuple(entry.stale))
        sections.add(render.section_of(entry))
        if entry.stale:
            sections.add("stale")
    if "conflict" in sections:
        total += sum(_tokens(line) for line in conflict_lines)
    if plan.missing:
        sections.add("missing")
        total += sum(_tokens(render.missing_line(m)) for m in plan.missing)
    if not_loaded := plan.visible_not_loaded():
        sections.add("not_loaded")
        total += sum(_tokens(render.not_loaded_line(n)) for n in not_loaded)
    if plan.cut or plan.cut_omitted:
        sections.add("cut")
        total += _tokens(TRUNCATED)  # the header says so
        if plan.rules_cut:  # one line: the prefix, then each id with its comma (the last has none)
            total += _tokens(render.RULES_CUT) + plan.rules_cut_tokens - 1
        total += plan.others_shown_tokens
        more = max(plan.others_listed - render.LIST_LIMIT, 0) + plan.cut_omitted
        if more > 0:
            total += _tokens(render.cut_more_line(more))
    total += sum(_tokens(render.heading_line(s)) for s in sections)
    return total


@dataclass
class Unit:
    """A page and what it needs: (page id, form, role, required_by, depth) for each member."""

    head: str
    members: list[tuple[str, Form, str, str | None, int]]
    missing: list[MissingDependency]
    not_loaded: list[NotLoaded]


@dataclass
class Pending:
    """A page the packer still has to place or cut, in priority order."""

    page_id: str
    title: str
    rule: bool  # a decision rule (or a conflicting one): listed by id whenever it is cut
    head: Form
    deps: Form
    fallback: Form | None  # a cheaper form for the dependencies, tried second


class Packer:
    """Greedy packing by priority. `make(page_id, form)` builds an entry (memoised elsewhere);
    `closure(page_id)` gives (its dependency closure, the depth asked); `info` maps a selected
    page to (score, reasons).

    Every step keeps room for the "left out" lines of the pages still pending, as if they were
    all cut: the brief then fits its budget whatever happens to them."""

    def __init__(self, budget: int, fixed: int, conflict_lines: list[str], make, closure, info):  # noqa: ANN001
        self.budget, self.fixed, self.conflict_lines = budget, fixed, conflict_lines
        self.make, self.closure, self.info = make, closure, info
        self.plan = Plan()
        self.pending: list[Pending] = []
        self._next = 0  # index of the first page still pending
        self._used: tuple[tuple, int] | None = None
        self._version = 0  # bumped whenever an entry changes in place
        self.rule_cut = False  # once a rule did not fit, nothing of lower priority goes in
        self.exhausted = False

    def used(self) -> int:
        """Tokens of the brief as planned so far (recounted only after the plan changed)."""
        plan = self.plan
        stamp = (id(plan.entries), len(plan.entries), len(plan.cut), plan.cut_omitted)
        stamp += (len(plan.missing), len(plan.not_loaded), self._version)
        if self._used is None or self._used[0] != stamp:
            self._used = (stamp, estimate(plan, self.fixed, self.conflict_lines))
        return self._used[1]

    def set_pending(self, items: list[Pending]) -> None:
        """The pages to place, in priority order (with what `reserve` needs, precomputed)."""
        self.pending, self._next = items, 0
        self._bounds = [_cut_bound(p.page_id, p.rule) for p in items]
        self._index_of = {p.page_id: i for i, p in enumerate(items)}
        self._rules_after = [0] * (len(items) + 1)  # cut-line tokens of the rules from i on
        for i in range(len(items) - 1, -1, -1):
            rule = self._bounds[i] if items[i].rule else 0
            self._rules_after[i] = self._rules_after[i + 1] + rule
        self._others = [i for i, p in enumerate(items) if not p.rule]

    def reserve(self) -> int:
        """Tokens the "left out" section would grow by if every pending page were cut (a page
        already in, as another's dependency, stays in: it is never cut)."""
        start = self._next
        if start >= len(self.pending):
            return 0
        plan = self.plan
        cut_any = plan.cut or plan.cut_omitted
        extra = 0 if cut_any else _tokens(render.heading_line("cut")) + _tokens(TRUNCATED)
        if self._rules_after[start] and not plan.rules_cut:
            extra += _tokens(render.RULES_CUT)
        present = set()
        for page_id in plan.entries:
            i = self._index_of.get(page_id)
            if i is not None and i >= start:
                present.add(i)
        extra += self._rules_after[start]
        extra -= sum(self._bounds[i] for i in present if self.pending[i].rule)
        first = bisect.bisect_left(self._others, start)
        waiting = len(self._others) - first - sum(1 for i in present if not self.pending[i].rule)
        slots = max(render.LIST_LIMIT - plan.others_listed, 0)
        taken = 0
        for i in self._others[first:]:
            if taken >= min(slots, waiting):
                break
            if i not in present:
                extra += self._bounds[i]
                taken += 1
        if waiting > slots:
            more_now = max(plan.others_listed - render.LIST_LIMIT, 0) + plan.cut_omitted
            # The "and N more" line, or (when it is there already) a longer N.
            extra += 2 if more_now else _tokens(render.cut_more_line(9999))
        return extra

    def left(self) -> int:
        return self.budget - self.used() - self.reserve()

    def unit(self, page_id: str, head: Form, deps: Form) -> Unit:
        closure, depth = self.closure(page_id)
        members = [(page_id, head, "selected", None, 0)]
        members += [(n.id, deps, "dependency", n.via, n.depth) for n in closure.nodes[1:]]
        missing = [MissingDependency(source=e.source, target=e.target) for e in closure.missing]
        beyond = [NotLoaded(id=e.target, required_by=e.source, depth=depth) for e in closure.beyond]
        return Unit(page_id, members, missing, beyond)

    def _apply(self, unit: Unit) -> None:
        self._version += 1
        plan = self.plan
        for page_id, form, role, via, depth in unit.members:
            current = plan.entries.get(page_id)
            if current is not None and _RANK[current.form] >= _RANK[form]:
                update: dict = {}
                if via and via not in current.required_by:
                    update["required_by"] = [*current.required_by, via]
                if role == "selected" and current.role != "selected":  # chosen in its own right
                    score, reasons = self.info.get(page_id, (0.0, []))
                    update.update(role="selected", score=round(score, 4), reasons=list(reasons))
                if update:
                    plan.entries[page_id] = current.model_copy(update=update)
                continue
            entry = self.make(page_id, form)
            if current is not None:  # a fuller form keeps what the entry already says
                update = {
                    "role": current.role,
                    "reasons": current.reasons,
                    "required_by": current.required_by,
                    "score": current.score,
                }
                if role == "selected" and current.role != "selected":
                    score, reasons = self.info.get(page_id, (0.0, []))
                    update.update(role="selected", score=round(score, 4), reasons=list(reasons))
            elif role == "selected":
                score, reasons = self.info.get(page_id, (0.0, []))
                update = {"role": "selected", "score": round(score, 4), "reasons": list(reasons)}
            else:
                update = {
                    "role": "dependency",
                    "required_by": [via] if via else [],
                    "reasons": [f"dependency of {via} (depth {depth})"],
                }
            plan.entries[page_id] = entry.model_copy(update=update)
        for m in unit.missing:
            if m not in plan.missing:
                plan.missing.append(m)
        for n in unit.not_loaded:
            plan.not_loaded.setdefault(n.id, n)

    def _try(self, unit: Unit, cut: Cut | None) -> tuple[bool, int]:
        """Apply the unit if the brief still fits; (applied, tokens it needs)."""
        plan = self.plan
        before = self.used()
        saved = (dict(plan.entries), list(plan.missing), dict(plan.not_loaded))
        self._apply(unit)
        after = self.used()
        if after + self.reserve() <= self.budget:
            plan.steps.append((*saved, cut))
            return True, after - before
        plan.entries, plan.missing, plan.not_loaded = saved
        self._version += 1
        return False, after - before

    def place_next(self) -> None:
        """Place the next pending page (with its dependencies), or list it as cut."""
        item = self.pending[self._next]
        self._next += 1  # from here on it is not pending: placed or cut
        plan = self.plan
        present = item.page_id in plan.entries  # already in, as someone's dependency
        if present:  # already in as someone's dependency: it was chosen in its own right too
            self._apply(Unit(item.page_id, [(item.page_id, "ref", "selected", None, 0)], [], []))
        if self.rule_cut and not item.rule:
            if not present:
                _cut(plan, item, 0, "a decision rule did not fit")
            return
        if self.exhausted or self.left() < MIN_ENTRY_TOKENS:  # list it without rendering it
            self.exhausted = True  # cuts only add lines: once exhausted, always exhausted
            if not present:
                _cut(plan, item, 0, "budget exhausted")
                self.rule_cut = self.rule_cut or item.rule
            return
        backed_out = Cut.model_construct(
            id=item.page_id, title=item.title, tokens=0, reason="did not fit the final Markdown",
            rule=item.rule,
        )  # fmt: skip
        ok, need = self._try(self.unit(item.page_id, item.head, item.deps), backed_out)
        if not ok and item.fallback is not None:
            unit = self.unit(item.page_id, item.head, item.fallback)
            ok, need = self._try(unit, backed_out)
        if not ok and not present:  # a page already in stays, in the form it has
            _cut(plan, item, need, f"needs {need} tokens")
            self.rule_cut = self.rule_cut or item.rule

    def upgrade(self, page_ids: list[str], form: Form) -> None:
        """Show pages already in the brief in `form`, as far as the budget allows."""
        for page_id in page_ids:
            entry = self.plan.entries.get(page_id)
            if entry is None or _RANK[entry.form] >= _RANK[form]:
                continue
            if self.exhausted or self.rule_cut or self.left() < MIN_ENTRY_TOKENS:
                return
            self._try(Unit(page_id, [(page_id, form, entry.role, None, 0)], [], []), None)

    def place_all(self) -> None:
        while self._next < len(self.pending):
            self.place_next()


def _cut(plan: Plan, item: Pending, tokens: int, reason: str) -> None:
    prefix = "rule does not fit: " if item.rule and tokens else ""
    plan.add_cut(item.page_id, item.title, tokens, prefix + reason, item.rule)


_REASONS = ("needs 9999 tokens", "budget exhausted", "a decision rule did not fit")


@functools.lru_cache(maxsize=16384)
def _rule_id(page_id: str) -> int:
    """Tokens of a rule's id and its comma in the "rules that did not fit" line."""
    return _tokens(page_id) + 1


@functools.lru_cache(maxsize=16384)
def _cut_bound(page_id: str, rule: bool) -> int:
    """An upper bound on the tokens `page_id` adds to the "left out" list when cut."""
    if rule:
        return _rule_id(page_id)
    return max(
        _tokens(render.cut_line(Cut(id=page_id, title="", tokens=0, reason=reason)))
        for reason in _REASONS
    )
