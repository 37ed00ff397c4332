"""Plan a matrix: read the spec and check it against the root before anything runs.

Every reference is resolved up front, and a bad one is refused naming the spec file and the
field: a fixture that does not load (`fixtures.<i>`), an unknown adapter or a bad adapter option
(`agents.<i>.adapter`, `agents.<i>.options.<name>`), a model endpoint the CLI cannot speak or
whose key is not set (`agents.<i>.model.provider`, `agents.<i>.model.keyEnv`), a page that does
not exist or a revision that does not resolve (`conditions.<i>`), a secret that is not set
(`secrets.<i>`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from experimentos.agents.base import AgentSpec
from experimentos.agents.endpoint import endpoint_key
from experimentos.errors import ExperimentosError, InvalidPage, UsageError, add_secret
from experimentos.matrix.cells import PROMPT_VERSION, Cell, cell_hash, expand
from experimentos.matrix.fingerprint import agent_parts
from experimentos.matrix.fixtures import LoadedFixture, load_fixture
from experimentos.matrix.knowledge import KnowledgeSource, resolve_knowledge
from experimentos.matrix.runtimes import runtime_problems, runtimes
from experimentos.matrix.spec import MatrixSpec, load_spec, spec_rel
from experimentos.models.lab import ExperimentStatus, MatrixFingerprint
from experimentos.store import Workspace
from experimentos.store.lab_paths import EXPERIMENTS_DIR, RUNS_DIR, experiment_slug
from experimentos.store.lab_scan import read_experiment


@dataclass
class Plan:
    """A matrix checked against its root: what every cell runs, and from what."""

    workspace: Workspace
    slug: str  # the experiment's
    experiment_id: str
    spec: MatrixSpec
    spec_path: str
    matrix_id: str
    spec_hash: str
    fixtures: dict[str, LoadedFixture]
    knowledge: dict[str, KnowledgeSource]  # by condition text
    cells: list[Cell]
    cell_hashes: dict[str, str]  # by run id
    fingerprints: dict[str, MatrixFingerprint] = field(default_factory=dict)  # by run id
    agent_versions: dict[str, str | None] = field(default_factory=dict)  # the CLIs', by agent
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # never recorded


def _bad(spec_path: str, where: str, message: str) -> UsageError:
    return UsageError(message, path=spec_path, field=where)


def _load_fixtures(root: Path, spec: MatrixSpec, spec_path: str) -> dict[str, LoadedFixture]:
    loaded = {}
    for i, name in enumerate(spec.fixtures):
        try:
            fixture = load_fixture(root, name)
        except InvalidPage as exc:
            first = exc.problems[0] if exc.problems else None
            detail = f"{first.field}: {first.message}" if first and first.field else exc.message
            message = f"fixture {name!r} is invalid: {detail}"
            raise _bad(spec_path, f"fixtures.{i}", message) from None
        except ExperimentosError as exc:
            raise _bad(spec_path, f"fixtures.{i}", f"fixture {name!r}: {exc}") from None
        if fixture.fixture.oracle is None:
            raise _bad(spec_path, f"fixtures.{i}", f"fixture {name!r} has no oracle")
        problems = runtime_problems(fixture.fixture, runtimes())
        if problems:
            raise _bad(spec_path, f"fixtures.{i}", f"fixture {name!r} {'; '.join(problems)}")
        loaded[name] = fixture
    return loaded


def check_agents(root: Path, agents: list[AgentSpec], spec_path: str) -> None:
    """Every adapter exists and accepts its options (nothing is started)."""
    from experimentos.agents.base import adapter_class, adapter_names

    known = adapter_names()
    for i, agent in enumerate(agents):
        cls = adapter_class(agent.adapter)
        if cls is None:
            message = f"unknown adapter {agent.adapter!r} (known: {', '.join(known)})"
            raise _bad(spec_path, f"agents.{i}.adapter", message)
        try:
            adapter = cls(agent, root)
            adapter.decisions()  # options it refuses, named by field
            adapter.wants_isolation()
            endpoint_key(agent.name, agent.endpoint)  # the model's key is set (now masked)
        except ExperimentosError as exc:
            where = f"agents.{i}.{exc.field}" if exc.field else f"agents.{i}.options"
            raise _bad(spec_path, where, exc.message) from None


def _secrets(spec: MatrixSpec, spec_path: str) -> dict[str, str]:
    found = {}
    for i, name in enumerate(spec.secrets):
        value = os.environ.get(name)
        if not value:
            raise _bad(spec_path, f"secrets.{i}", f"{name} is not set in the environment")
        add_secret(value)  # masked in everything the tool prints, too
        found[name] = value
    return found


def _check_id_free(root: Path, slug: str, matrix_id: str, spec_path: str) -> None:
    """Run ids are unique across experiments: refuse a matrix id another experiment's runs use."""
    prefix = f"run.{matrix_id}."
    base = root / EXPERIMENTS_DIR
    try:
        others = sorted(e.name for e in os.scandir(base) if e.is_dir() and e.name != slug)
    except FileNotFoundError:
        return
    for other in others:
        try:
            names = os.listdir(base / other / RUNS_DIR)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if any(n.startswith(prefix) and n.endswith(".md") for n in names):
            message = (
                f"experiment {other!r} already has runs of matrix {matrix_id!r}; "
                "give this matrix its own id"
            )
            raise _bad(spec_path, "id", message)


