"""What the workflows call (experimentos/ci), step by step, on a bare remote and the fake GitHub
API: the one reports pull request of a branch, results pull requests with their numbers, the
numbers themselves, the comments (built read-only, posted after a check of the head), the plan.
The whole loop through the workflow files is tests/test_ci_loop.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from experimentos.ci import MARKER, plan_matrix, post_comment, publish_reports, publish_results
from experimentos.ci.comment import build_comments, write_artifact
from experimentos.ci.github import Repository, clip, upsert_comment
from experimentos.ci.numbers import changed_rows, matrix_numbers, parse_report, render_numbers
from experimentos.errors import GitError, NotFound, UsageError
from experimentos.store import Workspace

from .conftest import PROJECT, git
from .github_fake import FakeGitHub
from .site_helpers import MATRIX, make_site_root

HELD_BACK = f"run.{MATRIX}.sdk-rename.none.codex.r2"
RESULTS = f"experiments/{MATRIX}/results/{MATRIX}.md"
SHA_RE = r"[0-9a-f]{40}"


def build_reports_in(root: Path) -> None:
    """`experimentos report build` in `root`, as the workflow's step runs it."""
    from experimentos.reports.build import build_reports

    build_reports(Workspace(root))


@pytest.fixture
def pushed(tmp_path, monkeypatch):
    """A developer repo pushed to a bare remote, then a push of one new run record to main
    (without its report). Returns (bare, the new main commit, the developer's clone)."""
    for name in ("GITHUB_TOKEN", "XOS_BOT_TOKEN", "EXPERIMENTOS_GITHUB_API", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    dev = tmp_path / "dev"
    make_site_root(dev)
    runs = dev / "experiments" / MATRIX / "runs"
    held = tmp_path / "held"
    held.mkdir()
    for path in runs.glob(f"{HELD_BACK}.*"):
        shutil.move(path, held / path.name)
    (dev / RESULTS).unlink()
    build_reports_in(dev)  # the committed reports match the committed runs
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(dev, "init", "-q", "-b", "main")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "knowledge base with reports")
    git(dev, "remote", "add", "origin", str(bare))
    git(dev, "push", "-q", "origin", "main")
    for path in held.iterdir():
        shutil.move(path, runs / path.name)
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "a new run record")
    git(dev, "push", "-q", "origin", "main")
    return bare, git(dev, "rev-parse", "HEAD").strip(), dev


def _checkout(bare: Path, where: Path, branch: str = "main") -> Path:
    """What actions/checkout leaves: the branch checked out, origin a github.com URL (pushes go
    to the bare repository)."""
    subprocess.run(["git", "clone", "-q", "-b", branch, str(bare), str(where)], check=True)
    git(where, "remote", "set-url", "origin", "https://github.com/acme/kb")
    git(where, "config", "remote.origin.pushurl", str(bare))
    return where


def _porcelain(where: Path) -> str:
    return git(where, "status", "--porcelain", "--untracked-files=all")


def _api(monkeypatch, github: FakeGitHub, token: str = "ghs_t") -> None:
    monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", github.url)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/kb")


# --- the one reports pull request of a branch -----------------------------------------------


