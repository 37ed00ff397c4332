"""Package names and version ranges as their ecosystems write them, checked at the boundary.

A library name or version range that reaches a page (`appliesTo.library`, `appliesTo.versions`)
from an option or a thread must be one the ecosystem could hold: an npm package name (scoped or
not, as npm's validate-npm-package-name allows) or a PEP 508 distribution name, and a range in
node-semver or PEP 440 syntax, read by repofacts.versions. Anything else (`../../x`,
`>=0.30 <; rm -rf /`) is refused with the field named.
"""

from __future__ import annotations

import re

from experimentos.repofacts.versions import parse_npm_range, pep440_range

MAX_NAME = 214  # npm's limit; PyPI has none, a longer name is no real package
MAX_RANGE = 200
# npm: lowercase for new packages, but older ones (JSONStream) keep capitals; URL-safe
# characters only; no leading `.` or `_`; a scope is `@scope/`.
_NPM_NAME = re.compile(r"^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$")
# PEP 508: letters, digits, `.`, `_`, `-`; starts and ends with a letter or digit.
_PEP508_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_NPM_RESERVED = frozenset({"node_modules", "favicon.ico"})
_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")


def name_ecosystems(name: str) -> list[str]:
    """The ecosystems whose naming rules allow `name` (npm, python), in that order."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        return []
    found = []
    if _NPM_NAME.match(name) and name.lower() not in _NPM_RESERVED:
        found.append("npm")
    if _PEP508_NAME.match(name):
        found.append("python")
    return found


def name_problem(name: str, ecosystem: str | None = None) -> str | None:
    """Why `name` is not a package name of `ecosystem` (default: of either), or None."""
    allowed = name_ecosystems(name)
    if ecosystem is None and allowed or ecosystem in allowed:
        return None
    which = {"npm": "an npm package name", "python": "a Python (PEP 508) distribution name"}
    wanted = which.get(ecosystem or "", "an npm package name or a Python (PEP 508) name")
    return f"{str(name)[:120]!r} is not {wanted}"


def range_syntaxes(text: str) -> list[str]:
    """The syntaxes `text` is a valid version range in (npm: node-semver, python: PEP 440)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RANGE:
        return []
    if not _PRINTABLE.match(text):  # a newline or control character is no part of a range
        return []
    found = []
    if parse_npm_range(text) is not None:
        found.append("npm")
    if pep440_range(text) is not None:
        found.append("python")
    return found


def range_problem(text: str) -> str | None:
    """Why `text` is not a version range in node-semver or PEP 440 syntax (the two that
    repofacts.versions.matches reads, whatever the library's ecosystem), or None."""
    if range_syntaxes(text):
        return None
    return (
        f"{str(text)[:120]!r} is not a version range (node-semver like `>=0.31 <0.32` or "
        "`^1.2`, or PEP 440 like `>=0.31,<0.32`)"
    )
