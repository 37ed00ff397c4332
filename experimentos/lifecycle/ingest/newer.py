"""Upgrades said in words rather than with a version to move to: "use a more recent X version",
"Users of X versions older than 3.2 will need to upgrade", "Version 6.2.0 and later should work
well with Node 14", "I had to manually update X and then all was well"."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.kinds import resolve
from experimentos.lifecycle.ingest.lines import Line
from experimentos.lifecycle.ingest.mentions import RUNTIME_WORDS, line_start
from experimentos.lifecycle.ingest.names import plausible_name
from experimentos.lifecycle.ingest.roles import parse_version
from experimentos.lifecycle.ingest.vocab import NAME, VER, Action, Context, bad_lib
from experimentos.repofacts.facts import python_key

# "You'll need to use a more recent pyfoo version", "try a newer version of pyfoo"
_MORE_RECENT_RE = re.compile(
    rf"\b(?:use|try|install|get|need|switch\s+to|move\s+to|go\s+to)\s+(?:a|the)\s+"
    rf"(?:more\s+recent|newer|recent)\s+(?:[`'\"]?(?P<lib>{NAME})[`'\"]?\s+)?(?:version|release)"
    rf"(?:\s+of\s+[`'\"]?(?P<lib2>{NAME})[`'\"]?)?",
    re.IGNORECASE,
)
# "Users of pyfoo versions older than 22.0 will need to upgrade": the bound is the line, and
# the version that ends it is where to go
_OLDER_NEED_RE = re.compile(
    rf"\b(?:users?|anyone|everyone|those|people|projects?|apps?)\s+(?:of|on|using|with)\s+"
    rf"[`'\"]?(?P<lib>{NAME})[`'\"]?\s+(?:versions?\s+|releases?\s+)?(?:older\s+than|before|"
    rf"below|prior\s+to|<)\s*(?P<ver>{VER})\s+(?:will\s+|would\s+)?(?:need|needs|have|has|must|"
    r"should)\s+(?:to\s+)?(?:upgrade|update)\b",
    re.IGNORECASE,
)
# "Version 6.2.0 and later should work well with Node 14", "foo 3.2.0 and above works"
_AND_LATER_RE = re.compile(
    rf"(?:^|\b(?:versions?|releases?)\s+|(?P<lib>{NAME})\s+)v?(?P<ver>\d+(?:\.\d+)+)\s+"
    r"(?:and|or)\s+(?:later|above|newer|higher|up)\s+(?:(?:should|will|do|does|would)\s+)?"
    r"(?:work|works|run|runs|are\s+fine|is\s+fine|are\s+ok|is\s+ok)\b",
    re.IGNORECASE,
)
# "I had to manually update vue-loader and then all was well"
_HAD_TO_UPDATE_RE = re.compile(
    rf"\b(?:i|we)\s+(?:had|have|needed)\s+to\s+(?:manually\s+)?(?:update|upgrade)\s+"
    rf"(?:the\s+|my\s+|our\s+)?[`'\"]?(?P<lib>{NAME})[`'\"]?",
    re.IGNORECASE,
)


def newer(piece: str, sentence: str, ctx: Context) -> list[Action]:
    """The upgrade a piece says in words, or nothing."""
    plain = piece.replace("`", "")
    if phrases.is_question(plain):
        return []
    older = _OLDER_NEED_RE.search(plain)
    if older and not bad_lib(older["lib"]):
        ver = older["ver"].lstrip("vV")
        line = Line(older["lib"], None, ver, older.group(0))
        return [Action("upgrade", older["lib"], ver, line)]
    if ctx.opening:
        return _had_to(plain, sentence, ctx)
    recent = _MORE_RECENT_RE.search(plain)
    if recent and not phrases.failed(sentence):
        lib = recent["lib"] or recent["lib2"]
        lib = None if lib and (bad_lib(lib) or lib.lower() in ("version", "release")) else lib
        lib = resolve(lib, ctx, announce=ctx.maintainer)
        return [Action("upgrade", lib, "latest")] if lib else []
    later = _AND_LATER_RE.search(plain)
    if later and not phrases.failed(plain):
        lib = later["lib"] if later["lib"] and not bad_lib(later["lib"]) else None
        lib = resolve(lib, ctx, announce=ctx.maintainer)
        return [Action("upgrade", lib, later["ver"])] if lib else []
    return _had_to(plain, sentence, ctx)


def _had_to(plain: str, sentence: str, ctx: Context) -> list[Action]:
    had = _HAD_TO_UPDATE_RE.search(plain)
    if not had or not phrases.succeeded(sentence) or phrases.failed(sentence):
        return []
    lib = had["lib"]
    if lib.lower() not in ctx.known and lib.lower() != (ctx.library or "").lower():
        return []  # "I had to update the code": a package the thread names, or nothing
    return [Action("upgrade", lib, "latest")]


# A version in a sentence, with the word before it ("sqlrite2 6.24.0", "Python 3.12", "in v2.1.0")
_VERSION_NAMED_RE = re.compile(
    rf"(?:(?P<lib>{NAME})(?:@|==|\s+))?[vV]?(?P<ver>\d+(?:\.\d+)+"
    r"(?:[.-]?(?:a|b|rc|alpha|beta|pre|dev)\.?\d*)?)(?![\w-]|\.[\dxX*])"
)


def release_named(sentence: str, previous: str, ctx: Context) -> str | None:
    """The release an unnamed "please upgrade" goes to: the one version of the thread's library
    its sentence (else the sentence before it) names that the thread does not report broken and
    that is past every version it does ("The fix shipped in 2.1.0, please upgrade", "The fix
    landed in 2.1.0. Please upgrade."). None when there is no such version, or more than one."""
    library = python_key(ctx.library or ctx.package)
    reported = ctx.affected.get(library, [])
    broken = [parse_version(line_start(v.lstrip("vV"))) for v in reported]
    broken = [v for v in broken if v is not None]
    # "0.22.x" reports its whole line broken
    lines = tuple(
        re.sub(r"[xX*].*$", "", v.lstrip("vV")) for v in reported if re.search(r"\.[xX*]", v)
    )
    for text in (sentence, previous):
        found = set()
        for match in _VERSION_NAMED_RE.finditer(text.replace("`", "")):
            lib = (match["lib"] or "").lower()
            # "Works here with sqlalchemy 2.0.30": a version a package name precedes is that
            # package's, known to the thread or not
            named = bool(lib) and plausible_name(lib) and not bad_lib(lib)
            own = {library, python_key(ctx.package or ""), python_key(ctx.library or "")}
            other = lib in RUNTIME_WORDS or (named and python_key(lib) not in own)
            version = parse_version(match["ver"])
            if (
                other
                or version is None
                or any(version <= b for b in broken)
                or (lines and match["ver"].startswith(lines))
            ):
                continue
            found.add(match["ver"])
        if found:
            return found.pop() if len(found) == 1 else None
    return None
