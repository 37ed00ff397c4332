"""CLI for the knowledge base: init, check, page, graph, schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import (
    EXIT_PROBLEMS,
    Group,
    JsonFlag,
    emit_json,
    plural,
    state,
    want_json,
)

page_app = typer.Typer(cls=Group, help="Create, show, list and review knowledge pages.")
graph_app = typer.Typer(cls=Group, help="Walk the knowledge graph (dependsOn edges).")
schema_app = typer.Typer(cls=Group, help="JSON Schemas generated from the models.")

Depth = Annotated[
    int | None, typer.Option("--depth", min=0, help="Hops to follow (default: no limit).")
]


ProposeFlag = Annotated[
    bool,
    typer.Option(
        "--propose",
        help="Commit the change on a new xos/ branch instead (your working tree is untouched).",
    ),
]
WhyOption = Annotated[str, typer.Option("--why", help="With --propose: why (in the commit).")]
OntoOption = Annotated[
    str | None,
    typer.Option(
        "--onto", metavar="BRANCH", help="With --propose: the branch the proposal targets."
    ),
]
WorkingTreeOption = Annotated[
    bool,
    typer.Option(
        "--working-tree",
        help="With --propose: propose the page as it is in your working tree (uncommitted "
        "edits included).",
    ),
]


def _show_proposal(proposal, as_json: bool) -> None:  # noqa: ANN001 - Proposal, lazily imported
    from experimentos.cli.proposals import print_proposal

    if as_json:
        emit_json(proposal.model_dump(mode="json"))
    else:
        print_proposal(proposal)


def page_json(page, path: str | None = None) -> dict:  # noqa: ANN001 - Page, imported lazily
    data = page.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"body"})
    for key in ("id", "type", "title", "status", "confidence", "summary"):
        data.setdefault(key, getattr(page, key))
    if path:
        data["path"] = path
    data["body"] = page.body
    return data


def init(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(help="Directory to initialise (default: --root or cwd).")
    ] = None,
    commit: Annotated[
        bool,
        typer.Option(
            "--commit",
            help="Commit the layout (after `git init` if needed): proposals branch from a commit.",
        ),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Create the knowledge layout (wiki/, policies/, experiments/, …) in a directory."""
    from experimentos.store.scaffold import commit_layout, git_state, init_workspace

    as_json = want_json(ctx, json_out)
    root = (path or state(ctx).root or Path.cwd()).resolve()
    created = init_workspace(root)
    committed = commit_layout(root) if commit else None
    repo = git_state(root)
    if as_json:
        emit_json({"root": str(root), "created": created, "commit": committed, "git": repo})
        return
    if created:
        typer.echo(f"Initialised {root}")
        for item in created:
            typer.echo(f"  created {item}")
    else:
        typer.echo(f"{root} is already initialised")
    if committed:
        typer.echo(f"committed the layout ({committed[:12]})")
    elif commit:
        typer.echo("the layout is already committed")
    elif repo == "none":
        typer.echo(
            "note: not a git repository yet; run `git init` to track the knowledge base "
            "(or `experimentos init --commit`)"
        )
    elif repo == "no-commits":
        typer.echo(
            "note: the repository has no commits yet; `--propose` branches from a commit, so "
            "commit the knowledge base (or run `experimentos init --commit`)"
        )


