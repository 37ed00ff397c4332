"""The versions a thread names and what each is to it: broken (affected), fixed, working (good),
or the one to go back to (before) — read from the words around it. The opening post's versions
are the affected ones; a comment's version counts as affected only with a cue ("same here on
0.31.1"); "fixed in", "works on" and upgrade targets are past the problem; downgrade and pin
targets are before it. A version an instruction names ("use Pillow==9.5.0") is not reported
broken; a pre-release is broken only when it is said so; a question reports nothing. Versions
of runtimes ("Node 20.11", "Python 3.12") are told apart from the library's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from packaging.version import InvalidVersion, Version

from experimentos.lifecycle.ingest.text import CJK, read_message, spaced
from experimentos.lifecycle.ingest.thread import Thread
from experimentos.lifecycle.ingest.vocab import MANIFEST

VERSION_PATTERN = (
    r"[vV]?(?P<version>\d+\.(?:\d+|[xX*]{1,2})(?:\.(?:\d+|[xX*]{1,2}))?"
    r"(?:-?(?:alpha|beta|rc|pre|next|canary|dev|a|b)\.?\d*)?)"
)


VERSION_RE = re.compile(
    # "0.10.0-2" (a distribution's revision) is 0.10.0
    rf"(?<![A-Za-z0-9_./-]){VERSION_PATTERN}(?:-\d{{1,3}}(?![\w.-]))?(?!\.\d)(?![\w-])"
    rf"|(?<![\w./-])[vV](?P<major>\d{{1,3}})(?![\w%-]|\.\w)"
    rf"|(?<=[vV]ersion\s)(?P<major2>\d{{1,3}})(?![\w%-]|\.\w)"
    rf"|(?<=[<>=~^@])(?P<major3>\d{{1,3}})(?![\w%-]|\.\w)"  # "setuptools>=58", "uuid@11"
)


_NAME = r"@?[A-Za-z][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)?"


# A package name right before a version: "drizzle-kit 0.31.0", "drizzle-kit@0.31.0",
# "`pandas`: `2.0.1`", "urllib3==2.0.2", "drizzle-kit version 0.31.0", "react (19.0.0)".
_NAMED_RE = re.compile(
    rf"(?<![A-Za-z0-9_@/.-])(?P<name>{_NAME})[`\"']?(?:\s+(?:dependenc(?:y|ies)|package))?"
    r"(?:\s*(?:version\s*)?(?:@|===?|~=|>=|<=|:|=|<|>)\s*|"
    r"\s+(?:version\s+|to\s+|from\s+|at\s+|on\s+)?|\s*\(\s*|"
    r"\s+to\s+[`\"']?(?:>=|<=|~=|==|<|>)\s*|"
    rf"\s+(?:[{CJK}]\s*){{1,6}})"
    r"[`\"'(]?\s*$"
)


_NPM_RUN_HEADER = re.compile(r"^[@\w./-]+@\d[\w.+-]*\s+[\w:.-]+(?:\s|$)")


# "Python version: 3.12.3", "Library version = 1.2" (bug templates)
_TEMPLATE_RE = re.compile(rf"(?P<name>{_NAME})\s+version\s*[:=]\s*[`\"']?$", re.IGNORECASE)


# A version alone on its line takes its package from the line before: bug templates ask
# "### What version of `drizzle-kit` are you using?" and the answer is "0.31.0".
_ASKED_RE = re.compile(
    rf"(?:version\s+of\s+[`\"']?(?P<of>{_NAME}(?:\s+[A-Z][a-z]+)?)|^[`\"']?(?P<head>{_NAME})[`\"']?\s*"
    r"(?:version)?\s*:?\s*$)",
    re.IGNORECASE,
)


_ALONE_RE = re.compile(rf"^[`\"']?{VERSION_PATTERN}[`\"']?$")


# Words before a version that say it works: "It's okay to use Gradio in 3.39.0"
_GOOD_BEFORE = re.compile(
    r"\b(?:okay|ok|fine|safe|good)\s+to\s+use\s+(?:[\w@/.-]+\s+){0,2}?(?:in|at|with|version)?\s*"
    r"[`'\"]?[vV]?$",
    re.IGNORECASE,
)


# Words after a version that say it is past the problem: "1.6.0 is out", "0.31.2 works".
_AFTER_GOOD = re.compile(
    r"^[`\"']?\s*(?:也|就)?(?:可以|可用|能用|没问题|正常)|"
    r"^[`\"']?\s*(?:(?:also|still|too)\s+)?(?:(?:can|could)\s+(?:now\s+)?(?:run|work|start|build)|"
    r"runs\s+(?:fine|ok|now|again)|"
    r"is\s+out|has\s+(?:the\s+fix|them|it|wheels)|works|fixe[sd]\s+it|"
    r"is\s+fine|is\s+released|resolves\s+it|,?\s*(?:which|that)\s+(?:has|includes|contains|"
    r"fixes)|(?:includes|contains)\s+the\s+fix|is\s+the\s+(?:release|version)\s+(?:with|that\s+has|"
    r"that\s+includes|containing)\s+the\s+fix)\b",
    re.IGNORECASE,
)


_STILL = (
    r"still\s+(?:fail\w*|happen\w*|broken|break\w*|an?\s+issue|there|the\s+same|occur\w*|exist\w*|"
    r"present|see\w*|get\w*|have|has|having|facing)"
)


# A range that runs on: "setuptools>=58 breaks", "removed in Pillow 10.0.0", "since 2.1".
_OPEN_BEFORE = re.compile(
    r"(?:>=?|=>)\s*[`\"']?\s*$|\b(?:removed|dropped|gone)\s+(?:in|from|since|as\s+of)"
    r"\s+(?:\S+\s+)?$|\b(?:since|starting\s+(?:with|from|in|at)|as\s+of)\s+"
    r"(?:version\s+|\S+\s+)?$",
    re.IGNORECASE,
)


_OPEN_AFTER = re.compile(
    r"^[`\"']?\s*(?:\+|and\s+(?:up|above|later|newer|higher)|or\s+(?:later|newer|above|higher)|"
    r"onwards?\b|and\s+on\b|(?:has\s+)?(?:removed|dropped|no\s+longer\s+supports?)\b|"
    r"(?:版本)?(?:中|里|起|开始)?(?:删除|移除|去掉|废弃|不再))",
    re.IGNORECASE,
)


_FAILURE_CUE = re.compile(
    rf"\b(?:fail\w*|broken|breaks|broke|{_STILL}|same|error\w*|regress\w*|reproduc\w*|crash\w*)\b",
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
    wheel wheels here there it this that these those them library lib package am im i'm about
    around approximately than error errors issue bug problem tag version: currently right
    python.pillow openssl libressl glibc musl chromium electron lts project projects app apps
    older newer earlier later previous fixed broken working buggy their his her dependency
    install installing uninstall add seems chooses migrate download downloaded downloading
    dependencies deps dep why what how which who whom whose where whether because though
    although support supports keep keeps need needs want wants require prefer
    recommend suggest move moved switch remove drop release publish ship deprecate break breaks
    change changes happen happens stick revert restore branch branches line series mode api esm
    cjs commonjs module modules build builds option options config"""
)


