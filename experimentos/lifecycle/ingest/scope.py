"""What a thread is about: the library, the versions it names, and the range they span.

Versions are read from the words around them: the opening post's versions are the affected
ones; a comment's version counts as affected only with a cue ("same here on 0.31.1"); "fixed
in", "works on" and upgrade targets are versions past the problem; downgrade and pin targets
are versions before it. The range runs from the lowest affected version to the first fixed
version after the highest affected one, else to the end of its release line (the next major,
or the next minor on 0.x; for a pre-release, its final release). Ranges are written in the
library's own syntax (node-semver for npm, PEP 440 for Python) and read back with
repofacts.versions, so `appliesTo.versions` excludes the claim in briefs for other lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from packaging.version import InvalidVersion, Version

from experimentos.lifecycle.ingest.text import read_message
from experimentos.lifecycle.ingest.thread import Thread
from experimentos.repofacts.facts import LocalFacts, python_key
from experimentos.repofacts.versions import exact_version, matches

VERSION_PATTERN = (
    r"v?(?P<version>\d+\.\d+(?:\.(?:\d+|[xX*]))?"
    r"(?:-?(?:alpha|beta|rc|pre|next|canary|dev|a|b)\.?\d*)?)"
)
VERSION_RE = re.compile(rf"(?<![\w./-]){VERSION_PATTERN}(?!\.\d)(?![\w-])")
_NAME = r"@?[A-Za-z][\w.-]*(?:/[\w.-]+)?"
# A package name right before a version: "drizzle-kit 0.31.0", "drizzle-kit@0.31.0",
# "`pandas`: `2.0.1`", "urllib3==2.0.2", "drizzle-kit version 0.31.0", "react (19.0.0)".
_NAMED_RE = re.compile(
    rf"(?<![\w@/.-])(?P<name>{_NAME})[`\"']?"
    r"(?:\s*(?:@|===?|~=|>=|<=|:|=)\s*|\s+(?:version\s+|to\s+|from\s+|at\s+|on\s+)?|\s*\(\s*)"
    r"[`\"'(]?\s*$"
)
# A version alone on its line takes its package from the line before: bug templates ask
# "### What version of `drizzle-kit` are you using?" and the answer is "0.31.0".
_ASKED_RE = re.compile(
    rf"(?:version\s+of\s+[`\"']?(?P<of>{_NAME})|^[`\"']?(?P<head>{_NAME})[`\"']?\s*"
    r"(?:version)?\s*:?\s*$)",
    re.IGNORECASE,
)
_ALONE_RE = re.compile(rf"^[`\"']?{VERSION_PATTERN}[`\"']?$")
# Words after a version that say it is past the problem: "1.6.0 is out", "0.31.2 works".
_AFTER_GOOD = re.compile(
    r"^[`\"']?\s*(?:is\s+out|has\s+(?:the\s+fix|them|it|wheels)|works|fixe[sd]\s+it|"
    r"is\s+fine|is\s+released|resolves\s+it)\b",
    re.IGNORECASE,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that precede versions but are not packages, and runtimes and tools named next to their
# own version in bug templates ("Node 20.11.1", "macOS 14.2", "Python 3.11").
NOT_LIBRARIES = _words(
    """to on in at from of and or with version versions v is was be the a an release releases
    since after before until than via using use upgrade upgrading upgraded downgrade downgrading
    pin pinning pinned bump bumping update updating fixed fix latest back stay still also same
    here tried try works worked broken broke node nodejs node.js python py python3 npm npx pnpm
    yarn pip pip3 bun deno os macos mac windows win ubuntu linux debian fedora alpine chrome
    firefox safari edge ios android typescript tsc ts go golang rust rustc java jdk docker
    kubernetes postgres postgresql mysql sqlite redis cuda cudnn gcc clang xcode vscode vs code
    ide cpu gpu arm64 x64 x86_64 amd64 browser engine runtime environment env and/or no not
    has have had for but so we i you they he she our my your its are were been being do does did
    just only even like as by new old any all some every each both first last next previous
    current installed running run used got get see saw then now stable beta alpha rc pre dev
    wheel wheels here there it this that these those them library lib package"""
)
# Words that stand for "the package this thread is about" in advice ("pin it to 0.30.6").
PRONOUNS = _words(
    """it this that them these those your our my the dependency dependencies dep deps package
    packages lib library everything back version versions to on at from with and or"""
)
_FIX_CUE = re.compile(
    r"\b(?:fix(?:ed)?|resolved|released|landed|shipped|available|patched|addressed)"
    r"(?:\s+(?:it|this|that))?\s+(?:in|by|with|since|as of)\s*(?:\S+\s+)?$",
    re.IGNORECASE,
)
_GOOD_CUE = re.compile(
    r"\b(?:works?|worked|working|fine|ok|okay|no (?:issue|problem)s?)\s+(?:\w+\s+)?"
    r"(?:in|on|with|for)\s*(?:\S+\s+)?$|\blast\s+(?:known\s+)?(?:good|working)\s+(?:version\s+)?"
    r"(?:\S+\s+)?(?:is\s+|was\s+)?$",
    re.IGNORECASE,
)
_BACK_CUE = re.compile(
    r"\b(?:downgrad\w*|roll(?:ed|ing)?\s+back|revert\w*|go(?:ing)?\s+back|stay(?:ing)?|"
    r"pin\w*|lock\w*|stick\w*)\s+(?:\S+\s+){0,2}?(?:to|at|on|with|==|@)?\s*(?:\S+\s+)?$",
    re.IGNORECASE,
)
_UP_CUE = re.compile(
    r"\b(?:upgrad\w*|updat\w*|bump\w*|mov\w*|switch\w*)\s+(?:\S+\s+){0,2}?(?:to|@)\s*"
    r"(?:\S+\s+)?$",
    re.IGNORECASE,
)
_AFFECTED_CUE = re.compile(
    r"\b(?:same|also|still|too|happens|happening|reproduc\w*|broken|breaks|broke|fail\w*|"
    r"affected|affects|seeing|getting|having|regress\w*|occurs|error)\b",
    re.IGNORECASE,
)
_AFTER_UPGRADE = re.compile(r"\b(?:after|since|when|once)\b", re.IGNORECASE)
_NPM_CUES = re.compile(
    r"\b(?:npm|npx|pnpm|yarn|package\.json|node_modules|package-lock)\b", re.IGNORECASE
)
_PYTHON_CUES = re.compile(
    r"\b(?:pip|pypi|pyproject|requirements\.txt|poetry|conda|python -m|site-packages)\b",
    re.IGNORECASE,
)

Role = Literal["affected", "fixed", "good", "before"]
Verdict = Literal["inside", "outside", "unknown"]


@dataclass(frozen=True)
class Mention:
    """A version named in the thread, with the package named next to it (if any)."""

    text: str
    name: str | None
    role: Role | None  # None: named without a cue that tells what it is
    comment: int  # index in thread.comments (0 is the opening post)


@dataclass
class Scope:
    """The library a thread is about and the version range it covers."""

    library: str | None
    ecosystem: Literal["npm", "python"]
    affected: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    range: str | None = None
    how: str = ""  # the range in words: where it came from


@dataclass(frozen=True)
class Alignment:
    verdict: Verdict
    reason: str
    installed: str | None = None

    @property
    def tag(self) -> str | None:
        return {"inside": "same-release-line", "outside": "other-release-line"}.get(self.verdict)


def parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a part int() refuses (4,300+ digits)
        return None


def version_mentions(thread: Thread) -> list[Mention]:
    """Every version named in the title and messages (outside code), with its role."""
    out: list[Mention] = []
    texts = [(0, thread.title)]
    for i, comment in enumerate(thread.comments):
        texts += [(i, s) for s in read_message(comment.body).sentences]
    previous = ""
    for index, sentence in texts:
        asked = _ALONE_RE.match(sentence) and _ASKED_RE.search(previous)
        for match in VERSION_RE.finditer(sentence):
            before = sentence[max(0, match.start() - 80) : match.start()]
            named = _NAMED_RE.search(before)
            name = named["name"].strip("`\"'") if named else None
            if name and name.endswith((".", ":")):
                name = None  # the end of the previous sentence or a label, not a package
            if asked:
                name = asked["of"] or asked["head"]
            if name and name.lower().rstrip(":") in NOT_LIBRARIES:
                name = None
            role = _role(sentence, before, index)
            if role != "fixed" and _AFTER_GOOD.match(sentence[match.end() :].strip()):
                role = "good"
            out.append(Mention(match["version"], name, role, index))
        previous = sentence
    return out


def _role(sentence: str, before: str, comment: int) -> Role | None:
    if _FIX_CUE.search(before):
        return "fixed"
    if _GOOD_CUE.search(before):
        return "good"
    if _BACK_CUE.search(before):
        return "before"
    if _UP_CUE.search(before):
        # "After upgrading to 0.31.0, generate breaks" and "I upgraded to 8.0.1 and it still
        # fails" report affected versions; "upgrade to 0.31.2" names a way out.
        if comment == 0 or _AFTER_UPGRADE.search(before) or _AFFECTED_CUE.search(sentence):
            return "affected"
        return "fixed"
    if comment == 0 or _AFFECTED_CUE.search(sentence):
        return "affected"
    return None


def thread_library(thread: Thread, mentions: list[Mention]) -> str | None:
    """The package named next to versions most often (the opening post counts double)."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for n, mention in enumerate(mentions):
        if mention.name is None:
            continue
        key = mention.name.lower()
        counts[key] += 2 if mention.comment == 0 else 1
        first.setdefault(key, n)
    if not counts:
        return None
    hints = {thread.repo.lower(), *(label.lower() for label in thread.labels)}

    def rank(name: str) -> tuple:
        hinted = any(name == h or name in h.split("/") for h in hints)
        return (-counts[name], not hinted, first[name])

    best = min(counts, key=rank)
    # Package names are lowercase; keep a capitalised spelling ("Vite") only if it is the only one.
    spellings = [m.name for m in mentions if m.name and m.name.lower() == best]
    return best if best in spellings else spellings[0]


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
) -> Scope:
    """The library and version range the thread is about (`library`/`version_range` override)."""
    mentions = version_mentions(thread)
    library = library or thread_library(thread, mentions)
    ecosystem = detect_ecosystem(thread, library, facts)
    scope = Scope(library=library, ecosystem=ecosystem)
    if library is None:
        scope.how = "no library is named next to a version in the thread"
        return scope
    key = python_key(library)
    libs = [m for m in mentions if m.name is None or python_key(m.name) == key]
    known_majors = {_major(m.text) for m in libs if m.name is not None}
    # A version named without its package belongs to the library only on a line it is named on
    # ("same on 0.31.1" in a drizzle-kit thread, not "Node 20.11").
    libs = [m for m in libs if m.name is not None or _major(m.text) in known_majors]
    affected = _sorted({m.text for m in libs if m.role == "affected"})
    later = _sorted({m.text for m in libs if m.role in ("fixed", "good")})
    scope.affected = [v for v in affected if "x" not in v.lower() and "*" not in v]
    if version_range:
        scope.range, scope.how = version_range.strip(), "given on the command line"
        scope.fixed = later
        return scope
    parsed = [(v, parse_version(v)) for v in scope.affected]
    parsed = [(t, v) for t, v in parsed if v is not None]
    fixes = [(t, parse_version(t)) for t in later]
    fixes = [(t, v) for t, v in fixes if v is not None]
    if not parsed and not fixes:
        scope.how = f"the thread names no version of {library}"
        return scope
    if not parsed:
        low_text, high = None, None
    else:
        low_text, high = parsed[0][0], parsed[-1][1]
    after = [(t, v) for t, v in fixes if high is None or v > high]
    scope.fixed = [t for t, _ in fixes]
    words = []
    if parsed:
        words.append(f"reported on {', '.join(t for t, _ in parsed)}")
    if after:
        upper_text = after[0][0]
        words.append(f"fixed or working in {upper_text}")
    elif high is not None:
        upper_text = _line_end(high)
        end = "its final release" if high.is_prerelease else "the end of that release line"
        words.append(f"no fix named, so up to {end}")
    else:
        upper_text = None
    scope.range = _write_range(low_text, upper_text, ecosystem)
    scope.how = "; ".join(words)
    return scope


