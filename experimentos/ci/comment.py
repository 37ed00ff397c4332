"""Pull-request comments: built where the pull request's code runs, posted where it does not.

`pr_comment` (check.yml's `comment` job, read-only token, runs the pull request's code)
builds up to two comments:

- the results comment (MARKER) when the pull request changes run records, reports or a
  matrix spec: per matrix its headline with intervals and verdicts, the report rows that
  changed against the base branch's report, links to the report and the site, and
  `report compare` of the runs when runs at the base changed;
- the brief-impact comment (IMPACT_MARKER) when it changes wiki/, policies/ or
  experimentos.toml: every task's brief at the base and now (experimentos.impact).

It writes them with a small meta.json into a directory that the workflow uploads as an
artifact. `post_comment` (pr-comment.yml, a `workflow_run` job with a write token that never
checks out the pull request's code) reads that directory as untrusted data: only known
markers and file names, bodies capped at GitHub's limit, and the pull request number is
believed only if GitHub says that pull request's head is the commit the run checked. Each
comment is one comment, found by its marker and edited in place on later runs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pydantic import BaseModel, Field

from experimentos.ci import github
from experimentos.ci.github import Repository
from experimentos.ci.numbers import Links, MatrixNumbers, matrix_numbers, render_numbers
from experimentos.errors import GitError, UsageError
from experimentos.markdown.escape import code
from experimentos.net.github import GitHubError
from experimentos.proposals.push import github_repo
from experimentos.store import Workspace
from experimentos.store.git import Repo
from experimentos.store.lab_paths import EXPERIMENTS_DIR
from experimentos.store.paths import KNOWLEDGE_ROOTS

MARKER = "<!-- experimentos:report-compare -->"
IMPACT_MARKER = "<!-- experimentos:brief-impact -->"
FILES = {MARKER: "results.md", IMPACT_MARKER: "brief-impact.md"}
META = "meta.json"
_MAX_META = 4096
_MATRIX_PARTS = ("runs", "results", "matrix.yaml")
_SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class CommentBody(BaseModel):
    marker: str
    kind: str  # results | brief-impact
    body: str


class Posted(BaseModel):
    kind: str
    id: int
    url: str
    created: bool


class PrComment(BaseModel):
    comments: list[CommentBody] = Field(default_factory=list)
    numbers: list[MatrixNumbers] = Field(default_factory=list)
    posted: list[Posted] = Field(default_factory=list)
    skipped: str | None = None
    error: str | None = Field(default=None, description="GitHub refused the comment")

    @property
    def regression(self) -> bool:
        return any(m.regression for m in self.numbers)

    @property
    def body(self) -> str:
        return "\n\n".join(c.body.rstrip("\n") for c in self.comments) + "\n"


def changed_paths(workspace: Workspace, base: str) -> list[str]:
    """Root-relative paths that differ between the merge base of `base` and HEAD."""
    repo, prefix = Repo.containing(workspace.root)
    if repo.commit_of(base) is None:
        raise GitError(f"no revision {base!r} (fetch the base branch first)", field="base")
    lead = f"{prefix}/" if prefix else ""
    out = repo.run(
        "diff", "--name-only", "-z", "--no-renames", f"{base}...HEAD", "--", lead or "."
    ).stdout.decode("utf-8", "surrogateescape")
    return sorted(p[len(lead) :] for p in out.split("\0") if p and p.startswith(lead))


def _matrix_experiments(paths: list[str]) -> list[str]:
    """Experiments whose runs, reports or matrix spec the paths touch."""
    found = set()
    for path in paths:
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == EXPERIMENTS_DIR and parts[2] in _MATRIX_PARTS:
            found.add(parts[1])
    return sorted(found)


def _knowledge_changed(paths: list[str]) -> bool:
    return any(
        p == "experimentos.toml" or p.split("/", 1)[0] in KNOWLEDGE_ROOTS for p in paths
    )  # fmt: skip


def results_body(numbers: list[MatrixNumbers], base: str) -> str:
    lines = [MARKER, "## Matrix results in this pull request", ""]
    if not numbers:
        lines.append(f"No matrix differs from {code(base)}.")
    elif any(m.regression for m in numbers):
        lines.append(f"**A significant regression** against {code(base)}: see the flagged matrix.")
    else:
        lines.append(f"No significant regression against {code(base)}.")
    lines += ["", render_numbers(numbers, base)]
    return github.clip("\n".join(lines).rstrip("\n") + "\n")


def _links(workspace: Workspace, head: str | None) -> Links:
    repo, prefix = Repo.containing(workspace.root)
    try:
        found = github_repo(repo.remote_url("origin"))
    except GitError:
        found = None
    slug = os.environ.get("GITHUB_REPOSITORY", "").strip()
    repository = Repository.parse(slug) if slug else (Repository(*found) if found else None)
    site = os.environ.get("XOS_SITE_URL", "").strip() or None
    return Links(repository, head, prefix, site)


def build_comments(
    workspace: Workspace, base: str, *, head: str | None = None, impact: bool = True
) -> PrComment:
    """The comments for the changes between `base` and HEAD (none when nothing they cover
    changed)."""
    paths = changed_paths(workspace, base)
    result = PrComment()
    experiments = _matrix_experiments(paths)
    if experiments:
        links = _links(workspace, head)
        result.numbers = matrix_numbers(workspace, experiments, base, links)
        result.comments.append(
            CommentBody(marker=MARKER, kind="results", body=results_body(result.numbers, base))
        )
    if impact and _knowledge_changed(paths):
        from experimentos.impact import brief_impact
        from experimentos.impact.render import render_impact

        found = brief_impact(workspace, base)
        body = render_impact(
            found,
            limit=github.COMMENT_LIMIT - 1024,
            marker=True,
            command=f"experimentos impact --base {base}",
        )
        result.comments.append(CommentBody(marker=IMPACT_MARKER, kind="brief-impact", body=body))
    return result


def write_artifact(result: PrComment, out: Path, pr: int | None, head_sha: str | None) -> None:
    """The comments as files for the workflow to upload (read by `post_comment`)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        (out / name).unlink(missing_ok=True)
    for comment in result.comments:
        (out / FILES[comment.marker]).write_text(comment.body, encoding="utf-8")
    meta = {"pr": pr, "head_sha": head_sha, "comments": [FILES[c.marker] for c in result.comments]}
    (out / META).write_text(json.dumps(meta), encoding="utf-8")


