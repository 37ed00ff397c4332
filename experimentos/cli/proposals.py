"""CLI for proposals: `propose FILE…` and `proposals list|show|push`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import (
    EXIT_PROBLEMS,
    Group,
    JsonFlag,
    Onto,
    emit_json,
    plural,
    state,
    want_json,
)

proposals_app = typer.Typer(
    cls=Group, help="Review and push proposals (xos/ branches holding knowledge changes)."
)

Why = Annotated[str, typer.Option("--why", help="Why the change is right (in the commit).")]

Evidence = Annotated[
    list[str] | None,
    typer.Option("--evidence", help="Evidence id (repeat, or comma-separate)."),
]


def split_ids(values: list[str] | None) -> list[str]:
    return [part.strip() for item in values or [] for part in item.split(",") if part.strip()]


def print_proposal(proposal) -> None:  # noqa: ANN001 - Proposal, imported lazily
    """What a new proposal holds, and what to do next."""
    from experimentos.proposals.diff import describe

    typer.echo(f"proposed {proposal.name} ({proposal.commit[:12]}) against {proposal.base}")
    for page in proposal.pages:
        typer.echo(f"  {describe(page)}")
    typer.echo(f"review: experimentos proposals show {proposal.name}")
    typer.echo(f"push:   experimentos proposals push {proposal.name}")


def propose(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(metavar="PAGE_FILE", help="Page files written by hand.")
    ],
    why: Why,
    evidence: Evidence = None,
    slug: Annotated[
        str | None, typer.Option("--slug", help="Branch slug (default: the page id).")
    ] = None,
    onto: Onto = None,
    json_out: JsonFlag = False,
) -> None:
    """Propose page files on a new xos/page/<slug> branch; your working tree is not touched."""
    from experimentos.proposals import propose_files

    as_json = want_json(ctx, json_out)
    proposal = propose_files(
        state(ctx).workspace(),
        files,
        why=why,
        evidence=split_ids(evidence),
        slug=slug,
        base=onto,
    )
    if as_json:
        emit_json(proposal.model_dump(mode="json"))
    else:
        print_proposal(proposal)


@proposals_app.command("list")
def proposals_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List proposal branches (xos/...) with their base and where they were pushed."""
    from experimentos.proposals import list_proposals

    as_json = want_json(ctx, json_out)
    proposals = list_proposals(state(ctx).workspace())
    if as_json:
        emit_json([p.model_dump(mode="json") for p in proposals])
        return
    width = max((len(p.name) for p in proposals), default=0)
    for p in proposals:
        pushed = f"  pushed: {', '.join(p.pushed_to)}" if p.pushed_to else ""
        merged = "  merged" if p.merged else ""
        typer.echo(f"{p.name:<{width}}  {p.commit[:12]}  base {p.base or '?'}{merged}{pushed}")
    typer.echo(plural(len(proposals), "proposal"), err=True)


@proposals_app.command("show")
def proposals_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Proposal branch (xos/ optional).")],
    no_diff: Annotated[bool, typer.Option("--no-diff", help="Only the summary.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """A proposal's pages added, fields changed and status transitions, then its diff."""
    from experimentos.proposals import show_proposal
    from experimentos.proposals.diff import describe

    as_json = want_json(ctx, json_out)
    detail = show_proposal(state(ctx).workspace(), name, with_diff=not no_diff)
    if as_json:
        emit_json(detail.model_dump(mode="json"))
        return
    typer.echo(f"{detail.name}  {detail.commit[:12]}  base {detail.base or '?'}")
    typer.echo(f"{detail.subject}  ({plural(detail.commits, 'commit')})")
    typer.echo("")
    typer.echo(f"why: {detail.why or '(not stated)'}")
    if detail.evidence:
        typer.echo(f"evidence: {', '.join(detail.evidence)}")
    typer.echo("")
    for page in detail.pages:
        typer.echo(f"  {describe(page)}")
    for other in detail.other_files:
        typer.echo(f"  {other.change} {other.path} (not a page)")
    if detail.diff:
        typer.echo("")
        typer.echo(detail.diff, nl=False)


@proposals_app.command("push")
def proposals_push(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Proposal branch (xos/ optional).")],
    remote: Annotated[str, typer.Option("--remote", help="Remote to push to.")] = "origin",
    json_out: JsonFlag = False,
) -> None:
    """Push a proposal; open its pull request when GITHUB_TOKEN is set and the remote is GitHub."""
    from experimentos.proposals import push_proposal

    as_json = want_json(ctx, json_out)
    result = push_proposal(state(ctx).workspace(), name, remote)
    if as_json:
        emit_json(result.model_dump(mode="json"))
    else:
        typer.echo(f"pushed {result.name} to {result.remote} ({result.remote_url})")
        if result.pull_request:
            verb = "opened" if result.pull_request.created else "already open:"
            typer.echo(f"pull request {verb} {result.pull_request.url}")
        else:
            reason = result.pr_error or result.pr_skipped
            typer.echo(f"no pull request: {reason}", err=True)
            typer.echo(f"open one with: {result.command}")
            if result.compare_url:
                typer.echo(f"or in a browser: {result.compare_url}")
    if result.pr_error:  # the push worked, the pull request did not
        raise typer.Exit(EXIT_PROBLEMS)
