"""`experimentos init` and the starter knowledge that ships with the package."""

from __future__ import annotations

import shutil
from pathlib import Path

from experimentos.config import CONFIG_NAME, DEFAULT_CONFIG_TEXT
from experimentos.errors import ExperimentosError
from experimentos.store.files import STATE_DIR
from experimentos.store.paths import PAGE_DIRS

LAYOUT_DIRS = (*sorted(PAGE_DIRS), "experiments", "briefs", "fixtures")
# No trailing slash: the entry must ignore the path whether it is a directory, a file or a
# symlink (a pattern ending in "/" matches directories only).
_GITIGNORE_LINE = STATE_DIR
LAYOUT_COMMIT_MESSAGE = "Start the experimentos knowledge base"


def init_workspace(root: Path) -> list[str]:
    """Create the knowledge layout in `root` (idempotent). Returns what was created."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    for rel in LAYOUT_DIRS:
        directory = root / rel
        if not directory.is_dir():
            directory.mkdir(parents=True)
            (directory / ".gitkeep").touch()
            created.append(rel + "/")
    config = root / CONFIG_NAME
    if not config.exists():
        config.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
        created.append(CONFIG_NAME)
    gitignore = root / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    entries = {line.strip() for line in lines}
    if not entries & {_GITIGNORE_LINE, f"/{_GITIGNORE_LINE}"}:
        prefix = "\n" if lines and gitignore.read_text(encoding="utf-8")[-1:] != "\n" else ""
        with gitignore.open("a", encoding="utf-8") as handle:
            handle.write(f"{prefix}{_GITIGNORE_LINE}\n")
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
