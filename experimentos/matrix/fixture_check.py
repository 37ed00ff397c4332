"""`fixture check`: validate every manifest and prove every oracle.

For each fixture, in fresh workdirs made by `materialize`:

- the untouched fixture must FAIL its oracle (else the oracle proves nothing);
- each `solutions/good-*.patch` must apply, pass the oracle and keep every rule, and the
  commands its manifest entry lists must match no forbiddenCommands pattern;
- each `solutions/bad-*.patch` must show its trap exactly as its manifest entry declares: the
  oracle verdict (`oracle: pass|fail`) and the set of broken rules (`breaks: [...]`, checked
  with its `commands`).

Also: every `pinned` library is found in the fixture's manifests; every `guardedBy` page is an
accepted, reviewed policy or intervention of the knowledge root and reaches the brief for the
fixture's task (compiled by the brief compiler from the task, the fixture's repository and its
libraries, as a matrix run's agent is asked to) as a decision rule; and the interpreters on PATH
satisfy the fixture's `runtime`.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from experimentos.errors import ExperimentosError, NotFound, UsageError
from experimentos.matrix.fixtures import (
    FIXTURES_DIR,
    SOLUTIONS_DIR,
    LoadedFixture,
    list_fixtures,
    load_fixture,
    materialize,
    run_oracle,
)
from experimentos.matrix.procgroup import OracleResult, clean_env, run_command
from experimentos.matrix.rules import RuleReport, check_rules
from experimentos.matrix.runtimes import runtime_problems, runtimes
from experimentos.models.fixture import FIXTURE_NAME, RuleName
from experimentos.models.knowledge import Problem
from experimentos.repofacts.facts import read_local_facts

Progress = Callable[[str, int, int], None]


class SolutionResult(BaseModel):
    name: str
    kind: Literal["good", "bad"]
    expected_oracle: Literal["pass", "fail"]
    expected_breaks: list[RuleName] = Field(default_factory=list)
    oracle: OracleResult | None = None
    broken: list[RuleName] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list)  # what each broken rule saw
    problems: list[str] = Field(default_factory=list)

    @computed_field
    @property
    def ok(self) -> bool:
        return not self.problems


class FixtureResult(BaseModel):
    name: str
    path: str
    content_hash: str | None = None
    trap: str = ""
    untouched: OracleResult | None = None
    solutions: list[SolutionResult] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    ok: bool = True


class FixtureCheckReport(BaseModel):
    fixtures: list[FixtureResult] = Field(default_factory=list)
    ok: bool = True


def check_fixtures(
    root: Path,
    names: list[str] | None = None,
    *,
    jobs: int = 2,
    progress: Progress | None = None,
) -> FixtureCheckReport:
    """Validate and prove the fixtures under `root/fixtures` (all, or `names`)."""
    root = Path(root)
    results: dict[str, FixtureResult] = {}
    loaded: list[LoadedFixture] = []
    if names:
        for name in names:
            if not re.fullmatch(FIXTURE_NAME, name):
                raise UsageError(f"{name!r} is not a fixture name", field="names")
        for name in dict.fromkeys(names):
            try:
                loaded.append(load_fixture(root, name))
            except ExperimentosError as exc:
                if isinstance(exc, NotFound):
                    raise
                results[name] = _broken(name, exc)
    else:
        found, problems = list_fixtures(root)
        loaded = found
        for problem in problems:
            parts = problem.path.split("/")
            name = parts[1] if len(parts) > 1 else problem.path
            result = results.setdefault(
                name, FixtureResult(name=name, path=f"{FIXTURES_DIR}/{name}")
            )
            result.problems.append(problem)
    guards = _guard_pages(root)
    for fixture in loaded:
        results[fixture.name] = _static_checks(fixture, guards)
    if guards is not None:
        _guards_reach_the_brief(root, loaded, guards, results)

    work = [(f, None) for f in loaded if f.fixture.oracle is not None]
    work += [(f, s) for f in loaded if f.fixture.oracle is not None for s in f.solutions]
    done = 0
    if progress:
        progress("fixtures", 0, len(work))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(f, s, pool.submit(_prove, f, s)) for f, s in work]
        for fixture, solution, future in futures:
            outcome = future.result()
            result = results[fixture.name]
            if solution is None:
                _judge_untouched(result, outcome)
            else:
                result.solutions.append(outcome)
            done += 1
            if progress:
                progress("fixtures", done, len(work))
    for result in results.values():
        result.ok = not any(p.severity == "error" for p in result.problems) and all(
            s.ok for s in result.solutions
        )
    ordered = [results[k] for k in sorted(results)]
    return FixtureCheckReport(fixtures=ordered, ok=all(r.ok for r in ordered))


def _broken(name: str, exc: ExperimentosError) -> FixtureResult:
    path = exc.path or f"{FIXTURES_DIR}/{name}"
    problems = getattr(exc, "problems", None) or [
        Problem(path=path, field=exc.field, code="fixture-invalid", message=exc.message)
    ]
    return FixtureResult(name=name, path=f"{FIXTURES_DIR}/{name}", problems=problems, ok=False)


def _guard_pages(root: Path) -> dict[str, str] | None:
    """Page id -> why it cannot guard a trap ("" when it can); None without a knowledge base."""
    from experimentos.store import Workspace

    if not any((root / top).is_dir() for top in ("wiki", "policies")):
        return None
    out = {}
    for doc in Workspace(root).scan().documents:
        page = doc.page
        review = page.review
        if not page.decision_capable:
            out[page.id] = f"{page.status} {page.type} (needs an accepted policy or intervention)"
        elif review is None or not review.rationale or not review.evidence:
            out[page.id] = "not reviewed (review needs reviewer, rationale and evidence)"
        elif page.expires is not None and page.expires < dt.date.today():
            out[page.id] = f"review expired on {page.expires.isoformat()}"
        else:
            out[page.id] = ""
    return out


def _static_checks(loaded: LoadedFixture, guards: dict[str, str] | None) -> FixtureResult:
    """What can be checked without running anything: pins, guards, solution files."""
    fixture = loaded.fixture
    result = FixtureResult(
        name=loaded.name,
        path=f"{FIXTURES_DIR}/{loaded.name}",
        content_hash=loaded.content_hash,
        trap=fixture.trap,
    )
    manifest = f"{result.path}/fixture.yaml"

    def problem(code: str, message: str, field: str, severity: str = "error") -> None:
        result.problems.append(
            Problem(path=manifest, field=field, code=code, message=message, severity=severity)
        )

    if fixture.oracle is None:
        problem("oracle-missing", "no oracle: nothing to prove", "oracle")
    for message in runtime_problems(fixture, runtimes()):
        problem("runtime-unmet", message, "runtime")
    if fixture.pinned:
        facts = _root_facts(loaded)
        for library in fixture.pinned:
            entry = facts.get(library)
            if entry is None or (entry.declared is None and entry.locked is None):
                problem("pin-not-found", f"{library} is not in the root manifests", "pinned")
    for page_id in fixture.guarded_by if guards is not None else []:
        why = guards.get(page_id, "no such page")
        if why:
            problem("guard-invalid", f"{page_id}: {why}", "guardedBy")
    for name in fixture.solutions:
        if name not in loaded.solutions:
            message = f"no {SOLUTIONS_DIR}/{name}.patch for this entry"
            problem("solution-missing", message, f"solutions.{name}")
    for name in loaded.solutions:
        if not name.startswith(("good-", "bad-")):
            problem("solution-name", f"{name}.patch: name it good-* or bad-*", "solutions")
        elif name.startswith("bad-") and name not in fixture.solutions:
            message = f"{name}: declare the trap it shows (solutions.{name}.breaks / oracle)"
            problem("solution-undeclared", message, "solutions")
    if fixture.oracle is not None:
        if not any(n.startswith("good-") for n in loaded.solutions):
            message = "no solutions/good-*.patch: nothing proves the task can be solved"
            problem("no-good-solution", message, "solutions")
        if not any(n.startswith("bad-") for n in loaded.solutions):
            message = "no solutions/bad-*.patch: nothing shows the trap"
            problem("no-bad-solution", message, "solutions", severity="warning")
    return result


def _guards_reach_the_brief(
    root: Path,
    loaded: list[LoadedFixture],
    guards: dict[str, str],
    results: dict[str, FixtureResult],
) -> None:
    """Each valid guardedBy page must be a decision rule of the brief for the fixture's task:
    a page that guards a trap but never reaches the agent guards nothing."""
    wanted = [f for f in loaded if any(guards.get(p) == "" for p in f.fixture.guarded_by)]
    if not wanted:
        return
    from experimentos.briefs.compiler import compile_brief
    from experimentos.briefs.models import BriefRequest
    from experimentos.knowledge.live import Live
    from experimentos.store import Workspace

    live = Live(Workspace(root), watch=False)
    try:
        for item in wanted:
            fixture = item.fixture
            request = BriefRequest(
                task=fixture.task, repo=str(item.directory), libraries=fixture.libraries
            )
            try:
                brief = compile_brief(live, request)
            except ExperimentosError as exc:
                _guard_problem(results[item.name], f"the brief for its task failed: {exc}")
                continue
            context = brief.agent_work_context()
            rules = {rule["id"] for rule in context["decision_rules"]}
            for page_id in fixture.guarded_by:
                if guards.get(page_id) != "" or page_id in rules:
                    continue
                why = _why_not_in_brief(brief, page_id)
                _guard_problem(
                    results[item.name],
                    f"{page_id} does not reach the brief for the task as a decision rule "
                    f"({why}); the brief's rules: {', '.join(sorted(rules)) or 'none'}",
                )
    finally:
        live.close()


def _why_not_in_brief(brief, page_id: str) -> str:  # noqa: ANN001 - a Brief
    for cut in brief.cut:
        if cut.id == page_id:
            return f"left out for the token budget: {cut.reason}"
    for excluded in brief.excluded:
        if excluded.id == page_id:
            return "excluded: " + "; ".join(excluded.reasons)
    if any(entry.id == page_id for entry in brief.entries):
        return "it is in the brief, but not as a rule"
    return "the compiler did not select it for this task, repository and libraries"


def _guard_problem(result: FixtureResult, message: str) -> None:
    result.problems.append(
        Problem(
            path=f"{result.path}/fixture.yaml",
            field="guardedBy",
            code="guard-not-in-brief",
            message=message,
        )
    )


def _root_facts(loaded: LoadedFixture):  # noqa: ANN202 - LocalFacts
    """The fixture's dependency facts, read by the brief's own readers from its root files."""
    with tempfile.TemporaryDirectory(prefix="xos-fixture-") as tmp:
        for item in loaded.repo_files:
            if "/" not in item.path:
                (Path(tmp) / item.path).write_bytes(item.data)
        return read_local_facts(Path(tmp))


def _judge_untouched(result: FixtureResult, oracle: OracleResult | str) -> None:
    path = f"{result.path}/fixture.yaml"
    if isinstance(oracle, str):
        result.problems.append(
            Problem(path=path, field="oracle", code="oracle-error", message=oracle)
        )
        return
    result.untouched = oracle
    if oracle.timed_out:
        message = f"the oracle timed out on the untouched fixture after {oracle.seconds}s"
        result.problems.append(
            Problem(path=path, field="oracle", code="oracle-timeout", message=message)
        )
    elif oracle.passed:
        message = "the oracle passes on the untouched fixture: it must fail until the task is done"
        result.problems.append(
            Problem(path=path, field="oracle", code="untouched-passes", message=message)
        )


def _prove(loaded: LoadedFixture, solution: str | None) -> SolutionResult | OracleResult | str:
    """Materialize, apply `solution` (None: untouched), run the oracle and the rules."""
    with tempfile.TemporaryDirectory(prefix=f"xos-check-{loaded.name}-") as tmp:
        workdir = Path(tmp) / "work"
        try:
            materialize(loaded, workdir)
            if solution is None:
                return run_oracle(loaded, workdir)
            return _prove_solution(loaded, solution, workdir)
        except (ExperimentosError, OSError, subprocess.SubprocessError) as exc:
            # A broken fixture is a finding about that fixture, never a crash of the check.
            return str(exc) if solution is None else _solution(loaded, solution, [str(exc)])


def _solution(loaded: LoadedFixture, name: str, problems: list[str]) -> SolutionResult:
    spec = loaded.fixture.solutions.get(name)
    kind = "good" if name.startswith("good-") else "bad"
    return SolutionResult(
        name=name,
        kind=kind,
        expected_oracle=spec.oracle if spec else "pass",
        expected_breaks=list(spec.breaks) if spec else [],
        problems=problems,
    )


def _prove_solution(loaded: LoadedFixture, name: str, workdir: Path) -> SolutionResult:
    result = _solution(loaded, name, [])
    spec = loaded.fixture.solutions.get(name)
    patch = loaded.solution_path(name)
    command = f"git apply --whitespace=nowarn {shlex.quote(str(patch))}"
    applied = run_command(command, workdir, 60, env=clean_env(workdir.parent))
    if not applied.passed:
        result.problems.append(f"patch does not apply: {applied.output_tail.strip()[-400:]}")
        return result
    result.oracle = run_oracle(loaded, workdir)
    report = check_rules(loaded, workdir, commands=spec.commands if spec else [])
    result.broken = list(report.broken)
    result.details = _details(report)
    verdict = "pass" if result.oracle.passed else "fail"
    if result.oracle.timed_out:
        result.problems.append(f"the oracle timed out after {result.oracle.seconds}s")
    elif verdict != result.expected_oracle:
        tail = result.oracle.output_tail.strip().splitlines()[-3:]
        result.problems.append(
            f"oracle should {result.expected_oracle} but did {verdict}"
            + (f": {' | '.join(tail)}" if tail else "")
        )
    if result.kind == "bad" and spec is None:
        return result  # undeclared: reported once, on the manifest
    if sorted(result.broken) != sorted(result.expected_breaks):
        expected = ", ".join(result.expected_breaks) or "no rule"
        actual = ", ".join(result.broken) or "no rule"
        result.problems.append(f"should break {expected} but breaks {actual}")
    return result


def _details(report: RuleReport) -> list[str]:
    out = [f"pin_changed: {change}" for change in report.pin_changed]
    out += [f"protected_edit: {hit.path} (matches {hit.glob})" for hit in report.protected_edit]
    out += [f"out_of_scope: {path}" for path in report.out_of_scope]
    out += [
        f"forbidden_command: {m.command!r} (matches {m.pattern})" for m in report.forbidden_command
    ]
    out += [
        f"content_lost: {hit.path} "
        + (f"no longer contains {hit.text!r}" if hit.text else "changed")
        for hit in report.content_lost
    ]
    return out
