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
from experimentos.errors import (
    Collect,
    ExperimentosError,
    InputErrors,
    InvalidPage,
    NotFound,
    UsageError,
    add_secret,
    did_you_mean,
)
from experimentos.matrix.cells import PROMPT_VERSION, Cell, cell_hash, expand
from experimentos.matrix.fingerprint import agent_parts
from experimentos.matrix.fixtures import LoadedFixture, fixture_names, load_fixture
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


def _load_fixtures(
    root: Path, names: list[str], spec_path: str, found: Collect
) -> dict[str, LoadedFixture]:
    loaded = {}
    for i, name in enumerate(names):
        with found.check():
            loaded[name] = _load_fixture(root, name, f"fixtures.{i}", spec_path)
    return loaded


def _load_fixture(root: Path, name: str, where: str, spec_path: str) -> LoadedFixture:
    try:
        fixture = load_fixture(root, name)
    except InvalidPage as exc:
        first = exc.problems[0] if exc.problems else None
        detail = f"{first.field}: {first.message}" if first and first.field else exc.message
        raise _bad(spec_path, where, f"fixture {name!r} is invalid: {detail}") from None
    except ExperimentosError as exc:
        hint = did_you_mean(name, fixture_names(root)) if isinstance(exc, NotFound) else ""
        raise _bad(spec_path, where, f"fixture {name!r}: {exc}{hint}") from None
    if fixture.fixture.oracle is None:
        raise _bad(spec_path, where, f"fixture {name!r} has no oracle")
    problems = runtime_problems(fixture.fixture, runtimes())
    if problems:
        raise _bad(spec_path, where, f"fixture {name!r} {'; '.join(problems)}")
    return fixture


def check_agents(root: Path, agents: list[AgentSpec], spec_path: str) -> None:
    """Every adapter exists and accepts its options (nothing is started); every problem of
    every agent is reported together."""
    found = Collect()
    _check_agents(root, list(enumerate(agents)), spec_path, found)
    found.done()


def _check_agents(
    root: Path, agents: list[tuple[int, AgentSpec]], spec_path: str, found: Collect
) -> None:
    from experimentos.agents.base import adapter_class, adapter_names

    known = adapter_names()
    for i, agent in agents:
        cls = adapter_class(agent.adapter)
        if cls is None:
            message = (
                f"unknown adapter {agent.adapter!r}{did_you_mean(agent.adapter, known)} "
                f"(known: {', '.join(known)})"
            )
            found.add(_bad(spec_path, f"agents.{i}.adapter", message))
            continue
        try:
            adapter = cls(agent, root)
            adapter.decisions()  # options it refuses, named by field
            adapter.wants_isolation()
            endpoint_key(agent.name, agent.endpoint)  # the model's key is set (now masked)
        except ExperimentosError as exc:
            for one in exc.errors if isinstance(exc, InputErrors) else [exc]:
                where = f"agents.{i}.{one.field}" if one.field else f"agents.{i}.options"
                found.add(_bad(spec_path, where, one.message))


def _secrets(names: list[str], spec_path: str, found: Collect) -> dict[str, str]:
    secrets = {}
    for i, name in enumerate(names):
        value = os.environ.get(name)
        if not value:
            found.add(_bad(spec_path, f"secrets.{i}", f"{name} is not set in the environment"))
            continue
        add_secret(value)  # masked in everything the tool prints, too
        secrets[name] = value
    return secrets


def _knowledge(
    root: Path, conditions: list, search: str | None, spec_path: str, found: Collect
) -> dict[str, KnowledgeSource]:
    try:
        return resolve_knowledge(root, conditions, search)
    except ExperimentosError as exc:
        for one in exc.errors if isinstance(exc, InputErrors) else [exc]:
            found.add(_bad(spec_path, one.field or "conditions", one.message))
        return {}


def _raw_parts(root: Path, spec_path: str, found: Collect) -> None:
    """The references of a spec that does not validate, checked as far as they parse: a spec
    with a schema mistake and a missing fixture reports both in one go."""
    from experimentos.matrix.spec import parse_condition
    from experimentos.store.yamlio import YamlError, load_yaml

    try:
        data = load_yaml((root / spec_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlError):
        return
    if not isinstance(data, dict):
        return
    fixtures = data.get("fixtures")
    if isinstance(fixtures, list):
        for i, name in enumerate(fixtures):
            if isinstance(name, str) and name:
                with found.check():
                    _load_fixture(root, name, f"fixtures.{i}", spec_path)
    agents = data.get("agents")
    if isinstance(agents, list):
        parsed = []
        for i, agent in enumerate(agents):
            try:
                parsed.append((i, AgentSpec.model_validate(agent)))
            except ValueError:  # the schema problems already name it
                continue
        _check_agents(root, parsed, spec_path, found)
    secrets = data.get("secrets")
    if isinstance(secrets, list):
        _secrets([n for n in secrets if isinstance(n, str)], spec_path, found)
    conditions = data.get("conditions")
    if isinstance(conditions, list):
        for i, text in enumerate(conditions):
            try:
                condition = parse_condition(text)
            except ValueError:
                continue
            with found.check():
                try:
                    resolve_knowledge(root, [condition], None)
                except UsageError as exc:
                    raise _bad(spec_path, f"conditions.{i}", exc.message) from None


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
    spec_path = spec_rel(slug)
    found = Collect()  # every mistake of the spec in one answer, not one per attempt
    try:
        spec = load_spec(root, slug)
    except InvalidPage as exc:
        found.add(exc)
        _raw_parts(root, spec_path, found)
        found.done()
        raise
    if repeats is not None and repeats > spec.repeats:
        # As matrix.yaml will read once raised (matrix.topup): the same spec hash.
        spec = spec.model_copy(update={"repeats": repeats})
    matrix_id = spec.id or slug
    fixtures = _load_fixtures(root, spec.fixtures, spec_path, found)
    _check_agents(root, list(enumerate(spec.agents)), spec_path, found)
    knowledge = _knowledge(root, spec.parsed_conditions(), spec.search, spec_path, found)
    with found.check():
        _check_id_free(root, slug, matrix_id, spec_path)
    values = _secrets(spec.secrets, spec_path, found) if secrets else {}
    found.done()
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
        secrets=values,
    )
