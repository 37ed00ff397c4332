"""Fit a brief into its token budget, in the order an agent needs it.

The budget covers the whole Markdown and is a ceiling: at or above MIN_BUDGET a brief never
exceeds it. The core is always there and bounded whatever the request and the knowledge hold:
the title (a digest of the task), the status line, one line of local facts, one line counting
the knowledge warnings per code, one line counting what was left out, and the completion
contract. Then, while the budget lasts, in this order:
1. every applicable decision rule, best-ranked first, in its compact form (the rule sentence,
   forbidden actions and required checks, a get_page pointer to the rest); a rule
   whose compact form does not fit takes its line form (without the checks); a rule that does
   not fit even so is left out and listed by id (room for the ids of the rules still to come is
   kept while rules are placed);
2. conflicting rules, the same way, with the conflict itself;
3. the ids of every rule left out (before any other page left out is named);
4. the versions of the libraries the request names;
5. the rules in full (the whole `## Rule` section, checks and forbidden actions), best first,
   with their dependencies as references; then rules that came in only as a dependency;
6. the knowledge warnings per code with their ids;
7. the brief id, the reading guidance, the request's scope, a notice about the index;
8. the other direct dependencies (up to VERSIONS_SHARE of the budget);
9. domain context in full with its dependencies (in full, else as references), then evidence;
10. the other pages left out, by id and reason (up to render.LIST_LIMIT), and the warnings'
    messages.
Counts are exact: the Sheet holds the tokens of every block the renderer will join (blocks are
separated by whitespace, which the tokenizer never merges across), built by the same
functions; the compiler still counts the final Markdown and, should it ever run over, backs out.
"""

from __future__ import annotations

from collections.abc import Callable

from experimentos.briefs import render
from experimentos.briefs.ledger import Ledger, Pending, form_rank
from experimentos.briefs.models import Cut, Form

VERSIONS_SHARE = 0.15  # of the budget, at most, for dependencies the request does not name
MIN_ENTRY_TOKENS = 8  # below this no page fits, not even as a one-line reference
MIN_RULE_TOKENS = 12  # below this no rule fits, not even in its line form


