"""What a matrix run checks before its first cell, in one function that `--dry-run` calls too.

A dry run that validates less than a run says "fine" about a matrix that then fails on its
first cell; so both call `preflight` on the cells they would run, and it refuses (naming the
spec file and field, or the state path) everything a run refuses before it starts anything:

- every agent in use: its adapter accepts its options and finds what entering it needs (the
  shell script, the policy script, which must load and validate) and the CLI binary it runs
  (`agents.<i>.options.<name>`, `agents.<i>.adapter`);
- the state directories the run writes into (.experimentos/matrix/locks, and for conditions
  that serve knowledge .experimentos/matrix/knowledge/<hash>): real directories inside the
  root, never a link;
- every cell's lock file: absent, or a plain regular file (never a link, never hard-linked);
- nothing under .experimentos/ is committed to git: it holds locks, snapshots and installs
  this tool writes and trusts, and a repository that ships them (`git add -f`) would choose
  what a run kills, serves or executes.

It starts nothing and creates nothing.
"""

from __future__ import annotations

from pathlib import Path

from experimentos.agents.base import adapter_class
from experimentos.errors import ExperimentosError, UsageError
from experimentos.matrix.cells import Cell
from experimentos.matrix.knowledge import VARIANTS, variant_dir
from experimentos.matrix.plan import Plan
from experimentos.matrix.records import LOCKS, check_claim_file
from experimentos.store.git import committed_state, committed_state_message
from experimentos.store.safe import STATE_DIR, state_path


def preflight(plan: Plan, cells: list[Cell]) -> None:
    """Refuse what a run of `cells` would refuse before its first cell (see module docstring)."""
    root = plan.workspace.root
    _check_agents(plan, cells)
    _refuse_committed_state(root)
    state_path(root, *LOCKS, create=False)
    serving = {c.condition.text for c in cells if c.condition.attaches_server}
    if serving:
        state_path(root, *VARIANTS, create=False)
        for text in sorted(serving):
            variant_dir(root, plan.knowledge[text])
    for cell in cells:
        check_claim_file(root, cell.run_id)


def _refuse_committed_state(root: Path) -> None:
    names = committed_state(root)
    if names:
        raise UsageError(committed_state_message(names), path=STATE_DIR)


def _check_agents(plan: Plan, cells: list[Cell]) -> None:
    names = {c.agent.name for c in cells}
    for i, agent in enumerate(plan.spec.agents):
        if agent.name not in names:
            continue
        cls = adapter_class(agent.adapter)
        if cls is None:  # the plan refused it already; kept for a plan made otherwise
            raise UsageError(f"unknown adapter {agent.adapter!r}", path=plan.spec_path,
                             field=f"agents.{i}.adapter")  # fmt: skip
        try:
            adapter = cls(agent, root=plan.workspace.root)
            adapter.check()
        except ExperimentosError as exc:
            where = f"agents.{i}.{exc.field}" if exc.field else f"agents.{i}.options"
            raise UsageError(exc.message, path=plan.spec_path, field=where) from None
        problem = adapter.unavailable()
        if problem:
            raise UsageError(problem, path=plan.spec_path, field=f"agents.{i}.adapter")
