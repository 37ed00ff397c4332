"""A general reading of one sentence, for advice the phrasings of versions.py and actions.py do
not know: a version, the package it belongs to, and an act on it, told by broad cues and the
sentence's structure rather than by exact phrasings, in the languages threads are written in.

A clause gives version advice when it holds

- a version (`2.2.2`, `v5`, `^10`, `>=1.4,<2`) and the package it belongs to: the name right
  before it, even across a few words of another language ("升级librosa到 0.10.1", "werkzeug的版本为
  2.2.2"), else the last package the sentence named, else the thread's library;
- a word of direction (up, back, pin, or a neutral install/use/set) or a report that the
  version works ("everything works fine with `11.1.0`"); and
- a mood that makes it advice: a report that it worked ("… solved it", "问题已解决", "ça
  marche", "läuft wieder"), or, outside the opening post, an instruction: an imperative, a
  modal ("you need/should/have to", "需要", "il faut", "muss"), a recommendation ("建议").

It is not advice when the clause asks, denies, reports a failure or an error, or plans; the
opening post's instructions are requests to the maintainers (its reports of what worked are
advice). The kind comes from the word of direction, else the operator, else from comparing the
version with those the thread reports broken or fixed (versions._kind).

advice.py reads a sentence this way only when the phrasings found nothing in it, so this
reading widens recall without changing what the phrasings already read.
"""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.names import plausible_name
from experimentos.lifecycle.ingest.picked import at as _at
from experimentos.lifecycle.ingest.picked import make_action as _action
from experimentos.lifecycle.ingest.picked import pick as _pick
from experimentos.lifecycle.ingest.picked import reported_broken_here as _reported_broken
from experimentos.lifecycle.ingest.text import CJK, spaced
from experimentos.lifecycle.ingest.tongues import (
    DIRECTION_RES as _DIRECTION_RES,
)
from experimentos.lifecycle.ingest.tongues import (
    DIRECTIVE_RE as _DIRECTIVE_RE,
)
from experimentos.lifecycle.ingest.tongues import (
    FAILURE_RE as _FAILURE_RE,
)
from experimentos.lifecycle.ingest.tongues import (
    NEGATION_RE as _NEGATION_RE,
)
from experimentos.lifecycle.ingest.tongues import (
    PLAN_RE as _PLAN_RE,
)
from experimentos.lifecycle.ingest.tongues import (
    SHOULD_BE_RE as _SHOULD_BE_RE,
)
from experimentos.lifecycle.ingest.tongues import (
    SUCCESS_RE as _SUCCESS_RE,
)
from experimentos.lifecycle.ingest.tongues import (
    TROUBLE_RE as _TROUBLE_RE,
)
from experimentos.lifecycle.ingest.vocab import (
    MANIFEST,
    NAME,
    VER,
    Action,
    Context,
    bad_lib,
)

_CJK = CJK
_HAN = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"  # CJK without Hangul

# Where a clause ends: punctuation of any script, " but ", a space before a CJK run, and an
# ASCII comma or full stop next to CJK text ("一直报错,各种弄都不行,把…升级到3.43.2后解决问题.").
_CLAUSE_RE = re.compile(
    # "either use sass-loader v10 or upgrade to Vue CLI v5": two acts, two clauses
    r"\s+(?:or|and(?:\s+then)?)\s+(?=(?:use|upgrade|update|downgrade|install|pin|switch|try|"
    r"revert|roll|go|stick|stay|lock|move)\b)|"
    rf"\s*[;；，。！？!?]\s*|,\s+|(?<=[{_CJK}])[,.]\s*|,(?=[{_CJK}])|\s+but\s+|\s+however\s+|"
    # a space between runs of Chinese or Japanese (Korean spaces its words: no clause ends there)
    rf"(?<=[{_HAN}])\s+(?=[{_HAN}])|(?<=[A-Za-z_)\]`'\"])\s+(?=[{_HAN}])",
    re.IGNORECASE,
)
_VERSION_RE = re.compile(
    rf"(?P<range>(?:>=|>|~=)\s*{VER}\s*(?:,|\s+and\s+|\s+)\s*(?:<=|<)\s*{VER})"
    rf"|(?P<op>===|==|>=|<=|~=|!=|=>|=<|<|>|\^|~|@|=)?\s*(?P<ver>{VER})(?!\w|\.\w)",
    re.IGNORECASE,
)
_NAME_RE = re.compile(rf"(?<![\w@/.-]){NAME}")
_URL_RE = re.compile(r"<[^>]+>|https?://\S+|\b[\w.-]+\.(?:com|org|io|net)/\S*")