# Words that stand for "the package this thread is about" in advice ("pin it to 0.30.6").
PRONOUNS = _words(
    """it this that them these those your our my the dependency dependencies dep deps package
    packages lib library everything back version versions to on at from with and or"""
)


_FIX_CUE = re.compile(
    r"\b(?:fix(?:ed)?|resolved|solved|released|landed|shipped|available|patched|addressed)"
    r"(?:\s+(?:it|this|that|the\s+(?:issue|bug|problem|error)))?\s+(?:in|by|with|since|as of)\s*"
    r"(?:\S+\s+)?$|"
    r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+)?(?:released|published|tagged|shipped)\s+(?:\S+\s+)?$",
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
    rf"\b(?:same|also|{_STILL}|too|happens|happening|reproduc\w*|broken|breaks|broke|fail\w*|"
    r"affected|affects|seeing|getting|having|regress\w*|occurs|error|problem|issue|"
    r"related\s+to|caused\s+by|due\s+to|because)\b",
    re.IGNORECASE,
)


# "the error can be fixed by …" speaks of the fix, not of a broken version
_CAN_BE_FIXED_RE = re.compile(
    r"\b(?:the\s+|this\s+)?(?:error|issue|problem|bug)\s+(?:can|could|should)\s+be\s+"
    r"(?:fixed|solved|resolved|avoided)\b",
    re.IGNORECASE,
)
_SUCCEEDED_THERE = re.compile(
    r"\b(?:works?|worked|working)\s+(?:just\s+)?(?:fine|well|ok|okay|great)\b|\bno\s+(?:issues?|"
    r"problems?|errors?)\b",
    re.IGNORECASE,
)
_SUCCEEDED = re.compile(
    r"\b(?:solved|fixed|works|worked|resolved)\s+(?:it|this|the)\b|"
    r"\b(?:problem|issue|error|bug)\s+(?:is|was|has\s+been|got)\s+(?:solved|fixed|resolved|gone)\b",
    re.I,
)
_AFTER_UPGRADE = re.compile(r"\b(?:after|since|when|once)\b", re.IGNORECASE)


