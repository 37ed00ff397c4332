"""What changed between two briefs of one task: rules, pages, conflicts, warnings, tokens, text.

Only the brief's public fields are read (its entries with their boundary and form, `cut`,
`excluded`, `conflicts`, `warnings`, `stale_warnings`, `token_estimate`, and the Markdown the
agent reads), so the comparison follows the compiler as it evolves.
"""

from __future__ import annotations

import difflib
import re

from pydantic import BaseModel, Field

from experimentos.briefs.models import Brief, BriefEntry

RULE = "decision_capable"
_BRIEF_ID = re.compile(r"brief\.[0-9a-f]{16}")
_FORM_RANK = {"full": 2, "line": 1, "ref": 0}
DIFF_CONTEXT = 1


class RuleChange(BaseModel):
    id: str
    title: str = ""
    change: str  # added | promoted | removed | demoted | cut | compacted | expanded | reworded
    detail: str = ""


class BriefDiff(BaseModel):
    """One task's brief at the base and now."""

    changed: bool
    rules_before: list[str] = Field(default_factory=list)
    rules_after: list[str] = Field(default_factory=list)
    rules: list[RuleChange] = Field(default_factory=list)
    pages_added: list[str] = Field(default_factory=list)  # context and evidence pages
    pages_removed: list[str] = Field(default_factory=list)
    conflicts_added: list[str] = Field(default_factory=list)
    conflicts_resolved: list[str] = Field(default_factory=list)
    warnings_added: list[str] = Field(default_factory=list)
    warnings_resolved: list[str] = Field(default_factory=list)
    tokens_before: int = 0
    tokens_after: int = 0
    truncated_before: bool = False
    truncated_after: bool = False
    markdown_diff: str = ""

    @property
    def tokens_delta(self) -> int:
        return self.tokens_after - self.tokens_before

    def summary(self) -> str:
        """A few words: `+1 rule, 1 demoted, 1 new conflict, +89 tokens`."""
        counts: dict[str, int] = {}
        for r in self.rules:
            counts[r.change] = counts.get(r.change, 0) + 1
        words = []
        for change, label in (
            ("added", "+{} rule"),
            ("promoted", "+{} promoted"),
            ("removed", "−{} rule"),
            ("demoted", "{} demoted"),
            ("cut", "{} cut"),
            ("compacted", "{} compacted"),
            ("expanded", "{} expanded"),
            ("reworded", "{} reworded"),
        ):
            if counts.get(change):
                words.append(label.format(counts[change]))
        if self.pages_added or self.pages_removed:
            words.append(f"pages +{len(self.pages_added)}/−{len(self.pages_removed)}")
        if self.conflicts_added:
            words.append(f"{len(self.conflicts_added)} new conflict(s)")
        if self.warnings_added:
            words.append(f"{len(self.warnings_added)} new warning(s)")
        if self.tokens_delta:
            words.append(f"{self.tokens_delta:+,} tokens")
        if not words:
            words.append("text changed" if self.changed else "unchanged")
        return ", ".join(words)


def _by_id(brief: Brief) -> dict[str, BriefEntry]:
    return {e.id: e for e in brief.entries}


def _conflicts(brief: Brief) -> set[str]:
    return {" ↔ ".join(c.pages) for c in brief.conflicts}


def _warnings(brief: Brief) -> set[str]:
    found = {f"{w.code}: {w.id}" for w in brief.warnings}
    found |= {f"stale: {w.id} ({w.reason})" for w in brief.stale_warnings}
    return found


def _why_gone(after: Brief, page_id: str) -> str:
    for excluded in after.excluded:
        if excluded.id == page_id:
            return "; ".join(excluded.reasons)
    return ""


def masked(markdown: str) -> str:
    """The Markdown without its brief id (a hash of the knowledge: always different)."""
    return _BRIEF_ID.sub("brief.…", markdown)


def diff_briefs(before: Brief, after: Brief, md_before: str, md_after: str) -> BriefDiff:
    """Rules added, removed, demoted, cut or compacted; pages, conflicts and warnings that came
    or went; the token change and the unified diff of the Markdown."""
    old, new = _by_id(before), _by_id(after)
    rules_old = [e.id for e in before.entries if e.boundary == RULE]
    rules_new = [e.id for e in after.entries if e.boundary == RULE]
    cut_after = {c.id for c in after.cut}
    changes: list[RuleChange] = []
    for rid in rules_new:
        entry = new[rid]
        if rid not in rules_old:
            was = old.get(rid)
            if was is not None:
                changes.append(
                    RuleChange(
                        id=rid,
                        title=entry.title,
                        change="promoted",
                        detail=f"was {was.boundary.replace('_', ' ')}",
                    )
                )
            else:
                changes.append(RuleChange(id=rid, title=entry.title, change="added"))
            continue
        prior = old[rid]
        if _FORM_RANK[entry.form] < _FORM_RANK[prior.form]:
            detail = f"{prior.form} → {entry.form}"
            changes.append(RuleChange(id=rid, title=entry.title, change="compacted", detail=detail))
        elif _FORM_RANK[entry.form] > _FORM_RANK[prior.form]:
            detail = f"{prior.form} → {entry.form}"
            changes.append(RuleChange(id=rid, title=entry.title, change="expanded", detail=detail))
        elif entry.rule_statement != prior.rule_statement:
            changes.append(RuleChange(id=rid, title=entry.title, change="reworded"))
    for rid in rules_old:
        if rid in rules_new:
            continue
        prior = old[rid]
        now = new.get(rid)
        if now is not None:
            detail = now.trust or now.boundary.replace("_", " ")
            change = "demoted"
        elif rid in cut_after:
            change, detail = "cut", "left out for the budget"
        else:
            change, detail = "removed", _why_gone(after, rid)
        changes.append(RuleChange(id=rid, title=prior.title, change=change, detail=detail))
    others_old = {i for i, e in old.items() if e.boundary != RULE}
    others_new = {i for i, e in new.items() if e.boundary != RULE}
    conflicts_old, conflicts_new = _conflicts(before), _conflicts(after)
    warnings_old, warnings_new = _warnings(before), _warnings(after)
    a, b = masked(md_before), masked(md_after)
    text = ""
    if a != b:
        text = "\n".join(
            difflib.unified_diff(
                a.splitlines(), b.splitlines(), "base", "head", n=DIFF_CONTEXT, lineterm=""
            )
        )
    return BriefDiff(
        changed=a != b,
        rules_before=rules_old,
        rules_after=rules_new,
        rules=changes,
        pages_added=sorted(others_new - others_old - set(rules_old)),
        pages_removed=sorted(others_old - others_new - set(rules_new)),
        conflicts_added=sorted(conflicts_new - conflicts_old),
        conflicts_resolved=sorted(conflicts_old - conflicts_new),
        warnings_added=sorted(warnings_new - warnings_old),
        warnings_resolved=sorted(warnings_old - warnings_new),
        tokens_before=before.token_estimate,
        tokens_after=after.token_estimate,
        truncated_before=before.truncated,
        truncated_after=after.truncated,
        markdown_diff=text,
    )
