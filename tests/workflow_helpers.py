"""Read the GitHub workflows as data: their run steps, rendered into the commands they would run.

A step's `${{ … }}` expressions are rendered from EXPRESSIONS (an unknown one fails the test:
every expression a workflow uses must be accounted for here); run scripts themselves hold no
expressions (they read the step's env), so the rendered env plus the runner's variables is all
a script needs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from typer.main import get_command

from experimentos.cli import app

from .conftest import PROJECT

WORKFLOWS = PROJECT / ".github" / "workflows"
SHA = "0123456789abcdef0123456789abcdef01234567"
EXPRESSIONS = {
    "github.token": "ghs_test_token",
    "github.sha": SHA,
    "github.ref": "refs/heads/main",
    "github.ref_name": "main",
    "github.base_ref": "main",
    "github.run_id": "4242",
    "github.head_ref || github.ref": "refs/heads/main",
    "github.head_ref || github.ref_name": "main",
    "github.event.pull_request.number": "7",
    "github.event.label.name": "matrix:scripted-brief-matrix:2",
    "inputs.experiment": "scripted-brief-matrix",
    "inputs.shards": "2",
    "matrix.shard": "1",
    "needs.plan.outputs.experiment": "scripted-brief-matrix",
    "needs.plan.outputs.shards": "2",
    "secrets.OPENAI_API_KEY": "",
    "secrets.ANTHROPIC_API_KEY": "",
    "steps.pages.outputs.base_url": "https://acme.github.io/kb",
    "runner.temp": "/tmp/runner",
    # Expressions outside run steps (if:, concurrency, outputs, matrix): known, not executed.
    "inputs.experiment || github.event.label.name": "scripted-brief-matrix",
    "!cancelled() && needs.plan.result == 'success'": "true",
    "fromJSON(needs.plan.outputs.shard-list)": "[1, 2]",
    "steps.plan.outputs.experiment": "scripted-brief-matrix",
    "steps.plan.outputs.shards": "2",
    "steps.plan.outputs.shard-list": "[1, 2]",
    "steps.deployment.outputs.page_url": "https://acme.github.io/kb/",
}
_EXPR_RE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass
class RunStep:
    workflow: str
    job: str
    name: str
    script: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.workflow}:{self.job}:{self.name}"


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def render(text: str) -> str:
    """`text` with every ${{ expression }} replaced by its test value (KeyError if unknown)."""
    return _EXPR_RE.sub(lambda m: EXPRESSIONS[m.group(1)], str(text))


def run_steps() -> list[RunStep]:
    steps = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in load(path)["jobs"].items():
            for i, step in enumerate(job.get("steps", [])):
                if "run" not in step:
                    continue
                env = {k: render(v) for k, v in (step.get("env") or {}).items()}
                steps.append(
                    RunStep(path.name, job_name, step.get("name") or f"step {i}", step["run"], env)
                )
    return steps


def commands(step: RunStep, runner: dict[str, str]) -> list[list[str]]:
    """The argv of each command line of a run step, variables expanded from env + runner."""
    values = {**runner, **step.env}
    out = []
    for line in step.script.splitlines():
        line = line.split(" >> ", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        expanded = _VAR_RE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), line)
        out.append(shlex.split(expanded))
    return out


def resolve(argv: list[str]) -> tuple[list[str], object | None, object, list[str]]:
    """(command path, command or None when missing, its parent context, the rest of argv) of an
    `experimentos …` argv. Typer's own click classes: groups are told by `get_command`."""
    command = get_command(app)
    ctx = command.make_context("experimentos", [], resilient_parsing=True)
    path: list[str] = []
    args = list(argv[1:])
    while hasattr(command, "list_commands") and args:
        sub = command.get_command(ctx, args[0])
        path.append(args[0])
        if sub is None:
            return path, None, ctx, args[1:]
        if not hasattr(sub, "list_commands"):
            return path, sub, ctx, args[1:]
        ctx = sub.make_context(args[0], [], parent=ctx, resilient_parsing=True)
        command, args = sub, args[1:]
    return path, command, ctx, args


def check_args(argv: list[str]) -> None:
    """Parse an existing command's arguments exactly as the CLI would (a UsageError if not)."""
    path, command, parent, rest = resolve(argv)
    assert command is not None, f"no command experimentos {' '.join(path)}"
    with command.make_context(path[-1], rest, parent=parent):
        pass