Role = Literal["affected", "fixed", "good", "before"]


@dataclass(frozen=True)
class Mention:
    """A version named in the thread, with the package named next to it (if any)."""

    text: str
    name: str | None
    role: Role | None  # None: named without a cue that tells what it is
    comment: int  # index in thread.comments (0 is the opening post)
    open: bool = False  # "setuptools>=58", "removed in 10.0": every later version too
    near_runtime: bool = False  # its sentence names a runtime ("Python version: 3.12")
    failing: bool = False  # npm names it as the package that failed ("… from pkg@1.2.3")


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
        message = read_message(comment.body)
        texts += [(i, s) for s in message.sentences] + [(i, f) for f in message.log_facts]
        texts += [(i, q) for q in message.quotes]  # a quoted README or changelog states facts
    out += _title_majors(thread.title)
    previous = ""
    for index, sentence in texts:
        if _NPM_RUN_HEADER.match(sentence):
            continue  # "> my-app@1.0.0 start": npm names the project being run, not a dependency
        sentence = spaced(re.sub(r"\b([vV])\s(?=\d)", r"\1", sentence))  # "uuid v 9.0.0"
        asked = _ALONE_RE.match(sentence) and _ASKED_RE.search(previous)
        for match in VERSION_RE.finditer(sentence):
            version = match["version"] or match["major"] or match["major2"] or match["major3"]
            before = sentence[max(0, match.start() - 80) : match.start()]
            named = _TEMPLATE_RE.search(before) or _NAMED_RE.search(before)
            name = named["name"].strip("`\"'") if named else None
            spoken = _RUNTIME_VERSION_RE.search(before)
            if spoken and spoken["rt"].lower() in RUNTIME_WORDS:
                name = runtime_name(spoken["rt"])  # "i use yarn in version 1.22.22": yarn's
            if name and name.endswith(("-", "_")):
                name = name.rstrip("-_") or None  # "matplotlib-3.8.0": a file name's package
            if name and name.endswith((".", ":")):
                name = None  # the end of the previous sentence or a label, not a package
            if asked:
                # "What version of React Router are you using?": react-router
                name = re.sub(r"\s+", "-", (asked["of"] or asked["head"]).strip())
            if name and not plausible_name(name):
                # "Node 20.11", "Python 3.7": a runtime's version, never the library's
                name = runtime_name(name) if name.lower().rstrip(":") in RUNTIME_WORDS else None
            if (
                name is None
                and out
                and re.search(
                    rf"{re.escape(out[-1].text)}[`'\"]?\s*(?:,|and|or|/|&)\s*[`'\"]?$", before
                )
            ):
                name = out[-1].name  # "Python 3.7 and 3.8": the list goes on
            after = sentence[match.end() :].strip()
            if name is None:
                # "Since v0.26.0 huggingface_hub, `cached_download` has been deprecated": the
                # package named right after its version
                follows = re.match(
                    rf"[`'\"]?(?P<name>{_NAME})[`'\"]?\s*(?:,|\s(?:has|have|is|was)\b)", after
                )
                if (
                    follows
                    and plausible_name(follows["name"])
                    and (
                        re.search(r"[_.-]", follows["name"])
                        or follows["name"].lower() in thread.title.lower()
                    )
                ):
                    name = follows["name"]
            # "works fine with `11.1.0`": the cues read past the quote
            # and past the package glued to it: "I've just published uuid@11"
            cue = re.sub(r"[`'\"]+$", "", before)
            if not re.search(r"(?:<=?|\^|~)\s*$", cue):
                cue = re.sub(r"[\w./-]+@$", "", cue)
            role = _role(sentence, cue, index)
            if role != "fixed" and _AFTER_GOOD.match(after):
                role = "good"
            if _GOOD_BEFORE.search(before):
                role = "good"  # "It's okay to use Gradio in 3.39.0"
            role = _checked_role(role, version, sentence, before, after)
            role = _advice_role(role, version, sentence, opening=index == 0)
            if role is None and _gone_since(sentence, before, thread):
                role = "affected"
            if re.search(r"\bfrom\s+[`'\"]?$", before) and re.match(r"^[`'\"]?\s*to\b", after):
                # "upgrading from 0.27.2 to 1.0.0"; "downgrade react-scripts from v5 to v4.0.3"
                # names the broken version it leaves
                back = re.search(r"\b(?:downgrad\w*|roll\w*\s+back|revert\w*)\b", before, re.I)
                role = "affected" if back else "before"
            opened = bool(_OPEN_BEFORE.search(before) or _OPEN_AFTER.match(after)) or bool(
                re.search(r"\bfrom\s+$", before) and re.match(r"^(?:is|are)\b", after)
            )
            # "the get method was removed when importlib-metadata went to version 5.0"
            opened = opened or bool(re.search(r"\b(?:was|were|got|been)\s+removed\b", sentence))
            if (match["major"] or match["major2"] or match["major3"]) and name is None:
                continue  # "v2" alone is too vague to be a version of the thread's library
            near = bool(_RUNTIME_NEAR.search(sentence))
            failing = sentence.startswith("from ") and sentence.endswith(f"@{version}")
            out.append(
                Mention(version, name, role, index, opened and role == "affected", near, failing)
            )
        previous = sentence
    # a version named twice in one comment, once with its package: the named mention tells
    # what it is ("compiled using NumPy 1.x" is no report of 1.x, however the echo reads)
    named = {(m.text, m.comment) for m in out if m.name is not None}
    return [m for m in out if m.name is not None or (m.text, m.comment) not in named]