# A version inside a condition: "when upgrading to v8 …", "if you upgrade to 3.0.0 …"
_CONDITION_RE = re.compile(
    r"\b(?:when|whenever|if|once|after|before)\s+(?:you|we|i|u|one)?\s*(?:are\s+|were\s+)?"
    r"[a-z]+\s+(?:\S+\s+){0,3}?(?:to|from)\s*$",
    re.IGNORECASE,
)


def clauses(sentence: str) -> list[str]:
    """A sentence cut into clauses at punctuation of any script and between CJK runs."""
    return [c.strip() for c in _CLAUSE_RE.split(sentence) if c and c.strip()]


_spaced = spaced


def _direction(text: str) -> tuple[str | None, int]:
    """The group of the last word of direction in `text` and where it ends (-1: none)."""
    best: tuple[str | None, int, int] = (None, -1, -1)
    for group, pattern in _DIRECTION_RES.items():
        for match in pattern.finditer(text):
            # a specific direction outranks a neutral "use" at the same place
            if match.start() > best[1] or (match.start() == best[1] and group != "neutral"):
                best = (group, match.start(), match.end())
    return best[0], best[2]


_RUNTIMES = frozenset({"node", "nodejs", "node.js", "python", "python3", "npm", "yarn", "pnpm"})
# The words that may sit between a package and its version: "urllib3==1.26.8",
# "react-router-dom@v5", "prettier version 3.0.0", "werkzeug to 2.2.2", "werkzeug 的版本为 2.2.2",
# "\"vite\": \"^4\"".
_GLUE_RE = re.compile(
    rf"(?P<name>{NAME})[\"']?\s*(?::\s*[\"']?|(?:={1, 3}|@)\s*|\s+(?:(?:version|to|v|at)\s+)?|"
    rf"\s*(?:[{_CJK}]\s*){{1,8}})$",
    re.IGNORECASE,
)


def known_packages(thread, mentions, library: str | None) -> frozenset[str]:  # noqa: ANN001
    """Packages the thread names next to a version, its library, the repository's name, and
    the runtimes: the words a version can belong to when it is not glued to one."""
    text = " ".join([thread.title, *(c.body for c in thread.comments)])
    counts: dict[str, int] = {}
    for mention in mentions:
        if mention.name and plausible_name(mention.name):
            counts[mention.name] = counts.get(mention.name, 0) + 1
    # a plain lowercase word once before a version ("confirm 1.9.3") is not a package; one
    # named twice, written as a name (case, digits, "-", "."), or shown as code is
    names = {
        name.lower()
        for name, n in counts.items()
        if n > 1
        or re.search(r"[A-Z0-9_./@-]", name)
        or re.search(rf"`{re.escape(name)}`|{re.escape(name)}(?:==|@)", text, re.IGNORECASE)
    }
    names |= {thread.repo.lower(), *(_RUNTIMES)}
    if library:
        names.add(library.lower())
    return frozenset(names)


# How far back from a version its package is looked for: a clause of prose is far shorter, and
# a bound keeps a hostile comment (thousands of numbers on one line) linear.
_PACKAGE_WINDOW = 300


def _package_before(text: str, ctx: Context) -> str | None:
    """The package a version belongs to, from the text before it: the name glued to it
    ("urllib3==", "prettier version", "werkzeug 的版本为"), else the last known package named."""
    text = text[-_PACKAGE_WINDOW:]
    glued = _GLUE_RE.search(text)
    if glued:
        name = glued["name"].strip(".-'\"")
        low = name.lower()
        # a Latin word amid CJK text is a name; in English, a known package or one that looks
        # like a package name
        cjk = bool(re.search(rf"[{_CJK}]", glued.group(0)))
        packageish = cjk or bool(re.search(r"[-./@]|\d", name)) or low in ctx.known
        if packageish and not bad_lib(name) and plausible_name(name) and low not in _NOT_NAMES:
            return ctx.library if ctx.library and low == ctx.library.lower() else name
    for match in reversed(list(_NAME_RE.finditer(text))):
        low = match.group(0).strip(".-").lower()
        if low in ctx.known and low not in _NOT_NAMES:
            return ctx.library if ctx.library and low == ctx.library.lower() else match.group(0)
    return None


