"""The few GitHub REST calls the workflows' steps make, over experimentos.net.github's client
(credentials never leave the API's origin; one deadline per task).

Tokens: `XOS_BOT_TOKEN` (a GitHub App or personal access token, when the repository configured
one) is preferred over the workflow's `GITHUB_TOKEN`. Pushes and pull requests made with a
bot token start workflows as usual; those made with `GITHUB_TOKEN` start none (a GitHub rule
against loops), so the steps then dispatch the checks themselves (`workflow_dispatch` is one of
the two events a GITHUB_TOKEN may trigger) and mirror their result as a commit status.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from pydantic import BaseModel

from experimentos.errors import UsageError
from experimentos.net.github import TOKEN_ENV, GitHubApi, GitHubError

BOT_TOKEN_ENV = "XOS_BOT_TOKEN"
COMMENT_LIMIT = 65_536  # GitHub refuses a comment or pull-request body longer than this
_PER_PAGE = 100
_MAX_PAGES = 50
STATE_OF_RESULT = {"success": "success", "failure": "failure", "cancelled": "error"}


def request(method: str, path: str, tok: str, payload: dict | None = None, *, api=None):  # noqa: ANN001, ANN201
    """One API call: its decoded answer (None for 204). GitHubError on any failure."""
    return (api or GitHubApi(tok)).send(method, path, payload)


def _id(data: object) -> int:
    value = data.get("id") if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GitHubError("GitHub API: an answer without a numeric id")
    return value


def bot_token() -> str | None:
    """The app/PAT token when one is configured (pushes with it start workflows)."""
    return os.environ.get(BOT_TOKEN_ENV, "").strip() or None


def token() -> str | None:
    """The token API calls use: the bot's when configured, else GITHUB_TOKEN."""
    return bot_token() or os.environ.get(TOKEN_ENV, "").strip() or None


@dataclass(frozen=True)
class Repository:
    """owner/repo on GitHub."""

    owner: str
    name: str

    @classmethod
    def parse(cls, text: str | None) -> Repository:
        text = (text or os.environ.get("GITHUB_REPOSITORY", "")).strip()
        owner, _, name = text.partition("/")
        if not owner or not name or "/" in name:
            raise UsageError(f"{text!r} is not owner/repo", field="repository")
        return cls(owner, name)

    @property
    def path(self) -> str:
        quote = urllib.parse.quote
        return f"/repos/{quote(self.owner, safe='')}/{quote(self.name, safe='')}"

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"

    def url(self, *parts: str) -> str:
        """A github.com page of this repository."""
        tail = "/".join(urllib.parse.quote(p, safe="/") for p in parts)
        return f"https://github.com/{self.slug}" + (f"/{tail}" if tail else "")


class PullRef(BaseModel):
    number: int
    url: str
    head: str
    head_sha: str | None = None
    created: bool = False
    updated: bool = False


