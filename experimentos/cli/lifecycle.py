"""CLI for the knowledge lifecycle: `ingest issue`, `doctor`, `cite add`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from experimentos.cli._common import (
    EXIT_PROBLEMS,
    Group,
    JsonFlag,
    ProposeBase,
    PushFlag,
    PushRemote,
    emit_json,
    state,
    want_json,
)

ingest_app = typer.Typer(
    cls=Group,
    help="Turn outside knowledge (GitHub issue threads) into proposals.",
    no_args_is_help=True,
)
cite_app = typer.Typer(
    cls=Group, help="Record the code a page is about, with its hash.", no_args_is_help=True
)

RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="Repository the cited paths are in (default: the git root)."),
]


@ingest_app.command("issue")
def ingest_issue(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            metavar="FILE",
            help="The issue JSON (REST issue + comments, or `gh issue view --json …`); - reads "
            "stdin.",
        ),
    ] = None,
    fetch: Annotated[
        str | None,
        typer.Option(
            "--fetch",
            metavar="OWNER/REPO#N",
            help="Fetch the thread from the GitHub API (token from GITHUB_TOKEN or GH_TOKEN). "
            "The whole fetch (every request and read) must finish within --fetch-deadline.",
        ),
    ] = None,
    fetch_deadline: Annotated[
        float | None,
        typer.Option(
            "--fetch-deadline",
            metavar="SECONDS",
            min=0.001,
            max=86400,
            help="Deadline for the whole fetch, every request and read together (default: "
            "EXPERIMENTOS_GITHUB_DEADLINE, else 120).",
        ),
    ] = None,
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo", help="Repository whose installed version the claims are aligned with."
        ),
    ] = None,
    library: Annotated[
        str | None,
        typer.Option(
            "--library", help="The library the thread is about (default: read from the thread)."
        ),
    ] = None,
    version_range: Annotated[
        str | None,
        typer.Option(
            "--range",
            help="The version range the thread is about (default: read "
            "from the versions it names).",
        ),
    ] = None,
    base: ProposeBase = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be proposed.")
    ] = False,
    push: PushFlag = False,
    remote: PushRemote = "origin",
    json_out: JsonFlag = False,
) -> None:
    """Propose a source page and draft claims for a GitHub issue thread (never your work tree)."""
    from experimentos.errors import UsageError
    from experimentos.lifecycle.ingest import fetch_issue, ingest_issue, read_payload
    from experimentos.lifecycle.ingest.run import check_scope_options
    from experimentos.lifecycle.ingest.thread import MAX_PAYLOAD_BYTES, read_payload_file

    as_json = want_json(ctx, json_out)
    if (file is None) == (fetch is None):
        raise UsageError("give the issue as FILE (or - for stdin), or --fetch OWNER/REPO#N")
    library, version_range = check_scope_options(library, version_range)  # before any fetch
    if fetch is not None:
        thread = fetch_issue(fetch, deadline=fetch_deadline)
    elif file == "-":
        thread = read_payload(sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1), "<stdin>")
    else:
        thread = read_payload_file(Path(file))
    workspace = state(ctx).workspace()
    result = ingest_issue(
        workspace,
        thread,
        repo=repo,
        library=library,
        version_range=version_range,
        base=base,
        dry_run=dry_run,
        push=push,
        remote=remote,
    )
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    _print_ingest(result, dry_run)


def _print_ingest(result, dry_run: bool) -> None:  # noqa: ANN001 - IngestResult, lazily imported
    scope = f"{result.library or 'no library named'} {result.range or ''}".rstrip()
    typer.echo(f"{result.thread} ({result.state}, {result.comments} comments): {scope}")
    if result.range_how:
        typer.echo(f"  versions: {result.range_how}")
    typer.echo(f"  alignment: {result.alignment.verdict}: {result.alignment.reason}")
    typer.echo(f"  source: {result.source}")
    if not result.claims:
        typer.echo("  no actionable advice found")
    for claim in result.claims:
        notes = [f"by {', '.join('@' + a for a in claim.said_by)}"]
        if claim.maintainer:
            notes.append("maintainer")
        notes += [f"{c.kind} by @{c.by}" for c in claim.corrections]
        if claim.contradicts:
            notes.append(f"contradicts {', '.join(claim.contradicts)}")
        outcome = "" if claim.outcome == "planned" else f" [{claim.outcome}]"
        typer.echo(f"  {claim.id}{outcome}")
        typer.echo(f"      {claim.action} ({'; '.join(notes)})")
    if dry_run:
        typer.echo("dry run: nothing proposed")
        return
    if result.up_to_date:
        typer.echo("up to date: the base branch already holds all of it")
        return
    if result.already_proposed:
        typer.echo(f"already proposed: {result.already_proposed} holds all of it")
        typer.echo(f"review: experimentos proposals show {result.already_proposed}")
        return
    from experimentos.cli.proposals import print_proposal

    print_proposal(result.proposal)
    if result.pushed is not None:
        pr = result.pushed.pull_request
        typer.echo(
            f"pull request: {pr.url}"
            if pr
            else f"no pull request: {result.pushed.pr_error or result.pushed.pr_skipped}"
        )


def doctor(
    ctx: typer.Context,
    repo: RepoOption = None,
    duplicates: Annotated[
        bool,
        typer.Option(
            "--duplicates/--no-duplicates",
            help="Look for near-duplicate pages in the index's vectors.",
        ),
    ] = True,
    similarity: Annotated[
        float,
        typer.Option(
            "--similarity",
            min=0.01,
            max=1.0,
            help="Cosine similarity from which two pages are near-duplicates.",
        ),
    ] = 0.95,
    json_out: JsonFlag = False,
) -> None:
    """Knowledge health: stale citations and dependencies, expiry, contradictions; exit 1 on any."""
    from experimentos.lifecycle.health import doctor as run_doctor

    as_json = want_json(ctx, json_out)
    report = run_doctor(state(ctx).workspace(), repo, duplicates=duplicates, threshold=similarity)
    problems = report.problems()
    if as_json:
        emit_json(report.model_dump(mode="json") | {"ok": not problems})
    else:
        for problem in problems:
            typer.echo(str(problem))
        cites = ", ".join(f"{n} {status}" for status, n in sorted(report.cites.items()))
        typer.echo(f"{report.pages} pages; citations: {cites or 'none'} (against {report.repo})")
        scan = report.duplicates
        if scan is not None:
            if scan.ran:
                typer.echo(
                    f"near-duplicates: {scan.pairs} pair(s) at similarity >= "
                    f"{scan.threshold} among {scan.pages} indexed pages"
                )
            if scan.reason:
                typer.echo(f"note: {scan.reason}")
        for c in report.contradictions:
            if c.kind == "overruled":
                typer.echo(f"note: the reviewed rule overrules accepted evidence: {c.a} / {c.b}")
        if report.unreadable_pages:
            typer.echo(
                f"note: {report.unreadable_pages} page file(s) do not parse; run "
                "`experimentos check`"
            )
        typer.echo(f"{len(problems)} finding(s)")
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)


@cite_app.command("add")
def cite_add(
    ctx: typer.Context,
    page_id: Annotated[str, typer.Argument(metavar="PAGE", help="Page id.")],
    spec: Annotated[
        str, typer.Argument(metavar="PATH[:A-B]", help="The file, or lines A-B of it.")
    ],
    repo: RepoOption = None,
    propose: Annotated[
        bool,
        typer.Option("--propose", help="Commit the change on a new xos/ branch instead."),
    ] = False,
    why: Annotated[str, typer.Option("--why", help="With --propose: why.")] = "",
    base: Annotated[
        str | None, typer.Option("--base", help="With --propose: the branch to propose against.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Record a code citation (path, lines, sha256) in a page; re-pointing a drifted one."""
    from experimentos.lifecycle.cites import CiteChange, add_cite, plan_cite

    as_json = want_json(ctx, json_out)
    workspace = state(ctx).workspace()
    if propose:
        from experimentos.cli.knowledge import _show_proposal
        from experimentos.proposals import propose as make_proposal

        cite, _ = plan_cite(workspace, page_id, spec, repo, Path.cwd())
        where = cite.path + (f":{cite.lines}" if cite.lines else "")
        proposal = make_proposal(
            workspace,
            [CiteChange(page_id, cite)],
            kind="cite",
            slug=page_id,
            why=why.strip() or f"Cite {where} in {page_id}",
        )
        _show_proposal(proposal, as_json)
        return
    added, _ = add_cite(workspace, page_id, spec, repo, Path.cwd())
    if as_json:
        emit_json(added.model_dump(mode="json", by_alias=True))
        return
    where = added.cite.path + (f":{added.cite.lines}" if added.cite.lines else "")
    if added.action == "moved" and added.replaced is not None:
        typer.echo(
            f"{added.page}: citation moved from lines {added.replaced.lines} to "
            f"{added.cite.lines} of {added.cite.path} (same text)"
        )
    else:
        typer.echo(
            f"{added.page}: {added.action} citation {where} (sha256 {added.cite.sha256[:12]}…)"
        )
