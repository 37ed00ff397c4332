"""Advice said in words rather than in versions or code: workarounds (a clean reinstall, another
package manager that works) and the identifiers a thread says were removed or deprecated (the old
side of "use X instead", which actions.py reads)."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.text import read_message
from experimentos.lifecycle.ingest.thread import Thread
from experimentos.lifecycle.ingest.vocab import Action

# "`imp` module is removed", "Dataframe.append has been removed", "append (previously
# deprecated) was removed", "removed deprecated Series.append()": what "use X instead" replaces.
_REMOVED_RE = re.compile(
    r"(?:`(?P<code>[^`\s]+)`|(?P<bare>[A-Za-z_][\w.]*(?:\(\))?))\s+(?:\([^)]{0,40}\)\s+)?"
    r"(?:module\s+|method\s+|function\s+|class\s+|attribute\s+)?"
    r"(?:is|was|has\s+been|have\s+been|were|got|gets)\s+(?:now\s+|also\s+)?(?:deprecated\s+and\s+)?"
    r"(?:removed|deprecated|dropped)\b"
    r"|\b(?:removed|dropped)\s+(?:the\s+)?(?:deprecated\s+)?(?:`(?P<code2>[^`\s]+)`|"
    r"(?P<bare2>[A-Za-z_][\w.]*\(\)))",
    re.IGNORECASE,
)
_NOT_REMOVED = frozenset(
    {
        "it",
        "this",
        "that",
        "which",
        "support",
        "feature",
        "option",
        "module",
        "method",
        "function",
        "what",
        "code",
        "version",
        "package",
        "library",
        "api",
        "and",
        "also",
        "been",
        "has",
    }
)


def removed_in(thread: Thread) -> tuple[str, ...]:
    """Identifiers the thread (title and comments, outside code blocks) says were removed or
    deprecated, first named first: the old side of "use X instead"."""
    texts = [thread.title] + [s for c in thread.comments for s in read_message(c.body).sentences]
    out: list[str] = []
    for text in texts:
        for match in _REMOVED_RE.finditer(text):
            name = next((match[g] for g in ("code", "bare", "code2", "bare2") if match[g]), "")
            # "Series.append()" -> "append()": the name an import or a call uses
            name = re.sub(r"\(.*\)$", "()", name.strip("_*")).split(".")[-1]
            if name.lower().removesuffix("()") in _NOT_REMOVED or len(name) < 2:
                continue
            if name not in out:
                out.append(name)
    for comment in thread.comments:  # "has no attribute 'Listener'": what the code misses
        for match in _MISSING_RE.finditer(comment.body):
            name = next(g for g in match.groups() if g)
            if name not in out and name.lower() not in _NOT_REMOVED:
                out.append(name)
    return tuple(out)


# An error that names what the code can no longer find (the old side of a swap): "has no
# attribute 'X'", "cannot import name 'X'", "No module named 'a.b'", "call the 'X' method … no
# such method exists".
_MISSING_RE = re.compile(
    r"\bhas\s+no\s+attribute\s+'(\w+)'|\bcannot\s+import\s+name\s+'(\w+)'|"
    r"\bNo\s+module\s+named\s+'([\w.]+)'|\bcall\s+the\s+'(\w+)'\s+method\b[^\n]{0,80}?\bno\s+such\s+"
    r"method\b"
)


# A clean reinstall: remove what the package manager left (node_modules, a lock file, a cache,
# a virtual environment), then install again.
_CLEANUP_RE = re.compile(
    r"\b(?:delet\w*|remov\w*|rm\s+-r?f?|clear\w*|wip\w*|nuk\w*|purg\w*|clean\w*)\b[^.;]{0,60}?"
    r"(?<![\w.-])`?(?:node_modules|(?:the\s+|an?\s+|existing\s+)*lock\s*-?files?|"
    r"package-lock(?:\.json)?|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|"
    r"(?:npm|yarn|pip|pnpm)\s+cache|\.?venv)\b",
    re.IGNORECASE,
)
# Another package manager that works: "with yarn works fine", "switched to npm, it disappeared"
_OTHER_MANAGER_RE = re.compile(
    r"\b(?:with|using|via|switch\w*\s+(?:to|in|over\s+to)|mov\w*\s+to|use)\s+`?(?P<pm>npm|yarn|pnpm|bun)"
    r"`?(?!\s*(?:v?\d|@|install\b|i\b|add\b|run\b|ci\b))",
    re.IGNORECASE,
)
_MODAL_RE = re.compile(
    r"^(?:please\s+)?(?:try\s+|just\s+)?(?:delet|remov|rm\b|clear|wip|nuk|purg|clean)|"
    r"\b(?:you|u|we)\s+(?:may\s+|might\s+|will\s+|'ll\s+)?(?:just\s+)?(?:need|have|want|should|must|can)"
    r"|\btry\s+(?:to\s+)?(?:delet|remov|clear|clean)",
    re.IGNORECASE,
)


_IN_CASE_RE = re.compile(
    r"^(?:in\s+case|if)\s+(?:you|u)\s+(?:did\s+not|didn't|have\s+not|haven't)\s+"
    r"(?:already|yet)(?:\s+done\s+(?:so|that))?\s*,\s*",
    re.IGNORECASE,
)


def said_workarounds(sentence: str, opening: bool) -> list[Action]:
    """Workarounds said in words, read from a whole sentence: a clean reinstall ("delete the
    lock file and node_modules and do a fresh install") offered or reported to work, and
    another package manager reported to work ("with yarn works fine"). In the opening post only
    what is reported to work (its instructions ask the maintainers)."""
    plain = sentence.replace("`", "").replace("\u2019", "'")
    # "In case you did not already, you may need to …": the aside negates nothing offered
    plain = _IN_CASE_RE.sub("", plain)
    if phrases.is_question(plain) or phrases.negated(plain) and not phrases.succeeded(plain):
        return []
    worked = phrases.succeeded(plain)
    if not worked and phrases.failed(plain):
        return []
    cleanup = _CLEANUP_RE.search(plain)
    if cleanup and (worked or (not opening and _MODAL_RE.search(plain))):
        text = " ".join(phrases.strip_lead(plain).split()).rstrip(".")
        return [Action("workaround", text if len(text) <= 160 else text[:159].rstrip() + "…")]
    manager = _OTHER_MANAGER_RE.search(plain)
    if manager and worked:
        return [Action("workaround", f"install with {manager['pm'].lower()}")]
    return []


def library_in_words(library: str | None) -> re.Pattern[str] | None:
    """The library's name written as words: "Nano ID" or "NanoID" for nanoid, "Acme ORM" for
    acme-orm (its letters in order, a space, "-", "_" or "." allowed between any two), so
    that advice naming the product reads as advice on the package."""
    letters = re.sub(r"[^a-z0-9]", "", (library or "").lower())
    if len(letters) < 5:
        return None  # "pg", "ws": too short to tell a product name from a word
    body = r"[\s_.-]?".join(re.escape(ch) for ch in letters)
    return re.compile(rf"(?<![\w.@/-]){body}(?![\w@/-]|\.\w)", re.IGNORECASE)


def name_library(text: str, pattern: re.Pattern[str] | None, library: str | None) -> str:
    """`text` with the library's name in words written as the package name."""
    if pattern is None or not library:
        return text
    return pattern.sub(lambda m: library if re.search(r"[\s_.-]", m.group(0)) else m.group(0), text)


# Bounds said in words: "a version previous to 0.26", "versions smaller than 3.4.3", "anything
# under 2.4" ("at least 2.5.1" and "2.5.1 or newer" are upgrades to 2.5.1, read elsewhere). A
# comparative alone ("lower than 2.4") needs a version after it; "before" and "under" need the
# word version before them ("before 2.0 it worked" dates the report).
_WHICH = r"(?:(?:a|an|any|some|the|anything|all)\s+)?"
_VERSION_WORD = r"(?:(?:older|earlier|lower|previous|smaller)\s+)?(?:version|release)s?\s+"
_BELOW_WORDS = r"(?:older|earlier|lower|smaller|less)\s+than|(?:previous|prior)\s+to|below"
_BOUND_IN_WORDS_RE = re.compile(
    rf"\b{_WHICH}(?:{_VERSION_WORD}(?:{_BELOW_WORDS}|before|under)|(?:anything\s+)?"
    rf"(?:{_BELOW_WORDS}|under)(?=\s+(?:the\s+)?(?:version\s+)?[`'\"]?v?\d+\.\d))"
    r"\s+(?:the\s+)?(?:version\s+)?[`'\"]?(?=v?\d)",
    re.IGNORECASE,
)


def bounds_in_words(text: str) -> str:
    """`text` with a bound said in words written as one: "downgrading to a version previous to
    0.26" reads as "downgrading to <0.26", "pin x to versions smaller than 3.4.3" as "pin x to
    <3.4.3"."""
    return _BOUND_IN_WORDS_RE.sub("<", text)


# A clean reinstall given as commands: remove node_modules or a lock file, clean a cache
_CLEANUP_COMMAND_RE = re.compile(
    r"^\s*(?:\$\s*)?(?:sudo\s+)?(?:rm\s+(?:-\w+\s+)*\S*(?:node_modules|package-lock\.json|"
    r"yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|\.?venv)\b|"
    r"(?:npm|yarn|pnpm)\s+cache\s+(?:clean|verify|prune)|pip3?\s+cache\s+(?:purge|remove))",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE_RE = re.compile(r"```[^\n]*\n(?P<body>.*?)```", re.DOTALL)


def cleanup_commands(markdown: str, opening: bool) -> list[Action]:
    """A clean reinstall given as command blocks ("```rm -rf node_modules … npm cache clean```
    … ```npm install``` fixed the issue") that the comment says worked, or offers outside the
    opening post: a workaround."""
    blocks = [m["body"] for m in _FENCE_RE.finditer(markdown)]
    if not any(_CLEANUP_COMMAND_RE.search(b) for b in blocks):
        return []
    prose = _FENCE_RE.sub(" ", markdown)
    if phrases.failed(prose) or (not phrases.succeeded(prose) and opening):
        return []
    if not phrases.succeeded(prose) and not re.search(r"\b(?:try|run|do)\b", prose, re.I):
        return []
    return [
        Action(
            "workaround",
            "clean reinstall: remove node_modules and the lock files, clean the cache, "
            "install again",
        )
    ]


# "Use; https://www.npmjs.com/package/nope-id", "try https://pypi.org/project/x/ instead"
_PACKAGE_LINK_RE = re.compile(
    r"https?://(?:www\.)?(?:npmjs\.com/package|pypi\.org/project)/(?P<name>(?:@[\w.-]+/)?[\w.-]+)",
    re.IGNORECASE,
)
_OFFER_RE = re.compile(
    r"^\W*(?:@[\w-]+\s+)?(?:please\s+|just\s+|maybe\s+|you\s+(?:can|could|should|may)\s+)?"
    r"(?:use|try|switch\s+to|check\s+out|consider|go\s+with|install)\b",
    re.IGNORECASE,
)


def package_links(sentence: str, library: str | None, opening: bool) -> list[Action]:
    """Another package offered by a link to its registry page: a workaround, using it instead
    of the thread's library. Not in the opening post (it asks) and never a question."""
    match = _PACKAGE_LINK_RE.search(sentence)
    if match is None or opening or phrases.is_question(sentence):
        return []
    name = match["name"].rstrip(".")
    if not _OFFER_RE.search(sentence[: match.start()]) or (
        library and name.lower() == library.lower()
    ):
        return []
    instead = f" instead of {library}" if library else ""
    return [Action("workaround", f"use {name}{instead}")]


# A list of alternatives: "As mentioned …:\n- stick with chai 4\n- move to esm\n- use a dynamic
# import\n\nOne of the above is the solution"
_ITEM_RE = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,2}[.)])\s+(?P<text>\S.*?)\s*$")
_ITEM_VERB_RE = re.compile(
    r"^(?:use|move|switch|migrate|convert|set|add|remove|enable|disable|import|call|wrap|stick|"
    r"stay|keep|pin|lock|downgrade|upgrade|update|install|uninstall|reinstall|replace|rename|"
    r"change|run|delete|clear|pass|configure|load|require)\b",
    re.IGNORECASE,
)
_ALTERNATIVES_CUE_RE = re.compile(
    r"\b(?:solutions?|work\s*-?\s*arounds?|fix(?:es)?|options?|alternatives?|one\s+of|either|"
    r"you\s+(?:can|could|may|have\s+to|need\s+to)|ways?\s+to)\b",
    re.IGNORECASE,
)


