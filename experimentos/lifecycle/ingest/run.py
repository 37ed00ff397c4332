"""`experimentos ingest issue`: a GitHub thread in, a proposal with its source and claims out.

Nothing is written to the user's branch or working tree: the pages are committed on an
`xos/ingest/<source-id>` branch by experimentos.proposals, merged inside the proposal's private
worktree with what the base branch already holds (so a re-ingest keeps hand edits).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from experimentos.errors import UsageError
from experimentos.lifecycle.ingest.advice import Advice, find_advice
from experimentos.lifecycle.ingest.pages import (
    build_claim,
    build_source,
    claim_id,
    merge_claim,
    merge_source,
    source_id,
)
from experimentos.lifecycle.ingest.scope import Alignment, Scope, align, thread_scope
from experimentos.lifecycle.ingest.thread import Thread
from experimentos.models.knowledge import Page
from experimentos.proposals import Proposal, PushResult, propose, push_proposal
from experimentos.repofacts.facts import LocalFacts, read_local_facts
from experimentos.repofacts.names import name_problem, range_problem
from experimentos.store import Document, Workspace
from experimentos.store.documents import render

Outcome = Literal["added", "updated", "unchanged", "planned"]


class CorrectionInfo(BaseModel):
    kind: Literal["contradicted", "withdrawn"]
    by: str
    role: str
    date: str
    url: str
    text: str


class ClaimInfo(BaseModel):
    """One claim the thread gave, as the ingest saw it."""

    id: str
    kind: str
    action: str
    said_by: list[str]
    maintainer: bool
    range: str | None
    alignment: Literal["inside", "outside", "unknown"]
    corrections: list[CorrectionInfo] = Field(default_factory=list)
    contradicts: list[str] = Field(default_factory=list)
    outcome: Outcome = "planned"


class AlignmentInfo(BaseModel):
    verdict: Literal["inside", "outside", "unknown"]
    reason: str
    installed: str | None = None
    tag: str | None = None


class IngestResult(BaseModel):
    """What `ingest issue` found and proposed."""

    thread: str = Field(description="owner/repo#number")
    url: str
    title: str
    state: str
    sha256: str
    comments: int
    source: str
    source_outcome: Outcome = "planned"
    library: str | None
    range: str | None
    range_how: str
    alignment: AlignmentInfo
    claims: list[ClaimInfo]
    proposal: Proposal | None = None
    up_to_date: bool = Field(default=False, description="the base already holds all of it")
    already_proposed: str | None = Field(
        default=None, description="an unmerged proposal branch that already holds all of it"
    )
    pushed: PushResult | None = None
    pages: dict[str, str] = Field(
        default_factory=dict, description="with dry_run: the generated page files by path"
    )


@dataclass
class _Ingested:
    """A page change for `propose`: create the page, or merge it with the base's version."""

    page: Page
    merge: object  # (existing, generated) -> Page
    outcome: Outcome = "planned"

    @property
    def page_id(self) -> str:
        return self.page.id

    def precheck(self) -> None:
        from experimentos.store import page_path

        page_path(self.page.id)

    def apply(self, workspace: Workspace) -> Document:
        if not workspace.exists(self.page.id):
            self.outcome = "added"
            return workspace.save(self.page)
        doc = workspace.read(self.page.id)
        merged = self.merge(doc.page, self.page)
        if merged == doc.page:
            self.outcome = "unchanged"
            return doc
        self.outcome = "updated"
        return workspace.save(merged, like=doc)


def plan_ingest(
    thread: Thread,
    *,
    repo: Path | None = None,
    library: str | None = None,
    version_range: str | None = None,
    today: dt.date | None = None,
) -> tuple[IngestResult, list[Page]]:
    """What the thread becomes: the result summary and the pages (source first); no I/O but
    reading the repository's manifests."""
    library, version_range = check_scope_options(library, version_range)
    facts: LocalFacts | None = read_local_facts(repo) if repo is not None else None
    scope = thread_scope(thread, facts, library, version_range)
    if scope.library is not None and name_problem(scope.library):
        # A name read from the thread that no ecosystem allows is not written into a page.
        scope = Scope(library=None, ecosystem=scope.ecosystem)
        scope.how = "the library the thread names is not a package name"
    alignment = align(scope, facts)
    advice = find_advice(thread, scope)
    ids = {item.key: claim_id(thread, item) for item in advice}
    fetched = today or dt.date.today()
    pages = [build_source(thread, scope, advice, ids, fetched)]
    pages += [build_claim(thread, scope, alignment, item, ids) for item in advice]
    result = IngestResult(
        thread=thread.ref,
        url=thread.url,
        title=thread.title,
        state=thread.state_text,
        sha256=thread.sha256(),
        comments=len(thread.comments) - 1,
        source=source_id(thread),
        library=scope.library,
        range=scope.range,
        range_how=scope.how,
        alignment=_alignment_info(alignment),
        claims=[_claim_info(item, ids, scope.range, alignment) for item in advice],
    )
    return result, pages


