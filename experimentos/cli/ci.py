"""CLI for what the GitHub workflows run: `experimentos ci …`. Each is one library call
(experimentos/ci/); the workflows call exactly these commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import EXIT_PROBLEMS, Group, JsonFlag, emit_json, state, want_json

ci_app = typer.Typer(
    cls=Group,
    help="What the GitHub workflows run: reports and results onto branches and pull requests, "
    "the pull-request comments, the matrix plan, commit statuses.",
    no_args_is_help=True,
)

Onto = Annotated[
    str | None,
    typer.Option(
        "--onto",
        metavar="BRANCH",
        help="The branch the pull request targets, whose reports the numbers are compared "
        "with (default: the checked out one).",
    ),
]
Remote = Annotated[str, typer.Option("--remote", help="Remote to push the branch to.")]
NoPush = Annotated[bool, typer.Option("--no-push", help="Make the commit; do not push it.")]
Dispatch = Annotated[
    list[str] | None,
    typer.Option(
        "--dispatch",
        help="WORKFLOW[:STATUS]: a workflow file to run on the pushed branch when GitHub starts "
        "none (pushed with GITHUB_TOKEN), and the commit status it reports (default: the "
        "file's stem); repeatable.",
    ),
]
Pr = Annotated[int | None, typer.Option("--pr", help="The pull request number.")]
Repository = Annotated[
    str | None, typer.Option("--repository", help="owner/repo (default: $GITHUB_REPOSITORY).")
]
GithubOutput = Annotated[
    Path | None, typer.Option("--github-output", help="Append step outputs to this file.")
]


def _number(value: str | None, field: str) -> int | None:
    """An optional positive number from a workflow input (empty: none)."""
    from experimentos.errors import UsageError

    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{value!r} is not a number", field=field) from None
    if number < 1:
        raise UsageError(f"{field} must be positive, got {number}", field=field)
    return number


def _append(path: Path | None, text: str) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)


def _render_published(published, as_json: bool) -> None:  # noqa: ANN001 - Published
    if as_json:
        emit_json(published.model_dump(mode="json"))
    else:
        if not published.changed:
            typer.echo(published.note or "nothing changed: no branch, no pull request")
        else:
            state_word = "up to date" if published.up_to_date else "changed"
            typer.echo(
                f"{len(published.changed)} {state_word} file(s) on {published.branch}"
                + (f" ({published.commit[:12]})" if published.commit else "")
            )
            for path in published.changed:
                typer.echo(f"  {path}")
        pull = published.pull_request
        if pull is not None:
            verb = "opened" if pull.created else "updated"
            typer.echo(f"pull request {verb}: {pull.url}")
        elif published.command:
            typer.echo(f"open the pull request with: {published.command}")
            typer.echo(f"({published.pr_skipped})", err=True)
        if published.closed is not None:
            typer.echo(f"closed pull request #{published.closed}: nothing left to do")
        for workflow in published.dispatched:
            typer.echo(f"dispatched {workflow} on {published.branch}")
        if published.note and published.changed:
            typer.echo(published.note)
        if published.pr_error:
            typer.echo(f"GitHub refused: {published.pr_error}", err=True)
    if published.pr_error:
        raise typer.Exit(EXIT_PROBLEMS)


@ci_app.command("sync-reports")
def sync_reports(
    ctx: typer.Context,
    branch: Annotated[str, typer.Option("--branch", help="The pull request's branch (HEAD).")],
    onto: Onto = None,
    pr: Pr = None,
    remote: Remote = "origin",
    no_push: NoPush = False,
    dispatch: Dispatch = None,
    github_output: GithubOutput = None,
    json_out: JsonFlag = False,
) -> None:
    """A pull request from this repository: `report build`, and the changed reports as one
    commit pushed onto its branch (output `pushed=true|false`); checks dispatched."""
    from experimentos.ci import sync_reports as run

    as_json = want_json(ctx, json_out)
    result = run(
        state(ctx).workspace(),
        branch=branch,
        base=onto,
        pr=pr,
        remote=remote,
        push=not no_push,
        dispatch=tuple(dispatch or ()),
    )
    _append(github_output, f"pushed={'true' if result.pushed else 'false'}\n")
    _render_published(result, as_json)


@ci_app.command("publish-reports")
def publish_reports(
    ctx: typer.Context,
    sha: Annotated[str, typer.Option("--sha", help="The commit the reports were built from.")],
    onto: Onto = None,
    remote: Remote = "origin",
    no_push: NoPush = False,
    dispatch: Dispatch = None,
    json_out: JsonFlag = False,
) -> None:
    """After `report build` on a push: the changed reports on xos/reports/<onto> and its one
    pull request, opened or updated in place (closed when nothing is left). Exit 1 when
    GitHub refused."""
    from experimentos.ci import publish_reports as run

    as_json = want_json(ctx, json_out)
    result = run(
        state(ctx).workspace(),
        sha,
        base=onto,
        remote=remote,
        push=not no_push,
        dispatch=tuple(dispatch or ()),
    )
    _render_published(result, as_json)


@ci_app.command("publish-results")
def publish_results(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="The experiment whose runs were merged.")],
    suffix: Annotated[
        str, typer.Option("--suffix", help="Ends the branch name, e.g. the workflow run id.")
    ],
    onto: Onto = None,
    repeats: Annotated[
        str | None,
        typer.Option(
            "--repeats", help="The top-up's repeats: matrix.yaml is raised to it (empty: none)."
        ),
    ] = None,
    pr: Annotated[
        str | None,
        typer.Option("--pr", help="The labelled pull request to tell what happened (empty: none)."),
    ] = None,
    remote: Remote = "origin",
    no_push: NoPush = False,
    dispatch: Dispatch = None,
    json_out: JsonFlag = False,
) -> None:
    """After `matrix merge`: the experiment's reports rebuilt, its new runs, reports and spec on
    xos/results/<experiment>-<suffix> with the numbers in the pull request body."""
    from experimentos.ci import publish_results as run

    as_json = want_json(ctx, json_out)
    result = run(
        state(ctx).workspace(),
        experiment,
        suffix,
        base=onto,
        remote=remote,
        push=not no_push,
        repeats=repeats or None,
        pr=_number(pr, "pr"),
        dispatch=tuple(dispatch or ()),
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
    repository: Repository = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the comments here for a later `ci post-comment`."),
    ] = None,
    head_sha: Annotated[
        str | None, typer.Option("--head-sha", help="The pull request's head commit (links).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """The pull request's comments: the numbers of the matrices it changes (headlines, report
    rows changed against the base, links, `report compare` when runs changed) and the brief
    impact of its knowledge changes. Posted with --pr and a token, or written to --out.
    Exit 1 on a significant regression (after writing or posting)."""
    from experimentos.ci import pr_comment as run

    as_json = want_json(ctx, json_out)
    result = run(
        state(ctx).workspace(),
        base,
        pr=pr,
        repository=repository,
        out=out,
        head_sha=head_sha,
    )
    if as_json:
        emit_json(result.model_dump(mode="json") | {"regression": result.regression})
    else:
        if result.comments:
            typer.echo(result.body, nl=False)
        else:
            typer.echo("nothing to comment on: no run, report, matrix or knowledge change")
        for posted in result.posted:
            verb = "added" if posted.created else "updated"
            typer.echo(f"{posted.kind} comment {verb}: {posted.url}", err=True)
        if not result.posted:
            typer.echo(f"not posted: {result.error or result.skipped}", err=True)
    if result.regression or result.error:
        raise typer.Exit(EXIT_PROBLEMS)


@ci_app.command("post-comment")
def post_comment(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="What `ci pr-comment --out` wrote.")],
    head_sha: Annotated[
        str, typer.Option("--head-sha", help="The commit the check run checked (from the event).")
    ],
    repository: Repository = None,
    json_out: JsonFlag = False,
) -> None:
    """From a workflow_run job: post the comments a check run wrote, on its pull request, once
    GitHub confirms that pull request's head is --head-sha. The directory is untrusted data."""
    from experimentos.ci import post_comment as run

    as_json = want_json(ctx, json_out)
    result = run(directory, head_sha=head_sha, repository=repository)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    for posted in result.posted:
        verb = "added" if posted.created else "updated"
        typer.echo(f"{posted.kind} comment {verb} on #{result.pr}: {posted.url}")
    if result.skipped:
        typer.echo(f"not posted: {result.skipped}")


