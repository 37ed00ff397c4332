"""Version ranges and appliesTo matching: does a page apply to this agent, repository and task?

`matches` reads a range in npm (node-semver) or Python (PEP 440) syntax; `applies` checks every
appliesTo key of a page against what is known about the work. What cannot be decided is
"unknown": it neither matches nor excludes, and is named in the reasons.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, Field

from experimentos.models.knowledge import AppliesTo
from experimentos.repofacts.facts import LocalFacts, LocalVersion, python_key

# --- npm: node-semver range semantics (default options: not loose, no includePrerelease) -----


class SemVer(NamedTuple):
    """A semver 2.0.0 version; build metadata is dropped because it never affects order."""

    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    def key(self) -> tuple:
        """Sort key per semver §11: a pre-release sorts before its release; numeric
        identifiers sort before alphanumeric ones; a shorter identifier list sorts first."""
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(map(str, self.pre)) if self.pre else "")


# node-semver refuses a numeric part longer than 16 digits (past Number.MAX_SAFE_INTEGER); so do
# these patterns, which also keeps int() away from numbers it refuses to convert.
_NUM = r"0|[1-9][0-9]{0,15}"
_IDENT = r"(?:0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_PRE = rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
_BUILD = r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
_VERSION_RE = re.compile(rf"[v=]*(?P<M>{_NUM})\.(?P<m>{_NUM})\.(?P<p>{_NUM}){_PRE}{_BUILD}")
_X = rf"{_NUM}|[xX*]"
_PARTIAL_RE = re.compile(
    rf"(?P<op>~>?|\^|<=|>=|<|>|=)?[v=]*"
    rf"(?P<M>{_X})(?:\.(?P<m>{_X})(?:\.(?P<p>{_X}){_PRE}{_BUILD})?)?"
)
_OP_SPACE_RE = re.compile(r"(~>|~|\^|<=|>=|<|>|=)\s+")  # `>= 1.2` is one comparator
_HYPHEN_RE = re.compile(r"(\S+)\s+-\s+(\S+)")
_ZERO = (0,)  # `-0`: the lowest pre-release, so `<2.0.0-0` excludes every 2.0.0 pre-release

Comparator = tuple[str, SemVer]
Partial = tuple[int | None, int | None, int | None, tuple[int | str, ...]]


def _pre(text: str | None) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in text.split(".")) if text else ()


def parse_semver(text: str) -> SemVer | None:
    """`1.2.3`, `v1.2.3-beta.1+build` -> SemVer; anything else -> None."""
    m = _VERSION_RE.fullmatch(text.strip())
    if not m:
        return None
    return SemVer(int(m["M"]), int(m["m"]), int(m["p"]), _pre(m["pre"]))


def _partial(m: re.Match[str]) -> Partial:
    """Major, minor, patch (None where absent or x/X/*) and the pre-release identifiers."""
    M, minor, p = (None if v is None or v in "xX*" else int(v) for v in (m["M"], m["m"], m["p"]))
    # Everything right of an x is an x too: `1.x.3` is `1.x`.
    minor = None if M is None else minor
    p = None if minor is None else p
    return M, minor, p, _pre(m["pre"]) if p is not None else ()


def _tilde(M: int | None, m: int | None, p: int | None, pre: tuple) -> list[Comparator]:
    if M is None:
        return []
    if m is None:
        return [(">=", SemVer(M, 0, 0)), ("<", SemVer(M + 1, 0, 0, _ZERO))]
    return [(">=", SemVer(M, m, p or 0, pre)), ("<", SemVer(M, m + 1, 0, _ZERO))]


def _caret(M: int | None, m: int | None, p: int | None, pre: tuple) -> list[Comparator]:
    if M is None:
        return []
    if m is None:
        return [(">=", SemVer(M, 0, 0)), ("<", SemVer(M + 1, 0, 0, _ZERO))]
    # The upper bound bumps the left-most non-zero part of major.minor.patch.
    if M:
        upper = SemVer(M + 1, 0, 0, _ZERO)
    elif m or p is None:
        upper = SemVer(0, m + 1, 0, _ZERO)
    else:
        upper = SemVer(0, 0, p + 1, _ZERO)
    return [(">=", SemVer(M, m, p or 0, pre)), ("<", upper)]


def _xrange(op: str, M: int | None, m: int | None, p: int | None, pre: tuple) -> list[Comparator]:
    if M is None:
        return [("<", SemVer(0, 0, 0, _ZERO))] if op in ("<", ">") else []
    if p is not None:
        return [(op or "=", SemVer(M, m or 0, p, pre))]
    if op and op != "=":  # an operator on a partial version: fill in zeros, then adjust
        if op == ">":  # >1 is >=2.0.0, >1.2 is >=1.3.0
            op, M, m = (">=", M + 1, 0) if m is None else (">=", M, m + 1)
        elif op == "<=":  # <=1 is <2.0.0-0, <=1.2 is <1.3.0-0
            op, M, m = ("<", M + 1, 0) if m is None else ("<", M, m + 1)
        return [(op, SemVer(M, m or 0, 0, _ZERO if op == "<" else ()))]
    if m is None:
        return [(">=", SemVer(M, 0, 0)), ("<", SemVer(M + 1, 0, 0, _ZERO))]
    return [(">=", SemVer(M, m, 0)), ("<", SemVer(M, m + 1, 0, _ZERO))]


def _hyphen(low: Partial, high: Partial) -> list[Comparator]:
    out: list[Comparator] = []
    if low[0] is not None:
        out.append((">=", SemVer(low[0], low[1] or 0, low[2] or 0, low[3])))
    M, m, p, pre = high
    if M is None:
        return out
    if m is None:
        return [*out, ("<", SemVer(M + 1, 0, 0, _ZERO))]
    if p is None:
        return [*out, ("<", SemVer(M, m + 1, 0, _ZERO))]
    return [*out, ("<=", SemVer(M, m, p, pre))]


def _comparator_set(text: str) -> list[Comparator] | None:
    hyphen = _HYPHEN_RE.fullmatch(text)
    if hyphen:
        sides = [_PARTIAL_RE.fullmatch(side) for side in hyphen.groups()]
        if all(s and not s["op"] for s in sides):
            return _hyphen(_partial(sides[0]), _partial(sides[1]))
    out: list[Comparator] = []
    for token in _OP_SPACE_RE.sub(r"\1", text).split():
        m = _PARTIAL_RE.fullmatch(token)
        if m is None:
            return None
        op = m["op"] or ""
        sugar = _caret if op == "^" else _tilde if op.startswith("~") else None
        out += sugar(*_partial(m)) if sugar else _xrange(op, *_partial(m))
    return out  # empty: any version (`*`, `x`, ``)


def parse_npm_range(text: str) -> list[list[Comparator]] | None:
    """A node-semver range as comparator sets (`||` alternatives); None when it is invalid."""
    sets = [_comparator_set(part.strip()) for part in text.split("||")]
    return None if any(s is None for s in sets) else sets  # type: ignore[return-value]


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
}


def _satisfies_set(version: SemVer, comparators: list[Comparator]) -> bool:
    if not all(_OPS[op](version.key(), bound.key()) for op, bound in comparators):
        return False
    if not version.pre:
        return True
    # node-semver: a pre-release only satisfies a set that names a pre-release of the same
    # major.minor.patch, so `^1.2.3` never pulls in 1.3.0-beta.
    return any(bound.pre and bound[:3] == version[:3] for _, bound in comparators)


def _npm_test(ranges: list[list[Comparator]], version: SemVer) -> bool:
    return any(_satisfies_set(version, comparators) for comparators in ranges)


# --- Python: PEP 440 ---------------------------------------------------------------------------


def pep440_range(text: str) -> SpecifierSet | None:
    """A PEP 440 specifier set; None when it is invalid."""
    try:
        return SpecifierSet(text.strip())
    except (InvalidSpecifier, ValueError):  # ValueError: a number int() refuses (4,300 digits)
        return None


def _pep440_version(text: str) -> Version | None:
    try:
        return Version(text.strip())
    except (InvalidVersion, ValueError):
        return None


def _mentions_prerelease(spec: Specifier) -> bool:
    if spec.operator == "!=" or spec.version.endswith(".*"):
        return False
    version = _pep440_version(spec.version)
    return bool(version and version.is_prerelease)


def _pep440_test(specifier: SpecifierSet, version: Version) -> bool:
    # Pass `prereleases` explicitly: packaging >= 26 lets a lone pre-release match any range,
    # while the rule here is the classic one (only when the range names a pre-release).
    return specifier.contains(version, prereleases=any(map(_mentions_prerelease, specifier)))


_Syntax = tuple[Callable[[str], Any], Callable[[str], Any], Callable[[Any, Any], bool]]
_NPM: _Syntax = (parse_npm_range, parse_semver, _npm_test)
_PEP440: _Syntax = (pep440_range, _pep440_version, _pep440_test)


def matches(specifier: str, version: str, ecosystem: str) -> bool | None:
    """Whether `version` satisfies `specifier`; None when either cannot be parsed.

    The ecosystem's own syntax is tried first; a specifier that only parses in the other one
    (a page may write `>=0.31,<1.0` for an npm package, or `^1.2` for a Python one) is read in
    that syntax, with that syntax's version rules.
    """
    syntaxes = {"npm": (_NPM, _PEP440), "python": (_PEP440, _NPM)}.get(ecosystem)
    if syntaxes is None or not isinstance(specifier, str) or not isinstance(version, str):
        return None
    for parse_range, parse_version, test in syntaxes:
        parsed = parse_range(specifier)
        if parsed is not None:
            exact = parse_version(version)
            try:
                return None if exact is None else test(parsed, exact)
            except ValueError:  # packaging reads a specifier's numbers only when testing
                return None
    return None


def exact_version(entry: LocalVersion) -> str | None:
    """The locked version, else the version of an exact pin in `declared`, else None."""
    if entry.locked:
        return entry.locked
    declared = (entry.declared or "").strip()
    if entry.ecosystem == "npm" and parse_semver(declared):
        return declared.lstrip("v=")
    specs = list(pep440_range(declared) or []) if entry.ecosystem == "python" else []
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


# --- appliesTo ---------------------------------------------------------------------------------


class MatchContext(BaseModel):
    """What is known about the work a page may apply to; None / empty means unknown."""

    agent: str | None = None
    model: str | None = None
    toolchain: str | None = None
    repo_type: str | None = None
    libraries: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    local: LocalFacts | None = None


class Match(BaseModel):
    """The verdict on one page: keys that matched, and why it was excluded or left unknown."""

    applies: bool
    matched: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    # Libraries of the page the request names but the repository's manifests do not declare
    # (a vendored SDK, say): unknown, so the page is kept, with a note.
    undeclared: list[str] = Field(default_factory=list)


Verdict = tuple[bool | None, str]  # True matched, False excluded, None unknown; and why
_TEXT_KEYS = ("agent", "model", "toolchain", "repo_type")


def applies(applies_to: AppliesTo | None, context: MatchContext) -> Match:
    """Check every given appliesTo key; the page applies unless some key contradicts."""
    if applies_to is None:
        return Match(applies=True)
    verdicts: list[tuple[str, Verdict]] = []
    for key in _TEXT_KEYS:
        if wanted := applies_to.values(key):
            verdicts.append((key, _check_text(key, wanted, getattr(context, key))))
    libraries = applies_to.values("library")
    undeclared: list[str] = []
    if libraries:
        verdicts.append(("library", _check_library(libraries, context)))
        if verdicts[-1][1][0] is None:
            undeclared = _undeclared(libraries, context)
    if applies_to.versions:
        verdicts.append(("versions", _check_versions(applies_to.versions, libraries, context)))
    if applies_to.paths:
        verdicts.append(("paths", _check_paths(applies_to.paths, context.files)))
    match = Match(applies=all(v is not False for _, (v, _) in verdicts), undeclared=undeclared)
    for key, (verdict, reason) in verdicts:
        if verdict:
            match.matched.append(key)
        else:
            match.reasons.append(f"{key}: {reason}")
    return match


def _check_text(key: str, wanted: list[str], actual: str | None) -> Verdict:
    shown = " | ".join(wanted)
    if actual is None or not actual.strip():
        return None, f"unknown (page is for {shown}; no {key} given)"
    if any(w.strip().casefold() == actual.strip().casefold() for w in wanted):
        return True, ""
    return False, f"page is for {shown}, not {actual}"


def _undeclared(wanted: list[str], context: MatchContext) -> list[str]:
    known = {python_key(name) for name in context.libraries}
    return [name for name in wanted if python_key(name) in known]


def _check_library(wanted: list[str], context: MatchContext) -> Verdict:
    local = context.local
    if local is not None and any(local.get(name) for name in wanted):
        return True, ""
    if named := _undeclared(wanted, context):
        if local is None or not local.manifests:
            return True, ""  # no manifests to contradict the request
        return None, (
            f"unknown ({' | '.join(named)} is named in the request but not declared by this "
            "repository's manifests: vendored, or installed another way?)"
        )
    names = " | ".join(wanted)
    if local is not None and local.problems:
        return None, f"unknown ({names} not found, but some manifests could not be read)"
    if not context.libraries and not (local and local.manifests):
        return None, f"unknown (page is for {names}; no libraries or manifests given)"
    return False, f"{names} is not used by this repository"


def _check_versions(spec: str, libraries: list[str], context: MatchContext) -> Verdict:
    if not libraries:
        return None, f"unknown (the page names no library to check {spec} against)"
    local = context.local
    entries = [e for e in (local.get(name) for name in libraries) if e] if local else []
    if not entries:
        return None, f"unknown (no local version of {' | '.join(libraries)})"
    unknown, contradictions = [], []
    for entry in entries:
        version = exact_version(entry)
        result = matches(spec, version, entry.ecosystem) if version else None
        if result:
            return True, ""
        if version is None:
            unknown.append(f"{entry.name} has no locked or pinned version")
        elif result is None:
            unknown.append(f"cannot compare {entry.name} {version} with {spec}")
        else:
            contradictions.append(f"{entry.name} {version} does not satisfy {spec}")
    if unknown:
        return None, f"unknown ({'; '.join(unknown)})"
    return False, "; ".join(contradictions)


def _check_paths(globs: list[str], files: list[str]) -> Verdict:
    if not files:
        return None, f"unknown (page is for {', '.join(globs)}; no touched files given)"
    if any(path_matches(glob, path) for glob in globs for path in files):
        return True, ""
    return False, f"no touched file matches {', '.join(globs)}"


def _clean_path(path: str) -> str:
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def path_matches(glob: str, path: str) -> bool:
    """Whether a repo-relative path matches a glob: `**` crosses directories, `*` and `?` do not."""
    return _glob_regex(_clean_path(glob)).fullmatch(_clean_path(path)) is not None


@functools.lru_cache(maxsize=512)
def _glob_regex(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more whole directories
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] in "*?":
            out.append("[^/]*" if glob[i] == "*" else "[^/]")
            i += 1
        elif glob[i] == "[" and (end := _class_end(glob, i)) > 0:
            body = glob[i + 1 : end].replace("\\", "\\\\").replace("[", "\\[")
            if body.startswith("!"):
                body = "^/" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def _class_end(glob: str, start: int) -> int:
    """Index of the `]` closing the class opened at `start`, or -1 (then `[` is literal)."""
    i = start + 1
    i += glob.startswith("!", i)
    i += glob.startswith("]", i)  # a `]` first in the class is a member, as in fnmatch
    return glob.find("]", i)
