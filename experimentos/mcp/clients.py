"""The entry each MCP client needs to start this server, and an idempotent merge into its file.

Two scopes. `project`: the file lives in the project and is shared (.mcp.json,
.cursor/mcp.json, .codex/config.toml), so the entry holds no path of this machine: the command
is `experimentos` from PATH and the root is relative to the project directory, where the
clients start the server. `user`: a file in the home directory (~/.claude.json,
~/.cursor/mcp.json, $CODEX_HOME/config.toml), where the absolute paths of this installation
and this knowledge root are right.

A write touches only the server's own entry: JSON files keep every other key, the codex TOML
file keeps every other byte; the new file replaces the old one atomically, and a file that
does not parse is refused with nothing written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from experimentos.errors import ConcurrentEdit, UnsafeId, UsageError
from experimentos.store.files import file_mode
from experimentos.store.gitroot import work_tree
from experimentos.store.parse import load_json

SERVER_NAME = "experimentos"
PORTABLE_COMMAND = "experimentos"
CLIENTS = ("claude-code", "cursor", "codex")
SCOPES = ("project", "user")
# The scope each client's usual file has: claude-code and cursor read a file in the project,
# codex reads ~/.codex/config.toml (a project .codex/config.toml only in trusted projects).
DEFAULT_SCOPE = {"claude-code": "project", "cursor": "project", "codex": "user"}
_OWN_TABLE = ("mcp_servers", SERVER_NAME)
_HEADER = re.compile(r"^\s*\[")


@dataclass
class ClientConfig:
    client: str
    scope: str
    path: Path  # the client's file the entry belongs in
    project: Path | None  # the project directory (project scope)
    entry: dict  # the server entry: command, args (and type for claude-code)
    snippet: str  # the entry in the file's own format, as printed
    command_on_path: bool  # project scope: whether `experimentos` is on PATH here


@dataclass
class WriteResult:
    path: Path
    changed: bool


def server_command() -> str:
    """Absolute path of the `experimentos` executable of this installation."""
    here = Path(sys.executable).parent / "experimentos"
    if here.exists():
        return str(here)
    found = shutil.which("experimentos")
    if found:
        return str(Path(found).resolve())
    return str(here)


def project_dir(root: Path) -> Path:
    """The project a knowledge root belongs to: its git work tree, else the root itself."""
    root = Path(root).resolve()
    return work_tree(root) or root


def _home() -> Path:
    return Path(os.path.expanduser("~"))


def client_file(client: str, scope: str, project: Path) -> Path:
    """Where `client` reads its MCP servers in `scope`."""
    if client == "codex":
        if scope == "project":
            return project / ".codex" / "config.toml"
        codex_home = os.environ.get("CODEX_HOME")
        return (Path(codex_home) if codex_home else _home() / ".codex") / "config.toml"
    if client == "cursor":
        return (project if scope == "project" else _home()) / ".cursor" / "mcp.json"
    return project / ".mcp.json" if scope == "project" else _home() / ".claude.json"


def client_config(
    client: str, root: Path, read_only: bool = False, scope: str | None = None
) -> ClientConfig:
    """The entry for `client` in `scope` (default: the client's usual one) over `root`."""
    if client not in CLIENTS:
        raise UsageError(
            f"unknown client {client!r} (expected one of: {', '.join(CLIENTS)})", field="client"
        )
    scope = scope or DEFAULT_SCOPE[client]
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r} (expected project or user)", field="scope")
    root = Path(root).resolve()
    project = project_dir(root)
    if scope == "project":
        command = PORTABLE_COMMAND
        where = Path(os.path.relpath(root, project)).as_posix()
    else:
        command, where = server_command(), str(root)
    args = ["--root", where, "mcp", "serve", *(["--read-only"] if read_only else [])]
    entry: dict = {"command": command, "args": args}
    if client == "claude-code":
        entry = {"type": "stdio", **entry}
    if client == "codex":
        snippet = _toml_table(entry, "\n")
    else:
        snippet = json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n"
    return ClientConfig(
        client=client,
        scope=scope,
        path=client_file(client, scope, project),
        project=project if scope == "project" else None,
        entry=entry,
        snippet=snippet,
        command_on_path=shutil.which(PORTABLE_COMMAND) is not None,
    )


def write_client_config(config: ClientConfig) -> WriteResult:
    """Merge the entry into the client's file; unchanged when it is already there."""
    path = _target(config)
    old = _read(path)
    if config.client == "codex":
        new = _merge_toml(old, config.entry, path)
    else:
        new = _merge_json(old, config.entry, path)
    if old is not None and new == old:
        return WriteResult(path, changed=False)
    _replace(path, new, old)
    return WriteResult(path, changed=True)


# --- reading and writing the client's file ----------------------------------------------------


def _target(config: ClientConfig) -> Path:
    """The file to write: a project file stays inside the project; a user's link is followed."""
    path = config.path
    if config.project is not None:
        project = config.project.resolve()
        try:
            path.resolve().relative_to(project)
        except ValueError:
            raise UnsafeId(
                "resolves outside the project; refusing to write there", path=path
            ) from None
    return path.resolve() if path.is_symlink() else path