def _known_named(text: str, ctx: Context) -> str | None:
    """The last package the thread knows that `text` names."""
    for match in reversed(list(_NAME_RE.finditer(text))):
        low = match.group(0).strip(".-").lower()
        if low in ctx.known and low not in _NOT_NAMES and low not in _RUNTIMES:
            return ctx.library if ctx.library and low == ctx.library.lower() else match.group(0)
    return None


def _verb_object(text: str, ctx: Context) -> str | None:
    """The package a word of direction acts on: "pin (the version of) pydantic to <2"."""
    match = re.match(
        rf"\s*(?:(?:the|your|my|our)\s+)?(?:version\s+of\s+)?[`'\"]?(?P<name>{NAME})[`'\"]?\s+"
        # "Updating Flask in _requirements.txt_ to version 2.1.x": the file it is written in
        rf"(?:(?:in|inside|within)\s+(?:the\s+|your\s+|my\s+|our\s+)?[_*`'\"]*{MANIFEST}[_*`'\"]*\s+)?"
        r"(?:to|from|at|version|dependency|package)\b",
        text,
        re.IGNORECASE,
    )
    if not match:
        return None
    name = match["name"]
    if bad_lib(name) or not plausible_name(name) or name.lower() in _NOT_NAMES:
        return None
    return ctx.library if ctx.library and name.lower() == ctx.library.lower() else name


_NOT_NAMES = frozenset(
    {"v", "version", "to", "at", "is", "the", "https", "http", "www", "github.com"}
)


# "Solution:", "Lösung:", "解决方法：": what follows is offered as the fix
_LABEL_RE = re.compile(
    r"^(?:solución|solution|solução|lösung|решение|workaround|fix|解决方法|解决办法|解决方案|"
    r"办法|方法)\s*[:：]\s*",
    re.IGNORECASE,
)


_UNDONE_RE = re.compile(
    r"\b(?:to|will|should|must|needs?\s+to|has\s+to|have\s+to|yet\s+to)\s+be\s+"
    r"(?:fixed|solved|resolved|addressed)\b|"
    r"\b(?:till|until|unless|if|whether|to\s+make|once)\s+(?:it|this|that|everything)\s+works?\b",
    re.IGNORECASE,
)


# "I have had to revert back to 1.2.0 because …", "I have to do the downgrade to 2.3.0": what
# the speaker had to do to get out of the bug, said as the way out
_HAD_TO_RE = re.compile(
    r"\b(?:i|we)(?:'ve|\s+have|\s+had|'d)?\s+(?:had\s+|have\s+|needed\s+|got\s+)?to\s+"
    r"(?:do\s+(?:the|a)\s+|go\s+back\s+and\s+)?(?:revert|downgrad|roll\s*back|go\s+back|pin|"
    r"lock|stay|stick)\w*",
    re.IGNORECASE,
)


def _mood(clause: str, sentence: str, opening: bool) -> str | None:
    """success, directive or None."""
    clause, sentence = _UNDONE_RE.sub(" ", clause), _UNDONE_RE.sub(" ", sentence)
    if _SUCCESS_RE.search(clause) or _HAD_TO_RE.search(clause):
        return "success"
    if opening:
        return None  # the opening post's instructions are requests to the maintainers
    rest = phrases.strip_lead(_LABEL_RE.sub("", clause))
    if rest != clause or _DIRECTIVE_RE.search(clause) or _SHOULD_BE_RE.search(clause):
        return "directive"
    group, _ = _direction(clause[:40])
    first = re.match(r"[\w-]+", rest)
    imperative = first and not re.search(r"(?:ing|ed|s)$", first.group(0), re.IGNORECASE)
    if group and imperative and _DIRECTION_RES[group].match(rest):
        return "directive"  # an imperative: "install urllib3==1.26.8"
    if (
        _SUCCESS_RE.search(sentence)
        and not phrases.failed(sentence)
        and _direction(clause)[0] not in (None, "neutral")
    ):
        return "success"  # "Downgraded to 1.9.3, now it works": the act, then its outcome
    return None