def plan_matrix(
    workspace: Workspace,
    experiment: str,
    *,
    repeats: int | None = None,
    secrets: bool = True,
) -> Plan:
    """Load and check the matrix of `experiment` (a slug or experiment.<slug>).

    `repeats`: at least this many repeats per cell (a top-up raising the spec; matrix.topup).
    `secrets=False`: do not require the spec's secrets (planning only; nothing will run)."""
    root = workspace.root
    slug = experiment_slug(experiment)
    record = read_experiment(root, slug)
    if record.model.status is ExperimentStatus.archived:
        raise UsageError(
            f"{record.model.id} is archived; it takes no new runs", path=record.path, field="status"
        )
    spec = load_spec(root, slug)
    if repeats is not None and repeats > spec.repeats:
        # As matrix.yaml will read once raised (matrix.topup): the same spec hash.
        spec = spec.model_copy(update={"repeats": repeats})
    spec_path = spec_rel(slug)
    matrix_id = spec.id or slug
    fixtures = _load_fixtures(root, spec, spec_path)
    check_agents(root, spec.agents, spec_path)
    try:
        knowledge = resolve_knowledge(root, spec.parsed_conditions(), spec.search)
    except UsageError as exc:
        raise _bad(spec_path, exc.field or "conditions", exc.message) from None
    _check_id_free(root, slug, matrix_id, spec_path)
    cells = expand(spec, matrix_id)
    parts = {agent.name: agent_parts(agent, root) for agent in spec.agents}
    fingerprints = {
        cell.run_id: MatrixFingerprint(
            fixture=fixtures[cell.fixture].content_hash,
            knowledge=knowledge[cell.condition.text].content_hash,
            agent=parts[cell.agent.name].agent,
            agent_files=parts[cell.agent.name].files,
            agent_version=parts[cell.agent.name].version,
            model=parts[cell.agent.name].model,
            time_limit_s=spec.time_limit_s,
            prompt=PROMPT_VERSION,
        )
        for cell in cells
    }
    hashes = {cell.run_id: cell_hash(cell, fingerprints[cell.run_id]) for cell in cells}
    return Plan(
        workspace=workspace,
        slug=slug,
        experiment_id=record.model.id,
        spec=spec,
        spec_path=spec_path,
        matrix_id=matrix_id,
        spec_hash=spec.spec_hash(),
        fixtures=fixtures,
        knowledge=knowledge,
        cells=cells,
        cell_hashes=hashes,
        fingerprints=fingerprints,
        agent_versions={name: part.version for name, part in parts.items()},
        secrets=_secrets(spec, spec_path) if secrets else {},
    )
