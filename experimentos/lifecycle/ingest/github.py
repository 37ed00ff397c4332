"""Fetch an issue and its comments from the GitHub REST API.

The token comes from the environment (GITHUB_TOKEN, else GH_TOKEN) and is only ever sent in the
Authorization header of requests to the API base's origin (EXPERIMENTOS_GITHUB_API overrides
it, as for proposals): a pagination link outside the API base and a redirect to another origin
are refused, and no error message holds the token (experimentos.net.github). The whole fetch,
the issue and every comment page, runs under one deadline (`deadline` seconds, else
EXPERIMENTOS_GITHUB_DEADLINE, else 120).
"""

from __future__ import annotations

import re
from typing import Any

from experimentos.errors import UsageError
from experimentos.lifecycle.ingest.thread import Thread, parse_payload
from experimentos.net.github import (
    TOKEN_ENVS,
    GitHubApi,
    GitHubError,
    deadline_from_env,
    quote,
    token_from_env,
)

MAX_COMMENT_PAGES = 50  # 5,000 comments; threads longer than that are not advice threads
_REF_RE = re.compile(
    r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]{1,100})#(?P<n>\d{1,9})$"
)

__all__ = ["TOKEN_ENVS", "fetch_issue", "parse_issue_ref", "token_from_env"]


def parse_issue_ref(text: str) -> tuple[str, str, int]:
    """`OWNER/REPO#N` (or an issue URL on github.com) -> (owner, repo, number)."""
    text = text.strip()
    url = re.match(r"^https?://github\.com/([^/]+)/([^/]+)/(?:issues|pull)/(\d+)/?$", text)
    if url:
        text = f"{url.group(1)}/{url.group(2)}#{url.group(3)}"
    match = _REF_RE.match(text)
    if not match or match["repo"] in (".", "..") or int(match["n"]) < 1:
        raise UsageError(
            f"{text[:200]!r} is not an issue reference (expected OWNER/REPO#N)", field="fetch"
        )
    return match["owner"], match["repo"], int(match["n"])


def fetch_issue(ref: str, token: str | None = None, deadline: float | None = None) -> Thread:
    """The thread `OWNER/REPO#N` from the GitHub REST API (issue, then every comment page),
    all within one deadline of `deadline` seconds (default: EXPERIMENTOS_GITHUB_DEADLINE, else
    120)."""
    owner, repo, number = parse_issue_ref(ref)
    token = token or token_from_env()
    if not token:
        raise UsageError(
            f"--fetch needs a GitHub token in {' or '.join(TOKEN_ENVS)}; or save the thread "
            f"with `gh issue view {number} --repo {owner}/{repo} --json "
            "title,body,comments,url,createdAt,labels,state` and pass the file",
            field="fetch",
        )
    api = GitHubApi(token, deadline=deadline_from_env(deadline))
    base = f"/repos/{quote(owner)}/{quote(repo)}/issues/{number}"
    try:
        issue, _ = api.get(base)
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
            batch, url = api.get(url)
            if not isinstance(batch, list):
                raise GitHubError(f"GitHub API {base}/comments: expected a list of comments")
            comments.extend(batch)
    except GitHubError as exc:
        raise UsageError(str(exc), field="fetch") from None
    return parse_payload({"issue": issue, "comments": comments}, f"{owner}/{repo}#{number}")