_RUNTIME_ALIASES = {"nodejs": "node", "node.js": "node", "python3": "python", "py": "python"}


def runtime_name(name: str) -> str:
    """One name per runtime: "Node.js", "nodejs" and "node" are node."""
    low = name.lower().rstrip(":")
    return _RUNTIME_ALIASES.get(low, low)


RUNTIME_WORDS = _words(
    """node nodejs node.js python py python3 npm npx pnpm yarn pip pip3 bun deno os macos mac
    windows win ubuntu linux debian fedora alpine chrome firefox safari edge ios android
    typescript tsc go golang rust rustc java jdk docker kubernetes postgres postgresql mysql
    sqlite redis cuda cudnn gcc clang xcode vscode openssl libressl glibc electron
    python_version python_full_version sys_platform platform_release"""
)


# "yarn in version 1.22.22", "node at version 18.1": a runtime's version said in words
_RUNTIME_VERSION_RE = re.compile(
    r"(?<![\w.-])(?P<rt>[A-Za-z][\w.]*)\s+(?:in|at|on|with)\s+(?:the\s+)?version\s+[vV]?$", re.I
)
_RUNTIME_NEAR = re.compile(
    r"\b(?:node(?:\.?js)?|python\d?|npm|pip|yarn|pnpm|bun|deno|macos|windows|ubuntu|linux|os|"
    r"typescript)\b",
    re.I,
)


