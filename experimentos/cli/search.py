"""CLI for the derived index: `index` and `search`."""

from __future__ import annotations

from typing import Annotated

import typer

from experimentos.cli._common import JsonFlag, emit_json, state, want_json


def index(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop and rebuild the index.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Sync the search index with the page files (incremental, by content hash)."""
    from experimentos.index import Index

    as_json = want_json(ctx, json_out)
    # A first build or a large change reports its progress on stderr (experimentos.progress).
    summary = Index(state(ctx).workspace()).sync(rebuild=rebuild)
    if summary.notice:
        typer.echo(f"note: {summary.notice}", err=True)
    for problem in summary.problems:
        typer.echo(f"skipped: {problem}", err=True)
    data = summary.to_dict()
    keys = (
        "added",
        "updated",
        "deleted",
        "renamed",
        "unchanged",
        "invalid",
        "pages",
        "chunks",
        "embedded",
        "seconds",
        "mode",
    )
    if as_json:
        emit_json({k: data[k] for k in (*keys, "rebuilt", "notice", "problems")})
    else:
        typer.echo(", ".join(f"{k} {data[k]}" for k in keys))


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What you are looking for (task text works).")],
    page_type: Annotated[str | None, typer.Option("--type", help="Only this page type.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    library: Annotated[
        str | None, typer.Option("--library", help="Pages that apply to this library.")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Pages for this agent.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Pages for this model.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Pages to return.")] = 10,
    mode: Annotated[
        str, typer.Option("--mode", help="hybrid (default), vector or fts.")
    ] = "hybrid",
    json_out: JsonFlag = False,
) -> None:
    """Search the knowledge base (syncs changed files first)."""
    from experimentos.index import Filters, Index
    from experimentos.index import search as run_search

    as_json = want_json(ctx, json_out)
    filters = Filters(type=page_type, status=status, library=library, agent=agent, model=model)
    response = run_search(
        Index(state(ctx).workspace()), query, mode=mode, limit=limit, filters=filters
    )
    if response.notice:
        typer.echo(f"note: {response.notice}", err=True)
    if as_json:
        emit_json(response.model_dump())
        return
    typer.echo(f"mode: {response.mode}", err=True)
    for hit in response.results:
        where = f" › {hit.heading}" if hit.heading else ""
        typer.echo(f"{hit.score:.4f}  {hit.id}  [{hit.status}]  {hit.title}{where}")
        typer.echo(f"        {hit.snippet}")
    if not response.results:
        typer.echo("no results", err=True)
