"""`experimentos brief` and `experimentos mcp`: briefs for people, and the server for agents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import Group, JsonFlag, emit_json, state, want_json

mcp_app = typer.Typer(
    cls=Group, help="Serve briefs and knowledge to agents over MCP.", no_args_is_help=True
)


def brief(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="What the agent is about to do.")],
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="Target repository whose manifests are read [default: .]."),
    ] = None,
    library: Annotated[
        list[str] | None, typer.Option("--library", "-l", help="A library the task involves.")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="The agent, e.g. claude-code.")] = None,
    model: Annotated[str | None, typer.Option(help="The model the agent runs.")] = None,
    toolchain: Annotated[str | None, typer.Option(help="The toolchain, e.g. shell.")] = None,
    repo_type: Annotated[str | None, typer.Option(help="Kind of repository.")] = None,
    file: Annotated[
        list[str] | None,
        typer.Option("--file", "-f", help="A repo-relative file the task touches."),
    ] = None,
    budget: Annotated[int, typer.Option(help="Token budget.")] = 2000,
    depth: Annotated[int, typer.Option(help="dependsOn hops to load.")] = 2,
    write: Annotated[bool, typer.Option("--write", help="Also write briefs/<id>.md.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show why each page was chosen or excluded.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Compile the work brief for a task: the reviewed knowledge that applies, within a budget."""
    from experimentos.briefs.compiler import compile_brief
    from experimentos.briefs.models import BriefRequest
    from experimentos.briefs.render import render_brief, write_brief
    from experimentos.knowledge.live import Live

    as_json = want_json(ctx, json_out)
    workspace = state(ctx).workspace()
    request = BriefRequest(
        task=task,
        repo=str(repo if repo is not None else Path.cwd()),
        libraries=library or [],
        agent=agent,
        model=model,
        toolchain=toolchain,
        repo_type=repo_type,
        files=file or [],
        budget=budget,
        depth=depth,
    )
    live = Live(workspace, watch=False)
    try:
        result = compile_brief(live, request)
    finally:
        live.close()
    path = write_brief(workspace, result) if write else None
    if as_json:
        data = result.model_dump(mode="json")
        data["agent_work_context"] = result.agent_work_context()
        data["path"] = path
        emit_json(data)
        return
    typer.echo(render_brief(result, explain=explain), nl=False)
    if path:
        typer.echo(f"\nwritten: {path}", err=True)


@mcp_app.command("serve")
def serve(
    ctx: typer.Context,
    transport: Annotated[
        str, typer.Option(help="stdio, or http (streamable HTTP on 127.0.0.1).")
    ] = "stdio",
    port: Annotated[int, typer.Option(help="Port for --transport http.")] = 8765,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse every tool that writes.")
    ] = False,
    knowledge: Annotated[
        Path | None,
        typer.Option(
            "--knowledge", help="Serve pages from this directory; runs stay under --root."
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Log every tool call in this run."),
    ] = None,
    run_token: Annotated[
        str | None,
        typer.Option(
            "--run-token",
            help="A blind matrix run: log every call in the run this token maps to, and show "
            "the agent only the token (matrix runs start the server so).",
        ),
    ] = None,
) -> None:
    """Run the MCP server (stdio by default). Logs go to stderr; stdout is the protocol."""
    from experimentos.errors import UsageError

    if transport not in ("stdio", "http"):
        raise UsageError(
            f"unknown transport {transport!r} (expected stdio or http)", field="transport"
        )
    if not 0 < port < 65536:
        raise UsageError(f"port {port} is out of range", field="port")
    from experimentos.mcp.server import build_server, stop_serving, warm_up
    from experimentos.progress import reporter

    reporter().silence()  # the server's stderr is a client's log: no bars in it
    workspace = state(ctx).workspace()
    if transport == "http":
        if run_id is not None or run_token is not None or knowledge is not None:
            raise UsageError(
                "--run-id, --run-token and --knowledge serve one run over stdio", field="transport"
            )
        _serve_mcp_http(workspace, port, read_only)
        return
    if transport == "stdio" and sys.stdin.isatty():
        # stdout is the protocol: a person at a terminal gets the explanation on stderr
        mode = " (read-only)" if read_only else ""
        typer.echo(
            f"experimentos MCP server{mode} for {workspace.root}: it speaks MCP (JSON-RPC) "
            "on stdin/stdout to an agent, not to a person. Let your agent start it "
            "(`experimentos mcp config --client claude-code|codex|cursor`); "
            "stop it with Ctrl-C or Ctrl-D.",
            err=True,
        )
    pages = None
    if knowledge is not None:
        from experimentos.store import Workspace

        pages = Workspace(knowledge)
    if run_token is not None:
        from experimentos.lab.runs.tokens import resolve_token

        if run_id is not None:
            raise UsageError("give --run-id or --run-token, not both", field="run_token")
        run_id = resolve_token(workspace.root, run_token)
    if run_id is not None:
        from experimentos.store.lab_scan import locate_run

        locate_run(workspace.root, run_id)  # the bound run must exist (NotFound, UnsafeId)
    server = build_server(
        workspace, read_only=read_only, knowledge=pages, run_id=run_id, run_token=run_token
    )
    warming = warm_up(server)
    server.run("stdio")
    stop_serving(warming)


