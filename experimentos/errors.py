"""Domain errors. They name the file and field; adapters turn them into exit codes or tool errors.

Nothing here imports a framework, so every layer can raise them.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

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


def article(word: str) -> str:
    """`a` or `an` before `word` (by its sound as written: "an intervention", "a policy")."""
    text = str(word).lstrip().lower()
    if not text:
        return "a"
    if text.startswith(("uni", "use", "usu", "url", "eu", "one")):
        return "a"
    if text.startswith(("hour", "honest", "honour", "heir")):
        return "an"
    return "an" if text[0] in "aeiou" else "a"


def nearest(value: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates closest to `value` (a mistyped id or name), best first.

    Ids share long prefixes (`policy.`, `experiment.`), so they are compared whole and also
    by the part after the prefix; a candidate that merely shares the prefix is not "near".
    """
    if not isinstance(value, str) or not value:
        return []
    pool = list(dict.fromkeys(c for c in candidates if isinstance(c, str) and c != value))
    if not pool:
        return []
    scored: dict[str, float] = {}
    tail = value.split(".", 1)[-1]
    for candidate in pool:
        whole = difflib.SequenceMatcher(None, value, candidate).ratio()
        part = difflib.SequenceMatcher(None, tail, candidate.split(".", 1)[-1]).ratio()
        score = max(whole, part) if "." in value else whole
        if tail and tail in candidate:
            score = max(score, 0.8)
        if score >= 0.6:
            scored[candidate] = score
    if not scored:
        return []
    best = max(scored.values())  # far behind the best is noise, not a suggestion
    close = [c for c in scored if scored[c] >= best - 0.1]
    return sorted(close, key=lambda c: (-scored[c], c))[:limit]


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """` (did you mean a or b?)` for the nearest candidates, or "" when none is near."""
    found = nearest(value, candidates)
    if not found:
        return ""
    return f" (did you mean {' or '.join(found)}?)"


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


class InputErrors(ExperimentosError):
    """Several problems with one input, reported together so that one attempt fixes them all
    (a person does not learn of the second mistake only after fixing the first)."""

    def __init__(self, errors: Sequence[ExperimentosError]):
        flat: list[ExperimentosError] = []
        for error in errors:
            flat.extend(error.errors if isinstance(error, InputErrors) else [error])
        self.errors = flat
        first = flat[0]
        more = len(flat) - 1
        message = first.message + f" (and {more} more problem{'s' if more != 1 else ''})"
        super().__init__(message, path=first.path, field=first.field)

    def lines(self) -> list[str]:
        """One line per problem (an invalid file's own problems each on theirs)."""
        out: list[str] = []
        for error in self.errors:
            if isinstance(error, InvalidPage) and error.problems:
                out.extend(str(p) for p in error.problems)
            else:
                out.append(str(error))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


class Collect:
    """Run every check of an input and keep what each raises; `done()` raises them together.

    found = Collect()
    with found.check():
        check_rationale()
    with found.check():
        check_evidence()
    found.done()
    """

    def __init__(self) -> None:
        self.errors: list[ExperimentosError] = []

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except ExperimentosError as exc:
            self.errors.append(exc)

    def add(self, error: ExperimentosError) -> None:
        self.errors.append(error)

    def done(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise several(self.errors)


def several(errors: Sequence[ExperimentosError]) -> InputErrors:
    """InputErrors that is also of the kind all `errors` share (two ReviewRequired stay a
    ReviewRequired to `except` and to --json), so reporting them together changes no caller."""
    flat = [
        e for error in errors for e in (error.errors if isinstance(error, InputErrors) else [error])
    ]
    common = next(c for c in type(flat[0]).__mro__ if all(isinstance(e, c) for e in flat))
    if (
        common in (InputErrors, ExperimentosError)
        or common.__init__ is not ExperimentosError.__init__
    ):
        return InputErrors(flat)
    return _combined(common)(flat)


@functools.cache
def _combined(kind: type) -> type[InputErrors]:
    return type(kind.__name__, (InputErrors, kind), {"__module__": kind.__module__})


def from_validation(
    exc: Any,
    *,
    path: str | Path | None = None,
    prefix: Sequence[str] = (),
    loc: Callable[[dict], list[str]] | None = None,
    what: str = "",
) -> ExperimentosError:
    """A pydantic ValidationError as one domain error that names every bad field (not only
    the first). `loc` maps an error to its field path; `what` prefixes each message."""
    errors: list[ExperimentosError] = []
    for err in exc.errors(include_url=False):
        parts = loc(err) if loc else [str(p) for p in err["loc"]]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join([*prefix, *parts]) or None
        errors.append(UsageError(f"{what}{message}", path=path, field=field))
    unique = list({str(e): e for e in errors}.values())
    return unique[0] if len(unique) == 1 else several(unique)
