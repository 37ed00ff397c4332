"""What a thread is about: the library, the range of its versions the thread covers, and how a
repository's installed version aligns with a range.

The versions and their roles come from mentions.py. The range runs from the lowest affected
version to the first fixed version after the highest affected one (a final release rather than
its own pre-releases), else to the end of its release line (the next major, or the next minor on
0.x; for a pre-release, its final release), or on without end when the thread says so
("setuptools>=58", "removed in Pillow 10.0.0", "since 8.0.0"). "0.22.x" and "Flask V1.X.X" name
a whole line. Ranges are written in the
library's own syntax (node-semver for npm, PEP 440 for Python) and read back with
repofacts.versions, so `appliesTo.versions` excludes the claim in briefs for other lines.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from packaging.version import Version

from experimentos.lifecycle.ingest.kinds import repo_package
from experimentos.lifecycle.ingest.mentions import (
    RUNTIME_WORDS,
    Mention,
    line_start,
    thread_library,
    version_mentions,
)
from experimentos.lifecycle.ingest.roles import parse_version
from experimentos.lifecycle.ingest.thread import Thread
from experimentos.repofacts.facts import LocalFacts, python_key
from experimentos.repofacts.versions import exact_version, matches

_NPM_CUES = re.compile(
    r"\b(?:npm|npx|pnpm|yarn|package\.json|node_modules|package-lock|require\(|commonjs|esm|"
    r"es\s+module|webpack|node\.?js|typescript|\.tsx?|\.jsx?|\.mjs|\.cjs|react|vite|eslint|jest|"
    r"node[@\s]v?\d+|dev\s*dependenc(?:y|ies)|devDependencies)\b",
    re.IGNORECASE,
)


_PYTHON_CUES = re.compile(
    r"\b(?:pip3?|pypi|pyproject|requirements\.txt|poetry|conda|python3?|site-packages|setup\.py|"
    r"traceback|importerror|modulenotfounderror|\.py|venv|virtualenv|__init__)\b",
    re.IGNORECASE,
)


Verdict = Literal["inside", "outside", "unknown"]


@dataclass
class Scope:
    """The library a thread is about and the version range it covers."""

    library: str | None
    ecosystem: Literal["npm", "python"]
    affected: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    range: str | None = None
    how: str = ""  # the range in words: where it came from
    prereleases: list[str] = field(default_factory=list)  # pre-releases named as having the fix
    mentions: list[Mention] = field(default_factory=list)
    low: str | None = None  # the range's bounds, when it was read from the thread
    high: str | None = None


@dataclass(frozen=True)
class Alignment:
    verdict: Verdict
    reason: str
    installed: str | None = None

    @property
    def tag(self) -> str | None:
        return {"inside": "same-release-line", "outside": "other-release-line"}.get(self.verdict)


def detect_ecosystem(
    thread: Thread, library: str | None, facts: LocalFacts | None
) -> Literal["npm", "python"]:
    """npm or python: the repository's own entry first, then cues in the thread's words."""
    if facts is not None and library:
        entry = facts.get(library)
        if entry is not None:
            return entry.ecosystem
    text = " ".join([thread.title, *(c.body for c in thread.comments)])
    npm, python = len(_NPM_CUES.findall(text)), len(_PYTHON_CUES.findall(text))
    if npm != python:
        return "npm" if npm > python else "python"
    if library and (library.startswith("@") or "/" in library):
        return "npm"
    return "python"


def thread_scope(
    thread: Thread,
    facts: LocalFacts | None = None,
    library: str | None = None,
    version_range: str | None = None,
    targets: Collection[tuple[str, str, int]] = (),
) -> Scope:
    """The library and version range the thread is about (`library`/`version_range` override).

    `targets` are the (library, version, comment) of what the thread's advice moves to: in the
    comment that says to install it, a version is not reported broken, nor is it in a comment
    that says it works (elsewhere it may be: "1.3.2 fails too")."""
    mentions = version_mentions(thread)
    library = library or thread_library(thread, mentions)
    ecosystem = detect_ecosystem(thread, library, facts)
    scope = Scope(library=library, ecosystem=ecosystem, mentions=mentions)
    if library is None:
        scope.how = "no library is named next to a version in the thread"
        return scope
    key = python_key(library)
    # the repository's name stands for its packages: "React Router 6.0.1" is react-router-dom's
    repo = python_key(thread.repo)
    family = {key} | ({repo} if key.startswith(f"{repo}-") else set())
    libs = [m for m in mentions if m.name is None or python_key(m.name) in family]
    libs = [
        m
        for m in libs
        if m.name is None or m.name not in RUNTIME_WORDS or python_key(m.name) == key
    ]
    known_majors = {_major(m.text) for m in libs if m.name is not None}
    if not known_majors and key in (python_key(thread.repo), python_key(repo_package(thread.repo))):
        known_majors = {_major(m.text) for m in libs}  # the tracker's own, unnamed versions
    # A version named without its package belongs to the library only on a line it is named on
    # ("same on 0.31.1" in a drizzle-kit thread, not "Node 20.11").
    naming = _comments_naming(thread, library)
    libs = [
        m
        for m in libs
        if m.name is not None
        or _major(m.text) in known_majors
        or (m.comment in naming and not m.near_runtime)
    ]
    past = {(v, n) for name, v, n in targets if python_key(name) == key}
    past |= {(m.text, m.comment) for m in libs if m.role in ("good", "fixed", "before")}
    reported = {m.text for m in libs if m.role == "affected"}
    affected = _sorted(
        {m.text for m in libs if m.role == "affected" and (m.text, m.comment) not in past}
    )
    if not affected:
        affected = _sorted(reported)  # the only version reported: a misread target, not a fix
    later = _sorted({m.text for m in libs if m.role in ("fixed", "good")})
    opened = any(m.open for m in libs if m.role == "affected")
    scope.affected = [v for v in affected if not _is_line(v)]
    scope.prereleases = [v for v in later if (parse_version(v) or Version("0")).is_prerelease]
    if version_range:
        scope.range, scope.how = version_range.strip(), "given on the command line"
        scope.fixed = later
        return scope
    pulled = _published_by_mistake(thread)
    if pulled:
        # "Versions 0.2.4 and 0.2.5 were published by mistake": those releases, and no others
        low_v, high_v = pulled[0], pulled[-1]
        sep = "," if ecosystem == "python" else " "
        scope.range = f">={low_v}{sep}<={high_v}"
        scope.low, scope.high = low_v, None
        scope.how = f"the releases published by mistake: {', '.join(pulled)}"
        return scope
    # "0.22.x" and "V1.X.X" name a whole line: from its first version to the next line.
    parsed = [(t, parse_version(line_start(t))) for t in affected]
    parsed = [(t, v) for t, v in parsed if v is not None]
    fixes = [(t, parse_version(t)) for t in later]
    fixes = [(t, v) for t, v in fixes if v is not None]
    if not parsed:
        # nothing reported broken: a version that merely works says nothing of a range
        real = {m.text for m in libs if m.role == "fixed"}
        fixes = [(t, v) for t, v in fixes if t in real]
    if not parsed and not fixes:
        scope.how = f"the thread names no version of {library}"
        return scope
    if not parsed:
        low_text, high = None, None
    else:
        low_text, high = line_start(parsed[0][0]), max(v for _, v in parsed)
    after = [(t, v) for t, v in fixes if high is None or v > high]
    scope.fixed = [t for t, _ in fixes]
    words = []
    if parsed:
        words.append(f"reported on {', '.join(t for t, _ in parsed)}")
    if after:
        upper_text = _first_fix(after)
        words.append(f"fixed or working in {upper_text}")
    elif opened:
        upper_text = None
        words.append("every later version too, as the thread says")
    elif high is not None:
        ends = [_x_line_end(t) for t, v in parsed if v == high and _is_line(t)]
        upper_text = ends[0] if ends else _line_end(high)
        end = "its final release" if high.is_prerelease else "the end of that release line"
        words.append(f"no fix named, so up to {end}")
    else:
        upper_text = None
    if scope.prereleases:
        words.append(
            f"pre-release{'s' if len(scope.prereleases) > 1 else ''} with the fix: "
            + ", ".join(scope.prereleases)
        )
    scope.range = write_range(low_text, upper_text, ecosystem)
    scope.low, scope.high = low_text, upper_text
    scope.how = "; ".join(words)
    return scope


# "Versions 0.2.4 and 0.2.5 were accidentally published", "1.4.1 and 1.4.2 went out by
# mistake", "release 3.0.1 was published unintentionally": releases the project pulled
_LISTED_VERSION = r"[`'\"]?v?\d+(?:\.\d+)+[`'\"]?"
_VERSION_LIST_END_RE = re.compile(
    rf"{_LISTED_VERSION}(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){_LISTED_VERSION})*\s*$"
)
# What is said of the releases, after their list; the list is read backwards from here, in a
# bounded window (a list matched forwards from every position took time growing with the
# square of a long list of versions, and with overlapping separators doubling with each one).
_BY_MISTAKE_RE = re.compile(
    r"(?<![\w.])(?:were|was|went|got|have\s+been|has\s+been)\s+(?:\w+\s+){0,2}?"
    r"(?:(?:accidentally|unintentionally|mistakenly|erroneously)\s+(?:published|released|pushed|out)|"
    r"(?:published|released|pushed|out)\s+(?:\w+\s+){0,4}?"
    r"(?:by\s+(?:mistake|accident)|accidentally|unintentionally|mistakenly|in\s+error))",
    re.IGNORECASE,
)
_LIST_WINDOW = 300  # characters before the verb a list of pulled releases may take


def _published_by_mistake(thread: Thread) -> list[str]:
    """The releases a maintainer's opening post (or title) says went out by mistake, in order."""
    opener = thread.comments[0] if thread.comments else None
    if opener is None or not opener.maintainer:
        return []
    text = thread.title + "\n" + opener.body
    found: set[str] = set()
    for match in _BY_MISTAKE_RE.finditer(text):
        listed = _VERSION_LIST_END_RE.search(
            text[max(0, match.start() - _LIST_WINDOW) : match.start()]
        )
        if listed is not None:
            found |= set(re.findall(r"\d+(?:\.\d+)+", listed.group()))
    ordered = [(v, parse_version(v)) for v in found]
    return [v for v, p in sorted((x for x in ordered if x[1]), key=lambda x: x[1])]