def _major(text: str) -> str:
    return text.split(".", 1)[0]


def _sorted(texts: set[str]) -> list[str]:
    def key(text: str) -> tuple:
        version = parse_version(text.replace(".x", ".0").replace(".X", ".0").replace(".*", ".0"))
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


def _write_range(low: str | None, high: str | None, ecosystem: str) -> str | None:
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
    if facts is None:
        return Alignment("unknown", "no repository given (--repo)")
    if scope.library is None:
        return Alignment("unknown", "the thread names no library")
    entry = facts.get(scope.library)
    if entry is None:
        return Alignment("unknown", f"{scope.library} is not a dependency of {facts.repo}")
    installed = exact_version(entry)
    if installed is None:
        return Alignment(
            "unknown", f"{entry.name} has no locked or pinned version in {entry.source}"
        )
    if scope.range is None:
        return Alignment(
            "unknown",
            f"the thread names no version range ({entry.name} {installed} here)",
            installed,
        )
    result = matches(scope.range, installed, entry.ecosystem)
    where = f"{entry.name} {installed} ({entry.source})"
    if result is None:
        return Alignment("unknown", f"cannot compare {where} with {scope.range}", installed)
    if result:
        return Alignment("inside", f"{where} is inside the thread's range {scope.range}", installed)
    return Alignment(
        "outside",
        f"{where} is outside the thread's range {scope.range}: this advice is about another "
        "release line",
        installed,
    )
