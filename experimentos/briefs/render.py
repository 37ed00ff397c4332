"""Markdown for briefs: blocks built here, entries from a Jinja2 template.

The Markdown is a list of blocks joined by blank lines; every line is built by one function
here, and the budget (budget.py) counts the same strings. Whitespace separates every piece,
and neither the WordPiece tokenizer nor the heuristic merges across it, so the tokens of the
brief are the sum of the tokens of its lines.

Everything a page, a manifest or the request says goes through escape.inline or escape.quote
first: page text is data and can never open a heading, list item, fence or section here.
"""

from __future__ import annotations

import functools
from pathlib import Path

from experimentos.briefs.models import (
    Brief,
    BriefEntry,
    BriefRequest,
    Conflict,
    Cut,
    KnowledgeWarning,
    Layout,
    MissingDependency,
    NotLoaded,
    StaleWarning,
)
from experimentos.index.tokens import count_tokens
from experimentos.markdown.raw import inline, quote
from experimentos.repofacts.facts import LocalVersion

_TEMPLATES = Path(__file__).parent / "templates"
LIST_LIMIT = 5  # other pages left out, and excluded pages, with a line each (all in --json)
DIGEST_TOKENS = 16  # of the task, in the title line (the JSON holds the whole task)
NOTICE_CHARS = 300
SCOPE_VALUES = 5  # libraries or files named in the scope line
SECTIONS = (
    ("decision_capable", "Decision rules: act on these"),
    ("conflict", "Conflicting rules: neither is a rule until the conflict is resolved"),
    ("domain_context", "Domain context: reviewed background"),
    ("evidence_only", "Evidence only: verify locally before acting"),
)
HEADINGS = {
    **dict(SECTIONS),
    "warnings": "Knowledge warnings",
    "stale": "Stale",
    "missing": "Missing dependencies",
    "not_loaded": "Not loaded: beyond --depth",
    "cut": "Left out for the budget",
}
FACTS_HEADING = "## Local facts"
GUIDANCE = (
    "Act on the decision rules (reviewed); domain context is reviewed background; verify "
    "evidence locally before you act on it."
)
# The completion contract, compact (the JSON's completion_contract holds it in full).
CONTRACT = (
    "## Before you finish",
    "Report: versions checked, rules applied (or why not), files edited, the exact test "
    "command and its result.",
    "Never claim: tests pass unless run after your last edit; evidence holds here unless "
    "reproduced; an upgrade is needed unless a rule or a reproduction shows it.",
)
NO_REPO = "No repository was given, so no versions were read."
NO_DEPENDENCIES = "The root manifests declare no dependencies."
TRUNCATED = "truncated"


@functools.cache
def environment():  # noqa: ANN201 - jinja2.Environment, imported lazily
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        auto_reload=False,  # the templates ship with the package: no stat per render
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown for agents, not HTML: escape.inline / quote do the work
    )
    env.filters["inline"] = inline
    env.filters["quote"] = quote
    env.filters["items"] = items
    return env


def items(values: list[str]) -> list[str]:
    """List values of a page as lines of data, those with nothing left to show dropped: an
    empty item ("- ") under a label would underline it into a heading."""
    return [text for text in map(inline, values) if text]


def entry_block(entry: BriefEntry, explain: bool = False) -> str:
    """One page as the brief shows it (its form decides how much). The block without the
    reasons is kept on the entry when it was made (entries.make_entry)."""
    if not explain and entry._block is not None:
        return entry._block
    template = environment().get_template("entry.md.j2")
    return template.render(entry=entry, explain=explain).strip()


def section_of(entry: BriefEntry) -> str:
    """The section an entry is shown in (conflicting rules have their own)."""
    return "conflict" if entry.conflict_with else entry.boundary


def heading_line(section: str) -> str:
    return f"## {HEADINGS[section]}"


# --- the header ---------------------------------------------------------------------------------


