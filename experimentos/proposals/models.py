"""What the proposal verbs return: plain pydantic models (JSON for the CLI, structured MCP output).

These describe git state, not the knowledge file format, so they have no checked-in schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

BRANCH_PREFIX = "xos/"


class FieldChange(BaseModel):
    """One frontmatter field (disk name; `review.rationale` for a nested key), old -> new."""

    field: str
    old: Any = None
    new: Any = None


class Transition(BaseModel):
    """A status transition; `old` is None for an added page, `new` None for a removed one."""

    old: str | None = None
    new: str | None = None


class PageDiff(BaseModel):
    """What a proposal does to one page file, read by parsing it at both ends."""

    path: str = Field(description="relative to the knowledge root")
    id: str | None = None
    change: Literal["added", "removed", "modified"]
    title: str | None = None
    status: Transition | None = Field(default=None, description="set when the status differs")
    fields: list[FieldChange] = Field(default_factory=list, description="besides status")
    body_changed: bool = False
    problems: list[str] = Field(default_factory=list, description="a side that does not parse")


class FileChange(BaseModel):
    """A changed file that is not a page (repository-relative path)."""

    path: str
    change: Literal["added", "removed", "modified"]


class Proposal(BaseModel):
    """A proposal just made: a branch holding one commit on top of the base."""

    name: str = Field(description="the branch, xos/<kind>/<slug>[-N]")
    kind: str
    slug: str
    base: str = Field(description="the branch the proposal targets")
    base_commit: str
    commit: str
    subject: str
    message: str
    pages: list[PageDiff]
    files: list[FileChange] = Field(default_factory=list, description="changed files, not pages")


class ProposalSummary(BaseModel):
    """One proposal branch, as `proposals list` shows it."""

    name: str
    kind: str
    slug: str
    commit: str
    date: str
    subject: str
    base: str | None = None
    merged: bool = Field(default=False, description="the tip is already on the base branch")
    pushed_to: list[str] = Field(default_factory=list, description="remotes at the same commit")


class ProposalDetail(BaseModel):
    """A proposal's semantic summary (pages, fields, status transitions) plus its diff."""

    name: str
    kind: str
    slug: str
    base: str | None
    start_commit: str | None = Field(description="merge base with the base branch")
    merged: bool = Field(description="the tip is already on the base branch")
    commit: str
    commits: int
    subject: str
    why: str
    evidence: list[str]
    message: str
    pages: list[PageDiff]
    other_files: list[FileChange]
    diff: str


class PullRequest(BaseModel):
    number: int
    url: str
    created: bool = Field(description="False when an open pull request already existed")


class PushResult(BaseModel):
    """A pushed proposal, the pull request opened for it, or how to open one."""

    name: str
    remote: str
    remote_url: str = Field(description="credentials removed")
    base: str
    commit: str
    github: str | None = Field(default=None, description="owner/repo when the remote is GitHub")
    pull_request: PullRequest | None = None
    pr_error: str | None = Field(default=None, description="GitHub refused the pull request")
    pr_skipped: str | None = Field(default=None, description="why none was attempted")
    command: str = Field(description="the command that opens the pull request by hand")
    compare_url: str | None = None
