"""Errors that teach: every problem of an input at once, the nearest ids for one that names
nothing, proposals that do not silently drop uncommitted edits, and words in the right form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from experimentos.errors import (
    InputErrors,
    ReviewRequired,
    article,
    did_you_mean,
    from_validation,
)

from .conftest import PROJECT, git, write_files


def fails(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    return result.stderr


# --- every problem at once ------------------------------------------------------------------


def test_accepting_a_policy_names_every_missing_piece_at_once(kb, cli):
    page = "policy.keep-drizzle-kit-pin-verify-locally"
    cli(kb.root, "page", "set-status", page, "draft", "--rationale", "reopen")
    err = fails(cli(kb.root, "page", "set-status", page, "accepted"))
    assert "needs --rationale" in err and "needs at least one --evidence id" in err
    err = fails(
        cli(kb.root, "page", "set-status", page, "accepted", "--evidence", "failure.nope,BAD")
    )
    assert "needs --rationale" in err  # and both evidence problems, in the same answer
    assert "evidence 'failure.nope' does not exist" in err and "'BAD'" in err
    data = json.loads(cli(kb.root, "--json", "page", "set-status", page, "accepted").stdout)
    assert data["error"]["type"] == "ReviewRequired"
    assert [p["field"] for p in data["error"]["problems"]] == [
        "review.rationale",
        "review.evidence",
    ]


def test_the_library_raises_them_together_and_callers_still_catch_the_kind(kb):
    from experimentos.knowledge.pages import set_status

    set_status(kb, "policy.no-destructive-git", "draft", "reopen")
    with pytest.raises(ReviewRequired) as caught:
        set_status(kb, "policy.no-destructive-git", "accepted")
    assert isinstance(caught.value, InputErrors) and len(caught.value.errors) == 2


def _matrix_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    for top in ("wiki", "policies"):
        shutil.copytree(PROJECT / top, root / top)
    shutil.copytree(PROJECT / "fixtures" / "drizzle-pin", root / "fixtures" / "drizzle-pin")
    write_files(root, {"experimentos.toml": "format = 1\n"})
    return root


def test_a_matrix_spec_with_many_mistakes_reports_them_all_in_one_run(tmp_path, cli):
    root = _matrix_repo(tmp_path / "kb")
    assert cli(root, "exp", "new", "Mx", "--kind", "agent").exit_code == 0
    spec = """\
fixtures: [drizzle-pin, drizle-pin]
conditions: [none, "brief-without:policy.no-destructive-gits"]
agents:
  - {name: a1, adapter: scriptd}
  - {name: a2, adapter: shell}
repeats: 0
secrets: [EXPERIMENTOS_TEST_NO_SUCH_SECRET]
"""
    write_files(root, {"experiments/mx/matrix.yaml": spec})
    err = fails(cli(root, "matrix", "run", "mx", "--dry-run"))
    assert "repeats" in err  # the schema's mistake …
    assert "fixtures.1" in err and "did you mean drizzle-pin?" in err  # … and the others
    assert "agents.0.adapter" in err and "did you mean scripted?" in err
    assert "conditions.1" in err and "did you mean policy.no-destructive-git?" in err
    assert "secrets.0" in err
    write_files(root, {"experiments/mx/matrix.yaml": spec.replace("repeats: 0", "repeats: 1")})
    err = fails(cli(root, "matrix", "run", "mx", "--dry-run"))
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 4, err


def test_validation_errors_name_every_field():
    from pydantic import BaseModel, ValidationError

    class Two(BaseModel):
        a: int
        b: int

    with pytest.raises(ValidationError) as caught:
        Two.model_validate({"a": "x", "b": "y"})
    error = from_validation(caught.value, path="f.toml")
    assert isinstance(error, InputErrors)
    assert str(error).splitlines() == [
        "f.toml: a: Input should be a valid integer, unable to parse string as an integer",
        "f.toml: b: Input should be a valid integer, unable to parse string as an integer",
    ]


def test_a_bad_config_names_every_field(empty_kb, cli):
    path = empty_kb.root / "experimentos.toml"
    path.write_text('format = 1\n[index]\nembedder = 3\nchunk_tokens = "x"\n', encoding="utf-8")
    err = fails(cli(empty_kb.root, "page", "list"))
    assert "index.embedder" in err and "index.chunk_tokens" in err


# --- the nearest ids -----------------------------------------------------------------------


def test_ids_that_name_nothing_come_with_the_nearest_ones(kb, cli):
    err = fails(cli(kb.root, "page", "show", "policy.no-destructive-gits"))
    assert "no page 'policy.no-destructive-gits' (did you mean policy.no-destructive-git?)" in err
    assert "did you mean" in fails(cli(kb.root, "graph", "deps", "failure.red-green-chrn"))
    assert cli(kb.root, "exp", "new", "Drizzle pin", "--kind", "agent").exit_code == 0
    assert "did you mean drizzle-pin?" in fails(cli(kb.root, "exp", "show", "drizzle-pn"))
    run_id = cli(kb.root, "run", "start", "drizzle-pin", "--task", "t").stdout.strip()
    near = run_id[:-1] + ("0" if run_id[-1] != "0" else "1")
    assert f"did you mean {run_id}?" in fails(cli(kb.root, "run", "show", near))
    args = ["test", "new", "drizzle-pin", "clean", "--kind", "manual"]
    assert cli(kb.root, *args).exit_code == 0
    err = fails(cli(kb.root, "test", "show", "test.drizzle-pin.clen"))
    assert "did you mean test.drizzle-pin.clean?" in err
    # far from everything: no guess
    assert "did you mean" not in fails(cli(kb.root, "page", "show", "policy.zzzzqqq"))


def test_did_you_mean_prefers_the_close_and_stays_quiet_when_nothing_is():
    pages = ["policy.keep-pins", "policy.keep-drizzle-kit-pin-verify-locally", "failure.x-y"]
    assert did_you_mean("policy.keep-pin", pages) == " (did you mean policy.keep-pins?)"
    assert did_you_mean("keep-pins", pages) == " (did you mean policy.keep-pins?)"
    assert did_you_mean("policy.nope", pages) == ""
    assert did_you_mean("experiments.list", ["experiments_list", "tests_list"]) == (
        " (did you mean experiments_list?)"
    )


# --- proposals do not drop what the working tree holds ------------------------------------


def test_grammar_of_articles(kb, cli):
    assert [article(w) for w in ("intervention", "policy", "experiment", "url", "unset")] == [
        "an",
        "a",
        "an",
        "a",
        "an",
    ]
    write_files(
        kb.root,
        {
            "wiki/interventions/narrow.md": "---\nid: intervention.narrow\ntype: intervention\n"
            "title: Narrow\n---\n"
        },
    )
    err = fails(cli(kb.root, "page", "set-status", "intervention.narrow", "accepted"))
    assert "accepting an intervention needs" in err and "a intervention" not in err


def test_state_written_without_init_is_ignored_by_git(tmp_repo, cli):
    root = tmp_repo({"README.md": "a repository that never ran `experimentos init`\n"})
    assert cli(root, "page", "new", "failure", "x", "--title", "X").exit_code == 0
    assert (root / ".experimentos" / "write.lock").exists()
    status = git(root, "status", "--porcelain", "--untracked-files=all").split("\n")
    assert [line for line in status if line] == ["?? wiki/failures/x.md"]


EMPTY_RULE = """\
---
id: policy.empty-rule
type: policy
title: A policy that states nothing
status: accepted
summary: Pins are good.
appliesTo: {library: drizzle-kit}
review:
  reviewer: ada
  reviewedAt: 2026-04-01
  rationale: seemed fine
  evidence: [claim.upgrade-drizzle-kit-fixes-migration-default]
