"""The command reference, from the command line itself: every command with its usage, its help
and each argument and option, as Markdown. The documentation site renders it at build time
(docs/hooks.py fills docs/cli.md), so the reference cannot drift from the code."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import typer

MARKER = "<!-- cli-reference -->"


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) of the root and every command and group below it, in name order."""
    yield path, command
    for name in sorted(getattr(command, "commands", {}) or {}):
        sub = command.commands[name]
        if not getattr(sub, "hidden", False):
            yield from walk(sub, (*path, name))


def root_command() -> Any:
    from experimentos.cli import app

    return typer.main.get_command(app)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: HTML escaped (`<slug>` is not a tag), pipes escaped."""
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def _params(command: Any, ctx: Any) -> list[str]:
    rows = []
    for param in command.params:
        record = param.get_help_record(ctx)
        if record is None or getattr(param, "hidden", False):
            continue
        names, help_text = record
        rows.append(f"| `{names}` | {_cell(help_text)} |")
    if not rows:
        return []
    return ["| argument or option | what it does |", "|---|---|", *rows, ""]


def _section(path: tuple[str, ...], command: Any) -> list[str]:
    name = " ".join(("experimentos", *path))
    level = "#" * min(2 + max(len(path) - 1, 0), 4)
    ctx = typer.Context(command, info_name=" ".join(path) or "experimentos")
    usage = command.get_usage(ctx).removeprefix("Usage: ").strip()
    if path:
        usage = "experimentos " + usage
    lines = [f"{level} `{name}`", ""]
    if command.help:
        lines += [html.escape(command.help.strip(), quote=False), ""]
    lines += ["```text", usage, "```", ""]
    title = "Global options" if not path else None
    params = _params(command, ctx)
    if params and title:
        lines += [f"**{title}** (before the command: `experimentos --json page list`)", ""]
    return lines + params


def cli_reference() -> str:
    """Markdown for every command of `experimentos` (alias `xos`), in name order."""
    out: list[str] = []
    for path, command in walk(root_command()):
        out += _section(path, command)
    return "\n".join(out).rstrip() + "\n"


def command_paths() -> list[str]:
    """'page new', 'search', … for every command and group (not the root)."""
    return [" ".join(path) for path, _ in walk(root_command()) if path]