def _is_line(text: str) -> bool:
    return bool(re.search(r"\.[xX*]", text))


def _x_line_end(text: str) -> str:
    """The first version after the line "0.22.x" (0.23.0) or "1.x.x" (2.0.0)."""
    parts = re.split(r"\.", text)
    fixed = [int(p) for p in parts if p.isdigit()]
    if len(fixed) >= 2:
        return f"{fixed[0]}.{fixed[1] + 1}.0"
    return f"{fixed[0] + 1}.0.0"


def _first_fix(after: list[tuple[str, Version]]) -> str:
    """The first version with the fix; a final release rather than its own pre-releases
    (`<2.1.0` already leaves 2.1.0rc2 out, in PEP 440 and node-semver alike)."""
    text, first = min(after, key=lambda item: item[1])
    if first.is_prerelease:
        finals = [
            t for t, v in after if not v.is_prerelease and v.base_version == first.base_version
        ]
        if finals:
            return finals[0]
    return text


def _comments_naming(thread: Thread, library: str) -> set[int]:
    """Comments that name the library: their unnamed versions are its ("I was on 4.28")."""
    word = re.compile(rf"(?<![\w-]){re.escape(library)}(?![\w-])", re.IGNORECASE)
    out = {i for i, c in enumerate(thread.comments) if word.search(c.body)}
    return out | ({0} if word.search(thread.title) else set())