def test_one_reports_pull_request_per_branch_updated_in_place(pushed, tmp_path, monkeypatch):
    bare, sha, dev = pushed
    branch = "xos/reports/main"
    with FakeGitHub(bare=bare) as github:
        _api(monkeypatch, github)
        checkout = _checkout(bare, tmp_path / "ci")
        build_reports_in(checkout)
        first = publish_reports(Workspace(checkout), sha, base="main", dispatch=("check.yml",))
        # Exactly the regenerated report, on top of main, main untouched, checkout as built.
        assert git(bare, "diff", "--name-only", "main", branch).split() == [RESULTS]
        assert git(bare, "show", f"{branch}:{RESULTS}") == (checkout / RESULTS).read_text()
        assert git(bare, "rev-parse", "main").strip() == sha
        assert git(bare, "rev-parse", f"{branch}^").strip() == sha
        assert _porcelain(checkout).split() == ["M", RESULTS]
        (pull,) = github.open_pulls()
        assert pull["head"] == branch and first.pull_request.created
        # The body carries the numbers: the headline and the rows the new run changed, and no
        # comparison of the runs with themselves (the runs are main's).
        body = pull["body"]
        assert "**Headline**" in body and "**brief** vs `none`, clean pass:" in body
        assert "Rows changed against `main`'s report" in body
        assert "`none` · codex" in body and "runs: 3 → 4" in body
        assert "nothing to compare" in body and "report compare" not in body
        assert f"[report](https://github.com/acme/kb/blob/{branch}/{RESULTS})" in body
        # Its checks: GitHub starts none for a GITHUB_TOKEN push, so they are dispatched, and a
        # pending status shows on the pull request until the dispatched run reports back.
        assert github.dispatches == [
            {"workflow": "check.yml", "ref": branch, "inputs": {"pr": "7", "base": "main"}}
        ]
        (status,) = github.statuses
        assert status["sha"] == first.commit and status["state"] == "pending"
        assert status["context"] == "check"

        # A re-run of the same push: nothing to push, the same pull request updated.
        again = publish_reports(Workspace(checkout), sha, base="main", dispatch=("check.yml",))
        assert again.up_to_date and not again.pushed and again.commit == first.commit
        assert again.pull_request.number == 7 and again.pull_request.updated
        assert len(github.pulls) == 1

        # Another push of runs to main: the branch is rebuilt on the new main, same pull request.
        (dev / "wiki" / "failures" / "note.md").write_text("x", encoding="utf-8")
        git(dev, "add", "-A")
        git(dev, "commit", "-q", "-m", "unrelated")
        git(dev, "push", "-q", "origin", "main")
        newer = git(dev, "rev-parse", "HEAD").strip()
        checkout2 = _checkout(bare, tmp_path / "ci2")
        build_reports_in(checkout2)
        third = publish_reports(Workspace(checkout2), newer, base="main")
        assert third.pushed and git(bare, "rev-parse", f"{branch}^").strip() == newer
        assert [p["number"] for p in github.pulls] == [7]

        # The reports are fixed on main: the bot's pull request has nothing left and is closed.
        git(dev, "fetch", "-q", "origin")
        git(dev, "merge", "-q", "--ff-only", f"origin/{branch}")
        git(dev, "push", "-q", "origin", "main")
        checkout3 = _checkout(bare, tmp_path / "ci3")
        build_reports_in(checkout3)
        fixed = publish_reports(Workspace(checkout3), git(dev, "rev-parse", "HEAD").strip())
        assert fixed.closed == 7 and not fixed.changed
        assert github.pulls[0]["state"] == "closed"
        assert "match the run records again" in github.comments_on(7)[0]["body"]


def test_reports_step_refuses_to_overwrite_someone_elses_push(pushed, tmp_path):
    bare, sha, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    build_reports_in(checkout)
    # Someone pushed their own commit onto the bot's branch after the checkout fetched.
    other = git(bare, "commit-tree", "main^{tree}", "-p", "main", "-m", "someone").strip()
    git(bare, "update-ref", "refs/heads/xos/reports/main", other)
    with pytest.raises(GitError, match="push to xos/reports/main failed"):
        publish_reports(Workspace(checkout), sha, base="main")
    assert git(bare, "rev-parse", "refs/heads/xos/reports/main").strip() == other


def test_no_changes_no_branch(pushed, tmp_path, monkeypatch):
    bare, sha, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    build_reports_in(checkout)
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "reports up to date")
    with FakeGitHub(bare=bare) as github:
        _api(monkeypatch, github)
        result = publish_reports(Workspace(checkout), sha, base="main")
    assert not result.changed and result.closed is None
    assert [r["method"] for r in github.requests] == ["GET"]  # looked for a stale one only
    assert git(bare, "for-each-ref", "refs/heads/xos/") == ""


def test_publish_refuses_a_symlinked_file(pushed, tmp_path):
    bare, sha, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    (tmp_path / "secret").write_text("s", encoding="utf-8")
    (checkout / RESULTS).unlink()
    (checkout / RESULTS).symlink_to(tmp_path / "secret")
    with pytest.raises(UsageError, match="not a regular file"):
        publish_reports(Workspace(checkout), sha, push=False)
    assert git(checkout, "for-each-ref", "refs/heads/xos/") == ""


