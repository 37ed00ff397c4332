"""Brief impact as Markdown: a table of every task, then each changed task folded in <details>.

`render_impact(impact, limit=N)` keeps the whole text under N characters (a pull-request
comment's limit is 65,536): it drops, in this order and from the last task up, the Markdown
diffs, then the folded details, and says what it left out and how to see it all.
"""

from __future__ import annotations

from experimentos.impact.diff import RuleChange
from experimentos.impact.run import Impact, TaskImpact
from experimentos.markdown import escape

MARKER = "<!-- experimentos:brief-impact -->"
MAX_PAGES_LISTED = 20
MAX_DIFF_CHARS = 12_000  # one task's diff, at most (the rest is one command away)
_VERB = {
    "added": "new rule",
    "promoted": "now a rule",
    "removed": "rule removed",
    "demoted": "demoted",
    "cut": "cut for the budget",
    "compacted": "compacted",
    "expanded": "shown in full again",
    "reworded": "rule text changed",
}


def _fence(text: str) -> str:
    """A fence longer than any backtick run inside `text` (page text cannot close it)."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _rule_line(r: RuleChange) -> str:
    title = f" — {escape.text(r.title)}" if r.title else ""
    detail = f" ({escape.text(r.detail)})" if r.detail else ""
    return f"- {_VERB[r.change]}: {escape.code(r.id)}{title}{detail}"


def _rules(t: TaskImpact) -> str:
    if t.error or t.diff is None:
        return "—"
    return f"{len(t.diff.rules_before)} → {len(t.diff.rules_after)}"


def _tokens(t: TaskImpact) -> str:
    if t.error or t.diff is None:
        return "—"
    d = t.diff
    return f"{d.tokens_before:,} → {d.tokens_after:,} ({d.tokens_delta:+,})"


def _details(t: TaskImpact, with_diff: bool, command: str) -> str:
    d = t.diff
    lines = [f"<details><summary><b>{escape.text(t.name)}</b>: {_summary(t)}</summary>", ""]
    lines.append(f"Task ({t.source}): {escape.text(t.task)}")
    lines.append("")
    if t.error:
        lines += [f"The brief did not compile: {escape.text(t.error)}", "", "</details>"]
        return "\n".join(lines)
    assert d is not None
    lines += [_rule_line(r) for r in d.rules]
    lines += [f"- page now in the brief: {escape.code(p)}" for p in d.pages_added]
    lines += [f"- page no longer in the brief: {escape.code(p)}" for p in d.pages_removed]
    lines += [f"- new conflict: {escape.text(c)}" for c in d.conflicts_added]
    lines += [f"- conflict resolved: {escape.text(c)}" for c in d.conflicts_resolved]
    lines += [f"- new warning: {escape.text(w)}" for w in d.warnings_added]
    lines += [f"- warning gone: {escape.text(w)}" for w in d.warnings_resolved]
    truncated = ""
    if d.truncated_after != d.truncated_before:
        truncated = "; now truncated" if d.truncated_after else "; no longer truncated"
    lines.append(f"- tokens: {_tokens(t)}{truncated}")
    if with_diff and d.markdown_diff:
        text = d.markdown_diff
        if len(text) > MAX_DIFF_CHARS:
            cut = text[:MAX_DIFF_CHARS]
            text = cut[: cut.rfind("\n")] + f"\n… (diff cut; {escape.code(command)} prints it all)"
        fence = _fence(text)
        lines += ["", f"{fence}diff", text, fence]
    elif d.markdown_diff:
        lines += ["", "_Markdown diff left out for the comment's size limit._"]
    lines += ["", "</details>"]
    return "\n".join(lines)


def _summary(t: TaskImpact) -> str:
    if t.error:
        return "did not compile"
    return t.diff.summary() if t.diff else "—"


def render_impact(
    impact: Impact, *, limit: int | None = None, marker: bool = False, command: str | None = None
) -> str:
    """The Markdown; with `limit`, at most that many characters (what is left out is said)."""
    command = command or f"experimentos impact --base {impact.base}"
    changed = impact.changed
    unchanged = [t for t in impact.tasks if t not in changed]
    head = [MARKER] if marker else []
    head += [
        "## Brief impact: what the agents' briefs become",
        "",
        f"Compared with {escape.code(impact.base)} ({impact.base_commit[:12]}): "
        f"{len(impact.pages_changed)} page file(s) changed; "
        f"{len(changed)} of {len(impact.tasks)} task brief(s) change.",
    ]
    if impact.pages_changed:
        shown = ", ".join(f"{escape.code(p)}" for p in impact.pages_changed[:MAX_PAGES_LISTED])
        more = len(impact.pages_changed) - MAX_PAGES_LISTED
        head += ["", f"Pages: {shown}" + (f" and {more} more" if more > 0 else "")]
    if impact.search_mode:
        mode = "full-text" if impact.search_mode == "fts" else impact.search_mode
        head += ["", f"_Search: {mode}. Reproduce it: {escape.code(command)}._"]
    if changed:
        head += ["", "| task | rules | what changed | tokens |", "|---|---|---|---|"]
        head += [
            f"| {escape.text(t.name)} | {_rules(t)} | {escape.cell(_summary(t))} | {_tokens(t)} |"
            for t in changed
        ]
    if unchanged:
        names = ", ".join(escape.text(t.name) for t in unchanged)
        head += ["", f"Unchanged ({len(unchanged)}): {names}."]
    top = "\n".join(head)
    diffs = [True] * len(changed)
    shown = [True] * len(changed)

    def assemble() -> str:
        parts = [top]
        parts += [
            _details(t, diffs[i], command) for i, t in enumerate(changed) if shown[i]
        ]  # fmt: skip
        no_diff = [t.name for i, t in enumerate(changed) if shown[i] and not diffs[i]]
        hidden = [t.name for i, t in enumerate(changed) if not shown[i]]
        notes = []
        if no_diff:
            notes.append(f"the Markdown diffs of {len(no_diff)} task(s) ({', '.join(no_diff)})")
        if hidden:
            notes.append(f"the details of {len(hidden)} task(s) ({', '.join(hidden)})")
        if notes:
            parts.append(
                f"_Left out to stay under GitHub's comment limit: {'; '.join(notes)}. "
                f"{escape.code(command)} shows everything._"
            )
        return "\n\n".join(parts) + "\n"

    text = assemble()
    if limit is None:
        return text
    for flags in (diffs, shown):  # diffs first, then whole details, from the last task up
        for i in reversed(range(len(changed))):
            if len(text) <= limit:
                return text
            flags[i] = False
            text = assemble()
    if len(text) > limit:  # the table alone is too long: cut it at a line, saying so
        note = f"\n\n_(cut at GitHub's comment limit; {escape.code(command)} shows everything)_\n"
        text = text[: limit - len(note)]
        text = text[: text.rfind("\n")] + note
    return text
