"""The records of a thread's advice: who said it where (Said), what later comments did to it
(Correction), and the advice itself with its stance at the end of the thread (Advice)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from experimentos.lifecycle.ingest import vocab
from experimentos.lifecycle.ingest.lines import Line
from experimentos.lifecycle.ingest.roles import parse_version
from experimentos.lifecycle.ingest.thread import Comment
from experimentos.lifecycle.ingest.vocab import Kind
from experimentos.repofacts.facts import python_key

Stance = Literal["endorsed", "corrected", "withdrawn", "none"]


@dataclass
class Said:
    """One place in the thread where advice was given."""

    comment: int
    author: str
    role: str
    maintainer: bool
    date: str
    url: str
    text: str
    how: str = ""  # why the speaker has that role
    body: str = ""  # the whole comment


@dataclass
class Correction:
    """A later comment acting on the advice: endorsed, contradicted or withdrawn."""

    kind: Literal["contradicted", "withdrawn", "endorsed"]
    comment: int
    author: str
    role: str
    date: str
    url: str
    text: str


@dataclass
class Advice:
    """One actionable piece of advice and everywhere the thread gives or acts on it."""

    kind: Kind
    key: str  # stable: names the claim
    subject: str  # library, flag, identifier or workaround code
    target: str | None = None  # version/spec, the tool a flag goes to, or the old identifier
    line: Line | None = None  # the release line the advice itself names
    said: list[Said] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)  # contradicted, withdrawn
    endorsements: list[Correction] = field(default_factory=list)
    contradicts: list[str] = field(default_factory=list)  # keys of advice this corrects

    @property
    def first(self) -> Said:
        return self.said[0]

    @property
    def by_maintainer(self) -> bool:
        return any(s.maintainer for s in self.said)

    @property
    def prerelease(self) -> bool:
        """The advice points at a pre-release: a version such as 2.1.0rc2, or `--pre`."""
        if self.kind == "flag":
            return self.subject in ("--pre", "--prerelease", "--allow-prereleases")
        version = parse_version((self.target or "").lstrip("<>=~^!v"))
        return bool(version is not None and version.is_prerelease) or (
            self.target or ""
        ).lower() in ("next", "beta", "canary", "rc", "alpha")

    @property
    def speaker(self) -> str:
        """Who gave it first: maintainer, reporter or user."""
        return self.first.role

    @property
    def stance(self) -> Stance:
        events = [(s.comment, 0, "endorsed") for s in self.said if s.maintainer]
        events += [(e.comment, 1, "endorsed") for e in self.endorsements]
        events += [(c.comment, 2, c.kind) for c in self.corrections]
        if not events:
            return "none"
        last = max(events)[2]
        return "corrected" if last == "contradicted" else last  # type: ignore[return-value]

    def action(self) -> str:
        """The advice as one imperative phrase."""
        target = self.target or ""
        if self.kind == "upgrade":
            if target == "latest":
                return f"upgrade {self.subject} to the latest version"
            if target.startswith(">="):
                return f"upgrade {self.subject} to {target[2:]} or later"
            return f"upgrade {self.subject} to {target}"
        if self.kind == "downgrade":
            return f"downgrade {self.subject} to {target}"
        if self.kind == "pin":
            return (
                f"pin {self.subject} to {target}"
                if target[:1].isdigit()
                else (f"pin {self.subject}{target}")
            )
        if self.kind == "flag":
            return f"pass {self.subject} to {target}" if target else f"pass {self.subject}"
        if self.kind == "avoid":
            if vocab.is_versioned(target):
                where = f" on {_line_words(self.line)}" if self.line else ""
                return f"do not upgrade {self.subject} to {_spec_words(target)}{where}"
            return f"avoid {self.subject}"
        if self.kind == "workaround":
            return self.subject  # the instruction itself: "call `session.flush()` before …"
        if target:
            return f"use {self.subject} instead of {target}"
        return f"use {self.subject}"


def _line_words(line: Line) -> str:
    """The line an avoidance is for, in the same words however the thread put it ("If you're
    on 1.x", "1.x users:", "For projects on 1.x"): "a 1.x project", "an 8.1.x project"; a
    line that is no whole release line as the thread wrote it ("numpy < 2")."""
    low = (line.low or "").split(".")
    high = (line.high or "").split(".")
    whole = (
        len(low) == len(high) == 2
        and all(part.isdigit() for part in low + high)
        and (
            (low[1] == high[1] == "0" and int(high[0]) == int(low[0]) + 1)
            or (low[0] == high[0] and int(high[1]) == int(low[1]) + 1)
        )
    )
    if not whole:
        return re.sub(r"^(?:on|for|in|with)\s+", "", line.text, flags=re.I)
    name = f"{low[0]}.x" if high[1] == "0" and low[1] == "0" else f"{low[0]}.{low[1]}.x"
    if line.library:
        name = f"{line.library} {name}"
    # "an 8.x", "an 11.x", "an 18.x": the article as the number is said
    article = "an" if re.match(r"8|1[18](?!\d)", name) else "a"
    return f"{article} {name} project"


def _spec_words(spec: str) -> str:
    match = re.fullmatch(r">=(\d+)(?:\.0)*", spec)
    return f"{match.group(1)}.x" if match else spec


def said_at(index: int, comment: Comment, sentence: str) -> Said:
    return Said(
        index,
        comment.author,
        comment.role,
        comment.maintainer,
        comment.created_at,
        comment.url,
        sentence,
        comment.speaker_how,
        comment.body,
    )


def event_at(kind: str, index: int, comment: Comment, text: str) -> Correction:
    return Correction(
        kind,  # type: ignore[arg-type]
        index,
        comment.author,
        comment.role,
        comment.created_at,
        comment.url,
        text,
    )


_VERSION_KINDS = ("upgrade", "downgrade", "pin")


def _bare(target: str | None) -> str:
    return (target or "").strip().lstrip("^~=vV").removesuffix(".x")


def _same_move(kind: str, subject: str, target: str | None) -> tuple[str, str, str] | None:
    """What makes two version moves one advice: their direction, package and version, whatever
    the operator ("downgraded to `nanoid@^3.3.4`", then "downgrading to 3.3.4 fixed it")."""
    if kind not in _VERSION_KINDS or not target:
        return None
    return ("upgrade" if kind == "upgrade" else "back", python_key(subject), _bare(target))


_PACKAGE_TOKEN_RE = re.compile(r"[A-Za-z0-9][\w.\[\],-]*")
# Words of a workaround said in prose ("install the package from source and call ..."), never
# a package list: two such workarounds are not one claim because both "install" something.
_PROSE_WORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "it",
        "them",
        "this",
        "that",
        "from",
        "source",
        "by",
        "with",
        "and",
        "then",
        "to",
        "via",
        "using",
        "manually",
        "hand",
        "again",
        "first",
        "package",
        "packages",
        "wheel",
        "extras",
        "dependencies",
        "dependency",
        "latest",
        "version",
    }
)


def _installs(kind: str, subject: str) -> set[str]:
    """The packages a workaround installs ("install x or x_extra"), or none: only for a list of
    package names, as an install command or an offered dependency gives it."""
    if kind != "workaround" or not subject.startswith("install "):
        return set()
    names = [n for n in subject.split()[1:] if n != "or"]
    if not names or any(
        not _PACKAGE_TOKEN_RE.fullmatch(n) or n.lower() in _PROSE_WORDS for n in names
    ):
        return set()
    return {python_key(n.split("[")[0]) for n in names}


class Found(dict[str, Advice]):
    """The advice found so far, by key, indexed by what makes a new mention repeat an earlier
    one, so that a thread's reading stays linear in its advice (a hostile thread of thousands
    of version moves was read in time growing with their square)."""

    def __init__(self) -> None:
        super().__init__()
        self._moves: dict[tuple[str, str, str], str] = {}
        self._installs: dict[str, str] = {}
        self._order: dict[str, int] = {}
        self._ranges: dict[str, list[tuple[Advice, SpecifierSet]]] = {}

    def __setitem__(self, key: str, advice: Advice) -> None:
        super().__setitem__(key, advice)
        self._order.setdefault(key, len(self._order))
        move = _same_move(advice.kind, advice.subject, advice.target)
        if move is not None:
            self._moves.setdefault(move, key)
        for name in _installs(advice.kind, advice.subject):
            self._installs.setdefault(name, key)
        spec = _range_of(advice)
        if spec is not None:
            self._ranges.setdefault(python_key(advice.subject), []).append((advice, spec))

    def __delitem__(self, key: str) -> None:
        advice = self[key]
        super().__delitem__(key)
        move = _same_move(advice.kind, advice.subject, advice.target)
        if move is not None and self._moves.get(move) == key:
            del self._moves[move]
        for name in _installs(advice.kind, advice.subject):
            if self._installs.get(name) == key:
                del self._installs[name]
        ranges = self._ranges.get(python_key(advice.subject), [])
        ranges[:] = [(a, spec) for a, spec in ranges if a is not advice]

    def repeated(self, kind: str, subject: str, target: str | None) -> str | None:
        """The key of the advice a new mention repeats: the same version move with another
        operator, or an install already offered (one claim per package installed)."""
        move = _same_move(kind, subject, target)
        if move is not None:
            return self._moves.get(move)
        offered = [self._installs[n] for n in _installs(kind, subject) if n in self._installs]
        return min(offered, key=self._order.__getitem__) if offered else None  # the first given

    def upgrade_ranges(self, subject: str) -> list[tuple[Advice, SpecifierSet]]:
        """The upgrades of a package given as a range ("install 'x>=2.1'"), in order, each with
        its range read once: what a later version named may be admitted by."""
        return self._ranges.get(python_key(subject), [])


def _range_of(advice: Advice) -> SpecifierSet | None:
    target = (advice.target or "").strip()
    if advice.kind != "upgrade" or target[:1] not in ("<", ">", "=", "~", "!"):
        return None  # a bare version ("2.1.0") admits nothing but itself
    try:
        return SpecifierSet(target)
    except InvalidSpecifier:
        return None
