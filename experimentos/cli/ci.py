"""CLI for what the GitHub workflows run: `ci publish-reports|publish-results|pr-comment|
matrix-plan`. Each is one library call (experimentos/ci/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import (
    EXIT_PROBLEMS,
    Group,
    JsonFlag,
    Onto,
    emit_json,
    state,
    want_json,
)

ci_app = typer.Typer(
    cls=Group,
    help="What the GitHub workflows run: reports and results as pull requests, the PR comment, "
    "the matrix plan.",
    no_args_is_help=True,
)

Remote = Annotated[str, typer.Option("--remote", help="Remote to push the branch to.")]
NoPush = Annotated[bool, typer.Option("--no-push", help="Make the branch; do not push it.")]


def _render_published(published, as_json: bool) -> None:  # noqa: ANN001 - Published
    if as_json:
        emit_json(published.model_dump(mode="json"))
    elif not published.changed:
        typer.echo("nothing changed: no branch, no pull request")
    else:
        typer.echo(f"{len(published.changed)} changed file(s) on {published.branch}")
        for path in published.changed:
            typer.echo(f"  {path}")
        push = published.push
        if push is not None and push.pull_request is not None:
            typer.echo(f"pull request: {push.pull_request.url}")
        elif push is not None:
            typer.echo(f"pushed; open the pull request with: {push.command}")
            typer.echo(f"({push.pr_error or push.pr_skipped})", err=True)
    push = published.push
    if push is not None and push.pr_error:
        raise typer.Exit(EXIT_PROBLEMS)


@ci_app.command("publish-reports")
def publish_reports(
    ctx: typer.Context,
    sha: Annotated[str, typer.Option("--sha", help="The commit the reports were built from.")],
    onto: Onto = None,
    remote: Remote = "origin",
    no_push: NoPush = False,
    json_out: JsonFlag = False,
) -> None:
    """After `report build`: commit the changed reports on xos/reports/<sha>, push, open the pull
    request. Exit 1 when GitHub refused it."""
    from experimentos.ci import publish_reports as run

    as_json = want_json(ctx, json_out)
    result = run(state(ctx).workspace(), sha, base=onto, remote=remote, push=not no_push)
    _render_published(result, as_json)


@ci_app.command("publish-results")
def publish_results(
    ctx: typer.Context,
    experiment: Annotated[
        str,
        typer.Argument(metavar="EXPERIMENT", help="The experiment whose runs were merged."),
    ],
    suffix: Annotated[
        str, typer.Option("--suffix", help="Ends the branch name, e.g. the workflow run id.")
    ],
    onto: Onto = None,
    remote: Remote = "origin",
    no_push: NoPush = False,
    json_out: JsonFlag = False,
) -> None:
    """After `matrix merge` + `report build`: commit the new runs and reports on
    xos/results/<experiment>-<suffix>, push, open the pull request."""
    from experimentos.ci import publish_results as run

    as_json = want_json(ctx, json_out)
    result = run(
        state(ctx).workspace(), experiment, suffix, base=onto, remote=remote, push=not no_push
    )
    _render_published(result, as_json)


@ci_app.command("pr-comment")
def pr_comment(
    ctx: typer.Context,
    base: Annotated[
        str,
        typer.Option("--base", metavar="REV", help="Git revision to compare with (origin/main)."),
    ],
    pr: Annotated[
        int | None, typer.Option("--pr", help="Pull request number (omit: print only).")
    ] = None,
    repository: Annotated[
        str | None,
        typer.Option("--repository", help="owner/repo (default: $GITHUB_REPOSITORY)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """`report compare` for each report the pull request changes, posted as one comment that
    later pushes update. Exit 1 on a significant regression (after posting)."""
    from experimentos.ci import Target
    from experimentos.ci import pr_comment as run

    as_json = want_json(ctx, json_out)
    repository = repository or os.environ.get("GITHUB_REPOSITORY", "")
    target = Target.parse(repository, pr) if pr is not None else None
    result = run(state(ctx).workspace(), base, target)
    if as_json:
        emit_json(result.model_dump(mode="json") | {"regression": result.regression})
    else:
        typer.echo(result.body, nl=False)
        if result.comment is not None:
            verb = "added" if result.comment.created else "updated"
            typer.echo(f"comment {verb}: {result.comment.url}", err=True)
        else:
            typer.echo(f"not posted: {result.error or result.skipped}", err=True)
    if result.regression or result.error:
        raise typer.Exit(EXIT_PROBLEMS)


@ci_app.command("matrix-plan")
def matrix_plan(
    ctx: typer.Context,
    experiment: Annotated[
        str | None,
        typer.Argument(metavar="EXPERIMENT", help="The experiment (or give --label)."),
    ] = None,
    shards: Annotated[str | None, typer.Option("--shards", help="Number of shards.")] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", help="A pull-request label, matrix:<experiment>[:<shards>]."),
    ] = None,
    github_output: Annotated[
        Path | None, typer.Option("--github-output", help="Append the outputs to this file.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """The experiment and shards of a sharded matrix workflow (inputs or a PR label)."""
    from experimentos.ci import plan_matrix

    as_json = want_json(ctx, json_out)
    plan = plan_matrix(
        state(ctx).workspace(), experiment=experiment, shards=shards, label=label or None
    )
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as handle:
            handle.write(plan.outputs())
    if as_json:
        emit_json(plan.model_dump(mode="json"))
    else:
        typer.echo(plan.outputs(), nl=False)
