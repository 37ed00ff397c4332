"""CLI for matrices: `matrix run` and `matrix merge`."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import EXIT_PROBLEMS, Group, JsonFlag, emit_json, state, want_json

matrix_app = typer.Typer(
    cls=Group,
    help="Matrices: fixtures x conditions x agents x repeats, each cell a recorded run.",
    no_args_is_help=True,
)
EXIT_INTERRUPTED = 130


class _Progress:
    """One line on stderr, redrawn per finished run (only when stderr is a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.counts: dict[str, int] = {}

    def start(self, total: int) -> None:
        self.total = total
        self._draw()

    def note(self, text: str) -> None:
        if self.enabled:
            typer.echo(f"\r\033[K{text}", err=True)

    def result(self, run) -> None:  # noqa: ANN001 - RunResult
        self.done += 1
        key = run.skipped and "skipped" or run.status
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.enabled and run.status in ("failed", "aborted"):
            typer.echo(f"\r\033[K{run.status}: {run.run_id}: {run.reason}", err=True)
        self._draw()

    def _draw(self) -> None:
        if not self.enabled or not self.total:
            return
        width = 30
        filled = int(width * self.done / self.total)
        parts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        bar = "#" * filled + "-" * (width - filled)
        typer.echo(f"\r\033[K[{bar}] {self.done}/{self.total} {parts}", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.total:
            typer.echo("", err=True)
        self.total = 0  # closed: nothing more to draw


@matrix_app.command("run")
def run(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="The experiment whose matrix.yaml to run.")],
    shard: Annotated[
        str | None, typer.Option("--shard", help="Run only shard i of n (e.g. 2/3).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Run only the cells with no result yet.")
    ] = False,
    repeats: Annotated[
        int | None,
        typer.Option(
            "--repeats",
            help="Bring every cell up to N finished runs, running only the missing ones "
            "(raises matrix.yaml's repeats to N when lower; implies --top-up).",
        ),
    ] = None,
    top_up: Annotated[
        bool,
        typer.Option(
            "--top-up",
            help="Run only what is missing up to the spec's repeats; existing results are kept "
            "and a shard takes its share of the missing runs.",
        ),
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Runs in parallel (default: the spec's).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the cells and what would run; run nothing.")
    ] = False,
    keep_workdirs: Annotated[
        bool, typer.Option("--keep-workdirs", help="Keep each run's temp workdir (debugging).")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Run a matrix: each cell a fresh fixture copy, the agent under its limit, then the oracle.
    Exit 1 when a run errored (harness or agent crash), not when an agent failed its task."""
    from experimentos.matrix.runner import run_matrix

    as_json = want_json(ctx, json_out)
    progress = _Progress(not as_json and not dry_run)
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # CI cancellations stop like Ctrl-C
    try:
        summary = run_matrix(
            state(ctx).workspace(),
            experiment,
            shard=shard,
            resume=resume,
            repeats=repeats,
            top_up=top_up,
            jobs=jobs,
            dry_run=dry_run,
            keep_workdirs=keep_workdirs,
            stop=stop,
            on_start=progress.start,
            on_result=progress.result,
            on_note=progress.note,
        )
    except KeyboardInterrupt:  # before any run started (planning, knowledge, adapters)
        progress.close()
        typer.echo("interrupted before any run started; nothing was recorded", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        progress.close()
    if as_json:
        emit_json(summary.model_dump(mode="json"))
    else:
        _render(summary)
    if summary.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.errored:
        raise typer.Exit(EXIT_PROBLEMS)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _render(summary) -> None:  # noqa: ANN001 - MatrixSummary
    shard = f" shard {summary.shard}" if summary.shard else ""
    head = (
        f"{summary.matrix}{shard}: {summary.cells_selected} of {summary.cells_total} cells, "
        f"{summary.already_done} already done, {summary.to_run} to run"
    )
    typer.echo(head)
    if summary.spec_raised:
        old, new = summary.spec_raised
        typer.echo(f"matrix.yaml: repeats {old} -> {new}")
    if summary.top_up is not None and not summary.to_run:
        if summary.shard:
            typer.echo(
                f"nothing to run in shard {summary.shard}: its share of the missing runs is empty"
            )
        else:
            typer.echo(
                f"nothing to run: every cell already has {summary.top_up} finished "
                "repeat(s); nothing changed"
            )
        return
    if summary.dry_run:
        for cell in summary.cells:
            typer.echo(f"  {cell.state:<11}  {cell.run_id}  ({cell.cell})")
        return
    for run in summary.runs:
        if run.skipped:
            typer.echo(f"  skipped   {run.run_id}: {run.skipped}")
            continue
        what = run.outcome or "-"
        line = f"  {run.status:<8}  {what:<8}  {run.run_id}  {run.seconds:.1f}s"
        if run.reason:
            line += f"  ({run.reason})"
        typer.echo(line)
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    tail = " (interrupted: runs in flight were aborted; --resume runs them again)"
    typer.echo(
        f"{counts or 'nothing ran'} in {summary.seconds:.1f}s"
        + (tail if summary.interrupted else "")
    )


@matrix_app.command("merge")
def merge(
    ctx: typer.Context,
    directories: Annotated[
        list[Path], typer.Argument(help="Run directories copied from shard machines.")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Merge runs copied from shard machines into this root's experiments (refusing conflicting
    duplicates: nothing is written then). Exit 1 on a conflict."""
    from experimentos.matrix.merge import merge_runs

    as_json = want_json(ctx, json_out)
    report = merge_runs(state(ctx).workspace(), directories)
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        for item in report.conflicts:
            typer.echo(f"conflict: {item}", err=True)
        typer.echo(
            f"{report.copied} run(s) copied, {report.replaced} replaced, {report.identical} "
            f"already here"
            + (
                f", {len(report.conflicts)} conflict(s): nothing written"
                if report.conflicts
                else ""
            )  # fmt: skip
        )
    if report.conflicts:
        raise typer.Exit(EXIT_PROBLEMS)
