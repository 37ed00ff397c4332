"""Read proposals back: list the `xos/` branches, and show one as a semantic summary plus diff."""

from __future__ import annotations

from pathlib import PurePosixPath

from experimentos.errors import NotFound
from experimentos.proposals.diff import BASE_TRAILER, evidence_of, page_diff, trailers, why_of
from experimentos.proposals.models import (
    BRANCH_PREFIX,
    FileChange,
    PageDiff,
    ProposalDetail,
    ProposalSummary,
)
from experimentos.store import Workspace, id_for_path
from experimentos.store.git import Repo

_STATUS = {"A": "added", "D": "removed"}
_SEARCH_DEPTH = 200  # commits walked back from a tip to find the proposal's own commit


def resolve(repo: Repo, name: str) -> tuple[str, str]:
    """(branch, tip commit) of a proposal named with or without its `xos/` prefix."""
    name = name.strip().removeprefix("refs/heads/")
    branch = name if name.startswith(BRANCH_PREFIX) else BRANCH_PREFIX + name
    commit = repo.commit_of(f"refs/heads/{branch}")
    if commit is None and "/" not in name:
        # Just the slug (`policy.keep-pins`): fine when exactly one kind has it.
        found = repo.text(
            "for-each-ref", "--format=%(refname:strip=2)", f"refs/heads/{BRANCH_PREFIX}*/{name}"
        ).splitlines()
        if len(found) == 1:
            branch = found[0]
            commit = repo.commit_of(f"refs/heads/{branch}")
    if commit is None:
        raise NotFound(f"no proposal {name!r}; `experimentos proposals list` shows them")
    return branch, commit


def _kind_slug(branch: str) -> tuple[str, str]:
    rest = branch.removeprefix(BRANCH_PREFIX)
    kind, _, slug = rest.partition("/")
    return (kind, slug) if slug else ("", kind)


def proposal_commit(repo: Repo, tip: str) -> tuple[str, str]:
    """(commit, message) of the commit that made the proposal: the newest carrying Xos-Base.

    Commits added on top of it later (review fixes) are part of the proposal too.
    """
    log = repo.run(
        "log", "--first-parent", f"-n{_SEARCH_DEPTH}", "--format=%H%x00%B%x1e", tip
    ).stdout.decode("utf-8", "replace")
    first = None
    for record in log.split("\x1e"):
        commit, _, message = record.strip("\n").partition("\x00")
        if not commit:
            continue
        first = first or (commit, message)
        if BASE_TRAILER in trailers(message):
            return commit, message
    return first or (tip, "")


def _base_commit(repo: Repo, base: str | None) -> str | None:
    if not base:
        return None
    return repo.commit_of(f"refs/heads/{base}") or repo.commit_of(f"refs/remotes/{base}")


def _merged(repo: Repo, tip: str, base_commit: str | None) -> bool:
    if base_commit is None:
        return False
    return repo.run("merge-base", "--is-ancestor", tip, base_commit, check=False).returncode == 0


def list_proposals(workspace: Workspace) -> list[ProposalSummary]:
    """Every `xos/` branch of the repository holding the knowledge root, sorted by name."""
    repo, _ = Repo.containing(workspace.root)
    heads = repo.text(
        "for-each-ref",
        "--format=%(refname:strip=2)%00%(objectname)%00%(committerdate:iso-strict)%00%(subject)",
        f"refs/heads/{BRANCH_PREFIX}",
    )
    remotes: dict[str, list[str]] = {}
    for line in repo.text(
        "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/remotes/"
    ).splitlines():
        ref, _, commit = line.rpartition(" ")
        remote, _, branch = ref.partition("/")
        if branch.startswith(BRANCH_PREFIX):
            remotes.setdefault(f"{branch}\x00{commit}", []).append(remote)
    out = []
    for line in heads.splitlines():
        branch, commit, date, subject = line.split("\x00", 3)
        kind, slug = _kind_slug(branch)
        _, message = proposal_commit(repo, commit)
        base = trailers(message).get(BASE_TRAILER)
        out.append(
            ProposalSummary(
                name=branch,
                kind=kind,
                slug=slug,
                commit=commit,
                date=date,
                subject=subject,
                base=base,
                merged=_merged(repo, commit, _base_commit(repo, base)),
                pushed_to=sorted(remotes.get(f"{branch}\x00{commit}", [])),
            )
        )
    return sorted(out, key=lambda s: s.name)


def show_proposal(workspace: Workspace, name: str, *, with_diff: bool = True) -> ProposalDetail:
    """A proposal's pages added/removed, fields changed, status transitions, and its diff.

    The proposal is compared with its merge base on the base branch, so commits made on the
    base since do not show up as changes (GitHub's three-dot comparison).
    """
    repo, prefix = Repo.containing(workspace.root)
    branch, tip = resolve(repo, name)
    own_commit, message = proposal_commit(repo, tip)
    base = trailers(message).get(BASE_TRAILER)
    base_commit = _base_commit(repo, base)
    start = None
    if base_commit is not None:
        merged = repo.run("merge-base", base_commit, tip, check=False)
        start = merged.stdout.decode().strip() or None
    if start is None:
        start = repo.commit_of(f"{own_commit}^")
    pages, others = _changes(repo, prefix, start, tip)
    kind, slug = _kind_slug(branch)
    span = f"{start}..{tip}" if start else tip
    diff = ""
    if with_diff:
        diff = repo.run(
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            *_range(repo, start, tip),
        ).stdout.decode("utf-8", "replace")
    return ProposalDetail(
        name=branch,
        kind=kind,
        slug=slug,
        base=base,
        start_commit=start,
        merged=_merged(repo, tip, base_commit),
        commit=tip,
        commits=int(repo.text("rev-list", "--count", span)),
        subject=message.splitlines()[0] if message else "",
        why=why_of(message),
        evidence=evidence_of(message),
        message=message.strip(),
        pages=pages,
        other_files=others,
        diff=diff,
    )


def _range(repo: Repo, start: str | None, tip: str) -> list[str]:
    if start:
        return [start, tip]
    # No start (the proposal's commit is a root commit): compare with the empty tree.
    empty = repo.run("hash-object", "-t", "tree", "--stdin", input=b"").stdout.decode().strip()
    return [empty, tip]


def _changes(
    repo: Repo, prefix: str, start: str | None, tip: str
) -> tuple[list[PageDiff], list[FileChange]]:
    raw = repo.run("diff", "--name-status", "-z", "--no-renames", *_range(repo, start, tip)).stdout
    fields = raw.decode("utf-8", "surrogateescape").split("\x00")
    pages, others = [], []
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        if not status:
            continue
        change = _STATUS.get(status[0], "modified")
        rel = _under(prefix, path)
        if rel is not None and id_for_path(rel) is not None:
            old = repo.blob(start, path) if start and change != "added" else None
            new = repo.blob(tip, path) if change != "removed" else None
            pages.append(page_diff(rel, old, new))
        else:
            others.append(FileChange(path=path, change=change))
    return pages, others


def _under(prefix: str, path: str) -> str | None:
    """`path` (repository-relative) relative to the knowledge root, or None outside it."""
    if not prefix:
        return path
    try:
        return PurePosixPath(path).relative_to(prefix).as_posix()
    except ValueError:
        return None