def _serve_mcp_http(workspace, port: int, read_only: bool) -> None:  # noqa: ANN001 - Workspace
    """/mcp alone, behind the same gate as `serve` (loopback Hosts, same-origin browsers, and
    EXPERIMENTOS_API_KEY on every request when it is set)."""
    import os

    import uvicorn

    from experimentos.http.rest import build_app
    from experimentos.mcp.server import warm_up

    api_key = os.environ.get("EXPERIMENTOS_API_KEY") or None
    app = build_app(workspace, api_key=api_key, read_only=read_only, rest=False)
    warm_up(app.state.mcp)
    guard = "API key required" if api_key else "no API key set"
    typer.echo(f"experimentos MCP server on http://127.0.0.1:{port}/mcp ({guard})", err=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@mcp_app.command("config")
def config(
    ctx: typer.Context,
    client: Annotated[str, typer.Option(help="claude-code, codex or cursor.")],
    scope: Annotated[
        str | None,
        typer.Option(
            help="project: a shared file in the project, portable (`experimentos` from PATH, "
            "root relative to the project); user: your own file, absolute paths. Default: "
            "project for claude-code and cursor, user for codex."
        ),
    ] = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Merge the entry into the client's file (idempotent; nothing else changes).",
        ),
    ] = False,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Configure the server read-only.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Print (or --write) the entry an MCP client needs to start this server."""
    from experimentos.mcp.clients import client_config, write_client_config

    as_json = want_json(ctx, json_out)
    workspace = state(ctx).workspace()
    found = client_config(client, workspace.root, read_only=read_only, scope=scope)
    result = write_client_config(found) if write else None
    if found.scope == "project" and not found.command_on_path:
        typer.echo(
            "note: `experimentos` is not on PATH here; the client starts it from its own PATH "
            "(start the client with this environment active, or install experimentos with "
            "pipx or `uv tool`)",
            err=True,
        )
    if as_json:
        data = {
            "client": found.client,
            "scope": found.scope,
            "path": str(found.path),
            "entry": found.entry,
            "snippet": found.snippet,
        }
        if result is not None:
            data["written"] = result.changed
        emit_json(data)
        return
    if result is None:
        typer.echo(f"# {found.path} ({found.scope} scope; merge it, or run with --write)", err=True)
        typer.echo(found.snippet, nl=False)
    elif result.changed:
        typer.echo(f"wrote the {found.client} entry for experimentos to {result.path}")
    else:
        typer.echo(f"{result.path} already has this entry; nothing changed")
