"""Shared CLI plumbing: global state, JSON output, and domain errors -> exit codes.

Only typer and the framework-free errors module are imported here; the library is imported
inside each command so that `experimentos --help` stays instant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from experimentos.errors import ConcurrentEdit, ExperimentosError, InputErrors, InvalidPage, redact

if TYPE_CHECKING:
    from experimentos.store import Workspace

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
# The options of a command that opens a proposal (cli/naming.py: one meaning per name).
Onto = Annotated[
    str | None,
    typer.Option(
        "--onto",
        metavar="BRANCH",
        help="Branch the proposal targets (default: [proposals] base, else the checked-out one).",
    ),
]
WorkingTree = Annotated[
    bool,
    typer.Option(
        "--working-tree",
        help="Propose the page as it is in your working tree, uncommitted edits included.",
    ),
]
PushFlag = Annotated[
    bool, typer.Option("--push", help="Push the proposal and open its pull request.")
]
PushRemote = Annotated[str, typer.Option("--remote", help="Remote for --push.")]


def _flags_take_no_value() -> None:
    """Render flags (`--json`, `--read-only`, `--help`) without a value type in rich help.

    typer's rich help prints `<bool>` after every flag, which reads as if the flag took a value
    (`--read-only true` then fails); its plain help already omits it. Same rule here.
    """
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_flags_fixed", False):
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        if self.is_flag or self.count:
            return None
        return original(self, ctx)

    display_type_rich._flags_fixed = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 page`, `2 pages`, `0 pages` (`many` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


@dataclass
class State:
    root: Path | None = None
    json: bool = False
    _workspace: Workspace | None = None

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from experimentos.store import Workspace

            self._workspace = Workspace.discover(self.root)
        return self._workspace


def state(ctx: typer.Context) -> State:
    root_ctx = ctx.find_root()
    if not isinstance(root_ctx.obj, State):
        root_ctx.obj = State()
    return root_ctx.obj


def want_json(ctx: typer.Context, flag: bool) -> bool:
    """Whether to print JSON; remembered so that an error below is reported as JSON too."""
    current = state(ctx)
    current.json = flag or current.json
    return current.json


def emit_json(data: Any) -> None:
    """Print `data` as JSON on stdout, with every known secret redacted."""
    typer.echo(redact(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def exit_code_for(exc: ExperimentosError) -> int:
    if isinstance(exc, InputErrors):
        return max(exit_code_for(e) for e in exc.errors)
    return EXIT_PROBLEMS if isinstance(exc, ConcurrentEdit) else EXIT_USAGE


def report_error(exc: ExperimentosError, as_json: bool) -> None:
    lines = [f"error: {exc}"]
    if isinstance(exc, InvalidPage):
        lines = [f"error: {p}" for p in exc.problems]
    elif isinstance(exc, InputErrors):
        lines = [f"error: {line}" for line in exc.lines()]
    for line in lines:
        typer.echo(redact(line), err=True)
    if as_json:
        error = {
            "type": type(exc).__name__,
            "message": exc.message,
            "path": exc.path,
            "field": exc.field,
        }
        if isinstance(exc, InvalidPage):
            error["problems"] = [p.model_dump() for p in exc.problems]
        elif isinstance(exc, InputErrors):
            error["problems"] = [
                {"type": type(e).__name__, "message": e.message, "path": e.path, "field": e.field}
                for e in exc.errors
            ]
        emit_json({"error": error})


class Group(TyperGroup):
    """Turns a domain error raised anywhere below into a message and exit code, no traceback;
    rewrites the deprecated spellings of a command's options (cli/naming.py) with a note."""

    def resolve_command(self, ctx, args):  # noqa: ANN001, ANN201 - click signature
        from experimentos.cli.naming import rewrite

        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not isinstance(cmd, TyperGroup):
            path = " ".join([*ctx.command_path.split()[1:], name or cmd.name or ""])
            rest = rewrite(path, list(rest), lambda note: typer.echo(note, err=True))
        return name, cmd, rest

    def invoke(self, ctx):  # noqa: ANN001 - click signature
        try:
            return super().invoke(ctx)
        except ExperimentosError as exc:
            as_json = isinstance(ctx.obj, State) and ctx.obj.json
            report_error(exc, as_json)
            raise typer.Exit(exit_code_for(exc)) from None
