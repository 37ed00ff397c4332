"""CLI for matrix reports: `report build [--check]`, `report compare A B`, `report summary`."""

from __future__ import annotations

from typing import Annotated

import typer

from experimentos.cli._common import EXIT_PROBLEMS, Group, JsonFlag, emit_json, state, want_json

report_app = typer.Typer(
    cls=Group,
    help="Matrix reports: ground-truth metrics, intervals, paired deltas; compare and summarise.",
    no_args_is_help=True,
)


@report_app.command("build")
def build(
    ctx: typer.Context,
    experiments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="EXPERIMENT",
            help="Experiments whose matrices to report (default: every one).",
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; exit 1 naming each report that differs (CI gate)."
        ),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Write experiments/<slug>/results/<matrix-id>.md from the run records: the same records
    give the same bytes. With --check, exit 1 when a committed report is stale or missing."""
    from experimentos.reports.build import build_reports

    as_json = want_json(ctx, json_out)
    result = build_reports(state(ctx).workspace(), experiments or None, check=check)
    if as_json:
        emit_json(
            {
                "check": check,
                "reports": [r.as_dict() for r in result.reports],
                "stale": [r.path for r in result.stale],
            }
        )
    else:
        if not result.reports:
            typer.echo("no matrix runs: nothing to report")
        for r in result.reports:
            counts = f"{r.counted} counted, {r.excluded} not counted"
            if r.status in ("differs", "missing"):
                what = "is stale" if r.status == "differs" else "is missing"
                typer.echo(
                    f"{r.path} {what}: the run records give a different report ({counts}); "
                    "run `experimentos report build` and commit it",
                    err=True,
                )
            else:
                typer.echo(f"{r.status:<9}  {r.path}  ({counts})")
    if check and result.stale:
        raise typer.Exit(EXIT_PROBLEMS)


@report_app.command("compare")
def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="Matrix A: <matrix-id> or <matrix-id>@<git-rev>.")],
    b: Annotated[str, typer.Argument(help="Matrix B (the new one): same forms as A.")],
    json_out: JsonFlag = False,
) -> None:
    """Deltas B − A of pass and clean pass per fixture × condition × agent (and pooled), with
    intervals and Holm-adjusted p-values. Exit 1 on a significant regression (the PR gate)."""
    from experimentos.reports.compare import compare_matrices, render_comparison

    as_json = want_json(ctx, json_out)
    comparison = compare_matrices(state(ctx).workspace().root, a, b)
    if as_json:
        data = comparison.model_dump(mode="json")
        data["regressions"] = len(comparison.regressions)
        emit_json(data)
    else:
        typer.echo(render_comparison(comparison), nl=False)
    if comparison.regressions:
        raise typer.Exit(EXIT_PROBLEMS)


@report_app.command("summary")
def summary(
    ctx: typer.Context,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", metavar="REV", help="Compare every matrix with itself at this git revision."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """The Markdown a pull-request comment needs: each matrix's headline and, with --base, its
    comparison with the base revision. Exits 0 whatever it finds (`report compare` gates)."""
    from experimentos.reports.compare import render_summary, summarize

    as_json = want_json(ctx, json_out)
    result = summarize(state(ctx).workspace().root, base)
    if as_json:
        data = result.model_dump(mode="json")
        data["regression"] = result.regression
        emit_json(data)
    else:
        typer.echo(render_summary(result), nl=False)
