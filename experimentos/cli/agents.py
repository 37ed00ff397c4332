"""`experimentos agents`: which agent CLIs can run here, and installing the pinned ones."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from experimentos.cli._common import Group, JsonFlag, emit_json, state, want_json

agents_app = typer.Typer(
    cls=Group, help="Agent adapters and the pinned agent CLIs.", no_args_is_help=True
)


@agents_app.command("list")
def agents_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Every agent adapter: available here or not (and why), binary, version, pin."""
    from experimentos.agents.catalog import list_agents

    as_json = want_json(ctx, json_out)
    infos = list_agents(state(ctx).workspace().root)
    if as_json:
        emit_json([asdict(info) for info in infos])
        return
    for info in infos:
        mark = "ok " if info.available else "-- "
        detail = info.version or ""
        if info.pinned and info.version and not info.pinned.endswith(f"@{info.version}"):
            detail += f" (pinned {info.pinned})"
        typer.echo(f"{mark}{info.adapter:<12} {detail}".rstrip())
        if info.problem:
            typer.echo(f"    {info.problem}")


@agents_app.command("install")
def agents_install(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[AGENT]...", help="codex, claude-code, opencode (default: all)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """npm install the pinned agent CLIs into <root>/.experimentos/agents."""
    from experimentos.agents.install import install

    as_json = want_json(ctx, json_out)
    root = state(ctx).workspace().root
    if not as_json:
        typer.echo("installing with npm (a minute or so on first install)…", err=True)
    result = install(root, names or None)
    if as_json:
        emit_json(asdict(result))
        return
    for name, version in result.versions.items():
        typer.echo(f"{name} {version or '(version unknown)'}")
    typer.echo(f"installed into {result.prefix}", err=True)
