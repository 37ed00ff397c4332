"""Markdown for briefs, from Jinja2 templates that receive a context built here.

The budget covers the whole Markdown, so the compiler counts what this module renders: every
line of a list is built by one function here (the compiler counts the same strings), and the
blocks are separated by whitespace, which the WordPiece tokenizer never merges across, so the
tokens of the brief are the sum of the tokens of its parts.
"""

from __future__ import annotations

import functools
from pathlib import Path

from experimentos.briefs.models import (
    MUST_NOT_CLAIM,
    MUST_REPORT,
    Brief,
    BriefEntry,
    BriefRequest,
    Conflict,
    Cut,
    KnowledgeWarning,
    MissingDependency,
    NotLoaded,
    StaleWarning,
)
from experimentos.repofacts.facts import LocalVersion

_TEMPLATES = Path(__file__).parent / "templates"
LIST_LIMIT = 5  # cut (other than rules) and excluded pages shown in the Markdown (all in --json)
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


@functools.cache
def environment():  # noqa: ANN201 - jinja2.Environment, imported lazily
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown for agents, not HTML
    )


def entry_block(entry: BriefEntry, explain: bool = False) -> str:
    """One page as the brief shows it."""
    return environment().get_template("entry.md.j2").render(entry=entry, explain=explain).strip()


def section_of(entry: BriefEntry) -> str:
    """The section an entry is shown in (conflicting rules have their own)."""
    return "conflict" if entry.conflict_with else entry.boundary


# --- the lines of the lists (the compiler counts these same strings) ----------------------------


def heading_line(section: str) -> str:
    return f"## {HEADINGS[section]}"


def version_line(v: LocalVersion, named: bool) -> str:
    """`- name version (npm, declared spec; source)`: the locked version and the specifier the
    manifest declares."""
    version = f" {v.locked}" if v.locked else " (not locked)"
    declared = f", declared `{v.declared}`" if v.declared else ""
    kind = "" if v.direct else ", not declared: lockfile only"
    return f"- {v.name}{version} ({v.ecosystem}{declared}{kind}; {v.source})" + (
        " · named in the request" if named else ""
    )


def unknown_line(name: str) -> str:
    return (
        f"- {name}: named in the request but not declared by the root manifests: unknown "
        "(vendored, or installed another way?); pages about it are kept with a note"
    )


def more_versions_line(n: int) -> str:
    return f"- … and {n} more direct dependencies (local_versions in --json)"


def conflict_line(c: Conflict) -> str:
    return f"- {c.reason}: apply neither until a reviewer resolves it; say so in your report"


def warning_line(w: KnowledgeWarning) -> str:
    return f"- {w.id} [{w.code}]: {w.message}"


def stale_line(w: StaleWarning) -> str:
    return f"- {w.id}: {w.reason}"


def missing_line(m: MissingDependency) -> str:
    return f"- {m.source} depends on {m.target}, which does not exist"


def not_loaded_line(n: NotLoaded) -> str:
    return (
        f"- {n.id} (dependsOn of {n.required_by}) was not loaded: it lies beyond --depth "
        f"{n.depth}; read it with get_page before relying on {n.required_by}"
    )


def cut_line(c: Cut) -> str:
    return f"- {c.id}: {c.reason}"


RULES_CUT = "- rules that did not fit, by id (read them with get_page):"


def rules_cut_line(ids: list[str], more: int) -> str:
    """Every decision rule the budget left out, on one line (its tokens: the prefix, each id
    and its comma, and the tail when some are only counted)."""
    tail = f", … and {more} more (see --json)" if more else ""
    return f"{RULES_CUT} {', '.join(ids)}{tail}"


def cut_more_line(n: int) -> str:
    return f"- … and {n} more (see --json)"


def evidence_claim_line(entry_id: str) -> str:
    return f"- that {entry_id} holds here without verifying it locally"


def contract_line(text: str) -> str:
    return f"- {text}"