def test_publish_results_carries_the_numbers(pushed, tmp_path, monkeypatch):
    bare, _, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    runs = checkout / "experiments" / MATRIX / "runs"
    shard = tmp_path / "shard"
    shard.mkdir()
    for path in runs.glob(f"{HELD_BACK}.*"):  # as if a shard made this run
        shutil.move(path, shard / path.name.replace(".r2.", ".r3."))
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "drop a run")
    for path in shard.iterdir():
        text = (
            path.read_text(encoding="utf-8").replace(".r2", ".r3").replace("repeat: 2", "repeat: 3")
        )
        (runs / path.name).write_text(text, encoding="utf-8")
    with FakeGitHub(bare=bare) as github:
        _api(monkeypatch, github)
        result = publish_results(Workspace(checkout), MATRIX, "4242", base="main", pr=7)
    assert result.branch == f"xos/results/{MATRIX}-4242"
    new_run = f"experiments/{MATRIX}/runs/run.{MATRIX}.sdk-rename.none.codex.r3"
    assert set(result.changed) == {
        f"{new_run}.md",
        f"{new_run}.events.jsonl",
        f"{new_run}.diff",
        f"{new_run}.transcript.jsonl",
        RESULTS,  # rebuilt by the step itself
    }
    files = git(bare, "diff", "--name-only", "main", result.branch).split()
    assert sorted(files) == sorted(result.changed)
    body = github.pulls[0]["body"]
    assert "1 run record(s)" in body and "**Headline**" in body and "pass:" in body
    # The labelled pull request is told what happened, with the same numbers.
    (comment,) = github.comments_on(7)
    assert f"<!-- experimentos:matrix:{MATRIX} -->" in comment["body"]
    assert "1 new run record(s) in https://github.com/acme/kb/pull/7" in comment["body"]


# --- the numbers ------------------------------------------------------------------------------


def test_a_new_matrix_shows_its_own_headline_not_an_empty_comparison(pushed, tmp_path):
    """A matrix that does not exist at the base: its headline, and no 'No cell ran in both'."""
    _, _, dev = pushed
    root = tmp_path / "solo"
    make_site_root(root)
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("x", encoding="utf-8")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "empty")
    git(root, "checkout", "-q", "-b", "feature")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a matrix")
    (found,) = matrix_numbers(Workspace(root), None, "main")
    assert found.status == "new" and found.headline and found.comparison is None
    text = render_numbers([found], "main")
    assert "No cell ran in both" not in text and "**brief** vs `none`" in text
    assert "has no report at `main`" in text


def test_changed_rows_are_cell_by_cell():
    before = parse_report(
        "# Matrix `m`\n\n4 runs counted.\n\n## Headline\n\n- a: +0.10\n\n## Outcomes\n\n"
        "| condition | agent | runs | pass |\n|---|---|---|---|\n"
        "| `none` | x | 2 | 0.50 (1/2) |\n| `brief` | x | 2 | 1.00 (2/2) |\n"
    )
    after = parse_report(
        "# Matrix `m`\n\n6 runs counted.\n\n## Headline\n\n- a: +0.20\n\n## Outcomes\n\n"
        "| condition | agent | runs | pass |\n|---|---|---|---|\n"
        "| `none` | x | 3 | 0.33 (1/3) |\n| `brief` | x | 2 | 1.00 (2/2) |\n"
        "| `brief-without:p` | x | 1 | 0.00 (0/1) |\n"
    )
    assert after.counts == "6 runs counted." and after.headline == ["a: +0.20"]
    rows, resized = changed_rows(before, after)
    assert resized == 0
    assert [(r.row, r.change) for r in rows] == [
        ("`none` · x", "changed"),
        ("`brief-without:p` · x", "added"),
    ]
    assert rows[0].cells == ["runs: 2 → 3", "pass: 0.50 (1/2) → 0.33 (1/3)"]
    # A row whose estimate holds (more runs, a narrower interval) is counted, not listed.
    wider = parse_report(
        "## Outcomes\n\n| condition | agent | runs | pass |\n|---|---|---|---|\n"
        "| `brief` | x | 4 | 1.00 [0.51, 1.00] (4/4) |\n"
    )
    narrow = parse_report(
        "## Outcomes\n\n| condition | agent | runs | pass |\n|---|---|---|---|\n"
        "| `brief` | x | 2 | 1.00 [0.34, 1.00] (2/2) |\n"
    )
    assert changed_rows(narrow, wider) == ([], 1)


