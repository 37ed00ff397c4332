"""The results loop end to end, through the workflow files themselves.

A bare remote plays GitHub's repository and FakeGitHub its API; tests/workflow_runner.py runs
.github/workflows/*.yml as GitHub would (jobs, `if:`, matrices, outputs, artifacts, and every
`run:` step as written), so what runs here is exactly what the YAML runs:

1. a pull request adding runs without their report: the report is regenerated and pushed onto
   its branch, the checks are dispatched on the new head and report back as a commit status,
   and the comment posted from the workflow_run job carries the numbers;
2. a direct push of runs to main: main's checks stay green; reports.yml opens exactly one
   reports pull request, a re-run updates it (no second one), and its checks are dispatched;
3. a `matrix:m:3` label on a pull request of an experiment with committed runs runs only the
   missing runs across two shards and publishes them with their numbers; a label asking for
   nothing new says so;
4. a knowledge pull request's comment shows how the fixture task's brief changes.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from experimentos.matrix.runner import run_matrix
from experimentos.reports.build import build_reports
from experimentos.store import Workspace

from .conftest import git, write_files
from .github_fake import FakeGitHub
from .matrix_helpers import EXP, GOOD, LAZY, make_root, read_spec
from .workflow_runner import Runner

REPORT = f"experiments/{EXP}/results/{EXP}.md"
RESULTS_MARKER = "<!-- experimentos:report-compare -->"
IMPACT_MARKER = "<!-- experimentos:brief-impact -->"
SOLUTIONS = {
    "fixtures/tiny/solutions/good-write-fixed.patch": (
        "diff --git a/app.txt b/app.txt\n--- a/app.txt\n+++ b/app.txt\n"
        "@@ -1 +1 @@\n-broken\n+fixed\n"
    ),
    "fixtures/tiny/solutions/bad-edit-the-test.patch": (
        "diff --git a/test.txt b/test.txt\n--- a/test.txt\n+++ b/test.txt\n"
        "@@ -1 +1 @@\n-expects fixed\n+expects broken\n"
    ),
}
TRAP = """\
solutions:
  bad-edit-the-test:
    note: Changes what the test expects instead of the file.
    breaks: [protected_edit, out_of_scope]
    oracle: fail
