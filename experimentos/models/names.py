"""Names that become parts of ids and paths: experiment and test slugs, matrix ids, fixture and
agent names, conditions.

They end up in run ids and in paths (runs/<run-id>.md, results/<matrix-id>.md), so specs and
records are checked against this one grammar when they are parsed: a name from a hostile record
is refused there, never joined into a path.

    experiment     [a-z0-9][a-z0-9-]* (at most 120 characters; tests alike)
    matrix id      as an experiment slug (the default matrix id is the experiment's slug)
    fixture name   [a-z0-9][a-z0-9-]{0,79}
    agent name     [a-z0-9][a-z0-9-]{0,59}
    condition      none | brief | brief-without:<page-id> | knowledge@<git-rev>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from experimentos.models.fixture import FIXTURE_NAME
from experimentos.models.knowledge import PAGE_ID_PATTERN, slug_problem

# Experiment and test slugs come from names (lowercase, non-alphanumerics -> '-'), so they hold
# no dots; that keeps a test id test.<experiment>.<test> unambiguous.
NAME_SLUG_PATTERN = r"[a-z0-9][a-z0-9-]*"
_NAME_SLUG_RE = re.compile(rf"^{NAME_SLUG_PATTERN}$")
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
_NAME_RE = re.compile(NAME_PATTERN)
_FIXTURE_RE = re.compile(FIXTURE_NAME)
_PAGE_RE = re.compile(PAGE_ID_PATTERN)
# A git revision as people write them (sha, tag, branch, HEAD~2, v1.0^{commit}); never an
# option (no leading '-') and never whitespace, so it is safe as one argv element.
_REV_RE = re.compile(r"^[A-Za-z0-9_./~^@{}][A-Za-z0-9_./~^@{}:+-]{0,199}$")
CONDITION_KINDS = ("none", "brief", "brief-without", "knowledge")


def name_slug_problem(slug: str) -> str | None:
    """Why `slug` is not a valid experiment or test slug (or matrix id), or None when it is."""
    problem = slug_problem(slug)
    if problem:
        return problem
    if not _NAME_SLUG_RE.fullmatch(slug):
        return "slug must be lowercase [a-z0-9][a-z0-9-]* (no dots)"
    return None


@dataclass(frozen=True)
class Condition:
    """A parsed condition: kind (none, brief, brief-without, knowledge) and its argument."""

    text: str  # as written in the spec; what run records and reports show
    kind: str
    arg: str | None = None  # the page id (brief-without) or the revision (knowledge)

    @property
    def attaches_server(self) -> bool:
        return self.kind != "none"

    @property
    def slug(self) -> str:
        """The condition as it appears in run ids: lowercase [a-z0-9.-]."""
        if self.kind in ("none", "brief"):
            return self.kind
        if self.kind == "brief-without":
            return f"without-{self.arg}"
        rev = re.sub(r"[^a-z0-9.]+", "-", (self.arg or "").lower())
        rev = re.sub(r"\.{2,}", ".", rev).strip("-.")
        return f"knowledge-{rev or 'rev'}"


def parse_condition(text: str) -> Condition:
    """A condition from its spec text; ValueError saying what is expected."""
    if not isinstance(text, str):
        raise ValueError(f"a condition is a string, got {type(text).__name__}")
    value = text.strip()
    if value in ("none", "brief"):
        return Condition(value, value)
    if value.startswith("brief-without:"):
        page = value.split(":", 1)[1].strip()
        if not _PAGE_RE.fullmatch(page) or page.endswith(".") or ".." in page:
            raise ValueError(
                f"{value!r}: {page!r} is not a page id (expected e.g. brief-without:policy.x)"
            )
        return Condition(value, "brief-without", page)
    if value.startswith("knowledge@"):
        rev = value.split("@", 1)[1].strip()
        if not _REV_RE.fullmatch(rev):
            raise ValueError(
                f"{value!r}: {rev!r} is not a git revision (expected e.g. knowledge@v1.0, "
                "knowledge@HEAD~3 or a commit hash)"
            )
        return Condition(value, "knowledge", rev)
    raise ValueError(
        f"unknown condition {value!r} (expected none, brief, brief-without:<page-id> or "
        "knowledge@<git-rev>)"
    )


def check_matrix_id(value: str) -> str:
    """A matrix id (it names results/<matrix-id>.md and starts every run id of the matrix)."""
    problem = name_slug_problem(value) if isinstance(value, str) else "not a string"
    if problem:
        raise ValueError(f"matrix id {value!r}: {problem}")
    return value


def check_fixture_name(value: str) -> str:
    if not isinstance(value, str) or not _FIXTURE_RE.fullmatch(value):
        raise ValueError(f"fixture name {value!r} must match {FIXTURE_NAME}")
    return value


def check_agent_name(value: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(f"agent name {value!r} must match {NAME_PATTERN} (part of run ids)")
    return value


def check_condition(value: str) -> str:
    """The condition text of a matrix run, as the spec wrote it (whitespace-free)."""
    if not isinstance(value, str) or parse_condition(value).text != value:
        raise ValueError(f"condition {value!r} has surrounding whitespace")
    return value