def pr_comment(
    workspace: Workspace,
    base: str,
    *,
    pr: int | None = None,
    repository: str | None = None,
    out: Path | None = None,
    head_sha: str | None = None,
    post: bool = True,
) -> PrComment:
    """Build the comments; write them to `out` (the workflow's artifact) and/or, with a pull
    request number and a token, post them (a local run: `--pr N`)."""
    result = build_comments(workspace, base, head=head_sha)
    if out is not None:
        write_artifact(result, out, pr, head_sha)
    tok = github.token()
    if not post or out is not None:
        result.skipped = f"written to {out}" if out is not None else "not posted"
    elif pr is None:
        result.skipped = "no pull request given"
    elif tok is None:
        result.skipped = "GITHUB_TOKEN is not set"
    elif not result.comments:
        result.skipped = "nothing to comment on"
    else:
        repo = Repository.parse(repository)
        for comment in result.comments:
            try:
                cid, url, created = github.upsert_comment(
                    repo, pr, comment.body, tok, comment.marker
                )
            except GitHubError as exc:  # e.g. the read-only token of a pull request from a fork
                result.error = str(exc)
                break
            result.posted.append(Posted(kind=comment.kind, id=cid, url=url, created=created))
    return result


# --- posting from a workflow_run job ------------------------------------------------------------


class PostResult(BaseModel):
    pr: int | None = None
    posted: list[Posted] = Field(default_factory=list)
    skipped: str | None = None


def _read_meta(directory: Path) -> dict:
    path = directory / META
    if path.is_symlink() or not path.is_file():
        raise UsageError("no meta.json: the check run made no comment", path=str(path))
    raw = path.read_bytes()[: _MAX_META + 1]
    if len(raw) > _MAX_META:
        raise UsageError("meta.json is too large", path=str(path))
    try:
        meta = json.loads(raw)
    except ValueError:
        raise UsageError("meta.json is not JSON", path=str(path)) from None
    if not isinstance(meta, dict):
        raise UsageError("meta.json is not an object", path=str(path))
    return meta


def post_comment(directory: Path, *, head_sha: str, repository: str | None = None) -> PostResult:
    """Post the comments a check run wrote into `directory` (an artifact: untrusted data) on
    its pull request, after checking with GitHub that the pull request's head is `head_sha`
    (the commit the workflow_run event says the run checked)."""
    head_sha = head_sha.strip().lower()
    if not _SHA_RE.match(head_sha):
        raise UsageError(f"{head_sha!r} is not a commit id", field="head-sha")
    result = PostResult()
    if not directory.is_dir():
        result.skipped = "no comment artifact: the run made no comment"
        return result
    meta = _read_meta(directory)
    pr = meta.get("pr")
    if not isinstance(pr, int) or isinstance(pr, bool) or pr < 1:
        result.skipped = "the run was not for a pull request"
        return result
    result.pr = pr
    names = meta.get("comments")
    if not isinstance(names, list):
        raise UsageError("meta.json: comments is not a list", field="comments")
    wanted = {name: marker for marker, name in FILES.items()}
    bodies = []
    for name in names:
        if name not in wanted:
            raise UsageError(f"meta.json names an unknown comment {name!r}", field="comments")
        path = directory / name
        if path.is_symlink() or not path.is_file():
            raise UsageError(f"{name} is missing", field="comments")
        body = path.read_bytes()[: github.COMMENT_LIMIT * 4].decode("utf-8", "replace")
        if not body.startswith(wanted[name]):
            raise UsageError(f"{name} does not start with its marker", field="comments")
        bodies.append((wanted[name], github.clip(body)))
    if not bodies:
        result.skipped = "nothing to comment on"
        return result
    tok = github.token()
    if tok is None:
        raise UsageError("GITHUB_TOKEN is not set", field="token")
    repo = Repository.parse(repository)
    pull = github.get_pull(repo, pr, tok)
    if (pull.head_sha or "").lower() != head_sha:
        result.skipped = (
            f"pull request #{pr} is at {str(pull.head_sha)[:12]}, not {head_sha[:12]}: a newer "
            "run comments for its head"
        )
        return result
    for marker, body in bodies:
        cid, url, created = github.upsert_comment(repo, pr, body, tok, marker)
        kind = "results" if marker == MARKER else "brief-impact"
        result.posted.append(Posted(kind=kind, id=cid, url=url, created=created))
    return result
