"""`fixture check`: every manifest validated, every oracle proven, on real workdirs."""

import json
import tomllib
from pathlib import Path

import jsonschema
import yaml

from experimentos.matrix.fixture_check import check_fixtures
from experimentos.matrix.fixtures import list_fixtures
from experimentos.schema import render_schemas

from .conftest import PROJECT, git, write_files

MANIFEST = """\
name: {name}
task: Make greet() say hello
oracle:
  command: python3 "$ORACLE_DIR/check.py"
  timeoutSeconds: {timeout}
allowedPaths: ["greet.py"]
protectedPaths: ["tests/**"]
forbiddenCommands: ['\\bsed\\s+-i\\b.*tests/']
solutions:
  bad-edit-test:
    breaks: [protected_edit, out_of_scope, forbidden_command]
    oracle: fail
    commands: ["sed -i s/hello/bye/ tests/test_greet.py"]
"""
ORACLE = (
    "import sys\nsys.path.insert(0, '.')\nfrom greet import greet\n"
    "sys.exit(0 if greet() == 'hello' else 1)\n"
)


def patch_for(repo_files: dict[str, str], edits: dict[str, str], tmp_path: Path) -> str:
    """A git patch turning `repo_files` into `repo_files | edits`."""
    work = write_files(tmp_path / f"patch-{len(list(tmp_path.iterdir()))}", repo_files)
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "base")
    write_files(work, edits)
    return git(work, "diff")


def make_fixture(root: Path, tmp_path: Path, name: str = "greet", timeout: float = 5,
                 oracle: str = ORACLE, manifest: str = MANIFEST) -> Path:  # fmt: skip
    repo = {
        "greet.py": "def greet():\n    return 'bye'\n",
        "tests/test_greet.py": "from greet import greet\nassert greet() == 'hello'\n",
    }
    good = patch_for(repo, {"greet.py": "def greet():\n    return 'hello'\n"}, tmp_path)
    bad = patch_for(repo, {"tests/test_greet.py": "from greet import greet\n"}, tmp_path)
    base = f"fixtures/{name}"
    write_files(
        root,
        {
            f"{base}/fixture.yaml": manifest.format(name=name, timeout=timeout),
            **{f"{base}/{k}": v for k, v in repo.items()},
            f"{base}/oracle/check.py": oracle,
            f"{base}/solutions/good-say-hello.patch": good,
            f"{base}/solutions/bad-edit-test.patch": bad,
        },
    )
    return root / base


def test_a_sound_fixture_is_proven(tmp_path):
    root = tmp_path / "kb"
    make_fixture(root, tmp_path)
    report = check_fixtures(root)
    assert report.ok, report.model_dump()
    (result,) = report.fixtures
    assert result.untouched.exit_code == 1 and not result.untouched.passed
    solutions = {s.name: s for s in result.solutions}
    assert solutions["good-say-hello"].oracle.passed and solutions["good-say-hello"].broken == []
    bad = solutions["bad-edit-test"]
    assert not bad.oracle.passed
    assert bad.broken == ["protected_edit", "out_of_scope", "forbidden_command"]
    assert "protected_edit: tests/test_greet.py (matches tests/**)" in bad.details


def test_a_bad_patch_whose_trap_is_not_the_declared_one_is_reported(tmp_path):
    root = tmp_path / "kb"
    manifest = MANIFEST.replace(
        "breaks: [protected_edit, out_of_scope, forbidden_command]", "breaks: [pin_changed]"
    )
    make_fixture(root, tmp_path, manifest=manifest)
    (result,) = check_fixtures(root).fixtures
    assert not result.ok
    bad = next(s for s in result.solutions if s.name == "bad-edit-test")
    assert bad.problems == [
        "should break pin_changed but breaks protected_edit, out_of_scope, forbidden_command"
    ]


def test_an_oracle_that_passes_untouched_proves_nothing(tmp_path):
    root = tmp_path / "kb"
    make_fixture(root, tmp_path, oracle="raise SystemExit(0)\n")
    (result,) = check_fixtures(root).fixtures
    codes = [p.code for p in result.problems]
    assert "untouched-passes" in codes
    bad = next(s for s in result.solutions if s.name == "bad-edit-test")
    assert bad.problems == ["oracle should fail but did pass"]


