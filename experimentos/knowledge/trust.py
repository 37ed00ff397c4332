"""Which pages may decide: the review rules that `check`, briefs and `doctor` share.

A page is **decision-capable** when all of these hold:
- it is a `policy` or an `intervention`;
- its status is `accepted`;
- it is **reviewed**: `review.rationale` is not empty, `review.evidence` names at least one id,
  every id it names exists (a page other than this one, or an experiment, test or run of the
  knowledge base; ids of other kinds cannot be looked up and are taken as given), the review is
  not dated in the future (`reviewedAt` is today or earlier), and it has not expired (`expires`
  is unset, or today or later);
- it says what to do: its `## Rule` (a policy) or `## What to do` (an intervention) section, when
  the page has one, is not empty.

Everything else is evidence (an accepted knowledge card or failure is reviewed background, the
brief's "domain context"). Two consequences follow, and this module computes both:
- only a decision-capable page can supersede a decision-capable page: a `supersedes` edge from
  any other page to a decision-capable one is ignored by briefs (with a warning), and `check`
  reports it (`supersede-by-evidence`) unless the source is a policy or intervention still on
  its way through review (draft) or retired (rejected, deprecated, superseded);
- two decision-capable pages **conflict** when one `contradicts` the other, or contradicts an
  accepted page the other rests on (its `dependsOn` or `derivedFrom`). `check` reports each pair
  (`contradiction`); a brief that would hold both shows them as a conflict, neither as a rule;
- a decision-capable page and reviewed background (an accepted knowledge card or failure) that
  `contradicts` it, or that it contradicts, are a **background conflict**: the rule still
  applies, but `check` warns (`contradiction`) and so does every brief that holds the rule. A
  rule that contradicts evidence (a claim, a source, anything not accepted) overrules it: that
  is what rules are for, and nobody is warned.

Whether an evidence id exists is asked of a `Known` (pages, and lazily the lab's records);
without one, only the review's shape, dates and self-reference are checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from experimentos.errors import article
from experimentos.models.knowledge import DECISION_TYPES, PREFIX_TYPE, Page, PageType, Status

RETIRED = (Status.rejected, Status.deprecated, Status.superseded)
# Reference kinds that name a record of the lab (experiments/…): they can be looked up.
LAB_KINDS = ("experiment", "test", "run")
BACKGROUND_TYPES = frozenset({PageType.knowledge_card, PageType.failure})
# The section that states what a decision page tells an agent to do, when the page has it.
RULE_SECTIONS = {PageType.policy: "Rule", PageType.intervention: "What to do"}
_HEADING = re.compile(r"^(#{1,2})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def empty_rule_section(page: Page) -> str | None:
    """The name of the page's rule section when it is there but says nothing (None otherwise):
    a rule that states nothing cannot be followed, whatever its review says."""
    name = RULE_SECTIONS.get(page.type)
    if name is None:
        return None
    return name if _section_empty(page.body, name) else None


@functools.lru_cache(maxsize=1 << 16)
def _section_empty(body: str, name: str) -> bool:
    # Memoised on the body text (a str caches its hash): a brief asks this of every candidate
    # rule, and the answer changes only when the page's text does.
    headings = list(_HEADING.finditer(body))
    for i, heading in enumerate(headings):
        if heading.group(1) == "##" and heading.group(2).strip().lower() == name.lower():
            end = headings[i + 1].start() if i + 1 < len(headings) else len(body)
            text = re.sub(r"<!--.*?-->", "", body[heading.end() : end], flags=re.DOTALL)
            return not text.strip()
    return False


class Known:
    """Which evidence ids exist: pages (a mapping), and the lab's experiment, test and run ids
    (asked for only when a review names one: listing them reads directories)."""

    def __init__(
        self,
        pages: Mapping[str, Page],
        records: Callable[[], Iterable[str] | None] | None = None,
    ):
        self.pages = pages
        self._records = records  # None, or returning None: the lab cannot be looked at
        self._found: frozenset[str] | None = None
        self._asked = False

    @property
    def asked(self) -> bool:
        """Whether the lab's records were listed (a brief that used them is re-checked)."""
        return self._asked

    def records(self) -> frozenset[str] | None:
        if self._records is None:
            return None
        if not self._asked:
            self._asked = True
            found = self._records()
            self._found = None if found is None else frozenset(found)
        return self._found

    def __call__(self, ref: str) -> bool:
        kind = ref.split(".", 1)[0]
        if kind in PREFIX_TYPE:
            return ref in self.pages
        if kind in LAB_KINDS:
            records = self.records()
            return records is None or ref in records
        return True  # an id of another kind (an issue, a commit) cannot be looked up


