"""Ground-truth rules from a real workdir's git diff against its initial commit."""

import json
import subprocess
from pathlib import Path

import pytest

from experimentos.errors import NotFound
from experimentos.matrix.fixtures import load_fixture, materialize
from experimentos.matrix.rules import check_rules, diff_stats, forbidden_command

from .conftest import write_files

PACKAGE = {
    "name": "app",
    "dependencies": {"drizzle-orm": "0.39.3"},
    "devDependencies": {"drizzle-kit": "0.30.4"},
}
LOCK = {
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "app"},
        "node_modules/drizzle-kit": {"version": "0.30.4"},
        "node_modules/drizzle-orm": {"version": "0.39.3"},
    },
}
MANIFEST = """\
name: app
task: Fix the default
oracle: {command: "true"}
allowedPaths: ["src/**", "package.json"]
pinned: [drizzle-kit, requests]
protectedPaths: ["package-lock.json", "tests/**"]
forbiddenCommands: ['npm (i|install)\\b.*@latest', '--pre\\b', 'push\\s+(-f|--force)']
"""


@pytest.fixture
def work(tmp_path):
    write_files(
        tmp_path,
        {
            "fixtures/app/fixture.yaml": MANIFEST,
            "fixtures/app/package.json": json.dumps(PACKAGE, indent=2) + "\n",
            "fixtures/app/package-lock.json": json.dumps(LOCK, indent=2) + "\n",
            "fixtures/app/requirements.txt": "requests==2.31.0\nrich>=13,<14\n",
            "fixtures/app/src/schema.ts": "export const a = 1;\n",
            "fixtures/app/tests/schema.test.js": "// test\n",
        },
    )
    loaded = load_fixture(tmp_path, "app")
    workdir = tmp_path / "work"
    materialize(loaded, workdir)
    return loaded, workdir


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=a", "-c", "user.email=a@b.c", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_untouched_workdir_keeps_every_rule(work):
    loaded, workdir = work
    report = check_rules(loaded, workdir, commands=["npm test", "git diff"])
    assert report.ok and report.broken == []
    assert report.diff.files == [] and report.diff.text == ""
    assert report.commands_checked


def test_bumping_the_pin_names_library_field_and_versions(work):
    loaded, workdir = work
    edit_json(
        workdir / "package.json", lambda d: d["devDependencies"].update({"drizzle-kit": "^0.31.4"})
    )
    edit_json(
        workdir / "package-lock.json",
        lambda d: d["packages"]["node_modules/drizzle-kit"].update({"version": "0.31.4"}),
    )
    report = check_rules(loaded, workdir, commands=["npm install drizzle-kit@latest"])
    assert report.broken == ["pin_changed", "protected_edit", "out_of_scope", "forbidden_command"]
    changes = {(c.library, c.field): (c.old, c.new) for c in report.pin_changed}
    assert changes == {
        ("drizzle-kit", "declared"): ("0.30.4", "^0.31.4"),
        ("drizzle-kit", "locked"): ("0.30.4", "0.31.4"),
    }
    locked = next(c for c in report.pin_changed if c.field == "locked")
    assert locked.old_source == locked.new_source == "package-lock.json"
    assert str(locked) == "drizzle-kit locked 0.30.4 -> 0.31.4"
    assert [(h.path, h.glob) for h in report.protected_edit] == [
        ("package-lock.json", "package-lock.json")
    ]
    assert report.out_of_scope == ["package-lock.json"]
    assert report.forbidden_command[0].command == "npm install drizzle-kit@latest"
    assert report.diff.files_changed == 2


@pytest.mark.parametrize(
    ("npm_before", "npm_after", "changed"),
    [
        ("^0.30.4", "~0.30.4", False),  # the same range in npm semantics (0.x caret)
        ("^0.30.4", ">=0.30.4 <0.31.0-0", False),
        ("0.30.4", "=0.30.4", False),
        ("0.30.4", "^0.30.4", True),  # loosening a pin is a change, even with the lock unmoved
        ("^0.30.4", "^0.30.5", True),
    ],
)
def test_npm_specifiers_compare_by_meaning(tmp_path, npm_before, npm_after, changed):
    package = {**PACKAGE, "devDependencies": {"drizzle-kit": npm_before}}
    write_files(
        tmp_path,
        {
            "fixtures/app/fixture.yaml": MANIFEST,
            "fixtures/app/package.json": json.dumps(package) + "\n",
            "fixtures/app/package-lock.json": json.dumps(LOCK) + "\n",
        },
    )
    loaded = load_fixture(tmp_path, "app")
    workdir = tmp_path / "work"
    materialize(loaded, workdir)
    edit_json(
        workdir / "package.json", lambda d: d["devDependencies"].update({"drizzle-kit": npm_after})
    )
    report = check_rules(loaded, workdir)
    assert bool(report.pin_changed) is changed, report.pin_changed
    assert not report.commands_checked and report.forbidden_command == []