# Issue titles name a major line as "ESLint 9 / Flat config", "Support Vite 5", "eslint 9+".
_TITLE_MAJOR_RE = re.compile(
    rf"(?<![\w@/.-])(?P<name>{_NAME})\s+[vV]?(?P<major>\d{{1,2}})(?P<plus>\+)?(?![\w.])"
)


_JS_PY_RUNTIMES = frozenset({"node", "python"})


# "v4 can't be imported in node": a bare major the title reports broken, of the library
_TITLE_BARE_MAJOR_RE = re.compile(r"(?<![\w@/.-])[vV](?P<major>\d{1,2})(?![\w.])")
_TITLE_TROUBLE_RE = re.compile(
    r"\b(?:can'?t|cannot|not\s+work\w*|doesn'?t|broken|breaks?|fails?|error|err_\w+|crash\w*|"
    r"unable)\b",
    re.IGNORECASE,
)


def _title_majors(title: str) -> list[Mention]:
    out = []
    if _TITLE_TROUBLE_RE.search(title):
        for match in _TITLE_BARE_MAJOR_RE.finditer(title):
            word = re.search(r"([\w@/.-]+)\s*$", title[: match.start()])
            if word and plausible_name(word.group(1)) and not word.group(1).isupper():
                continue  # "node v4", "chai v5": the named reading below has it
            out.append(Mention(match["major"], None, "affected", 0, False))
    for match in _TITLE_MAJOR_RE.finditer(title):
        name = match["name"]
        if runtime_name(name) in _JS_PY_RUNTIMES and not name.isdigit():
            # "failed to npm install with node 16": the runtime's line
            out.append(Mention(match["major"], runtime_name(name), "affected", 0, False, True))
            continue
        if not plausible_name(name) or name.lower() in RUNTIME_WORDS or name.isdigit():
            continue
        if not (name[0].isupper() or re.search(r"[-.]", name) or match["plus"]):
            continue  # "Support 2 formats": a plain word and a number
        out.append(Mention(match["major"], name, "affected", 0, bool(match["plus"])))
    return out


def plausible_name(name: str) -> bool:
    """Whether a word next to a version can be a package name ("getting 1.0.2" cannot)."""
    low = name.lower().rstrip(":")
    if re.fullmatch(MANIFEST, low.strip("_*`'\""), re.IGNORECASE):
        return False  # "in my package.json to 2.1.x": the file the version is written in
    if re.fullmatch(r"v?\d[\w.]*", low):
        return False  # "v5 4.0.3": a version, not a package
    if re.search(r"(?:update|upgrade|downgrade|bump|install)$", low):
        return False  # "The auto-update to 1.1.1 broke …"
    if low in NOT_LIBRARIES or re.search(r"(?:error|exception|warning)$", low):
        return False  # "ModuleNotFoundError version 0.2.0" names an error, not a package
    return not (re.fullmatch(r"[a-z]+", low) and low.endswith(("ing", "ed", "ly")) and len(low) > 4)


_COMMAND_PIECE = re.compile(
    r"^(?:run\s+|e\.g\.?,?\s+|i\.e\.?,?\s+|like\s+|such\s+as\s+)?[!$%]?\s*(?:sudo\s+)?"
    r"(?:npm|pnpm|yarn|pip3?|uv|poetry|bun|conda|python3?\s+-m\s+pip)\s",
    re.IGNORECASE,
)


def _advice_role(
    role: Role | None, version: str, sentence: str, opening: bool = False
) -> Role | None:
    """A version an instruction names is not one the thread reports broken ("Use
    Pillow==9.5.0 instead"); one a clause says worked is a good version. In the opening post a
    bare "install X 4.0.2 because …" is the reporter's setup: the version they report."""
    if role not in ("affected", None):
        return role
    from experimentos.lifecycle.ingest import phrases
    from experimentos.lifecycle.ingest.vocab import ANY_VERB

    for piece in phrases.pieces(sentence):
        if version not in piece:
            continue
        if _FAILURE_CUE.search(
            _CAN_BE_FIXED_RE.sub(
                "", re.sub(r"\b(?:the|a)\s+broken\s+(?:version|one|release)", "", piece)
            )
        ):
            continue
        plain = piece.replace("`", "")
        if _COMMAND_PIECE.match(plain):
            return None  # "!pip install importlib-metadata==4.13.0": an instruction
        how = phrases.mood(plain, sentence, ANY_VERB)
        if how == "success" or (
            phrases.succeeded(piece) and re.search(rf"(?:==|@)\s*{re.escape(version)}", piece)
        ):
            return "good"
        if how == "directive" or piece.startswith("run "):
            setup = opening and re.match(r"(?:install|use|using|installed)\b", plain.strip(), re.I)
            return role if setup and not phrases.offered_as_fix(sentence) else None
    return role


def _checked_role(
    role: Role | None, version: str, sentence: str, before: str, after: str
) -> Role | None:
    """A question asks, it does not report; a pre-release is broken only when it is said so."""
    question = sentence.rstrip(" )").endswith("?")
    parsed = parse_version(version.replace(".x", ".0").replace(".X", ".0"))
    prerelease = parsed is not None and parsed.is_prerelease
    failure = bool(_FAILURE_CUE.search(sentence))
    if question:
        return "affected" if failure and not prerelease else None
    if (
        prerelease
        and role == "affected"
        and not _FAILURE_CUE.search(f"{before[-30:]} {after[:40]}")
    ):
        near = f"{before[-60:]} {after[:60]}".lower()
        return "fixed" if re.search(r"fix|--pre|pre-?release|works|solv", near) else None
    return role


_INSTALLED_CUE = re.compile(
    r"\b(?:you(?:'re|\s+are)|i(?:'m|\s+am)|we(?:'re|\s+are)|i\s+was|we\s+were|you\s+were)\s+"
    r"(?:still\s+)?(?:using|on|running)\s+(?:\S+\s+)?$",
    re.IGNORECASE,
)


# "because your numpy version >=1.24", "my pandas version is 2.0.1"
_YOUR_VERSION_CUE = re.compile(
    r"\b(?:your|my|our)\s+(?:[`'\"]?[\w.-]+[`'\"]?\s+)?version\s*(?:is\s+)?(?:>=?|=>|==?|:)?\s*$",
    re.IGNORECASE,
)


def _gone_since(sentence: str, before: str, thread: Thread) -> bool:
    """ "Since v0.26.0 huggingface_hub, `cached_download` has been deprecated" in a thread whose
    title cannot import `cached_download`: the version it went away in."""
    if not re.search(r"(?:^|\b(?:since|as\s+of|starting\s+(?:with|from|in)))\s+$", before, re.I):
        return False
    gone = re.search(
        r"`?(?P<name>[A-Za-z_][\w.]*)`?\s+(?:has|have|was|were|is)\s+(?:been\s+)?"
        r"(?:deprecated|removed)\b",
        sentence,
    )
    if not gone:
        return False
    title = thread.title.lower()
    return "import" in title and gone["name"].split(".")[-1].lower() in title


def _role(sentence: str, before: str, comment: int) -> Role | None:
    if re.search(r"\bdeprecated\s+(?:in|since|as\s+of|from)\s+(?:\S+\s+)?$", before, re.I):
        return None  # deprecated is not broken: it still works there, with a warning
    if re.search(
        r"(?:^|\b(?:since|as\s+of|starting\s+(?:with|from|in)))\s+$", before, re.I
    ) and re.search(
        r"\b(?:has|have|was|were|is|are|been)\s+(?:now\s+)?removed\b|\bno\s+longer\s+(?:exists?|available)\b",
        sentence,
        re.I,
    ):
        return "affected"  # "Since v0.26.0 huggingface_hub, `cached_download` has been removed"
    if re.search(
        r"\b(?:requires?|declares?|depends\s+on)\s+\S*$|(?:<=?|\^|~)\s*$|"
        r"\bcompiled\s+(?:using|with|against)\s+\S*\s*$",
        before,
        re.IGNORECASE,
    ):
        return None  # "requires importlib-metadata>=4.4", "urllib3<2": a constraint
    if _INSTALLED_CUE.search(before) or _YOUR_VERSION_CUE.search(before):
        if _SUCCEEDED_THERE.search(sentence) and not _FAILURE_CUE.search(sentence):
            return "good"  # "We're still on 1.9.3 in production, works fine there"
        return "affected"  # "It looks like you're using v0.22.x", "I was on 4.28"
    if _FIX_CUE.search(before):
        return "fixed"
    if _GOOD_CUE.search(before):
        return "good"
    if _BACK_CUE.search(before):
        return "before"
    if _UP_CUE.search(before) and re.search(
        r"\b(?:fix|solve|resolve)\w*\s+(?:\w+\s+)?by\s+\S+ing\b", before, re.IGNORECASE
    ):
        return "fixed"  # "Should be able to fix by updating `uuid` dependency to v9"
    if _UP_CUE.search(before):
        # "After upgrading to 0.31.0, generate breaks" and "I upgraded to 8.0.1 and it still
        # fails" report affected versions; "upgrade to 0.31.2" names a way out.
        if comment == 0 or _AFTER_UPGRADE.search(before) or _AFFECTED_CUE.search(sentence):
            return "affected"
        return "fixed"
    told = _CAN_BE_FIXED_RE.sub("", sentence)
    if comment == 0 or (_AFFECTED_CUE.search(told) and not _SUCCEEDED.search(told)):
        return "affected"  # "solved it here too" is no report of a broken version
    return None


