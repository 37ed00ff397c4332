"""Fixture format gaps found by porting outside fixtures from the docs alone: the runtime the
oracle and the agent ran with, ES-module oracles under Node 20, a rule that a file must keep its
content, guardedBy pages that really reach the brief, a closed set of repoType values, and
`exp new` over a directory that is not an experiment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from experimentos.errors import AlreadyExists, InvalidPage, UsageError
from experimentos.lab.experiments import new_experiment
from experimentos.matrix.fixture_check import check_fixtures
from experimentos.matrix.fixtures import load_fixture, materialize, run_oracle
from experimentos.matrix.plan import plan_matrix
from experimentos.matrix.rules import check_rules
from experimentos.matrix.runner import run_matrix
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import git, page_text, write_files
from .matrix_helpers import EXP, GOOD, TINY_FIXTURE, make_root, records

NODE = shutil.which("node")


def test_a_run_records_the_interpreters_it_ran_with(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    assert run_matrix(ws, EXP).errored == 0
    [run] = records(ws.root).values()
    found = run.matrix.runtimes
    python = found["python3"]
    assert Path(python.path).is_absolute() and python.version.startswith("Python 3.")
    if NODE:
        assert found["node"].version.startswith("v") and Path(found["node"].path).is_file()


def test_a_fixture_names_the_runtime_it_needs(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    manifest = ws.root / "fixtures/tiny/fixture.yaml"
    manifest.write_text(TINY_FIXTURE + "runtime: {python: '>=99'}\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        plan_matrix(ws, EXP)
    assert caught.value.field == "fixtures.0"
    assert "needs python >=99" in caught.value.message and "Python 3." in caught.value.message
    manifest.write_text(TINY_FIXTURE + "runtime: {python: '>=3.8'}\n", encoding="utf-8")
    assert plan_matrix(ws, EXP).fixtures["tiny"].fixture.runtime.python == ">=3.8"
    manifest.write_text(TINY_FIXTURE + "runtime: {ruby: '3'}\n", encoding="utf-8")
    with pytest.raises(UsageError, match="runtime"):
        plan_matrix(ws, EXP)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_an_es_module_oracle_named_js_runs_under_node(tmp_path):
    """$ORACLE_DIR gets a package.json saying type: module (unless oracle/ brings its own), so
    a `.js` oracle written with `import` runs under Node 20 as the docs promise."""
    root = tmp_path / "kb"
    init_workspace(root)
    write_files(
        root,
        {
            "fixtures/esm/fixture.yaml": (
                "name: esm\ntask: Make app.txt say fixed\n"
                'oracle: {command: node "$ORACLE_DIR/check.js"}\n'
            ),
            "fixtures/esm/app.txt": "fixed\n",
            "fixtures/esm/oracle/check.js": (
                'import { readFileSync } from "node:fs";\n'
                'process.exit(readFileSync("app.txt", "utf8").includes("fixed") ? 0 : 1);\n'
            ),
        },
    )
    loaded = load_fixture(root, "esm")
    materialize(loaded, tmp_path / "work")
    result = run_oracle(loaded, tmp_path / "work")
    assert result.passed, result.output_tail
    # Whatever Node 20 release: the oracle's directory says its .js files are ES modules.
    plain = loaded.fixture.model_copy(
        update={"oracle": loaded.fixture.oracle.model_copy(
            update={"command": 'cat "$ORACLE_DIR/package.json"'})}
    )  # fmt: skip
    import dataclasses

    shown = run_oracle(dataclasses.replace(loaded, fixture=plain), tmp_path / "work")
    assert '"type": "module"' in shown.output_tail


def test_a_file_that_must_keep_its_content(tmp_path):
    root = tmp_path / "kb"
    init_workspace(root)
    write_files(
        root,
        {
            "fixtures/keep/fixture.yaml": (
                "name: keep\ntask: Fix config\n"
                "keep:\n"
                "  - {path: config.txt, contains: ['timezone = UTC', 'strict = true']}\n"
                "  - {path: LICENSE}\n"
            ),
            "fixtures/keep/config.txt": "timezone = UTC\nstrict = true\nlevel = 1\n",
            "fixtures/keep/LICENSE": "MIT\n",
        },
    )
    loaded = load_fixture(root, "keep")
    work = tmp_path / "work"
    materialize(loaded, work)
    (work / "config.txt").write_text("timezone = UTC\nstrict = true\nlevel = 2\n")
    assert check_rules(loaded, work).content_lost == []  # other lines may change
    (work / "config.txt").write_text("timezone = local\nlevel = 2\n")
    (work / "LICENSE").write_text("MIT (changed)\n")
    report = check_rules(loaded, work)
    assert "content_lost" in report.broken
    assert [(h.path, h.text) for h in report.content_lost] == [
        ("config.txt", "timezone = UTC"),
        ("config.txt", "strict = true"),
        ("LICENSE", None),
    ]
    (work / "config.txt").unlink()
    assert ("config.txt", "timezone = UTC") in [
        (h.path, h.text) for h in check_rules(loaded, work).content_lost
    ]


def _guarded_root(tmp_path: Path, guard: str) -> Path:
    """A knowledge base with an accepted, reviewed policy that reaches the brief for `tiny`'s
    task, one that does not (it applies to another library), and the fixture `tiny`."""
    review = "review: {reviewer: t, reviewedAt: 2026-01-01, rationale: r, evidence: [failure.x]}"
    root = tmp_path / "kb"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    init_workspace(root)
    (root / "experimentos.toml").write_text('format = 1\n[index]\nembedder = "none"\n')
    write_files(
        root,
        {
            "wiki/failures/x.md": page_text("failure.x", "failure", "X", body="## Symptoms\n"),
            "policies/fix-app.md": page_text(
                "policy.fix-app",
                "policy",
                "Write fixed into app.txt",
                extra=f"status: accepted\nsummary: Make app.txt say fixed.\n{review}\n",
                body="## Rule\n\nWrite fixed into app.txt.\n",
            ),
            "policies/elsewhere.md": page_text(
                "policy.elsewhere",
                "policy",
                "Pin zzz",
                extra=f"status: accepted\nappliesTo: {{library: zzz}}\n{review}\n",
                body="## Rule\n\nKeep zzz pinned.\n",
            ),
            "fixtures/tiny/fixture.yaml": TINY_FIXTURE + f"guardedBy: [{guard}]\n",
            "fixtures/tiny/app.txt": "broken\n",
        },
    )
    return root


def test_fixture_check_proves_each_guard_reaches_the_brief_as_a_rule(tmp_path):
    report = check_fixtures(_guarded_root(tmp_path / "a", "policy.fix-app"), ["tiny"])
    codes = [p.code for p in report.fixtures[0].problems]
    assert "guard-not-in-brief" not in codes, report.fixtures[0].problems
    report = check_fixtures(_guarded_root(tmp_path / "b", "policy.elsewhere"), ["tiny"])
    [problem] = [p for p in report.fixtures[0].problems if p.code == "guard-not-in-brief"]
    assert problem.field == "guardedBy" and problem.severity == "error"
    assert "policy.elsewhere does not reach the brief for the task as a decision rule" in (
        problem.message
    )
    assert not report.ok


def test_repo_type_is_a_closed_set(tmp_path):
    root = tmp_path / "kb"
    init_workspace(root)
    write_files(
        root,
        {"fixtures/t/fixture.yaml": "name: t\ntask: x\nrepoType: python-cli-thing\n"},
    )
    with pytest.raises(InvalidPage) as caught:
        load_fixture(root, "t")
    [problem] = caught.value.problems
    assert problem.field == "repoType" and "python_cli" in problem.message
    (root / "fixtures/t/fixture.yaml").write_text("name: t\ntask: x\nrepoType: python_cli\n")
    assert load_fixture(root, "t").fixture.repo_type == "python_cli"


def test_exp_new_over_a_directory_that_is_not_an_experiment_says_what_is_there(tmp_path, cli):
    root = tmp_path / "kb"
    init_workspace(root)
    base = "experiments/ported"
    write_files(root, {f"{base}/matrix.yaml": "x: 1\n", f"{base}/runs/a.md": "",
                       f"{base}/runs/b.md": ""})  # fmt: skip
    with pytest.raises(AlreadyExists) as caught:
        new_experiment(Workspace(root), "Ported", "agent")
    message = caught.value.message
    assert (
        "has no README.md" in message
        and "matrix.yaml" in message
        and "runs/ (2 files)" in (message)
    )
    result = cli(root, "exp", "new", "Ported", "--kind", "agent")
    assert result.exit_code == 2 and "matrix.yaml" in result.stderr
    new_experiment(Workspace(root), "Fresh", "agent")
    with pytest.raises(AlreadyExists, match="already exists"):
        new_experiment(Workspace(root), "Fresh", "agent")
