"""An issue thread as GitHub returns it, parsed once at the boundary into one shape.

Three payloads are accepted: the REST issue object with its comments (`{"issue": {...},
"comments": [...]}`, or the issue object with `comments` replaced by the list), and the output of
`gh issue view N --json title,body,comments,url,createdAt,labels,state[,stateReason,author]`.
Both become a `Thread`; the content hash covers only what people wrote (title, body, each
comment's author, date and text), so the two shapes of one thread hash the same.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from experimentos.errors import NotFound, UnsafePath, UsageError
from experimentos.store.parse import JsonError, load_json, parse_int
from experimentos.store.safe import read_regular

MAX_PAYLOAD_BYTES = 20 * 1024 * 1024
MAX_ISSUE_DIGITS = 9
# Who speaks for the project: GitHub's author_association values.
MAINTAINER_ROLES = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
WONTFIX_LABELS = frozenset({"wontfix", "won't fix", "wont-fix", "not planned", "invalid"})
_ISSUE_URL_RE = re.compile(
    r"^https?://[^/]+/(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+)/(?:issues|pull)/(?P<number>\d+)/?$"
)
_API_URL_RE = re.compile(
    r"^https?://[^\s]+/repos/(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+)/issues/(?P<number>\d+)/?$"
)


class Comment(BaseModel):
    """One message of a thread: the issue body is comment 0 (`opening=True`)."""

    author: str
    association: str = "NONE"  # OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, …
    created_at: str = ""
    body: str = ""
    url: str = ""
    opening: bool = False

    @property
    def maintainer(self) -> bool:
        return self.association.upper() in MAINTAINER_ROLES

    @property
    def role(self) -> str:
        """How GitHub labels the author, in words (member, contributor, …)."""
        return (self.association or "NONE").lower().replace("none", "user").replace("_", " ")


class Thread(BaseModel):
    """An issue and its comments, in order."""

    owner: str
    repo: str
    number: int
    url: str
    title: str
    state: str  # open | closed
    state_reason: str | None = None  # completed | not_planned | reopened
    labels: list[str] = Field(default_factory=list)
    created_at: str = ""
    comments: list[Comment] = Field(default_factory=list)  # the opening post first

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"

    @property
    def wontfix(self) -> bool:
        return self.state_reason == "not_planned" or any(
            label.strip().lower() in WONTFIX_LABELS for label in self.labels
        )

    @property
    def state_text(self) -> str:
        """`open`, `closed`, or `closed as not planned`."""
        if self.state_reason and self.state_reason != "reopened":
            return f"{self.state} as {self.state_reason.replace('_', ' ')}"
        return self.state

    def sha256(self) -> str:
        """Hash of what people wrote: title and every message (author, date, text)."""
        content = {
            "title": self.title,
            "messages": [[c.author, c.created_at, c.body] for c in self.comments],
        }
        raw = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def read_payload(raw: bytes, where: str = "<stdin>") -> Thread:
    """Parse the bytes of a GitHub issue payload; UsageError naming the field when it is wrong."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise UsageError(f"payload is larger than {MAX_PAYLOAD_BYTES} bytes", path=where)
    try:
        data = load_json(raw)
    except JsonError as exc:
        raise UsageError(f"payload is not JSON: {exc}", path=where) from None
    return parse_payload(data, where)


def read_payload_file(path: Path) -> Thread:
    """A thread from a payload file (a regular file, at most MAX_PAYLOAD_BYTES)."""
    where = str(path)
    try:
        # The user names this file: follow their symlink, but open only a regular file (a FIFO
        # would block, a device never ends).
        real = path.resolve(strict=True)
        raw = read_regular(real.parent, real.name, limit=MAX_PAYLOAD_BYTES)
    except (OSError, RuntimeError, NotFound):
        raise UsageError("no such file", path=where) from None
    except UnsafePath as exc:
        raise UsageError(exc.message, path=where) from None
    return read_payload(raw, where)


