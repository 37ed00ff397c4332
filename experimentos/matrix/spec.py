"""Matrix specs: `experiments/<slug>/matrix.yaml` (format 1).

    id: brief-vs-none              # optional; default: the experiment's slug. Part of every run id
    fixtures: [drizzle-pin, vendored-shim]
    conditions: [none, brief, "brief-without:policy.keep-pins", "knowledge@v0.3"]
    agents:
      - {name: codex-sim, adapter: codex, model: gpt-5.1-codex, options: {policy: ...}}
      - name: local                # a model endpoint (agents/endpoint.py): hosted, vLLM, Ollama…
        adapter: opencode
        model: {provider: openai-chat, baseUrl: "http://127.0.0.1:8080/v1", name: qwen3-8b,
                keyEnv: LOCAL_KEY}
    repeats: 3
    timeLimit: 300                 # seconds an agent may run (then its process group is killed)
    jobs: 2                        # runs in parallel unless --jobs says otherwise
    secrets: [OPENAI_API_KEY]      # environment variables every agent gets (never recorded)
    search: fts                    # the servers' search: fts or hybrid (default: experimentos.toml)
    passK: [2, 5]                  # the k of the report's pass@k / pass^k table (default 2, 5)

Conditions:
    none                     no MCP server; the prompt is the fixture's task
    brief                    the MCP server attached, serving the knowledge as it is now; the
                             prompt asks the agent to start with the pre-work protocol
    brief-without:<page-id>  the same, minus one page (the ablation that attributes an effect
                             to a page)
    knowledge@<git-rev>      the same, serving wiki/ and policies/ as of a commit

This module only checks the spec's own shape; `matrix.plan` checks it against the root
(fixtures exist, pages exist, revisions resolve, adapters are known).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from experimentos.agents.base import AgentSpec
from experimentos.agents.endpoint import MODEL_TAGS
from experimentos.errors import InvalidPage, NotFound, UnsafePath, article
from experimentos.models.knowledge import Problem
from experimentos.models.names import (  # noqa: F401 - the grammar, re-exported for the matrix
    CONDITION_KINDS,
    NAME_PATTERN,
    Condition,
    parse_condition,
)
from experimentos.store.documents import validation_problems
from experimentos.store.lab_paths import experiment_dir
from experimentos.store.safe import read_regular
from experimentos.store.yamlio import YamlError, load_yaml

SPEC_FILE = "matrix.yaml"
SPEC_FORMAT = 1
MAX_SPEC_BYTES = 256 * 1024
_NAME_RE = re.compile(NAME_PATTERN)


def _check_condition(value: str) -> str:
    return parse_condition(value).text


ConditionText = Annotated[
    str, Field(min_length=1, max_length=300), AfterValidator(_check_condition)
]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class MatrixSpec(BaseModel):
    """A matrix: every fixture x condition x agent, `repeats` times; each cell one run."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: Literal[1] = SPEC_FORMAT
    id: Name | None = Field(
        default=None,
        description="The matrix id (part of every run id); default: the experiment's slug. "
        "Change it to start a new matrix instead of resuming this one.",
    )
    description: str = ""
    fixtures: Annotated[list[Name], Field(min_length=1, max_length=200)] = Field(
        description="Fixture names: directories under fixtures/."
    )
    conditions: Annotated[list[ConditionText], Field(min_length=1, max_length=50)] = Field(
        description="none | brief | brief-without:<page-id> | knowledge@<git-rev>"
    )
    agents: Annotated[list[AgentSpec], Field(min_length=1, max_length=50)]
    repeats: int = Field(default=1, ge=1, le=1000)
    time_limit_s: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        alias="timeLimit",
        description="Seconds an agent may run before its process group is killed.",
    )
    jobs: int = Field(default=1, ge=1, le=64, description="Runs in parallel (default for --jobs).")
    search: Literal["hybrid", "fts"] | None = Field(
        default=None,
        description="How the per-run MCP servers search the knowledge: hybrid (full-text + "
        "vectors, loads the embedding model in every run's server) or fts (full-text only, "
        "starts in about a second). Default: as the root's experimentos.toml says.",
    )
    pass_k: list[Annotated[int, Field(ge=1, le=1000)]] | None = Field(
        default=None,
        alias="passK",
        max_length=20,
        description="The k of the report's pass@k and pass^k table (default [2, 5]; pass@1 is "
        "the clean-pass rate). Read by reports only: not part of the spec hash.",
    )
    secrets: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]] = Field(
        default_factory=list,
        description="Environment variables (e.g. OPENAI_API_KEY) passed to every agent; their "
        "values are never written to a record and are masked in transcripts.",
    )

    @field_validator("fixtures")
    @classmethod
    def _unique_fixtures(cls, names: list[str]) -> list[str]:
        _no_duplicates(names, "fixture")
        return names

    @field_validator("conditions")
    @classmethod
    def _valid_conditions(cls, texts: list[str]) -> list[str]:
        parsed = [parse_condition(t) for t in texts]
        _no_duplicates([c.text for c in parsed], "condition")
        _no_duplicates([c.slug for c in parsed], "condition (as written in run ids)")
        return [c.text for c in parsed]

    @field_validator("agents")
    @classmethod
    def _agent_names(cls, agents: list[AgentSpec]) -> list[AgentSpec]:
        for i, agent in enumerate(agents):
            if not _NAME_RE.fullmatch(agent.name):
                raise ValueError(
                    f"agents.{i}.name: {agent.name!r} must match {NAME_PATTERN} "
                    "(it is part of every run id)"
                )
        _no_duplicates([a.name for a in agents], "agent name")
        return agents

    def parsed_conditions(self) -> list[Condition]:
        return [parse_condition(t) for t in self.conditions]

    def spec_hash(self) -> str:
        """sha256 of the normalised spec: the same matrix gives the same hash anywhere. What
        only reports read (passK) is left out: changing it re-runs nothing."""
        return "sha256:" + _digest(self.model_dump(mode="json", by_alias=True, exclude={"pass_k"}))


