"""Generated files (reports, merged runs) onto a branch and a pull request: what CI calls.

Three steps, one per way numbers reach a branch (docs/ci-github.md, "The results loop"):

- `sync_reports` (check.yml, a pull request from this repository): `report build`, and when a
  report changed, one commit with exactly the regenerated reports pushed onto the pull
  request's own branch, so what merges is consistent;
- `publish_reports` (reports.yml, a push to the default branch): the regenerated reports on ONE
  branch per base, `xos/reports/<base>`, rebuilt from the current base on every run (replaced
  only if nobody pushed to it meanwhile) and ONE pull request, opened once and then updated in
  place; closed when the base's reports are right again;
- `publish_results` (matrix.yml): the merged runs, the rebuilt reports and, for a top-up, the
  raised spec on `xos/results/<experiment>-<label>`, with the numbers in the pull request body.

CI never pushes to the default branch. A pull request opened or a branch pushed with the
workflow's GITHUB_TOKEN starts no workflow: then the checks are dispatched on the branch
(`workflow_dispatch`) and a pending commit status shows on the pull request until the
dispatched run reports its result. With an app or personal token (XOS_BOT_TOKEN) GitHub
starts them itself.
"""

from __future__ import annotations

import contextlib
import os

from pydantic import BaseModel, Field

from experimentos.ci import github
from experimentos.ci.commit import commit_files, push_commit, remote_head
from experimentos.ci.github import PullRef, Repository
from experimentos.ci.numbers import Links, MatrixNumbers, matrix_numbers, render_numbers
from experimentos.errors import GitError, NotFound, UsageError
from experimentos.markdown import escape
from experimentos.proposals.push import GitHubError, github_repo
from experimentos.store import Workspace
from experimentos.store.git import Repo
from experimentos.store.lab_paths import EXPERIMENTS_DIR, experiment_slug

RESULTS_GLOB = f"{EXPERIMENTS_DIR}/*/results/**"
MATRIX_MARKER = "<!-- experimentos:matrix:{slug} -->"


class Published(BaseModel):
    """What a publish step did."""

    changed: list[str] = Field(default_factory=list, description="root-relative, sorted")
    branch: str | None = None
    base: str | None = None
    commit: str | None = None
    pushed: bool = False
    up_to_date: bool = Field(default=False, description="the branch already had these files")
    pull_request: PullRef | None = None
    closed: int | None = Field(default=None, description="a pull request closed: nothing to do")
    dispatched: list[str] = Field(default_factory=list, description="workflows dispatched")
    pr_error: str | None = None
    pr_skipped: str | None = None
    command: str | None = Field(default=None, description="opens the pull request by hand")
    body: str = ""
    numbers: list[MatrixNumbers] = Field(default_factory=list)
    note: str = ""


def changed_files(workspace: Workspace, pathspecs: list[str]) -> list[str]:
    """Root-relative files under `pathspecs` (globs, root-relative) whose working-tree content
    differs from HEAD: modified, removed, and new (untracked) ones."""
    repo, prefix = Repo.containing(workspace.root)
    specs = [f":(glob){prefix + '/' if prefix else ''}{spec}" for spec in pathspecs]
    out = repo.run(
        "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", *specs
    ).stdout.decode("utf-8", "surrogateescape")
    found = []
    for entry in filter(None, out.split("\0")):
        path = entry[3:]
        rel = path[len(prefix) + 1 :] if prefix else path
        found.append(rel)
    return sorted(set(found))


def _check_sha(sha: str) -> str:
    sha = sha.strip().lower()
    if not sha or not all(c in "0123456789abcdef" for c in sha) or len(sha) > 64:
        raise UsageError(f"{sha!r} is not a commit hash", field="sha")
    return sha


def _where(workspace: Workspace, remote: str) -> tuple[Repo, str, Repository | None]:
    repo, prefix = Repo.containing(workspace.root)
    found = github_repo(repo.remote_url(remote))
    return repo, prefix, Repository(*found) if found else None


