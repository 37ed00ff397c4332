"""The prebuilt search index the browser searches: one entry per page, its distinct words.

The index ships as a script (`assets/search-index.js` assigning `XOS_SEARCH_INDEX`) because a
page opened from file:// may not fetch() a JSON file; a script tag may load it. The browser
matches every query word as a prefix of some word of an entry (assets/search.js).

Runs of one task say the same thing (the task is their summary): entries of one `group` show as
one result, the best match, with how many more there are and a link to where they are listed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from experimentos.site.svg import SVG_BLOCK_RE

_WORD_RE = re.compile(r"[^\W_]+")  # letters and digits, like /[\p{L}\p{N}]+/u in search.js
SUMMARY_CHARS = 160
MAX_WORDS = 4000  # distinct words kept per entry (the shortest first go last)
INDEX_PATH = "assets/search-index.js"


@dataclass(frozen=True)
class SearchEntry:
    title: str
    url: str
    kind: str
    summary: str
    text: str  # everything searchable besides the title
    group: str = ""  # entries of one group show as one result
    group_url: str = ""  # where the whole group is listed


def group_key(*parts: str) -> str:
    """A short stable key for a group of entries."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def words(text: str) -> list[str]:
    """Distinct lowercase words (letters and digits), sorted."""
    found = set(_WORD_RE.findall(text.lower()))
    if len(found) > MAX_WORDS:
        found = set(sorted(found, key=lambda w: (-len(w), w))[:MAX_WORDS])
    return sorted(found)


def searchable(markdown: str) -> str:
    """A Markdown body without its charts (their numbers are not words anyone searches)."""
    return SVG_BLOCK_RE.sub(" ", markdown)


def index_script(entries: list[SearchEntry]) -> bytes:
    """The index as a script, entries sorted by URL, bytes stable across runs."""
    data = []
    for e in sorted(entries, key=lambda e: (e.url, e.title)):
        item = {
            "t": e.title,
            "u": e.url,
            "k": e.kind,
            "s": e.summary if len(e.summary) <= SUMMARY_CHARS else e.summary[:159] + "…",
            "w": " ".join(words(f"{e.title} {e.text}")),
        }
        if e.group:
            item |= {"g": e.group, "gu": e.group_url}
        data.append(item)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"window.XOS_SEARCH_INDEX = {text};\n".encode()
