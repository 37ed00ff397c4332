"""`experimentos init` and the starter knowledge that ships with the package."""

from __future__ import annotations

import shutil
from pathlib import Path

from experimentos.config import CONFIG_NAME, DEFAULT_CONFIG_TEXT
from experimentos.errors import ExperimentosError, NotFound
from experimentos.store.files import STATE_DIR, add_to_file
from experimentos.store.paths import PAGE_DIRS
from experimentos.store.safe import read_regular

LAYOUT_DIRS = (*sorted(PAGE_DIRS), "experiments", "briefs", "fixtures")
# No trailing slash: the entry must ignore the path whether it is a directory, a file or a
# symlink (a pattern ending in "/" matches directories only).
_GITIGNORE_LINE = STATE_DIR
LAYOUT_COMMIT_MESSAGE = "Start the experimentos knowledge base"


def init_workspace(root: Path) -> list[str]:
    """Create the knowledge layout in `root` (idempotent). Returns what was created.

    Every file goes through the store's guarded write (no `..`, no part resolving outside the
    root, never through a symlink): `init` runs in repositories someone else made, where
    `.gitignore` or `wiki/` may be a link to a file of the user's."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    for rel in LAYOUT_DIRS:
        if not (root / rel).is_dir():
            add_to_file(root, f"{rel}/.gitkeep", b"", create_only=True)
            created.append(rel + "/")
    if add_to_file(root, CONFIG_NAME, DEFAULT_CONFIG_TEXT.encode("utf-8"), create_only=True):
        created.append(CONFIG_NAME)
    try:
        raw: bytes | None = read_regular(root, ".gitignore")
    except NotFound:
        raw = None
    text = raw.decode("utf-8", "replace") if raw is not None else ""
    entries = {line.strip() for line in text.splitlines()}
    if not entries & {_GITIGNORE_LINE, f"/{_GITIGNORE_LINE}"}:
        prefix = "\n" if text and not text.endswith("\n") else ""
        add_to_file(root, ".gitignore", f"{prefix}{_GITIGNORE_LINE}\n".encode())
        created.append(".gitignore entry")
    return created


def layout_files(root: Path) -> list[Path]:
    """The files `init` makes: each directory's .gitkeep, experimentos.toml, .gitignore."""
    root = Path(root)
    files = [root / rel / ".gitkeep" for rel in LAYOUT_DIRS]
    files += [root / CONFIG_NAME, root / ".gitignore"]
    return [path for path in files if path.is_file() and not path.is_symlink()]


def git_state(root: Path) -> str:
    """ "none" (not in a git work tree), "no-commits", or "ok"."""
    from experimentos.errors import GitError
    from experimentos.store.git import Repo

    try:
        repo, _ = Repo.containing(Path(root))
    except GitError:
        return "none"
    return "ok" if repo.has_commits() else "no-commits"


def commit_layout(root: Path, message: str = LAYOUT_COMMIT_MESSAGE) -> str | None:
    """Commit the layout files (only those; `git init` first if needed); None if unchanged.

    Proposals branch from a commit, so a fresh repository needs one before `--propose`.
    Without a configured git identity the commit is made as experimentos <experimentos@localhost>.
    """
    from experimentos.errors import GitError
    from experimentos.store.git import Repo, run_git

    root = Path(root).resolve()
    try:
        repo, _ = Repo.containing(root)
    except GitError:
        run_git(root, "init", "-q")
        repo, _ = Repo.containing(root)
    top = repo.top.resolve()
    rels = [path.resolve().relative_to(top).as_posix() for path in layout_files(root)]
    repo.run("add", "--", *rels)
    if not repo.run("status", "--porcelain", "--", *rels).stdout.strip():
        return None
    # --only: whatever else the user has staged stays staged and out of this commit
    repo.run(
        *repo.identity_args(), "commit", "-q", "-m", message, "--only", "--", *rels, hooks=True
    )
    return repo.commit_of("HEAD")


def starter_root() -> Path:
    """Directory holding the starter wiki/ and policies/ (inside the wheel, or the checkout)."""
    package = Path(__file__).resolve().parents[1]  # experimentos/
    for candidate in (package / "_starter", package.parent):
        if (candidate / "wiki").is_dir() and (candidate / "policies").is_dir():
            return candidate
    raise ExperimentosError("the starter knowledge is missing from this installation")


def copy_starter(root: Path) -> int:
    """Copy the starter knowledge pages into `root`; returns the number of pages copied."""
    source = starter_root()
    count = 0
    for top in ("wiki", "policies"):
        for path in sorted((source / top).rglob("*.md")):
            target = root / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return count
