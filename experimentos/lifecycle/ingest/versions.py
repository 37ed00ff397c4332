"""Version actions: upgrade, downgrade and pin, from instructions, reports that something worked,
release announcements and package-manager commands.

A version without a verb that says which way it goes ("pip install x==1.2.3", "solved with
x==1.2.3", "setting chalk to 4.1.2") is a downgrade when it is older than a version the thread
reports broken, an upgrade when it is not older than them or is named as the fix, and a
downgrade when the thread says neither (installing an exact version to get out of a bug is
going back far more often than forward). A pre-release is always an upgrade. A version with no
package named belongs to the thread's library; in a maintainer's release talk ("Please use
version 1.6.6", "Released in 1.15.1", "please upgrade") it is the repository's own package.
"""

from __future__ import annotations

__all__ = [
    "candidates",
    "install_specs",
    "line_spec",
    "overrides",
    "pick",
    "repo_package",
    "resolve",
    "strip_for_verb",
    "version_actions",
]

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.commands import command_actions, install_specs
from experimentos.lifecycle.ingest.kinds import (
    kind_of,
    line_spec,
    repo_package,
    reported_broken,
    resolve,
    target_of,
)
from experimentos.lifecycle.ingest.vocab import (
    ANY_VERB,
    BACK_VERBS,
    COMMAND_RE,
    LATEST,
    MANIFEST,
    NAME,
    OLD,
    OP,
    PIN_VERBS,
    TAG,
    UP_VERBS,
    VER,
    Action,
    Context,
    bad_lib,
    code_spans,
    plausible_release,
    strip_run,
    version_of,
)

_RIGHT_VERSION_RE = re.compile(
    rf"\bthe\s+(?:right|correct|proper|working|good)\s+version(?:\s+of\s+(?P<lib>{NAME}))?"
    rf"\s+(?:is|was|would\s+be)\s+`?(?P<ver>{VER})",
    re.IGNORECASE,
)


_RUNTIME_RE = re.compile(r"node(?:\.?js)?|python[23]?|npm|yarn|pnpm|bun|deno", re.IGNORECASE)
_WORKS_ON_RE = re.compile(
    r"\b(?:works?|worked|working|fine|ok|okay)\s+(?:\w+\s+){0,2}(?:with|on|under|using|in)\s+$",
    re.IGNORECASE,
)


_PASSIVE_USE_RE = re.compile(
    rf"^(?:(?:until\s+then|for\s+now|so)[\s,]+)?(?P<what>(?:{NAME}\s+)?v?{VER})\s+"
    r"(?:has|have|needs?|must|should)\s+(?:to\s+)?be\s+used\b",
    re.IGNORECASE,
)


# "you need to use a pure ESM app (…) to use Nano ID 4": the act, then what it is for
_SO_AS_TO_USE_RE = re.compile(
    r"\b(?:use|install|set|switch|move|migrate|convert)\b.+\b(?:in\s+order\s+)?to\s+"
    r"(?:use|get|run|import|load)\s+(?:\S+\s+){0,2}$",
    re.IGNORECASE,
)
# Versions named as a purpose, not a target: "update peer deps to support React 18".
_PURPOSE_RE = re.compile(r"(?:\bsupport(?:s|ing)?|\bfor|\bwith|\bon)\s+(?:\S+\s+){0,1}$", re.I)


_OVERRIDES_RE = re.compile(r"[\"']?(?:overrides|resolutions)[\"']?\s*:\s*\{", re.IGNORECASE)
_OVERRIDE_PAIR_RE = re.compile(
    rf"[\"'](?P<lib>{NAME})[\"']\s*:\s*[\"'](?P<spec>(?:{OP}|@)?\s*{VER})[\"']"
)


def overrides(piece: str, sentence: str) -> list[Action]:
    """npm/yarn/pnpm `overrides`/`resolutions` given as a fix: pins of what they force."""
    if not re.search(r"work\s*-?\s*around|fix|solution|try|add", sentence, re.IGNORECASE):
        return []
    out = []
    for code in code_spans(piece):
        if not _OVERRIDES_RE.search(code):
            continue
        for pair in _OVERRIDE_PAIR_RE.finditer(code):
            spec = pair["spec"].replace(" ", "")
            target = spec.lstrip("=@v") if re.match(r"[=@v]?\d", spec) else spec
            out.append(Action("pin", pair["lib"], target))
    return out


