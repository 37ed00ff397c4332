"""Text from records, refs and files, escaped for the Markdown context it is printed in.

Reports, `report compare`, `report summary` and the pull-request comment are Markdown that
GitHub renders; an agent name, a condition, a reason or a ref comes from a file or a branch an
attacker may write. Printed raw, `<img src=…>` or `<!--` is HTML (a comment hides the rest of a
GitHub comment), `@user` and `owner/repo#1` notify people, a newline starts a heading such as
`## Regression: none`, and `[x](…)` is a link. Each context has one function here:

    text(value)   prose, list items, headings and table cells: one line; Markdown syntax
                  characters backslash-escaped, `@` and `#` kept from linking, a leading list
                  or heading marker escaped
    code(value)   a code span: one line, fenced by more backticks than the value holds
    cell(md)      a table cell made of Markdown built here: pipes escaped, one line
    line(md)      a prose line made of Markdown built here: one line, and (the safety net if a
                  value was printed raw) HTML openers and mentions outside code spans defused
    xml(value)    text inside inline SVG: XML-escaped and one line (a blank line would end the
                  HTML block it sits in)

Escaping is for the reader of the rendered Markdown: what they see is the value as written.
"""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH = "&#8203;"  # after `@` or `#`: GitHub neither mentions nor cross-references it

# Backslash-escaped wherever they occur: code spans, emphasis, HTML, entities, tables, math.
_ALWAYS = frozenset("\\`*~<&|$")
_WORD = re.compile(r"\w")
_LIST_START = re.compile(r"^(?:[-+=>]|[0-9]{1,9}[.)])")
_HTML_START = re.compile(r"(?<!\\)<(?=[A-Za-z/!?])")
_MENTION = re.compile(r"(?<![\\\w])([@#])(?=\w)")
_CODE_SPAN = re.compile(r"(?<![\\`])(`+)(.*?)(?<!`)\1(?!`)", re.S)


def _printable(value: object) -> str:
    """str(value) on one line: every run of whitespace (newlines, tabs, Unicode separators) is
    one space; control, format (bidi overrides, zero-width) and unassigned characters go."""
    text = str(value)
    kept = "".join(
        ch if ch.isspace() or unicodedata.category(ch)[0] not in "C" else "" for ch in text
    )
    return " ".join(kept.split())


def text(value: object) -> str:
    """`value` as literal Markdown prose (also right inside a table cell)."""
    raw = _printable(value)
    out: list[str] = []
    for i, ch in enumerate(raw):
        before = raw[i - 1] if i else ""
        after = raw[i + 1] if i + 1 < len(raw) else ""
        if ch in _ALWAYS:
            out.append("\\" + ch)
        elif ch == "_" and not (_WORD.match(before) and _WORD.match(after)):
            out.append("\\_")  # an intraword `_` (snake_case) never starts emphasis
        elif ch == "]" and after and after in "([:":
            out.append("\\]")  # `[x](url)`, `[x][ref]`: no link
        elif ch == "!" and after == "[":
            out.append("\\!")
        elif ch in "@#" and _WORD.match(after):
            out.append(("\\#" if ch == "#" else ch) + ZERO_WIDTH)
        elif ch == "#":
            out.append("\\#")
        else:
            out.append(ch)
    escaped = "".join(out)
    if _LIST_START.match(escaped):  # `- x`, `1. x`, `> x`, `=` would start a block
        escaped = "\\" + escaped if not escaped[0].isdigit() else _escape_number(escaped)
    return escaped


def _escape_number(escaped: str) -> str:
    digits = re.match(r"[0-9]+", escaped)
    end = digits.end() if digits else 0
    return escaped[:end] + "\\" + escaped[end:]


def code(value: object) -> str:
    """`value` as a code span: the fence is one backtick longer than the longest run inside,
    and a value that starts or ends with a backtick or a space is padded so it survives."""
    raw = _printable(value)
    if not raw:
        return "``"
    longest = max((len(run) for run in re.findall(r"`+", raw)), default=0)
    fence = "`" * (longest + 1)
    if raw[0] in "` " or raw[-1] in "` ":
        raw = f" {raw} "
    return f"{fence}{raw}{fence}"


def _outside_code(markdown: str, change) -> str:  # noqa: ANN001 - str -> str
    """Apply `change` to the parts of a Markdown line that are not code spans."""
    out, at = [], 0
    for match in _CODE_SPAN.finditer(markdown):
        out.append(change(markdown[at : match.start()]))
        out.append(match.group(0))
        at = match.end()
    out.append(change(markdown[at:]))
    return "".join(out)


def _defuse(part: str) -> str:
    part = _HTML_START.sub("&lt;", part)
    return _MENTION.sub(lambda m: m.group(1) + ZERO_WIDTH, part)


def line(markdown: object) -> str:
    """A line of Markdown built from escaped parts, kept on one line; should a value have been
    printed raw, an HTML tag or comment opener and a mention outside code spans are defused."""
    return _outside_code(_printable(markdown), _defuse)


def cell(markdown: object) -> str:
    """A table cell of Markdown built from escaped parts: `line`, and every pipe that is not
    already escaped gets a backslash (GitHub splits cells on pipes even inside code spans)."""
    out: list[str] = []
    slashes = 0
    for ch in line(markdown):
        if ch == "|" and slashes % 2 == 0:
            out.append("\\")
        out.append(ch)
        slashes = slashes + 1 if ch == "\\" else 0
    return "".join(out)


def xml(value: object) -> str:
    """Text or an attribute value inside inline SVG."""
    return (
        _printable(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )
