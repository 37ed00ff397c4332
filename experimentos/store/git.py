"""Git plumbing through the git binary. Nothing here changes the user's HEAD, index or tree.

Every command runs with the repository's location pinned (inherited GIT_DIR, GIT_INDEX_FILE, …
are dropped, so a call from inside a git hook cannot reach another index), without optional
locks (so even a read never refreshes the user's index) and, unless asked (a push runs the
user's pre-push hook), without hooks: a post-checkout or pre-commit hook could touch the user's
tree, and the pull request's CI validates the proposal instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from experimentos.errors import GitError

DEFAULT_NAME = "experimentos"
DEFAULT_EMAIL = "experimentos@localhost"
ZERO_OID = "0" * 40
TIMEOUT = 300  # seconds; a push over a slow network is the longest call

# Variables that would point git at another repository, index or object store.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
)
# No automatic gc in the middle of a proposal, no advice on stderr.
_SAFE_CONFIG = ("-c", "gc.auto=0", "-c", "advice.detachedHead=false")
# Hooks off: no hook file can live under /dev/null.
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"  # a push needing a password fails instead of hanging
    return env


def run_git(
    cwd: Path, *args: str, input: bytes | None = None, check: bool = True, hooks: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `cwd`; raise GitError with git's own message when it fails and `check`."""
    try:
        result = subprocess.run(
            ["git", *_SAFE_CONFIG, *(() if hooks else _NO_HOOKS), *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=_env(),
            timeout=TIMEOUT,
        )
    except FileNotFoundError:
        raise GitError("the git executable was not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {TIMEOUT} seconds") from None
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
        raise GitError(f"git {args[0]} failed: {message}")
    return result


def committed_state(root: Path, *parts: str) -> list[str]:
    """Paths under .experimentos/[parts…] that git tracks at `root` ([] when none, or when
    `root` is not in a repository). The state directory holds what this tool writes — the
    index, locks, snapshots, installs — never files a repository ships: a clone that carries
    them (added with `git add -f`) would hand this tool someone else's index or locks."""
    rel = "/".join((".experimentos", *parts))
    try:
        listed = run_git(root, "ls-files", "-z", "--", rel, check=False)
    except GitError:
        return []  # no git here: nothing can be committed
    if listed.returncode != 0:
        return []  # not a repository
    return [n.decode("utf-8", "replace") for n in listed.stdout.split(b"\0") if n]


def committed_state_message(names: list[str]) -> str:
    """One sentence for `committed_state`'s answer: what is wrong and the command that fixes it."""
    more = f" and {len(names) - 1} more" if len(names) > 1 else ""
    return (
        f"{names[0]}{more} committed to git: .experimentos/ holds the index, locks, snapshots "
        "and installs this tool writes, never files a repository ships; remove them from git "
        "(git rm -r --cached .experimentos) and run again"
    )


class Repo:
    """A git repository with a work tree, addressed by its top-level directory."""

    def __init__(self, top: Path):
        self.top = Path(top)

    @classmethod
    def containing(cls, path: Path) -> tuple[Repo, str]:
        """The repository holding `path`, and `path`'s prefix inside it ("" at the top)."""
        result = run_git(path, "rev-parse", "--show-toplevel", "--show-prefix", check=False)
        if result.returncode != 0:
            raise GitError(
                f"{path} is not inside a git repository; run `git init` and commit the "
                "knowledge base before proposing changes",
                path=path,
            )
        lines = result.stdout.decode("utf-8").splitlines()
        if not lines or not lines[0]:
            raise GitError(f"{path} is inside a bare git repository (no work tree)", path=path)
        prefix = lines[1] if len(lines) > 1 else ""
        return cls(Path(lines[0])), prefix.rstrip("/")

    def __repr__(self) -> str:
        return f"Repo({str(self.top)!r})"

    # --- reading ------------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        cwd: Path | None = None,
        hooks: bool = False,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git in the work tree (or `cwd`, e.g. a proposal's private worktree)."""
        return run_git(cwd or self.top, *args, input=input, check=check, hooks=hooks)

    def text(self, *args: str, cwd: Path | None = None) -> str:
        """The stdout of a git command as text, without the trailing newline."""
        return self.run(*args, cwd=cwd).stdout.decode("utf-8", "replace").rstrip("\n")

    def commit_of(self, rev: str) -> str | None:
        """The commit id `rev` names, or None when it names no commit."""
        result = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if result.returncode != 0:
            return None
        return result.stdout.decode().strip() or None

    def current_branch(self) -> str | None:
        """The checked-out branch's short name, or None with a detached HEAD."""
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if result.returncode != 0:
            return None
        return result.stdout.decode().strip() or None

    def has_commits(self) -> bool:
        return self.run("rev-list", "-n", "1", "--all", check=False).stdout.strip() != b""

    def blob(self, commit: str, path: str) -> bytes | None:
        """The bytes of `path` (repo-relative) at `commit`, or None when it is not a file there."""
        result = self.run("cat-file", "blob", f"{commit}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def message(self, commit: str) -> str:
        return self.text("log", "-1", "--format=%B", commit)

    def identity_args(self) -> list[str]:
        """`-c user.name=… -c user.email=…` for whichever of the two is not configured."""
        args: list[str] = []
        env = os.environ
        for key, fallback, env_names in (
            ("user.name", DEFAULT_NAME, ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
            ("user.email", DEFAULT_EMAIL, ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")),
        ):
            if all(env.get(name) for name in env_names):
                continue
            configured = self.run("config", "--get", key, check=False).stdout.strip()
            if not configured:
                args += ["-c", f"{key}={fallback}"]
        return args

    # --- refs ---------------------------------------------------------------------------------

    def valid_branch_name(self, name: str) -> bool:
        return self.run("check-ref-format", "--branch", name, check=False).returncode == 0

    def create_branch(self, name: str, commit: str, reason: str) -> bool:
        """Point a new branch at `commit`; False (and nothing changed) when it already exists."""
        ref = f"refs/heads/{name}"
        if self.commit_of(ref) is not None:
            return False
        # The zero old-value makes the creation atomic: a branch made meanwhile is not replaced.
        result = self.run("update-ref", "-m", reason, ref, commit, ZERO_OID, check=False)
        if result.returncode == 0:
            return True
        if self.commit_of(ref) is not None:
            return False
        message = result.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"cannot create branch {name!r}: {message}")

    def remote_url(self, remote: str) -> str:
        """The fetch URL of a remote (with url.insteadOf applied)."""
        result = self.run("remote", "get-url", "--end-of-options", remote, check=False)
        if result.returncode != 0:
            raise GitError(
                f"no remote named {remote!r}; add one with `git remote add {remote} URL`",
                field="remote",
            )
        return result.stdout.decode().strip()

    # --- worktrees ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def worktree(self, commit: str) -> Iterator[Path]:
        """A private, detached work tree at `commit` in a temp directory, removed afterwards."""
        holder = Path(tempfile.mkdtemp(prefix="xos-proposal-"))
        path = holder / "tree"
        try:
            self.run("worktree", "add", "--detach", "--quiet", str(path), commit)
            yield path
        finally:
            # Not `git worktree prune`: that would also drop the user's own worktrees whose
            # directories are offline. A leftover entry of ours is pruned by git's own gc.
            self.run("worktree", "remove", "--force", "--force", str(path), check=False)
            shutil.rmtree(holder, ignore_errors=True)
