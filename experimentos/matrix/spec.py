"""Matrix specs: `experiments/<slug>/matrix.yaml` (format 1).

    id: brief-vs-none              # optional; default: the experiment's slug. Part of every run id
    fixtures: [drizzle-pin, vendored-shim]
    conditions: [none, brief, "brief-without:policy.keep-pins", "knowledge@v0.3"]
    agents:
      - {name: codex-sim, adapter: codex, model: gpt-5.1-codex, options: {policy: ...}}
    repeats: 3
    timeLimit: 300                 # seconds an agent may run (then its process group is killed)
    jobs: 2                        # runs in parallel unless --jobs says otherwise
    secrets: [OPENAI_API_KEY]      # environment variables every agent gets (never recorded)
    search: fts                    # the servers' search: fts or hybrid (default: experimentos.toml)

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
from dataclasses import dataclass
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
from experimentos.errors import InvalidPage, NotFound, article
from experimentos.models.knowledge import PAGE_ID_PATTERN, Problem
from experimentos.store.documents import validation_problems
from experimentos.store.lab_paths import experiment_dir
from experimentos.store.yamlio import YamlError, load_yaml

SPEC_FILE = "matrix.yaml"
SPEC_FORMAT = 1
MAX_SPEC_BYTES = 256 * 1024
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
_NAME_RE = re.compile(NAME_PATTERN)
_PAGE_RE = re.compile(PAGE_ID_PATTERN)
# A git revision as people write them (sha, tag, branch, HEAD~2, v1.0^{commit}); never an
# option (no leading '-') and never whitespace, so it is safe as one argv element.
_REV_RE = re.compile(r"^[A-Za-z0-9_./~^@{}][A-Za-z0-9_./~^@{}:+-]{0,199}$")
CONDITION_KINDS = ("none", "brief", "brief-without", "knowledge")


@dataclass(frozen=True)
class Condition:
    """A parsed condition: kind (none, brief, brief-without, knowledge) and its argument."""

    text: str  # as written in the spec; what run records and reports show
    kind: str
    arg: str | None = None  # the page id (brief-without) or the revision (knowledge)

    @property
    def attaches_server(self) -> bool:
        return self.kind != "none"

    @property
    def slug(self) -> str:
        """The condition as it appears in run ids: lowercase [a-z0-9.-]."""
        if self.kind in ("none", "brief"):
            return self.kind
        if self.kind == "brief-without":
            return f"without-{self.arg}"
        rev = re.sub(r"[^a-z0-9.]+", "-", (self.arg or "").lower())
        rev = re.sub(r"\.{2,}", ".", rev).strip("-.")
        return f"knowledge-{rev or 'rev'}"


def parse_condition(text: str) -> Condition:
    """A condition from its spec text; ValueError saying what is expected."""
    if not isinstance(text, str):
        raise ValueError(f"a condition is a string, got {type(text).__name__}")
    value = text.strip()
    if value in ("none", "brief"):
        return Condition(value, value)
    if value.startswith("brief-without:"):
        page = value.split(":", 1)[1].strip()
        if not _PAGE_RE.fullmatch(page) or page.endswith(".") or ".." in page:
            raise ValueError(
                f"{value!r}: {page!r} is not a page id (expected e.g. brief-without:policy.x)"
            )
        return Condition(value, "brief-without", page)
    if value.startswith("knowledge@"):
        rev = value.split("@", 1)[1].strip()
        if not _REV_RE.fullmatch(rev):
            raise ValueError(
                f"{value!r}: {rev!r} is not a git revision (expected e.g. knowledge@v1.0, "
                "knowledge@HEAD~3 or a commit hash)"
            )
        return Condition(value, "knowledge", rev)
    raise ValueError(
        f"unknown condition {value!r} (expected none, brief, brief-without:<page-id> or "
        "knowledge@<git-rev>)"
    )


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
        """sha256 of the normalised spec: the same matrix gives the same hash anywhere."""
        return "sha256:" + _digest(self.model_dump(mode="json", by_alias=True))


def _no_duplicates(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)


def _digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"experiment {experiment_slug!r} has no {SPEC_FILE} (write one: see README, "
            "'Run a matrix')",
            path=rel,
        ) from None
    return parse_spec(raw, rel)
