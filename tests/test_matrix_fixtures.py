"""Fixtures on disk: loading and scanning manifests, materializing workdirs, running oracles."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from experimentos.errors import InvalidPage, NotFound, UnsafeId, UnsafePath, UsageError
from experimentos.matrix.fixtures import (
    BASE_REF,
    list_fixtures,
    load_fixture,
    materialize,
    run_oracle,
)

from .conftest import PROJECT, write_files

MANIFEST = """\
name: {name}
task: Make the greeting say hello
files: [greet.py]
oracle:
  command: python3 "$ORACLE_DIR/check.py"
  timeoutSeconds: {timeout}
allowedPaths: ["greet.py"]
protectedPaths: ["tests/**"]
"""


def make_fixture(root: Path, name: str = "greet", timeout: float = 5, **files: str) -> Path:
    write_files(
        root,
        {
            f"fixtures/{name}/fixture.yaml": MANIFEST.format(name=name, timeout=timeout),
            f"fixtures/{name}/greet.py": "def greet():\n    return 'bye'\n",
            f"fixtures/{name}/tests/test_greet.py": "from greet import greet\n",
            f"fixtures/{name}/solutions/good-fix.patch": "",
            f"fixtures/{name}/oracle/check.py": (
                "import sys\nsys.path.insert(0, '.')\nfrom greet import greet\n"
                "sys.exit(0 if greet() == 'hello' else 1)\n"
            ),
            **{f"fixtures/{name}/{k}": v for k, v in files.items()},
        },
    )
    return root / "fixtures" / name


def git_out(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True).stdout.strip()


def test_load_reports_model_directory_hash_and_files(tmp_path):
    make_fixture(tmp_path)
    loaded = load_fixture(tmp_path, "greet")
    assert loaded.fixture.task == "Make the greeting say hello"
    assert loaded.directory == (tmp_path / "fixtures" / "greet").resolve()
    assert loaded.content_hash.startswith("sha256:")
    assert [f.path for f in loaded.repo_files] == ["greet.py", "tests/test_greet.py"]
    assert [f.path for f in loaded.oracle_files] == ["check.py"]
    assert loaded.solutions == ("good-fix",)
    # Any byte of any file (the oracle and solutions too) changes the hash; nothing else does.
    assert load_fixture(tmp_path, "greet").content_hash == loaded.content_hash
    (tmp_path / "fixtures/greet/oracle/check.py").write_text("pass\n", encoding="utf-8")
    assert load_fixture(tmp_path, "greet").content_hash != loaded.content_hash


def test_old_manifests_stay_valid():
    loaded = load_fixture(PROJECT, "drizzle-pin")
    assert loaded.fixture.libraries == ["drizzle-kit", "drizzle-orm"]


def test_materialize_is_deterministic_and_leaves_out_the_hidden_parts(tmp_path):
    make_fixture(tmp_path)
    loaded = load_fixture(tmp_path, "greet")
    first, second = tmp_path / "run1", tmp_path / "run2"
    materialize(loaded, first)
    materialize(loaded, second)
    head = git_out(first, "rev-parse", "HEAD")
    assert head == git_out(second, "rev-parse", "HEAD")
    assert git_out(first, "rev-parse", BASE_REF) == head
    assert git_out(first, "log", "--format=%an <%ae> %at|%cn %ct") == (
        "experimentos <fixtures@experimentos.invalid> 946684800|experimentos 946684800"
    )
    assert git_out(first, "ls-files").splitlines() == ["greet.py", "tests/test_greet.py"]
    assert git_out(first, "status", "--porcelain") == ""
    for hidden in ("fixture.yaml", "solutions", "oracle"):
        assert not (first / hidden).exists()


def test_materialize_refuses_a_non_empty_workdir(tmp_path):
    make_fixture(tmp_path)
    dest = write_files(tmp_path / "busy", {"keep.txt": "mine"})
    with pytest.raises(UsageError):
        materialize(load_fixture(tmp_path, "greet"), dest)
    assert (dest / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_scan_reports_every_bad_manifest_and_keeps_going(tmp_path):
    make_fixture(tmp_path, "good-one")
    write_files(
        tmp_path,
        {
            "fixtures/broken-yaml/fixture.yaml": "name: broken-yaml\ntask: [unclosed\n",
            "fixtures/unknown-field/fixture.yaml": "name: unknown-field\ntask: t\ncolour: red\n",
            "fixtures/bad-timeout/fixture.yaml": (
                "name: bad-timeout\ntask: t\noracle: {command: 'true', timeoutSeconds: -1}\n"
            ),
            "fixtures/bad-regex/fixture.yaml": (
                "name: bad-regex\ntask: t\nforbiddenCommands: ['(']\n"
            ),
            "fixtures/wrong-name/fixture.yaml": "name: other\ntask: t\n",
            "fixtures/no-manifest/readme.md": "hello\n",
            "fixtures/bad-solution/fixture.yaml": (
                "name: bad-solution\ntask: t\nsolutions: {good-x: {breaks: [pin_changed]}}\n"
            ),
        },
    )
    loaded, problems = list_fixtures(tmp_path)
    assert [f.name for f in loaded] == ["good-one"]
    found = {(p.path, p.field, p.code) for p in problems}
    assert ("fixtures/broken-yaml/fixture.yaml", None, "yaml-error") in found
    assert ("fixtures/unknown-field/fixture.yaml", "colour", "schema") in found
    assert ("fixtures/bad-timeout/fixture.yaml", "oracle.timeoutSeconds", "schema") in found
    assert ("fixtures/bad-regex/fixture.yaml", "forbiddenCommands", "schema") in found
    assert ("fixtures/wrong-name/fixture.yaml", "name", "id-path-mismatch") in found
    assert ("fixtures/no-manifest/fixture.yaml", None, "fixture-manifest-missing") in found
    assert ("fixtures/bad-solution/fixture.yaml", None, "schema") in found
    assert len(problems) == 7


def test_symlink_out_of_the_fixture_is_refused_and_never_followed(tmp_path):
    secret = write_files(tmp_path / "outside", {"secret.txt": "s3cret"}) / "secret.txt"
    directory = make_fixture(tmp_path)
    (directory / "src").mkdir()
    (directory / "src" / "leak.txt").symlink_to(secret)
    with pytest.raises(UnsafePath) as caught:
        load_fixture(tmp_path, "greet")
    assert caught.value.path == "fixtures/greet/src/leak.txt"
    assert caught.value.code == "symlink-outside-root"
    assert "leaves the fixture directory" in caught.value.message
    loaded, problems = list_fixtures(tmp_path)
    assert loaded == []
    assert [(p.path, p.code) for p in problems] == [
        ("fixtures/greet/src/leak.txt", "symlink-outside-root")
    ]


def test_symlinked_directory_and_fixture_are_refused(tmp_path):
    outside = write_files(tmp_path / "outside", {"a.txt": "a"})
    directory = make_fixture(tmp_path)
    (directory / "vendor").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="leaves the fixture directory"):
        load_fixture(tmp_path, "greet")
    (tmp_path / "fixtures" / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="leaves the fixture directory"):
        load_fixture(tmp_path, "linked")


def test_symlink_loop_is_refused(tmp_path):
    directory = make_fixture(tmp_path)
    (directory / "a").symlink_to(directory / "b")
    (directory / "b").symlink_to(directory / "a")
    with pytest.raises(UnsafePath, match="symlink"):
        load_fixture(tmp_path, "greet")


def test_symlink_inside_the_fixture_is_refused_too(tmp_path):
    directory = make_fixture(tmp_path)
    (directory / "alias.py").symlink_to(directory / "greet.py")
    with pytest.raises(UnsafePath, match="regular files only") as caught:
        load_fixture(tmp_path, "greet")
    assert caught.value.path == "fixtures/greet/alias.py"


def test_a_fixtures_directory_linked_out_of_the_root_is_not_scanned(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    make_fixture(elsewhere)
    root = tmp_path / "kb"
    root.mkdir()
    (root / "fixtures").symlink_to(elsewhere / "fixtures", target_is_directory=True)
    loaded, problems = list_fixtures(root)
    assert loaded == [] and [(p.path, p.code) for p in problems] == [
        ("fixtures", "symlink-outside-root")
    ]
    with pytest.raises(UnsafePath):
        load_fixture(root, "greet")


def test_non_regular_files_are_refused(tmp_path):
    directory = make_fixture(tmp_path)
    os.mkfifo(directory / "pipe")
    with pytest.raises(UnsafePath, match="not a regular file") as caught:
        load_fixture(tmp_path, "greet")
    assert (caught.value.path, caught.value.code) == ("fixtures/greet/pipe", "not-a-regular-file")


def test_unknown_and_unsafe_names(tmp_path):
    make_fixture(tmp_path)
    with pytest.raises(NotFound):
        load_fixture(tmp_path, "nope")
    for name in ("../greet", "", ".hidden"):
        with pytest.raises(UnsafeId):
            load_fixture(tmp_path, name)


def test_bad_manifest_raises_with_every_problem(tmp_path):
    write_files(tmp_path, {"fixtures/x/fixture.yaml": "name: x\ntask: ''\nfiles: 3\n"})
    with pytest.raises(InvalidPage) as caught:
        load_fixture(tmp_path, "x")
    assert {p.field for p in caught.value.problems} == {"task", "files"}


def test_oracle_fails_then_passes(tmp_path):
    make_fixture(tmp_path)
    loaded = load_fixture(tmp_path, "greet")
    work = tmp_path / "work"
    materialize(loaded, work)
    failed = run_oracle(loaded, work)
    assert (failed.passed, failed.exit_code, failed.timed_out) == (False, 1, False)
    (work / "greet.py").write_text("def greet():\n    return 'hello'\n", encoding="utf-8")
    assert run_oracle(loaded, work).passed
    # No bytecode droppings in the workdir: the diff stays the agent's own.
    assert git_out(work, "status", "--porcelain") == "M greet.py"


def test_hanging_oracle_is_killed_with_its_whole_group_at_the_limit(tmp_path):
    hang = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    make_fixture(tmp_path, timeout=0.5, **{"oracle/check.py": hang})
    loaded = load_fixture(tmp_path, "greet")
    work = tmp_path / "work"
    materialize(loaded, work)
    start = time.monotonic()
    result = run_oracle(loaded, work)
    assert time.monotonic() - start < 10
    assert result.timed_out and not result.passed and result.exit_code is None
    assert "started" in result.output_tail
    child = int((work / "child.pid").read_text(encoding="utf-8"))
    for _ in range(50):  # the kill is delivered; the zombie is reaped by init shortly after
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail("the oracle's child outlived the time limit")
    # A shorter explicit limit overrides the manifest's.
    assert run_oracle(loaded, work, timeout=0.2).seconds < 5


def test_oracle_environment_is_clean_and_its_copy_private(tmp_path, monkeypatch):
    dump = (
        "import json, os, pathlib\n"
        "pathlib.Path(os.environ['ORACLE_DIR'], 'check.py').write_text('tampered')\n"
        "print(json.dumps(dict(os.environ)))\n"
    )
    make_fixture(tmp_path, **{"oracle/check.py": dump})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    loaded = load_fixture(tmp_path, "greet")
    work = tmp_path / "work"
    materialize(loaded, work)
    result = run_oracle(loaded, work)
    assert result.passed
    assert "sk-secret" not in result.output_tail and "OPENAI_API_KEY" not in result.output_tail
    assert '"PYTHONDONTWRITEBYTECODE": "1"' in result.output_tail
    # The oracle wrote to its copy, never to the fixture.
    assert (tmp_path / "fixtures/greet/oracle/check.py").read_text("utf-8") == dump


def test_oracle_output_is_capped_to_its_tail(tmp_path):
    flood = "import sys\nsys.stdout.write('x' * 1_000_000 + 'END')\n"
    make_fixture(tmp_path, **{"oracle/check.py": flood})
    loaded = load_fixture(tmp_path, "greet")
    work = tmp_path / "work"
    materialize(loaded, work)
    result = run_oracle(loaded, work)
    assert result.output_bytes == 1_000_003 and result.truncated
    assert result.output_tail.endswith("END") and len(result.output_tail) <= 16 * 1024


def test_fixture_without_oracle_is_a_usage_error(tmp_path):
    write_files(tmp_path, {"fixtures/plain/fixture.yaml": "name: plain\ntask: t\n"})
    loaded = load_fixture(tmp_path, "plain")
    work = tmp_path / "work"
    materialize(loaded, work)
    assert git_out(work, "rev-parse", BASE_REF)  # an empty repository still gets its commit
    with pytest.raises(UsageError):
        run_oracle(loaded, work)
