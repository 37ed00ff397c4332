"""CLI for runs: `run start|event|finish|show|list`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from experimentos.cli._common import Group, JsonFlag, emit_json, plural, state, want_json
from experimentos.cli.experiments import record_json
from experimentos.store.parse import load_json

run_app = typer.Typer(cls=Group, help="Runs: records of agent runs and their event logs.")

RunArg = Annotated[str, typer.Argument(metavar="RUN_ID", help="Run id, run.<slug>.")]


def _ts(value) -> str:  # noqa: ANN001 - datetime or None
    return value.isoformat().replace("+00:00", "Z") if value else "-"


@run_app.command("start")
def run_start(
    ctx: typer.Context,
    experiment: Annotated[
        str, typer.Option("--experiment", help="The experiment the run belongs to (must exist).")
    ],
    task: Annotated[str, typer.Option("--task", help="What the agent is asked to do.")],
    agent: Annotated[str | None, typer.Option("--agent", help="e.g. opencode.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="e.g. gemma-3-27b.")] = None,
    toolchain: Annotated[str | None, typer.Option("--toolchain", help="e.g. shell.")] = None,
    condition: Annotated[
        str | None, typer.Option("--condition", help="Experimental condition, e.g. brief.")
    ] = None,
    brief: Annotated[str | None, typer.Option("--brief", help="Id of the brief given.")] = None,
    run_id: Annotated[
        str | None, typer.Option("--id", help="Run id (default: run.<UTC time>-<random>).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Record the start of a run; prints its id."""
    from experimentos.lab.runs import start_run

    as_json = want_json(ctx, json_out)
    record = start_run(
        state(ctx).workspace(),
        experiment,
        task,
        agent=agent,
        model=model,
        toolchain=toolchain,
        condition=condition,
        brief=brief,
        run_id=run_id,
    )
    if as_json:
        emit_json(record_json(record.model, record.path))
    else:
        typer.echo(record.model.id)
        typer.echo(f"started {record.path}", err=True)


@run_app.command("event")
def run_event(
    ctx: typer.Context,
    run_id: RunArg,
    event_type: Annotated[
        str,
        typer.Argument(
            metavar="TYPE", help="Event type, e.g. file_edited or test_run (custom: x-…)."
        ),
    ],
    payload: Annotated[
        str, typer.Option("--payload", help='JSON object, e.g. \'{"path": "src/a.py"}\'.')
    ] = "{}",
    source: Annotated[str, typer.Option("--source", help="agent (default) or server.")] = "agent",
    json_out: JsonFlag = False,
) -> None:
    """Append an event to a run's log (validated against the event contract)."""
    from experimentos.errors import UsageError
    from experimentos.lab.runs import append_event

    as_json = want_json(ctx, json_out)
    try:
        data = load_json(payload)
    except ValueError as exc:
        raise UsageError(f"--payload is not JSON: {exc}", field="payload") from None
    event = append_event(state(ctx).workspace(), run_id, event_type, data, source)
    if as_json:
        emit_json(json.loads(event.to_line()))
    else:
        typer.echo(f"{run_id} step {event.step}: {event.type}")


@run_app.command("finish")
def run_finish(
    ctx: typer.Context,
    run_id: RunArg,
    status: Annotated[
        str, typer.Option("--status", help="finished (default), failed or aborted.")
    ] = "finished",
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="success, failure or partial.")
    ] = None,
    summary: Annotated[str, typer.Option("--summary", help="Human summary (the body).")] = "",
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Extra metric NAME=VALUE (repeat), e.g. oracle results."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """End a run: status, outcome, summary, and metrics computed from its events."""
    from experimentos.errors import UsageError
    from experimentos.lab.experiments import parse_metric_value
    from experimentos.lab.runs import finish_run

    as_json = want_json(ctx, json_out)
    extra = {}
    for item in metric or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--metric {item!r} must look like NAME=VALUE", field="metrics")
        extra[name.strip()] = parse_metric_value(value)
    record = finish_run(state(ctx).workspace(), run_id, status, outcome, summary, extra)
    run = record.model
    if as_json:
        emit_json(record_json(run, record.path))
        return
    typer.echo(f"{run.id} {run.status.value}" + (f" ({run.outcome.value})" if run.outcome else ""))
    for name, value in run.metrics.items():
        typer.echo(f"  {name:<32} {value}")


@run_app.command("show")
def run_show(ctx: typer.Context, run_id: RunArg, json_out: JsonFlag = False) -> None:
    """Show a run: its record, its events and where it stands on the completion contract."""
    from experimentos.lab.runs import completion_report, read_events, read_run

    as_json = want_json(ctx, json_out)
    workspace = state(ctx).workspace()
    record = read_run(workspace, run_id)
    log = read_events(workspace, run_id)
    report = completion_report(run_id, log.events)
    if as_json:
        emit_json(
            {
                **record_json(record.model, record.path),
                "events": [json.loads(e.to_line()) for e in log.events],
                "eventProblems": [p.model_dump() for p in log.problems],
                "completion": report.model_dump(mode="json"),
            }
        )
        return
    typer.echo(record.raw.decode("utf-8"), nl=False)
    typer.echo(f"\nevents ({log.path}): {len(log.events)}")
    for event in log.events:
        body = json.dumps(event.payload, ensure_ascii=False)
        typer.echo(f"  {event.step:>4}  {_ts(event.ts)}  {event.source:<6}  {event.type}  {body}")
    for problem in log.problems:
        typer.echo(str(problem), err=True)
    typer.echo(f"\ncompletion contract ({report.evidence} evidence):")
    for step in report.steps:
        typer.echo(f"  {step.state.value:<8} {step.title}: {step.detail}")


@run_app.command("list")
def run_list(
    ctx: typer.Context,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="Only runs of this experiment.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="running, finished, failed or aborted.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List runs by start time, optionally of one experiment and one status."""
    from experimentos.lab.runs import list_runs

    as_json = want_json(ctx, json_out)
    runs = list_runs(state(ctx).workspace(), experiment, status)
    if as_json:
        emit_json([record_json(r) for r in runs])
        return
    for r in runs:
        outcome = r.outcome.value if r.outcome else "-"
        typer.echo(
            f"{r.id}  {r.status.value:<8}  {outcome:<7}  {_ts(r.started)}  {r.experiment}  {r.task}"
        )
    typer.echo(plural(len(runs), "run"), err=True)
