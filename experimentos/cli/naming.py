"""One meaning per name across the CLI, and the old spellings that still work for a release.

The rules (docs/cli.md, "Names on the command line"; tests/test_cli_names.py walks every command):
- the thing a command acts on is a positional argument; an experiment is always the
  positional EXPERIMENT (optional where it only narrows a list), never `--experiment`;
- `--base REV` is a git revision to compare with; `--onto BRANCH` is the branch a proposal or
  pull request targets; `--label` is a pull-request label; `--suffix` ends a branch name;
  `--verdict` is a test's verdict (passed, failed or unset);
- a closed set is a choice: help and error list the same values.

Old spellings are rewritten before parsing, hidden from help, with a note on stderr; they go
away in the next release. Scripts that use them keep working until then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Renamed:
    """An option renamed (and, where given, its values mapped to the new ones)."""

    old: str
    new: str
    values: dict[str, str] = field(default_factory=dict)

    def note(self, command: str) -> str:
        return f"`{command} {self.old}` is deprecated: use {self.new}"


@dataclass(frozen=True)
class NowPositional:
    """An option whose value is now the command's first argument."""

    old: str
    what: str

    def note(self, command: str) -> str:
        return (
            f"`{command} {self.old}` is deprecated: give the {self.what.lower()} as the argument"
            f" (experimentos {command} {self.what} …)"
        )


Rule = Renamed | NowPositional
_ONTO = Renamed("--base", "--onto")
_EXPERIMENT = NowPositional("--experiment", "EXPERIMENT")
# Deprecated spellings by command path (as typed after `experimentos`).
DEPRECATED: dict[str, tuple[Rule, ...]] = {
    "propose": (_ONTO,),
    "promote": (_ONTO,),
    "page new": (_ONTO,),
    "page set-status": (_ONTO,),
    "ingest issue": (_ONTO,),
    "cite add": (_ONTO,),
    "ci publish-reports": (_ONTO,),
    "ci publish-results": (_ONTO, Renamed("--label", "--suffix")),
    "ci matrix-plan": (_EXPERIMENT,),
    "run start": (_EXPERIMENT,),
    "run list": (_EXPERIMENT,),
    "test list": (
        _EXPERIMENT,
        Renamed(
            "--passed",
            "--verdict",
            {"true": "passed", "yes": "passed", "false": "failed", "no": "failed"},
        ),
    ),
    "test evaluate": (_EXPERIMENT,),
}


def rewrite(command: str, args: list[str], warn: Callable[[str], None]) -> list[str]:
    """`args` of `command` with every deprecated spelling replaced by the current one; `warn`
    is told once per spelling used."""
    rules = DEPRECATED.get(command)
    if not rules:
        return args
    out: list[str] = []
    front: list[str] = []  # values that become the first positional argument
    told: set[str] = set()
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            out.extend(args[i:])
            break
        rule = next((r for r in rules if token == r.old or token.startswith(r.old + "=")), None)
        if rule is None:
            out.append(token)
            i += 1
            continue
        if rule.old not in told:
            warn(f"note: {rule.note(command)}")
            told.add(rule.old)
        inline = token.partition("=")[2] if "=" in token else None
        if inline is None and i + 1 < len(args):
            value, i = args[i + 1], i + 2
        elif inline is not None:
            value, i = inline, i + 1
        else:  # the option without its value: let the parser say so under the new name
            out.append(rule.new if isinstance(rule, Renamed) else token)
            i += 1
            continue
        if isinstance(rule, Renamed):
            out += [rule.new, rule.values.get(value.lower(), value)]
        else:
            front.append(value)
    return front + out
