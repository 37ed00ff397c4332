"""`experimentos check`: every problem of a knowledge base, with path, field and a stable code.

Codes (stable; tools match on them):
  errors   encoding, file-too-large, frontmatter-missing, frontmatter-unclosed,
           frontmatter-too-large, frontmatter-not-mapping, yaml-error, yaml-alias,
           yaml-duplicate-key, yaml-tag, schema, read-error, symlink-outside-root,
           symlink-loop, not-a-regular-file, id-path-mismatch, duplicate-id,
           dangling-reference, dependency-cycle, review-missing, review-incomplete (of an
           accepted policy or intervention), rule-empty, supersede-by-evidence, contradiction
           (two rules), state-committed (files under .experimentos/ tracked by git)
  warnings review-expired, unknown-file, review-incomplete (of any other page),
           contradiction (a rule and reviewed background), forged-structure (a single-line
           field holding Markdown structure: a brief shows it as text, but it was written to
           look like the brief's own headings, list items, fences or rule labels)
The review rules (what makes a page decision-capable) live in experimentos/knowledge/trust.py.
Experiments, tests, runs and event logs are checked too (codes: experimentos/lab/check.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from experimentos.knowledge.graph import BODY_LINK, DEPENDS_ON, Graph, is_page_ref
from experimentos.knowledge.trust import (
    Known,
    background_conflicts,
    conflicts,
    empty_rule_section,
    invalid_supersessions,
    review_incomplete,
)
from experimentos.markdown.raw import forges_structure
from experimentos.models.knowledge import DECISION_TYPES, Page, Problem, Status
from experimentos.store import Workspace, id_for_path
from experimentos.store.git import committed_state, committed_state_message
from experimentos.store.lab_scan import lab_record_ids
from experimentos.store.safe import STATE_DIR
from experimentos.store.workspace import Scan


@dataclass
class CheckReport:
    pages: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))

    def to_dict(self) -> dict:
        return {"pages": self.pages, "problems": [p.model_dump() for p in self.problems]}


def check(workspace: Workspace, today: dt.date | None = None) -> CheckReport:
    """Scan the workspace: every page and edge between pages, then the experiments tree."""
    from experimentos.lab.check import check_experiments

    root = workspace.root
    report = check_scan(workspace.scan(), today, records=lambda: lab_record_ids(root))
    report.problems.extend(check_experiments(workspace))
    committed = committed_state(root)
    if committed:  # someone else's index, locks or installs would be read or run here
        report.problems.append(
            Problem(
                path=STATE_DIR,
                code="state-committed",
                message=committed_state_message(committed),
            )
        )
    return report


def check_scan(
    scan: Scan,
    today: dt.date | None = None,
    records: Callable[[], Iterable[str]] | None = None,
) -> CheckReport:
    """Check the pages of `scan`. `records` lists the lab's experiment, test and run ids, which
    a review's evidence may name (without it, such ids are not looked up)."""
    today = today or dt.date.today()
    problems = list(scan.problems)
    paths: dict[str, str] = {}
    for doc in scan.documents:
        expected = id_for_path(doc.path)
        if expected != doc.id:
            problems.append(
                Problem(
                    path=doc.path,
                    field="id",
                    code="id-path-mismatch",
                    message=f"id {doc.id!r} does not match its path (expected {expected!r})",
                )
            )
        if doc.id in paths:
            problems.append(
                Problem(
                    path=doc.path,
                    field="id",
                    code="duplicate-id",
                    message=f"id {doc.id!r} is also used by {paths[doc.id]}",
                )
            )
        else:
            paths[doc.id] = doc.path

    pages = scan.pages()
    graph = Graph(pages)
    for edge in graph.missing():
        kind = "body" if edge.kind == BODY_LINK else edge.kind
        problems.append(
            Problem(
                path=paths[edge.source],
                field=kind,
                code="dangling-reference",
                message=f"references {edge.target!r}, which does not exist",
            )
        )
    for cycle in graph.cycles(DEPENDS_ON):
        problems.append(
            Problem(
                path=paths[cycle[0]],
                field=DEPENDS_ON,
                code="dependency-cycle",
                message="dependsOn cycle: " + " -> ".join(cycle),
            )
        )
    known = Known(pages, records)
    for page in pages.values():
        problems.extend(_review_problems(page, paths[page.id], pages, today, known))
        problems.extend(_forged_problems(page, paths[page.id]))
    problems.extend(trust_problems(pages, paths, today, known))
    return CheckReport(pages=len(scan.documents), problems=problems)


