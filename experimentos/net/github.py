"""The GitHub REST API: every outbound GitHub call (issue fetch, pull requests, PR comments).

The token comes from the caller or the environment (GITHUB_TOKEN, else GH_TOKEN), stripped of
the whitespace a `.env` file or `echo` leaves; it is sent only in the Authorization header of
requests to the API base's origin (EXPERIMENTOS_GITHUB_API overrides https://api.github.com:
GitHub Enterprise, or a test server) and never over plain http except to this machine. Every
form of it (as set, stripped, URL-encoded) is redacted from every message. One `GitHubApi`
serves one task under one deadline (EXPERIMENTOS_GITHUB_DEADLINE seconds, default 120).
"""

from __future__ import annotations

import http
import json
import os
import re
import urllib.parse
from typing import Any

from experimentos.errors import UsageError, add_secret, redact
from experimentos.net.http import Deadline, FetchError, is_loopback, origin, request
from experimentos.store.parse import JsonError, load_json

API_ENV = "EXPERIMENTOS_GITHUB_API"
TOKEN_ENV = "GITHUB_TOKEN"
TOKEN_ENVS = (TOKEN_ENV, "GH_TOKEN")
DEADLINE_ENV = "EXPERIMENTOS_GITHUB_DEADLINE"
DEFAULT_API = "https://api.github.com"
DEFAULT_DEADLINE = 120.0
MAX_ANSWER_BYTES = 20 * 1024 * 1024
_ERROR_BYTES = 64 * 1024
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: what a header value can carry
_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(Exception):
    """The GitHub API refused or could not be reached (the message never holds the token:
    an API that echoes the request's Authorization header is redacted here)."""

    def __init__(self, message: str):
        super().__init__(redact(message))


def token_from_env() -> str | None:
    """The first of GITHUB_TOKEN, GH_TOKEN that holds more than whitespace, stripped."""
    for name in TOKEN_ENVS:
        raw = os.environ.get(name, "")
        if raw.strip():
            add_secret(raw)
            return raw.strip()
    return None


def deadline_from_env(seconds: float | None = None) -> Deadline:
    """A deadline of `seconds`, else EXPERIMENTOS_GITHUB_DEADLINE, else DEFAULT_DEADLINE."""
    if seconds is None:
        text = os.environ.get(DEADLINE_ENV, "").strip()
        try:
            seconds = float(text) if text else DEFAULT_DEADLINE
        except ValueError:
            raise UsageError(f"{text!r} is not a number of seconds", field=DEADLINE_ENV) from None
    if not 0 < seconds <= 24 * 3600:
        raise UsageError(f"{seconds:g} is not 0 to 86400 seconds", field="deadline")
    return Deadline(seconds)


def api_base() -> str:
    """The API base URL (EXPERIMENTOS_GITHUB_API or https://api.github.com), checked."""
    api = (os.environ.get(API_ENV, "").strip() or DEFAULT_API).rstrip("/")
    scheme, host, port = origin(api)
    parts = urllib.parse.urlsplit(api)
    if scheme not in ("http", "https") or not host or port == -1 or parts.query or parts.fragment:
        raise UsageError(f"{api!r} is not an http(s) URL of a GitHub API", field=API_ENV)
    if parts.username or parts.password:
        raise UsageError("the API URL may not carry credentials; use GITHUB_TOKEN", field=API_ENV)
    if scheme == "http" and not is_loopback(host):
        raise UsageError(
            f"{api} is plain http: the token is sent only over https (or to this machine)",
            field=API_ENV,
        )
    return api


class GitHubApi:
    """Requests to one GitHub API with one token, all under one deadline."""

    def __init__(
        self, token: str, *, api: str | None = None, deadline: Deadline | None = None
    ) -> None:
        add_secret(token)
        token = token.strip()
        if not _TOKEN_RE.match(token):
            raise UsageError(
                "the GitHub token holds whitespace or control characters inside it",
                field=TOKEN_ENV,
            )
        add_secret(token)
        self._token = token
        self.api = (api or api_base()).rstrip("/")
        self.deadline = deadline or deadline_from_env()

    def url(self, path: str) -> str:
        return self.api + path

    def inside(self, url: str) -> bool:
        """Whether `url` lies under the API base (same origin, same path prefix)."""
        if origin(url) != origin(self.api):
            return False
        base = urllib.parse.urlsplit(self.api).path.rstrip("/") + "/"
        return urllib.parse.urlsplit(url).path.startswith(base)

    def call(self, method: str, path_or_url: str, payload: Any = None) -> tuple[Any, str | None]:
        """(decoded JSON answer, the next page's URL or None). GitHubError on any failure."""
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        shown = url[len(self.api) :] if url.startswith(self.api) else url
        if not self.inside(url):
            raise GitHubError(f"refusing to follow a link outside {self.api}: {url}")
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "User-Agent": "experimentos",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode("utf-8")
        try:
            answer = request(
                method,
                url,
                deadline=self.deadline,
                headers=headers,
                body=body,
                max_bytes=MAX_ANSWER_BYTES,
            )
        except FetchError as exc:
            if exc.kind == "unreachable":
                raise GitHubError(f"GitHub API at {self.api} unreachable: {exc}") from None
            raise GitHubError(f"GitHub API {method} {shown}: {exc}") from None
        if answer.status >= 400:
            message = _error_message(answer.body[:_ERROR_BYTES]) or _phrase(answer.status)
            raise GitHubError(f"GitHub API {method} {shown}: {answer.status} {message}".rstrip())
        try:
            data = load_json(answer.body) if answer.body.strip() else None
        except JsonError as exc:
            raise GitHubError(
                f"GitHub API {method} {shown}: the answer is not JSON ({exc})"
            ) from None
        match = _NEXT_RE.search(answer.headers.get("Link", "") or "")
        return data, match.group(1) if match else None

    def get(self, path_or_url: str) -> tuple[Any, str | None]:
        return self.call("GET", path_or_url)

    def send(self, method: str, path: str, payload: Any = None) -> Any:
        """The decoded answer of a request (no pagination)."""
        return self.call(method, path, payload)[0]


def _error_message(raw: bytes) -> str:
    """GitHub's `message` and its `errors[].message`, joined."""
    try:
        data = load_json(raw)
    except JsonError:
        return raw.decode("utf-8", "replace").strip()[:300]
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message", ""))]
    errors = data.get("errors")
    for error in errors if isinstance(errors, list) else []:
        parts.append(str(error.get("message", error)) if isinstance(error, dict) else str(error))
    return "; ".join(p for p in parts if p)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def quote(part: str) -> str:
    """A path segment (owner, repository) URL-quoted."""
    return urllib.parse.quote(part, safe="")
