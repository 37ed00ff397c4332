"""Markdown for briefs, from Jinja2 templates that receive a context built here."""

from __future__ import annotations

import functools
from pathlib import Path

from experimentos.briefs.models import MUST_REPORT, Brief, BriefEntry, BriefRequest
from experimentos.repofacts.facts import LocalFacts, LocalVersion

_TEMPLATES = Path(__file__).parent / "templates"
LIST_LIMIT = 5  # cut and excluded pages shown in the Markdown (all of them are in --json)
SECTIONS = (
    ("decision_capable", "Decision rules: act on these"),
    ("domain_context", "Domain context: reviewed background"),
    ("evidence_only", "Evidence only: verify locally before acting"),
)


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


def _scope(req: BriefRequest) -> list[str]:
    parts = []
    if req.repo:
        parts.append(f"repo {req.repo}")
    for key in ("agent", "model", "toolchain", "repo_type"):
        if getattr(req, key):
            parts.append(f"{key} {getattr(req, key)}")
    if req.libraries:
        parts.append("libraries " + ", ".join(req.libraries))
    if req.files:
        parts.append("files " + ", ".join(req.files[:5]) + (" …" if len(req.files) > 5 else ""))
    return parts


def _context(brief: Brief, explain: bool) -> dict:
    return {
        "request": brief.request,
        "brief_id": brief.brief_id,
        "entries": brief.entries,
        "token_estimate": brief.token_estimate,
        "truncated": brief.truncated,
        "scope": _scope(brief.request),
        "notice": brief.notice,
        "repo": brief.request.repo,
        "local_versions": brief.local_versions,
        "manifests": brief.manifests,
        "manifest_problems": brief.manifest_problems,
        "sections": [
            {"heading": heading, "entries": brief.by_boundary(key)}
            for key, heading in SECTIONS
            if brief.by_boundary(key)
        ],
        "entry_block": lambda entry: entry_block(entry, explain),
        "stale_warnings": brief.stale_warnings,
        "missing": brief.missing,
        "cut": brief.cut[:LIST_LIMIT],
        "cut_more": max(len(brief.cut) - LIST_LIMIT, 0),
        "excluded": brief.excluded[:LIST_LIMIT],
        "excluded_more": max(len(brief.excluded) - LIST_LIMIT, 0),
        "explain": explain,
        "must_report": MUST_REPORT,
        "must_not_claim": brief.agent_work_context()["completion_contract"]["must_not_claim"],
    }


def render_brief(brief: Brief, explain: bool = False) -> str:
    """The brief as Markdown."""
    return environment().get_template("brief.md.j2").render(**_context(brief, explain))


def overhead_block(
    req: BriefRequest, local_versions: dict[str, LocalVersion], local: LocalFacts | None
) -> str:
    """The parts of a brief that do not depend on which pages are in it."""
    empty = Brief(
        brief_id="brief.0000000000000000",
        request=req,
        knowledge_hash="",
        search_mode="",
        local_versions=local_versions,
        manifests=list(local.manifests) if local else [],
        manifest_problems=list(local.problems) if local else [],
        tokenizer="",
    )
    return render_brief(empty)


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
