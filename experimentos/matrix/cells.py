"""Cells: the matrix expanded in a stable order, a stable run id per cell, and shards.

Order: fixtures, then conditions, then agents, then repeats, each as listed in the spec. A
cell's run id follows from the matrix id and the cell alone (never from a clock), so every
machine that expands the same spec names the same runs, and `--shard i/n` (cell k goes to
shard k mod n + 1) partitions the cells exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from experimentos.agents.base import AgentSpec
from experimentos.errors import UsageError
from experimentos.matrix.spec import Condition, MatrixSpec
from experimentos.models.knowledge import SLUG_MAX, slug_problem
from experimentos.models.lab import MatrixFingerprint

# Bumped when the prompt the runner composes changes: it is part of every cell's inputs.
PROMPT_VERSION = 1
_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 10000


@dataclass(frozen=True)
class Cell:
    """One run of the matrix: fixture x condition x agent x repeat."""

    index: int  # position in the full expansion (0-based)
    matrix_id: str
    fixture: str
    condition: Condition
    agent: AgentSpec
    repeat: int  # 1-based

    @property
    def cell_id(self) -> str:
        """fixture/condition/agent/repeat, as reports show it."""
        return f"{self.fixture}/{self.condition.text}/{self.agent.name}/{self.repeat}"

    @property
    def run_id(self) -> str:
        cell = (self.fixture, self.condition, self.agent.name, self.repeat)
        return run_id_for(self.matrix_id, *cell)


def _short(text: str, n: int = 10) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def run_id_for(matrix_id: str, fixture: str, condition: Condition, agent: str, repeat: int) -> str:
    """run.<matrix>.<fixture>.<condition>.<agent>.r<repeat>; a condition too long for the id
    is replaced by a hash of its text (and the whole cell, if even that is too long)."""
    slug = f"{matrix_id}.{fixture}.{condition.slug}.{agent}.r{repeat}"
    if len(slug) > SLUG_MAX:
        slug = f"{matrix_id}.{fixture}.c-{_short(condition.text)}.{agent}.r{repeat}"
    if len(slug) > SLUG_MAX:
        cell = f"{fixture}/{condition.text}/{agent}"
        slug = f"{matrix_id[:60]}.cell-{_short(cell, 16)}.r{repeat}"
    problem = slug_problem(slug)
    if problem:  # the spec's name patterns make this unreachable; never write a bad id
        raise UsageError(f"cannot make a run id from {slug!r}: {problem}", field="id")
    return f"run.{slug}"


def expand(spec: MatrixSpec, matrix_id: str) -> list[Cell]:
    """Every cell of the matrix, in the stable order; UsageError if two share a run id."""
    cells: list[Cell] = []
    for fixture in spec.fixtures:
        for condition in spec.parsed_conditions():
            for agent in spec.agents:
                for repeat in range(1, spec.repeats + 1):
                    cells.append(Cell(len(cells), matrix_id, fixture, condition, agent, repeat))
    seen: dict[str, Cell] = {}
    for cell in cells:
        other = seen.setdefault(cell.run_id, cell)
        if other is not cell:
            raise UsageError(
                f"cells {other.cell_id} and {cell.cell_id} would share run id {cell.run_id}",
                field="conditions",
            )
    return cells


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`i/n` (1 <= i <= n) as (i, n); None for None."""
    if text is None:
        return None
    match = _SHARD_RE.fullmatch(text)
    if not match:
        raise UsageError(f"--shard must look like i/n (e.g. 2/3), not {text!r}", field="shard")
    i, n = int(match.group(1)), int(match.group(2))
    if not 1 <= i <= n or n > MAX_SHARDS:
        raise UsageError(f"--shard {text}: need 1 <= i <= n <= {MAX_SHARDS}", field="shard")
    return i, n


def in_shard(cell: Cell, shard: tuple[int, int] | None) -> bool:
    """Round-robin: cell k belongs to shard k mod n + 1 (spreads fixtures and agents evenly)."""
    return shard is None or cell.index % shard[1] == shard[0] - 1


def cell_hash(cell: Cell, fingerprint: MatrixFingerprint) -> str:
    """sha256 of the cell and everything its run depends on (its fingerprint): a resumed or
    merged result must match it."""
    data = {
        "fixture": cell.fixture,
        "condition": cell.condition.text,
        "agent": cell.agent.name,
        "repeat": cell.repeat,
        "fingerprint": fingerprint.model_dump(mode="json", by_alias=True),
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
