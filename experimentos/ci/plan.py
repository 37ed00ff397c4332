"""The plan of a sharded matrix workflow: which experiment, how many shards, as job outputs.

`matrix.yml` runs on workflow_dispatch (inputs experiment and shards) and on a pull-request
label `matrix:<experiment>` or `matrix:<experiment>:<shards>`. The plan job turns either into
outputs the shard jobs read (`experiment`, `shards`, `shard-list` as JSON for the job matrix).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from experimentos.errors import NotFound, UsageError
from experimentos.store import Workspace
from experimentos.store.lab_paths import EXPERIMENTS_DIR, experiment_slug
from experimentos.store.lab_scan import read_experiment

LABEL_PREFIX = "matrix:"
DEFAULT_SHARDS = 2
MAX_SHARDS = 32  # GitHub allows 256 jobs per matrix; a shard per core of a few runners is plenty


class MatrixPlan(BaseModel):
    experiment: str
    shards: int
    shard_list: list[int]

    def outputs(self) -> str:
        """`key=value` lines for $GITHUB_OUTPUT."""
        return (
            f"experiment={self.experiment}\nshards={self.shards}\n"
            f"shard-list={json.dumps(self.shard_list)}\n"
        )


def _shards(value: str | int | None) -> int:
    if value is None or value == "":
        return DEFAULT_SHARDS
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"shards {value!r} is not a number", field="shards") from None
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"shards must be 1 to {MAX_SHARDS}, got {count}", field="shards")
    return count


def plan_matrix(
    workspace: Workspace,
    *,
    experiment: str | None = None,
    shards: str | int | None = None,
    label: str | None = None,
) -> MatrixPlan:
    """The plan from workflow_dispatch inputs, or from a `matrix:<experiment>[:<shards>]` label."""
    if label:
        if not label.startswith(LABEL_PREFIX):
            raise UsageError(f"label {label!r} does not start with {LABEL_PREFIX!r}", field="label")
        parts = label[len(LABEL_PREFIX) :].split(":")
        if len(parts) > 2:
            raise UsageError(f"label {label!r}: expected matrix:<exp>[:<shards>]", field="label")
        experiment = parts[0]
        shards = parts[1] if len(parts) == 2 else shards
    if not experiment:
        raise UsageError("name the experiment (input or label)", field="experiment")
    slug = experiment_slug(experiment.strip())
    read_experiment(workspace.root, slug)
    spec = Path(workspace.root) / EXPERIMENTS_DIR / slug / "matrix.yaml"
    if not spec.is_file():
        raise NotFound(f"experiment {slug} has no matrix.yaml", field="experiment")
    count = _shards(shards)
    return MatrixPlan(experiment=slug, shards=count, shard_list=list(range(1, count + 1)))
