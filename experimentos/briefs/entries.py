"""Describe a page for a brief: its boundary, its rule statement, staleness, and its entry.

Boundaries: a decision-capable page (an accepted, reviewed policy or intervention whose review
has not expired: see experimentos/knowledge/trust.py) is `decision_capable`; an accepted
knowledge card or failure is `domain_context`; everything else, and any page whose cited code
changed, is `evidence_only`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import stat
from collections import OrderedDict, deque
from collections.abc import Mapping
from pathlib import Path

from experimentos.briefs.models import Boundary, BriefEntry, Form
from experimentos.briefs.render import entry_block
from experimentos.index.tokens import count_markdown
from experimentos.knowledge.graph import is_page_ref
from experimentos.knowledge.live import Snapshot
from experimentos.knowledge.trust import Known, decision_capable, not_decision_capable_why
from experimentos.models.knowledge import Page, PageType, Status

_RETIRED = frozenset({Status.rejected, Status.deprecated, Status.superseded})
_RULE_RE = re.compile(r"^##\s+Rule\s*$(.*?)(?=^##\s|\Z)", re.MULTILINE | re.DOTALL)
_ENTRY_CACHE_SIZE = 8192


def boundary_of(
    page: Page, stale: bool, today: dt.date | None = None, known: Known | None = None
) -> Boundary:
    """Where a page sits in a brief (see the module docstring). `known` looks up the ids a
    review names as evidence (without it, only the review's shape and dates count)."""
    if stale or page.status is not Status.accepted:
        return "evidence_only"
    if decision_capable(page, today or dt.date.today(), known):
        return "decision_capable"
    if page.type in (PageType.knowledge_card, PageType.failure):
        return "domain_context"
    return "evidence_only"


@functools.lru_cache(maxsize=8192)
def _rule_section(body: str) -> str:
    found = _RULE_RE.search(body)
    return found.group(1).strip() if found else ""


def rule_text(page: Page) -> str:
    """The page's `## Rule` section, whole (Markdown kept): a rule is never cut mid-sentence."""
    return _rule_section(page.body)


def trust_reason(
    page: Page,
    boundary: Boundary,
    stale: list[str],
    conflict_with: list[str],
    today: dt.date,
    known: Known | None = None,
) -> str:
    """One line for people and agents: why the page is a rule, background, or only evidence."""
    if conflict_with:
        return (
            f"not a rule: it contradicts {', '.join(conflict_with)}, another reviewed rule; "
            "a reviewer must resolve the conflict"
        )
    if boundary == "decision_capable":
        review = page.review
        evidence = ", ".join(review.evidence[:3]) + (" …" if len(review.evidence) > 3 else "")
        return (
            f"a rule: accepted {page.type}, reviewed by {review.reviewer} on "
            f"{review.reviewed_at.isoformat()} with evidence {evidence}"
        )
    if stale:
        return f"only evidence: {'; '.join(stale)}, so it must be re-reviewed"
    if boundary == "domain_context":
        return f"background: an accepted {page.type} is reviewed context, not a rule to act on"
    why = not_decision_capable_why(page, today, known)
    return f"only evidence: {why}; verify it locally before acting on it"


def review_note(page: Page, today: dt.date, known: Known | None = None) -> str:
    """For an accepted policy or intervention that is evidence only: why it is not a rule."""
    if page.status is not Status.accepted or decision_capable(page, today, known):
        return ""
    why = not_decision_capable_why(page, today, known)
    if not why.startswith("an accepted"):
        return ""
    return f"Not a decision rule: {why}."


# Entries are keyed by the page's content checksum, so they outlive a snapshot: after an edit
# only the edited page is rendered and counted again.
_ENTRIES: OrderedDict[tuple, BriefEntry] = OrderedDict()


def make_entry(
    snap: Snapshot,
    page: Page,
    boundary: Boundary,
    form: Form,
    stale: list[str],
    notes: list[str],
    conflict_with: list[str],
    today: dt.date,
    trust: str = "",
) -> BriefEntry:
    """The entry for `page` as shown in `form`, its Markdown tokens counted (memoised).
    `trust`: why it is a rule, background or evidence (computed here when not given)."""
    depends_on = [t for t in page.depends_on if t in snap.pages]
    path = snap.path_of(page.id)
    key = (page.id, snap.checksums[page.id], path, tuple(depends_on), boundary, form)
    key += (tuple(stale), tuple(notes), tuple(conflict_with), today, trust)
    entry = _ENTRIES.get(key)
    if entry is not None:
        _ENTRIES.move_to_end(key)
        return entry
    decides = boundary == "decision_capable"
    entry = BriefEntry(
        id=page.id,
        type=page.type.value,
        title=page.title,
        status=page.status.value,
        confidence=page.confidence.value,
        summary=page.summary,
        boundary=boundary,
        role="selected",
        depends_on=depends_on,
        rule=rule_text(page) if decides else "",
        required_checks=list(page.required_checks),
        forbidden_actions=list(page.forbidden_actions),
        stale=list(stale),
        notes=list(notes),
        conflict_with=list(conflict_with),
        trust=trust or trust_reason(page, boundary, stale, conflict_with, today),
        path=path,
        form=form,
        compact=form != "full",
    )
    block = entry_block(entry)
    entry.tokens = count_markdown(block)  # line by line: the forms of a page share lines
    entry._block = block
    _ENTRIES[key] = entry
    while len(_ENTRIES) > _ENTRY_CACHE_SIZE:
        _ENTRIES.popitem(last=False)
    return entry


class StaleCheck:
    """Why a page is stale, as `experimentos doctor` sees it: its review expired, the code it
    cites changed or is gone, a page it rests on (along dependsOn, at any depth) is stale or
    retired, or — for a claim — its source is gone or retired.

    `memo` (kept with the snapshot and the day by the caller) holds the reasons of pages that
    read no cited code, themselves or along their dependencies: those depend only on the pages
    and the day. Cited code lives outside the knowledge base and is looked at on every brief."""

    def __init__(
        self,
        repo: Path,
        today: dt.date,
        pages: Mapping[str, Page] | None = None,
        memo: dict[str, list[str]] | None = None,
    ):
        self.repo, self.today = repo, today
        self.pages: Mapping[str, Page] = pages or {}
        self.checked: list[tuple[Path, tuple | None]] = []  # cited files and their stat
        self._seen: dict[str, list[str]] = {}
        self._own_seen: dict[str, list[str]] = {}
        self._memo = memo
        self._cites = False  # whether the reasons being found looked at cited code
        self._code: set[str] = set()  # pages whose reasons looked at cited code

    def reasons(self, page: Page) -> list[str]:
        found = self._seen.get(page.id)
        if found is None and self._memo is not None:
            found = self._memo.get(page.id)
        if found is None:
            self._cites = False
            found = [*self._own(page), *self._rests_on(page), *self._source(page)]
            if self._cites:
                self._code.add(page.id)
            elif self._memo is not None:
                self._memo[page.id] = found
        self._seen[page.id] = found
        return found

    def reads_code(self, page: Page) -> bool:
        """Whether the page's staleness looks at cited code (its own, or that of a page it
        rests on): what follows from it must be decided again on every brief."""
        self.reasons(page)
        return page.id in self._code

    def _own(self, page: Page) -> list[str]:
        if page.cites and any(cite.sha256 for cite in page.cites):
            self._cites = True
        found = self._own_seen.get(page.id)
        if found is not None:
            return found
        out = []
        if page.expires is not None and page.expires < self.today:
            out.append(f"review expired on {page.expires.isoformat()}")
        for cite in page.cites:
            if cite.sha256 is None:
                continue
            where = cite.path + (f":{cite.lines}" if cite.lines else "")
            self.checked.append((self.repo / cite.path, stat_key(self.repo / cite.path)))
            digest = cite_digest(self.repo, cite.path, cite.lines)
            if digest is None:  # the repository's path is not named: briefs must not vary with it
                out.append(f"cited file {cite.path} not found in the repository")
            elif digest != cite.sha256:
                out.append(f"cited code changed: {where} no longer has the reviewed sha256")
        self._own_seen[page.id] = out
        return out

    def _rests_on(self, page: Page) -> list[str]:
        """The nearest stale or retired page along dependsOn (breadth first: shortest chain)."""
        if not page.depends_on:
            return []
        parent: dict[str, str] = {}
        queue = deque([page.id])
        while queue:
            current = queue.popleft()
            holder = self.pages.get(current, page if current == page.id else None)
            for target in sorted(holder.depends_on if holder else []):
                dep = self.pages.get(target)
                if dep is None or target == page.id or target in parent:
                    continue
                parent[target] = current
                if dep.status in _RETIRED:
                    why = f"is {dep.status.value}"
                else:
                    why = "; ".join(self._own(dep))
                if why:
                    chain = [target]
                    while chain[-1] != page.id:
                        chain.append(parent[chain[-1]])
                    path = " -> ".join(reversed(chain))
                    return [f"depends on {target}, which {why} ({path})"]
                queue.append(target)
        return []

    def _source(self, page: Page) -> list[str]:
        if page.type is not PageType.claim:
            return []
        out = []
        for ref in page.derived_from:
            if not is_page_ref(ref):
                continue
            source = self.pages.get(ref)
            if source is None:
                out.append(f"its source {ref} is gone")
            elif source.status in _RETIRED:
                out.append(f"its source {ref} is {source.status.value}")
        return out


_DIGESTS: dict[tuple, str | None] = {}


def stat_key(path: Path) -> tuple | None:
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
