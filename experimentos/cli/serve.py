"""CLI for `serve`: the MCP endpoint and the REST API in one local HTTP process."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from experimentos.cli._common import state


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse every request and tool that writes.")
    ] = False,
) -> None:
    """Serve MCP (/mcp) and a JSON REST API on 127.0.0.1 (EXPERIMENTOS_API_KEY guards writes)."""
    from experimentos.errors import UsageError

    if not 0 < port < 65536:
        raise UsageError(f"port {port} is out of range", field="port")
    import uvicorn

    from experimentos.http.rest import build_app
    from experimentos.mcp.server import warm_up

    # an empty key would let a request without the header through, so it counts as unset
    api_key = os.environ.get("EXPERIMENTOS_API_KEY") or None
    app = build_app(state(ctx).workspace(), api_key=api_key, read_only=read_only)
    warm_up(app.state.mcp)  # load knowledge, index and model before the first MCP call
    if read_only:
        guard = "read-only: every write is refused"
    else:
        guard = "x-api-key required for writes" if api_key else "writes are open (no API key set)"
    typer.echo(f"experimentos on http://127.0.0.1:{port} (MCP at /mcp; {guard})", err=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