def _major(text: str) -> str:
    return text.split(".", 1)[0]


def _sorted(texts: set[str]) -> list[str]:
    def key(text: str) -> tuple:
        version = parse_version(line_start(text))
        return (version is None, version or Version("0"), text)

    return sorted(texts, key=key)


def _line_end(version: Version) -> str:
    """The first version after `version`'s release line (its final release for a pre-release)."""
    if version.is_prerelease:
        return version.base_version
    major, minor = (list(version.release) + [0, 0])[:2]
    return f"{major + 1}.0.0" if major >= 1 else f"0.{minor + 1}.0"


def _semver(text: str) -> str:
    """A version as node-semver writes it: three parts, `-beta.1` pre-release."""
    version = parse_version(text)
    if version is None:
        return text
    release = ".".join(str(p) for p in (list(version.release) + [0, 0])[:3])
    if version.pre is None:
        return release
    phase = {"a": "alpha", "b": "beta", "rc": "rc"}[version.pre[0]]
    original = re.search(r"-?(alpha|beta|rc|pre|next|canary|a|b)\.?(\d*)$", text)
    if original and original.group(1) in ("pre", "next", "canary"):
        phase = original.group(1)
    return f"{release}-{phase}.{version.pre[1]}"


def write_range(low: str | None, high: str | None, ecosystem: str) -> str | None:
    if low is None and high is None:
        return None
    if ecosystem == "npm":
        parts = ([f">={_semver(low)}"] if low else []) + ([f"<{_semver(high)}"] if high else [])
        return " ".join(parts)
    low_v = parse_version(low) if low else None
    high_v = parse_version(high) if high else None
    parts = [f">={low_v}"] if low_v else []
    if high_v is not None:
        if low_v is not None and low_v.is_prerelease and not high_v.is_prerelease:
            # PEP 440: `<2.0.0` never admits 2.0.0's own pre-releases; a pre-release-only range
            # must end below the final release, after every candidate.
            parts.append(f"<{high_v}rc999")
        else:
            parts.append(f"<{high_v}")
    return ",".join(parts)


def align(scope: Scope, facts: LocalFacts | None) -> Alignment:
    """Whether the repository's installed version of the library is inside the thread's range."""
    return align_range(scope.library, scope.range, facts)


def align_range(
    library: str | None, version_range: str | None, facts: LocalFacts | None
) -> Alignment:
    """Whether the repository's installed version of `library` is inside `version_range`."""
    if facts is None:
        return Alignment("unknown", "no repository given (--repo)")
    if library is None:
        return Alignment("unknown", "the thread names no library")
    entry = facts.get(library)
    if entry is None:
        return Alignment("unknown", f"{library} is not a dependency of {facts.repo}")
    installed = exact_version(entry)
    if installed is None:
        return Alignment(
            "unknown", f"{entry.name} has no locked or pinned version in {entry.source}"
        )
    if version_range is None:
        return Alignment(
            "unknown",
            f"the thread names no version range ({entry.name} {installed} here)",
            installed,
        )
    result = matches(version_range, installed, entry.ecosystem)
    where = f"{entry.name} {installed} ({entry.source})"
    if result is None:
        return Alignment("unknown", f"cannot compare {where} with {version_range}", installed)
    if result:
        return Alignment("inside", f"{where} is inside the range {version_range}", installed)
    return Alignment(
        "outside",
        f"{where} is outside the range {version_range}: this advice is about another release line",
        installed,
    )