# --- comments: built read-only, posted after checking the head ------------------------------


def test_upsert_finds_its_comment_on_a_later_page(monkeypatch):
    others = [{"id": i, "body": f"review {i}", "html_url": "u"} for i in range(150)]
    with FakeGitHub(comments=others) as github:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", github.url)
        repo = Repository("acme", "kb")
        first = upsert_comment(repo, 7, f"{MARKER}\nfirst", "t", MARKER)
        second = upsert_comment(repo, 7, f"{MARKER}\nsecond", "t", MARKER)
    assert first[2] and not second[2] and first[0] == second[0]
    marked = [c for c in github.comments_on(7) if MARKER in c["body"]]
    assert len(marked) == 1 and marked[0]["body"].endswith("second")
    assert [r["method"] for r in github.requests] == ["GET", "GET", "POST", "GET", "GET", "PATCH"]
    with pytest.raises(UsageError, match="marker"):
        upsert_comment(repo, 7, "no marker", "t", MARKER)


def test_clip_keeps_a_body_under_the_limit():
    body = "\n".join(f"line {i}" for i in range(20000))
    cut = clip(body)
    assert len(cut) <= 65_536 and cut.endswith("limit)_\n") and "line 0" in cut


def _feature_with_a_new_run(pushed, tmp_path) -> tuple[Path, Path]:
    bare, _, dev = pushed
    git(dev, "checkout", "-q", "-b", "feature")
    build_reports_in(dev)
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "reports")
    git(dev, "push", "-q", "origin", "feature")
    checkout = _checkout(bare, tmp_path / "ci", "feature")
    return bare, checkout


def test_post_comment_believes_the_pr_number_only_with_a_matching_head(
    pushed, tmp_path, monkeypatch
):
    bare, checkout = _feature_with_a_new_run(pushed, tmp_path)
    head = git(bare, "rev-parse", "refs/heads/feature").strip()
    result = build_comments(Workspace(checkout), "origin/main", head=head)
    assert [c.kind for c in result.comments] == ["results"]
    out = tmp_path / "artifact"
    write_artifact(result, out, 7, head)
    with FakeGitHub(bare=bare) as github:
        _api(monkeypatch, github)
        github.pulls.append(
            {"number": 7, "html_url": "u", "head": "feature", "base": "main", "title": "t",
             "body": "", "state": "open"}
        )  # fmt: skip
        # The event's head is another commit: nothing is posted (a newer run will).
        other = post_comment(out, head_sha="0" * 40, repository="acme/kb")
        assert other.skipped and "not 000000000000" in other.skipped and not github.comments_on(7)
        posted = post_comment(out, head_sha=head, repository="acme/kb")
        assert [p.kind for p in posted.posted] == ["results"]
        (comment,) = github.comments_on(7)
        assert comment["body"].startswith(MARKER) and "**Headline**" in comment["body"]
        # The artifact is untrusted: an unknown file or a body without its marker is refused.
        meta = json.loads((out / "meta.json").read_text())
        (out / "meta.json").write_text(json.dumps({**meta, "comments": ["../../etc/passwd"]}))
        with pytest.raises(UsageError, match="unknown comment"):
            post_comment(out, head_sha=head, repository="acme/kb")
        (out / "meta.json").write_text(json.dumps(meta))
        (out / "results.md").write_text("@everyone hello", encoding="utf-8")
        with pytest.raises(UsageError, match="marker"):
            post_comment(out, head_sha=head, repository="acme/kb")
    assert post_comment(tmp_path / "none", head_sha=head).skipped.startswith("no comment artifact")


