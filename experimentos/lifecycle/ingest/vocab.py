"""The words advice is made of: verbs by direction, version and package patterns, package-manager
commands, and the Action an instruction comes down to (with the key that names its claim).

Seven kinds of action, each with a stable key (a downgrade and a pin of the same target share
one key, so a re-ingest finds the claim it made before):

  upgrade     "upgrade drizzle-kit to 0.31.2", "Fixed in v0.10.1", "bump Flask to 2.2.2"
  downgrade   "downgrade to 0.30.6", "use the old version: pip install Pillow==9.0.0"
  pin         "pin urllib3<2", "stay on vite 4", "Changing this to ^4 fixed it"
  flag        "pass `--pre` to pip", "npm config set ignore-scripts false"
  use         "use `pd.concat` instead of `df.append`", "ANTIALIAS was replaced by LANCZOS"
  avoid       "don't upgrade a 1.x project to 2.x", "don't use `df.append`"
  workaround  "Workaround: add `transformIgnorePatterns` …", "call `session.flush()` first"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from packaging.version import InvalidVersion, Version

from experimentos.lifecycle.ingest.lines import Line

Kind = Literal["upgrade", "downgrade", "pin", "flag", "use", "avoid", "workaround"]


KINDS: tuple[Kind, ...] = ("upgrade", "downgrade", "pin", "flag", "use", "avoid", "workaround")


KEY_PREFIX = {"downgrade": "pin"}  # a downgrade and a pin of one target are one claim


NAME = r"@?[A-Za-z][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)?"


VER = r"[vV]?\d+(?:\.(?:\d+|[xX*]{1,2}))*(?:[.-]?(?:a|b|rc|alpha|beta|pre|dev|canary|next)\.?\d*)?"


TAG = r"(?:latest|next|beta|canary|lts)"


OP = r"(?:===|==|>=|<=|~=|!=|=>|=<|<|>|\^|~|=)"


UP_VERBS = (
    r"(?:upgrad(?:e|es|ed|ing)|updat(?:e|es|ed|ing)|bump(?:s|ed|ing)?|"
    r"mov(?:e|es|ed|ing)\s+(?:up\s+)?to|switch(?:es|ed|ing)?\s+to)"
)


# Verbs that move a package to a version without saying which way ("point the x library to
# version 2.9.1", "switched x to 2.9.1", "move x to release 2.9.1"): the construction (a package,
# a few filler words, "to", a version) carries the act; the direction comes from the versions.
_ACT_VERBS = (
    r"point(?:s|ed|ing)?|switch(?:es|ed|ing)?|mov(?:e|es|ed|ing)|bring(?:s|ing)?|brought|"
    r"put(?:s|ting)?|set(?:s|ting)?|chang(?:e|es|ed|ing)|forc(?:e|es|ed|ing)|peg(?:s|ged|ging)?"
)


BACK_VERBS = (
    r"(?:downgrad(?:e|es|ed|ing)|roll(?:s|ed|ing)?\s+(?:(?:the|my|our|it|this|that|[\w.-]+)\s+){0,2}back|"
    r"revert(?:s|ed|ing)?|restor(?:e|es|ed|ing)|"
    r"go(?:es|ing)?\s+back|went\s+back|return(?:s|ed|ing)?\s+(?:chalk\s+)?to|"
    r"fall(?:s|ing)?\s+back|fell\s+back|reduc(?:e|es|ed|ing)|degrad(?:e|es|ed|ing)|"
    # any act that takes a package "back" ("bring the x package back to 2.9.1", "set it back to")
    rf"(?:{_ACT_VERBS})\s+(?:(?:the|my|our|your|it|this|that|[\w.-]+)\s+){{0,3}}back\b)"
)


PIN_VERBS = (
    r"(?:pin(?:s|ned|ning)?|lock(?:s|ed|ing)?|freez(?:e|es|ing)|froze|hold(?:s|ing)?(?:\s+back)?|"
    r"held(?:\s+back)?|stay(?:s|ed|ing)?|remain(?:s|ed|ing)?|stick(?:s|ing)?|keep(?:s|ing)?|kept|constrain(?:s|ed|ing)?|"
    r"limit(?:s|ed|ing)?|restrict(?:s|ed|ing)?|cap(?:s|ped|ping)?)"
)


NEUTRAL_VERBS = (
    r"(?:(?:re)?install(?:s|ed|ing)?|add(?:s|ed|ing)?|us(?:e|es|ed|ing)|set(?:s|ting)?|"
    r"chang(?:e|es|ed|ing)|tr(?:y|ies|ied|ying)|put(?:s|ting)?|specify(?:ing)?|"
    r"requir(?:e|ing)|run(?:s|ning)?|rerun|execut(?:e|ing)|get(?:ting)?|"
    # "go to version 4.1.9": the verb says no way, the versions do
    r"go(?:es|ing)?(?=\s+to\s+(?:v|version|release|\d))|went(?=\s+to\s+(?:v|version|release|\d))|"
    rf"{_ACT_VERBS})"
)


FLAG_VERBS = (
    r"(?:pass(?:es|ed|ing)?|add(?:s|ed|ing)?|us(?:e|es|ed|ing)|run(?:s|ning)?|re-?run(?:ning)?|"
    r"set(?:s|ting)?|append(?:ing)?|install(?:ing)?|call(?:ing)?|invok(?:e|ing)|with|"
    r"enabl(?:e|ing)|turn(?:ing|ed)?)"
)


USE_VERBS = (
    r"(?:us(?:e|es|ed|ing)|call(?:s|ed|ing)?|switch(?:es|ed|ing)?\s+to|migrat(?:e|ed|ing)\s+to|"
    r"import(?:ing)?|replac(?:e|ed|ing)|mov(?:e|ed|ing)\s+to|chang(?:e|es|ed|ing)|"
    # "subclass `Client` instead", "inherit from `Client`": a class to build on instead
    r"subclass(?:es|ed|ing)?|extend(?:s|ed|ing)?|inherit(?:s|ed|ing)?\s+from)"
)


WORK_VERBS = (
    r"(?:add(?:s|ed|ing)?|set(?:s|ting)?|call(?:s|ed|ing)?|configur(?:e|ed|ing)|edit(?:ed|ing)?|"
    r"put(?:ting)?|remov(?:e|ed|ing)|delet(?:e|ed|ing)|disabl(?:e|ed|ing)|enabl(?:e|ed|ing)|"
    r"export(?:ed|ing)?|appl(?:y|ied|ying)|wrap(?:ped|ping)?|patch(?:ed|ing)?|clon(?:e|ed|ing)|"
    r"fall(?:ing)?\s+back\s+to|us(?:e|ed|ing)|consider(?:ed|ing)?)"
)


ANY_VERB = rf"(?:{UP_VERBS}|{BACK_VERBS}|{PIN_VERBS}|{NEUTRAL_VERBS})"


COMMAND_RE = re.compile(
    r"^(?:sudo\s+)?[!%$]?\s*(?P<tool>npm|pnpm|yarn|pip3?|uv\s+pip|poetry|bun|conda|"
    r"python3?\s+-m\s+pip)\s+(?P<verb>install|add|i|update|upgrade|up)\b(?P<args>.*)$",
    re.IGNORECASE,
)


CODE_RE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


LATEST = r"(?:the\s+)?(?:latest|newest|most\s+recent)(?:\s+(?:version|release|one))?"


OLD = r"(?:the\s+)?(?:old(?:er)?|previous|last\s+(?:working|good|known\s+good))\s+version"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NOT_LIBS = _words(
    """for by into onto than until till thru through upto via per about like
    a an the it its this that these those them they to on in at from of and or with version
    versions v is was be are were been being use using used install installing installed pip
    pip3 npm npx yarn pnpm bun poetry uv python python3 py run running rerun try trying tried
    upgrade upgrading upgraded downgrade downgrading downgraded update updating updated pin
    pinning pinned lock locked set setting change changing changed bump bumping bumped back
    latest last newest old older previous new next stable beta alpha rc lts release releases
    requirements requirement requirements.txt package.json package packages dependency
    dependencies deps dep lib library module modules your my our his her their me you we i u
    project app code line branch fix fixes fixed works worked work also just only now then same
    here there again instead version: get getting got so all any some one command directly
    manually separately flag option config setup file files folder latest. please before after
    below above since prior"""
)


RUNTIMES = frozenset({"node", "nodejs", "node.js", "python", "python3", "npm", "pip"})


@dataclass
class Context:
    """What an action is read against: the thread, and who is speaking."""

    library: str | None  # the thread's library
    package: str  # the repository's own package (its name)
    affected: dict[str, list[str]] = field(default_factory=dict)  # by library key
    fixed: dict[str, list[str]] = field(default_factory=dict)
    maintainer: bool = False
    standalone: bool = False  # the sentence stands alone in a reply, or is said to work
    known: frozenset[str] = frozenset()  # packages the thread names next to versions (lowercase)
    idents: frozenset[str] = frozenset()  # identifiers the thread shows as code ("'Switch'")
    previous: str = ""  # the sentence before, in the same comment
    following: str = ""  # the sentence after, in the same comment
    opening: bool = False  # in an opening post not by a maintainer: its instructions ask
    removed: tuple[str, ...] = ()  # identifiers the thread says were removed or deprecated


@dataclass(frozen=True)
class Action:
    kind: Kind
    subject: str  # library, flag, identifier or the code of a workaround
    target: str | None = None  # version/spec, the tool a flag goes to, or the old identifier
    line: Line | None = None  # the release line the clause names
    implied: bool = False  # the subject was not named ("please upgrade")


def key_of(kind: Kind, subject: str, target: str | None) -> str:
    prefix = KEY_PREFIX.get(kind, kind)
    if kind == "flag":
        return slug_part(f"flag-{subject}")
    if kind in ("use", "avoid") and not is_versioned(target):
        # `Settings.model_validate(raw)` and `model_validate` are the same advice.
        name = re.split(r"\.|::|#", subject.removesuffix("()"))[-1]
        return slug_part(f"{prefix}-{name}")
    if kind == "workaround":
        return slug_part(f"workaround-{ident_in(subject) or subject}")[:60].strip("-.")
    return slug_part(f"{prefix}-{subject}-{target or ''}")


def slug_part(text: str) -> str:
    """A piece of a slug: lowercase [a-z0-9.-], operators spelled out."""
    for op, word in (
        ("<=", "le"),
        (">=", "ge"),
        ("!=", "ne"),
        ("~=", "compat"),
        ("==", ""),
        ("<", "lt"),
        (">", "gt"),
        ("^", "caret"),
        ("~", "tilde"),
        ("*", "x"),
    ):
        text = text.replace(op, f"-{word}-" if word else "-")
    text = re.sub(r"[^a-z0-9.]+", "-", text.lower().replace("()", ""))
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-.")


def version_of(text: str) -> Version | None:
    text = text.strip().lstrip("vV=")
    text = re.sub(r"(\.[xX*]{1,2})+$", "", text)
    try:
        return Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a part int() refuses (4,300+ digits)
        return None


def plausible_release(version: Version) -> bool:
    """Whether a parsed version's first part can be a release number: small, or a date
    (calendar versioning: 20230629, 202401); not an issue, commit or line number."""
    first = version.release[0]
    if first < 10000:
        return True
    return bool(re.fullmatch(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])?", str(first)))


def code_spans(text: str) -> list[str]:
    return [m.group(2).strip() for m in CODE_RE.finditer(text)]


def strip_run(text: str) -> str:
    text = text.strip().lstrip("!%$ ").strip()
    return re.sub(r"^(?:run|use\s+command|rerun|execute)\s+", "", text, flags=re.I)


def is_command(code: str) -> bool:
    return bool(COMMAND_RE.match(strip_run(code)))


def is_versioned(target: str | None) -> bool:
    return bool(target and re.match(r"^[<>=~^!]*\d", target))


# Manifest and lock files: where a version is written, never the package it is of
MANIFEST = (
    r"(?:requirements[\w.-]*\.(?:txt|in)|package(?:-lock)?\.json|pyproject\.toml|setup\.(?:py|cfg)|"
    r"environment\.ya?ml|Pipfile(?:\.lock)?|poetry\.lock|yarn\.lock|pnpm-lock\.yaml|"
    r"constraints\.txt|tox\.ini|Dockerfile)"
)


def bad_lib(name: str) -> bool:
    low = name.lower().strip("'\"_*")
    if re.fullmatch(MANIFEST, low, re.IGNORECASE):
        return True
    if low in NOT_LIBS or low.endswith(("ing", "ed")) and "-" not in low and "." not in low:
        return True
    return bool(re.fullmatch(r"v?\d[\w.]*", low))


def ident_in(code: str) -> str | None:
    """The most telling identifier in a piece of code: `transformIgnorePatterns`."""
    spans = re.findall(r"`([^`]+)`", code)
    if spans:
        code = spans[0]  # an instruction: its first code span
    if re.fullmatch(r"@?[\w.-]+(?:/[\w.-]+)?", code.strip()):
        return code.strip()  # a package: `@testing-library/dom`
    names = re.findall(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\(\))?", code)
    generic = {"jest", "transform", "module", "exports", "const", "import", "from", "default"}
    names = [n for n in names if n.lower() not in generic and len(n) > 2]
    return max(names, key=lambda n: (len(n) >= 6, -names.index(n))) if names else None
