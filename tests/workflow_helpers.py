"""Read the GitHub workflows as data: their run steps, rendered into the commands they would run.

A step's `${{ … }}` expressions are rendered over DEFAULT_CONTEXT (an unknown name fails:
every expression a workflow uses must be accounted for here); run scripts themselves hold no
expressions (they read the step's env), so the rendered env plus the runner's variables is all
a script needs. `evaluate` is a small evaluator of GitHub's expression language (contexts,
literals, ! == != < > && ||, startsWith/endsWith/contains/fromJSON/toJSON/format and the status
functions) for the workflow runner (workflow_runner.py).
"""

from __future__ import annotations

import json
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
# The contexts a step's expressions are rendered from when a workflow is read as data (a pull
# request from this repository, label matrix:scripted-brief-matrix:2). A name that is not here
# fails the test: every expression a workflow uses must be accounted for.
DEFAULT_CONTEXT = {
    "github": {
        "token": "ghs_test_token",
        "sha": SHA,
        "ref": "refs/heads/main",
        "ref_name": "main",
        "head_ref": "feature",
        "base_ref": "main",
        "run_id": "4242",
        "repository": "acme/kb",
        "server_url": "https://github.com",
        "event_name": "pull_request",
        "event": {
            "pull_request": {
                "number": 7,
                "head": {"sha": SHA, "repo": {"full_name": "acme/kb"}},
            },
            "label": {"name": "matrix:scripted-brief-matrix:2"},
            "workflow_run": {"id": 4241, "head_sha": SHA, "event": "pull_request"},
        },
    },
    "inputs": {
        "experiment": "scripted-brief-matrix",
        "repeats": "",
        "shards": "2",
        "pr": "",
        "base": "main",
    },
    "secrets": {"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "XOS_BOT_TOKEN": ""},
    "matrix": {"shard": 1},
    "needs": {
        "plan": {
            "result": "success",
            "outputs": {
                "experiment": "scripted-brief-matrix",
                "repeats": "2",
                "shards": "2",
                "shard-list": "[1, 2]",
                "to-run": "16",
            },
        },
        "reports": {"result": "skipped", "outputs": {"pushed": ""}},
        "check": {"result": "success", "outputs": {}},
        "test": {"result": "success", "outputs": {}},
    },
    "steps": {
        "plan": {"outputs": {"experiment": "scripted-brief-matrix", "repeats": "2",
                             "shards": "2", "shard-list": "[1, 2]", "to-run": "16"}},
        "sync": {"outputs": {"pushed": "false"}},
        "pages": {"outputs": {"base_url": "https://acme.github.io/kb"}},
        "deployment": {"outputs": {"page_url": "https://acme.github.io/kb/"}},
    },
    "runner": {"temp": "/tmp/runner"},
}  # fmt: skip
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
    """`text` with every ${{ expression }} evaluated over DEFAULT_CONTEXT (KeyError if it
    names something the context does not have)."""
    return _EXPR_RE.sub(
        lambda m: _as_text(evaluate(m.group(1), DEFAULT_CONTEXT, strict=True)), str(text)
    )


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


# --- GitHub's expression language (enough of it for these workflows) ----------------------------

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|&&|\|\||[!<>(),\[\]])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_*][A-Za-z0-9_-]*)*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read the expression {text!r} at {pos}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _number(value) -> float:  # noqa: ANN001
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def _equal(a, b) -> bool:  # noqa: ANN001
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is type(b):
        return a == b
    return _number(a) == _number(b)


def _truthy(value) -> bool:  # noqa: ANN001
    return value not in (None, False, 0, 0.0, "")


def _as_text(value) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def evaluate(text: str, ctx: dict, status: dict | None = None, strict: bool = False):  # noqa: ANN201
    """The value of a GitHub expression (without `${{ }}`) over `ctx` (`strict`: a name the
    context lacks is a KeyError, not null)."""
    tokens = _tokens(text)
    status = status or {"success": True, "failure": False, "always": True, "cancelled": False}
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal pos
        token = tokens[pos]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r} in {text!r}")
        pos += 1
        return token

    def primary():  # noqa: ANN202
        kind, value = take()
        if value == "(":
            inner = or_()
            take(")")
            return inner
        if value == "!":
            return not _truthy(primary())
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "name":
            if peek() == ("op", "("):
                take("(")
                args = []
                while peek() != ("op", ")"):
                    args.append(or_())
                    if peek() == ("op", ","):
                        take(",")
                take(")")
                return call(value, args)
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            found = ctx
            for part in value.split("."):
                if strict and (not isinstance(found, dict) or part not in found):
                    raise KeyError(value)
                found = found.get(part) if isinstance(found, dict) else None
            while peek() == ("op", "["):
                take("[")
                key = or_()
                take("]")
                found = found.get(key) if isinstance(found, dict) else None
            return found
        raise ValueError(f"unexpected {value!r} in {text!r}")

    def call(name: str, args: list):  # noqa: ANN202
        lowered = name.lower()
        if lowered in status:
            return status[lowered]
        if lowered == "startswith":
            return _as_text(args[0]).casefold().startswith(_as_text(args[1]).casefold())
        if lowered == "endswith":
            return _as_text(args[0]).casefold().endswith(_as_text(args[1]).casefold())
        if lowered == "contains":
            if isinstance(args[0], list):
                return any(_equal(x, args[1]) for x in args[0])
            return _as_text(args[1]).casefold() in _as_text(args[0]).casefold()
        if lowered == "fromjson":
            return json.loads(_as_text(args[0]))
        if lowered == "tojson":
            return json.dumps(args[0])
        if lowered == "format":
            out = _as_text(args[0])
            for i, arg in enumerate(args[1:]):
                out = out.replace("{" + str(i) + "}", _as_text(arg))
            return out
        raise ValueError(f"unknown function {name} in {text!r}")

    def compare():  # noqa: ANN202
        left = primary()
        while peek() and peek()[1] in ("==", "!=", "<", ">", "<=", ">="):
            op = take()[1]
            right = primary()
            if op == "==":
                left = _equal(left, right)
            elif op == "!=":
                left = not _equal(left, right)
            else:
                a, b = _number(left), _number(right)
                left = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def and_():  # noqa: ANN202
        left = compare()
        while peek() == ("op", "&&"):
            take()
            right = compare()
            left = right if _truthy(left) else left
        return left

    def or_():  # noqa: ANN202
        left = and_()
        while peek() == ("op", "||"):
            take()
            right = and_()
            left = left if _truthy(left) else right
        return left

    value = or_()
    if pos != len(tokens):
        raise ValueError(f"trailing text in {text!r}")
    return value


def render_value(value, ctx: dict):  # noqa: ANN001, ANN201
    """A YAML value with its `${{ }}` evaluated: a whole-value expression keeps its type (a
    list from fromJSON), one inside text becomes text."""
    if not isinstance(value, str):
        return value
    found = list(_EXPR_RE.finditer(value.strip()))
    if len(found) == 1 and found[0].span() == (0, len(value.strip())):
        return evaluate(found[0].group(1), ctx)
    return _EXPR_RE.sub(lambda m: _as_text(evaluate(m.group(1), ctx)), value)


def render_text(value, ctx: dict) -> str:  # noqa: ANN001
    """A YAML value rendered as GitHub passes env values and outputs: text (null is empty)."""
    found = render_value(value, ctx)
    return found if isinstance(found, str) else _as_text(found)
