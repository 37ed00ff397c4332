"""`experimentos impact --base REV`: how a knowledge change alters every task's brief."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from experimentos.cli._common import JsonFlag, emit_json, state, want_json


def impact(
    ctx: typer.Context,
    base: Annotated[
        str, typer.Option("--base", help="The revision to compare with, e.g. origin/main.")
    ],
    task: Annotated[
        list[str] | None,
        typer.Option("--task", "-t", help="Also this task (besides the fixtures' and [impact]'s)."),
    ] = None,
    no_fixtures: Annotated[
        bool, typer.Option("--no-fixtures", help="Leave out the fixtures' tasks.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", help="At most this many characters of Markdown (says what it cut)."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Compile each task's brief over the knowledge at --base and over the working tree's, and
    show what changed: rules added, removed, demoted or compacted, conflicts, warnings, tokens,
    and the Markdown diff. Tasks: every fixture's, those under [impact] in experimentos.toml,
    and --task. The working tree is never touched (the base is read with git archive)."""
    from experimentos.impact import brief_impact, impact_tasks
    from experimentos.impact.render import render_impact

    as_json = want_json(ctx, json_out)
    workspace = state(ctx).workspace()
    tasks = impact_tasks(workspace, fixtures=False if no_fixtures else None, extra=task or [])
    show = sys.stderr.isatty() and not as_json

    def progress(text: str) -> None:
        if show:
            typer.echo(f"\r\033[K{text}", err=True, nl=False)

    result = brief_impact(workspace, base, tasks=tasks, progress=progress)
    if show:
        typer.echo("\r\033[K", err=True, nl=False)
    if as_json:
        data = result.model_dump(mode="json")
        data["changed"] = [t.name for t in result.changed]
        emit_json(data)
    else:
        typer.echo(render_impact(result, limit=limit), nl=False)
