"""experimentos.toml: resolved once per workspace into a pydantic model.

`parse_config` reads the file's bytes; store.workspace.load_config reads the file itself,
through the store's guarded reader (a regular file inside the root, never a link out of it).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from experimentos.errors import UsageError

CONFIG_NAME = "experimentos.toml"
MAX_CONFIG_BYTES = 1024 * 1024

DEFAULT_CONFIG_TEXT = """\
# experimentos knowledge base configuration
format = 1

[index]
# "minilm" (all-MiniLM-L6-v2, needs the `embeddings` extra) or "none" (full-text search only)
embedder = "minilm"
max_seq_length = 256
# windows of a page that are embedded (each ~max_seq_length tokens); full-text covers all of it
max_windows = 1
# hybrid fusion: "convex" (normalised scores, 0.5/0.5) or "rrf" (reciprocal rank fusion)
fusion = "convex"
"""


class IndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    embedder: str = "minilm"
    max_seq_length: int = Field(default=256, ge=16, le=512)
    # Windows embedded per page; full-text search always covers the whole page.
    max_windows: int = Field(default=1, ge=1, le=64)
    # How hybrid search fuses the full-text and vector rankings: "convex" (0.5/0.5 over
    # min-max-normalised scores) or "rrf" (reciprocal rank fusion, k=60).
    fusion: Literal["convex", "rrf"] = "convex"


class ProposalsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The branch proposals target; None: the branch checked out when proposing.
    base: str | None = None


class ServerConfig(BaseModel):
    """`serve` and `mcp serve`: who may talk to the server, and how much an agent may open."""

    model_config = ConfigDict(extra="forbid")
    # Host headers answered besides the loopback names (127.0.0.1, localhost, [::1]): a
    # DNS-rebinding page reaches a local server under a name of its own, which is refused.
    allowed_hosts: list[str] = Field(default_factory=list)
    # Browser origins (scheme://host[:port]) allowed besides the server's own.
    allowed_origins: list[str] = Field(default_factory=list)
    # Proposals (xos/ branches) one MCP server process opens for its callers; 0 refuses all.
    max_proposals: int = Field(default=20, ge=0)


class ImpactTask(BaseModel):
    """A brief `experimentos impact` compiles at two revisions (as `experimentos brief` would)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=120)
    task: str = Field(min_length=1, max_length=8000)
    # A directory (relative to the knowledge root) whose manifests the brief reads.
    repo: str | None = None
    libraries: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    agent: str | None = None
    model: str | None = None
    toolchain: str | None = None
    repo_type: str | None = None
    budget: int | None = Field(default=None, ge=1)


class ImpactConfig(BaseModel):
    """`[impact]`: the tasks whose briefs a knowledge change is shown against."""

    model_config = ConfigDict(extra="forbid")
    # Every fixture's task (fixtures/*/fixture.yaml), compiled against that fixture's files.
    fixtures: bool = True
    # More tasks: a task text, or a table {task, name, repo, libraries, files, budget, ...}.
    tasks: list[str | ImpactTask] = Field(default_factory=list, max_length=500)
    budget: int | None = Field(default=None, ge=1)  # default: the brief's own default


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal[1] = 1
    index: IndexConfig = Field(default_factory=IndexConfig)
    proposals: ProposalsConfig = Field(default_factory=ProposalsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    impact: ImpactConfig = Field(default_factory=ImpactConfig)


def parse_config(raw: bytes, path: Path | str) -> Config:
    """The configuration in `raw` (the bytes of `path`); UsageError naming the file and field."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"is larger than {MAX_CONFIG_BYTES} bytes", path=path)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"not valid TOML: {exc}", path=path) from None
    except RecursionError:
        raise UsageError("not valid TOML: nested too deeply", path=path) from None
    except (ValueError, OverflowError) as exc:  # a number or date Python will not convert
        raise UsageError(
            f"not valid TOML: a value cannot be read ({exc})"[:300], path=path
        ) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        raise UsageError(err["msg"], path=path, field=field) from None
