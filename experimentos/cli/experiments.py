"""CLI for experiments and their tests: `exp …` and `test …`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from experimentos.cli._common import (
    EXIT_PROBLEMS,
    Group,
    JsonFlag,
    emit_json,
    plural,
    state,
    want_json,
)

exp_app = typer.Typer(cls=Group, help="Experiments: create, list, tree, show, lifecycle, delete.")
test_app = typer.Typer(cls=Group, help="Tests of an experiment: assertions and their verdicts.")

ExpArg = Annotated[
    str, typer.Argument(metavar="EXPERIMENT", help="Experiment slug (or experiment.<slug>).")
]
ExpFilter = Annotated[
    str | None,
    typer.Argument(
        metavar="EXPERIMENT",
        help="Only this experiment (slug or experiment.<slug>).",
        show_default=False,
    ),
]


class Verdict(StrEnum):
    """A test's verdict: the same three words in `test list`, the MCP tools and the files."""

    passed = "passed"
    failed = "failed"
    unset = "unset"


def record_json(model, path: str | None = None) -> dict:  # noqa: ANN001 - a lab record
    """A record as JSON: its frontmatter fields, its path and its body."""
    data = model.model_dump(mode="json", by_alias=True)
    if path:
        data["path"] = path
    data["body"] = model.body
    return data


def _table(rows: list[list[str]]) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[-1]]).rstrip())


# --- exp -------------------------------------------------------------------------------------


@exp_app.command("new")
def exp_new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Experiment name; the slug is derived from it.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="ml, rl, analysis, backtest, paper, bot, agent, research, hypothesis, "
            "optimization, ablation or sweep.",
        ),
    ],
    parent: Annotated[
        str | None, typer.Option("--parent", help="Slug of the parent experiment.")
    ] = None,
    hypothesis: Annotated[str, typer.Option("--hypothesis", help="What it tests.")] = "",
    json_out: JsonFlag = False,
) -> None:
    """Create an experiment (draft) under experiments/<slug>/."""
    from experimentos.lab.experiments import new_experiment

    as_json = want_json(ctx, json_out)
    record = new_experiment(state(ctx).workspace(), name, kind, parent, hypothesis)
    if as_json:
        emit_json(record_json(record.model, record.path))
    else:
        typer.echo(f"created {record.path} ({record.model.id}, draft)")


@exp_app.command("list")
def exp_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="Only children of this experiment.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List experiments, optionally filtered by kind, status and parent."""
    from experimentos.lab.experiments import list_experiments

    as_json = want_json(ctx, json_out)
    experiments = list_experiments(state(ctx).workspace(), kind, status, parent)
    if as_json:
        emit_json([record_json(e) for e in experiments])
        return
    _table([[e.id, e.status.value, e.kind.value, e.parent or "-", e.name] for e in experiments])
    typer.echo(plural(len(experiments), "experiment"), err=True)