# Single-line fields a brief shows (each collapsed to one line and escaped there).
_TEXT_FIELDS = (
    ("title", lambda p: [p.title]),
    ("summary", lambda p: [p.summary]),
    ("requiredChecks", lambda p: p.required_checks),
    ("forbiddenActions", lambda p: p.forbidden_actions),
    ("tags", lambda p: p.tags),
)


def _forged_problems(page: Page, path: str) -> list[Problem]:
    out = []
    for field_name, values in _TEXT_FIELDS:
        if any(forges_structure(v) for v in values(page)):
            out.append(
                Problem(
                    path=path,
                    field=field_name,
                    code="forged-structure",
                    severity="warning",
                    message=f"{field_name} holds Markdown structure (a heading, list item, "
                    "fence, quote or rule label on a line of its own); briefs show it as "
                    "plain text, but it reads like an instruction: rewrite it as one sentence",
                )
            )
    return out


def trust_problems(
    pages: dict[str, Page],
    paths: dict[str, str],
    today: dt.date | None = None,
    known: Known | None = None,
) -> list[Problem]:
    """`supersede-by-evidence` and `contradiction`: knowledge that would let evidence override a
    reviewed rule, two reviewed rules that cannot both be followed, or reviewed background that
    disputes a reviewed rule (a warning: the rule still applies)."""
    out = [
        Problem(
            path=paths[s.source],
            field="supersedes",
            code="supersede-by-evidence",
            message=s.message,
        )
        for s in invalid_supersessions(pages, today, known=known)
    ]
    for conflict in background_conflicts(pages, today, known):
        out.append(
            Problem(
                path=paths[conflict.declared_by],
                field="contradicts",
                code="contradiction",
                severity="warning",
                message=f"{conflict.message}; briefs apply the rule and warn: reject, scope "
                "or correct one of them",
            )
        )
    for conflict in conflicts(pages, today, known=known):
        out.append(
            Problem(
                path=paths[conflict.declared_by],
                field="contradicts",
                code="contradiction",
                message=f"{conflict.message}; both are accepted, reviewed rules: "
                "deprecate, supersede or narrow one of them",
            )
        )
    return out


def _review_problems(
    page: Page, path: str, pages: dict[str, Page], today: dt.date, known: Known
) -> list[Problem]:
    out = []
    review = page.review
    decides = page.status is Status.accepted and page.type in DECISION_TYPES
    # Evidence that does not exist (pages: dangling-reference below), is the page itself, or a
    # review dated in the future: the review cannot be trusted, so the page is not a rule.
    for gap in review_incomplete(page, today, known):
        lab = "does not exist" in gap
        if lab and all(is_page_ref(r) for r in review.evidence if r != page.id and not known(r)):
            continue  # only pages are missing: dangling-reference says so, per id
        out.append(
            Problem(
                path=path,
                field="review.reviewedAt" if "future" in gap else "review.evidence",
                code="review-incomplete",
                # Records of runs may be elsewhere (not committed yet, another checkout): a
                # warning. The page's own date or self-citation is its own error.
                severity="error" if decides and not lab else "warning",
                message=f"{gap}; the review is incomplete"
                + (f", so this {page.type} is not a decision rule" if decides else ""),
            )
        )
    if review is not None:
        for ref in review.evidence:
            if is_page_ref(ref) and ref not in pages:
                out.append(
                    Problem(
                        path=path,
                        field="review.evidence",
                        code="dangling-reference",
                        message=f"evidence {ref!r} does not exist",
                    )
                )
    if decides:
        if review is None:
            out.append(
                Problem(
                    path=path,
                    field="review",
                    code="review-missing",
                    message=f"an accepted {page.type} needs a review with rationale and evidence",
                )
            )
        else:
            if not review.rationale.strip():
                out.append(
                    Problem(
                        path=path,
                        field="review.rationale",
                        code="review-missing",
                        message=f"an accepted {page.type} needs a review rationale",
                    )
                )
            if not review.evidence:
                out.append(
                    Problem(
                        path=path,
                        field="review.evidence",
                        code="review-missing",
                        message=f"an accepted {page.type} needs at least one evidence id",
                    )
                )
    section = empty_rule_section(page)
    if page.status is Status.accepted and section is not None:
        out.append(
            Problem(
                path=path,
                field="body",
                code="rule-empty",
                message=f"an accepted {page.type} must say what to do: its ## {section} section is "
                "empty (write the rule, or take the heading out and let the summary state it)",
            )
        )
    if page.expires is not None and page.expires < today:
        out.append(
            Problem(
                path=path,
                field="expires",
                code="review-expired",
                severity="warning",
                message=f"review expired on {page.expires.isoformat()}; re-review or deprecate",
            )
        )
    return out