def test_a_hanging_oracle_is_killed_at_its_limit(tmp_path, cli):
    root = tmp_path / "kb"
    make_fixture(root, tmp_path, timeout=0.5, oracle="import time\ntime.sleep(60)\n")
    result = cli(root, "fixture", "check", "--json")
    assert result.exit_code == 1
    (fixture,) = json.loads(result.stdout)["fixtures"]
    assert fixture["untouched"]["timed_out"] and fixture["untouched"]["seconds"] < 5
    assert [p["code"] for p in fixture["problems"]] == ["oracle-timeout"]
    for solution in fixture["solutions"]:
        assert solution["oracle"]["timed_out"] and not solution["ok"]


def test_broken_manifests_and_a_symlink_out_of_the_fixture_are_reported_in_the_table(tmp_path, cli):
    root = tmp_path / "kb"
    make_fixture(root, tmp_path, "sound")
    leaky = make_fixture(root, tmp_path, "leaky")
    secret = write_files(tmp_path / "outside", {"id_rsa": "PRIVATE"}) / "id_rsa"
    (leaky / "key").symlink_to(secret)
    write_files(root, {"fixtures/typo/fixture.yaml": "name: typo\ntask: t\norcale: {}\n"})
    result = cli(root, "fixture", "check")
    assert result.exit_code == 1
    out = result.stdout
    assert "sound  ok" in out
    assert "leaky  FAILED" in out and "[symlink-outside-root]" in out
    assert "leaves the fixture directory" in out
    assert "typo   FAILED" in out and "fixtures/typo/fixture.yaml: orcale: error [schema]" in out
    assert "1 of 3 fixtures proven; failed: leaky, typo" in out
    assert "PRIVATE" not in out


def test_manifest_level_problems(tmp_path):
    root = tmp_path / "kb"
    manifest = MANIFEST + "pinned: [leftpad]\nguardedBy: [policy.nope]\n"
    manifest = manifest.replace("solutions:\n", "solutions:\n  good-missing: {{}}\n")
    directory = make_fixture(root, tmp_path, manifest=manifest)
    write_files(root, {"policies/.gitkeep": ""})
    (directory / "solutions" / "bad-extra.patch").write_text("", encoding="utf-8")
    (result,) = check_fixtures(root).fixtures
    found = {(p.code, p.field) for p in result.problems}
    assert ("pin-not-found", "pinned") in found
    assert ("guard-invalid", "guardedBy") in found
    assert ("solution-missing", "solutions.good-missing") in found
    assert ("solution-undeclared", "solutions") in found


def test_named_fixtures_and_unknown_names(tmp_path, cli):
    root = tmp_path / "kb"
    make_fixture(root, tmp_path, "one")
    make_fixture(root, tmp_path, "two", oracle="raise SystemExit(0)\n")
    assert cli(root, "fixture", "check", "one").exit_code == 0
    assert cli(root, "fixture", "check", "one", "two").exit_code == 1
    missing = cli(root, "fixture", "check", "nope")
    assert missing.exit_code == 2 and "no such fixture" in missing.stderr
    unsafe = cli(root, "fixture", "check", "../one")
    assert unsafe.exit_code == 2 and "is not a fixture name" in unsafe.stderr


def test_every_project_fixture_is_proven():
    report = check_fixtures(PROJECT, jobs=2)
    failures = {
        r.name: [str(p) for p in r.problems] + [f"{s.name}: {s.problems}" for s in r.solutions]
        for r in report.fixtures
        if not r.ok
    }
    assert report.ok, failures
    assert len(report.fixtures) >= 6
    for result in report.fixtures:
        kinds = {s.kind for s in result.solutions}
        assert kinds == {"good", "bad"}, result.name
        assert result.untouched.seconds < 5 and result.trap


def test_project_fixtures_validate_against_the_exported_schema():
    schema = json.loads(render_schemas()["fixture.schema.json"])
    validator = jsonschema.Draft202012Validator(schema)
    fixtures, problems = list_fixtures(PROJECT)
    assert problems == []
    for loaded in fixtures:
        data = yaml.safe_load((loaded.directory / "fixture.yaml").read_text(encoding="utf-8"))
        assert [e.message for e in validator.iter_errors(data)] == [], loaded.name
    assert not validator.is_valid({"name": "x", "task": "t", "colour": "red"})
    assert not validator.is_valid({"name": "x", "task": "t", "solutions": {"meh": {}}})


def test_the_wheel_ships_the_demo_fixture_whole():
    """`experimentos demo` from a plain install finds drizzle-pin, oracle and solutions included."""
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include["fixtures/drizzle-pin"] == "experimentos/_starter/fixtures/drizzle-pin"
    (result,) = check_fixtures(PROJECT, ["drizzle-pin"]).fixtures
    assert result.ok and result.untouched is not None
