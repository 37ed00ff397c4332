"""CLI for fixtures: `fixture check`."""

from __future__ import annotations

from typing import Annotated

import typer

from experimentos.cli._common import EXIT_PROBLEMS, Group, JsonFlag, emit_json, state, want_json

fixture_app = typer.Typer(
    cls=Group, help="Fixtures: task repositories with oracles and rules.", no_args_is_help=True
)


@fixture_app.command("check")
def fixture_check(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[NAME]...", help="Fixtures to check (default: all)."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Oracles run in parallel.")] = 2,
    json_out: JsonFlag = False,
) -> None:
    """Validate every manifest and prove every oracle: the untouched fixture fails, good-*
    patches pass and keep every rule, bad-* patches show their declared trap."""
    from experimentos.matrix.fixture_check import check_fixtures
    from experimentos.progress import reporter

    as_json = want_json(ctx, json_out)
    progress = reporter().callback("fixture check")  # stderr, also with --json
    try:
        root = state(ctx).workspace().root
        report = check_fixtures(root, names or None, jobs=jobs, progress=progress)
    finally:
        progress.close()
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(EXIT_PROBLEMS)


def _render(report) -> None:  # noqa: ANN001 - FixtureCheckReport
    if not report.fixtures:
        typer.echo("no fixtures found")
        return
    width = max(len(r.name) for r in report.fixtures)
    inner = max([len(s.name) for r in report.fixtures for s in r.solutions] or [0])
    for result in report.fixtures:
        untouched = "-"
        if result.untouched is not None:
            o = result.untouched
            verdict = "timed out" if o.timed_out else ("PASSES" if o.passed else "fails")
            untouched = f"untouched {verdict} (exit {o.exit_code}, {o.seconds:.2f}s)"
        status = "ok" if result.ok else "FAILED"
        typer.echo(f"{result.name:<{width}}  {status:<6}  {untouched}")
        for sol in result.solutions:
            oracle = "-" if sol.oracle is None else ("pass" if sol.oracle.passed else "fail")
            rules = f"breaks {', '.join(sol.broken)}" if sol.broken else "keeps every rule"
            mark = "ok" if sol.ok else "WRONG"
            typer.echo(f"  {sol.name:<{inner}}  {mark:<5}  oracle {oracle:<4}  {rules}")
            for problem in sol.problems:
                typer.echo(f"  {'':<{inner}}  ! {problem}")
        for problem in result.problems:
            typer.echo(f"  ! {problem}")
    bad = [r.name for r in report.fixtures if not r.ok]
    summary = f"{len(report.fixtures) - len(bad)} of {len(report.fixtures)} fixtures proven"
    typer.echo(summary + (f"; failed: {', '.join(bad)}" if bad else ""))
