"""The agent adapter interface shared by the matrix runner and every adapter.

An adapter knows one agent CLI: how to start it for a run (command, environment, config files
inside the run's private home) and how to read the transcript it prints back into run events
and usage. The runner owns everything else: the workdir, the time limit and the process group,
the MCP server attachment, the oracle, and the records.

    with open_adapter(spec, root) as adapter:      # starts shared services (a scripted model)
        problem = adapter.unavailable()             # e.g. "codex not found; run npm install …"
        invocation = adapter.prepare(setup)         # per run: argv, env, cwd, stdin
        ...the runner starts it in its own process group, captures stdout line by line...
        transcript = adapter.parse(lines, workdir=setup.workdir)  # never raises

`parse` takes the run's workdir (optional) so that paths inside it come back workdir-relative.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from experimentos.agents.endpoint import ModelEndpoint, ModelRef, model_name

# Event types an adapter maps a transcript to (the run event contract's names, plus `command`
# for every shell command the agent ran, which the forbidden-command rule reads).
TranscriptEventType = Literal[
    "file_inspected",
    "file_edited",
    "test_run",
    "package_version_checked",
    "final_answer",
    "mcp_tool_called",
    "command",
]


Decisions = Literal["model", "script"]


class AgentSpec(BaseModel):
    """One agent of a matrix: which adapter, which model, adapter options."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, description="Label used in run ids and reports.")
    adapter: str = Field(description="shell | codex | claude-code | opencode")
    model: ModelRef | None = Field(
        default=None,
        description="The model: a name (for the CLI's default provider), or an endpoint "
        "{provider: openai-responses|openai-chat|anthropic, baseUrl, name, keyEnv}.",
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def model_name(self) -> str | None:
        return model_name(self.model)

    @property
    def endpoint(self) -> ModelEndpoint | None:
        """The model's endpoint, when `model:` names one."""
        return self.model if isinstance(self.model, ModelEndpoint) else None


@dataclass(frozen=True)
class McpAttachment:
    """How the agent starts the experimentos MCP server for this run (stdio)."""

    name: str  # the server name the agent sees, e.g. "experimentos"
    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)  # tool names to allow, where a CLI asks


@dataclass(frozen=True)
class RunSetup:
    """Everything an adapter needs to build one run's invocation."""

    run_id: str
    workdir: Path  # fresh, git-initialised copy of the fixture; the agent's cwd
    home: Path  # private per-run directory for the agent's config and state
    prompt: str  # the task prompt, with the condition's instructions
    time_limit_s: float
    base_env: dict[str, str]  # the clean environment (PATH, LANG, TMPDIR, …) to extend
    mcp: McpAttachment | None = None  # None when the condition attaches no server
    secrets: dict[str, str] = field(default_factory=dict)  # passed through, never recorded


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    stdin: str | None = None


class TranscriptEvent(BaseModel):
    """One thing the transcript says the agent did, in transcript order (`index`)."""

    index: int  # position in the transcript (line number, 0-based)
    type: TranscriptEventType
    payload: dict[str, Any] = Field(default_factory=dict)


class Usage(BaseModel):
    """What the transcript reports about cost; None where the agent does not say."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    turns: int | None = None


class Transcript(BaseModel):
    events: list[TranscriptEvent] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    final_answer: str | None = None
    # The model id the provider reported (the last one the stream named), where the transcript
    # carries one: recorded as matrix.modelReported and part of what a report may not pool.
    model_id: str | None = None
    # Unknown event types (kept, counted, never fatal) and lines that did not parse.
    unknown_types: dict[str, int] = Field(default_factory=dict)
    bad_lines: int = 0
    errors: list[str] = Field(default_factory=list)  # errors the agent itself reported


class Adapter(abc.ABC):
    """One agent CLI. Instances are context managers: shared services live between enter/exit."""

    name: str = ""

    def __init__(self, spec: AgentSpec, root: Path):
        self.spec = spec
        self.root = root  # the knowledge root (where policy scripts and fixtures resolve)

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def unavailable(self) -> str | None:
        """Why this adapter cannot run here (a missing binary, with the command that fixes it),
        or None."""
        return None

    def check(self) -> None:
        """Refuse (UsageError naming the option) whatever entering the adapter would refuse, and
        start nothing: `matrix run --dry-run` and a run both call it before the first cell."""
        return None

    def input_files(self) -> dict[str, Path]:
        """Files the entry names whose contents decide what the agent does (a script, a
        policy), as the entry names them -> their path: part of a run's fingerprint."""
        return {}

    def cli_version(self) -> str | None:
        """What the agent CLI says its version is (None: no CLI, or it does not say)."""
        return None

    def shell_network(self) -> tuple[bool | None, str]:
        """Whether the agent's shell commands can reach the network by the CLI's own means, and
        how that is known (experimentos.agents.network)."""
        return None, f"the {self.name} adapter does not say"

    def wants_isolation(self) -> bool:
        """Whether the runner should start the agent without network (scripts of ours)."""
        return False

    def decisions(self) -> tuple[Decisions, str]:
        """Whose decisions its runs show, "model" or "script", and in words by what: a run
        decided by a script checks the harness and is never evidence about agents."""
        return "script", f"the {self.name} adapter"

    @abc.abstractmethod
    def prepare(self, setup: RunSetup) -> Invocation:
        """The command, environment and config files (written under `setup.home`) for one run."""

    @abc.abstractmethod
    def parse(self, lines: Iterable[str], workdir: Path | None = None) -> Transcript:
        """Map the agent's raw transcript lines to events and usage; never raises.

        Paths inside `workdir` (the run's workdir, when given) are reported relative to it."""


def option_error(option: str, value: object, exc: Exception) -> Exception:
    """A problem inside the file an option names, as an error on the option itself (the field
    of a matrix spec a user edits), keeping the file's own field in the message."""
    from experimentos.errors import UsageError

    field = getattr(exc, "field", None)
    if field == f"options.{option}":
        return exc
    inner = f"{field}: " if field else ""
    message = getattr(exc, "message", str(exc))
    return UsageError(f"{value}: {inner}{message}", field=f"options.{option}")


_REGISTRY: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    _REGISTRY[cls.name] = cls
    return cls


def adapter_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def adapter_class(name: str) -> type[Adapter] | None:
    """The registered adapter class called `name`, or None."""
    _load_builtin()
    return _REGISTRY.get(name)


def _load_builtin() -> None:
    import importlib
    import importlib.util

    for module in ("shell", "scripted", "codex", "claude", "opencode"):
        name = f"experimentos.agents.{module}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


@contextlib.contextmanager
def open_adapter(spec: AgentSpec, root: Path) -> Iterator[Adapter]:
    """The adapter for `spec`, entered (its shared services started) for the block."""
    from experimentos.errors import UsageError

    _load_builtin()
    cls = _REGISTRY.get(spec.adapter)
    if cls is None:
        raise UsageError(
            f"unknown agent adapter {spec.adapter!r} (known: {', '.join(sorted(_REGISTRY))})",
            field="adapter",
        )
    with cls(spec, root) as adapter:
        yield adapter
