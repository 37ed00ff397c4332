"""`experimentos promote`: the gate's verdict turned into a proposal that accepts the page.

Nothing is written to the user's branch or working tree: the accepted page is committed on an
`xos/promote/<page-id>` branch by experimentos.proposals (and pushed, with its pull request,
on request). The review it writes satisfies the review rules `check` enforces and the trust
rules briefs apply (accepted + a reviewer, a rationale and evidence ids, not expired):

    review:
      reviewer: …            --reviewer, else the repository's git user.name
      reviewedAt: …          today
      rationale: …           the gate's numbers in one sentence (+ --rationale)
      evidence: [experiment.<slug>, run.…]   the experiment and every run of the compared pairs
      gate: {matrix, metric, basis, baseline, treatment, fixtures, pairs, delta, low, high,
             pValue, pAdjusted, repeatsNeeded, passed, override}

A gate that did not pass proposes nothing (the caller exits 1 with the numbers) unless a
named person overrides it: `--override --rationale TEXT --reviewer NAME` records
`gate.passed: false` with the override's rationale, and a `## Promotion override` section in
the page body says, visibly, what the gate found and why the page was accepted anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from experimentos.errors import GitError, UsageError
from experimentos.knowledge.pages import default_reviewer
from experimentos.markdown import escape
from experimentos.matrix.metrics import LABELS
from experimentos.models.knowledge import Gate, Page, Review, Status
from experimentos.promote.gate import (
    DEFAULT_METRIC,
    GateResult,
    check_page_type,
    compute_gate,
    describe,
)
from experimentos.proposals import Proposal, PushResult, propose, push_proposal
from experimentos.store import Document, Workspace, split_id
from experimentos.store.documents import render
from experimentos.store.git import Repo

OVERRIDE_HEADING = "## Promotion override"
Expiry = dt.date | Literal["never"] | None


class PromotionResult(BaseModel):
    """The gate, and the proposal made from it (None when the gate failed without override)."""

    gate: GateResult
    promoted: bool = Field(description="a proposal accepts the page (or would, with dry_run)")
    override: bool = Field(default=False, description="accepted although the gate did not pass")
    reviewer: str | None = None
    rationale: str | None = Field(default=None, description="the review rationale written")
    evidence: list[str] = Field(default_factory=list)
    proposal: Proposal | None = None
    pushed: PushResult | None = None
    page_text: str | None = Field(
        default=None, description="with dry_run: the page as it would be proposed"
    )
    notes: list[str] = Field(default_factory=list)


def git_identity(root: Path) -> str:
    """The repository's git user.name, else the login name."""
    try:
        repo, _ = Repo.containing(root)
        name = repo.run("config", "--get", "user.name", check=False).stdout.decode().strip()
    except GitError:
        name = ""
    return name or default_reviewer()


@dataclass
class PromotionPlan:
    """The gate's result and, when it passed or was overridden, the change to propose."""

    result: PromotionResult
    change: Promotion | None


def plan_promotion(
    workspace: Workspace,
    page_id: str,
    matrix: str,
    *,
    metric: str = DEFAULT_METRIC,
    reviewer: str | None = None,
    override: bool = False,
    rationale: str | None = None,
    expires: Expiry = None,
    today: dt.date | None = None,
) -> PromotionPlan:
    """Compute the gate and, when it passes (or a named reviewer overrides it), the accepted
    page's review; nothing is written."""
    today = today or dt.date.today()
    rationale = (rationale or "").strip() or None
    reviewer = (reviewer or "").strip() or None
    if override and rationale is None:
        raise UsageError(
            "--override needs --rationale: why the page is accepted although the gate did not pass",
            field="rationale",
        )
    if override and reviewer is None:
        raise UsageError(
            "--override records a person's decision: name the reviewer with --reviewer",
            field="reviewer",
        )
    split_id(page_id)
    gate = compute_gate(workspace, page_id, matrix, metric)
    result = PromotionResult(gate=gate, promoted=False)
    if gate.passed and override:
        result.notes.append("the gate passed: no override is recorded")
        override = False
    if not gate.passed and not override:
        return PromotionPlan(result, None)

    reviewer = reviewer or git_identity(workspace.root)
    evidence = [gate.experiment, *gate.runs]
    review = Review(
        reviewer=reviewer,
        reviewed_at=today,
        rationale=_rationale(gate, rationale, override),
        evidence=evidence,
        gate=gate_record(gate, rationale if override else None),
    )
    section = _override_section(gate, rationale, reviewer, today) if override else None
    result.promoted = True
    result.override = override
    result.reviewer = reviewer
    result.rationale = review.rationale
    result.evidence = evidence
    return PromotionPlan(result, Promotion(page_id, review, expires, section, today))


def submit(
    workspace: Workspace,
    plan: PromotionPlan,
    *,
    base: str | None = None,
    push: bool = False,
    remote: str = "origin",
) -> PromotionResult:
    """Commit a planned promotion on its `xos/promote/<page-id>` branch (and push it)."""
    result, change = plan.result, plan.change
    if change is None:
        return result
    result.proposal = propose(
        workspace,
        [change],
        kind="promote",
        slug=change.page_id,
        why=change.review.rationale,
        evidence=result.evidence,
        base=base,
    )
    if push:
        result.pushed = push_proposal(workspace, result.proposal.name, remote)
    return result