def version_actions(piece: str, sentence: str, ctx: Context) -> list[Action]:
    plain = piece.replace("`", "").replace("\u2019", "'")
    bare = strip_run(plain)
    forced = overrides(piece, sentence)
    if forced:
        return forced
    announced = _announced(plain, ctx)
    if announced is not None:
        return [announced]
    passive = _PASSIVE_USE_RE.match(plain)
    if passive:  # "until then node 14 has to be used for now"
        plain = f"use {passive['what']}"
    right = _RIGHT_VERSION_RE.search(plain)
    if right:
        lib = resolve(right["lib"], ctx, announce=False)
        if lib is not None:
            kind = kind_of(None, None, right["ver"], lib, ctx)
            return [Action(kind, lib, target_of(kind, None, right["ver"]))] if kind else []
    if ctx.maintainer and phrases.project_plan(plain):
        return []  # "we need to keep 4.x around": the project's plans
    command = COMMAND_RE.match(bare)
    how = phrases.mood(plain, sentence, ANY_VERB)
    if (
        how is None
        and command
        and not phrases.failed(sentence)
        and (ctx.standalone or phrases.succeeded(sentence))
    ):
        how = "success"  # "pip install x==1.2.3" alone in a reply, or said to work
    elif how is None and _REQ_TEXT_RE.search(plain) and phrases.succeeded(plain):
        how = "success"  # "solved with MarkupSafe==2.0.1", "改为Flask==2.1.0 解决"
    if how is None:
        return []
    asking = how == "directive" and ctx.opening and not phrases.offered_as_fix(plain, ctx.previous)
    request = asking and re.match(
        r"\W*(?:(?:so|also|and|then|hi|hello|hey|@[\w-]+)\W+)*please\b", plain, re.I
    )
    if (
        request
        and not phrases.succeeded(sentence)
        and not re.search(r"\bif\s+(?:you|u)\b", sentence, re.I)
    ):
        # "Please pin Jinja2 to <= 3.0.3 in requirements.txt": the opening post asks the
        # maintainers (unless it says the act works, "… and it should work", or speaks to
        # users: "If you cannot switch to ESM, please use v2")
        return []
    out: list[Action] = []
    # Package-manager commands quoted in the clause: `pip install 'numpy<2'`, `npm i x@1.2.3`
    codes = [c for c in code_spans(piece) if COMMAND_RE.match(strip_run(c))]
    if command and not codes:
        codes = [bare]
    # "I'm downgrade version : npm install nanoid@^3.0.0": the words say which way it goes
    back = bool(re.search(rf"\b{BACK_VERBS}", re.sub(r"`[^`]*`", " ", sentence), re.I))
    for code in codes:
        out += command_actions(code, ctx, back)
    if out:
        return out
    verb = _first_verb(strip_for_verb(plain, how))
    group = _group(verb)
    text = plain if verb is None else plain[plain.lower().find(verb.lower()) :]
    if verb and re.match(
        rf"{re.escape(verb)}\s+(?:your|the|my|our)\s+{_NOT_PACKAGES}\b", text, re.I
    ):
        return []  # "upgrade your codebase to use the 1.0.0 interface": not a package
    found = candidates(text, ctx)
    led = strip_for_verb(plain, how) != plain or re.match(r"please\b", plain, re.I)
    to_latest = re.search(
        rf"\b(?:{UP_VERBS}|install)\b(?:\s+\S+){{0,3}}?\s+{LATEST}", plain, re.IGNORECASE
    )
    bare = re.search(
        rf"^(?:please\s+)?{UP_VERBS}\b(?!\s+(?!for\b)\w)", strip_for_verb(plain, how), re.IGNORECASE
    )
    named = re.match(
        rf"^(?:please\s+)?{UP_VERBS}\s+(?:the\s+|your\s+)?[`'\"]?(?P<obj>{NAME})[`'\"]?"
        r"(?:\s+(?:version|package|dependency))?(?:\s+(?:in|on|for|of|to\s+the\s+latest)\b.*)?$",
        strip_for_verb(plain, how),
        re.IGNORECASE,
    )
    if (
        group == "up"
        and not found
        and named
        and led
        and (named["obj"].lower() in ctx.known or named["obj"].lower() == (ctx.library or ""))
    ):
        # "I would just upgrade the black version in your local project": to the latest
        found = [(named["obj"], None, "latest")]
        implied = False
    elif group == "up" and not found and (to_latest or (bare and (led or ctx.maintainer))):
        found = [(None, None, "latest")]  # "please upgrade", "upgrade to the latest version"
        implied = True
    else:
        implied = False
    if group in ("back", "neutral") and re.search(OLD, plain, re.IGNORECASE) and found:
        group = "back"
    picked = pick(found, text, group)
    if picked is None:
        return []
    lib, op, ver = picked
    if lib is None and verb:
        lib = _verb_object(text, verb)  # "downgrade your react-scripts to the version before v5"
    if lib is None and ver.lower() == "lts":
        lib = "node"  # "use the LTS version": Node's release naming
    own = ctx.maintainer and re.search(r"\b(?:use|try)\s+(?:the\s+)?version\b", plain, re.I)
    lib = resolve(lib, ctx, announce=bool(own))
    if lib is None:
        return []
    if ver.lower() == "lts":
        lib = "node" if lib in (ctx.library, ctx.package) else lib
    if (
        asking
        and not led
        and group == "neutral"
        and not re.search(r"\b(?:need|must|should)\b", plain, re.I)
    ):
        return []  # "install nanoid v4.0.2 because nodejs is 14.17.6": the reporter's setup
    if asking and reported_broken(lib, ver, ctx):
        return []  # "install nanoid v4.0.2 because …", "just install X 3.1.0 and run": the bug
    kind = kind_of(group, op, ver, lib, ctx)
    if kind is None:
        return []
    return [Action(kind, lib, target_of(kind, op, ver), implied=implied and picked[0] is None)]


