"""What the workflows call (experimentos/ci): reports.yml on a local bare remote with a fake
GitHub API, the results pull request, the one PR comment updated in place, the matrix plan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from experimentos.ci import MARKER, plan_matrix, publish_results, upsert_comment
from experimentos.ci.comment import ChangedReport, changed_reports, compose_body, pr_comment
from experimentos.errors import NotFound, UsageError
from experimentos.lab.scan import scan_runs
from experimentos.store import Workspace

from .conftest import git
from .site_helpers import MATRIX, make_site_root
from .test_proposals_push import FakeGitHub
from .workflow_helpers import commands, resolve, run_steps

HELD_BACK = f"run.{MATRIX}.sdk-rename.none.codex.r2"
RESULTS = f"experiments/{MATRIX}/results/{MATRIX}.md"


def standin_report_build(root: Path) -> None:
    """Stands in for `experimentos report build` until issue 13 lands it: one deterministic
    report per experiment from its run records (count per condition and oracle verdict)."""
    if _report_build_exists():  # issue 13 landed: the real one
        from experimentos.reports.build import build_reports

        build_reports(Workspace(root))
        return
    for exp in sorted((root / "experiments").iterdir()):
        if not exp.is_dir():
            continue
        runs = scan_runs(root, exp.name).records
        if not runs:
            continue
        rows = {}
        for record in runs:
            run = record.model
            key = (run.condition or "-", str(run.metrics.get("oracle_passed")))
            rows[key] = rows.get(key, 0) + 1
        lines = [f"| {c} | {p} | {n} |" for (c, p), n in sorted(rows.items())]
        text = (
            f"---\nmatrix: {exp.name}\nruns: {len(runs)}\n---\n\n"
            "| condition | oracle passed | runs |\n|---|---|---|\n" + "\n".join(lines) + "\n"
        )
        target = root / "experiments" / exp.name / "results" / f"{exp.name}.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _report_build_exists() -> bool:
    return resolve(["experimentos", "report", "build"])[1] is not None


@pytest.fixture
def pushed(tmp_path, monkeypatch):
    """A developer repo pushed to a bare remote, then a push of one new run record to main.
    Returns (bare, the new main commit)."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("EXPERIMENTOS_GITHUB_API", raising=False)
    dev = tmp_path / "dev"
    make_site_root(dev)
    runs = dev / "experiments" / MATRIX / "runs"
    held = tmp_path / "held"
    held.mkdir()
    for path in runs.glob(f"{HELD_BACK}.*"):
        shutil.move(path, held / path.name)
    (dev / RESULTS).unlink()
    standin_report_build(dev)  # the committed reports match the committed runs
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
    return bare, git(dev, "rev-parse", "HEAD").strip()


def _checkout(bare: Path, where: Path) -> Path:
    """What actions/checkout leaves: main checked out, origin a github.com URL (pushes go to
    the bare repository)."""
    subprocess.run(["git", "clone", "-q", str(bare), str(where)], check=True)
    git(where, "remote", "set-url", "origin", "https://github.com/acme/kb")
    git(where, "config", "remote.origin.pushurl", str(bare))
    return where


