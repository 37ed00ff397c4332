"""Which pages may decide: the review rules that `check`, briefs and `doctor` share.

A page is **decision-capable** when all of these hold:
- it is a `policy` or an `intervention`;
- its status is `accepted`;
- it is **reviewed**: `review.rationale` is not empty, `review.evidence` names at least one id,
  and the review has not expired (`expires` is unset, or today or later);
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
  (`contradiction`); a brief that would hold both shows them as a conflict, neither as a rule.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from experimentos.errors import article
from experimentos.models.knowledge import DECISION_TYPES, Page, PageType, Status

RETIRED = (Status.rejected, Status.deprecated, Status.superseded)
# The section that states what a decision page tells an agent to do, when the page has it.
RULE_SECTIONS = {PageType.policy: "Rule", PageType.intervention: "What to do"}
_HEADING = re.compile(r"^(#{1,2})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def empty_rule_section(page: Page) -> str | None:
    """The name of the page's rule section when it is there but says nothing (None otherwise):
    a rule that states nothing cannot be followed, whatever its review says."""
    name = RULE_SECTIONS.get(page.type)
    if name is None:
        return None
    headings = list(_HEADING.finditer(page.body))
    for i, heading in enumerate(headings):
        if heading.group(1) == "##" and heading.group(2).strip().lower() == name.lower():
            end = headings[i + 1].start() if i + 1 < len(headings) else len(page.body)
            text = re.sub(r"<!--.*?-->", "", page.body[heading.end() : end], flags=re.DOTALL)
            return name if not text.strip() else None
    return None


def review_gaps(page: Page, today: dt.date | None = None) -> list[str]:
    """Why an accepted policy or intervention is not reviewed ([] when it is, or when the page
    is not one). `today=None` skips the expiry test (it depends on the date, not the file)."""
    if page.status is not Status.accepted or page.type not in DECISION_TYPES:
        return []
    review = page.review
    gaps = []
    if review is None:
        gaps.append("it has no review (rationale and evidence)")
    else:
        if not review.rationale.strip():
            gaps.append("its review has no rationale")
        if not review.evidence:
            gaps.append("its review names no evidence")
    if today is not None and page.expires is not None and page.expires < today:
        gaps.append(f"its review expired on {page.expires.isoformat()}")
    section = empty_rule_section(page)
    if section is not None:
        gaps.append(f"its ## {section} section is empty")
    return gaps


def decision_capable(page: Page, today: dt.date | None = None) -> bool:
    """An accepted policy or intervention with a complete review that has not expired."""
    return (
        page.status is Status.accepted
        and page.type in DECISION_TYPES
        and not review_gaps(page, today)
    )


def not_decision_capable_why(page: Page, today: dt.date | None = None) -> str:
    """One phrase: why `page` is evidence only ("" when it is decision-capable)."""
    if page.type not in DECISION_TYPES:
        return f"{article(page.type)} {page.type} is evidence, never a decision rule"
    if page.status is not Status.accepted:
        return f"it is {page.status}, not accepted"
    gaps = review_gaps(page, today)
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
    pages: Mapping[str, Page], today: dt.date | None = None, *, pending_ok: bool = True
) -> list[Supersession]:
    """`supersedes` edges that target a decision-capable page from a page that is not one.

    With `pending_ok` (what `check` reports), a policy or intervention that is not accepted yet,
    and any retired page, may name what it will replace: that is a proposal, not an override.
    Briefs pass `pending_ok=False`: for them every such edge is ignored."""
    out = []
    for page in pages.values():
        for target_id in page.supersedes:
            target = pages.get(target_id)
            if target is None or not decision_capable(target, today):
                continue
            if decision_capable(page, today):
                continue
            if pending_ok and (
                page.status in RETIRED
                or (page.type in DECISION_TYPES and page.status is not Status.accepted)
            ):
                continue
            out.append(Supersession(page.id, target_id, not_decision_capable_why(page, today)))
    return sorted(out, key=lambda s: (s.source, s.target))


@dataclass(frozen=True)
class Conflict:
    """Two decision-capable pages that contradict each other, directly or through `via`."""

    first: str
    second: str
    via: str | None = None  # the accepted page one contradicts and the other rests on
    declared_by: str = ""  # the page whose `contradicts` list makes the conflict

    @property
    def pair(self) -> tuple[str, str]:
        return (self.first, self.second)

    @property
    def message(self) -> str:
        if self.via is None:
            return f"{self.first} and {self.second} contradict each other ({self.declared_by})"
        other = self.second if self.declared_by == self.first else self.first
        return (
            f"{self.first} and {self.second} conflict: {self.declared_by} contradicts "
            f"{self.via}, which {other} rests on"
        )


def conflicts(
    pages: Mapping[str, Page], today: dt.date | None = None, among: Iterable[str] | None = None
) -> list[Conflict]:
    """Pairs of decision-capable pages that contradict each other (each pair once, sorted).

    `among` limits the pairs to those pages (a brief's), which must then be decision-capable."""
    if among is None:
        capable = {pid for pid, page in pages.items() if decision_capable(page, today)}
    else:
        capable = {pid for pid in among if pid in pages and decision_capable(pages[pid], today)}
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
