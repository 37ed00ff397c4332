"""Which comparison of a matrix speaks for one page, and which of its runs were served it.

Only one comparison does: the page's **ablation**, `brief-without:<page>` next to `brief`. The
two conditions differ by that page alone (its file, and its mentions in other pages: see
experimentos.matrix.knowledge), so their paired delta is the page's effect, on the blocks
whose `brief` run the MCP server's own log shows was served the page (a page cannot have helped
a run that never saw it). A matrix that never ablated the page says nothing about it: `brief`
vs `none` measures the whole brief, and an audit found it credited to a page served in 0 of 120
runs. The gate refuses such a page and names the condition to add.

`guardedBy` and `appliesTo` still say which fixtures a page is for (`candidates` uses them to
name the pages a matrix should ablate next); they never stand in for an ablation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from experimentos.errors import ExperimentosError, GitError
from experimentos.matrix.fixtures import LoadedFixture, load_fixture
from experimentos.models.fixture import Fixture
from experimentos.models.knowledge import AppliesTo, GateBasis, Page
from experimentos.repofacts.facts import LocalFacts, read_local_facts
from experimentos.repofacts.versions import MatchContext, applies
from experimentos.reports.analysis import ABLATION_PREFIX, BASELINE, REFERENCE
from experimentos.reports.results import MatrixData
from experimentos.reports.rows import RunRow
from experimentos.reports.sources import Source, Unreadable
from experimentos.store.git import Repo
from experimentos.store.paths import page_path

_KEYS = ("agent", "model", "toolchain", "repo_type", "library", "versions", "paths")


@dataclass(frozen=True)
class FixtureInfo:
    """A matrix fixture as read from the working tree, or why it could not be read."""

    name: str
    fixture: Fixture | None = None
    facts: LocalFacts | None = None
    problem: str | None = None


def load_fixture_infos(root: Path, names: Iterable[str]) -> dict[str, FixtureInfo]:
    """The fixtures a matrix ran, read once (a candidates pass asks about many pages)."""
    out = {}
    for name in names:
        try:
            loaded = load_fixture(root, name)
        except ExperimentosError as exc:
            out[name] = FixtureInfo(name, problem=f"cannot be read ({exc.message})")
            continue
        out[name] = FixtureInfo(name, fixture=loaded.fixture, facts=_root_facts(loaded))
    return out


def _root_facts(loaded: LoadedFixture) -> LocalFacts | None:
    """The fixture's dependency facts, read by the brief's own readers from the root files
    load_fixture already read safely (no second walk of a directory that may have changed)."""
    with tempfile.TemporaryDirectory(prefix="xos-promote-") as tmp:
        for item in loaded.repo_files:
            if "/" not in item.path:
                (Path(tmp) / item.path).write_bytes(item.data)
        try:
            return read_local_facts(Path(tmp))
        except ExperimentosError:
            return None


@dataclass
class Scope:
    """The comparison that speaks for a page: the condition without it (baseline), the one with
    it (treatment), and the fixtures it is restricted to (None: every fixture)."""

    basis: GateBasis | None
    baseline: str | None = None
    treatment: str | None = None
    fixtures: list[str] | None = None
    notes: dict[str, str] = field(default_factory=dict)  # fixture -> why it is in or out
    problem: str | None = None  # why the matrix has no comparison for the page

    def fixture_list(self, data: MatrixData) -> list[str]:
        """The fixtures in scope, by name (every fixture of the matrix for an ablation)."""
        return list(self.fixtures) if self.fixtures is not None else matrix_fixtures(data)


def matrix_fixtures(data: MatrixData) -> list[str]:
    """The fixtures with counted runs, in the spec's order when known."""
    seen = {r.fixture for r in data.rows if r.counted and r.fixture}
    head = [f for f in data.fixtures if f in seen]
    return head + sorted(seen - set(head))


def counted_conditions(data: MatrixData) -> set[str]:
    return {r.condition for r in data.rows if r.counted and r.condition}


def has_keys(applies_to: AppliesTo | None) -> bool:
    return applies_to is not None and any(applies_to.values(k) for k in _KEYS)


