"""Push a proposal and open its pull request (GitHub REST API), or say how to open one.

The pull request is opened only when GITHUB_TOKEN is set and the remote is on github.com;
EXPERIMENTOS_GITHUB_API overrides the API base (GitHub Enterprise, or a test server).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import urllib.error
import urllib.parse
import urllib.request

from experimentos.errors import redact
from experimentos.proposals.diff import describe
from experimentos.proposals.models import ProposalDetail, PullRequest, PushResult
from experimentos.proposals.review import show_proposal
from experimentos.store import Workspace
from experimentos.store.git import Repo

API_ENV = "EXPERIMENTOS_GITHUB_API"
TOKEN_ENV = "GITHUB_TOKEN"
DEFAULT_API = "https://api.github.com"
_TIMEOUT = 30

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


class GitHubError(Exception):
    """The GitHub API refused or could not be reached (the message never holds the token:
    an API that echoes the request's Authorization header is redacted here)."""

    def __init__(self, message: str):
        super().__init__(redact(message))


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
        except GitHubError as exc:
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
    owner: str, repo: str, token: str, *, title: str, body: str, head: str, base: str
) -> PullRequest:
    """POST /repos/{owner}/{repo}/pulls; an open one for the same branch is returned instead."""
    path = f"/repos/{_quote(owner)}/{_quote(repo)}/pulls"
    payload = {"title": title, "body": body, "head": head, "base": base}
    try:
        data = _request("POST", path, token, payload)
        return PullRequest(number=data["number"], url=data["html_url"], created=True)
    except GitHubError as exc:
        if "already exists" not in str(exc):
            raise
    query = urllib.parse.urlencode({"head": f"{owner}:{head}", "state": "open"})
    found = _request("GET", f"{path}?{query}", token)
    if isinstance(found, list) and found:
        return PullRequest(number=found[0]["number"], url=found[0]["html_url"], created=False)
    raise GitHubError(f"GitHub says a pull request for {head} exists, but none is open")


def _request(method: str, path: str, token: str, payload: dict | None = None):  # noqa: ANN202
    api = os.environ.get(API_ENV, "").strip() or DEFAULT_API
    request = urllib.request.Request(
        api.rstrip("/") + path,
        method=method,
        data=json.dumps(payload).encode("utf-8") if payload is not None else None,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "User-Agent": "experimentos",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            raw = response.read()
            # 204 No Content (a workflow dispatch, a deletion) has no body to read.
            return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except urllib.error.HTTPError as exc:
        raise GitHubError(f"GitHub API {method} {path}: {exc.code} {_api_message(exc)}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GitHubError(f"GitHub API at {api} unreachable: {reason}") from None
    except ValueError:
        raise GitHubError(f"GitHub API {method} {path}: the answer is not JSON") from None


def _api_message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read().decode("utf-8"))
    except (ValueError, OSError):
        return exc.reason or ""
    parts = [str(data.get("message", ""))]
    for error in data.get("errors") or []:
        parts.append(str(error.get("message", error)) if isinstance(error, dict) else str(error))
    return "; ".join(p for p in parts if p)


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