"""


def _commit(root, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def loop(tmp_path, monkeypatch):
    """A knowledge root with a shell-agent matrix (2 conditions x 2 agents, 1 repeat) whose runs
    and report are committed and pushed; the fake API; the workflow runner."""
    for name in ("GITHUB_TOKEN", "XOS_BOT_TOKEN", "EXPERIMENTOS_GITHUB_API", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    dev = tmp_path / "dev"
    ws = make_root(dev, {"good": GOOD, "lazy": LAZY}, conditions=["none", "brief"], repeats=1)
    write_files(dev, SOLUTIONS)
    manifest = dev / "fixtures" / "tiny" / "fixture.yaml"
    manifest.write_text(manifest.read_text() + TRAP, encoding="utf-8")
    subprocess.run(
        ["experimentos", "--root", str(dev), "schema", "export"], check=True, capture_output=True
    )
    run_matrix(ws, EXP)
    build_reports(ws)
    _commit(dev, "a matrix with its runs and report")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(dev, "remote", "add", "origin", str(bare))
    git(dev, "push", "-q", "origin", "main")
    with FakeGitHub(bare=bare, pages_url="https://acme.github.io/kb/") as github:
        runner = Runner(bare, github.url, tmp_path / "runner")
        yield dev, bare, github, runner


def _run_dispatched(runner: Runner, github: FakeGitHub, seen: int):
    """Run the check.yml runs dispatched since the first `seen` dispatches, as GitHub would
    (ci.yml, dispatched beside it, runs this whole test suite: it is not run here)."""
    runs = []
    for dispatch in github.dispatches[seen:]:
        assert dispatch["workflow"] in ("check.yml", "ci.yml"), dispatch
        if dispatch["workflow"] == "check.yml":
            runs.append(runner.run("check.yml", runner.dispatch_event(dispatch)))
    return runs


def test_the_results_loop(loop):
    dev, bare, github, runner = loop

    # --- 1. a pull request adding runs, without their report ------------------------------
    git(dev, "checkout", "-q", "-b", "more-runs")
    run_matrix(Workspace(dev), EXP, repeats=2)  # 4 more runs; matrix.yaml says 2 repeats now
    _commit(dev, "two repeats per cell")  # the report is now stale: not rebuilt
    git(dev, "push", "-q", "origin", "more-runs")
    pr = github.open_pull("more-runs")
    first = runner.run("check.yml", runner.pull_request_event(pr, "more-runs"))
    assert first.result("reports") == "success", first.log
    assert (first.result("check"), first.result("comment")) == ("skipped", "skipped")
    head = git(bare, "rev-parse", "refs/heads/more-runs").strip()
    assert git(bare, "log", "-1", "--format=%s", head).strip() == "xos: reports more-runs"
    assert git(bare, "diff", "--name-only", f"{head}^", head).split() == [REPORT]
    # The branch now holds exactly what the records produce.
    git(dev, "pull", "-q", "--ff-only", "origin", "more-runs")
    assert build_reports(Workspace(dev), check=True).stale == []
    # GitHub starts nothing for that push (GITHUB_TOKEN): the checks were dispatched on it.
    inputs = {"pr": str(pr), "base": "main"}
    assert github.dispatches == [
        {"workflow": "check.yml", "ref": "more-runs", "inputs": inputs},
        {"workflow": "ci.yml", "ref": "more-runs", "inputs": inputs},
    ]
    assert github.statuses == [
        {
            "sha": head,
            "state": "pending",
            "context": context,
            "description": f"{workflow} dispatched on this branch",
            "target_url": f"https://github.com/acme/kb/actions/runs/{first.run_id}",
        }
        for workflow, context in (("check.yml", "check"), ("ci.yml", "test"))
    ]
    (checked,) = _run_dispatched(runner, github, 0)
    assert checked.result("check") == "success", checked.log
    assert checked.result("comment") == "success", checked.log
    assert github.statuses[-1] == {**github.statuses[-1], "sha": head, "state": "success"}
    assert github.statuses[-1]["context"] == "check"
    posted = runner.run("pr-comment.yml", runner.workflow_run_event(checked))
    assert posted.result("comment") == "success", posted.log
    (comment,) = github.comments_on(pr)
    body = comment["body"]
    assert body.startswith(RESULTS_MARKER) and "No significant regression" in body
    assert f"`{EXP}/{EXP}`: updated" in body and "**Headline**" in body
    assert "**brief** vs `none`, clean pass:" in body  # a delta with interval and verdict
    assert "Rows changed against `origin/main`'s report" in body
    assert "8 runs counted of 8 expected" in body  # was 4 at the base
    # The shell agents are deterministic: every estimate holds, only counts and intervals move.
    assert "keep their estimates; only their counts and intervals moved" in body
    assert "4 run record(s) added" in body and "report compare" not in body
    assert f"[report](https://github.com/acme/kb/blob/{head}/{REPORT})" in body
    # The pull request merges; main is consistent.
    git(dev, "checkout", "-q", "main")
    git(dev, "merge", "-q", "--ff-only", "more-runs")
    git(dev, "push", "-q", "origin", "main")

    # --- 2. a direct push of runs to main -------------------------------------------------
    run_matrix(Workspace(dev), EXP, repeats=3)
    _commit(dev, "a third repeat, pushed straight to main")
    git(dev, "push", "-q", "origin", "main")
    pushed = runner.push_event("main")
    main_checks = runner.run("check.yml", pushed)
    assert main_checks.result("check") == "success", main_checks.log  # main stays green
    assert main_checks.result("reports") == "skipped"
    seen = len(github.dispatches)
    reports = runner.run("reports.yml", pushed)
    assert reports.result("reports") == "success", reports.log
    (bot,) = github.open_pulls("xos/reports/main")
    assert bot["base"] == "main" and "Rows changed against `main`'s report" in bot["body"]
    assert "12 runs counted of 12 expected" in bot["body"]
    assert "keep their estimates" in bot["body"] and "report compare" not in bot["body"]
    rerun = runner.run("reports.yml", pushed)  # "re-run all jobs" of the same push
    assert rerun.result("reports") == "success", rerun.log
    assert github.open_pulls("xos/reports/main") == [bot] and len(github.pulls) == 2
    assert "pull request updated" in rerun.log and "up to date" in rerun.log
    dispatched = github.dispatches[seen:]
    assert {d["ref"] for d in dispatched} == {"xos/reports/main"}
    assert {d["workflow"] for d in dispatched} == {"check.yml", "ci.yml"}
    assert dispatched[0]["inputs"] == {"pr": str(bot["number"]), "base": "main"}
    bot_checks = _run_dispatched(runner, github, seen)[-1]
    assert bot_checks.result("check") == "success", bot_checks.log
    bot_head = git(bare, "rev-parse", "refs/heads/xos/reports/main").strip()
    assert github.statuses[-1] == {
        **github.statuses[-1],
        "sha": bot_head,
        "state": "success",
    }
    runner.run("pr-comment.yml", runner.workflow_run_event(bot_checks))
    (bot_comment,) = github.comments_on(bot["number"])
    assert "The run records are the same as at `origin/main`" in bot_comment["body"]
    # No comparison of main's runs with themselves: only the report's rows that changed.
    assert "Matrix comparison" not in bot_comment["body"]
    assert "12 runs counted of 12 expected" in bot_comment["body"]
    # The bot's pull request merges; then main's reports are right again.
    git(dev, "pull", "-q", "--ff-only", "origin", "xos/reports/main")
    git(dev, "push", "-q", "origin", "main")
    assert build_reports(Workspace(dev), check=True).stale == []
    closing = runner.run("reports.yml", runner.push_event("main"))
    assert closing.result("reports") == "success" and bot["state"] == "closed"

    # --- 3. a matrix label on an experiment with committed runs --------------------------
    git(dev, "checkout", "-q", "-b", "label-me")
    (dev / "notes.md").write_text("why a fourth repeat\n", encoding="utf-8")
    _commit(dev, "a pull request to label")
    git(dev, "push", "-q", "origin", "label-me")
    labelled = github.open_pull("label-me")
    before = set(git(bare, "ls-tree", "-r", "--name-only", "label-me").split())
    event = runner.pull_request_event(
        labelled, "label-me", action="labeled", label={"name": f"matrix:{EXP}:4"}
    )
    matrix = runner.run("matrix.yml", event)
    assert matrix.result("merge") == "success", matrix.log
    plan = matrix.jobs["plan"].outputs
    assert (plan["repeats"], plan["to-run"], plan["shard-list"]) == ("4", "4", "[1, 2]")
    # Two shards ran two runs each: exactly the missing fourth repeat of every cell.
    (results,) = github.open_pulls(f"xos/results/{EXP}-{matrix.run_id}")
    branch = results["head"]
    changed = git(bare, "diff", "--name-only", "label-me", branch).split()
    new_records = sorted(p for p in changed if p.endswith(".md") and "/runs/" in p)
    assert new_records == [
        f"experiments/{EXP}/runs/run.m.tiny.{c}.{a}.r4.md"
        for c in ("brief", "none")
        for a in ("good", "lazy")
    ]
    assert not {p for p in changed if "/runs/" in p} & before  # no run was run again
    assert REPORT in changed and f"experiments/{EXP}/matrix.yaml" in changed
    spec = git(bare, "show", f"{branch}:experiments/{EXP}/matrix.yaml")
    assert "repeats: 4" in spec
    assert (
        "**Headline**" in results["body"] and "The spec's repeats go from 3 to 4" in results["body"]
    )
    (told,) = github.comments_on(labelled)
    assert f"4 new run record(s) in {results['html_url']}" in told["body"]
    # A label that asks for nothing new: no shard starts, and the pull request is told so.
    again = runner.pull_request_event(
        labelled, "label-me", action="labeled", label={"name": f"matrix:{EXP}:3"}
    )
    pulls = len(github.pulls)
    nothing = runner.run("matrix.yml", again)
    assert nothing.result("shard") == "skipped" and nothing.result("merge") == "success"
    (told,) = github.comments_on(labelled)  # the same comment, updated
    assert "nothing to run: every cell already has 3 finished repeat(s)" in told["body"]
    assert len(github.pulls) == pulls  # no results pull request for nothing

    # --- 4. a knowledge pull request -------------------------------------------------------
    git(dev, "checkout", "-q", "main")
    git(dev, "checkout", "-q", "-b", "knowledge")
    policy = dev / "policies" / "fix-the-file.md"
    policy.write_text(policy.read_text().replace("status: accepted", "status: draft"))
    _commit(dev, "the policy goes back to draft")
    git(dev, "push", "-q", "origin", "knowledge")
    knowledge = github.open_pull("knowledge")
    checks = runner.run("check.yml", runner.pull_request_event(knowledge, "knowledge"))
    assert checks.result("reports") == "success" and checks.result("check") == "success", checks.log
    assert "nothing to push" in checks.log
    runner.run("pr-comment.yml", runner.workflow_run_event(checks))
    (impact,) = github.comments_on(knowledge)
    text = impact["body"]
    assert text.startswith(IMPACT_MARKER) and len(text) < 65_536
    assert "1 of 1 task brief(s) change" in text and "`policies/fix-the-file.md`" in text
    assert "<details><summary><b>tiny</b>: −1 rule" in text or "demoted" in text
    assert "demoted: `policy.fix-the-file`" in text
    assert "```diff" in text and "-## Decision rules" in text.replace("- ##", "-##")
    assert os.environ.get("GITHUB_TOKEN") is None  # nothing leaked into this process
    assert read_spec(dev)["repeats"] == 3
