"""Push a proposal and open its pull request (GitHub REST API), or say how to open one.

The pull request is opened only when GITHUB_TOKEN is set and the remote is on github.com;
EXPERIMENTOS_GITHUB_API overrides the API base (GitHub Enterprise, or a test server). The API
calls go through experimentos.net.github (one deadline, credentials never leave the API's
origin, every form of the token redacted).
"""

from __future__ import annotations

import os
import re
import shlex
import urllib.parse

from experimentos.errors import UsageError, redact
from experimentos.net.github import (
    API_ENV,
    DEFAULT_API,
    TOKEN_ENV,
    GitHubApi,
    GitHubError,
)
from experimentos.proposals.diff import describe
from experimentos.proposals.models import ProposalDetail, PullRequest, PushResult
from experimentos.proposals.review import show_proposal
from experimentos.store import Workspace
from experimentos.store.git import Repo

__all__ = ["API_ENV", "DEFAULT_API", "TOKEN_ENV", "GitHubError", "push_proposal"]

_GITHUB_URL_RES = (
    # https://github.com/owner/repo(.git), with optional user[:password]@
    re.compile(
        r"^(?:https?|git)://(?:[^/@]+@)?(?:www\.)?github\.com(?::\d+)?/([^/]+)/([^/]+?)(?:\.git)?/?$"
    ),
    # ssh://git@github.com/owner/repo(.git)
    re.compile(r"^ssh://(?:[^/@]+@)?github\.com(?::\d+)?/([^/]+)/([^/]+?)(?:\.git)?/?$"),
    # git@github.com:owner/repo(.git)  (scp-like)
    re.compile(r"^(?:[^/@:]+@)?github\.com:/?([^/]+)/([^/]+?)(?:\.git)?/?$"),
)


def github_repo(url: str) -> tuple[str, str] | None:
    """(owner, repo) when a remote URL points at github.com, else None."""
    for pattern in _GITHUB_URL_RES:
        match = pattern.match(url.strip())
        if match:
            return match.group(1), match.group(2)
    return None


def redact_url(url: str) -> str:
    """A URL without the credentials someone may have put into it."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", r"\1", url, flags=re.I)


def push_proposal(workspace: Workspace, name: str, remote: str = "origin") -> PushResult:
    """`git push` the proposal's branch; open a pull request when GitHub and a token allow."""
    detail = show_proposal(workspace, name, with_diff=False)
    repo, _ = Repo.containing(workspace.root)
    url = repo.remote_url(remote)
    branch = detail.name
    # The user's pre-push hook runs: the push is theirs, made in their repository.
    repo.run("push", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}", hooks=True)
    base = _target_branch(detail.base, remote) or _remote_default(repo, remote) or "main"
    github = github_repo(url)
    slug = f"{github[0]}/{github[1]}" if github else None
    command = _gh_command(slug, base, branch)
    result = PushResult(
        name=branch,
        remote=remote,
        remote_url=redact(redact_url(url)),
        base=base,
        commit=detail.commit,
        github=slug,
        command=command,
        compare_url=_compare_url(slug, base, branch) if slug else None,
    )
    token = os.environ.get(TOKEN_ENV, "").strip()
    if github and token:
        try:
            result.pull_request = open_pull_request(
                github[0],
                github[1],
                token,
                title=detail.subject,
                body=pull_request_body(detail),
                head=branch,
                base=base,
            )
        except (GitHubError, UsageError) as exc:
            result.pr_error = redact(str(exc))
    elif github:
        result.pr_skipped = f"{TOKEN_ENV} is not set"
    else:
        result.pr_skipped = "the remote is not on GitHub"
    return result


def pull_request_body(detail: ProposalDetail) -> str:
    """Markdown for the pull request: why, what changed per page, evidence."""
    lines = ["## Why", "", detail.why or "(not stated)", "", "## Changes", ""]
    lines += [f"- {describe(page)}" for page in detail.pages]
    lines += [f"- {f.change} {f.path}" for f in detail.other_files]
    if detail.evidence:
        lines += ["", "## Evidence", ""] + [f"- `{ref}`" for ref in detail.evidence]
    lines += [
        "",
        f"_Proposed with experimentos. `experimentos proposals show {detail.name}` prints the "
        "semantic summary._",
    ]
    return "\n".join(lines) + "\n"


def open_pull_request(
    owner: str,
    repo: str,
    token: str,
    *,
    title: str,
    body: str,
    head: str,
    base: str,
    api: GitHubApi | None = None,
) -> PullRequest:
    """POST /repos/{owner}/{repo}/pulls; an open one for the same branch is returned instead.
    Both requests share one deadline."""
    api = api or GitHubApi(token)
    path = f"/repos/{_quote(owner)}/{_quote(repo)}/pulls"
    payload = {"title": title, "body": body, "head": head, "base": base}
    try:
        data = api.send("POST", path, payload)
        return _pull_request(data, created=True)
    except GitHubError as exc:
        if "already exists" not in str(exc):
            raise
    query = urllib.parse.urlencode({"head": f"{owner}:{head}", "state": "open"})
    found = api.send("GET", f"{path}?{query}")
    if isinstance(found, list) and found:
        return _pull_request(found[0], created=False)
    raise GitHubError(f"GitHub says a pull request for {head} exists, but none is open")


def _pull_request(data: object, created: bool) -> PullRequest:
    if not isinstance(data, dict):
        raise GitHubError("GitHub API: the pull request answer is not an object")
    number, url = data.get("number"), data.get("html_url")
    if not isinstance(number, int) or isinstance(number, bool) or not isinstance(url, str):
        raise GitHubError("GitHub API: the pull request answer has no number and html_url")
    return PullRequest(number=number, url=url, created=created)


def _target_branch(base: str | None, remote: str) -> str | None:
    """The base branch's name on the remote (`origin/main` -> `main`)."""
    if not base:
        return None
    return base.removeprefix(f"{remote}/")


def _remote_default(repo: Repo, remote: str) -> str | None:
    head = repo.run(
        "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD", check=False
    )
    name = head.stdout.decode().strip()
    return name.removeprefix(f"{remote}/") or None


def _gh_command(slug: str | None, base: str, branch: str) -> str:
    repo_arg = ["--repo", slug] if slug else []
    args = ["gh", "pr", "create", *repo_arg, "--base", base, "--head", branch, "--fill"]
    return shlex.join(args)


def _compare_url(slug: str, base: str, branch: str) -> str:
    return f"https://github.com/{slug}/compare/{_quote(base, '/')}...{_quote(branch, '/')}?expand=1"


def _quote(part: str, safe: str = "") -> str:
    return urllib.parse.quote(part, safe=safe)
