"""CLI for the promotion gate: `promote PAGE --matrix ID` and `candidates EXP`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from experimentos.cli._common import (
    EXIT_PROBLEMS,
    JsonFlag,
    ProposeBase,
    PushFlag,
    PushRemote,
    emit_json,
    plural,
    state,
    want_json,
)

if TYPE_CHECKING:
    from experimentos.promote import CandidatesResult, GateResult, PromotionResult

MetricOption = Annotated[
    str,
    typer.Option("--metric", help="The pass/fail metric the gate decides on (clean_pass, pass…)."),
]


def _expiry(value: str | None) -> dt.date | str | None:
    from experimentos.errors import UsageError

    if value is None or value.strip().lower() == "never":
        return None if value is None else "never"
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"--expires {value!r} is not a date (YYYY-MM-DD) or never", field="expires"
        ) from None


def promote(
    ctx: typer.Context,
    page: Annotated[str, typer.Argument(metavar="PAGE", help="The policy or intervention id.")],
    matrix: Annotated[
        str,
        typer.Option(
            "--matrix", metavar="MATRIX-ID", help="The matrix whose runs decide (<id> or EXP/<id>)."
        ),
    ],
    metric: MetricOption = "clean_pass",
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", help="Who reviews the promotion (default: git user.name)."),
    ] = None,
    override: Annotated[
        bool,
        typer.Option(
            "--override",
            help="Accept the page although the gate did not pass (needs --rationale and "
            "--reviewer); recorded in the page.",
        ),
    ] = False,
    rationale: Annotated[
        str | None,
        typer.Option("--rationale", help="Why (with --override); otherwise a note for the review."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Review expiry: YYYY-MM-DD, or never (default: keep)."),
    ] = None,
    base: ProposeBase = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute the gate and show the page; propose nothing.")
    ] = False,
    push: PushFlag = False,
    remote: PushRemote = "origin",
    json_out: JsonFlag = False,
) -> None:
    """Compute the promotion gate from a matrix; if it passes, propose the page as accepted.

    Exit 1 with the numbers (and the repeats needed) when it fails; never writes your tree."""
    from experimentos.promote import promote as run_promote

    as_json = want_json(ctx, json_out)
    result = run_promote(
        state(ctx).workspace(),
        page,
        matrix,
        metric=metric,
        reviewer=reviewer,
        override=override,
        rationale=rationale,
        expires=_expiry(expires),  # type: ignore[arg-type]
        base=base,
        dry_run=dry_run,
        push=push,
        remote=remote,
    )
    if as_json:
        emit_json(result.model_dump(mode="json"))
    else:
        _print_promotion(result, dry_run)
    if not result.promoted:
        raise typer.Exit(EXIT_PROBLEMS)


def print_gate(gate: GateResult) -> None:
    from experimentos.promote.gate import describe

    verdict = "passed" if gate.passed else "did not pass"
    typer.echo(f"gate {verdict}: {gate.page} ({gate.status}) on matrix {gate.matrix}")
    if gate.basis == "ablation":
        typer.echo(f"  comparison: `{gate.treatment}` vs `{gate.baseline}` (the page's ablation)")
    elif gate.basis is not None:
        typer.echo(
            f"  comparison: `{gate.treatment}` vs `{gate.baseline}` on "
            f"{', '.join(gate.fixtures) or 'no fixture'} (by {gate.basis})"
        )
    for name, why in gate.fixture_notes.items():
        typer.echo(f"    {name}: {why}")
    if gate.basis is not None:
        typer.echo(
            f"  served: in {gate.served_runs} of {gate.brief_runs} `{gate.treatment}` runs "
            "(the MCP server's log); only their blocks are compared"
        )
    if gate.primary is not None:
        typer.echo(f"  {gate.headline()}")
        typer.echo(f"  verdict: {gate.primary.verdict}")
    if gate.holm_family:
        typer.echo(f"  Holm family (as the report prints it): {', '.join(gate.holm_family)}")
    if gate.checks:
        bad = gate.regressions
        typer.echo(
            f"  other outcomes: {plural(len(gate.checks), 'comparison')} (Holm), "
            + (f"{plural(len(bad), 'significant regression')}" if bad else "no regression")
        )
        for d in bad:
            typer.echo(f"    {describe(d)}")
    costs = [describe(d) for d in gate.costs if d.delta]
    if costs:
        typer.echo("  costs (not gating): " + "; ".join(costs))
    elif gate.costs:
        typer.echo("  costs (not gating): no change in churn, tokens, cost or time")
    for reason in gate.reasons:
        typer.echo(f"  why not: {reason}")
    if gate.repeats_needed is not None:
        typer.echo(f"  repeats needed: about {gate.repeats_needed}")
    for note in gate.notes:
        typer.echo(f"  note: {note}")


def _print_promotion(result: PromotionResult, dry_run: bool) -> None:
    print_gate(result.gate)
    for note in result.notes:
        typer.echo(f"note: {note}")
    if not result.promoted:
        typer.echo(
            "nothing proposed: the gate did not pass (a person may accept the page anyway with "
            "--override --rationale TEXT --reviewer NAME)"
        )
        return
    if result.override:
        typer.echo(f"override by {result.reviewer}: recorded in review.gate and the page body")
    if dry_run:
        typer.echo("dry run: nothing proposed; the page would read:\n")
        typer.echo(result.page_text or "")
        return
    from experimentos.cli.proposals import print_proposal

    assert result.proposal is not None
    print_proposal(result.proposal)
    if result.pushed is not None:
        pr = result.pushed.pull_request
        typer.echo(
            f"pull request: {pr.url}"
            if pr
            else f"no pull request: {result.pushed.pr_error or result.pushed.pr_skipped}"
        )


def candidates(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(metavar="EXP", help="The experiment (slug or id).")],
    metric: MetricOption = "clean_pass",
    json_out: JsonFlag = False,
) -> None:
    """Pages the matrices of an experiment suggest promoting, demoting or re-testing."""
    from experimentos.promote import candidates as find

    as_json = want_json(ctx, json_out)
    result = find(state(ctx).workspace(), experiment, metric)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    _print_candidates(result)


def _print_candidates(result: CandidatesResult) -> None:
    from experimentos.promote.gate import p_text
    from experimentos.stats import fmt_interval, fmt_signed

    typer.echo(f"{result.experiment}: {', '.join(result.matrices)} ({result.metric})")
    for suggestion in ("promote", "demote", "retest"):
        found = result.by(suggestion)  # type: ignore[arg-type]
        typer.echo(f"{suggestion} ({len(found)})")
        for c in found:
            numbers = (
                f"{fmt_signed(c.delta)} {fmt_interval(c.low, c.high, signed=True)} over "
                f"{c.pairs} pairs, p {p_text(c.p_value)}"
            )
            if c.p_adjusted is not None:
                numbers += f", Holm {p_text(c.p_adjusted)}"
            typer.echo(f"  {c.page} [{c.status}] on {c.matrix}: {numbers}")
            typer.echo(f"      {c.why}")
    untested = result.by("test")
    if untested:
        typer.echo(f"test ({len(untested)})")
        for c in untested:
            typer.echo(f"  {c.page} [{c.status}] on {c.matrix}: never ablated")
            typer.echo(f"      {c.why}")
    rest = result.by("none")
    if rest:
        typer.echo(f"nothing to suggest ({len(rest)}): " + ", ".join(c.page for c in rest))
    for skipped in result.skipped:
        typer.echo(f"skipped: {skipped}, not in the knowledge base")
