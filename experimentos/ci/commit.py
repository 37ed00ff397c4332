"""Commit generated files onto a given commit and push them, without touching the checkout.

The commit is made in a private worktree (the CI checkout keeps exactly what the build wrote),
with a message in the proposals' format (`xos: <kind> <slug>`, the changed files, why, and the
trailers `experimentos proposals` reads back). The files are read through the same checks as a
proposal's generated files: regular files inside the knowledge root only.
"""

from __future__ import annotations

from pydantic import BaseModel

from experimentos.errors import GitError, UsageError
from experimentos.proposals.diff import compose_message
from experimentos.proposals.models import FileChange
from experimentos.store import Workspace
from experimentos.store.files import inside
from experimentos.store.git import ZERO_OID, Repo


class Committed(BaseModel):
    commit: str
    base_commit: str
    files: list[FileChange]
    message: str


def _bytes(workspace: Workspace, rel: str) -> bytes | None:
    target = workspace.root / rel
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UsageError("not a regular file; refusing to publish it", path=rel)
    if target.exists() and not inside(workspace.root, target):
        raise UsageError("lies outside the knowledge root", path=rel)
    return target.read_bytes() if target.exists() else None


def commit_files(
    workspace: Workspace,
    base_commit: str,
    paths: list[str],
    *,
    kind: str,
    slug: str,
    why: str,
    base: str,
) -> Committed | None:
    """A commit on `base_commit` whose files at `paths` (root-relative) are as in the working
    tree; None when that is what `base_commit` already has."""
    repo, prefix = Repo.containing(workspace.root)
    wanted = {rel: _bytes(workspace, rel) for rel in sorted(set(paths))}
    repo_path = {rel: f"{prefix}/{rel}" if prefix else rel for rel in wanted}
    olds = {rel: repo.blob(base_commit, repo_path[rel]) for rel in wanted}
    changed = {rel: data for rel, data in wanted.items() if olds[rel] != data}
    if not changed:
        return None
    files = [
        FileChange(
            path=rel,
            change="added" if olds[rel] is None else "removed" if d is None else "modified",
        )
        for rel, d in changed.items()
    ]
    message = compose_message(kind, slug, [], why, [], base, files=files)
    with repo.worktree(base_commit) as tree:
        for rel, data in changed.items():
            target = tree / repo_path[rel]
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        repo.run("add", "-A", "--", *(repo_path[rel] for rel in changed), cwd=tree)
        repo.run(
            *repo.identity_args(),
            "commit",
            "--quiet",
            "--no-verify",
            "--cleanup=whitespace",
            "-F",
            "-",
            input=message.encode("utf-8"),
            cwd=tree,
        )
        commit = repo.text("rev-parse", "HEAD", cwd=tree)
    return Committed(
        commit=commit, base_commit=base_commit, files=files, message=repo.message(commit)
    )


def remote_head(workspace: Workspace, remote: str, branch: str) -> str | None:
    """The commit `branch` pointed at on `remote` when the checkout fetched it (a checkout of
    all branches, as the workflows make: fetch-depth 0); None when it had no such branch. The
    push's lease makes a stale view fail, never overwrite."""
    repo, _ = Repo.containing(workspace.root)
    return repo.commit_of(f"refs/remotes/{remote}/{branch}")


def push_commit(
    workspace: Workspace,
    remote: str,
    commit: str,
    branch: str,
    *,
    replace: str | None | bool = False,
) -> None:
    """Push `commit` to `branch` on `remote`. `replace=False`: a fast-forward only (a pull
    request's branch); otherwise the branch is ours and is replaced, but only if it still
    points at `replace` (the commit we saw, or None: it must not exist) - never over a push
    someone made meanwhile."""
    repo, _ = Repo.containing(workspace.root)
    ref = f"refs/heads/{branch}"
    if replace is False:
        args = [f"{commit}:{ref}"]
    else:
        lease = replace if isinstance(replace, str) else ZERO_OID
        # An empty lease value means "must not exist". No `+` on the refspec: it would override
        # the lease.
        expect = "" if lease == ZERO_OID else lease
        args = [f"--force-with-lease={ref}:{expect}", f"{commit}:{ref}"]
    try:
        repo.run("push", "--porcelain", remote, *args, hooks=True)
    except GitError as exc:
        raise GitError(f"push to {branch} failed: {exc}", field="branch") from None