def thread_library(thread: Thread, mentions: list[Mention]) -> str | None:
    """The package named next to versions most often (the opening post counts double)."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for n, mention in enumerate(mentions):
        if mention.name is None or mention.name in RUNTIME_WORDS:
            continue
        key = mention.name.lower()
        # npm's "… from pkg@1.2.3" names the package that failed: it outweighs the React
        # version the title names
        counts[key] += 4 if mention.failing else 2 if mention.comment == 0 else 1
        first.setdefault(key, n)
    title = re.sub(r"^[\s\[(]+", "", thread.title).lower()
    runtime = next((w for w in RUNTIME_WORDS if re.match(rf"{re.escape(w)}\b", title)), None)
    if not counts and runtime and any(m.name == runtime for m in mentions):
        return runtime  # "[node >= v17] ERR_OSSL_EVP_UNSUPPORTED"
    if not counts:
        # A tracker's own versions: "I'm still getting 1.0.2 when I `pip install guessit`".
        text = " ".join([thread.title, *(c.body for c in thread.comments)]).lower()
        repo = thread.repo.lower()
        named = re.search(rf"(?<![\w-]){re.escape(repo)}(?![\w-])", text)
        if named and any(m.name is None for m in mentions):
            return repo
        # no package named next to a version, but the opening post reports its runtime's:
        # "Running Node.js 20.3.1" (what fails is the runtime's line)
        runtimes = [
            m.name
            for m in mentions
            if m.comment == 0 and m.role == "affected" and m.name in _JS_PY_RUNTIMES
        ]
        return Counter(runtimes).most_common(1)[0][0] if runtimes else None
    hints = {thread.repo.lower(), *(label.lower() for label in thread.labels)}
    repo = thread.repo.lower()
    for name in counts:  # the repository's own packages ("react-router-dom" in react-router)
        if len(repo) > 3 and name != repo and name.startswith(f"{repo}-"):
            counts[name] += 2

    def hinted(name: str) -> bool:
        return any(name == h or name in h.split("/") for h in hints)

    def rank(name: str) -> tuple:
        return (-counts[name], not hinted(name), first[name])

    # Registry names compare without case ("Pillow" is pillow; npm names are lowercase).
    best = min(counts, key=rank)
    if best == repo:
        # the repository's name in a bug template ("React Router 6.0.1") stands for the package
        # the thread imports from it: "'Switch' is not exported from 'react-router-dom'"
        text = " ".join([thread.title, *(c.body for c in thread.comments)]).lower()
        published = Counter(re.findall(rf"(?<![\w-]){re.escape(repo)}-[a-z]+(?![\w-])", text))
        if published:
            return published.most_common(1)[0][0]
    return best


def line_start(text: str) -> str:
    """ "0.22.x" -> "0.22.0", "1.X.X" -> "1.0" (a version stays as it is)."""
    return re.sub(r"\.[xX*]{1,2}", ".0", text)