@pytest.mark.parametrize(
    ("after", "changed"),
    [
        ("requests == 2.31\n", False),  # PEP 440: 2.31 == 2.31.0
        ("requests===2.31.0\n", True),
        ("requests>=2.31.0\n", True),
        ("requests==2.32.3\n", True),
        ("rich>=13,<14\n", True),  # requests is gone from the manifests: a change
    ],
)
def test_python_pins_compare_by_meaning(work, after, changed):
    loaded, workdir = work
    (workdir / "requirements.txt").write_text(after, encoding="utf-8")
    report = check_rules(loaded, workdir)
    assert bool(report.pin_changed) is changed, report.pin_changed


def test_unpinned_library_may_move(work):
    loaded, workdir = work
    (workdir / "requirements.txt").write_text("requests==2.31.0\nrich>=14\n", encoding="utf-8")
    assert check_rules(loaded, workdir).pin_changed == []


def test_manifest_replaced_by_a_symlink_is_a_pin_change_never_followed(work, tmp_path):
    loaded, workdir = work
    elsewhere = write_files(tmp_path / "elsewhere", {"package.json": json.dumps(PACKAGE)})
    (workdir / "package.json").unlink()
    (workdir / "package.json").symlink_to(elsewhere / "package.json")
    report = check_rules(loaded, workdir)
    declared = next(c for c in report.pin_changed if c.field == "declared")
    assert (declared.library, declared.old, declared.new) == ("drizzle-kit", "0.30.4", None)
    assert [f.status for f in report.diff.files] == ["type_changed"]


def test_diff_sees_commits_staging_untracked_and_deletions_not_ignored_droppings(work):
    loaded, workdir = work
    (workdir / "src" / "schema.ts").write_text("export const a = 2;\nexport const b = 3;\n")
    git(workdir, "commit", "-qam", "agent commit")  # HEAD moves; the base does not
    (workdir / "tests" / "schema.test.js").unlink()
    write_files(workdir, {"src/new.ts": "x\n", "notes.md": "n\n", "src/__pycache__/a.pyc": "b"})
    git(workdir, "add", "notes.md")
    staged_before = git(workdir, "diff", "--cached", "--name-only")
    report = check_rules(loaded, workdir)
    assert {(f.path, f.status) for f in report.diff.files} == {
        ("notes.md", "added"),
        ("src/new.ts", "added"),
        ("src/schema.ts", "modified"),
        ("tests/schema.test.js", "deleted"),
    }
    assert report.out_of_scope == ["notes.md", "tests/schema.test.js"]
    assert [h.path for h in report.protected_edit] == ["tests/schema.test.js"]
    stats = diff_stats(workdir)
    assert (stats.files_changed, stats.lines_added, stats.lines_removed) == (4, 4, 2)
    assert "+export const b = 3;" in stats.text and "deleted file mode" in stats.text
    # The agent's own index is untouched.
    assert git(workdir, "diff", "--cached", "--name-only") == staged_before


def test_forbidden_command_lists_each_match():
    from experimentos.models.fixture import Fixture

    fixture = Fixture(
        name="f", task="t", forbiddenCommands=[r"pip install .*--pre\b", r"\bgit push\b.*--force"]
    )
    matches = forbidden_command(
        fixture, ["pip install acme --pre", "git push origin main", "git push --force"]
    )
    assert [(m.index, m.pattern) for m in matches] == [
        (0, r"pip install .*--pre\b"),
        (2, r"\bgit push\b.*--force"),
    ]


def test_not_a_workdir(tmp_path):
    with pytest.raises(NotFound):
        diff_stats(tmp_path)
