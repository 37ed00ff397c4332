"""The release line a statement is about: "On 1.x, call …", "don't upgrade a 1.x project",
"if you are still on v1", "compatible with numpy < v2", "Flask V1.X.X users".

A line is a range of one library's versions (the thread's library unless the phrase names
another), written in the ecosystem's syntax. `line_in` finds the line a clause names; the
advice it gives is for installed versions on that line, whatever range the thread as a whole
is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from experimentos.repofacts.facts import python_key

_NAME = r"@?[A-Za-z][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)?"
# "1.x", "V1.X.X", "0.22.x", "1.x.x"
_X_LINE = r"[vV]?(?P<major>\d+)(?:\.(?P<minor>\d+))?\.[xX*](?:\.[xX*])?"
_WORDS = (
    r"(?:line|branch|series|releases?|versions?|projects?|apps?|applications?|users?|installs?|"
    r"codebases?|code\s*bases?|services?|repos?|repositories|deployments?|setups?)"
)
# "on 1.x", "for the 1.x line", "a 1.x project", "1.x users", "if you're (still) on v1",
# "(1.x only)", "in 2.x" — with an optional library: "on acme-orm 1.x", "Flask V1.X.X users".
_ON_LINE_RES = [
    re.compile(
        rf"\b(?:on|for|with|in|from|stuck\s+on|still\s+on|using)\s+(?:the\s+|a\s+|an\s+)?"
        rf"(?:(?P<lib>{_NAME})\s+)?{_X_LINE}(?:\s+{_WORDS})?(?![\w.])",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:a|an|the|your|any)\s+(?:(?P<lib>{_NAME})\s+)?{_X_LINE}\s+{_WORDS}\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?:^|[\s(])(?:(?P<lib>{_NAME})\s+)?{_X_LINE}\s+(?:users|projects|only|line|branch|apps|applications|"
        rf"installs|codebases|services|repos|deployments|setups)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:if\s+you(?:'re|\s+are)\s+(?:still\s+)?on|still\s+on|stuck\s+on)\s+(?:the\s+)?"
        rf"(?:(?P<lib>{_NAME})\s+)?[vV](?P<major>\d+)(?P<minor>)(?![\w.])",
        re.IGNORECASE,
    ),
]
# "compatible with numpy < v2", "for numpy >= 2", "with numpy<2.0"
_BOUND_RE = re.compile(
    rf"\b(?:with|for|on|requires?|needs?)\s+(?P<lib>{_NAME})\s*(?P<op><=|>=|<|>)\s*"
    rf"[vV]?(?P<ver>\d+(?:\.\d+){{0,2}})\b",
    re.IGNORECASE,
)
_NOT_LIBS = frozenset(
    {
        "the",
        "a",
        "an",
        "your",
        "this",
        "that",
        "version",
        "versions",
        "v",
        "release",
        "line",
        "last",
        "latest",
        "first",
        "previous",
        "next",
        "new",
        "old",
        "older",
        "final",
        "stable",
    }
)


# Verbs whose object a line can be ("upgrade 1.x projects", "make 1.x apps upgrade"): never the
# library the line is of.
_VERB_RE = re.compile(
    r"(?:upgrade|update|bump|move|switch|migrate|port|jump|keep|leave|make|let|force|get|run|"
    r"use|install|test|build|deploy|ship|support|drop|have|help|tell|ask|want)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    """Versions of `library` (None: the thread's library) a statement is about."""

    library: str | None
    low: str | None  # inclusive
    high: str | None  # exclusive
    text: str  # the words that named it

    def spec(self, ecosystem: str) -> str:
        return write_spec(self.low, self.high, ecosystem)


def write_spec(low: str | None, high: str | None, ecosystem: str) -> str:
    if ecosystem == "npm":
        parts = ([f">={_semver(low)}"] if low else []) + ([f"<{_semver(high)}"] if high else [])
        return " ".join(parts) or "*"
    parts = ([f">={low}"] if low else []) + ([f"<{high}"] if high else [])
    return ",".join(parts) or ""


def _semver(text: str) -> str:
    parts = (text.split(".") + ["0", "0"])[:3]
    return ".".join(parts)


def line_in(text: str, library: str | None = None) -> Line | None:
    """The release line `text` names, if any."""
    plain = text.replace("`", "")
    bound = _BOUND_RE.search(plain)
    if bound and bound["lib"].lower() not in _NOT_LIBS:
        ver, op = bound["ver"], bound["op"]
        low, high = (ver, None) if op in (">=", ">") else (None, ver)
        return Line(_lib(bound["lib"], library), low, high, bound.group(0).strip())
    match = next((m for m in (r.search(plain) for r in _ON_LINE_RES) if m), None)
    if not match:
        return None
    if re.search(
        r"\b(?:stay|stays|stayed|staying|stick|sticks|sticking|stuck|remain|remains|keep|hold|"
        r"go|going|went|switch|switched|move|moved|revert|reverted|downgrade|downgraded|roll\s+back)"
        r"(?:\s+\w+)?\s*$",
        plain[: match.start()],
        re.IGNORECASE,
    ) and re.match(r"(?:on|with|to|in)\b", match.group(0), re.I):
        return None  # "stay on 1.x", "stick with 4.x": the target of the act, not its line
    lib = match["lib"]
    if lib and _VERB_RE.fullmatch(lib):
        lib = None  # "don't upgrade 1.x projects", "move 1.x apps": the verb, not a package
    if lib and lib.lower() in ("last", "latest", "final", "previous", "newest"):
        return None  # "pin vite to 4.5.3 (the last 4.x release)" names a target, not a line
    if lib and (lib.lower() in _NOT_LIBS or lib.lower() in ("on", "for", "with", "in")):
        lib = None
    major = int(match["major"])
    minor = int(match["minor"]) if match["minor"] else None
    if minor is not None:
        low, high = f"{major}.{minor}", f"{major}.{minor + 1}"
    elif major == 0:
        return None  # "0.x" is not one line
    else:
        low, high = f"{major}.0", f"{major + 1}.0"
    return Line(_lib(lib, library), low, high, match.group(0).strip(" ("))


def _lib(name: str | None, library: str | None) -> str | None:
    """None when the phrase names the thread's own library (or none)."""
    if name is None:
        return None
    if library is not None and python_key(name) == python_key(library):
        return None
    return name