def cut_lines(brief: Brief) -> list[str]:
    """The "left out" list: the rules by id (all of them unless even their ids do not fit the
    budget), then up to LIST_LIMIT other pages with the reason, then how many more."""
    rules = [c.id for c in brief.cut if c.rule]
    others = [c for c in brief.cut if not c.rule]
    lines = []
    if rules:
        shown = len(rules) if brief.rules_listed < 0 else brief.rules_listed
        lines.append(rules_cut_line(rules[:shown], len(rules) - shown))
    lines += [cut_line(c) for c in others[:LIST_LIMIT]]
    more = max(len(others) - LIST_LIMIT, 0) + brief.cut_omitted
    return lines + [cut_more_line(more)] * (more > 0)


# --- the whole brief ------------------------------------------------------------------------


def _scope(req: BriefRequest) -> list[str]:
    parts = []
    if req.repo:  # its name: the agent knows where it works, and paths cost tokens
        parts.append(f"repo {Path(req.repo).name or req.repo}")
    for key in ("agent", "model", "toolchain", "repo_type"):
        if getattr(req, key):
            parts.append(f"{key} {getattr(req, key)}")
    if req.libraries:
        parts.append("libraries " + ", ".join(req.libraries))
    if req.files:
        parts.append("files " + ", ".join(req.files[:5]) + (" …" if len(req.files) > 5 else ""))
    return parts


def version_lines(brief: Brief, limit: int | None = None) -> list[str]:
    """Local facts: libraries the brief names first, then the other direct dependencies (up to
    `limit` of them when given), then named libraries nobody declares."""
    named = {n.lower() for n in brief.named_libraries}
    relevant = [v for v in brief.local_versions.values() if v.name.lower() in named or not v.direct]
    others = [v for v in brief.local_versions.values() if v not in relevant]
    shown = others if limit is None else others[:limit]
    lines = [version_line(v, v.name.lower() in named) for v in relevant]
    lines += [version_line(v, False) for v in shown]
    if len(shown) < len(others):
        lines.append(more_versions_line(len(others) - len(shown)))
    lines += [unknown_line(name) for name in brief.unknown_libraries]
    return lines


def _context(brief: Brief, explain: bool, versions_limit: int | None) -> dict:
    sections = []
    for key, _heading in SECTIONS:
        entries = [e for e in brief.entries if section_of(e) == key]
        if entries:
            sections.append(
                {
                    "heading": heading_line(key),
                    "lines": [conflict_line(c) for c in brief.conflicts]
                    if key == "conflict"
                    else [],
                    "entries": entries,
                }
            )
    evidence = brief.by_boundary("evidence_only")
    return {
        "request": brief.request,
        "brief_id": brief.brief_id,
        "entries": brief.entries,
        "token_estimate": brief.token_estimate,
        "truncated": brief.truncated,
        "scope": _scope(brief.request),
        "notice": brief.notice,
        "repo": brief.request.repo,
        "version_lines": version_lines(brief, versions_limit),
        "manifests": brief.manifests,
        "manifest_problems": brief.manifest_problems,
        "sections": sections,
        "entry_block": lambda entry: entry_block(entry, explain),
        "lists": [
            (heading_line(key), lines)
            for key, lines in (
                ("warnings", [warning_line(w) for w in brief.warnings]),
                ("stale", [stale_line(w) for w in brief.stale_warnings]),
                ("missing", [missing_line(m) for m in brief.missing]),
                ("not_loaded", [not_loaded_line(n) for n in brief.not_loaded]),
                ("cut", cut_lines(brief)),
            )
            if lines
        ],
        "excluded": brief.excluded[:LIST_LIMIT] if explain else [],
        "excluded_more": max(len(brief.excluded) - LIST_LIMIT, 0),
        "must_report": [contract_line(t) for t in MUST_REPORT],
        "must_not_claim": [contract_line(t) for t in MUST_NOT_CLAIM]
        + [evidence_claim_line(e.id) for e in evidence],
    }


def render_brief(brief: Brief, explain: bool = False) -> str:
    """The brief as Markdown (`explain` adds why each page was chosen or excluded; that text
    is for people and is not counted against the budget)."""
    if not explain and brief._markdown is not None:
        return brief._markdown  # what the compiler counted; a brief is not changed after
    limit = brief.versions_shown if brief.versions_shown >= 0 else None
    return environment().get_template("brief.md.j2").render(**_context(brief, explain, limit))


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