def listed_alternatives(markdown: str, opening: bool) -> list[str]:
    """The items of a list a reply offers as ways out (an introduction ending in ":" and a cue:
    "solutions", "one of the above", "you can"), each an instruction. In the opening post (its
    lists are steps or requests) only a list a label offers as the fix ("Solutions:")."""
    lines = _FENCE_RE.sub("\n", markdown).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _ITEM_RE.match(lines[i]):
            i += 1
            continue
        start = i
        while i < len(lines) and _ITEM_RE.match(lines[i]):
            i += 1
        items = [_ITEM_RE.match(line)["text"] for line in lines[start:i]]  # type: ignore[index]
        intro = next((x for x in reversed(lines[:start]) if x.strip()), "")
        after = next((x for x in lines[i:] if x.strip()), "")
        offered = intro.rstrip().endswith(":") and (
            _ALTERNATIVES_CUE_RE.search(intro) or _ALTERNATIVES_CUE_RE.search(after)
        )
        if opening:
            offered = offered and bool(
                re.match(
                    r"\W*(?:possible\s+)?(?:solutions?|work\s*-?\s*arounds?|fix(?:es)?)\W*:\W*$",
                    intro,
                    re.I,
                )
            )
        if offered and 2 <= len(items) <= 6 and all(_ITEM_VERB_RE.match(t) for t in items):
            out += [t.rstrip(".;,") for t in items if len(t) <= 120]
    return out
