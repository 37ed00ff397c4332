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

from experimentos.lifecycle.ingest import roles
from experimentos.lifecycle.ingest.kinds import published_name
from experimentos.lifecycle.ingest.names import plausible_name
from experimentos.lifecycle.ingest.roles import Role
from experimentos.lifecycle.ingest.text import CJK, read_message, spaced
from experimentos.lifecycle.ingest.thread import Thread

VERSION_PATTERN = (
    r"[vV]?(?P<version>\d+\.(?:\d+|[xX*]{1,2})(?:\.(?:\d+|[xX*]{1,2}))?"
    # a pre-release as PEP 440 and semver write it: "rc2", "-rc.2", ".dev3", ".rc1", "RC2"; a
    # lone a or b only before its number, and only in lower case ("1.5B model", "1.5b" are sizes)
    r"(?:[-.]?(?:(?i:alpha|beta|rc|pre|next|canary|dev)\.?\d*|[ab]\.?\d+))?)"
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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that stand for "the package this thread is about" in advice ("pin it to 0.30.6").
PRONOUNS = _words(
    """it this that them these those your our my the dependency dependencies dep deps package
    packages lib library everything back version versions to on at from with and or"""
)


# No release number is longer (the longest in the corpus has 17 characters); a version range
# holds at most 200 (repofacts.names.MAX_RANGE).
_LONGEST_VERSION = 64


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
    for n, (index, sentence) in enumerate(texts):
        if n and _NPM_RUN_HEADER.match(sentence):
            # "> my-app@1.0.0 start": npm names the project being run, not a dependency (a
            # title is no log: "x@1.6.2 package broken" reports the version)
            continue
        sentence = spaced(re.sub(r"\b([vV])\s(?=\d)", r"\1", sentence))  # "uuid v 9.0.0"
        asked = _ALONE_RE.match(sentence) and _ASKED_RE.search(previous)
        for match in VERSION_RE.finditer(sentence):
            version = match["version"] or match["major"] or match["major2"] or match["major3"]
            if len(version) > _LONGEST_VERSION or re.search(r"\d{16}", version):
                # "1.999…" with thousands of digits is no release: no range can hold it (npm's
                # ranges take at most 15 digits a part)
                continue
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
            role = roles.role_of(sentence, cue, index, _own_stretch(sentence, match))
            if role != "fixed" and roles.AFTER_GOOD.match(after):
                role = "good"
            if roles.GOOD_BEFORE.search(before):
                role = "good"  # "It's okay to use Gradio in 3.39.0"
            role = roles.checked_role(role, version, sentence, before, after)
            role = roles.advice_role(role, version, sentence, opening=index == 0)
            if role is None and roles.gone_since(sentence, before, thread):
                role = "affected"
            if re.search(r"\bfrom\s+[`'\"]?$", before) and re.match(r"^[`'\"]?\s*to\b", after):
                # "upgrading from 0.27.2 to 1.0.0"; "downgrade react-scripts from v5 to v4.0.3"
                # names the broken version it leaves
                back = re.search(r"\b(?:downgrad\w*|roll\w*\s+back|revert\w*)\b", before, re.I)
                role = "affected" if back else "before"
            opened = bool(
                roles.OPEN_BEFORE.search(before) or roles.OPEN_AFTER.match(after)
            ) or bool(re.search(r"\bfrom\s+$", before) and re.match(r"^(?:is|are)\b", after))
            # "the get method was removed when importlib-metadata went to version 5.0"
            opened = opened or bool(re.search(r"\b(?:was|were|got|been)\s+removed\b", sentence))
            if (match["major"] or match["major2"] or match["major3"]) and name is None:
                continue  # "v2" alone is too vague to be a version of the thread's library
            # "published to NPM" names the registry, not a runtime's version
            near = bool(_RUNTIME_NEAR.search(_REGISTRY_RE.sub(" ", sentence)))
            failing = sentence.startswith("from ") and sentence.endswith(f"@{version}")
            out.append(
                Mention(version, name, role, index, opened and role == "affected", near, failing)
            )
        previous = sentence
    # a version named twice in one comment, once with its package: the named mention tells
    # what it is ("compiled using NumPy 1.x" is no report of 1.x, however the echo reads)
    named = {(m.text, m.comment) for m in out if m.name is not None}
    return [m for m in out if m.name is not None or (m.text, m.comment) not in named]


def _own_stretch(sentence: str, match: re.Match[str]) -> str:
    """The words of `sentence` from the version before `match` to the one after it: what is
    said there is said of this version ("Same on 2.0.4, 2.1.0 fixed it": not 2.0.4's fix)."""
    start, end = 0, len(sentence)
    for other in VERSION_RE.finditer(sentence):
        if other.end() <= match.start():
            start = other.end()
        elif other.start() >= match.end():
            end = other.start()
            break
    return sentence[start:end]


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
_REGISTRY_RE = re.compile(r"\b(?:to|on|from|in|at)\s+(?:npm|pypi)\b", re.IGNORECASE)
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
        opener = thread.comments[0] if thread.comments else None
        if opener is not None and opener.maintainer and any(m.name is None for m in mentions):
            # the project's own announcement ("Versions 0.2.4 and 0.2.5 were unpublished"):
            # its package, as the repository publishes it ("x.js" publishes x)
            return published_name(thread.repo, text)
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