def review_gaps(page: Page, today: dt.date | None = None, known: Known | None = None) -> list[str]:
    """Why an accepted policy or intervention is not reviewed ([] when it is, or when the page
    is not one). `today=None` skips the date tests (they depend on the date, not the file);
    `known=None` skips looking the evidence ids up."""
    if page.status is not Status.accepted or page.type not in DECISION_TYPES:
        return []
    return _gaps(page, today, known)


def _gaps(page: Page, today: dt.date | None, known: Known | None) -> list[str]:
    review = page.review
    gaps = []
    if review is None:
        gaps.append("it has no review (rationale and evidence)")
    else:
        if not review.rationale.strip():
            gaps.append("its review has no rationale")
        if not review.evidence:
            gaps.append("its review names no evidence")
        if page.id in review.evidence:
            gaps.append("its review cites the page itself as evidence")
        if known is not None:
            missing = [r for r in review.evidence if r != page.id and not known(r)]
            if missing:
                gaps.append(f"its review evidence {', '.join(missing)} does not exist")
        if today is not None and review.reviewed_at > today:
            gaps.append(f"its review is dated {review.reviewed_at.isoformat()}, in the future")
    if today is not None and page.expires is not None and page.expires < today:
        gaps.append(f"its review expired on {page.expires.isoformat()}")
    section = empty_rule_section(page)
    if section is not None:
        gaps.append(f"its ## {section} section is empty")
    return gaps


def review_incomplete(
    page: Page, today: dt.date | None = None, known: Known | None = None
) -> list[str]:
    """The gaps of a review that is there, but cannot be trusted: evidence that does not exist
    or is the page itself, a date in the future (for any page type and status: `check` warns)."""
    if page.review is None:
        return []
    gaps = _gaps(page, today, known)
    keep = ("cites the page itself", "does not exist", "in the future")
    return [g for g in gaps if any(k in g for k in keep)]


def decision_capable(page: Page, today: dt.date | None = None, known: Known | None = None) -> bool:
    """An accepted policy or intervention with a complete review that has not expired."""
    return (
        page.status is Status.accepted
        and page.type in DECISION_TYPES
        and not review_gaps(page, today, known)
    )


def not_decision_capable_why(
    page: Page, today: dt.date | None = None, known: Known | None = None
) -> str:
    """One phrase: why `page` is evidence only ("" when it is decision-capable)."""
    if page.type not in DECISION_TYPES:
        return f"{article(page.type)} {page.type} is evidence, never a decision rule"
    if page.status is not Status.accepted:
        return f"it is {page.status}, not accepted"
    gaps = review_gaps(page, today, known)
    return f"an accepted {page.type} without a complete review: {'; '.join(gaps)}" if gaps else ""


@dataclass(frozen=True)
class Supersession:
    """A `supersedes` edge from a page that may not supersede its target."""

    source: str
    target: str
    why: str  # why the source is not decision-capable

    @property
    def message(self) -> str:
        return (
            f"{self.source} supersedes {self.target}, a reviewed decision rule, but {self.why}; "
            "only a reviewed, accepted policy or intervention can supersede one"
        )


def invalid_supersessions(
    pages: Mapping[str, Page],
    today: dt.date | None = None,
    *,
    pending_ok: bool = True,
    known: Known | None = None,
) -> list[Supersession]:
    """`supersedes` edges that target a decision-capable page from a page that is not one.

    With `pending_ok` (what `check` reports), a policy or intervention that is not accepted yet,
    and any retired page, may name what it will replace: that is a proposal, not an override.
    Briefs pass `pending_ok=False`: for them every such edge is ignored."""
    out = []
    for page in pages.values():
        for target_id in page.supersedes:
            target = pages.get(target_id)
            if target is None or not decision_capable(target, today, known):
                continue
            if decision_capable(page, today, known):
                continue
            if pending_ok and (
                page.status in RETIRED
                or (page.type in DECISION_TYPES and page.status is not Status.accepted)
            ):
                continue
            why = not_decision_capable_why(page, today, known)
            out.append(Supersession(page.id, target_id, why))
    return sorted(out, key=lambda s: (s.source, s.target))


