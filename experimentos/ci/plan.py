"""The plan of a sharded matrix workflow: which experiment, how many repeats, which shards.

`matrix.yml` runs on workflow_dispatch (inputs experiment, repeats, shards) and on the
pull-request label `matrix:<experiment>[:<repeats>[:<shards>]]`. The label means "bring this
matrix up to <repeats> finished runs per cell" (default: the spec's repeats): only the runs
that are missing run (`matrix run --repeats N`, experimentos.matrix.topup), so the plan counts
them first; with none missing, no shard starts and the pull request is told so. The outputs
are what the shard jobs read (`shard-list` as JSON for the job matrix).
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from experimentos.errors import NotFound, UsageError
from experimentos.matrix.topup import check_repeats
from experimentos.store import Workspace
from experimentos.store.lab_paths import EXPERIMENTS_DIR, experiment_slug
from experimentos.store.lab_scan import read_experiment

LABEL_PREFIX = "matrix:"
DEFAULT_SHARDS = 2
MAX_SHARDS = 32  # GitHub allows 256 jobs per matrix; a shard per core of a few runners is plenty


class MatrixPlan(BaseModel):
    experiment: str
    repeats: int
    shards: int
    shard_list: list[int]
    to_run: int
    done: int
    cells: int

    def outputs(self) -> str:
        """`key=value` lines for $GITHUB_OUTPUT."""
        return (
            f"experiment={self.experiment}\nrepeats={self.repeats}\nshards={self.shards}\n"
            f"shard-list={json.dumps(self.shard_list)}\nto-run={self.to_run}\n"
        )

    def summary(self) -> str:
        if not self.to_run:
            return (
                f"{self.experiment}: nothing to run: every cell already has {self.repeats} "
                "finished repeat(s)"
            )
        return (
            f"{self.experiment}: {self.to_run} run(s) missing for {self.repeats} repeat(s) per "
            f"cell ({self.done} done) over {self.shards} shard(s)"
        )


def _count(value: str | int | None, name: str, default: int | None, most: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} {value!r} is not a number", field=name) from None
    if not 1 <= count <= most:
        raise UsageError(f"{name} must be 1 to {most}, got {count}", field=name)
    return count


def parse_label(label: str) -> tuple[str, str | None, str | None]:
    """`matrix:<experiment>[:<repeats>[:<shards>]]` -> (experiment, repeats, shards)."""
    if not label.startswith(LABEL_PREFIX):
        raise UsageError(f"label {label!r} does not start with {LABEL_PREFIX!r}", field="label")
    parts = label[len(LABEL_PREFIX) :].split(":")
    if len(parts) > 3 or not parts[0]:
        raise UsageError(
            f"label {label!r}: expected matrix:<experiment>[:<repeats>[:<shards>]]", field="label"
        )
    parts += [None] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def plan_matrix(
    workspace: Workspace,
    *,
    experiment: str | None = None,
    repeats: str | int | None = None,
    shards: str | int | None = None,
    label: str | None = None,
) -> MatrixPlan:
    """The plan from workflow_dispatch inputs, or from a label (which wins)."""
    from experimentos.matrix.plan import plan_matrix as plan_cells
    from experimentos.matrix.runner import top_up_cells

    if label:
        experiment, repeats, shards_text = parse_label(label)
        shards = shards_text if shards_text is not None else shards
    if not experiment:
        raise UsageError("name the experiment (input or label)", field="experiment")
    slug = experiment_slug(experiment.strip())
    read_experiment(workspace.root, slug)
    spec = workspace.root / EXPERIMENTS_DIR / slug / "matrix.yaml"
    if not spec.is_file():
        raise NotFound(f"experiment {slug} has no matrix.yaml", field="experiment")
    wanted = check_repeats(repeats)
    requested = _count(shards, "shards", None, MAX_SHARDS)
    # The secrets are the shards' business; planning never reads them.
    plan = plan_cells(workspace, slug, repeats=wanted, secrets=False)
    pending, states, problems = top_up_cells(plan, None, wanted)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"{problems[0]}{more}", path=plan.spec_path, field="id")
    count = min(requested or DEFAULT_SHARDS, len(pending)) if pending else 0
    return MatrixPlan(
        experiment=slug,
        repeats=wanted or plan.spec.repeats,
        shards=max(count, 1),
        shard_list=list(range(1, count + 1)),
        to_run=len(pending),
        done=len(states) - len(pending),
        cells=len(states),
    )