class Packer(Ledger):
    """Places pages and optional parts into a brief within its budget, in the order of the
    module docstring (the passes; the ledger counts and undoes)."""

    def rules(self, items: list[Pending], forms: tuple[Form, ...]) -> None:
        """Each rule in the first of `forms` that fits, else cut (listed by id). The rules are
        the next of those given to set_pending, in the same order."""
        # The floor of every rule in every form, weighed once (most rules of a large knowledge
        # base are cut by their floors alone, without rendering).
        floors = [[self.floor(item.page_id, form) for item in items] for form in forms]
        # The least any rule from here on takes: once even that does not fit, the rest are
        # cut at once.
        least = [*floors[-1], 0]
        for k in range(len(items) - 2, -1, -1):
            least[k] = min(least[k], least[k + 1])
        # Cutting a rule moves its id from pending to left out: the worst case the reserve
        # keeps room for is the same, so the room left does not change until a rule goes in,
        # and the "left out" section is counted once, after the pass.
        room = self.left()
        for k, item in enumerate(items):
            if self._pending[self._next] != item.page_id:
                raise ValueError(f"rules out of order: {item.page_id}")  # a caller's mistake
            present = self.entries.get(item.page_id)
            if present is None and room < max(least[k], MIN_RULE_TOKENS):
                self._cut_rules(items[k:], forms[-1], floors[-1][k:])
                break
            self._next += 1  # placed or cut from here on
            if present is not None:  # already in as a dependency: chosen in its own right
                self.place(item.page_id, present.form, None)
                room = self.left()
                if form_rank(present.form) >= form_rank(forms[-1]):
                    continue
            placed = False
            for n, form in enumerate(forms):
                need = floors[n][k]
                if present is None and need > room:
                    self.needed = need
                    continue  # cannot fit: not worth rendering
                head = self.make(item.page_id, form).tokens
                if head > room:  # the block alone does not fit: no need to try
                    self.needed = head
                    continue
                if self.attempt(lambda f=form, i=item.page_id: self.place(i, f, None)):
                    placed = True
                    room = self.left()
                    break
            if not placed and present is None:
                reason = f"did not fit even in its {forms[-1]} form: needs {self.needed} tokens"
                self._add_cut_rule(item, reason, self.needed)
        self._list_cut_rules()

    def list_rule_ids(self) -> None:
        """Name as many of the rules left out as fit (all of them, usually)."""
        for n in range(self._listed() + 1, len(self.cut_rules) + 1):
            if not self.option(lambda n=n: setattr(self.layout, "rules_listed", n)):
                return

    def upgrade(
        self, page_ids: list[str], form: Form, deps: Form | None, fallback: Form | None
    ) -> None:
        """Show pages already in the brief in `form`, as far as the budget allows."""
        for page_id in page_ids:
            entry = self.entries.get(page_id)
            if entry is None or form_rank(entry.form) >= form_rank(form):
                continue
            if self.floor(page_id, form) - entry.tokens > self.left():
                continue  # cannot fit: not worth rendering
            if entry.role != "selected":  # its own dependencies lie in its dependent's closure
                self.attempt(lambda p=page_id: self.place(p, form, None, "dependency"))
                continue
            if not self.attempt(lambda p=page_id: self.place(p, form, deps)) and fallback:
                self.attempt(lambda p=page_id: self.place(p, form, fallback))

    def option(self, change: Callable[[], None]) -> bool:
        """Try an optional part of the layout (a field of `self.layout` changed, blocks reset)."""

        def apply() -> None:
            change()
            self._set_header()
            self._set_facts()
            self._set_warnings()
            self._set_cut()

        return self.attempt(apply)

    def versions(self, field: str, count: int, cap: int | None = None) -> None:
        """Show up to `count` version lines of `field` (versions_named or versions_other), one
        at a time, within `cap` tokens when given."""
        start = self.used()
        for n in range(1, count + 1):
            if not self.option(lambda n=n: setattr(self.layout, field, n)):
                return
            if cap is not None and self.used() - start > cap:
                self.option(lambda n=n: setattr(self.layout, field, n - 1))
                return

    def others(self, items: list[Pending], form: Form, deps: Form, fallback: Form | None) -> None:
        """Each page in `form` with its dependencies in `deps` (else `fallback`), or cut."""
        for k, item in enumerate(items):
            self.others_pending -= 1
            present = item.page_id in self.entries
            if present:  # already in as a dependency: chosen in its own right too
                self.place(item.page_id, self.entries[item.page_id].form, None)
            elif self.left() < MIN_ENTRY_TOKENS:  # not even a heading fits: nor will the rest
                self.others_pending += 1
                self._cut_all(items[k:])
                return
            elif self.floor(item.page_id, form) > self.left():
                self.needed = self.floor(item.page_id, form)
                self.cut(item, f"did not fit: needs {self.needed} tokens")
                continue
            else:
                head = self.make(item.page_id, form).tokens
                if head > self.left():  # the page alone does not fit, let alone with its deps
                    self.needed = head
                    self.cut(item, f"did not fit: needs {head} tokens")
                    continue
            if self.attempt(lambda i=item: self.place(i.page_id, form, deps)):
                continue
            if fallback and self.attempt(lambda i=item: self.place(i.page_id, form, fallback)):
                continue
            if not present:
                self.cut(item, f"did not fit: needs {self.needed} tokens")
        self.others_pending = 0

    def _cut_rules(self, items: list[Pending], form: Form, floors: list[int]) -> None:
        """Once no rule can fit any more: the rules already in (as dependencies) stay, the
        others are left out, all at once (`floors`: theirs in `form`)."""
        for item, floor in zip(items, floors, strict=True):
            self._next += 1
            if item.page_id in self.entries:
                self.place(item.page_id, self.entries[item.page_id].form, None)
                continue
            need = max(floor, MIN_RULE_TOKENS)
            reason = f"did not fit even in its {form} form: needs {need} tokens"
            self._add_cut_rule(item, reason, need)

    def _cut_all(self, items: list[Pending]) -> None:
        """Once the budget is spent: the pages already in (as dependencies) are marked as chosen,
        the others are left out, all at once (the reserve kept room for their count)."""
        reason = f"did not fit: needs at least {MIN_ENTRY_TOKENS} tokens"
        cuts = []
        for item in items:
            self.others_pending -= 1
            if item.page_id in self.entries:
                self.place(item.page_id, self.entries[item.page_id].form, None)
                continue
            cuts.append(
                Cut.model_construct(
                    id=item.page_id, title=item.title, tokens=MIN_ENTRY_TOKENS, reason=reason
                )
            )
        self.cut_ids.update(c.id for c in cuts)
        self.cut_others.extend(cuts)
        self._set_cut()

    def list_others(self) -> None:
        """Name the other pages left out (up to render.LIST_LIMIT), as far as they fit."""
        for n in range(1, min(render.LIST_LIMIT, len(self.cut_others)) + 1):
            if not self.option(lambda n=n: setattr(self.layout, "others_listed", n)):
                return
