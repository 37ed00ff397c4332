"""Domain errors. They name the file and field; adapters turn them into exit codes or tool errors.

Nothing here imports a framework, so every layer can raise them.
"""

from __future__ import annotations

from pathlib import Path


class ExperimentosError(Exception):
    """Base class: a problem the user can act on (bad input, missing page, conflict)."""

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.path or ""
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return f"{where}: {self.message}" if where else self.message


class UsageError(ExperimentosError):
    """The request itself is malformed (unknown type, empty task, bad option value)."""


class UnsafeId(ExperimentosError):
    """An id that could escape the knowledge root or does not follow the id grammar."""


class NotFound(ExperimentosError):
    """A page or file that does not exist."""


class InvalidPage(ExperimentosError):
    """A file that cannot be parsed or validated into a page; `problems` lists every reason."""

    def __init__(self, path: str | Path, problems: list):
        self.problems = problems
        first = problems[0] if problems else None
        message = first.message if first else "invalid page"
        if len(problems) > 1:
            more = len(problems) - 1
            message += f" (and {more} more problem{'s' if more != 1 else ''})"
        super().__init__(message, path=path, field=first.field if first else None)


class ConcurrentEdit(ExperimentosError):
    """The file changed on disk since the writer read it; the write was refused."""


class AlreadyExists(ExperimentosError):
    """A create would overwrite an existing file."""


class ReviewRequired(ExperimentosError):
    """A status change that the review rules refuse (e.g. accepting a policy without evidence)."""


class IllegalTransition(ExperimentosError):
    """A status change the lifecycle does not allow; `allowed` names the ones it does."""

    def __init__(self, message: str, allowed: list[str], *, path: str | Path | None = None):
        self.allowed = allowed
        super().__init__(message, path=path, field="status")


class RootNotFound(ExperimentosError):
    """No knowledge root could be found from the current directory."""


class GitError(ExperimentosError):
    """A git command failed, or the repository cannot hold a proposal (no repo, no commits)."""
