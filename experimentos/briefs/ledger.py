"""The ledger of a brief being packed: what it holds, the tokens of every block of its
Markdown, and how to undo a change that did not fit (budget.py decides what goes in).

The Sheet holds the tokens of every block the renderer will join, built by the same functions
(render.py): blocks are separated by whitespace, which the tokenizer never merges across, so
the total is exact. `reserve` is what the "left out" section would grow by if every page still
pending were cut: a change is kept only if the brief, with that reserve, still fits.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from experimentos.briefs import render
from experimentos.briefs.models import (
    FORMS,
    Brief,
    BriefEntry,
    Cut,
    Form,
    Layout,
    MissingDependency,
    NotLoaded,
    StaleWarning,
)
from experimentos.index.tokens import count_markdown, count_tokens

RULE_IDS_SHARE = 0.2  # of what the core leaves, kept while rules are placed, for ids to come
_MORE = 99_999  # the largest "… and N more" the reserve allows for


def form_rank(form: Form) -> int:
    return FORMS.index(form)


@functools.lru_cache(maxsize=65536)
def _id_tokens(page_id: str) -> int:
    return count_tokens(page_id)


@functools.cache
def _heading_tokens(section: str) -> int:
    return count_tokens(render.heading_line(section))


def _counted(line: Callable[[int], str], n: int) -> int:
    """Tokens of a line that counts `n` things: the line with 0, then the number's own (the
    number stands between spaces, so the tokenizer counts it apart): one tokenizer call per
    kind of line, not per number."""
    return count_tokens(line(0)) - count_tokens("0") + count_tokens(str(n))


@dataclass
class Pending:
    """A page to place: a rule (or a conflicting rule) is listed by id whenever it is cut."""

    page_id: str
    title: str
    rule: bool


class Sheet:
    """Tokens per block of the Markdown, and their total; changes can be undone to a mark."""

    def __init__(self) -> None:
        self.parts: dict[Hashable, int] = {}
        self.total = 0
        self._log: list[tuple[Hashable, int | None]] = []

    def set(self, key: Hashable, tokens: int | None) -> None:
        old = self.parts.get(key)
        if old == tokens:
            return
        self._log.append((key, old))
        self.total += (tokens or 0) - (old or 0)
        if tokens is None:
            del self.parts[key]
        else:
            self.parts[key] = tokens

    def mark(self) -> int:
        return len(self._log)

    def undo(self, mark: int) -> None:
        while len(self._log) > mark:
            key, old = self._log.pop()
            now = self.parts.get(key)
            self.total += (old or 0) - (now or 0)
            if old is None:
                self.parts.pop(key, None)
            else:
                self.parts[key] = old


def _lines(lines: list[str]) -> int:
    return sum(count_tokens(line) for line in lines if line)


class Ledger:
    """What a brief holds while it is packed, its exact count, and undo (see the module doc).

    `make(page_id, form)` builds an entry (memoised elsewhere); `closure(page_id)` gives (its
    dependency closure, the depth asked); `info` maps a selected page to (score, reasons)."""

    def __init__(
        self,
        brief: Brief,
        make: Callable[[str, Form], BriefEntry],
        closure: Callable,
        info: dict[str, tuple[float, list[str]]],
        floor: Callable[[str, Form], int] = lambda page_id, form: 0,
    ):
        self.brief, self.make, self.closure, self.info = brief, make, closure, info
        # The least a page's block takes in a form (a lower bound, without rendering it): a
        # page whose floor does not fit is not rendered to learn that it does not.
        self.floor = floor
        self._reserve_memo: tuple | None = None
        self.budget = brief.request.budget
        self.layout = Layout(
            show_id=False,
            guidance=False,
            scope=False,
            notice=False,
            versions_named=0,
            versions_other=0,
            facts_extra=False,
            warnings_tier=0,
            warning_ids=0,
            rules_listed=-1,
            others_listed=0,
        )
        self.entries: dict[str, BriefEntry] = {}
        self.sections: Counter[str] = Counter()
        self.missing: list[MissingDependency] = []
        self.not_loaded: dict[str, NotLoaded] = {}
        self.cut_rules: list[Cut] = []
        self.cut_others: list[Cut] = []
        self.cut_ids: set[str] = set()
        self.stale_entries = 0  # entries with a stale reason (the Stale section's lines)
        self.not_loaded_shown = 0  # not-loaded lines the Markdown shows
        self.omitted = 0  # pages never considered (beyond what any budget could show)
        self._pending: list[str] = []  # the rules to place, in order
        self._next = 0  # the first of them not placed or cut yet
        self._pending_sums: list[int] = [0]  # prefix sums of their ids' tokens (with commas)
        self.others_pending = 0  # other pages still to place
        self.needed = 0  # what the last change that did not fit would have added
        self.partial = 0  # entries shown in less than their full form
        self._sums_of: list[Cut] | None = None
        self._sums: list[int] = [0]
        self.core = 0  # tokens of the core (set with the pages to place)
        self.sheet = Sheet()
        self._header_fixed = _lines([render.title_line(brief.request)])
        self._set_static()

    # --- the blocks ---------------------------------------------------------------------

    @property
    def truncated(self) -> bool:
        return bool(self.cut_rules or self.cut_others or self.omitted or self.partial)

    def _set_static(self) -> None:
        self.sheet.set("contract", _lines(list(render.CONTRACT)))
        self._set_header()
        self._set_facts()
        self._set_warnings()
        self._set_cut()

    def _set_header(self) -> None:
        self.brief.truncated = self.truncated
        blocks = render.header_blocks(self.brief, self.layout)
        self.sheet.set("header", sum(count_markdown(b) for b in blocks))

    def _set_facts(self) -> None:
        self.sheet.set("facts", _lines(render.facts_lines(self.brief, self.layout)))

    def _set_warnings(self) -> None:
        lines = render.warning_lines(self.brief.warnings, self.layout)
        self.sheet.set("warnings", _lines(lines) if lines else None)

    def _cut_tokens(self, n_rules: int, listed: int, other_lines: list[str], more: int) -> int:
        """Tokens of the "left out" section (0 when empty): `n_rules` rule ids, the first
        `listed` of them named (the rules left out, then those still pending), `other_lines`,
        and a line counting `more` other pages."""
        if not n_rules and not other_lines and more <= 0:
            return 0
        total = _heading_tokens("cut")
        if n_rules:
            if listed:  # the prefix, each id and its comma (none after the last), the tail
                total += count_tokens(render.RULES_CUT) + self._id_sum(listed) - 1
                if n_rules > listed:
                    total += 1 + _counted(render.rules_cut_tail, n_rules - listed)
            else:
                total += _counted(lambda n: render.rules_cut_line([], n), n_rules)
        total += _lines(other_lines)
        if more > 0:
            alone = not (n_rules or other_lines)
            total += _counted(lambda n: render.cut_more_line(n, alone), more)
        return total

    def _cut_sums(self) -> list[int]:
        """Prefix sums of the tokens of each rule id left out and its comma (one list per
        state of `cut_rules`, which is replaced, never changed in place)."""
        if self._sums_of is not self.cut_rules:
            sums = [0]
            for cut in self.cut_rules:
                sums.append(sums[-1] + _id_tokens(cut.id) + 1)
            self._sums_of, self._sums = self.cut_rules, sums
        return self._sums

    def _id_sum(self, n: int) -> int:
        """Tokens (with commas) of the first `n` ids: the rules left out, then those pending."""
        cut = self._cut_sums()
        if n < len(cut):
            return cut[n]
        start = self._next
        return cut[-1] + self._pending_sums[start + n - (len(cut) - 1)] - self._pending_sums[start]

    def _pending_count(self) -> int:
        return len(self._pending) - self._next

    def _capped(self, n: int) -> int:
        """How many of the first `n` ids fit RULE_IDS_SHARE of what the core leaves."""
        room = RULE_IDS_SHARE * max(self.budget - self.core, 0)
        low, high = 0, n  # the largest k with _id_sum(k) <= room (sums only grow)
        while low < high:
            mid = (low + high + 1) // 2
            if self._id_sum(mid) <= room:
                low = mid
            else:
                high = mid - 1
        return low

    def _listed(self) -> int:
        n = len(self.cut_rules)
        return n if self.layout.rules_listed < 0 else min(self.layout.rules_listed, n)

    def _other_lines(self) -> tuple[list[str], int]:
        """(the lines of the other pages left out that the layout shows, how many more)."""
        shown = 0
        if self._listed() == len(self.cut_rules):
            limit = self.layout.others_listed
            limit = render.LIST_LIMIT if limit < 0 else limit
            shown = min(limit, render.LIST_LIMIT, len(self.cut_others))
        lines = [render.cut_line(c) for c in self.cut_others[:shown]]
        return lines, len(self.cut_others) - shown + self.omitted

    def _set_cut(self) -> None:
        lines, more = self._other_lines()
        tokens = self._cut_tokens(len(self.cut_rules), self._listed(), lines, more)
        self.sheet.set("cut", tokens or None)
        if self.brief.truncated != self.truncated:
            self._set_header()

    def set_pending(self, rule_ids: list[str], others: int, omitted: int) -> None:
        """What the passes will place: the rules (in order), how many other pages, and how
        many pages are left out without being considered."""
        self._pending, self._next = list(rule_ids), 0
        self._pending_sums = [0]
        for page_id in self._pending:
            self._pending_sums.append(self._pending_sums[-1] + _id_tokens(page_id) + 1)
        self.others_pending = others
        self.omitted = omitted
        self.layout.rules_listed = 0
        self._set_cut()
        self.core = self.used()  # what every brief holds: the rest is shared out from here

    def reserve(self) -> int:
        """What the "left out" section (and the status line) would grow by if every page still
        pending were cut: the ids of pending rules (within RULE_IDS_SHARE of the budget, the
        rest counted), and a line counting other pages."""
        pending = self._pending_count()
        # Nothing left to place and nothing left out: nothing to keep room for. A rule left out
        # during a pass is named after it (the section counted once), so until then its line
        # needs room too.
        if not pending and not self.others_pending and not self.cut_rules and not self.cut_others:
            return 0
        key = (
            self.cut_rules, len(self.cut_rules), self.cut_others, len(self.cut_others),
            self._next, self.others_pending, self.layout.rules_listed, self.layout.others_listed,
            self.partial, self.sheet.parts.get("cut"),
        )  # fmt: skip
        memo = self._reserve_memo
        if memo is not None and memo[0] is key[0] and memo[2] is key[2] and memo[1:-1] == key[1:]:
            return memo[-1]
        found = self._reserve(pending)
        self._reserve_memo = (*key, found)
        return found

    def _reserve(self, pending: int) -> int:
        lines, more = self._other_lines()
        if self.others_pending:
            more = _MORE
        n = len(self.cut_rules) + pending
        listed = max(self._capped(n), self._listed()) if pending else self._listed()
        worst = self._cut_tokens(n, listed, lines, more)
        extra = worst - (self.sheet.parts.get("cut") or 0)
        if not self.truncated:
            extra += count_tokens(render.TRUNCATED) + 1  # " · truncated" in the status line
        return max(extra, 0)

    def used(self) -> int:
        return self.sheet.total

    def left(self) -> int:
        return self.budget - self.sheet.total - self.reserve()

    # --- trying a change ----------------------------------------------------------------

    def _save(self) -> tuple:
        """What an attempt may change. The lists, dicts and sets below are replaced, never
        changed in place, while a change is tried (copy on write), so references suffice; the
        entries are copied (a change writes them in place)."""
        return (
            self.sheet.mark(),
            dict(self.entries),
            Counter(self.sections),
            self.missing,
            self.not_loaded,
            self.cut_rules,
            self.cut_others,
            self.cut_ids,
            replace(self.layout),
            self.brief.truncated,
            self.stale_entries,
            self.not_loaded_shown,
            self.partial,
            (self._sums_of, self._sums),
        )

    def _restore(self, saved: tuple) -> None:
        (mark, entries, sections, missing, not_loaded, cut_rules, cut_others, cut_ids, layout,
         trunc, stale_entries, not_loaded_shown, partial, sums) = saved  # fmt: skip
        self.sheet.undo(mark)
        self.entries, self.sections, self.missing = entries, sections, missing
        self.not_loaded, self.cut_rules, self.cut_others = not_loaded, cut_rules, cut_others
        self.cut_ids, self.layout, self.brief.truncated = cut_ids, layout, trunc
        self.stale_entries, self.not_loaded_shown = stale_entries, not_loaded_shown
        self.partial, (self._sums_of, self._sums) = partial, sums

    def attempt(self, change: Callable[[], object]) -> bool:
        """Apply `change`; keep it if the brief (with its reserve) still fits, else undo it
        (`self.needed` is then what it would have added)."""
        saved = self._save()
        before = self.used()
        change()
        if self.used() + self.reserve() <= self.budget:
            return True
        self.needed = self.used() - before
        self._restore(saved)
        return False

    # --- entries ------------------------------------------------------------------------

    def _put(self, entry: BriefEntry) -> None:
        """Show `entry` (replacing the form it had)."""
        old = self.entries.get(entry.id)
        section = render.section_of(entry)
        if old is None:
            self.sections[section] += 1
            if self.sections[section] == 1:
                self.sheet.set(("heading", section), count_tokens(render.heading_line(section)))
                if section == "conflict" and self.brief.conflicts:
                    lines = [render.conflict_line(c) for c in self.brief.conflicts]
                    self.sheet.set("conflict-lines", _lines(lines))
        self.partial += (entry.form != "full") - (old is not None and old.form != "full")
        self.entries[entry.id] = entry
        self.sheet.set(("entry", entry.id), entry.tokens)
        if entry.id in self.cut_ids:  # in after all, as another's dependency
            self.cut_ids = self.cut_ids - {entry.id}
            self.cut_rules = [c for c in self.cut_rules if c.id != entry.id]
            self.cut_others = [c for c in self.cut_others if c.id != entry.id]
            self._set_cut()
        if old is None and entry.stale:  # the same page has the same reasons in any form
            self.stale_entries += 1
            lines = [render.stale_line(StaleWarning(id=entry.id, reason=r)) for r in entry.stale]
            self.sheet.set(("stale", entry.id), _lines(lines))
        if old is None and entry.id in self.not_loaded:
            self.sheet.set(("not-loaded", entry.id), None)
            self.not_loaded_shown -= 1
        self._set_list_headings()
        if self.brief.truncated != self.truncated:
            self._set_header()

    def _set_list_headings(self) -> None:
        for key, shown in (
            ("stale", self.stale_entries),
            ("missing", len(self.missing)),
            ("not_loaded", self.not_loaded_shown),
        ):
            self.sheet.set(("heading", key), _heading_tokens(key) if shown else None)

    def _entry_update(
        self, entry: BriefEntry, role: str, via: str | None, depth: int
    ) -> BriefEntry:
        """`entry` with what it already says kept (role, reasons, who needs it)."""
        current = self.entries.get(entry.id)
        if role == "selected":
            score, reasons = self.info.get(entry.id, (0.0, []))
            update: dict = {"role": "selected", "score": round(score, 4), "reasons": list(reasons)}
            if current is not None:
                update["required_by"] = current.required_by
        elif current is not None:
            update = {
                "role": current.role,
                "reasons": current.reasons,
                "score": current.score,
                "required_by": current.required_by
                + ([via] if via and via not in current.required_by else []),
            }
        else:
            update = {
                "role": "dependency",
                "required_by": [via] if via else [],
                "reasons": [f"dependency of {via} (depth {depth})"],
            }
        return entry.model_copy(update=update)

    def place(self, page_id: str, form: Form, deps: Form | None, role: str = "selected") -> None:
        """Show `page_id` in `form` (never less than it has), with its dependency closure in
        `deps` (None: named by the entry only, as compact and line forms do). `role`: selected
        (chosen in its own right), or dependency (an upgrade of a page already in as one)."""
        members = [(page_id, form, role, None, 0)]
        if deps is not None:
            closure, depth = self.closure(page_id)
            members += [(n.id, deps, "dependency", n.via, n.depth) for n in closure.nodes[1:]]
            for edge in closure.missing:
                m = MissingDependency(source=edge.source, target=edge.target)
                if m not in self.missing:
                    self.missing = [*self.missing, m]
                    self.sheet.set(
                        ("missing", m.source, m.target), count_tokens(render.missing_line(m))
                    )
            for edge in closure.beyond:
                if edge.target not in self.not_loaded:
                    n = NotLoaded(id=edge.target, required_by=edge.source, depth=depth)
                    self.not_loaded = {**self.not_loaded, n.id: n}
                    if n.id not in self.entries:
                        self.sheet.set(
                            ("not-loaded", n.id), count_tokens(render.not_loaded_line(n))
                        )
                        self.not_loaded_shown += 1
        for member_id, member_form, role, via, depth in members:
            current = self.entries.get(member_id)
            if current is not None and form_rank(current.form) >= form_rank(member_form):
                if (
                    role == "selected"
                    and current.role != "selected"
                    or (via and via not in current.required_by)
                ):
                    self.entries[member_id] = self._entry_update(current, role, via, depth)
                continue
            entry = self.make(member_id, member_form)
            self._put(self._entry_update(entry, role, via, depth))
        self._set_list_headings()

    def cut(self, item: Pending, reason: str) -> None:
        """List `item` as left out (a rule by id: as many ids as the reserve kept room for)."""
        cut = Cut.model_construct(
            id=item.page_id, title=item.title, tokens=self.needed, reason=reason, rule=item.rule
        )
        if item.rule:
            self._add_cut_rule(item, reason, self.needed)
            self._list_cut_rules()
            return
        # Never called while a change is tried: the lists grow in place.
        self.cut_ids.add(item.page_id)
        self.cut_others.append(cut)
        self._set_cut()

    # --- the passes ---------------------------------------------------------------------

    def _add_cut_rule(self, item: Pending, reason: str, tokens: int) -> None:
        """List a rule as left out (counted by `_list_cut_rules`; never while a change is
        tried: the lists grow in place)."""
        sums = self._cut_sums()
        cut = Cut.model_construct(
            id=item.page_id, title=item.title, tokens=tokens, reason=reason, rule=True
        )
        self.cut_rules.append(cut)
        sums.append(sums[-1] + _id_tokens(cut.id) + 1)
        self.cut_ids.add(item.page_id)
        if self.brief.truncated != self.truncated:  # the status line says so from now on
            self._set_header()

    def _list_cut_rules(self) -> None:
        """Name the rules left out within the room kept for their ids, and count the section."""
        capped = self._capped(len(self.cut_rules) + self._pending_count())
        listed = min(max(capped, self.layout.rules_listed), len(self.cut_rules))
        self.layout.rules_listed = listed
        self._set_cut()
        # The reserve weighed the ids of the rules pending then, in their order; the rule cut
        # may have a longer id than the one it weighed: name fewer ids (the others counted)
        # rather than go over the budget.
        while listed and self.used() + self.reserve() > self.budget:
            listed -= 1
            self.layout.rules_listed = listed
            self._set_cut()

    def finish(self) -> None:
        """Write the plan into the brief."""
        brief = self.brief
        brief.cut = [*self.cut_rules, *self.cut_others]
        brief.cut_omitted = self.omitted
        brief.missing = list(self.missing)
        brief.not_loaded = [n for n in self.not_loaded.values() if n.id not in self.entries]
        brief.truncated = self.truncated
        brief._layout = self.layout
        brief.token_estimate = self.used()