_NOT_PACKAGES = (
    r"(?:code|codebase|code\s+base|project|app|application|script|scripts|instructions|readme|docs|"
    r"documentation|environment|ci|pipeline|repo|repository|plan|build|image|sample|example|"
    r"tests?|config|configuration|settings|imports?)"
)
_REQ_TEXT_RE = re.compile(rf"(?<![A-Za-z0-9_.@/-]){NAME}\s*(?:===|==|@)\s*{VER}(?![\w])")


def _announced(plain: str, ctx: Context) -> Action | None:
    """ "Fixed in v0.10.1", "released in `x@0.8.0`", "I've released 1.0.0", "A new version of
    this package has been released": an upgrade to the version announced."""
    plain = re.sub(r"^(?:@[\w-]+[\s,]*)+", "", plain)
    if phrases.future(plain) or re.match(
        r"(?:until|when|once|after|before|if|unless)\b", plain, re.I
    ):
        return None  # "until 2.1.0 is out" is a condition, not an announcement
    match = phrases.ANNOUNCE_RE.search(plain)
    if not match:
        return None
    said = match.group(0)
    nameds = list(re.finditer(rf"(?P<lib>{NAME})(?:@|\s+)(?:v\s?)?(?P<ver>{VER})(?![\w.])", said))
    named = nameds[-1] if nameds else None
    versions = list(re.finditer(rf"(?<![\w.])(?P<ver>{VER})(?![\w.])", said))
    version = versions[-1] if versions else None
    lib: str | None = None
    if (
        named
        and not bad_lib(named["lib"])
        and named["lib"].lower()
        not in (
            "in",
            "as",
            "of",
            "to",
            "with",
            "since",
            "on",
            "released",
            "version",
            "release",
            "latest",
            "new",
            "cut",
            "just",
        )
    ):
        lib, ver = named["lib"], named["ver"]
    elif version:
        ver = version["ver"]
    else:
        ver = "latest"
    if lib is None and match["fixer"] and not bad_lib(match["fixer"]):
        lib = match["fixer"]  # "`uuid` has fixed the issue with v9"
    lib = resolve(lib, ctx, announce=True)
    if lib is None:
        return None
    return Action("upgrade", lib, target_of("upgrade", None, ver))