@exp_app.command("tree")
def exp_tree(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Show experiments nested under their parents."""
    from experimentos.lab.experiments import experiment_tree

    as_json = want_json(ctx, json_out)
    tree = experiment_tree(state(ctx).workspace())
    if as_json:
        emit_json(tree.model_dump(mode="json"))
        return

    def walk(nodes, depth: int) -> None:  # noqa: ANN001
        for node in nodes:
            note = f"  ! {node.problem}" if node.problem else ""
            typer.echo(f"{'  ' * depth}{node.id}  [{node.status}]  {node.kind}  {node.name}{note}")
            walk(node.children, depth + 1)

    walk(tree.roots, 0)
    for problem in tree.problems:
        typer.echo(str(problem), err=True)
    if not tree.roots:
        typer.echo("no experiments yet; create one with `experimentos exp new`", err=True)


@exp_app.command("show")
def exp_show(ctx: typer.Context, experiment: ExpArg, json_out: JsonFlag = False) -> None:
    """Show an experiment with counts of its runs and tests (passed/failed)."""
    from experimentos.lab.experiments import describe_experiment

    as_json = want_json(ctx, json_out)
    summary = describe_experiment(state(ctx).workspace(), experiment)
    exp = summary.experiment
    if as_json:
        data = summary.model_dump(mode="json", exclude={"experiment"})
        emit_json({**record_json(exp), **data})
        return
    typer.echo(f"{exp.id}  [{exp.status.value}]  {exp.kind.value}  {exp.name}")
    typer.echo(f"  path        {summary.path}")
    typer.echo(f"  created     {exp.created.isoformat().replace('+00:00', 'Z')}")
    if exp.parent:
        typer.echo(f"  parent      {exp.parent}")
    if summary.children:
        typer.echo(f"  children    {', '.join(summary.children)}")
    if exp.hypothesis:
        typer.echo(f"  hypothesis  {exp.hypothesis}")
    if exp.metrics:
        metrics = ", ".join(f"{k}={v}" for k, v in exp.metrics.items())
        typer.echo(f"  metrics     {metrics}")
    by_status = ", ".join(f"{n} {s}" for s, n in summary.runs_by_status.items() if n)
    typer.echo(f"  runs        {summary.runs}" + (f" ({by_status})" if by_status else ""))
    typer.echo(
        f"  tests       {summary.tests} ({summary.tests_passed} passed, "
        f"{summary.tests_failed} failed, {summary.tests_unevaluated} not evaluated)"
    )
    for change in exp.status_history:
        at = change.at.isoformat().replace("+00:00", "Z")
        note = f"  ({change.note})" if change.note else ""
        typer.echo(f"  status      {change.from_.value} -> {change.to.value} at {at}{note}")
    for problem in summary.problems:
        typer.echo(str(problem), err=True)


@exp_app.command("set-status")
def exp_set_status(
    ctx: typer.Context,
    experiment: ExpArg,
    status: Annotated[
        str, typer.Argument(metavar="STATUS", help="draft, running, interpreted or archived.")
    ],
    note: Annotated[str, typer.Option("--note", help="Why (kept in the status history).")] = "",
    json_out: JsonFlag = False,
) -> None:
    """Move an experiment along draft -> running -> interpreted -> archived."""
    from experimentos.lab.experiments import set_experiment_status

    as_json = want_json(ctx, json_out)
    record = set_experiment_status(state(ctx).workspace(), experiment, status, note)
    if as_json:
        emit_json(record_json(record.model, record.path))
    else:
        typer.echo(f"{record.model.id} is now {record.model.status.value}")


@exp_app.command("set-metric")
def exp_set_metric(
    ctx: typer.Context,
    experiment: ExpArg,
    name: Annotated[str, typer.Argument(help="Metric name, e.g. success_rate.")],
    value: Annotated[str | None, typer.Argument(help="A number, true/false, or text.")] = None,
    unset: Annotated[bool, typer.Option("--unset", help="Remove the metric.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Set (or --unset) one of an experiment's aggregate metrics."""
    from experimentos.errors import UsageError
    from experimentos.lab.experiments import parse_metric_value, set_experiment_metric

    as_json = want_json(ctx, json_out)
    if (value is None) == (not unset):
        raise UsageError("give a VALUE, or --unset to remove the metric", field="value")
    parsed = None if unset else parse_metric_value(value)
    record = set_experiment_metric(state(ctx).workspace(), experiment, name, parsed)
    if as_json:
        emit_json(record_json(record.model, record.path))
    elif unset:
        typer.echo(f"{record.model.id}: removed metric {name}")
    else:
        typer.echo(f"{record.model.id}: {name} = {parsed!r}")


@exp_app.command("set-parent")
def exp_set_parent(
    ctx: typer.Context,
    experiment: ExpArg,
    parent: Annotated[
        str | None, typer.Argument(metavar="PARENT", help="Slug of the new parent.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Make it a top-level experiment.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Re-parent an experiment; a missing parent or a cycle is refused."""
    from experimentos.errors import UsageError
    from experimentos.lab.experiments import set_experiment_parent

    as_json = want_json(ctx, json_out)
    if (parent is None) == (not clear):
        raise UsageError("give a PARENT, or --clear to make it top-level", field="parent")
    record = set_experiment_parent(state(ctx).workspace(), experiment, parent)
    if as_json:
        emit_json(record_json(record.model, record.path))
    else:
        typer.echo(f"{record.model.id}: parent is now {record.model.parent or 'none'}")


@exp_app.command("delete")
def exp_delete(
    ctx: typer.Context,
    experiment: ExpArg,
    force: Annotated[bool, typer.Option("--force", help="Delete its runs too.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Delete an experiment and its tests; refused while it has runs unless --force."""
    from experimentos.lab.experiments import delete_experiment

    as_json = want_json(ctx, json_out)
    result = delete_experiment(state(ctx).workspace(), experiment, force)
    if as_json:
        emit_json(result.model_dump())
    else:
        typer.echo(
            f"deleted {result.id} ({plural(result.tests, 'test')}, {plural(result.runs, 'run')}, "
            f"{plural(len(result.removed), 'file')})"
        )


# --- test ------------------------------------------------------------------------------------


def _verdict_text(passed: bool | None) -> str:
    return {True: "passed", False: "failed", None: "-"}[passed]


@test_app.command("new")
def assertion_new(
    ctx: typer.Context,
    experiment: ExpArg,
    name: Annotated[str, typer.Argument(help="Test name; the slug is derived from it.")],
    kind: Annotated[
        str,
        typer.Option("--kind", help="metric_threshold, run_outcome, manual or condition_delta."),
    ],
    metric: Annotated[
        str | None, typer.Option("--metric", help="metric_threshold/condition_delta: metric.")
    ] = None,
    op: Annotated[
        str | None, typer.Option("--op", help="Comparison: >, >=, <, <=, == or !=.")
    ] = None,
    value: Annotated[
        str | None, typer.Option("--value", help="The number (or true/false) to compare with.")
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="metric_threshold: run (default) or experiment (aggregate)."),
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="A run id, or latest (the default).")
    ] = None,
    expected: Annotated[
        str | None,
        typer.Option("--expected", help="run_outcome: success (default), failure or partial."),
    ] = None,
    question: Annotated[
        str | None, typer.Option("--question", help="manual: what the person judges.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="condition_delta: baseline condition.")
    ] = None,
    treatment: Annotated[
        str | None, typer.Option("--treatment", help="condition_delta: treatment condition.")
    ] = None,
    description: Annotated[
        str, typer.Option("--description", help="Markdown body of the test file.")
    ] = "",
    json_out: JsonFlag = False,
) -> None:
    """Attach a test (an assertion) to an experiment."""
    from experimentos.lab.assertions import create_test
    from experimentos.lab.experiments import parse_metric_value

    as_json = want_json(ctx, json_out)
    params = {
        "kind": kind,
        "metric": metric,
        "op": op,
        "value": parse_metric_value(value) if value is not None else None,
        "scope": scope,
        "run": run,
        "expected": expected,
        "question": question,
        "baseline": baseline,
        "treatment": treatment,
    }
    spec = {k: v for k, v in params.items() if v is not None}
    record = create_test(state(ctx).workspace(), experiment, name, spec, description)
    if as_json:
        emit_json(record_json(record.model, record.path))
    else:
        typer.echo(f"created {record.path} ({record.model.id}, not evaluated)")


@test_app.command("list")
def assertion_list(
    ctx: typer.Context,
    experiment: ExpFilter = None,
    verdict: Annotated[
        Verdict | None,
        typer.Option(
            "--verdict",
            case_sensitive=False,
            help="Only tests with this verdict: passed, failed or unset (not evaluated yet).",
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this assertion kind.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """List tests, optionally of one experiment, one verdict and one kind."""
    from experimentos.lab.assertions import list_tests

    as_json = want_json(ctx, json_out)
    wanted = verdict.value if verdict else None
    tests = list_tests(state(ctx).workspace(), experiment, wanted, kind)
    if as_json:
        emit_json([record_json(t) for t in tests])
        return
    _table([[t.id, _verdict_text(t.passed), t.assertion.kind, t.name] for t in tests])
    typer.echo(plural(len(tests), "test"), err=True)


@test_app.command("show")
def assertion_show(
    ctx: typer.Context,
    test_id: Annotated[
        str, typer.Argument(metavar="ID", help="Test id, test.<experiment>.<test>.")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Print a test (the file itself, or JSON)."""
    from experimentos.lab.assertions import read_test

    as_json = want_json(ctx, json_out)
    record = read_test(state(ctx).workspace(), test_id)
    if as_json:
        emit_json(record_json(record.model, record.path))
    else:
        typer.echo(record.raw.decode("utf-8"), nl=False)


@test_app.command("evaluate")
def assertion_evaluate(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="TEST_ID|EXPERIMENT",
            help="A test id (test.<experiment>.<test>), or an experiment: every test of it.",
        ),
    ],
    verdict: Annotated[
        str | None,
        typer.Option(
            "--verdict",
            help="A manual test's verdict: passed or failed (pass and fail work too).",
        ),
    ] = None,
    rationale: Annotated[str, typer.Option("--rationale", help="manual tests: why.")] = "",
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="manual tests; default: git user.name.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Evaluate tests and record their verdicts; exit 1 when one fails."""
    from experimentos.errors import Collect, UsageError
    from experimentos.lab.assertions import evaluate_test, evaluate_tests

    as_json = want_json(ctx, json_out)
    is_test = target.startswith("test.")  # experiment slugs have no dots
    test_id, experiment = (target, None) if is_test else (None, target)
    found = Collect()
    verdicts = {"pass": True, "passed": True, "fail": False, "failed": False}
    if verdict is not None and verdict.lower() not in verdicts:
        found.add(
            UsageError(f"--verdict must be passed or failed, not {verdict!r}", field="verdict")
        )
    if experiment is not None and verdict is not None:
        found.add(UsageError("--verdict applies to one manual test; give its id", field="verdict"))
    found.done()
    workspace = state(ctx).workspace()
    if test_id is not None:
        flag = verdicts[verdict.lower()] if verdict else None
        results = [evaluate_test(workspace, test_id, flag, rationale, reviewer)]
    else:
        results = evaluate_tests(workspace, experiment)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in results])
    else:
        for r in results:
            mark = _verdict_text(r.passed) if r.evaluated else "not evaluated"
            typer.echo(f"{r.id}  {mark}  {r.details}")
    if any(r.passed is False for r in results):
        raise typer.Exit(EXIT_PROBLEMS)