def _base_name(repo: Repo, base: str | None) -> str:
    name = (base or repo.current_branch() or "").removeprefix("refs/heads/")
    if not name:
        raise UsageError("name the base branch (--base): HEAD is detached", field="base")
    return name


def _experiments(paths: list[str]) -> list[str]:
    return sorted({p.split("/")[1] for p in paths if p.startswith(f"{EXPERIMENTS_DIR}/")})


def _report_pairs(paths: list[str]) -> set[tuple[str, str]]:
    return {
        (p.split("/")[1], p.rsplit("/", 1)[1].removesuffix(".md"))
        for p in paths
        if "/results/" in p and p.endswith(".md")
    }


def _same_tree(repo: Repo, a: str, b: str) -> bool:
    tree = repo.run("rev-parse", f"{a}^{{tree}}", f"{b}^{{tree}}", check=False).stdout.split()
    return len(tree) == 2 and tree[0] == tree[1]


def _dispatch(
    result: Published,
    repo_gh: Repository,
    tok: str,
    workflows: list[str],
    inputs: dict[str, str],
    run_url: str | None,
) -> None:
    """Start the checks of a branch pushed with GITHUB_TOKEN (GitHub starts none itself):
    each `WORKFLOW[:STATUS]` is dispatched on the branch, and its commit status (default: the
    file's stem; the name of the job a pull request would show) set pending until the
    dispatched run reports its result."""
    if not workflows or github.bot_token() or result.commit is None or result.branch is None:
        return
    for item in workflows:
        workflow, _, context = item.partition(":")
        github.set_status(
            repo_gh,
            result.commit,
            "pending",
            tok,
            context=context or workflow.rsplit(".", 1)[0],
            description=f"{workflow} dispatched on this branch",
            target_url=run_url,
        )
        github.dispatch(repo_gh, workflow, result.branch, inputs, tok)
        result.dispatched.append(workflow)


def _open_pull(
    result: Published, repo_gh: Repository | None, title: str, dispatch: list[str], run_url: str
) -> None:
    """The pull request of `result.branch` (opened or updated), then its checks."""
    tok = github.token()
    if repo_gh is None:
        result.pr_skipped = "the remote is not on GitHub"
    elif tok is None:
        result.pr_skipped = f"{github.BOT_TOKEN_ENV} and GITHUB_TOKEN are not set"
    if result.pr_skipped:
        result.command = (
            f"gh pr create --base {result.base} --head {result.branch} --title '{title}'"
        )
        return
    try:
        result.pull_request = github.open_or_update_pull(
            repo_gh, tok, head=result.branch, base=result.base, title=title, body=result.body
        )
        inputs = {"pr": str(result.pull_request.number), "base": result.base or ""}
        _dispatch(result, repo_gh, tok, dispatch, inputs, run_url or None)
    except GitHubError as exc:
        result.pr_error = str(exc)


def _push(
    workspace: Workspace, result: Published, remote: str, replace: bool, base_commit: str
) -> None:
    repo, _ = Repo.containing(workspace.root)
    if replace:
        old = remote_head(workspace, remote, result.branch)
        if (
            old is not None
            and repo.commit_of(old) is not None
            and repo.text("rev-parse", f"{old}^") == base_commit
            and _same_tree(repo, old, result.commit)
        ):
            result.commit, result.up_to_date = old, True
            return
        push_commit(workspace, remote, result.commit, result.branch, replace=old)
    else:
        push_commit(workspace, remote, result.commit, result.branch)
    result.pushed = True


def _run_url() -> str:
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    repo, run = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_RUN_ID")
    return f"{server}/{repo}/actions/runs/{run}" if repo and run else ""


# --- the three steps ----------------------------------------------------------------------------