def check(
    ctx: typer.Context,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    stale: Annotated[
        bool,
        typer.Option(
            "--stale", help="Also report stale citations, dependencies and sources (see doctor)."
        ),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Validate every page and edge; exit 1 when problems are found."""
    from experimentos.knowledge.check import check as run_check

    as_json = want_json(ctx, json_out)
    report = run_check(state(ctx).workspace())
    if stale:
        from experimentos.lifecycle.health import doctor as run_doctor

        health = run_doctor(state(ctx).workspace(), duplicates=False)
        report.problems.extend(health.problems(stale_only=True))
    if as_json:
        emit_json(report.to_dict())
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        typer.echo(
            f"{plural(report.pages, 'page')}, {plural(len(report.errors), 'error')}, "
            f"{plural(len(report.warnings), 'warning')}"
        )
    if report.failed(strict):
        raise typer.Exit(EXIT_PROBLEMS)


@page_app.command("new")
def page_new(
    ctx: typer.Context,
    page_type: Annotated[
        str,
        typer.Argument(
            metavar="TYPE",
            help="source, claim, knowledge_card, failure, intervention or policy.",
        ),
    ],
    slug: Annotated[str, typer.Argument(help="Lowercase slug, e.g. keep-pinned-versions.")],
    title: Annotated[str, typer.Option("--title", help="Page title.")],
    summary: Annotated[str, typer.Option("--summary", help="One or two sentences.")] = "",
    depends_on: Annotated[
        list[str] | None,
        typer.Option(
            "--depends-on", help="A page it rests on, a dependsOn edge (repeat, or comma-separate)."
        ),
    ] = None,
    rule: Annotated[
        str,
        typer.Option(
            "--rule",
            help="policy and intervention: what an agent must do (## Rule, ## What to do).",
        ),
    ] = "",
    propose: ProposeFlag = False,
    why: WhyOption = "",
    onto: OntoOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Create a draft page with the conventional sections of its type."""
    as_json = want_json(ctx, json_out)
    deps = [part for item in depends_on or [] for part in item.split(",")]
    if propose:
        from experimentos.proposals import propose_new_page

        proposal = propose_new_page(
            state(ctx).workspace(),
            page_type,
            slug,
            title,
            summary,
            depends_on=deps,
            why=why,
            base=onto,
            rule=rule,
        )
        _show_proposal(proposal, as_json)
        return
    from experimentos.knowledge.pages import new_page

    doc = new_page(state(ctx).workspace(), page_type, slug, title, summary, deps, rule)
    if as_json:
        emit_json(page_json(doc.page, doc.path))
    else:
        typer.echo(f"created {doc.path} ({doc.id}, draft)")


@page_app.command("show")
def page_show(
    ctx: typer.Context,
    page_id: Annotated[str, typer.Argument(metavar="ID", help="Page id, e.g. policy.keep-pins.")],
    json_out: JsonFlag = False,
) -> None:
    """Print a page (the file itself, or JSON)."""
    as_json = want_json(ctx, json_out)
    doc = state(ctx).workspace().read(page_id)
    if as_json:
        emit_json(page_json(doc.page, doc.path))
    else:
        typer.echo(doc.raw.decode("utf-8"), nl=False)


@page_app.command("list")
def page_list(
    ctx: typer.Context,
    page_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """List pages, optionally filtered by type and status."""
    from experimentos.knowledge.pages import list_pages

    as_json = want_json(ctx, json_out)
    pages = list_pages(state(ctx).workspace(), page_type, status)
    if as_json:
        emit_json(
            [
                {
                    "id": p.id,
                    "type": p.type.value,
                    "status": p.status.value,
                    "confidence": p.confidence.value,
                    "title": p.title,
                }
                for p in pages
            ]
        )
        return
    width = max((len(p.id) for p in pages), default=0)
    for p in pages:
        typer.echo(f"{p.id:<{width}}  {p.status.value:<10}  {p.confidence.value:<6}  {p.title}")
    typer.echo(plural(len(pages), "page"), err=True)


@page_app.command("set-status")
def page_set_status(
    ctx: typer.Context,
    page_id: Annotated[str, typer.Argument(metavar="ID", help="Page id.")],
    status: Annotated[
        str,
        typer.Argument(
            metavar="STATUS", help="draft, accepted, rejected, deprecated or superseded."
        ),
    ],
    rationale: Annotated[str, typer.Option("--rationale", help="Why (recorded in review).")] = "",
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", help="Evidence id (repeat, or comma-separate)."),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Default: git user.name.")
    ] = None,
    propose: ProposeFlag = False,
    why: WhyOption = "",
    onto: OntoOption = None,
    working_tree: WorkingTreeOption = False,
    json_out: JsonFlag = False,
) -> None:
    """Change a page's status; accepting a policy/intervention needs rationale and evidence."""
    as_json = want_json(ctx, json_out)
    ids = [part for item in evidence or [] for part in item.split(",")]
    if propose:
        from experimentos.proposals import propose_status

        proposal = propose_status(
            state(ctx).workspace(),
            page_id,
            status,
            rationale,
            ids,
            reviewer,
            why=why,
            base=onto,
            working_tree=working_tree,
        )
        _show_proposal(proposal, as_json)
        return
    from experimentos.knowledge.pages import set_status

    doc = set_status(state(ctx).workspace(), page_id, status, rationale, ids, reviewer)
    if as_json:
        emit_json(page_json(doc.page, doc.path))
    else:
        typer.echo(f"{doc.id} is now {doc.page.status.value}")


def _closure_rows(graph, nodes) -> list[dict]:  # noqa: ANN001
    rows = []
    for node in nodes:
        page = graph.pages.get(node.id)
        rows.append(
            {
                "id": node.id,
                "depth": node.depth,
                "via": node.via,
                "type": page.type.value if page else None,
                "status": page.status.value if page else None,
                "title": page.title if page else None,
            }
        )
    return rows


def _print_tree(rows: list[dict]) -> None:
    children: dict[str | None, list[dict]] = {}
    for row in rows:
        children.setdefault(row["via"], []).append(row)

    def walk(parent: str | None, indent: int) -> None:
        for row in children.get(parent, []):
            typer.echo(f"{'  ' * indent}{row['id']}  [{row['status']}]  {row['title']}")
            walk(row["id"], indent + 1)

    walk(None, 0)


def _load_graph(ctx: typer.Context, page_id: str):  # noqa: ANN202
    from experimentos.knowledge.graph import Graph

    workspace = state(ctx).workspace()
    workspace.read(page_id)  # a clear error for an unsafe, unknown or invalid page
    return Graph(workspace.scan().pages())


@graph_app.command("deps")
def graph_deps(
    ctx: typer.Context,
    page_id: Annotated[str, typer.Argument(metavar="ID", help="Page id.")],
    depth: Depth = None,
    json_out: JsonFlag = False,
) -> None:
    """What a page depends on (dependsOn closure), with missing targets."""
    as_json = want_json(ctx, json_out)
    graph = _load_graph(ctx, page_id)
    closure = graph.closure(page_id, depth)
    rows = _closure_rows(graph, closure.nodes)
    missing = [{"source": e.source, "target": e.target, "kind": e.kind} for e in closure.missing]
    if as_json:
        emit_json({"root": page_id, "nodes": rows, "missing": missing})
        return
    _print_tree(rows)
    for edge in missing:
        typer.echo(f"missing: {edge['target']} (dependsOn of {edge['source']})")


@graph_app.command("rdeps")
def graph_rdeps(
    ctx: typer.Context,
    page_id: Annotated[str, typer.Argument(metavar="ID", help="Page id.")],
    depth: Depth = None,
    json_out: JsonFlag = False,
) -> None:
    """Pages that depend on a page (reverse dependsOn, transitively)."""
    as_json = want_json(ctx, json_out)
    graph = _load_graph(ctx, page_id)
    root = graph.pages[page_id]
    rows = _closure_rows(graph, graph.reverse(page_id, depth))
    if as_json:
        emit_json({"id": page_id, "dependents": rows})
        return
    typer.echo(f"{page_id}  [{root.status.value}]  {root.title}")
    for row in rows:
        typer.echo(f"{'  ' * row['depth']}<- {row['id']}  [{row['status']}]  {row['title']}")
    if not rows:
        typer.echo("  (no page depends on it)")


@schema_app.command("export")
def schema_export(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory (default: <root>/schemas).")
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Only verify the files are up to date (exit 1 if not).")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Write the JSON Schemas generated from the models."""
    from experimentos.schema import export_schemas, stale_schemas

    as_json = want_json(ctx, json_out)
    directory = out or state(ctx).workspace().root / "schemas"
    if check_only:
        stale = stale_schemas(directory)
        if as_json:
            emit_json({"directory": str(directory), "stale": stale})
        else:
            for name in stale:
                typer.echo(f"{directory / name}: out of date; run `experimentos schema export`")
            if not stale:
                typer.echo("schemas are up to date")
        if stale:
            raise typer.Exit(EXIT_PROBLEMS)
        return
    written = export_schemas(directory)
    if as_json:
        emit_json({"written": [str(p) for p in written]})
    else:
        for path in written:
            typer.echo(f"wrote {path}")