def parse_payload(data: Any, where: str = "<payload>") -> Thread:
    """A Thread from a decoded REST or `gh issue view --json` payload."""
    if not isinstance(data, dict):
        raise UsageError(f"expected a JSON object, got {type(data).__name__}", path=where)
    if "issue" in data:
        issue = _mapping(data["issue"], where, "issue")
        comments = data.get("comments")
        if comments is None:
            comments = []
    else:
        issue = data
        comments = data.get("comments")
    if isinstance(comments, int) or comments is None:
        if comments:  # a REST issue object alone: its `comments` is only a count
            raise UsageError(
                f"the payload says the issue has {comments} comment(s) but holds none; pass "
                '{"issue": ..., "comments": [...]}, the output of `gh issue view N --json '
                "title,body,comments,url,createdAt,labels,state`, or use --fetch",
                path=where,
                field="comments",
            )
        comments = []
    if not isinstance(comments, list):
        raise UsageError("comments must be a list", path=where, field="comments")

    owner, repo, number, url = _identity(issue, where)
    title = _text(issue.get("title"), where, "title")
    if not title.strip():
        raise UsageError("the issue has no title", path=where, field="title")
    state = _text(issue.get("state"), where, "state").strip().lower() or "open"
    reason = issue.get("state_reason", issue.get("stateReason"))
    reason = _text(reason, where, "state_reason").strip().lower() or None
    opening = Comment(
        author=_login(issue.get("user", issue.get("author")), where, "user"),
        association=_text(
            issue.get("author_association", issue.get("authorAssociation")), where, "author"
        )
        or "NONE",
        created_at=_text(issue.get("created_at", issue.get("createdAt")), where, "created_at"),
        body=_text(issue.get("body"), where, "body"),
        url=url,
        opening=True,
    )
    thread_comments = [opening]
    for i, item in enumerate(comments):
        field = f"comments[{i}]"
        entry = _mapping(item, where, field)
        thread_comments.append(
            Comment(
                author=_login(entry.get("user", entry.get("author")), where, f"{field}.user"),
                association=_text(
                    entry.get("author_association", entry.get("authorAssociation")),
                    where,
                    f"{field}.author_association",
                )
                or "NONE",
                created_at=_text(
                    entry.get("created_at", entry.get("createdAt")), where, f"{field}.created_at"
                ),
                body=_text(entry.get("body"), where, f"{field}.body"),
                url=_text(entry.get("html_url", entry.get("url")), where, f"{field}.url"),
            )
        )
    # GitHub returns comments oldest first; a hand-assembled payload may not.
    thread_comments[1:] = sorted(thread_comments[1:], key=lambda c: c.created_at)
    labels = issue.get("labels") or []
    if not isinstance(labels, list):
        raise UsageError("labels must be a list", path=where, field="labels")
    names = []
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else label
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return Thread(
        owner=owner,
        repo=repo,
        number=number,
        url=url,
        title=title.strip(),
        state=state,
        state_reason=reason if state == "closed" else None,
        labels=names,
        created_at=opening.created_at,
        comments=thread_comments,
    )


def _identity(issue: dict, where: str) -> tuple[str, str, int, str]:
    """(owner, repo, number, html url) from the issue's URLs."""
    for key in ("html_url", "url"):
        value = issue.get(key)
        if isinstance(value, str):
            match = _ISSUE_URL_RE.match(value.strip())
            if match and "/repos/" not in value:
                number = _number(match["number"], where, key)
                return match["owner"], match["repo"], number, value.strip()
            api = _API_URL_RE.match(value.strip())
            if api:
                number = _number(api["number"], where, key)
                html = f"https://github.com/{api['owner']}/{api['repo']}/issues/{number}"
                return api["owner"], api["repo"], number, html
    raise UsageError(
        "the issue has no GitHub issue URL (html_url or url) to identify it",
        path=where,
        field="url",
    )


def _number(text: str, where: str, key: str) -> int:
    """An issue number: GitHub's are below 10**9; a longer one is not an issue of GitHub's."""
    number = parse_int(text, max_digits=MAX_ISSUE_DIGITS)
    if number is None or number < 1:
        raise UsageError(
            f"the issue number in {key} is not a GitHub issue number (1 to {MAX_ISSUE_DIGITS} "
            "digits)",
            path=where,
            field="url",
        )
    return number


def _mapping(value: Any, where: str, field: str) -> dict:
    if not isinstance(value, dict):
        raise UsageError(f"expected an object, got {type(value).__name__}", path=where, field=field)
    return value


def _text(value: Any, where: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"expected a string, got {type(value).__name__}", path=where, field=field)
    return value


def _login(value: Any, where: str, field: str) -> str:
    """The login of a REST `user` or a gh `author` object ("ghost" for a deleted account)."""
    if value is None:
        return "ghost"
    if isinstance(value, dict):
        login = value.get("login")
        return login if isinstance(login, str) and login else "ghost"
    raise UsageError("expected a user object with a login", path=where, field=field)