def said_to_work(version: str, sentence: str, opening: bool = False) -> bool:
    """Whether a clause of `sentence` acts on `version` (a word of direction in it, before the
    version or, in verb-final languages, after it) and says, in any language, that the act
    worked ("改为`x-2.0.1`即可正常运行", "Voltei para a x 2.9.1 e funcionou", "x 2.9.1 로 바꾸니까
    잘 됩니다"): a good version, not the one reported. Outside the opening post a version the
    success is linked to ("con x 2.9.1 ya no da error") counts too."""
    plain = sentence.replace("`", "").replace("\u2019", "'")
    if phrases.is_question(plain):
        return False
    for clause in clauses(plain):
        clause = _spaced(clause)
        at = clause.find(version)
        if at < 0 or _refused(clause) or (opening and phrases.in_setup(clause[:at])):
            continue
        if _mood(clause, plain, True) != "success":
            continue
        versions = [m for m in _VERSION_RE.finditer(clause) if m["ver"] == version]
        if _direction(clause)[0] is not None or (not opening and _linked(clause, versions) >= 0):
            return True
    return False


def _refused(clause: str) -> bool:
    """A clause that asks, denies, reports a failure or plans: no advice in it."""
    cleared = _SUCCESS_RE.sub(" ", clause)  # "no more errors" is a success
    cleared = re.sub(r"\bwithout\s+(?:any\s+)?(?:errors?|issues?|problems?)\b", " ", cleared)
    had_to = _HAD_TO_RE.search(clause)  # "… had to revert to 1.2.0 because of CORS errors"
    return bool(
        phrases.is_question(clause)
        or clause.rstrip().endswith(("吗", "么", "？"))
        or _NEGATION_RE.search(cleared)
        or (_failure(clause) and not had_to)
        or _PLAN_RE.search(clause)
        or phrases.future(clause)
    )


def _failure(text: str) -> bool:
    """Whether `text` reports a failure: a failing verb, or the problem's name with nothing
    saying it went away ("made the error disappear" is a success)."""
    text = _UNDONE_RE.sub(" ", text)
    if phrases.failed(text):
        return True  # "nothing works", "still fails"
    cleared = _SUCCESS_RE.sub(" ", text)
    cleared = re.sub(r"\bwithout\s+(?:any\s+)?(?:errors?|issues?|problems?)\b", " ", cleared)
    if _FAILURE_RE.search(cleared):
        return True
    return bool(_TROUBLE_RE.search(cleared)) and not _SUCCESS_RE.search(text)


def read_sentence(
    sentence: str, ctx: Context, opening: bool = False, title: bool = False
) -> list[Action]:
    """The version advice in one sentence, read clause by clause. In a title a bare major after
    a package names a task ("Upgrade to ESLint 9"), not a version to act on."""
    plain = _URL_RE.sub(" ", sentence).replace("`", "").replace("\u2019", "'")
    if phrases.is_question(plain):
        return []
    # a sentence that narrates a failure ("When I … install markupsafe 2.0.1, I get another
    # error") gives no advice in its other clauses
    if (
        _failure(plain)
        and not _SUCCESS_RE.search(_UNDONE_RE.sub(" ", plain))
        and not _HAD_TO_RE.search(plain)
    ):
        return []
    if _NO_REPRO_RE.search(plain):
        return []  # "works fine with 2.0.0 here, I can't reproduce": no advice, a reply
    out: list[Action] = []
    last_package: str | None = None
    named: tuple[str | None, str, str | None] | None = None  # the last version named: op, ver, pkg
    for clause in clauses(plain):
        clause = _spaced(clause)
        versions = list(_VERSION_RE.finditer(clause))
        package_here = None
        for match in versions:
            package_here = _package_before(clause[: _at(match)], ctx) or package_here
        if not versions and named is not None and _REFERENCE_RE.search(clause):
            # "Supported till 2.9.1, you can install this version": the act is on that version
            action = _referred(clause, plain, named, last_package, ctx, opening)
            if action is not None and action not in out:
                out.append(action)
            continue
        plain_versions = [m for m in versions if m["ver"] and not m["range"]]
        if plain_versions and not _refused(clause):
            last = plain_versions[-1]
            named = (last["op"], last["ver"], package_here)
        if not versions or _refused(clause) or (ctx.maintainer and phrases.project_plan(clause)):
            # "We forgot the specific gradio version, but it should be 3.44": the package the
            # sentence named last, in a clause with no version too
            named = package_here or (_known_named(clause, ctx) if not versions else None)
            last_package = named or last_package
            continue
        how = _mood(clause, plain, opening)
        group, after = _direction(clause)
        if group is None and how == "success" and not opening:
            # no word of direction: the version it works with ("with foo@1.9.3 everything is
            # OK again", "Can confirm 1.9.3 works"): a report of a good version. Not in the
            # opening post, where "This worked on 7.4.4" dates the regression.
            after = _linked(clause, versions)
        if how is None or (group is None and after < 0):
            last_package = package_here or last_package
            continue
        picked = _pick(versions, clause, after, frozenset() if title else ctx.known)
        if picked is None:
            last_package = package_here or last_package
            continue
        op, ver = picked[0], picked[1]
        before = clause[: picked[2]]
        if opening and phrases.in_setup(before):
            continue  # "another machine is running 2.4 and it works": the report's setup
        if _CONDITION_RE.search(before):
            continue  # "when upgrading to v8 you need to update webpack": the condition
        lib = (
            _package_before(before, ctx)
            or (_verb_object(clause[after : picked[2]], ctx) if group and after >= 0 else None)
            or package_here
            or last_package
        )
        last_package = lib or last_package
        if group in (None, "neutral") and _reported_broken(lib, ver, ctx):
            continue  # "works with 2.0.0" of the version the thread reports broken
        if group is None and lib and lib.lower() in _RUNTIMES:
            continue  # "It worked for me with node@16": where it worked, not what to install
        action = _action(lib, op, ver, group, ctx)
        if action is not None and action not in out:
            out.append(action)
    return out