def sync_reports(
    workspace: Workspace,
    *,
    branch: str,
    base: str | None = None,
    pr: int | None = None,
    remote: str = "origin",
    push: bool = True,
    dispatch: tuple[str, ...] = (),
) -> Published:
    """`report build`, then the changed reports as one commit on the pull request's branch
    (checked out at HEAD); its checks dispatched when pushed with GITHUB_TOKEN."""
    from experimentos.reports.build import build_reports

    repo, _, repo_gh = _where(workspace, remote)
    build_reports(workspace)
    result = Published(changed=changed_files(workspace, [RESULTS_GLOB]), branch=branch, base=base)
    if not result.changed:
        result.note = "the committed reports match the run records: nothing to push"
        return result
    head = repo.commit_of("HEAD")
    if head is None:
        raise GitError("HEAD names no commit", field="branch")
    made = commit_files(
        workspace,
        head,
        result.changed,
        kind="reports",
        slug=branch.replace("/", "-"),
        why="Reports regenerated by `experimentos report build` from this branch's run records.",
        base=branch,
    )
    result.commit = made.commit if made else None
    if made is None or not push:
        result.note = "committed, not pushed" if made else "nothing to commit"
        return result
    _push(workspace, result, remote, replace=False, base_commit=head)
    result.note = f"pushed the regenerated reports onto {branch}"
    tok = github.token()
    if repo_gh is not None and tok is not None and pr is not None:
        try:
            inputs = {"pr": str(pr), "base": base or ""}
            _dispatch(result, repo_gh, tok, list(dispatch), inputs, _run_url() or None)
        except GitHubError as exc:
            result.pr_error = str(exc)
    return result


def publish_reports(
    workspace: Workspace,
    sha: str,
    *,
    base: str | None = None,
    remote: str = "origin",
    push: bool = True,
    dispatch: tuple[str, ...] = (),
) -> Published:
    """After `report build` on the default branch at `sha`: the changed reports on
    `xos/reports/<base>` and its one pull request (opened, or updated in place)."""
    sha = _check_sha(sha)
    repo, prefix, repo_gh = _where(workspace, remote)
    base_commit = repo.commit_of(sha)
    if base_commit is None:
        raise GitError(f"no commit {sha}", field="sha")
    name = _base_name(repo, base)
    result = Published(
        changed=changed_files(workspace, [RESULTS_GLOB]), branch=f"xos/reports/{name}", base=name
    )
    title = f"xos: reports of {name} regenerated"
    tok = github.token()
    if not result.changed:
        result.note = "nothing changed: the reports match the run records"
        if push and repo_gh is not None and tok is not None:
            try:
                stale = github.find_open_pull(repo_gh, result.branch, tok)
                if stale is not None:
                    why = (
                        f"The reports on {escape.code(name)} at {sha} match the run records again."
                    )
                    github.close_pull(repo_gh, stale.number, tok, why)
                    result.closed = stale.number
            except GitHubError as exc:
                result.pr_error = str(exc)
        return result
    made = commit_files(
        workspace,
        base_commit,
        result.changed,
        kind="reports",
        slug=name,
        why=f"Reports regenerated by `experimentos report build` from the run records at {sha}.",
        base=name,
    )
    result.commit = made.commit if made else None
    links = Links(repo_gh, result.branch, prefix, _site(repo_gh, tok))
    result.numbers = matrix_numbers(
        workspace, _experiments(result.changed), sha, links, only=_report_pairs(result.changed)
    )
    result.body = _body(
        f"The run records on {escape.code(name)} at {sha} no longer produce the committed "
        "reports. This pull request holds exactly the regenerated reports; it is the one "
        f"reports pull request of {escape.code(name)}, updated in place while the reports keep "
        "changing.",
        result,
        name,
    )
    if not push:
        repo.run("update-ref", f"refs/heads/{result.branch}", result.commit)
        result.note = f"branch {result.branch} made locally; not pushed"
        return result
    _push(workspace, result, remote, replace=True, base_commit=base_commit)
    _open_pull(result, repo_gh, title, list(dispatch), _run_url())
    return result


