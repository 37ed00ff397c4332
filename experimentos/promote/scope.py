"""Which comparison of a matrix speaks for one page, and on which fixtures.

In order of preference:

- **ablation**: the matrix ran `brief-without:<page>` next to `brief`. The two conditions
  differ by that page's file alone, so their paired delta is the page's effect; every fixture
  counts (on a fixture the page does not reach, the two conditions are the same knowledge).
- **guardedBy**: otherwise `brief` vs `none`, on the fixtures whose manifest names the page in
  `guardedBy` (a person declared that the page's rule addresses that fixture's trap).
- **appliesTo**: otherwise `brief` vs `none`, on the fixtures the page's `appliesTo` matches,
  judged by the brief compiler's own matcher (experimentos.repofacts.versions.applies) against
  the fixture's `repoType`, `libraries`, `files` and the manifests at its root. A fixture counts
  when no key contradicts it and at least one key positively matches; a page without
  `appliesTo` keys applies to every fixture (its gate is the matrix's headline comparison).

Declarations win over inference: when any fixture of the matrix names the page in `guardedBy`,
those fixtures are the scope and `appliesTo` is not consulted. Fixtures are read from the
working tree (`fixtures/<name>`), as they are now.

`brief` vs `none` measures the whole brief; it speaks for one page only if the page was in the
knowledge the `brief` runs were served. `served` checks that at the knowledge commit the runs
recorded (an ablation needs no such check: the runner refuses to ablate a page that is not
there).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from experimentos.errors import ExperimentosError, GitError
from experimentos.matrix.fixtures import LoadedFixture, load_fixture
from experimentos.models.fixture import Fixture
from experimentos.models.knowledge import AppliesTo, GateBasis, Page
from experimentos.models.lab import RunRecord
from experimentos.repofacts.facts import LocalFacts, read_local_facts
from experimentos.repofacts.versions import MatchContext, applies
from experimentos.reports.analysis import ABLATION_PREFIX, BASELINE, REFERENCE
from experimentos.reports.results import MatrixData
from experimentos.reports.rows import RunRow
from experimentos.reports.sources import Source, Unreadable
from experimentos.store.git import Repo
from experimentos.store.paths import page_path
from experimentos.store.records import parse_record

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


def choose_scope(data: MatrixData, page: Page, fixtures: Mapping[str, FixtureInfo] | None) -> Scope:
    """The comparison of `data` that speaks for `page` (see the module docstring).

    `fixtures` are the matrix's fixtures as load_fixture_infos reads them (only needed when the
    matrix has no ablation of the page)."""
    conditions = counted_conditions(data)
    ablation = f"{ABLATION_PREFIX}{page.id}"
    if ablation in conditions and REFERENCE in conditions:
        return Scope("ablation", baseline=ablation, treatment=REFERENCE, fixtures=None)
    if not (BASELINE in conditions and REFERENCE in conditions):
        have = ", ".join(sorted(conditions)) or "none counted"
        return Scope(
            None,
            problem=f"the matrix has no `{ablation}` ablation and no `{REFERENCE}` vs "
            f"`{BASELINE}` comparison (its conditions: {have})",
        )
    names = matrix_fixtures(data)
    infos = fixtures or {}
    notes: dict[str, str] = {}
    readable = []
    for name in names:
        info = infos.get(name) or FixtureInfo(name, problem="was not read")
        if info.fixture is None:
            notes[name] = f"left out: fixtures/{name} {info.problem}"
        else:
            readable.append(info)
    guarded = [i.name for i in readable if page.id in i.fixture.guarded_by]  # type: ignore[union-attr]
    if guarded:
        for info in readable:
            notes[info.name] = (
                "its guardedBy names the page"
                if info.name in guarded
                else "left out: its guardedBy does not name the page"
            )
        return _brief_vs_none("guardedBy", guarded, notes)
    chosen = []
    for info in readable:
        ok, why = applies_to_fixture(page, info)
        notes[info.name] = why if ok else f"left out: {why}"
        if ok:
            chosen.append(info.name)
    if not chosen:
        return Scope(
            "appliesTo",
            baseline=BASELINE,
            treatment=REFERENCE,
            fixtures=[],
            notes=notes,
            problem="no fixture of the matrix names the page in guardedBy or matches its "
            "appliesTo, and the matrix has no ablation of it",
        )
    return _brief_vs_none("appliesTo", chosen, notes)


def _brief_vs_none(basis: GateBasis, fixtures: list[str], notes: dict[str, str]) -> Scope:
    return Scope(basis, baseline=BASELINE, treatment=REFERENCE, fixtures=fixtures, notes=notes)


# --- was the page served? -----------------------------------------------------------------------

Served = Literal["yes", "no", "unknown"]


@dataclass
class ServedCheck:
    verdict: Served
    notes: list[str] = field(default_factory=list)
    problem: str | None = None


def served(root: Path, data: MatrixData, page: Page, scope: Scope) -> ServedCheck:
    """Whether the page file was in the knowledge the `brief` runs in scope were served, read
    at the knowledge commit each run recorded; and whether it has changed since."""
    if scope.basis == "ablation" or scope.basis is None:
        return ServedCheck("yes")
    wanted = set(scope.fixtures or [])
    runs = [
        r for r in data.rows if r.counted and r.condition == scope.treatment and r.fixture in wanted
    ]
    commits = sorted({r.knowledge_commit for r in runs if r.knowledge_commit})
    if not commits:
        return ServedCheck("unknown", [f"the `{scope.treatment}` runs record no knowledge commit"])
    try:
        repo, prefix = Repo.containing(root)
    except GitError:
        return ServedCheck("unknown", ["the knowledge root is not in a git repository"])
    rel = page_path(page.id).as_posix()
    git_path = f"{prefix}/{rel}" if prefix else rel
    current = _current_bytes(root, rel)
    present, absent, unknown = [], [], []
    changed = False
    for commit in commits:
        if repo.commit_of(commit) is None:
            unknown.append(commit)
            continue
        blob = repo.blob(commit, git_path)
        if blob is None:
            absent.append(commit)
        else:
            present.append(commit)
            changed = changed or (current is not None and blob != current)
    notes = []
    if changed:
        notes.append(
            f"the page changed since the runs were made (its file differs from the one at "
            f"{', '.join(c[:12] for c in present)}): the effect measured is that of the "
            "earlier version"
        )
    if unknown:
        notes.append(
            "cannot tell whether the page was served at "
            + ", ".join(c[:12] for c in unknown)
            + " (not a commit of this repository)"
        )
    if present:
        return ServedCheck("yes", notes)
    if unknown:
        return ServedCheck("unknown", notes)
    if _any_dirty(root, runs):
        notes.append(
            f"{rel} is not at the knowledge commit, but the runs were served an uncommitted "
            "(dirty) working tree: cannot tell whether the page was in it"
        )
        return ServedCheck("unknown", notes)
    where = ", ".join(c[:12] for c in absent)
    return ServedCheck(
        "no",
        notes,
        problem=f"the page was not in the knowledge the `{scope.treatment}` runs were served "
        f"({rel} is absent at {where}): `{scope.treatment}` vs `{scope.baseline}` says nothing "
        "about it",
    )


def _current_bytes(root: Path, rel: str) -> bytes | None:
    try:
        return Source(root).read(rel)
    except Unreadable:
        return None


def _any_dirty(root: Path, runs: Iterable[RunRow]) -> bool:
    """Whether any run's record says its knowledge was an uncommitted working tree."""
    source = Source(root)
    seen: set[tuple] = set()
    for row in runs:
        # One matrix run serves one knowledge snapshot: one record per snapshot says it.
        key = (row.knowledge_commit, row.knowledge_hash)
        if key in seen:
            continue
        seen.add(key)
        try:
            raw = source.read(row.path)
            if raw is None:
                continue
            block = parse_record(raw, row.path, RunRecord).model.matrix
        except (Unreadable, ExperimentosError):
            continue
        if block is not None and block.knowledge is not None and block.knowledge.dirty:
            return True
    return False
