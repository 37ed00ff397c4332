"""Fetch an issue and its comments from the GitHub REST API.

The token comes from the environment (GITHUB_TOKEN, else GH_TOKEN) and is only ever sent in the
Authorization header of requests to the API base (EXPERIMENTOS_GITHUB_API overrides it, as for
proposals): a pagination link that points elsewhere is refused, and no error message holds it.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from experimentos.errors import UsageError
from experimentos.lifecycle.ingest.thread import MAX_PAYLOAD_BYTES, Thread, parse_payload
from experimentos.proposals.push import API_ENV, DEFAULT_API, TOKEN_ENV, GitHubError

TOKEN_ENVS = (TOKEN_ENV, "GH_TOKEN")
MAX_COMMENT_PAGES = 50  # 5,000 comments; threads longer than that are not advice threads
_TIMEOUT = 30
_REF_RE = re.compile(
    r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]{1,100})#(?P<n>\d{1,9})$"
)
_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def parse_issue_ref(text: str) -> tuple[str, str, int]:
    """`OWNER/REPO#N` (or an issue URL on github.com) -> (owner, repo, number)."""
    text = text.strip()
    url = re.match(r"^https?://github\.com/([^/]+)/([^/]+)/(?:issues|pull)/(\d+)/?$", text)
    if url:
        text = f"{url.group(1)}/{url.group(2)}#{url.group(3)}"
    match = _REF_RE.match(text)
    if not match or match["repo"] in (".", ".."):
        raise UsageError(
            f"{text!r} is not an issue reference (expected OWNER/REPO#N)", field="fetch"
        )
    return match["owner"], match["repo"], int(match["n"])


def token_from_env() -> str | None:
    for name in TOKEN_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def fetch_issue(ref: str, token: str | None = None) -> Thread:
    """The thread `OWNER/REPO#N` from the GitHub REST API (issue, then every comment page)."""
    owner, repo, number = parse_issue_ref(ref)
    token = token or token_from_env()
    if not token:
        raise UsageError(
            f"--fetch needs a GitHub token in {' or '.join(TOKEN_ENVS)}; or save the thread "
            f"with `gh issue view {number} --repo {owner}/{repo} --json "
            "title,body,comments,url,createdAt,labels,state` and pass the file",
            field="fetch",
        )
    api = (os.environ.get(API_ENV, "").strip() or DEFAULT_API).rstrip("/")
    base = f"{api}/repos/{_quote(owner)}/{_quote(repo)}/issues/{number}"
    try:
        issue, _ = _get(base, token, api)
        comments: list[Any] = []
        url: str | None = f"{base}/comments?per_page=100"
        pages = 0
        while url:
            pages += 1
            if pages > MAX_COMMENT_PAGES:
                raise GitHubError(
                    f"{owner}/{repo}#{number} has more than "
                    f"{MAX_COMMENT_PAGES * 100} comments; not fetched"
                )
            batch, url = _get(url, token, api)
            if not isinstance(batch, list):
                raise GitHubError(f"GitHub API {url}: expected a list of comments")
            comments.extend(batch)
    except GitHubError as exc:
        raise UsageError(str(exc), field="fetch") from None
    return parse_payload({"issue": issue, "comments": comments}, f"{owner}/{repo}#{number}")


MAX_COLLABORATOR_PAGES = 10


def fetch_collaborators(ref: str, token: str | None = None) -> set[str] | None:
    """The logins of the repository's collaborators (owners, members with access, outside
    collaborators), or None when the API will not list them: listing needs push access, which
    most tokens do not have; the issue's own `author_association` still says who is who."""
    owner, repo, _ = parse_issue_ref(ref)
    token = token or token_from_env()
    if not token:
        return None
    api = (os.environ.get(API_ENV, "").strip() or DEFAULT_API).rstrip("/")
    url: str | None = f"{api}/repos/{_quote(owner)}/{_quote(repo)}/collaborators?per_page=100"
    logins: set[str] = set()
    try:
        for _ in range(MAX_COLLABORATOR_PAGES):
            if url is None:
                return logins
            batch, url = _get(url, token, api)
            if not isinstance(batch, list):
                return None
            logins |= {u["login"] for u in batch if isinstance(u, dict) and "login" in u}
    except GitHubError:
        return None  # 403 without push access, 404 for a private repository: not known
    return logins


def _get(url: str, token: str, api: str) -> tuple[Any, str | None]:
    """GET a JSON document; (data, the next page's URL or None)."""
    if not url.startswith(api + "/"):
        raise GitHubError(f"refusing to follow a link outside {api}: {url}")
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "experimentos",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    path = url[len(api) :]
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            raw = response.read(MAX_PAYLOAD_BYTES + 1)
            link = response.headers.get("Link", "")
    except urllib.error.HTTPError as exc:
        message = _error_message(exc)
        raise GitHubError(f"GitHub API GET {path}: {exc.code} {message}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GitHubError(f"GitHub API at {api} unreachable: {reason}") from None
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise GitHubError(f"GitHub API GET {path}: answer larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise GitHubError(f"GitHub API GET {path}: the answer is not JSON") from None
    match = _NEXT_RE.search(link)
    return data, match.group(1) if match else None


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read().decode("utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        return exc.reason or ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