def publish_results(
    workspace: Workspace,
    experiment: str,
    label: str,
    *,
    base: str | None = None,
    remote: str = "origin",
    push: bool = True,
    repeats: int | str | None = None,
    pr: int | None = None,
    dispatch: tuple[str, ...] = (),
) -> Published:
    """After `matrix merge`: for a top-up the spec raised to `repeats`, the experiment's reports
    rebuilt, and its new runs, reports and spec on xos/results/<experiment>-<label>, with the
    numbers in the pull request body; the labelled pull request `pr` is told what happened."""
    from experimentos.matrix.topup import check_repeats, raise_repeats
    from experimentos.reports.build import build_reports

    slug = experiment_slug(experiment)
    repo, prefix, repo_gh = _where(workspace, remote)
    repeats = check_repeats(repeats)
    raised = raise_repeats(workspace.root, slug, repeats) if repeats else None
    with contextlib.suppress(NotFound):  # no runs at all: nothing to report, said below
        build_reports(workspace, [slug])
    name = _base_name(repo, base)
    paths = changed_files(
        workspace,
        [
            f"{EXPERIMENTS_DIR}/{slug}/runs/**",
            f"{EXPERIMENTS_DIR}/{slug}/results/**",
            f"{EXPERIMENTS_DIR}/{slug}/matrix.yaml",
        ],
    )
    result = Published(changed=paths, branch=f"xos/results/{slug}-{label}", base=name)
    runs = sum(1 for p in paths if p.endswith(".md") and "/runs/" in p)
    tok = github.token()
    if paths:
        head = repo.commit_of("HEAD")
        why = f"Matrix results of {slug}: {runs} run record(s) and the reports built from them."
        if raised:
            why += f" The spec's repeats go from {raised[0]} to {raised[1]}."
        made = commit_files(
            workspace, head, paths, kind="results", slug=f"{slug}-{label}", why=why, base=name
        )
        result.commit = made.commit if made else None
        links = Links(repo_gh, result.branch, prefix, _site(repo_gh, tok))
        result.numbers = matrix_numbers(workspace, [slug], "HEAD", links)
        result.body = _body(why, result, name)
        if push and made is not None:
            _push(workspace, result, remote, replace=True, base_commit=head)
            _open_pull(result, repo_gh, f"xos: results of {slug}", list(dispatch), _run_url())
        elif made is not None:
            repo.run("update-ref", f"refs/heads/{result.branch}", result.commit)
    done = (
        f"{runs} new run record(s) in {result.pull_request.url}"
        if result.pull_request
        else f"{runs} new run record(s) on {result.branch}"
        if paths
        else (
            f"nothing to run: every cell already has {repeats} finished repeat(s); nothing changed"
            if repeats
            else "nothing changed: no new runs"
        )
    )
    result.note = done
    if pr is not None and push and repo_gh is not None and tok is not None:
        marker = MATRIX_MARKER.format(slug=slug)
        lines = [
            marker,
            f"**Matrix {escape.code(slug)}**" + (f", up to {repeats} repeats" if repeats else ""),
        ]
        lines += ["", done, ""]
        if result.numbers:
            lines += [render_numbers(result.numbers, name)]
        try:
            github.upsert_comment(repo_gh, pr, "\n".join(lines), tok, marker)
        except GitHubError as exc:
            result.pr_error = result.pr_error or str(exc)
    return result


def _site(repo_gh: Repository | None, tok: str | None) -> str | None:
    return github.site_url(repo_gh, tok) if repo_gh is not None and tok else None


def _body(why: str, result: Published, base: str) -> str:
    lines = ["## Why", "", why, "", "## The numbers", ""]
    lines.append(render_numbers(result.numbers, base) or "_No matrix report changed._")
    lines += ["", "## Files", ""] + [f"- {escape.code(p)}" for p in result.changed[:200]]
    if len(result.changed) > 200:
        lines.append(f"- … and {len(result.changed) - 200} more")
    lines += [
        "",
        "_Published by `experimentos ci`; the checks of this branch run on every update._",
    ]
    return github.clip("\n".join(lines) + "\n")