---

## Rule

<!-- write the rule here -->

## Rationale

Because.
"""


def test_an_accepted_policy_with_an_empty_rule_fails_check_and_is_no_decision_rule(kb, cli):
    write_files(kb.root, {"policies/empty-rule.md": EMPTY_RULE})
    result = cli(kb.root, "check", "--strict", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    found = [p for p in problems if p["code"] == "rule-empty"]
    assert [(p["path"], p["severity"]) for p in found] == [("policies/empty-rule.md", "error")]
    # a budget with room for evidence too: the page is shown, as evidence only
    brief = json.loads(
        cli(kb.root, "brief", "bump drizzle-kit", "--library", "drizzle-kit", "--json",
            "--budget", "8000").stdout
    )["agent_work_context"]  # fmt: skip
    assert "policy.empty-rule" in brief["knowledge_boundaries"]["evidence_only"]
    assert all(r["id"] != "policy.empty-rule" for r in brief["decision_rules"])
    # once it says what to do, it is a rule again
    fixed = EMPTY_RULE.replace("<!-- write the rule here -->", "Keep the pin.")
    write_files(kb.root, {"policies/empty-rule.md": fixed})
    result = cli(kb.root, "check", "--json")
    assert not [p for p in json.loads(result.stdout)["problems"] if p["code"] == "rule-empty"]
    brief = json.loads(
        cli(kb.root, "brief", "bump drizzle-kit", "--library", "drizzle-kit", "--json").stdout
    )["agent_work_context"]
    assert "policy.empty-rule" in brief["knowledge_boundaries"]["decision_capable"]


def test_accepting_is_refused_until_the_rule_is_written(kb, cli):
    made = cli(kb.root, "page", "new", "policy", "scaffold", "--title", "T", "--summary", "S")
    assert made.exit_code == 0
    args = ["page", "set-status", "policy.scaffold", "accepted", "--rationale", "r"]
    args += ["--evidence", "failure.red-green-churn"]
    assert "## Rule section is empty" in fails(cli(kb.root, *args))
    new = cli(kb.root, "page", "new", "policy", "ruled", "--title", "T", "--rule", "Keep pins.")
    assert new.exit_code == 0
    text = (kb.root / "policies" / "ruled.md").read_text(encoding="utf-8")
    assert "## Rule\n\nKeep pins.\n" in text
    accepted = cli(kb.root, *[a.replace("policy.scaffold", "policy.ruled") for a in args])
    assert accepted.exit_code == 0, accepted.output
    assert "--rule" in fails(
        cli(kb.root, "page", "new", "claim", "c", "--title", "C", "--rule", "x")
    )