def _verb_object(text: str, verb: str) -> str | None:
    """The package a verb names without a version: "downgrade your react-scripts to …", "set
    the x package back to …" (inside the verb)."""
    inside = re.fullmatch(
        rf"[\w-]+\s+(?:(?:your|the|my|our)\s+)?(?P<lib>{NAME})(?:\s+(?:dependency|package|library))?"
        r"\s+back",
        verb,
        re.IGNORECASE,
    )
    if (
        inside
        and not bad_lib(inside["lib"])
        and inside["lib"].lower() not in ("it", "this", "that")
    ):
        return inside["lib"]
    match = re.match(
        rf"{re.escape(verb)}\s+(?:(?:your|the|my|our)\s+)?(?P<lib>{NAME})\s+"
        rf"(?:(?:in|inside|within)\s+(?:the\s+|your\s+|my\s+|our\s+)?[_*`'\"]*{MANIFEST}[_*`'\"]*\s+)?"
        r"(?:dependenc(?:y|ies)\s+|package\s+)?(?:to|from)\b",
        text,
        re.IGNORECASE,
    )
    return match["lib"] if match and not bad_lib(match["lib"]) else None


def strip_for_verb(plain: str, how: str | None) -> str:
    return phrases.strip_lead(plain) if how == "directive" else plain


def _first_verb(text: str) -> str | None:
    match = re.search(rf"\b{ANY_VERB}\b", text, re.IGNORECASE)
    return match.group(0) if match else None


def _group(verb: str | None) -> str | None:
    if verb is None:
        return None
    for name, pattern in (("up", UP_VERBS), ("back", BACK_VERBS), ("pin", PIN_VERBS)):
        if re.fullmatch(pattern, verb, re.IGNORECASE):
            return name
    return "neutral"