def _read(path: Path) -> bytes | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read it: {exc.strerror}", path=path) from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError("is not a regular file; refusing to read or replace it", path=path)
    return path.read_bytes()


def _replace(path: Path, data: bytes, expected: bytes | None) -> None:
    """Atomically replace `path` with `data`, unless someone changed it since it was read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)  # ~/.claude.json is private: a replaced file keeps its mode
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        current = path.read_bytes() if path.exists() else None
        if current != expected:
            raise ConcurrentEdit("changed on disk while it was being merged; run again", path=path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("is not UTF-8 text; nothing written", path=path) from None


def _merge_json(old: bytes | None, entry: dict, path: Path) -> bytes:
    document: dict = {}
    if old is not None and old.strip():
        try:
            document = load_json(_decode(old, path))
        except ValueError as exc:
            raise UsageError(f"is not valid JSON ({exc}); nothing written", path=path) from None
        if not isinstance(document, dict):
            raise UsageError("is not a JSON object; nothing written", path=path)
    servers = document.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise UsageError("is not an object; nothing written", path=path, field="mcpServers")
    if servers.get(SERVER_NAME) == entry and old is not None:
        return old  # already there: not a byte changes
    servers[SERVER_NAME] = entry
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _toml_table(entry: dict, newline: str) -> str:
    # JSON string and array syntax is valid TOML for plain strings (json.dumps escapes \uXXXX)
    lines = [
        f"[{'.'.join(_OWN_TABLE)}]",
        f"command = {json.dumps(entry['command'])}",
        f"args = [{', '.join(json.dumps(a) for a in entry['args'])}]",
    ]
    return newline.join(lines) + newline


def _header_path(line: str) -> tuple[str, ...] | None:
    """The key path of a table header line (`[a."b"]` -> ("a", "b")), else None."""
    if not _HEADER.match(line):
        return None
    try:
        parsed = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return None  # e.g. a line of a multi-line array
    keys: list[str] = []
    node: object = parsed
    while True:
        if isinstance(node, list) and len(node) == 1:
            node = node[0]
        if not (isinstance(node, dict) and len(node) == 1):
            break
        key, node = next(iter(node.items()))
        keys.append(key)
    return tuple(keys) if keys else None


def _open_string_after(line: str, state: str | None) -> str | None:
    """The delimiter of the multi-line string still open after `line` (None when none is)."""
    i = 0
    while i < len(line):
        if state is not None:
            if state == '"""' and line[i] == "\\":
                i += 2
            elif line.startswith(state, i):
                state, i = None, i + 3
            else:
                i += 1
        elif line.startswith(('"""', "'''"), i):
            state, i = line[i : i + 3], i + 3
        elif line[i] == "#":
            break
        elif line[i] in "\"'":  # a one-line string: skip to its closing quote
            quote, i = line[i], i + 1
            while i < len(line) and line[i] != quote:
                i += 2 if quote == '"' and line[i] == "\\" else 1
            i += 1
        else:
            i += 1
    return state


def _merge_toml(old: bytes | None, entry: dict, path: Path) -> bytes:
    text = _decode(old, path) if old is not None else ""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"is not valid TOML ({exc}); nothing written", path=path) from None
    newline = "\r\n" if "\r\n" in text else "\n"
    table = _toml_table(entry, newline)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    # Split into blocks: the preamble, then each table header with the lines under it.
    blocks: list[tuple[tuple[str, ...] | None, list[str]]] = [(None, [])]
    in_string: str | None = None
    for line in lines:
        header = _header_path(line) if in_string is None else None
        in_string = _open_string_after(line, in_string)
        if header is not None:
            blocks.append((header, [line]))
        else:
            blocks[-1][1].append(line)
    out: list[str] = []
    placed = False
    for index, (header, block) in enumerate(blocks):
        if header is None or header[: len(_OWN_TABLE)] != _OWN_TABLE:
            out.extend(block)
            continue
        # Ours (or a sub-table of ours) is replaced. The blank and comment lines that end a run
        # of our tables stay: they usually introduce what follows.
        if not placed:
            out.append(table)
            placed = True
        following = blocks[index + 1][0] if index + 1 < len(blocks) else None
        if following is not None and following[: len(_OWN_TABLE)] == _OWN_TABLE:
            continue
        keep = len(block)
        while keep > 1 and (not block[keep - 1].strip() or block[keep - 1].lstrip()[:1] == "#"):
            keep -= 1
        out.extend(block[keep:])
    if not placed:
        if out and "".join(out).strip():
            if not "".join(out).endswith(newline * 2):
                out.append(newline)
            out.append(table)
        else:
            out = [table]
    merged = "".join(out)
    servers = document.get("mcp_servers", {})
    if not isinstance(servers, dict):
        raise UsageError("is not a table; nothing written", path=path, field="mcp_servers")
    expected = {**document, "mcp_servers": {**servers, SERVER_NAME: entry}}
    try:
        result = tomllib.loads(merged)
    except tomllib.TOMLDecodeError:
        result = None
    if result != expected:
        raise UsageError(
            f"cannot replace [{'.'.join(_OWN_TABLE)}] safely (is it written inline or as "
            "dotted keys?); move it into its own table or remove it; nothing written",
            path=path,
        )
    return merged.encode("utf-8")