def _run_workflow(workflow: str, checkout: Path, env: dict[str, str]) -> list[str]:
    """Run a workflow's run steps in `checkout` as the runner would; `pip install` is skipped
    (the package is installed), a missing `report build` is stood in for. Returns notes."""
    notes = []
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    for step in run_steps():
        if step.workflow != workflow:
            continue
        argvs = commands(step, {"PWD": str(checkout)})
        if argvs[0][:2] == ["pip", "install"]:
            continue
        if argvs[0][:3] == ["experimentos", "report", "build"] and not _report_build_exists():
            standin_report_build(checkout)
            notes.append("report build stood in for (issue 13)")
            continue
        run_env = {**os.environ, **step.env, **env, "PATH": path}
        run_env.pop("EXPERIMENTOS_ROOT", None)
        done = subprocess.run(
            ["bash", "-e", "-c", step.script],
            cwd=checkout,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (step.id, done.stdout, done.stderr)
        notes.append(done.stdout)
    return notes


def _porcelain(where: Path) -> str:
    return git(where, "status", "--porcelain", "--untracked-files=all")


def test_reports_workflow_opens_a_pull_request_with_exactly_the_regenerated_reports(
    pushed, tmp_path
):
    bare, sha = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    with FakeGitHub() as github:
        notes = _run_workflow(
            "reports.yml",
            checkout,
            {"SHA": sha, "EXPERIMENTOS_GITHUB_API": github.url, "GITHUB_TOKEN": "ghs_t"},
        )
    branch = f"xos/reports/{sha}"
    # The branch holds exactly the regenerated report, byte for byte as the build wrote it.
    changed = git(bare, "diff", "--name-only", "main", branch).split()
    assert changed == [RESULTS]
    assert git(bare, "show", f"{branch}:{RESULTS}") == (checkout / RESULTS).read_text()
    text = (checkout / RESULTS).read_text()
    if _report_build_exists():  # the real report (issue 13): all 16 runs counted
        assert "runs:\n  expected: 16\n  counted: 16\n" in text
    else:
        assert "| none | True | 4 |" in text  # the new run counted
    assert git(bare, "rev-parse", "main").strip() == sha  # main untouched
    assert git(bare, "rev-parse", f"{branch}^").strip() == sha
    # The checkout keeps the build's output and nothing else: the commit was made elsewhere.
    assert _porcelain(checkout).split() == ["M", RESULTS]
    # The pull request request body.
    (request,) = github.requests
    assert request["method"] == "POST" and request["path"] == "/api/v3/repos/acme/kb/pulls"
    assert request["headers"]["Authorization"] == "Bearer ghs_t"
    body = request["json"]
    assert body["head"] == branch and body["base"] == "main"
    assert body["title"] == f"xos: reports {sha}"
    assert (
        f"Reports regenerated by `experimentos report build` from the run records at {sha}."
        in (body["body"])
    )
    assert f"- modified {RESULTS}" in body["body"]
    assert any("pull request: https://github.com/acme/kb/pull/7" in n for n in notes)


def test_reports_workflow_without_changes_opens_nothing(pushed, tmp_path):
    bare, sha = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    standin_report_build(checkout)
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "reports up to date")
    with FakeGitHub() as github:
        notes = _run_workflow(
            "reports.yml",
            checkout,
            {"SHA": sha, "EXPERIMENTOS_GITHUB_API": github.url, "GITHUB_TOKEN": "ghs_t"},
        )
    assert github.requests == []
    assert git(bare, "for-each-ref", "refs/heads/xos/") == ""
    assert any("nothing changed" in n for n in notes)


def test_publish_results_commits_new_runs_and_reports(pushed, tmp_path, monkeypatch):
    bare, _ = pushed
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
    standin_report_build(checkout)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_t")
    with FakeGitHub() as github:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", github.url)
        result = publish_results(Workspace(checkout), MATRIX, "4242")
    assert result.branch == f"xos/results/{MATRIX}-4242"
    new_run = f"experiments/{MATRIX}/runs/run.{MATRIX}.sdk-rename.none.codex.r3"
    assert set(result.changed) == {
        f"{new_run}.md",
        f"{new_run}.events.jsonl",
        f"{new_run}.diff",
        f"{new_run}.transcript.jsonl",
        RESULTS,
    }
    files = git(bare, "diff", "--name-only", "main", result.branch).split()
    assert sorted(files) == sorted(result.changed)
    assert "1 run record(s)" in github.requests[0]["json"]["body"]


def test_publish_refuses_a_symlinked_file(pushed, tmp_path):
    bare, sha = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    (tmp_path / "secret").write_text("s", encoding="utf-8")
    (checkout / RESULTS).unlink()
    (checkout / RESULTS).symlink_to(tmp_path / "secret")
    from experimentos.ci import publish_reports

    with pytest.raises(UsageError, match="not a regular file"):
        publish_reports(Workspace(checkout), sha, push=False)
    assert git(checkout, "for-each-ref", "refs/heads/xos/") == ""