def _no_duplicates(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)


def _digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _untag(field: str | None) -> str | None:
    """agents.0.model.endpoint.keyEnv -> agents.0.model.keyEnv (the union's tags are not fields)."""
    if field is None:
        return None
    parts = field.split(".")
    tags = [i for i, p in enumerate(parts) if i and parts[i - 1] == "model" and p in MODEL_TAGS]
    keep = [p for i, p in enumerate(parts) if i not in tags]
    return ".".join(keep)


def spec_rel(experiment_slug: str) -> str:
    return (experiment_dir(experiment_slug) / SPEC_FILE).as_posix()


def parse_spec(raw: bytes, rel: str) -> MatrixSpec:
    """A spec from the bytes of a matrix.yaml; InvalidPage naming the file and every bad field."""

    def invalid(code: str, message: str, field: str | None = None) -> InvalidPage:
        return InvalidPage(rel, [Problem(path=rel, field=field, code=code, message=message)])

    if len(raw) > MAX_SPEC_BYTES:
        raise invalid("file-too-large", f"file is larger than {MAX_SPEC_BYTES} bytes")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise invalid("encoding", f"file is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = load_yaml(text)
    except YamlError as exc:
        raise invalid(exc.code, str(exc)) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"{article(type(data).__name__)} {type(data).__name__}"
        raise invalid("schema", f"a matrix spec is a mapping, got {kind}")
    try:
        return MatrixSpec.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(rel, exc)
        for problem in problems:  # a nested message may name its own, deeper field
            problem.field = _untag(problem.field)
            head, sep, rest = problem.message.partition(": ")
            if sep and problem.field and head.startswith(f"{problem.field}."):
                problem.field, problem.message = head, rest
        raise InvalidPage(rel, problems) from None


def load_spec(root: Path, experiment_slug: str) -> MatrixSpec:
    """The spec of an experiment (NotFound when it has none; InvalidPage when it is bad)."""
    rel = spec_rel(experiment_slug)
    path = Path(root) / rel
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InvalidPage(
            rel, [Problem(path=rel, code="not-a-file", message="matrix.yaml must be a file")]
        )
    try:  # regular files only, never blocking on a FIFO swapped in since the check above
        raw = read_regular(Path(root), rel, limit=MAX_SPEC_BYTES)
    except NotFound:
        raise NotFound(
            f"experiment {experiment_slug!r} has no {SPEC_FILE} (write one: see "
            "docs/matrices.md, 'The spec')",
            path=rel,
        ) from None
    except UnsafePath as exc:
        raise InvalidPage(rel, [Problem(path=rel, code=exc.code, message=exc.message)]) from None
    return parse_spec(raw, rel)
