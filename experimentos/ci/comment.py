"""The pull-request comment: `report compare` for each report the PR changes, as ONE comment.

The comment carries a hidden marker; each push finds the comment with it and edits it in place
instead of adding another. Each comparison is what `experimentos report compare
<matrix>@<base> <matrix>` prints, computed in-process by experimentos.reports.compare.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from pydantic import BaseModel, Field

from experimentos.errors import GitError, UsageError
from experimentos.markdown.escape import code, line
from experimentos.net.github import GitHubApi, GitHubError
from experimentos.store import Workspace
from experimentos.store.git import Repo
from experimentos.store.lab_paths import EXPERIMENTS_DIR

MARKER = "<!-- experimentos:report-compare -->"
_PER_PAGE = 100
_MAX_PAGES = 50
_SHOWN = 60_000  # GitHub refuses comments over 65,536 characters


class ChangedReport(BaseModel):
    path: str
    experiment: str
    matrix_id: str
    change: str  # added | modified | removed


class Comparison(BaseModel):
    report: ChangedReport
    markdown: str
    regression: bool = Field(description="report compare exited 1: a significant regression")


class CommentResult(BaseModel):
    id: int
    url: str
    created: bool


class PrComment(BaseModel):
    body: str
    comparisons: list[Comparison]
    comment: CommentResult | None = None
    skipped: str | None = None
    error: str | None = Field(default=None, description="GitHub refused the comment")

    @property
    def regression(self) -> bool:
        return any(c.regression for c in self.comparisons)


def changed_reports(workspace: Workspace, base: str) -> list[ChangedReport]:
    """Reports (experiments/<slug>/results/<matrix-id>.md) that differ between the merge base
    of `base` and HEAD."""
    repo, prefix = Repo.containing(workspace.root)
    if repo.commit_of(base) is None:
        raise GitError(f"no revision {base!r} (fetch the base branch first)", field="base")
    lead = f"{prefix}/" if prefix else ""
    out = repo.run(
        "diff",
        "--name-status",
        "-z",
        "--no-renames",
        f"{base}...HEAD",
        "--",
        f":(glob){lead}{EXPERIMENTS_DIR}/*/results/*.md",
    ).stdout.decode("utf-8", "surrogateescape")
    parts = [p for p in out.split("\0") if p]
    kinds = {"A": "added", "D": "removed"}
    found = []
    for status, path in zip(parts[::2], parts[1::2], strict=False):
        rel = path[len(lead) :]
        _, experiment, _, name = rel.split("/")
        found.append(
            ChangedReport(
                path=rel,
                experiment=experiment,
                matrix_id=name.removesuffix(".md"),
                change=kinds.get(status[:1], "modified"),
            )
        )
    return sorted(found, key=lambda r: r.path)


def compare_report(workspace: Workspace, report: ChangedReport, base: str) -> Comparison:
    """`report compare <matrix>@<base> <matrix>` for one report: the base revision against the
    working tree, a regression when any delta is a significant loss."""
    from experimentos.reports.compare import compare_matrices, render_comparison

    result = compare_matrices(workspace.root, f"{report.matrix_id}@{base}", report.matrix_id)
    markdown = render_comparison(result).strip()
    return Comparison(report=report, markdown=markdown, regression=bool(result.regressions))


def compose_body(comparisons: list[Comparison], base: str) -> str:
    """The comment's Markdown: the marker, a verdict line, one section per report."""
    lines = [MARKER, "## Matrix reports changed by this pull request", ""]
    if not comparisons:
        lines.append(f"No report under `{EXPERIMENTS_DIR}/*/results/` differs from {code(base)}.")
    elif any(c.regression for c in comparisons):
        lines.append(f"**A significant regression** against {code(base)}: see the flagged report.")
    else:
        lines.append(f"No significant regression against {code(base)}.")
    for c in comparisons:
        flag = " (regression)" if c.regression else ""
        lines += ["", line(f"### {code(c.report.path)} ({c.report.change}){flag}"), ""]
        lines.append(c.markdown or "_(report compare printed nothing)_")
    body = "\n".join(lines) + "\n"
    if len(body) > _SHOWN:
        body = body[:_SHOWN] + "\n\n_(cut: the comparison is longer than a comment holds)_\n"
    return body


def _quoted(owner: str, repo: str) -> str:
    return f"/repos/{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(repo, safe='')}"


def upsert_comment(owner: str, repo: str, number: int, body: str, token: str) -> CommentResult:
    """Edit the pull request's comment that carries MARKER, or add it when there is none."""
    if MARKER not in body:
        raise UsageError("the comment body must carry the marker", field="body")
    base = _quoted(owner, repo)
    api = GitHubApi(token)  # one deadline for the whole search and the edit
    for page in range(1, _MAX_PAGES + 1):
        query = urllib.parse.urlencode({"per_page": _PER_PAGE, "page": page})
        comments = api.send("GET", f"{base}/issues/{number}/comments?{query}")
        if not isinstance(comments, list):
            raise GitHubError("GitHub API: the comment list is not a list")
        for comment in comments:
            if isinstance(comment, dict) and MARKER in str(comment.get("body") or ""):
                data = api.send("PATCH", f"{base}/issues/comments/{_id(comment)}", {"body": body})
                return _comment_result(data, created=False)
        if len(comments) < _PER_PAGE:
            break
    data = api.send("POST", f"{base}/issues/{number}/comments", {"body": body})
    return _comment_result(data, created=True)


def _id(data: dict) -> int:
    value = data.get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GitHubError("GitHub API: a comment without a numeric id")
    return value


def _comment_result(data: object, created: bool) -> CommentResult:
    if not isinstance(data, dict) or not isinstance(data.get("html_url"), str):
        raise GitHubError("GitHub API: the comment answer has no id and html_url")
    return CommentResult(id=_id(data), url=data["html_url"], created=created)


@dataclass(frozen=True)
class Target:
    """Where the comment goes: owner/repo and the pull request number."""

    owner: str
    repo: str
    number: int

    @classmethod
    def parse(cls, repository: str, number: int) -> Target:
        owner, _, name = repository.strip().partition("/")
        if not owner or not name or "/" in name:
            raise UsageError(f"{repository!r} is not owner/repo", field="repository")
        if number < 1:
            raise UsageError("a pull request number is positive", field="pr")
        return cls(owner, name, number)


def pr_comment(
    workspace: Workspace, base: str, target: Target | None, token: str | None = None
) -> PrComment:
    """Compare every report the PR changes against `base` and post (or update) the comment.
    Without a target or a token, the body is built and not posted."""
    reports = changed_reports(workspace, base)
    comparisons = [compare_report(workspace, r, base) for r in reports if r.change != "removed"]
    comparisons += [
        Comparison(report=r, markdown="The pull request removes this report.", regression=False)
        for r in reports
        if r.change == "removed"
    ]
    comparisons.sort(key=lambda c: c.report.path)
    result = PrComment(body=compose_body(comparisons, base), comparisons=comparisons)
    token = token if token is not None else os.environ.get("GITHUB_TOKEN", "").strip()
    if target is None:
        result.skipped = "no pull request given"
    elif not token:
        result.skipped = "GITHUB_TOKEN is not set"
    else:
        try:
            result.comment = upsert_comment(
                target.owner, target.repo, target.number, result.body, token
            )
        except GitHubError as exc:  # e.g. the read-only token of a pull request from a fork
            result.error = str(exc)
    return result
