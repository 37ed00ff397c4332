"""`experimentos check`: every problem of a knowledge base, with path, field and a stable code.

Codes (stable; tools match on them):
  errors   encoding, file-too-large, frontmatter-missing, frontmatter-unclosed,
           frontmatter-too-large, frontmatter-not-mapping, yaml-error, yaml-alias,
           yaml-duplicate-key, yaml-tag, schema, read-error, symlink-outside-root,
           symlink-loop, not-a-regular-file, id-path-mismatch, duplicate-id,
           dangling-reference, dependency-cycle, review-missing, rule-empty,
           supersede-by-evidence, contradiction
  warnings review-expired, unknown-file
The review rules (what makes a page decision-capable) live in experimentos/knowledge/trust.py.
Experiments, tests, runs and event logs are checked too (codes: experimentos/lab/check.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from experimentos.knowledge.graph import BODY_LINK, DEPENDS_ON, Graph, is_page_ref
from experimentos.knowledge.trust import conflicts, empty_rule_section, invalid_supersessions
from experimentos.models.knowledge import DECISION_TYPES, Page, Problem, Status
from experimentos.store import Workspace, id_for_path
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

    report = check_scan(workspace.scan(), today)
    report.problems.extend(check_experiments(workspace))
    return report


def check_scan(scan: Scan, today: dt.date | None = None) -> CheckReport:
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
    for page in pages.values():
        problems.extend(_review_problems(page, paths[page.id], pages, today))
    problems.extend(trust_problems(pages, paths, today))
    return CheckReport(pages=len(scan.documents), problems=problems)


def trust_problems(
    pages: dict[str, Page], paths: dict[str, str], today: dt.date | None = None
) -> list[Problem]:
    """`supersede-by-evidence` and `contradiction`: knowledge that would let evidence override a
    reviewed rule, or two reviewed rules that cannot both be followed."""
    out = [
        Problem(
            path=paths[s.source],
            field="supersedes",
            code="supersede-by-evidence",
            message=s.message,
        )
        for s in invalid_supersessions(pages, today)
    ]
    for conflict in conflicts(pages, today):
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
    page: Page, path: str, pages: dict[str, Page], today: dt.date
) -> list[Problem]:
    out = []
    review = page.review
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
    if page.status is Status.accepted and page.type in DECISION_TYPES:
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