def _pull(data: object) -> PullRef:
    number = data.get("number") if isinstance(data, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise GitHubError("GitHub API: the pull request answer has no number")
    head = data.get("head") if isinstance(data.get("head"), dict) else {}
    return PullRef(
        number=number,
        url=str(data.get("html_url") or ""),
        head=str(head.get("ref") or ""),
        head_sha=head.get("sha"),
    )


def find_open_pull(repo: Repository, head: str, tok: str) -> PullRef | None:
    """The open pull request whose head is `head` (a branch of this repository)."""
    query = urllib.parse.urlencode({"head": f"{repo.owner}:{head}", "state": "open"})
    found = request("GET", f"{repo.path}/pulls?{query}", tok)
    if not isinstance(found, list):
        raise GitHubError("GitHub API: the pull request list is not a list")
    return _pull(found[0]) if found else None


def get_pull(repo: Repository, number: int, tok: str) -> PullRef:
    data = request("GET", f"{repo.path}/pulls/{int(number)}", tok)
    if not isinstance(data, dict) or "number" not in data:
        raise GitHubError(f"GitHub API: pull request {number} is not a pull request")
    return _pull(data)


def open_or_update_pull(
    repo: Repository, tok: str, *, head: str, base: str, title: str, body: str
) -> PullRef:
    """The one open pull request for `head`: its title and body updated in place when it
    exists, else opened. Re-running a workflow never opens a second one."""
    body = clip(body)
    existing = find_open_pull(repo, head, tok)
    if existing is not None:
        data = request(
            "PATCH", f"{repo.path}/pulls/{existing.number}", tok, {"title": title, "body": body}
        )
        return _pull(data).model_copy(update={"updated": True, "head": head})
    payload = {"title": title, "body": body, "head": head, "base": base}
    data = request("POST", f"{repo.path}/pulls", tok, payload)
    return _pull(data).model_copy(update={"created": True, "head": head})


def close_pull(repo: Repository, number: int, tok: str, why: str) -> None:
    """Close a pull request that has nothing left to do, saying why."""
    request("POST", f"{repo.path}/issues/{int(number)}/comments", tok, {"body": why})
    request("PATCH", f"{repo.path}/pulls/{int(number)}", tok, {"state": "closed"})


def dispatch(repo: Repository, workflow: str, ref: str, inputs: dict[str, str], tok: str) -> None:
    """Run `workflow` (a file name under .github/workflows/) on `ref` (workflow_dispatch)."""
    name = urllib.parse.quote(workflow, safe="")
    payload = {"ref": ref, "inputs": {k: str(v) for k, v in inputs.items()}}
    request("POST", f"{repo.path}/actions/workflows/{name}/dispatches", tok, payload)


def set_status(
    repo: Repository,
    sha: str,
    state: str,
    tok: str,
    *,
    context: str,
    description: str,
    target_url: str | None = None,
) -> None:
    """A commit status: how a dispatched check shows on the pull request of that commit."""
    if state not in ("pending", "success", "failure", "error"):
        raise UsageError(f"unknown status state {state!r}", field="state")
    payload = {"state": state, "context": context, "description": description[:140]}
    if target_url:
        payload["target_url"] = target_url
    request("POST", f"{repo.path}/statuses/{sha}", tok, payload)


def site_url(repo: Repository, tok: str) -> str | None:
    """The GitHub Pages URL of the repository, or None when it has no site (or we may not
    ask)."""
    try:
        data = request("GET", f"{repo.path}/pages", tok)
    except GitHubError:
        return None
    url = data.get("html_url") if isinstance(data, dict) else None
    return str(url) if url and str(url).startswith("https://") else None


def upsert_comment(
    repo: Repository, number: int, body: str, tok: str, marker: str
) -> tuple[int, str, bool]:
    """Edit the comment of pull request `number` that carries `marker`, or add it: (id, url,
    created)."""
    if marker not in body:
        raise UsageError("the comment body must carry the marker", field="body")
    body = clip(body)
    api = GitHubApi(tok)  # one deadline for the whole search and the edit
    for page in range(1, _MAX_PAGES + 1):
        query = urllib.parse.urlencode({"per_page": _PER_PAGE, "page": page})
        path = f"{repo.path}/issues/{int(number)}/comments?{query}"
        comments = request("GET", path, tok, api=api)
        if not isinstance(comments, list):
            raise GitHubError("GitHub API: the comment list is not a list")
        for comment in comments:
            if isinstance(comment, dict) and marker in str(comment.get("body") or ""):
                edit = f"{repo.path}/issues/comments/{_id(comment)}"
                return _comment(request("PATCH", edit, tok, {"body": body}, api=api), False)
        if len(comments) < _PER_PAGE:
            break
    post = f"{repo.path}/issues/{int(number)}/comments"
    new = request("POST", post, tok, {"body": body}, api=api)
    return _comment(new, True)


def _comment(data: object, created: bool) -> tuple[int, str, bool]:
    url = data.get("html_url") if isinstance(data, dict) else None
    if not isinstance(url, str):
        raise GitHubError("GitHub API: the comment answer has no html_url")
    return _id(data), url, created


def clip(body: str, limit: int = COMMENT_LIMIT) -> str:
    """A body GitHub accepts: cut at a line end below the limit, saying it was cut."""
    if len(body) <= limit:
        return body
    note = "\n\n_(cut: longer than GitHub's 65,536-character limit)_\n"
    head = body[: limit - len(note)]
    head = head[: head.rfind("\n")] if "\n" in head else head
    return head + note