# --- the pull-request comment ---------------------------------------------------------------


class FakeComments:
    """GitHub's issue-comment endpoints for one pull request, over real HTTP."""

    def __init__(self, existing: list[dict] | None = None, refuse: bool = False):
        self.comments = list(existing or [])
        self.refuse = refuse  # answer writes with 403, like a fork's read-only token
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: ANN002
                pass

            def _answer(self, code: int, data) -> None:  # noqa: ANN001
                raw = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _json(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length)) if length else {}

            def do_GET(self):  # noqa: N802
                fake.requests.append(("GET", self.path))
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                page = int(query["page"][0])
                self._answer(200, fake.comments[(page - 1) * 100 : page * 100])

            def do_POST(self):  # noqa: N802
                fake.requests.append(("POST", self.path))
                if fake.refuse:
                    return self._answer(403, {"message": "Resource not accessible by integration"})
                new = {"id": 1000 + len(fake.comments), "body": self._json()["body"]}
                new["html_url"] = f"https://github.com/acme/kb/pull/7#issuecomment-{new['id']}"
                fake.comments.append(new)
                self._answer(201, new)

            def do_PATCH(self):  # noqa: N802
                fake.requests.append(("PATCH", self.path))
                number = int(self.path.rsplit("/", 1)[1])
                comment = next(c for c in fake.comments if c["id"] == number)
                comment["body"] = self._json()["body"]
                self._answer(200, comment)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeComments:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_one_comment_updated_in_place(monkeypatch):
    others = [{"id": i, "body": f"review {i}", "html_url": "u"} for i in range(150)]
    with FakeComments(others) as fake:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", fake.url)
        first = upsert_comment("acme", "kb", 7, f"{MARKER}\nfirst", "t")
        second = upsert_comment("acme", "kb", 7, f"{MARKER}\nsecond", "t")
    assert first.created and not second.created and first.id == second.id
    marked = [c for c in fake.comments if MARKER in c["body"]]
    assert len(marked) == 1 and marked[0]["body"].endswith("second")
    # Both pages of older comments were read before adding one; the update found it on page 2.
    assert [m for m, _ in fake.requests] == ["GET", "GET", "POST", "GET", "GET", "PATCH"]
    with pytest.raises(UsageError, match="marker"):
        upsert_comment("acme", "kb", 7, "no marker", "t")


