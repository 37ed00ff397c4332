"""CLI for the static site: `site build OUT`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import Group, JsonFlag, emit_json, state, want_json

site_app = typer.Typer(
    cls=Group, help="The static site (HTML from the files).", no_args_is_help=True
)


@site_app.command("build")
def build(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Directory to write the site to.")],
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Where the site will be served (https://… or /path/): canonical links and "
            "sitemap.xml. Links stay relative either way.",
        ),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="Site name in every header.")] = (
        "experimentos"
    ),
    json_out: JsonFlag = False,
) -> None:
    """Build the static site from the files into OUT (replaced atomically). Expired-review badges
    compare with today, or with SOURCE_DATE_EPOCH when set."""
    from experimentos.site import build_site

    as_json = want_json(ctx, json_out)
    result = build_site(state(ctx).workspace(), out, base_url=base_url, title=title)
    if as_json:
        data = result.__dict__ | {"problems": [p.model_dump() for p in result.problems]}
        emit_json(data)
        return
    for problem in result.problems:
        typer.echo(f"warning: {problem}", err=True)
    typer.echo(
        f"{result.pages} pages ({result.knowledge} knowledge, {result.experiments} experiments, "
        f"{result.runs} runs, {result.reports} reports), {result.files} files, "
        f"{result.bytes} bytes in {result.out}"
    )