def candidates(text: str, ctx: Context) -> list[tuple[str | None, str | None, str]]:
    """(library, operator, version) named in `text`, in order."""
    out: list[tuple[int, str | None, str | None, str]] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match[str], lib: str | None, op: str | None, ver: str) -> None:
        span = match.span()
        if any(a < span[1] and span[0] < b for a, b in taken):
            return
        if re.search(r"\brequires?\s+$", text[: span[0]]):
            return  # "markdown 3.4.1 requires importlib-metadata>=4.4": a constraint
        if (
            _PURPOSE_RE.search(text[: span[0]]) or _SO_AS_TO_USE_RE.search(text[: span[0]])
        ) and not op:
            taken.append(span)
            return
        if phrases.where_fixed(text[: span[0]]) or (
            ctx.opening and phrases.in_setup(text[: span[0]])
        ):
            # "… fixes the issue on acme 3" (where it was broken); the opening post's "it works
            # well with acme@2", "another machine is running acme 2.4": the report, not advice
            taken.append(span)
            return
        if (
            lib
            and _RUNTIME_RE.fullmatch(lib)
            and _WORKS_ON_RE.search(text[: span[0]])
            and not re.search(rf"\b(?:{ANY_VERB})\b", text[: span[0]].split(",")[-1], re.I)
        ):
            taken.append(span)  # "worked for me with node@16": where it worked, not a target
            return
        taken.append(span)
        out.append((span[0], lib, op, ver))

    # a range as one target: "sqlalchemy to >=1.4,<2", "bcrypt >= 1.0.3 and < 3.0.0"
    ranged = re.compile(
        rf"(?<![A-Za-z0-9_.@/-])(?:['\"]?(?P<lib>{NAME})['\"]?\s*(?:to\s+)?)?"
        rf"(?P<low>(?:>=|>|~=)\s*{VER})\s*(?:,|\s+and\s+|\s+)\s*(?P<high>(?:<=|<)\s*{VER})(?![\w.])",
        re.IGNORECASE,
    )
    for m in ranged.finditer(text):
        lib = m["lib"] if m["lib"] and not bad_lib(m["lib"]) else None
        spec = f"{m['low']},{m['high']}".replace(" ", "")
        add(m, lib, "range", spec)
    req = re.compile(
        rf"(?<![A-Za-z0-9_.@/-])['\"]?(?P<lib>{NAME}?)['\"]?\s*(?:to\s+)?(?:version\s+)?"
        rf"(?P<op>{OP}|@)\s*['\"]?(?P<ver>{VER}|{TAG})(?![\w])",
        re.IGNORECASE,
    )
    for m in req.finditer(text):
        lib = m["lib"] or None
        attached = (
            lib is not None
            and m.group(0).lstrip("'\"").startswith(lib)
            and re.match(rf"{re.escape(lib)}['\"]?(?:@|==|===)", m.group(0).lstrip("'\""))
        )
        if lib and not attached and bad_lib(lib) or lib and lib.lower() in ("version", "v", "to"):
            lib = None  # "npm@3.5.3" names npm; "version < 5" names no package
        if m["op"] == "@" and not lib:
            continue
        add(m, lib, m["op"], m["ver"])
    # "the previous version before v5", "anything below 2.0": every version under it
    below = re.compile(
        rf"(?:\b(?:version|release|one)s?\s+(?:before|prior\s+to)|\bbelow|\b(?:older|lower)\s+than)"
        rf"\s+v?(?P<ver>{VER})(?![\w.])",
        re.IGNORECASE,
    )
    for m in below.finditer(text):
        add(m, None, "<", m["ver"])
    named = re.compile(
        rf"(?<![A-Za-z0-9_.@/-])(?:version\s+of\s+(?P<lib1>{NAME})\s+|(?P<lib2>{NAME})\s+"
        rf"(?:version\s+|to\s+(?:version\s+)?)?)(?P<ver>{VER})(?![\w.])",
        re.IGNORECASE,
    )
    for m in named.finditer(text):
        lib = m["lib1"] or m["lib2"]
        if lib and (bad_lib(lib) or not _packageish(lib, ctx)):
            lib = None  # "Can confirm 1.9.3 works": a word before a version, not a package
        add(m, lib, None, m["ver"])
    for m in re.finditer(rf"(?<![A-Za-z0-9_.@/<>=~^-])(?P<ver>{VER})(?![\w.])", text):
        if re.fullmatch(r"\d+", m["ver"]) and not re.search(
            r"(?:\bto|\bv|version|@)\s*$", text[: m.start()], re.IGNORECASE
        ):
            continue  # a bare number is a version only right after "to" or "version"
        add(m, None, None, m["ver"])
    for m in re.finditer(r"\b(?P<ver>lts)\b", text, re.IGNORECASE):
        add(m, None, None, "lts")
    out.sort()
    return [(lib, op, ver) for _, lib, op, ver in out if _plausible(ver)]


def _packageish(name: str, ctx: Context) -> bool:
    """Whether a word set before a version by a space alone can be a package: one the thread
    names with versions, or one that looks like a name (mixed case, digits, `-`, `.`, `/`)."""
    if not ctx.known:
        return True  # nothing to go by
    low = name.lower()
    return low in ctx.known or bool(re.search(r"[A-Z0-9_./@-]", name))


def _plausible(ver: str) -> bool:
    if re.match(r"[<>~]", ver):
        return True  # a range: ">=1.4,<2"
    if ver.lower() in ("latest", "next", "beta", "canary", "lts", "rc", "alpha", "cjs"):
        return True
    version = version_of(ver)
    return version is not None and plausible_release(version)


def pick(
    found: list[tuple[str | None, str | None, str]], text: str, group: str | None = None
) -> tuple[str | None, str | None, str] | None:
    """The target of a version action: the version after "to" ("bump Flask=1.1.2 to
    Flask==2.2.2"); none when "to" names no version ("revert npm to the last good one")."""
    if not found:
        return None
    to = re.search(r"\b(?:to|into)\s+(?!support\b)", text, re.I)
    if to and group in ("up", "back", "pin"):
        after = text[to.start() :]
        for lib, op, ver in found:
            if ver in after:
                named = lib or next((f[0] for f in found if f[0]), None)
                return named, op, ver
        if not re.search(r"\b(?:to|into)\s+(?:the\s+)?(?:version|release)\b", after, re.I):
            before = [f for f in found if f[2] in text[: to.start()] and f[1]]
            if not before:
                return None
    lib, op, ver = found[0]
    if lib is None:
        lib = next((f[0] for f in found if f[0]), None)
    return lib, op, ver