def applies_to_fixture(page: Page, info: FixtureInfo) -> tuple[bool, str]:
    """Whether the page's appliesTo positively matches the fixture, and why (or why not)."""
    fixture = info.fixture
    assert fixture is not None
    if not has_keys(page.applies_to):
        return True, "the page's appliesTo is empty: it applies to every fixture"
    context = MatchContext(
        repo_type=fixture.repo_type,
        libraries=fixture.libraries,
        files=fixture.files,
        local=info.facts,
    )
    match = applies(page.applies_to, context)
    if not match.applies:
        return False, "; ".join(r for r in match.reasons if "unknown" not in r) or "excluded"
    if not match.matched:
        return False, "no appliesTo key matches it (" + "; ".join(match.reasons) + ")"
    return True, "appliesTo " + ", ".join(match.matched) + " matches"


def ablation_of(page_id: str) -> str:
    return f"{ABLATION_PREFIX}{page_id}"


def choose_scope(data: MatrixData, page: Page) -> Scope:
    """The page's ablation (brief-without:<page> vs brief, every fixture), or why there is none
    and the condition to add."""
    conditions = counted_conditions(data)
    ablation = ablation_of(page.id)
    if ablation in conditions and REFERENCE in conditions:
        return Scope("ablation", baseline=ablation, treatment=REFERENCE, fixtures=None)
    missing = [c for c in (REFERENCE, ablation) if c not in conditions]
    have = ", ".join(f"`{c}`" for c in sorted(conditions)) or "none counted"
    spec = f"experiments/{data.experiment}/matrix.yaml"
    return Scope(
        None,
        problem=f"the matrix never tested {page.id}: it has no counted runs of "
        + " and ".join(f"`{c}`" for c in missing)
        + f" (its conditions: {have}); add the condition `{ablation}` (with `{REFERENCE}`) to "
        f"{spec} and run the matrix again — `{REFERENCE}` vs `{BASELINE}` measures the whole "
        "brief, not one page",
    )


# --- was the page served? ---------------------------------------------------------------------

Served = Literal["yes", "no", "unknown"]


@dataclass
class ServedCheck:
    verdict: Served
    served: int = 0  # counted `brief` runs whose server log shows the page served
    runs: int = 0  # counted `brief` runs
    notes: list[str] = field(default_factory=list)
    problem: str | None = None


def served(root: Path, data: MatrixData, page: Page, scope: Scope) -> ServedCheck:
    """How many of the `brief` runs the MCP server's log shows were served the page (a brief
    that carried it, or the page read whole); none is a refusal. Also notes a page whose file
    changed since the runs were made (the effect measured is the earlier version's)."""
    if scope.basis is None:
        return ServedCheck("unknown")
    runs = [r for r in data.rows if r.counted and r.condition == scope.treatment]
    hits = sum(1 for r in runs if page.id in r.served)
    check = ServedCheck("yes" if hits else "no", hits, len(runs))
    check.notes += changed_since(root, runs, page)
    if hits == 0:
        check.problem = (
            f"the MCP server's log shows {page.id} served in none of the {len(runs)} "
            f"`{scope.treatment}` runs (no brief carried it, no run read it): the ablation says "
            "nothing about it"
        )
    elif hits < len(runs):
        check.notes.append(
            f"served in {hits} of {len(runs)} `{scope.treatment}` runs (the server's log): the "
            "comparison uses the blocks of those runs only"
        )
    return check


def changed_since(root: Path, runs: list[RunRow], page: Page) -> list[str]:
    """A note when the page's file now differs from the one at the knowledge commit the runs
    recorded (what they were served was an earlier version)."""
    commits = sorted({r.knowledge_commit for r in runs if r.knowledge_commit})
    if not commits:
        return []
    try:
        repo, prefix = Repo.containing(root)
    except GitError:
        return []
    rel = page_path(page.id).as_posix()
    git_path = f"{prefix}/{rel}" if prefix else rel
    current = _current_bytes(root, rel)
    changed = []
    for commit in commits:
        if repo.commit_of(commit) is None:
            continue
        blob = repo.blob(commit, git_path)
        if blob is not None and current is not None and blob != current:
            changed.append(commit[:12])
    if not changed:
        return []
    return [
        f"the page changed since the runs were made (its file differs from the one at "
        f"{', '.join(changed)}): the effect measured is that of the earlier version"
    ]


def _current_bytes(root: Path, rel: str) -> bytes | None:
    try:
        return Source(root).read(rel)
    except Unreadable:
        return None
