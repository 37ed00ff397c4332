"""Page verbs: create, list, and change status under the review rules."""

from __future__ import annotations

import datetime as dt
import getpass
import subprocess
from collections.abc import Sequence

from experimentos.errors import Collect, NotFound, ReviewRequired, UsageError, article, did_you_mean
from experimentos.knowledge.graph import is_page_ref
from experimentos.knowledge.trust import RULE_SECTIONS, empty_rule_section
from experimentos.models.knowledge import DECISION_TYPES, Page, PageType, Review, Status, check_ref
from experimentos.store import Document, Workspace, make_id, parse_status, parse_type
from experimentos.store.ids import page_ids

_BODY_SECTIONS: dict[PageType, tuple[str, ...]] = {
    PageType.policy: ("Rule", "Rationale", "Evidence", "Counterexamples"),
    PageType.intervention: ("What to do", "Why it works", "Limits"),
    PageType.failure: ("Symptoms", "Why it happens", "How to recognise it"),
    PageType.knowledge_card: ("Summary", "Details"),
    PageType.claim: ("Claim", "What to verify locally"),
    PageType.source: ("Source", "Notes"),
}


def build_new_page(
    type_name: str,
    slug: str,
    title: str,
    summary: str = "",
    depends_on: Sequence[str] = (),
    rule: str = "",
) -> Page:
    """A validated draft page with the conventional sections of its type (nothing written);
    `rule` fills the section that says what to do (## Rule, ## What to do)."""
    page_type = parse_type(type_name)
    if not title.strip():
        raise UsageError("a page needs a non-empty --title", field="title")
    page_id = make_id(page_type, slug)
    deps = list(dict.fromkeys(ref.strip() for ref in depends_on if ref.strip()))
    for ref in deps:
        try:
            check_ref(ref)
        except ValueError as exc:
            raise UsageError(str(exc), field="dependsOn") from None
        if ref == page_id:
            raise UsageError(f"{page_id} cannot depend on itself", field="dependsOn")
    rule_section = RULE_SECTIONS.get(page_type)
    if rule.strip() and rule_section is None:
        raise UsageError(
            f"--rule is for policies and interventions; {article(page_type)} {page_type} has no "
            "rule section",
            field="rule",
        )
    filled = {rule_section: rule.strip()} if rule.strip() else {}
    body = "\n".join(
        f"## {heading}\n" + (f"\n{filled[heading]}\n" if heading in filled else "")
        for heading in _BODY_SECTIONS[page_type]
    )
    return Page(
        id=page_id,
        type=page_type,
        title=title.strip(),
        summary=summary.strip(),
        depends_on=deps,
        body=body,
    )


def new_page(
    workspace: Workspace,
    type_name: str,
    slug: str,
    title: str,
    summary: str = "",
    depends_on: Sequence[str] = (),
    rule: str = "",
) -> Document:
    """Create a draft page with the conventional sections of its type; refuse to overwrite.

    Every `depends_on` id that names a page must exist (a dangling edge would fail `check`).
    """
    page = build_new_page(type_name, slug, title, summary, depends_on, rule)
    found = Collect()
    for ref in page.depends_on:
        if is_page_ref(ref) and not workspace.exists(ref):
            hint = did_you_mean(ref, page_ids(workspace.root))
            found.add(NotFound(f"dependsOn {ref!r} does not exist{hint}", field="dependsOn"))
    found.done()
    return workspace.save(page)


def list_pages(
    workspace: Workspace, type_name: str | None = None, status_name: str | None = None
) -> list[Page]:
    """Pages that parse, sorted by id, optionally filtered by type and status."""
    page_type = parse_type(type_name) if type_name else None
    status = parse_status(status_name) if status_name else None
    pages = workspace.scan().pages().values()
    return sorted(
        (
            p
            for p in pages
            if (page_type is None or p.type is page_type) and (status is None or p.status is status)
        ),
        key=lambda p: p.id,
    )


def default_reviewer() -> str:
    """The git user name, else the login name."""
    try:
        name = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    return name or getpass.getuser()


def set_status(
    workspace: Workspace,
    page_id: str,
    status_name: str,
    rationale: str = "",
    evidence: list[str] | None = None,
    reviewer: str | None = None,
    today: dt.date | None = None,
) -> Document:
    """Change a page's status and record the review.

    Accepting a policy or intervention (the decision-capable types) needs a rationale and at
    least one evidence id; every evidence id that names a page must exist.
    """
    changed, doc = plan_status(
        workspace, page_id, status_name, rationale, evidence, reviewer, today
    )
    return workspace.save(changed, like=doc)


def plan_status(
    workspace: Workspace,
    page_id: str,
    status_name: str,
    rationale: str = "",
    evidence: list[str] | None = None,
    reviewer: str | None = None,
    today: dt.date | None = None,
) -> tuple[Page, Document]:
    """The page after a status change under the review rules, and the document it starts from.

    Nothing is written; `workspace.save(page, like=doc)` applies it (see set_status).
    """
    status = parse_status(status_name)
    evidence = [e.strip() for e in evidence or [] if e.strip()]
    rationale = rationale.strip()
    doc = workspace.read(page_id)
    page = doc.page
    if status is page.status and not rationale:
        raise UsageError(f"{page_id} is already {status}; give --rationale to re-review it")
    found = Collect()  # every missing piece of the review at once, not one per attempt
    if status is Status.accepted and page.type in DECISION_TYPES:
        if not rationale:
            found.add(
                ReviewRequired(
                    f"accepting {article(page.type)} {page.type} needs --rationale",
                    path=doc.path,
                    field="review.rationale",
                )
            )
        if not evidence:
            found.add(
                ReviewRequired(
                    f"accepting {article(page.type)} {page.type} needs at least one --evidence id",
                    path=doc.path,
                    field="review.evidence",
                )
            )
        section = empty_rule_section(page)
        if section is not None:
            found.add(
                ReviewRequired(
                    f"accepting {article(page.type)} {page.type} needs its rule: the ## {section} "
                    "section is empty (write what an agent must do there)",
                    path=doc.path,
                    field="body",
                )
            )
    known: list[str] | None = None
    for ref in evidence:
        try:
            check_ref(ref)
        except ValueError as exc:
            found.add(UsageError(str(exc), field="evidence"))
            continue
        if is_page_ref(ref) and not workspace.exists(ref):
            known = known if known is not None else page_ids(workspace.root)
            hint = did_you_mean(ref, known)
            found.add(NotFound(f"evidence {ref!r} does not exist{hint}", field="evidence"))
    found.done()
    update: dict = {"status": status}
    if rationale or evidence:
        update["review"] = Review(
            reviewer=reviewer or default_reviewer(),
            reviewed_at=today or dt.date.today(),
            rationale=rationale,
            evidence=evidence,
        )
    changed = page.model_copy(update=update)
    # Re-validate: model_copy does not, and the file must stay valid.
    changed = Page.model_validate(changed.model_dump(by_alias=True) | {"body": page.body})
    return changed, doc
