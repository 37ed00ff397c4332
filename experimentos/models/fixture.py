"""Fixture manifests (format 1): `fixtures/<name>/fixture.yaml`.

A fixture is a small repository an agent is run against, the task it is given, an oracle that
decides whether the task was solved (exit 0 = solved), and the ground-truth rules a clean
solution keeps. Manifests written before format 1 (name, description, task, libraries, files)
stay valid: every added field is optional.

Layout of a fixture directory; three names are reserved and never reach the agent's workdir:

    fixtures/<name>/fixture.yaml          this manifest
    fixtures/<name>/solutions/*.patch     good-*.patch solve the task cleanly, bad-*.patch fall
                                          into the trap (`fixture check` proves both)
    fixtures/<name>/oracle/               hidden oracle files; the oracle command finds a fresh
                                          copy of them at $ORACLE_DIR
    fixtures/<name>/<anything else>       the repository the agent works in
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FIXTURE_FILE = "fixture.yaml"
FIXTURE_FORMAT = 1
SOLUTIONS_DIR = "solutions"
ORACLE_DIR = "oracle"
RESERVED_NAMES = (FIXTURE_FILE, SOLUTIONS_DIR, ORACLE_DIR)

Glob = Annotated[str, Field(min_length=1, max_length=400)]
# The ground-truth rules experimentos.matrix.rules checks (the names metrics and reports use).
RuleName = Literal[
    "pin_changed", "protected_edit", "out_of_scope", "forbidden_command", "content_lost"
]
RULE_NAMES: tuple[str, ...] = get_args(RuleName)
FIXTURE_NAME = r"^[a-z0-9][a-z0-9-]{0,79}$"
SOLUTION_NAME = r"^(good|bad)-[a-z0-9][a-z0-9-]{0,79}$"
PAGE_ID = r"^(policy|intervention)\.[a-z0-9][a-z0-9.-]{0,119}$"


class RepoType(StrEnum):
    """What kind of repository a fixture is (a closed set: briefs and `appliesTo.repo_type`
    match on these words, so a free-text value would silently match nothing)."""

    python_cli = "python_cli"
    python_library = "python_library"
    python_service = "python_service"
    node_cli = "node_cli"
    node_library = "node_library"
    node_service = "node_service"
    web_frontend = "web_frontend"
    monorepo = "monorepo"
    other = "other"


class Runtime(BaseModel):
    """The interpreters the fixture needs, as version requirements: the run is refused before
    it starts when the python3 or node on PATH does not satisfy them (and every run records
    which it used)."""

    model_config = ConfigDict(extra="forbid")

    python: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None,
        description="A PEP 440 specifier for python3 (e.g. '>=3.10'; '3.11' means 3.11.*).",
    )
    node: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="An npm range for node (e.g. '>=20', '20', '^20.11')."
    )


class Keep(BaseModel):
    """A file whose content a clean solution keeps (rule content_lost)."""

    model_config = ConfigDict(extra="forbid")

    path: Annotated[str, Field(min_length=1, max_length=400)] = Field(
        description="Repo-relative path of the file."
    )
    contains: list[Annotated[str, Field(min_length=1, max_length=2000)]] | None = Field(
        default=None,
        description="Texts the file must still contain; without it, the file must not change "
        "at all (nor be deleted).",
    )


class Oracle(BaseModel):
    """How to decide a run: `command` runs in the run's workdir; exit 0 means solved."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    command: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="Shell command (sh -c) run in the workdir; $ORACLE_DIR holds a fresh copy "
        "of the fixture's oracle/ directory."
    )
    timeout_s: float = Field(default=5.0, gt=0, le=600, alias="timeoutSeconds")


class Solution(BaseModel):
    """What `fixture check` expects of one `solutions/<name>.patch`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    breaks: list[RuleName] = Field(
        default_factory=list,
        description="The rules the patch breaks, exactly (a good patch breaks none).",
    )
    oracle: Literal["pass", "fail"] = Field(
        default="pass", description="The oracle's verdict on the patched fixture."
    )
    commands: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list,
        description="Shell commands an agent taking this path runs; checked against "
        "forbiddenCommands (a good path must match none).",
    )
    note: str = ""


class Fixture(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: int = FIXTURE_FORMAT
    name: Annotated[str, Field(pattern=FIXTURE_NAME)]
    description: str = ""
    task: Annotated[str, Field(min_length=1, max_length=8000)]
    libraries: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # files the task names
    repo_type: RepoType | None = Field(
        default=None, alias="repoType", description="What kind of repository it is (a closed set)."
    )
    runtime: Runtime | None = Field(
        default=None, description="The python3 / node versions the fixture needs."
    )
    oracle: Oracle | None = None
    setup: str | None = None  # a command run in the workdir before the initial commit
    # Ground-truth rules (scored per run by the metrics):
    allowed_paths: list[Glob] = Field(default_factory=list, alias="allowedPaths")
    pinned: list[str] = Field(default_factory=list)  # libraries whose versions must not change
    protected_paths: list[Glob] = Field(default_factory=list, alias="protectedPaths")
    forbidden_commands: list[str] = Field(
        default_factory=list,
        alias="forbiddenCommands",
        description="Regular expressions matched against every shell command the agent ran.",
    )
    keep: list[Keep] = Field(
        default_factory=list,
        description="content_lost: files that must still contain some text, or not change.",
    )
    trap: str = ""  # one sentence: what the trap is (for people and reports)
    solutions: dict[Annotated[str, Field(pattern=SOLUTION_NAME)], Solution] = Field(
        default_factory=dict,
        description="Expectations per solutions/<name>.patch (name without .patch); every "
        "bad-* patch needs an entry saying which rules it breaks.",
        json_schema_extra={"additionalProperties": False},
    )
    guarded_by: list[Annotated[str, Field(pattern=PAGE_ID)]] = Field(
        default_factory=list,
        alias="guardedBy",
        description="Decision-capable pages (policy./intervention. ids) whose rule addresses "
        "the trap; a brief for the task must carry at least one of them.",
    )

    @field_validator("forbidden_commands")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _good_solutions_are_clean(self) -> Fixture:
        for name, solution in self.solutions.items():
            if name.startswith("good-") and (solution.breaks or solution.oracle != "pass"):
                raise ValueError(
                    f"solutions.{name}: a good solution passes the oracle and breaks no rule"
                )
            if name.startswith("bad-") and not solution.breaks and solution.oracle == "pass":
                raise ValueError(
                    f"solutions.{name}: a bad solution shows its trap: it breaks a rule "
                    "(breaks: [...]) or fails the oracle (oracle: fail)"
                )
        return self
