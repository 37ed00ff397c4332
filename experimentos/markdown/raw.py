"""Page text is data: what a page says can never open a heading, list item, fence or section of
the brief that shows it.

Every piece of text a brief takes from a page (or a manifest, or the request) goes through one
of two functions before it reaches the Markdown:
- `inline` for single-line fields (title, summary, checks, forbidden actions, scope values,
  reasons): invisible and control characters are dropped, every run of whitespace (newlines,
  Unicode line separators) becomes one space, a Markdown block marker at the start is escaped,
  and so are heading markers and bold runs anywhere in it (they would read as the brief's own
  labels: `## Decision rules`, `**Rule:**`);
- `quote` for body excerpts (a rule's `## Rule` section): every line is quoted (`> `), so the
  excerpt stays inside one block quote, and heading markers and setext underlines inside it are
  escaped, also behind further quote markers and list items (`> - # x`); lists and code keep
  their shape inside the quote.
`forges_structure` says whether a single-line field would have forged structure without this,
for `experimentos check`.

Reports and pull-request comments, which people read rendered on GitHub, use markdown/escape.py
instead: there links, mentions and HTML matter too. A brief is read raw by an agent: escaping
every backtick, underscore or `@` would only cost tokens and readability.
"""

from __future__ import annotations

import functools
import re

# Characters that are invisible or reorder text (bidi overrides, zero-width, BOM) and C0/C1
# controls: they can hide or disguise what the agent reads.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
# Everything a renderer or a reader may take as a line break, and other whitespace.
_BREAKS = re.compile(r"[\s\u2028\u2029\x85]+")
# A Markdown block construct at the start of a line: ATX heading, block quote, list item,
# fence, table row, HTML block (indented code needs an indent, which `inline` strips).
_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|\d{1,9}[.)](?=\s|$)|`{3,}|~{3,}|\||<[A-Za-z!/?])"
)
# Whole lines that are a thematic break or a setext underline (which turns the line above
# into a heading).
_RULE_LINE = re.compile(r"^\s{0,3}(?:(?:[-*_]\s*){3,}|=+\s*|-+\s*)$")
# What opens a line inside the quote before its text: more quote markers and list items, behind
# which a heading or a setext underline is as much a heading as at the start.
_CONTAINERS = re.compile(r"^(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*")
_HASHES = re.compile(r"(?<!\S)#+")  # heading markers after whitespace (or at the start)
_EMPHASIS = re.compile(r"\*\*+|__+")  # bold runs: `**Rule:**` is the brief's own label
# The brief's own labels, which page text must not be able to fake at a line start.
_LABELS = re.compile(r"^\s{0,3}(?:\*\*|__)\s*(?:rule|forbidden|required checks|stale)\s*:", re.I)


def _escape_start(text: str) -> str:
    if _RULE_LINE.match(text):
        return "\\" + text
    match = _BLOCK_START.match(text)
    if match is None:
        return text
    marker = match.group(0)
    if marker[0].isdigit():  # "1." / "1)": escape the punctuation, as CommonMark asks
        return f"{marker[:-1]}\\{marker[-1]}{text[len(marker) :]}"
    return "\\" + text


def inline(text: object) -> str:
    """One line of data: safe anywhere in a line of the brief, including its start."""
    return _inline(str(text))


@functools.lru_cache(maxsize=65536)  # page text recurs from brief to brief
def _inline(text: str) -> str:
    value = _INVISIBLE.sub("", text)
    value = _BREAKS.sub(" ", value).strip()
    value = _HASHES.sub(lambda m: "\\#" * len(m.group(0)), value)
    value = _EMPHASIS.sub(lambda m: "".join("\\" + c for c in m.group(0)), value)
    return _escape_start(value)


def quote(text: str) -> str:
    """A body excerpt as one block quote: each line prefixed with `> `, headings escaped."""
    value = _INVISIBLE.sub("", text.replace("\r\n", "\n"))
    lines = re.split(r"\r|\n|\u2028|\u2029|\x85", value)
    out = []
    for line in lines:
        line = line.rstrip()
        opening = _CONTAINERS.match(line).group(0)  # "> - ", "1. ", indentation
        text = line[len(opening) :]
        if _LABELS.match(text):  # `**Rule:**` and its kin are the brief's, not the page's
            line = opening + _EMPHASIS.sub(lambda m: "".join("\\" + c for c in m.group(0)), text)
        elif text.startswith("#") or _RULE_LINE.match(text) or _RULE_LINE.match(line):
            line = opening + "\\" + text if text else line[:-1] + "\\" + line[-1]
        out.append(f"> {line}" if line else ">")
    while out and out[-1] == ">":
        out.pop()
    return "\n".join(out)


def forges_structure(text: str) -> bool:
    """Whether a single-line field holds a line (its first included) that Markdown would read
    as a block of its own: a heading, list item, quote, fence, rule label or HTML block."""
    for line in re.split(r"\r\n|\r|\n|\u2028|\u2029|\x85|\x0b|\x0c", text):
        stripped = line.strip()
        if not stripped:
            continue
        if _BLOCK_START.match(stripped) or _LABELS.match(stripped) or _RULE_LINE.match(line):
            return True
    return False
