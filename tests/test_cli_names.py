"""One meaning per name: a walk over every command checks the naming rules (cli/naming.py),
and the old spellings still work, hidden from help, with a note on stderr."""

from __future__ import annotations

import json
import re

import pytest
import typer

from experimentos.cli import app
from experimentos.cli.naming import DEPRECATED, NowPositional, Renamed

from .conftest import documentation


def leaves():
    """(path, command) of every command that runs (groups left out)."""
    root = typer.main.get_command(app)
    found = []

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), cmd))

    walk(root, [])
    return found


def options(cmd):
    return [p for p in cmd.params if p.param_type_name == "option" and not p.hidden]


def arguments(cmd):
    return [p for p in cmd.params if p.param_type_name == "argument"]


def test_an_experiment_is_always_the_positional_argument():
    for path, cmd in leaves():
        for opt in options(cmd):
            assert "--experiment" not in opt.opts, f"{path}: --experiment (give it as EXPERIMENT)"
        for arg in arguments(cmd):
            if arg.name in ("experiment", "experiments"):
                assert arg.metavar == "EXPERIMENT", f"{path}: {arg.name} shown as {arg.metavar}"


# Option names that read alike but meant different things: each now has one meaning.
MEANINGS = {
    "--base": ("REV", re.compile(r"revision", re.I)),
    "--onto": ("BRANCH", re.compile(r"branch", re.I)),
    "--label": (None, re.compile(r"pull-request label", re.I)),
    "--suffix": (None, re.compile(r"branch name", re.I)),
    "--verdict": (None, re.compile(r"passed.*failed", re.I)),
}


def test_each_shared_name_has_one_meaning():
    seen = {name: [] for name in MEANINGS}
    for path, cmd in leaves():
        for opt in options(cmd):
            for name in opt.opts:
                if name in MEANINGS:
                    metavar, meaning = MEANINGS[name]
                    assert meaning.search(opt.help or ""), f"{path} {name}: {opt.help!r}"
                    if metavar:
                        assert opt.metavar == metavar, f"{path} {name}: metavar {opt.metavar}"
                    seen[name].append(path)
    assert "report summary" in seen["--base"] and "ci pr-comment" in seen["--base"]
    proposing = {"propose", "promote", "page set-status", "page new", "ingest issue", "cite add"}
    assert proposing <= set(seen["--onto"])
    assert seen["--label"] == ["ci matrix-plan"] and seen["--suffix"] == ["ci publish-results"]


def test_closed_sets_list_the_values_they_take(cli):
    for path, cmd in leaves():
        for opt in options(cmd):
            choices = getattr(getattr(opt, "type", None), "choices", None)
            if choices:
                for value in choices:
                    assert str(value) in (opt.help or ""), f"{path} {opt.opts}: {value} not in help"


def test_every_deprecated_spelling_is_hidden_and_its_command_exists():
    commands = dict(leaves())
    for path, rules in DEPRECATED.items():
        assert path in commands, path
        visible = {name for opt in options(commands[path]) for name in opt.opts}
        for rule in rules:
            assert rule.old not in visible, f"{path} still shows {rule.old}"
            if isinstance(rule, Renamed):
                assert rule.new in visible, f"{path}: {rule.new} missing"
            else:
                assert isinstance(rule, NowPositional)
                assert any(rule.what in (a.metavar or "") for a in arguments(commands[path])), path


def test_old_spellings_still_work_with_a_note_on_stderr(empty_kb, cli):
    root = empty_kb.root
    assert cli(root, "exp", "new", "Brief helps", "--kind", "agent").exit_code == 0
    old = cli(root, "run", "start", "--experiment", "brief-helps", "--task", "t", "--json")
    assert old.exit_code == 0, old.output
    assert "deprecated" in old.stderr and "EXPERIMENT" in old.stderr
    assert json.loads(old.stdout)["experiment"] == "experiment.brief-helps"  # stdout stays JSON
    new = cli(root, "run", "start", "brief-helps", "--task", "t2", "--json")
    assert new.exit_code == 0 and "deprecated" not in new.stderr
    listed = cli(root, "run", "list", "--experiment=brief-helps", "--json")
    assert len(json.loads(listed.stdout)) == 2 and "deprecated" in listed.stderr
    for args in (["--passed", "false"], ["--verdict", "failed"]):
        result = cli(root, "test", "list", *args, "--json")
        assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "use --verdict" in cli(root, "test", "list", "--passed", "true").stderr


@pytest.mark.parametrize("path", sorted(DEPRECATED))
def test_deprecated_spellings_are_not_in_the_documentation(path):
    text = documentation()  # the README and docs/
    for rule in DEPRECATED[path]:
        assert f"experimentos {path} {rule.old}" not in text
        assert not re.search(rf"experimentos {path}\b[^\n`]*\s{re.escape(rule.old)}\b", text), (
            path,
            rule.old,
        )