def check_scope_options(
    library: str | None, version_range: str | None
) -> tuple[str | None, str | None]:
    """`--library` and `--range` as given, when the ecosystems' own rules allow them: a package
    name (npm, PEP 508) and a range (node-semver, PEP 440). UsageError naming the field."""
    if library is not None:
        library = library.strip()
        problem = name_problem(library)
        if problem:
            raise UsageError(problem, field="library")
    if version_range is not None:
        version_range = version_range.strip()
        problem = range_problem(version_range)
        if problem:
            raise UsageError(problem, field="range")
    return library, version_range


def ingest_issue(
    workspace: Workspace,
    thread: Thread,
    *,
    repo: Path | None = None,
    library: str | None = None,
    version_range: str | None = None,
    base: str | None = None,
    dry_run: bool = False,
    push: bool = False,
    remote: str = "origin",
    today: dt.date | None = None,
) -> IngestResult:
    """Propose the thread's source page and claims on a new branch (or, with `dry_run`, only
    say what they would be). With `push`, push the branch and open its pull request."""
    result, pages = plan_ingest(
        thread, repo=repo, library=library, version_range=version_range, today=today
    )
    if dry_run:
        from experimentos.store import page_path

        result.pages = {page_path(p.id).as_posix(): render(p).decode("utf-8") for p in pages}
        return result
    held, pending = _already_held(workspace, pages, base)
    if held or pending is not None:
        result.up_to_date, result.already_proposed = held, pending
        outcome = "unchanged" if held else "planned"
        result.source_outcome = outcome
        for info in result.claims:
            info.outcome = outcome
        return result
    changes = [_Ingested(pages[0], merge_source)]
    changes += [_Ingested(page, merge_claim) for page in pages[1:]]
    why = (
        f"Ingest {thread.ref} ({thread.state_text}): {len(pages) - 1} claim(s) from the thread, "
        f"about {result.library or 'an unnamed library'} {result.range or ''}".rstrip()
        + ". Claims are drafts and evidence only."
    )
    try:
        result.proposal = propose(
            workspace, changes, kind="ingest", slug=result.source, why=why, base=base
        )
    except UsageError as exc:
        if not all(c.outcome == "unchanged" for c in changes) or exc.field is not None:
            raise
        result.up_to_date = True
    result.source_outcome = changes[0].outcome
    for info, change in zip(result.claims, changes[1:], strict=True):
        info.outcome = change.outcome
    if push and result.proposal is not None:
        result.pushed = push_proposal(workspace, result.proposal.name, remote)
    return result


def _already_held(
    workspace: Workspace, pages: list[Page], base: str | None
) -> tuple[bool, str | None]:
    """(the base branch holds what `pages` would add, else an unmerged `xos/ingest/<source-id>`
    branch that does): ingesting a thread again proposes nothing new."""
    import re

    from experimentos.errors import ExperimentosError
    from experimentos.store.git import Repo

    try:
        repo, prefix = Repo.containing(workspace.root)
        base = base or workspace.config.proposals.base or repo.current_branch()
        refs = repo.text("for-each-ref", "--format=%(refname:short)", "refs/heads/xos/ingest/")
    except ExperimentosError:
        return False, None  # propose() will say what is wrong with the repository
    if base and _holds(repo, prefix, f"refs/heads/{base.removeprefix('refs/heads/')}", pages):
        return True, None
    name = re.compile(rf"^xos/ingest/{re.escape(pages[0].id)}(?:-\d+)?$")
    for branch in sorted(b for b in refs.splitlines() if name.match(b)):
        if _holds(repo, prefix, f"refs/heads/{branch}", pages):
            return False, branch
    return False, None


def _holds(repo, prefix: str, ref: str, pages: list[Page]) -> bool:  # noqa: ANN001 - Repo
    from experimentos.errors import InvalidPage
    from experimentos.store import page_path, parse_document

    for page in pages:
        rel = page_path(page.id).as_posix()
        raw = repo.blob(ref, f"{prefix}/{rel}" if prefix else rel)
        if raw is None:
            return False
        try:
            held = parse_document(raw, rel).page
        except InvalidPage:
            return False
        merge = merge_source if page is pages[0] else merge_claim
        if merge(held, page) != held:
            return False
    return True


def _alignment_info(alignment: Alignment) -> AlignmentInfo:
    return AlignmentInfo(
        verdict=alignment.verdict,
        reason=alignment.reason,
        installed=alignment.installed,
        tag=alignment.tag,
    )


def _claim_info(
    item: Advice, ids: dict[str, str], version_range: str | None, alignment: Alignment
) -> ClaimInfo:
    return ClaimInfo(
        id=ids[item.key],
        kind=item.kind,
        action=item.action(),
        said_by=list(dict.fromkeys(s.author for s in item.said)),
        maintainer=item.by_maintainer,
        range=version_range,
        alignment=alignment.verdict,
        corrections=[
            CorrectionInfo(
                kind=c.kind, by=c.author, role=c.role, date=c.date, url=c.url, text=c.text
            )
            for c in item.corrections
        ],
        contradicts=[ids[key] for key in item.contradicts if key in ids],
    )