@ci_app.command("set-status")
def set_status(
    sha: Annotated[str, typer.Option("--sha", help="The commit the checks ran on.")],
    result: Annotated[
        str, typer.Option("--result", help="The job's result: success, failure, cancelled.")
    ],
    context: Annotated[str, typer.Option("--context", help="The status name.")] = "check",
    target_url: Annotated[
        str | None, typer.Option("--target-url", help="Where the run's log is.")
    ] = None,
    repository: Repository = None,
) -> None:
    """A dispatched check's result as a commit status, so it shows on the pull request of that
    commit (GitHub lists only push and pull_request runs there)."""
    from experimentos.ci import github
    from experimentos.errors import UsageError

    state_name = github.STATE_OF_RESULT.get(result.strip().lower())
    if state_name is None:
        raise UsageError(
            f"unknown result {result!r} (success, failure or cancelled)", field="result"
        )
    tok = github.token()
    if tok is None:
        raise UsageError("GITHUB_TOKEN is not set", field="token")
    github.set_status(
        github.Repository.parse(repository),
        sha.strip(),
        state_name,
        tok,
        context=context,
        description=f"dispatched check: {result}",
        target_url=target_url,
    )
    typer.echo(f"status {context}={state_name} on {sha[:12]}")


@ci_app.command("matrix-plan")
def matrix_plan(
    ctx: typer.Context,
    experiment: Annotated[
        str | None,
        typer.Argument(metavar="[EXPERIMENT]", help="The experiment (or give --label)."),
    ] = None,
    repeats: Annotated[
        str | None, typer.Option("--repeats", help="Repeats per cell to bring it up to.")
    ] = None,
    shards: Annotated[str | None, typer.Option("--shards", help="Number of shards.")] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", help="A PR label matrix:<exp>[:<repeats>[:<shards>]]."),
    ] = None,
    github_output: GithubOutput = None,
    json_out: JsonFlag = False,
) -> None:
    """The experiment, repeats and shards of a sharded matrix run, and how many runs are
    missing (0: nothing to run; no shard starts)."""
    from experimentos.ci import plan_matrix

    as_json = want_json(ctx, json_out)
    plan = plan_matrix(
        state(ctx).workspace(),
        experiment=experiment or None,
        repeats=repeats or None,
        shards=shards or None,
        label=label or None,
    )
    _append(github_output, plan.outputs())
    if as_json:
        emit_json(plan.model_dump(mode="json"))
    else:
        typer.echo(plan.outputs(), nl=False)
        typer.echo(plan.summary(), err=True)
