"""The `experimentos` / `xos` command line: thin adapters over the library."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from experimentos import __version__
from experimentos.cli import (
    agents,
    brief,
    ci,
    experiments,
    fixtures,
    impact,
    knowledge,
    lifecycle,
    matrix,
    promote,
    proposals,
    reports,
    runs,
    search,
    serve,
    site,
)
from experimentos.cli._common import Group, JsonFlag, emit_json, state, want_json

app = typer.Typer(
    cls=Group,
    help="Git-native experiment knowledge for coding agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"experimentos {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="Knowledge root (default: nearest experimentos.toml, else the git root).",
            envvar="EXPERIMENTOS_ROOT",
        ),
    ] = None,
    json_out: JsonFlag = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    current = state(ctx)
    current.root = root
    current.json = json_out


app.command()(knowledge.init)
app.command()(knowledge.check)
app.command()(search.index)
app.command()(search.search)
app.command()(brief.brief)
app.add_typer(knowledge.page_app, name="page")
app.add_typer(knowledge.graph_app, name="graph")
app.add_typer(knowledge.schema_app, name="schema")
app.add_typer(brief.mcp_app, name="mcp")
app.command()(proposals.propose)
app.add_typer(proposals.proposals_app, name="proposals")
app.add_typer(experiments.exp_app, name="exp")
app.add_typer(experiments.test_app, name="test")
app.add_typer(runs.run_app, name="run")
app.add_typer(fixtures.fixture_app, name="fixture")
app.command()(serve.serve)
app.add_typer(agents.agents_app, name="agents")
app.add_typer(matrix.matrix_app, name="matrix")
app.add_typer(reports.report_app, name="report")
app.add_typer(lifecycle.ingest_app, name="ingest")
app.command()(lifecycle.doctor)
app.add_typer(lifecycle.cite_app, name="cite")
app.add_typer(site.site_app, name="site")
app.add_typer(ci.ci_app, name="ci")
app.command()(promote.promote)
app.command()(promote.candidates)
app.command()(impact.impact)


@app.command()
def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to create it and keep it (default: a temp dir)."),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temp knowledge base (it is removed otherwise).")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Seed a throwaway knowledge base with the starter pages and tour it."""
    from experimentos.cli.demo import run_demo

    as_json = want_json(ctx, json_out)
    if as_json:
        emit_json(asdict(run_demo(directory, echo=lambda _line: None, keep=keep)))
    else:
        run_demo(directory, echo=typer.echo, keep=keep)


def main() -> None:
    app()