def test_changed_reports_between_base_and_head(pushed, tmp_path):
    bare, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    git(checkout, "checkout", "-q", "-b", "feature")
    standin_report_build(checkout)
    (checkout / f"experiments/{MATRIX}/results/extra.md").write_text("---\na: 1\n---\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "reports")
    found = changed_reports(Workspace(checkout), "origin/main")
    assert [(r.matrix_id, r.change) for r in found] == [("extra", "added"), (MATRIX, "modified")]
    with pytest.raises(Exception, match="no revision"):
        changed_reports(Workspace(checkout), "origin/nope")


def test_pr_comment_names_the_missing_compare_command(pushed, tmp_path):
    if resolve(["experimentos", "report", "compare"])[1] is not None:
        pytest.skip("report compare exists: the comparison itself is tested with it")
    bare, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    git(checkout, "checkout", "-q", "-b", "feature")
    standin_report_build(checkout)
    git(checkout, "commit", "-qam", "reports")
    with pytest.raises(Exception, match="report compare"):
        pr_comment(Workspace(checkout), "origin/main", None, token="")


def test_comment_body_flags_a_regression():
    from experimentos.ci.comment import Comparison

    report = ChangedReport(path=RESULTS, experiment=MATRIX, matrix_id=MATRIX, change="modified")
    calm = compose_body([Comparison(report=report, markdown="| a |", regression=False)], "main")
    assert calm.startswith(MARKER) and "No significant regression" in calm and "| a |" in calm
    bad = compose_body([Comparison(report=report, markdown="x", regression=True)], "main")
    assert "**A significant regression**" in bad and "(regression)" in bad
    assert "No report" in compose_body([], "origin/main")


# --- the matrix plan ------------------------------------------------------------------------


def test_matrix_plan_from_inputs_and_labels(tmp_path):
    root = make_site_root(tmp_path / "kb")
    plan = plan_matrix(root, experiment=MATRIX, shards="3")
    assert plan.shard_list == [1, 2, 3]
    assert plan_matrix(root, label=f"matrix:{MATRIX}").shards == 2
    assert plan_matrix(root, experiment="", shards="", label=f"matrix:{MATRIX}:4").shards == 4
    assert plan.outputs() == f"experiment={MATRIX}\nshards=3\nshard-list=[1, 2, 3]\n"
    with pytest.raises(UsageError, match="shards must be 1 to 32"):
        plan_matrix(root, experiment=MATRIX, shards="0")
    with pytest.raises(UsageError, match="does not start with"):
        plan_matrix(root, label="run-matrix")
    with pytest.raises(NotFound, match="no matrix.yaml"):
        plan_matrix(root, experiment="child")
    with pytest.raises(NotFound):
        plan_matrix(root, experiment="nope")


def test_pr_comment_posts_once_and_updates_it(pushed, tmp_path, monkeypatch, cli):
    """The whole pr-comment step, with `report compare` stood in for until issue 13 lands it."""
    from experimentos.ci import comment as comment_module
    from experimentos.ci.comment import Comparison

    def standin_compare(workspace, report, base):  # noqa: ANN001
        return Comparison(report=report, markdown=f"| delta | {base} |", regression=False)

    monkeypatch.setattr(comment_module, "compare_report", standin_compare)
    bare, _ = pushed
    checkout = _checkout(bare, tmp_path / "ci")
    git(checkout, "checkout", "-q", "-b", "feature")
    standin_report_build(checkout)
    git(checkout, "commit", "-qam", "reports")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/kb")
    with FakeComments() as fake:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", fake.url)
        for _ in range(2):
            result = cli(checkout, "ci", "pr-comment", "--base", "origin/main", "--pr", "7")
            assert result.exit_code == 0, result.output
    (posted,) = fake.comments
    assert posted["body"].startswith(MARKER) and "| delta | origin/main |" in posted["body"]
    assert [m for m, _ in fake.requests] == ["GET", "POST", "GET", "PATCH"]
    assert "comment updated" in result.stderr
    with FakeComments(refuse=True) as fake:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", fake.url)
        refused = cli(checkout, "ci", "pr-comment", "--base", "origin/main", "--pr", "7", "--json")
    assert refused.exit_code == 1
    assert "403" in json.loads(refused.stdout)["error"]


def test_generated_files_ride_in_a_proposal(tmp_path):
    from experimentos.proposals import GeneratedFile, propose, show_proposal

    from .proposal_helpers import make_repo

    ws = make_repo(tmp_path / "repo")
    report = "experiments/x/results/m.md"
    made = propose(ws, [GeneratedFile(report, b"# m\n")], kind="reports", slug="abc", why="w")
    assert made.pages == [] and [(f.path, f.change) for f in made.files] == [(report, "added")]
    assert f"- added {report}" in made.message
    assert [f.path for f in show_proposal(ws, made.name).other_files] == [report]
    git(ws.root, "merge", "-q", made.name)
    gone = propose(ws, [GeneratedFile(report, None)], kind="reports", slug="def", why="w")
    assert [(f.path, f.change) for f in gone.files] == [(report, "removed")]
    for bad in ("../x.md", "/etc/passwd", "policies/keep-pins.md"):
        with pytest.raises(UsageError):
            propose(ws, [GeneratedFile(bad, b"x")], kind="reports", slug="bad", why="w")
