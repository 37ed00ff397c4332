"""The configuration snippet each MCP client expects, with absolute paths."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from experimentos.errors import UsageError

CLIENTS = {
    "claude-code": ".mcp.json in the project (or `claude mcp add-json experimentos '<server>'`)",
    "cursor": ".cursor/mcp.json in the project, or ~/.cursor/mcp.json",
    "codex": "~/.codex/config.toml, or .codex/config.toml in a trusted project",
}
SERVER_NAME = "experimentos"


def server_command() -> str:
    """Absolute path of the `experimentos` executable of this installation."""
    here = Path(sys.executable).parent / "experimentos"
    if here.exists():
        return str(here)
    found = shutil.which("experimentos")
    if found:
        return str(Path(found).resolve())
    return str(here)


def client_config(client: str, root: Path, read_only: bool = False) -> tuple[str, str]:
    """(snippet, where it goes) for `client`."""
    if client not in CLIENTS:
        raise UsageError(
            f"unknown client {client!r} (expected one of: {', '.join(CLIENTS)})", field="client"
        )
    command = server_command()
    args = ["--root", str(Path(root).resolve()), "mcp", "serve"]
    if read_only:
        args.append("--read-only")
    if client == "codex":
        lines = [
            f"[mcp_servers.{SERVER_NAME}]",
            f"command = {json.dumps(command)}",
            f"args = [{', '.join(json.dumps(a) for a in args)}]",
        ]
        return "\n".join(lines) + "\n", CLIENTS[client]
    server: dict = {"command": command, "args": args}
    if client == "claude-code":
        server = {"type": "stdio", **server}
    snippet = json.dumps({"mcpServers": {SERVER_NAME: server}}, indent=2) + "\n"
    return snippet, CLIENTS[client]