def test_pr_comment_cli_posts_once_and_updates_it(pushed, tmp_path, monkeypatch, cli):
    bare, checkout = _feature_with_a_new_run(pushed, tmp_path)
    with FakeGitHub(bare=bare) as github:
        _api(monkeypatch, github)
        for _ in range(2):
            result = cli(checkout, "ci", "pr-comment", "--base", "origin/main", "--pr", "7")
            assert result.exit_code == 0, result.output
        (posted,) = github.comments_on(7)
        body = posted["body"]
        assert body.startswith(MARKER) and "No significant regression" in body
        assert "`scripted-brief-matrix/scripted-brief-matrix`: updated" in body
        assert "results comment updated" in result.stderr
    with FakeGitHub(bare=bare, refuse_writes=True) as github:
        _api(monkeypatch, github)
        refused = cli(checkout, "ci", "pr-comment", "--base", "origin/main", "--pr", "7", "--json")
    assert refused.exit_code == 1
    assert "403" in json.loads(refused.stdout)["error"]


# --- the matrix plan ----------------------------------------------------------------------------


def _project_copy(where: Path) -> Workspace:
    """The project's knowledge, fixtures and demo matrix with its 16 committed runs."""
    for top in ("wiki", "policies", "fixtures", f"experiments/{MATRIX}"):
        shutil.copytree(PROJECT / top, where / top)
    shutil.copy(PROJECT / "experimentos.toml", where / "experimentos.toml")
    git(where, "init", "-q", "-b", "main")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "copy")
    return Workspace(where)


def test_matrix_plan_counts_what_is_missing(tmp_path):
    root = _project_copy(tmp_path / "kb")
    full = plan_matrix(root, label=f"matrix:{MATRIX}:2")
    assert (full.repeats, full.to_run, full.shard_list) == (2, 0, [])
    assert "nothing to run" in full.summary()
    more = plan_matrix(root, label=f"matrix:{MATRIX}:3")
    assert (more.repeats, more.to_run, more.done, more.shards) == (3, 8, 16, 2)
    assert more.outputs() == (
        f"experiment={MATRIX}\nrepeats=3\nshards=2\nshard-list=[1, 2]\nto-run=8\n"
    )
    assert plan_matrix(root, label=f"matrix:{MATRIX}:4:5").shard_list == [1, 2, 3, 4, 5]
    assert plan_matrix(root, experiment=MATRIX, repeats="", shards="").to_run == 0
    with pytest.raises(UsageError, match="shards must be 1 to 32"):
        plan_matrix(root, experiment=MATRIX, repeats="3", shards="0")
    with pytest.raises(UsageError, match="repeats must be 1 to 1000"):
        plan_matrix(root, label=f"matrix:{MATRIX}:0")
    with pytest.raises(UsageError, match="does not start with"):
        plan_matrix(root, label="run-matrix")
    with pytest.raises(UsageError, match="expected matrix:<experiment>"):
        plan_matrix(root, label="matrix:a:1:2:3")
    with pytest.raises(NotFound):
        plan_matrix(root, experiment="nope")
    # A fixture changed: the results recorded on it no longer count, and are run again.
    oracle = root.root / "fixtures" / "drizzle-pin" / "src" / "db" / "schema.ts"
    oracle.write_text(oracle.read_text() + "\n// changed\n")
    changed = plan_matrix(root, label=f"matrix:{MATRIX}:2")
    assert (changed.to_run, changed.done) == (8, 8)


def test_publish_results_takes_empty_workflow_inputs(pushed, tmp_path, cli):
    """A workflow_dispatch run has no pull request and maybe no repeats: empty inputs."""
    bare, _, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    args = ("ci", "publish-results", MATRIX, "--suffix", "1", "--pr", "", "--repeats", "")
    result = cli(checkout, *args, "--no-push")
    assert result.exit_code == 0, result.output
    assert "0 new run record(s) on xos/results/" in result.stdout  # main's report was stale
    bad = cli(checkout, *args[:5], "--pr", "x", "--no-push")
    assert bad.exit_code == 2 and "'x' is not a number" in bad.stderr


def test_the_reports_label_is_shown(monkeypatch):
    """The label the reports library gives a matrix (a harness check: scripted decisions) is
    shown with the numbers, whatever else the matrix says."""
    from experimentos.ci.numbers import MatrixNumbers

    harness = MatrixNumbers(
        experiment="e", matrix_id="m", report_path="r", status="updated", label="harness check"
    )
    text = render_numbers([harness], "main")
    assert "Label: **harness check**: a script made every decision" in text
    plain = harness.model_copy(update={"label": "agents"})
    assert "Label" not in render_numbers([plain], "main")
