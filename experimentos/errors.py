"""Domain errors. They name the file and field; adapters turn them into exit codes or tool errors.

Nothing here imports a framework, so every layer can raise them.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

REDACTED = "[REDACTED]"
# Environment variables whose values are secrets: the ones experimentos reads, and any that is
# named like a credential (agent CLIs run by the matrix read ANTHROPIC_API_KEY and friends).
SECRET_ENV = ("GITHUB_TOKEN", "GH_TOKEN", "EXPERIMENTOS_API_KEY")
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY)$", re.IGNORECASE
)
_MIN_SECRET = 6  # shorter values ("1", "true") would blank out ordinary text
_registered: set[str] = set()


def add_secret(value: str | None) -> None:
    """Remember a secret that did not come from the environment (e.g. a key passed in code)."""
    if value and len(value.strip()) >= _MIN_SECRET:
        _registered.add(value)


def known_secrets() -> list[str]:
    """Every secret this process knows: credential-like environment variables and the
    registered ones, longest first."""
    found = set(_registered)
    for name, value in os.environ.items():
        if (name in SECRET_ENV or _SECRET_NAME.search(name)) and len(value.strip()) >= _MIN_SECRET:
            found.add(value)
    return sorted(found, key=len, reverse=True)


def secret_forms(value: str) -> set[str]:
    """Every form in which `value` may have been sent or echoed: as given, stripped of the
    whitespace around it (a token read from a file ends in a newline; what is sent is
    stripped), and each URL-encoded. Forms shorter than a secret are left out."""
    out = set()
    for form in (value, value.strip()):
        out.update((form, urllib.parse.quote(form, safe=""), urllib.parse.quote_plus(form)))
    return {form for form in out if len(form) >= _MIN_SECRET}


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret (default: `known_secrets()`) in every form it may have been
    sent in (raw, stripped, URL-encoded) replaced by [REDACTED]. Used on everything the tool
    prints or records."""
    if not text:
        return text
    values = known_secrets() if secrets is None else [s for s in secrets if s]
    forms = {form for value in values for form in secret_forms(value)}
    for form in sorted(forms, key=len, reverse=True):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


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
        return redact(f"{where}: {self.message}" if where else self.message)


class UsageError(ExperimentosError):
    """The request itself is malformed (unknown type, empty task, bad option value)."""


class UnsafeId(ExperimentosError):
    """An id that could escape the knowledge root or does not follow the id grammar."""


class NotFound(ExperimentosError):
    """A page or file that does not exist."""


class UnsafePath(ExperimentosError):
    """A path that may not be read or used: it leaves the root through a symlink, loops, or is
    not what it must be (a FIFO named like a page, a symlink where a directory must be).

    `code` is the stable problem code (`symlink-outside-root`, `symlink-loop`,
    `not-a-regular-file`, `not-a-directory`, `read-error`)."""

    def __init__(self, message: str, *, path: str | Path | None = None, code: str):
        self.code = code
        super().__init__(message, path=path)


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