def digest(task: str, limit: int = DIGEST_TOKENS) -> str:
    """The task's first words, up to `limit` tokens (a word too long is cut), then "…"."""
    words = task.split()
    out: list[str] = []
    used = 0
    for word in words:
        cost = count_tokens(word)
        if used + cost > limit:
            if not out:  # one enormous word: as many characters as fit
                while word and count_tokens(word) > limit - 1:
                    word = word[: len(word) // 2]
                out.append(word)
            return " ".join(out) + " …"
        out.append(word)
        used += cost
    return " ".join(out)


def title_line(request: BriefRequest) -> str:
    return f"# Work brief: {digest(inline(request.task))}"


def status_line(brief_id: str, budget: int, show_id: bool, truncated: bool) -> str:
    parts = [f"`{brief_id}`"] if show_id else []
    parts.append(f"budget {budget} tokens")
    if truncated:
        parts.append(TRUNCATED)
    line = " · ".join(parts)
    return line[0].upper() + line[1:]


def scope_line(req: BriefRequest) -> str:
    """The request's scope (the repository's path is not shown: the agent knows where it
    works, and a brief must not change with the directory it was compiled in)."""

    def value(text: str) -> str:
        text = inline(text)
        return text if len(text) <= 60 else text[:59] + "…"

    def some(values: list[str]) -> str:
        shown = ", ".join(value(v) for v in values[:SCOPE_VALUES])
        return shown + (" …" if len(values) > SCOPE_VALUES else "")

    parts = []
    for key in ("agent", "model", "toolchain", "repo_type"):
        if getattr(req, key):
            parts.append(f"{key} {value(getattr(req, key))}")
    if req.libraries:
        parts.append("libraries " + some(req.libraries))
    if req.files:
        parts.append("files " + some(req.files))
    return f"Request: {' · '.join(parts)}" if parts else ""


def notice_line(notice: str) -> str:
    text = inline(notice)
    if len(text) > NOTICE_CHARS:
        text = text[: NOTICE_CHARS - 1] + "…"
    return f"Note: {text}" if text else ""


# --- local facts --------------------------------------------------------------------------------


def version_line(v: LocalVersion, named: bool) -> str:
    """`- name version (npm, declared spec; source)`: the locked version and the specifier the
    manifest declares."""
    version = f" {inline(v.locked)}" if v.locked else " (not locked)"
    declared = f", declared `{inline(v.declared).replace('`', '')}`" if v.declared else ""
    kind = "" if v.direct else ", not declared: lockfile only"
    return f"- {inline(v.name)}{version} ({v.ecosystem}{declared}{kind}; {inline(v.source)})" + (
        " · named in the request" if named else ""
    )


def unknown_line(name: str) -> str:
    return (
        f"- {inline(name)}: named in the request but not declared by the root manifests: "
        "unknown (vendored, or installed another way?); pages about it are kept with a note"
    )


def hidden_versions_line(hidden: int, total: int) -> str:
    if hidden == total:
        return f"- {total} dependencies (local_versions in --json)"
    return f"- … and {hidden} more (local_versions in --json)"


def problem_line(path: str, message: str) -> str:
    return f"- problem: `{inline(path).replace('`', '')}`: {inline(message)}"


def split_versions(brief: Brief) -> tuple[list[tuple[LocalVersion, bool]], list[LocalVersion]]:
    """(the versions a brief names first: named libraries, lockfile entries pages name; the
    other direct dependencies)."""
    named = {n.lower() for n in brief.named_libraries}
    first, rest = [], []
    for v in brief.local_versions.values():
        if v.name.lower() in named or not v.direct:
            first.append((v, v.name.lower() in named))
        else:
            rest.append(v)
    return first, rest


def fact_lines(brief: Brief) -> tuple[list[str], list[str]]:
    """(the lines a brief shows first: versions of named libraries and lockfile entries pages
    name, then named libraries nobody declares; the versions of the other direct
    dependencies)."""
    first, rest = split_versions(brief)
    named = [version_line(v, is_named) for v, is_named in first]
    named += [unknown_line(name) for name in brief.unknown_libraries]
    return named, [version_line(v, False) for v in rest]


def facts_lines(brief: Brief, layout: Layout) -> list[str]:
    """The Local facts section: named versions and unknown libraries, then other direct
    dependencies, as far as the layout shows them; then what was read."""
    if not brief.request.repo:
        return [FACTS_HEADING, NO_REPO]
    named, others = fact_lines(brief)
    n_named = len(named) if layout.versions_named < 0 else min(layout.versions_named, len(named))
    n_others = 0
    if n_named == len(named):
        n_others = (
            len(others) if layout.versions_other < 0 else min(layout.versions_other, len(others))
        )
    lines = [FACTS_HEADING, *named[:n_named], *others[:n_others]]
    total, shown = len(named) + len(others), n_named + n_others
    if shown < total:
        lines.append(hidden_versions_line(total - shown, total))
    elif not total:
        lines.append(NO_DEPENDENCIES)
    if layout.facts_extra:
        if brief.manifests:
            lines.append("Read: " + ", ".join(inline(m) for m in brief.manifests))
        lines += [problem_line(p.path, p.message) for p in brief.manifest_problems]
    return lines


# --- lists --------------------------------------------------------------------------------------


def conflict_line(c: Conflict) -> str:
    return (
        f"- {inline(c.reason)}: apply neither until a reviewer resolves it; say so in your report"
    )


def warning_line(w: KnowledgeWarning) -> str:
    return f"- {w.id} [{w.code}]: {inline(w.message)}"


def warning_codes(warnings: list[KnowledgeWarning]) -> dict[str, list[str]]:
    """Warning ids by code, codes in the order they first appear, each id once."""
    out: dict[str, list[str]] = {}
    for w in warnings:
        ids = out.setdefault(w.code, [])
        if w.id not in ids:
            ids.append(w.id)
    return out


def warning_count_line(codes: dict[str, list[str]]) -> str:
    counts = ", ".join(f"{len(ids)} {code}" for code, ids in codes.items())
    return f"- {counts} (see --json)"


def warning_code_line(code: str, ids: list[str], shown: int) -> str:
    """`- code (n): a, b, … and k more (see --json)`; shown = how many ids (-1: all)."""
    shown = len(ids) if shown < 0 else min(shown, len(ids))
    listed = ", ".join(ids[:shown])
    more = len(ids) - shown
    if not listed:
        return f"- {code} ({len(ids)}): see --json"
    tail = f", … and {more} more (see --json)" if more else ""
    return f"- {code} ({len(ids)}): {listed}{tail}"


MESSAGES_SKIPPED = ("review-missing", "review-incomplete")  # the pages' notes say why


def warning_lines(warnings: list[KnowledgeWarning], layout: Layout) -> list[str]:
    if not warnings:
        return []
    codes = warning_codes(warnings)
    lines = [heading_line("warnings")]
    if layout.warnings_tier <= 0:
        return [*lines, warning_count_line(codes)]
    lines += [warning_code_line(code, ids, layout.warning_ids) for code, ids in codes.items()]
    if layout.warnings_tier >= 2:
        lines += [warning_line(w) for w in warnings if w.code not in MESSAGES_SKIPPED]
    return lines


def stale_line(w: StaleWarning) -> str:
    return f"- {w.id}: {inline(w.reason)}"


def missing_line(m: MissingDependency) -> str:
    return f"- {m.source} depends on {m.target}, which does not exist"


def not_loaded_line(n: NotLoaded) -> str:
    return (
        f"- {n.id} (dependsOn of {n.required_by}) was not loaded: it lies beyond --depth "
        f"{n.depth}; read it with get_page before relying on {n.required_by}"
    )


def cut_line(c: Cut) -> str:
    return f"- {c.id}: {inline(c.reason)}"


RULES_CUT = "- rules left out, by id (get_page):"


def rules_cut_tail(more: int) -> str:
    return f"… and {more} more (see --json)"


def rules_cut_line(ids: list[str], more: int) -> str:
    """The decision rules the budget left out, by id, on one line; those beyond the budget
    counted in a tail (its tokens: the prefix, each id and its comma, and the tail)."""
    if not ids:
        return f"- {more} rules left out (see --json)"
    tail = f", {rules_cut_tail(more)}" if more else ""
    return f"{RULES_CUT} {', '.join(ids)}{tail}"


def cut_more_line(n: int, alone: bool = False) -> str:
    """How many other pages were left out without a line of their own (`alone`: nothing else
    is named in the list)."""
    return f"- {n} other pages (see --json)" if alone else f"- … and {n} more pages (see --json)"


def cut_lines(brief: Brief, layout: Layout) -> list[str]:
    """The "left out" list: the rules by id first (every one, unless even their ids overflow
    the budget), then other pages with a reason (only when every rule id is listed), then how
    many more."""
    rules = [c.id for c in brief.cut if c.rule]
    others = [c for c in brief.cut if not c.rule]
    if not rules and not others and not brief.cut_omitted:
        return []
    lines = [heading_line("cut")]
    listed = len(rules) if layout.rules_listed < 0 else min(layout.rules_listed, len(rules))
    if rules:
        lines.append(rules_cut_line(rules[:listed], len(rules) - listed))
    shown = 0
    if listed == len(rules):
        limit = LIST_LIMIT if layout.others_listed < 0 else layout.others_listed
        shown = min(limit, LIST_LIMIT, len(others))
    lines += [cut_line(c) for c in others[:shown]]
    more = len(others) - shown + brief.cut_omitted
    if more > 0:
        lines.append(cut_more_line(more, alone=len(lines) == 1))
    return lines


def excluded_lines(brief: Brief) -> list[str]:
    """For --explain (outside the budget): excluded candidates and why."""
    if not brief.excluded:
        return []
    lines = ["## Excluded"]
    lines += [
        f"- {x.id}: {'; '.join(inline(r) for r in x.reasons)}" for x in brief.excluded[:LIST_LIMIT]
    ]
    if len(brief.excluded) > LIST_LIMIT:
        lines.append(f"- … and {len(brief.excluded) - LIST_LIMIT} more (see --json)")
    return lines


# --- the whole brief ----------------------------------------------------------------------------


def header_blocks(brief: Brief, layout: Layout) -> list[str]:
    req = brief.request
    out = [
        title_line(req),
        status_line(brief.brief_id, req.budget, layout.show_id, brief.truncated),
    ]
    if layout.guidance:
        out.append(GUIDANCE)
    if layout.scope and (line := scope_line(req)):
        out.append(line)
    if layout.notice and (line := notice_line(brief.notice)):
        out.append(line)
    return out


def blocks(brief: Brief, explain: bool = False) -> list[str]:
    """The brief's Markdown blocks, in order (joined by blank lines)."""
    layout = brief._layout or Layout()
    out = header_blocks(brief, layout)
    out.append("\n".join(facts_lines(brief, layout)))
    for key, _heading in SECTIONS:
        entries = [e for e in brief.entries if section_of(e) == key]
        if not entries:
            continue
        out.append(heading_line(key))
        if key == "conflict" and brief.conflicts:
            out.append("\n".join(conflict_line(c) for c in brief.conflicts))
        out += [entry_block(e, explain) for e in entries]
    for lines in (
        warning_lines(brief.warnings, layout),
        [heading_line("stale"), *map(stale_line, brief.stale_warnings)],
        [heading_line("missing"), *map(missing_line, brief.missing)],
        [heading_line("not_loaded"), *map(not_loaded_line, brief.not_loaded)],
        cut_lines(brief, layout),
        excluded_lines(brief) if explain else [],
    ):
        if len(lines) > 1:
            out.append("\n".join(lines))
    out.append("\n".join(CONTRACT))
    return out


def render_brief(brief: Brief, explain: bool = False) -> str:
    """The brief as Markdown (`explain` adds why each page was chosen or excluded; that text
    is for people and is not counted against the budget)."""
    if not explain and brief._markdown is not None:
        return brief._markdown  # what the compiler counted; a brief is not changed after
    return "\n\n".join(blocks(brief, explain)) + "\n"


def brief_file(brief: Brief) -> str:
    """`briefs/<brief-id>.md`: a small frontmatter (what it was compiled from) + the Markdown."""
    from experimentos.store.yamlio import dump_yaml

    meta = {
        "id": brief.brief_id,
        "task": brief.request.task,
        "request": brief.request.model_dump(mode="json", exclude_defaults=True, exclude={"task"}),
        "knowledgeHash": brief.knowledge_hash,
        "loadOrder": [e.id for e in brief.entries],
        "tokenEstimate": brief.token_estimate,
        "truncated": brief.truncated,
    }
    if not meta["request"]:
        del meta["request"]
    return f"---\n{dump_yaml(meta)}---\n\n{render_brief(brief)}"


def write_brief(workspace, brief: Brief) -> str:  # noqa: ANN001 - Workspace
    """Write the brief under briefs/ (idempotent: the id is a hash of what it says).
    Returns the root-relative path."""
    from experimentos.store.documents import checksum
    from experimentos.store.files import atomic_write, safe_target
    from experimentos.store.safe import read_regular

    rel = f"briefs/{brief.brief_id}.md"
    data = brief_file(brief).encode("utf-8")
    target = safe_target(workspace.root, rel)
    if target.exists():
        current = read_regular(workspace.root, rel)  # never blocks on a FIFO in its place
        if current == data:
            return rel
        atomic_write(workspace.root, rel, data, expected=checksum(current))
    else:
        atomic_write(workspace.root, rel, data, expected=None)
    return rel