def promote(
    workspace: Workspace,
    page_id: str,
    matrix: str,
    *,
    metric: str = DEFAULT_METRIC,
    reviewer: str | None = None,
    override: bool = False,
    rationale: str | None = None,
    expires: Expiry = None,
    base: str | None = None,
    dry_run: bool = False,
    push: bool = False,
    remote: str = "origin",
    today: dt.date | None = None,
) -> PromotionResult:
    """Compute the gate for `page_id` on `matrix`; when it passes (or a named reviewer
    overrides it), propose the page as accepted with the review the evidence gives. With
    `dry_run`, return the page as it would be proposed instead."""
    plan = plan_promotion(
        workspace,
        page_id,
        matrix,
        metric=metric,
        reviewer=reviewer,
        override=override,
        rationale=rationale,
        expires=expires,
        today=today,
    )
    if plan.change is not None and dry_run:
        doc = workspace.read(page_id)
        plan.result.page_text = render(plan.change.build(doc), like=doc).decode("utf-8")
        return plan.result
    return submit(workspace, plan, base=base, push=push, remote=remote)


def gate_record(gate: GateResult, override: str | None = None) -> Gate:
    """The `review.gate` block: the primary comparison's numbers, rounded for the page."""
    d = gate.primary
    r = d.result if d is not None else None
    return Gate(
        matrix=gate.matrix,
        metric=gate.metric,
        basis=gate.basis,
        baseline=gate.baseline,
        treatment=gate.treatment,
        fixtures=gate.fixtures,
        pairs=d.pairs if d is not None else 0,
        delta=_round(r.delta if r else None),
        low=_round(r.low if r else None),
        high=_round(r.high if r else None),
        p_value=_sig(r.p_value if r else None),
        p_adjusted=_sig(r.p_adjusted if r else None),
        repeats_needed=gate.repeats_needed,
        passed=gate.passed,
        override=override,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _sig(value: float | None) -> float | None:
    # p-values span orders of magnitude: keep 4 significant digits, not 4 decimals.
    return None if value is None else float(f"{value:.4g}")


def _basis(gate: GateResult) -> str:
    if gate.basis == "ablation":
        return "by the page's ablation"
    if gate.basis is None:
        return "no comparison for the page"
    return f"on {', '.join(gate.fixtures)} (by {gate.basis})"


def _rationale(gate: GateResult, note: str | None, override: bool) -> str:
    if override:
        found = "; ".join(gate.reasons)
        return (
            f"Accepted by override: the promotion gate did not pass on matrix {gate.matrix} "
            f"({found}). {note}"
        )
    others = len(gate.checks)
    text = (
        f"Promotion gate passed on matrix {gate.matrix}, {_basis(gate)}: {gate.headline()}; "
        f"no significant regression in {others} other outcome comparisons (Holm)."
    )
    return f"{text} {note}" if note else text


def _override_section(gate: GateResult, note: str | None, reviewer: str, today: dt.date) -> str:
    metric = LABELS[gate.metric]
    lines = [
        OVERRIDE_HEADING,
        "",
        f"The promotion gate did **not** pass on matrix {escape.code(gate.matrix)}, {metric} "
        f"{escape.line(_basis(gate))}:",
        "",
    ]
    # Reasons are Markdown the gate built (conditions in code spans): one line each, HTML
    # and mentions from the names in them defused.
    lines += [f"- {escape.line(reason)}" for reason in gate.reasons]
    if gate.primary is not None and gate.primary.delta is not None:
        measured = describe(gate.primary)
        if not any(measured in reason for reason in gate.reasons):
            lines.append(f"- measured: {measured}")
    lines += ["", f"Accepted anyway by {reviewer} on {today.isoformat()}: {note}"]
    return "\n".join(lines) + "\n"


def without_override(body: str) -> str:
    """The body without a `## Promotion override` section (a new review replaces it)."""
    lines = body.splitlines(keepends=True)
    if not any(line.rstrip() == OVERRIDE_HEADING for line in lines):
        return body
    out, skipping = [], False
    for line in lines:
        if line.rstrip() == OVERRIDE_HEADING:
            skipping = True
            continue
        if skipping and line.startswith("## "):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out).rstrip("\n") + ("\n" if out else "")


@dataclass(frozen=True)
class Promotion:
    """A proposal change: the page as it is on the base branch, accepted with `review`."""

    page_id: str
    review: Review
    expires: Expiry
    override_section: str | None
    today: dt.date

    def precheck(self) -> None:
        split_id(self.page_id)

    def build(self, doc: Document) -> Page:
        page = doc.page
        check_page_type(page, doc.path)
        if self.expires == "never":
            expires = None
        elif self.expires is not None:
            expires = self.expires
        else:
            expires = page.expires
        if expires is not None and expires < self.today:
            raise UsageError(
                f"{page.id}'s review expires on {expires.isoformat()}, before today: give the "
                "new review an expiry with --expires DATE (or --expires never)",
                path=doc.path,
                field="expires",
            )
        body = without_override(page.body)
        if self.override_section:
            kept = body.rstrip()
            body = f"{kept}\n\n{self.override_section}" if kept else self.override_section
        data = page.model_dump(by_alias=True)
        data.update(
            status=Status.accepted,
            review=self.review.model_dump(by_alias=True),
            expires=expires,
            body=body,
        )
        return Page.model_validate(data)

    def apply(self, workspace: Workspace) -> Document:
        doc = workspace.read(self.page_id)
        return workspace.save(self.build(doc), like=doc)
