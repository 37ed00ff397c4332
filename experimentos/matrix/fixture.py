"""Fixture manifests (format 1): `fixtures/<name>/fixture.yaml`.

A fixture is a small repository an agent is run against, the task it is given, an oracle that
decides whether the task was solved (exit 0 = solved), and the ground-truth rules a clean
solution keeps. Manifests written before format 1 (name, description, task, libraries, files)
stay valid: every added field is optional.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

FIXTURE_FILE = "fixture.yaml"
FIXTURE_FORMAT = 1

Glob = Annotated[str, Field(min_length=1, max_length=400)]


class Oracle(BaseModel):
    """How to decide a run: `command` runs in the run's workdir; exit 0 means solved."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    command: Annotated[str, Field(min_length=1, max_length=2000)]
    timeout_s: float = Field(default=5.0, gt=0, le=600, alias="timeoutSeconds")


class Fixture(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: int = FIXTURE_FORMAT
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
    description: str = ""
    task: Annotated[str, Field(min_length=1, max_length=8000)]
    libraries: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # files the task names
    repo_type: str | None = Field(default=None, alias="repoType")
    oracle: Oracle | None = None
    setup: str | None = None  # a command run in the workdir before the agent starts
    # Ground-truth rules (scored per run by the metrics):
    allowed_paths: list[Glob] = Field(default_factory=list, alias="allowedPaths")
    pinned: list[str] = Field(default_factory=list)  # libraries whose versions must not change
    protected_paths: list[Glob] = Field(default_factory=list, alias="protectedPaths")
    forbidden_commands: list[str] = Field(
        default_factory=list,
        alias="forbiddenCommands",
        description="Regular expressions matched against every shell command the agent ran.",
    )
    trap: str = ""  # one sentence: what the trap is (for people and reports)
