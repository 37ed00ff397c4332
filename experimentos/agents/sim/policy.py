"""Policy scripts for the scripted model: what it does, step by step, and when it branches.

A policy file is YAML:

    version: 1
    scripts:
      - name: drizzle-keep-pin
        match: {prompt_contains: drizzle-kit}     # first script whose match holds is used
        steps:
          - mcp: {tool: start_pre_work_protocol, arguments: {task: "{prompt}", repo: "{cwd}"}}
          - shell: cat package.json
          - if: {tool_result_contains: keep the pin}
            then:
              - edit: {path: src/db/schema.ts, old: "defaultNow()", new: "default(sql`now()`)"}
            else:
              - edit: {path: package.json, old: '"0.30.4"', new: '"0.31.0"'}
          - final: Done.

Steps are generic; each wire format (OpenAI Responses for codex, Anthropic Messages for
claude-code) maps them to its own tool calls. `{prompt}` and `{cwd}` in any string are replaced
by the agent's task and working directory. An `mcp` step is skipped when the agent was not given
that tool (a run without the MCP server), unless it says `optional: false`.

The walk is a pure function of what the conversation shows (`Seen`): the server keeps no state
between requests, so parallel runs cannot mix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from experimentos.errors import UsageError, from_validation
from experimentos.store.yamlio import YamlError, load_yaml

MAX_POLICY_BYTES = 1_000_000
_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(BaseModel):
    """Every given key must hold. Result checks look at every tool result seen so far."""

    model_config = _STRICT

    tool_result_contains: str | None = None
    tool_result_matches: str | None = Field(default=None, description="A regular expression.")
    prompt_contains: str | None = None
    tool_available: str | None = Field(default=None, description="An MCP tool name.")

    @field_validator("tool_result_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not any(v is not None for v in self.model_dump().values()):
            raise ValueError("a condition needs at least one key")
        return self


class Edit(BaseModel):
    model_config = _STRICT

    path: str = Field(min_length=1, description="Relative to the agent's working directory.")
    old: str = Field(min_length=1)
    new: str


class Write(BaseModel):
    model_config = _STRICT

    path: str = Field(min_length=1, description="A new file, relative to the working directory.")
    content: str


class McpCall(BaseModel):
    model_config = _STRICT

    tool: str = Field(min_length=1, description="Our tool name, e.g. start_pre_work_protocol.")
    arguments: dict[str, Any] = Field(default_factory=dict)
    server: str = Field(default="experimentos", description="Used when the agent does not say.")
    optional: bool = Field(default=True, description="Skip the step when the tool is absent.")


STEP_KINDS = ("shell", "edit", "write", "mcp", "if", "final")


class Step(BaseModel):
    """Exactly one of: shell, edit, write, mcp, if (with then/else), final."""

    model_config = _STRICT

    shell: str | None = Field(default=None, min_length=1)
    edit: Edit | None = None
    write: Write | None = None
    mcp: McpCall | None = None
    if_: Condition | None = Field(default=None, alias="if")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")
    final: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        given = [k for k in STEP_KINDS if getattr(self, "if_" if k == "if" else k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a step has exactly one of {', '.join(STEP_KINDS)} (got {given or 'none'})"
            )
        if (self.then or self.else_) and self.if_ is None:
            raise ValueError("then/else belong to an `if` step")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, "if_" if k == "if" else k) is not None)


class Script(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=120)
    match: Condition | None = None
    steps: list[Step] = Field(default_factory=list)
    final: str = Field(default="Done.", description="The answer when the steps run out.")


class Policy(BaseModel):
    model_config = _STRICT

    version: Literal[1] = 1
    scripts: list[Script] = Field(min_length=1)


def parse_policy(data: Any, *, path: str | Path = "<policy>") -> Policy:
    """Validate loaded YAML into a Policy; the error names every bad field."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, path=path) from None


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file (a regular file, at most 1 MB)."""
    if not path.is_file() or path.is_symlink():
        raise UsageError("policy script not found (or not a regular file)", path=path)
    if path.stat().st_size > MAX_POLICY_BYTES:
        raise UsageError("policy script is larger than 1 MB", path=path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (YamlError, UnicodeDecodeError) as exc:
        raise UsageError(f"not valid YAML: {exc}", path=path) from None
    return parse_policy(data, path=path)


# --- the walk -------------------------------------------------------------------------------


@dataclass
class Seen:
    """What one request's conversation shows the model."""

    prompt: str
    cwd: str | None
    outputs: dict[int, str] = field(default_factory=dict)  # op index -> tool result text
    available: Callable[[str], bool] = lambda _tool: False


@dataclass(frozen=True)
class ToolOp:
    index: int  # ordinal of this tool op in the conversation (0-based)
    step: Step


@dataclass(frozen=True)
class Final:
    text: str


def holds(cond: Condition | None, seen: Seen, results: str) -> bool:
    if cond is None:
        return True
    checks = [
        cond.tool_result_contains is None or cond.tool_result_contains in results,
        cond.tool_result_matches is None
        or re.search(cond.tool_result_matches, results) is not None,
        cond.prompt_contains is None or cond.prompt_contains in seen.prompt,
        cond.tool_available is None or seen.available(cond.tool_available),
    ]
    return all(checks)


def choose_script(policy: Policy, seen: Seen) -> Script | None:
    return next((s for s in policy.scripts if holds(s.match, seen, "")), None)


def next_op(script: Script, seen: Seen, done: int) -> ToolOp | Final:
    """The op after the first `done` tool ops (branches decided on the results before them)."""
    counter = 0

    def walk(steps: list[Step]) -> ToolOp | Final | None:
        nonlocal counter
        for step in steps:
            if step.if_ is not None:
                results = "\n".join(seen.outputs.get(i, "") for i in range(counter))
                chosen = step.then if holds(step.if_, seen, results) else step.else_
                found = walk(chosen)
                if found is not None:
                    return found
            elif step.final is not None:
                return Final(expand(step.final, seen))
            elif step.mcp is not None and step.mcp.optional and not seen.available(step.mcp.tool):
                continue
            else:
                if counter == done:
                    return ToolOp(counter, step)
                counter += 1
        return None

    return walk(script.steps) or Final(expand(script.final, seen))


def expand(value: Any, seen: Seen) -> Any:
    """Replace {prompt} and {cwd} in every string of `value`."""
    if isinstance(value, str):
        return value.replace("{prompt}", seen.prompt).replace("{cwd}", seen.cwd or ".")
    if isinstance(value, list):
        return [expand(v, seen) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, seen) for k, v in value.items()}
    return value