# An act's object that points back at the version the sentence named: "install this version",
# "use that one", "pin that", "go with that release".
_REFERENCE_RE = re.compile(
    r"\b(?:this|that|the\s+same)\s+(?:version|release|one)\b|"
    r"\b(?:pin|install|use|lock|keep|take)\s+(?:that|it)\s*[.!]?\s*$",
    re.IGNORECASE,
)


def _referred(
    clause: str,
    sentence: str,
    named: tuple[str | None, str, str | None],
    last_package: str | None,
    ctx: Context,
    opening: bool,
) -> Action | None:
    """The act a clause takes on the version named before it in the sentence, if it gives one."""
    if _refused(clause) or (ctx.maintainer and phrases.project_plan(clause)):
        return None
    group, _ = _direction(clause)
    if group is None or _mood(clause, sentence, opening) is None:
        return None
    op, ver, package = named
    lib = package or last_package
    if group == "neutral" and _reported_broken(lib, ver, ctx):
        return None  # "I'm on 3.0.0 and use that version": the one reported
    return _action(lib, op, ver, group, ctx)


# Where a version is the one something works with, in the languages of tongues.DIRECTIONS.
_LINK_RE = re.compile(
    r"(?:\b(?:with|on|using|in|avec|sur|mit|con|com|на)|\bс|用|在)\s+(?:[\w@/.-]+\s*)?$",
    re.IGNORECASE,
)
_WORKS_AFTER_RE = re.compile(
    r"^[\s`'\"]*(?:(?:also|still|too|as\s+well)\s+)?(?:works?|worked|is\s+(?:ok|okay|fine|good|working)|fixes|fixed|solves|"
    r"(?:can|could)\s+(?:now\s+)?(?:run|work|start|build)|runs\s+(?:fine|ok|now|again)|"
    r"resolves|funciona|fonctionne|marche|funktioniert|работает)\b",
    re.IGNORECASE,
)


def _linked(clause: str, versions: list[re.Match[str]]) -> int:
    """Where the version a success is about starts (-1: none): one the clause links to it
    ("with 1.9.3", "avec foo 1.9.3") or one followed by it ("1.9.3 works")."""
    for match in versions:
        start = _at(match)
        if phrases.where_fixed(clause[:start]):
            continue  # "… fixes the issue on 3.0.0": where it was broken
        if _LINK_RE.search(clause[:start]) or _WORKS_AFTER_RE.match(clause[match.end() :]):
            return start
    return -1


_NO_REPRO_RE = re.compile(
    r"\b(?:can'?t|cannot|couldn'?t|could\s+not|unable\s+to|not\s+able\s+to|failed\s+to)\s+"
    r"reproduce\b|无法复现|不能复现",
    re.IGNORECASE,
)