@dataclass(frozen=True)
class Conflict:
    """Two decision-capable pages that contradict each other, directly or through `via`."""

    first: str
    second: str
    via: str | None = None  # the accepted page one contradicts and the other rests on
    declared_by: str = ""  # the page whose `contradicts` list makes the conflict
    # A rule and reviewed background: the rule still applies, with a warning.
    background: str | None = None  # the knowledge card or failure, when it is one

    @property
    def pair(self) -> tuple[str, str]:
        return (self.first, self.second)

    @property
    def rule(self) -> str:
        """The decision rule of a background conflict."""
        return self.second if self.background == self.first else self.first

    @property
    def message(self) -> str:
        if self.background is not None:
            return (
                f"{self.rule} and {self.background} contradict each other "
                f"({self.declared_by}): reviewed background disputes a reviewed rule"
            )
        if self.via is None:
            return f"{self.first} and {self.second} contradict each other ({self.declared_by})"
        other = self.second if self.declared_by == self.first else self.first
        return (
            f"{self.first} and {self.second} conflict: {self.declared_by} contradicts "
            f"{self.via}, which {other} rests on"
        )


def conflicts(
    pages: Mapping[str, Page],
    today: dt.date | None = None,
    among: Iterable[str] | None = None,
    known: Known | None = None,
    *,
    checked: bool = False,
) -> list[Conflict]:
    """Pairs of decision-capable pages that contradict each other (each pair once, sorted).

    `among` limits the pairs to those pages (a brief's), which must then be decision-capable
    (`checked`: the caller knows they are, so they are not weighed again)."""
    if among is None:
        capable = {pid for pid, page in pages.items() if decision_capable(page, today, known)}
    elif checked:
        capable = {pid for pid in among if pid in pages}
    else:
        capable = {
            pid for pid in among if pid in pages and decision_capable(pages[pid], today, known)
        }
    # What each decision-capable page rests on: accepted pages it depends on or derives from.
    rests_on: dict[str, set[str]] = {}
    for pid in capable:
        page = pages[pid]
        rests_on[pid] = {
            t
            for t in (*page.depends_on, *page.derived_from)
            if t in pages and pages[t].status is Status.accepted
        }
    found: dict[tuple[str, str], Conflict] = {}

    def add(a: str, b: str, via: str | None, declared_by: str) -> None:
        if a == b:
            return
        first, second = sorted((a, b))
        found.setdefault((first, second), Conflict(first, second, via, declared_by))

    for pid in sorted(capable):
        for target in pages[pid].contradicts:
            if target in capable:
                add(pid, target, None, pid)
        for target in pages[pid].contradicts:
            if target not in pages or pages[target].status is not Status.accepted:
                continue
            for other in sorted(capable):
                if target in rests_on[other]:
                    add(pid, other, target, pid)
    return [found[key] for key in sorted(found)]


def background_conflicts(
    pages: Mapping[str, Page],
    today: dt.date | None = None,
    known: Known | None = None,
    capable: Iterable[str] | None = None,
    contradicted_by: Callable[[str], Iterable[str]] | None = None,
) -> list[Conflict]:
    """A decision-capable page and an accepted knowledge card or failure joined by a
    `contradicts` edge, in either direction (each pair once, sorted). `capable`: the ids of the
    decision-capable pages to look at (default: every one); `contradicted_by(id)`: the pages
    whose `contradicts` names it (default: a scan of every page)."""
    if capable is None:
        rules = {pid for pid, page in pages.items() if decision_capable(page, today, known)}
    else:
        rules = set(capable)
    if contradicted_by is None:
        sources: dict[str, list[str]] = {}
        for pid in sorted(pages):
            for target in pages[pid].contradicts:
                sources.setdefault(target, []).append(pid)

        def contradicted_by(page_id: str) -> Iterable[str]:
            return sources.get(page_id, [])

    def background(pid: str) -> bool:
        page = pages.get(pid)
        return page is not None and page.status is Status.accepted and page.type in BACKGROUND_TYPES

    found: dict[tuple[str, str], Conflict] = {}
    for rule in sorted(rules):
        edges = [(rule, t) for t in pages[rule].contradicts]
        edges += [(s, rule) for s in contradicted_by(rule)]
        for declared_by, target in edges:
            card = target if declared_by == rule else declared_by
            if card == rule or not background(card):
                continue
            first, second = sorted((rule, card))
            found.setdefault(
                (first, second), Conflict(first, second, None, declared_by, background=card)
            )
    return [found[key] for key in sorted(found)]
