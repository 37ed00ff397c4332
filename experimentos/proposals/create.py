"""Make a proposal: page changes committed on a new `xos/<kind>/<slug>` branch.

The changes are applied through the store in a private worktree checked out (detached) at the
base branch, in a temp directory; the user's HEAD, index and working tree are never touched.
Everything is validated before anything is committed, and the branch is created last, pointing
at the finished commit, so a refused proposal leaves no branch and no commit behind.

A name that is taken gets the first free suffix (`xos/page/policy.x-2`, `-3`, …): agents
propose repeatedly, and an earlier proposal must never be overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from experimentos.errors import Collect, GitError, InvalidPage, NotFound, UsageError, did_you_mean
from experimentos.knowledge.check import check
from experimentos.knowledge.graph import is_page_ref
from experimentos.knowledge.pages import build_new_page
from experimentos.models.knowledge import Problem, check_ref, slug_problem
from experimentos.proposals.changes import NewPage, PageChange, PageFile, StatusChange
from experimentos.proposals.diff import compose_message, page_diff
from experimentos.proposals.models import BRANCH_PREFIX, FileChange, Proposal
from experimentos.store import Workspace, id_for_path
from experimentos.store.documents import checksum
from experimentos.store.files import atomic_write, inside, safe_target
from experimentos.store.git import Repo
from experimentos.store.ids import page_ids
from experimentos.store.paths import page_path
from experimentos.store.safe import read_regular

_KIND_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_MAX_SUFFIX = 100


def propose(
    workspace: Workspace,
    changes: Sequence[PageChange],
    *,
    kind: str,
    slug: str,
    why: str,
    evidence: Iterable[str] = (),
    base: str | None = None,
    working_tree: bool = False,
) -> Proposal:
    """Commit `changes` on a new branch `xos/<kind>/<slug>` started from `base`.

    A change that edits a page in place (a status change, a citation, a promotion) starts from
    the page as `base` has it. When the working tree holds edits to that page that `base`
    does not, the proposal is refused (it would silently leave them out) unless
    `working_tree`: then the page is taken as it is in the working tree.

    `base` is a branch (default: `[proposals] base` in experimentos.toml, else the branch
    checked out). Raises InvalidPage (with every problem)
    when a changed page does not parse or the change introduces a `check` error, UsageError for
    bad arguments, GitError when the repository cannot hold a proposal.
    """
    changes = list(changes)
    if not changes:
        raise UsageError("a proposal needs at least one page change")
    name = _branch_name(kind, slug)
    why = why.strip()
    if not why:
        raise UsageError("a proposal needs a reason (why)", field="why")
    evidence = _evidence(evidence)
    for change in changes:
        change.precheck()

    repo, prefix = Repo.containing(workspace.root)
    if not repo.valid_branch_name(name):
        raise UsageError(f"{name!r} is not a valid git branch name", field="slug")
    base, base_commit = _resolve_base(repo, base or workspace.config.proposals.base)
    edited = _edited_here(workspace, repo, prefix, base, base_commit, changes, working_tree)
    with repo.worktree(base_commit) as tree:
        root = tree / prefix if prefix else tree
        root.mkdir(parents=True, exist_ok=True)
        proposed = Workspace(root)
        for rel, raw in edited.items():  # --working-tree: the pages as the user has them
            target = safe_target(root, rel)
            atomic_write(root, rel, raw, expected=checksum(target.read_bytes()))
        written: dict[str, bytes | None] = {}  # None: the change removed the file
        for change in changes:
            rel = change.apply(proposed).path
            written[rel] = (root / rel).read_bytes() if (root / rel).is_file() else None
        missing = [r for r in evidence if is_page_ref(r) and not proposed.exists(r)]
        found = Collect()
        for ref in missing:
            hint = did_you_mean(ref, page_ids(root))
            found.add(NotFound(f"evidence {ref!r} does not exist{hint}", field="evidence"))
        found.done()
        repo_paths = {rel: f"{prefix}/{rel}" if prefix else rel for rel in written}
        _refuse_new_errors(
            proposed, written, {r: repo.blob(base_commit, p) for r, p in repo_paths.items()}
        )

        repo.run("add", "--", *repo_paths.values(), cwd=tree)
        if repo.run("diff", "--cached", "--quiet", cwd=tree, check=False).returncode == 0:
            raise UsageError(f"the proposal changes nothing on {base}")
        olds = {rel: repo.blob(base_commit, repo_paths[rel]) for rel in written}
        changed = [(rel, data) for rel, data in sorted(written.items()) if olds[rel] != data]
        diffs = [page_diff(rel, olds[rel], data) for rel, data in changed if id_for_path(rel)]
        files = [
            FileChange(path=rel, change=_change_kind(olds[rel], data))
            for rel, data in changed
            if not id_for_path(rel)
        ]
        # The first free name goes into the message; a branch made meanwhile moves us one on.
        branch = _free_name(repo, name)
        message = compose_message(
            kind, branch.rsplit("/", 1)[1], diffs, why, evidence, base, files=files
        )
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
    message = repo.message(commit)  # as git stored it (whitespace cleaned up)
    branch = _claim_branch(repo, name, commit, first=branch)
    return Proposal(
        name=branch,
        kind=kind,
        slug=branch.rsplit("/", 1)[1],
        base=base,
        base_commit=base_commit,
        commit=commit,
        subject=message.splitlines()[0],
        message=message,
        pages=diffs,
        files=files,
    )


def propose_new_page(
    workspace: Workspace,
    type_name: str,
    slug: str,
    title: str,
    summary: str = "",
    *,
    depends_on: Sequence[str] = (),
    why: str = "",
    base: str | None = None,
    rule: str = "",
) -> Proposal:
    """Propose a new draft page (what `page new --propose` does)."""
    page = build_new_page(type_name, slug, title, summary, depends_on, rule)
    reason = why.strip() or f"New draft {page.type.value} page: {page.title}"
    return propose(workspace, [NewPage(page)], kind="page", slug=page.id, why=reason, base=base)


def propose_status(
    workspace: Workspace,
    page_id: str,
    status_name: str,
    rationale: str = "",
    evidence: Sequence[str] = (),
    reviewer: str | None = None,
    *,
    why: str = "",
    base: str | None = None,
    working_tree: bool = False,
) -> Proposal:
    """Propose a status transition with its review (what `page set-status --propose` does)."""
    change = StatusChange(page_id, status_name, rationale, tuple(evidence), reviewer)
    change.precheck()
    status = status_name.strip().lower()
    reason = why.strip() or rationale.strip() or f"Set {page_id} to {status}"
    return propose(
        workspace,
        [change],
        kind="status",
        slug=f"{page_id}-{status}",
        why=reason,
        evidence=evidence,
        base=base,
        working_tree=working_tree,
    )


def propose_page(
    workspace: Workspace,
    content: str | bytes,
    *,
    why: str,
    evidence: Iterable[str] = (),
    base: str | None = None,
) -> Proposal:
    """Propose one whole page file (frontmatter + body); its id decides where it goes.

    Creates the page, or replaces it when the base has one with that id.
    """
    raw = content.encode("utf-8") if isinstance(content, str) else content
    change = PageFile(raw)
    return propose(
        workspace, [change], kind="page", slug=change.page_id, why=why, evidence=evidence, base=base
    )


def propose_files(
    workspace: Workspace,
    files: Sequence[Path | str],
    *,
    why: str,
    evidence: Iterable[str] = (),
    slug: str | None = None,
    base: str | None = None,
) -> Proposal:
    """Propose page files written by hand (absolute, relative to the cwd, or to the root)."""
    if not files:
        raise UsageError("name at least one page file to propose")
    changes = [PageFile(raw, rel) for rel, raw in (_read_page_file(workspace, f) for f in files)]
    if slug is None:
        first = changes[0].page_id
        slug = first if len(changes) == 1 else f"{first}-and-{len(changes) - 1}-more"
    return propose(
        workspace, changes, kind="page", slug=slug, why=why, evidence=evidence, base=base
    )


# --- helpers ----------------------------------------------------------------------------------


def _edited_here(
    workspace: Workspace,
    repo: Repo,
    prefix: str,
    base: str,
    base_commit: str,
    changes: Sequence[PageChange],
    working_tree: bool,
) -> dict[str, bytes]:
    """Pages the changes edit in place whose working-tree bytes differ from the base's: {} or
    (with `working_tree`) those bytes; without it, a refusal that names them and the way on."""
    found: dict[str, bytes] = {}
    for change in changes:
        if not getattr(change, "in_place", False):
            continue
        rel = page_path(change.page_id).as_posix()
        try:
            here = read_regular(workspace.root, rel)
        except NotFound:
            continue
        there = repo.blob(base_commit, f"{prefix}/{rel}" if prefix else rel)
        if there is not None and here != there:
            found[rel] = here
    if found and not working_tree:
        names = ", ".join(sorted(found))
        raise UsageError(
            f"{names}: your working tree has edits that {base} does not; the proposal is made "
            f"from {base} and would leave them out. Commit them first, or pass --working-tree "
            "to propose the page as it is in your working tree",
            path=sorted(found)[0],
        )
    return found if working_tree else {}


def _branch_name(kind: str, slug: str) -> str:
    if not _KIND_RE.fullmatch(kind):
        raise UsageError(f"kind {kind!r} must be lowercase [a-z][a-z0-9-]*", field="kind")
    problem = slug_problem(slug)
    if problem:
        raise UsageError(f"{slug!r}: {problem}", field="slug")
    return f"{BRANCH_PREFIX}{kind}/{slug}"


def _candidates(name: str) -> Iterable[str]:
    yield name
    for n in range(2, _MAX_SUFFIX + 1):
        yield f"{name}-{n}"


def _free_name(repo: Repo, name: str) -> str:
    for candidate in _candidates(name):
        if repo.commit_of(f"refs/heads/{candidate}") is None:
            return candidate
    raise GitError(f"{name} and its suffixes up to -{_MAX_SUFFIX} are taken; pass another slug")


def _claim_branch(repo: Repo, name: str, commit: str, first: str) -> str:
    """Create the branch `first`, else the next free name from `name`, atomically."""
    for candidate in dict.fromkeys([first, *_candidates(name)]):
        if repo.create_branch(candidate, commit, f"experimentos: propose {candidate}"):
            return candidate
    raise GitError(f"{name} and its suffixes up to -{_MAX_SUFFIX} are taken; pass another slug")


def _evidence(evidence: Iterable[str]) -> list[str]:
    ids = []
    for item in evidence:
        ref = item.strip()
        if not ref:
            continue
        try:
            check_ref(ref)
        except ValueError as exc:
            raise UsageError(str(exc), field="evidence") from None
        if ref not in ids:
            ids.append(ref)
    return ids


def _resolve_base(repo: Repo, base: str | None) -> tuple[str, str]:
    """(branch name, commit) the proposal starts from."""
    if base is None:
        base = repo.current_branch()
        if base is None:
            raise GitError("HEAD is detached; pass --onto BRANCH, the branch to propose against")
    base = base.strip()
    if base.startswith("refs/heads/"):
        base = base[len("refs/heads/") :]
    commit = repo.commit_of(f"refs/heads/{base}") or repo.commit_of(f"refs/remotes/{base}")
    if commit is None:
        if not repo.has_commits():
            raise GitError(
                f"the repository at {repo.top} has no commits yet; commit the knowledge base, "
                "then propose changes to it"
            )
        raise GitError(f"no branch {base!r} with commits to propose against", field="base")
    return base, commit


def _change_kind(old: bytes | None, new: bytes | None) -> str:
    return "added" if old is None else "removed" if new is None else "modified"


def _refuse_new_errors(
    workspace: Workspace, written: dict[str, bytes | None], before: dict[str, bytes | None]
) -> None:
    """Raise InvalidPage when the written files add `check` errors the base did not have."""
    after = check(workspace).errors
    if not after:
        return
    # Put the base versions back for a moment to learn which errors were there already.
    _put(workspace.root, before)
    known = {_key(p) for p in check(workspace).errors}
    _put(workspace.root, written)
    new = [p for p in after if _key(p) not in known]
    if new:
        raise InvalidPage(new[0].path, new)


def _put(root: Path, files: dict[str, bytes | None]) -> None:
    for rel, data in files.items():
        path = root / rel
        if data is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(data)


def _key(problem: Problem) -> tuple:
    return (problem.path, problem.field, problem.code, problem.message)


def _read_page_file(workspace: Workspace, file: Path | str) -> tuple[str, bytes]:
    """(root-relative path, bytes) of a page file the user names."""
    path = Path(file)
    if not path.is_absolute():
        path = Path.cwd() / path if (Path.cwd() / path).exists() else workspace.root / path
    if not path.is_file():
        raise NotFound("no such page file", path=file)
    if not inside(workspace.root, path) or not inside(workspace.root, path.parent):
        raise UsageError(f"{file} is not inside the knowledge root {workspace.root}", path=file)
    # The name the user gave decides the page location, not where a symlink points.
    rel = (path.parent.resolve() / path.name).relative_to(workspace.root).as_posix()
    return rel, path.read_bytes()
