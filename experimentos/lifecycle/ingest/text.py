"""Markdown of a GitHub comment -> sentences an advice reader can look at.

Fenced code (logs, traces, configs) is dropped, except a short command right after a sentence
that introduces it ("Workaround:"), which is appended to that sentence as inline code. Quoted
lines (`> …`) are kept apart: they repeat someone else's words, and a correction that quotes an
earlier comment names what it corrects. HTML comments (issue-template hints) are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_DETAILS_RE = re.compile(r"</?(?:details|summary)[^>]*>", re.IGNORECASE)
_BULLET_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?")
_HEADING_RE = re.compile(r"^\s*#{1,6}\s+")
# A sentence ends at . ! ? followed by space and something that starts a sentence (a digit only
# after a word: "no wheels. 1.6.0rc1 has them"); the dots inside 0.31.2 never end one.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*_\"'(@\[]|--)|(?<=[A-Za-z]{2}[.!?])\s+(?=\d)")
_ABBREVIATION_RE = re.compile(r"(?:^|\s|\()(?:e\.g|i\.e|etc|vs|cf|approx)\.$", re.IGNORECASE)
_INTRO_RE = re.compile(r":\s*$")
MAX_COMMAND_CHARS = 200


@dataclass
class Message:
    """The readable parts of one comment."""

    sentences: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)  # quoted lines, joined per block


def read_message(markdown: str) -> Message:
    """Sentences outside code and quotes, and the quoted passages, of a comment body."""
    text = _HTML_COMMENT_RE.sub(" ", markdown.replace("\r\n", "\n").replace("\r", "\n"))
    text = _DETAILS_RE.sub(" ", text)
    out = Message()
    paragraph: list[str] = []
    quote: list[str] = []
    lines = text.split("\n")
    i = 0

    def flush() -> None:
        if paragraph:
            out.sentences.extend(split_sentences(" ".join(paragraph)))
            paragraph.clear()

    def flush_quote() -> None:
        if quote:
            out.quotes.append(" ".join(quote))
            quote.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE_RE.match(line)
        if fence:
            marker = fence.group(1)
            block: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                block.append(lines[i])
                i += 1
            i += 1  # the closing fence
            flush_quote()
            flush()
            _attach_command(out, block)
            continue
        stripped = line.strip()
        if stripped.startswith(">"):
            flush()
            quote.append(stripped.lstrip("> ").strip())
            i += 1
            continue
        flush_quote()
        if not stripped:
            flush()
        elif _HEADING_RE.match(line) or _BULLET_RE.match(line):
            # Headings and list items stand alone: "- drizzle-kit: 0.31.0" is not part of the
            # sentence before it.
            flush()
            paragraph.append(_BULLET_RE.sub("", _HEADING_RE.sub("", line)).strip())
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush_quote()
    flush()
    return out


def _attach_command(out: Message, block: list[str]) -> None:
    """Append the first command of a fenced block to an introducing sentence ("Run:")."""
    if not out.sentences or not _INTRO_RE.search(out.sentences[-1]):
        return
    command = next((b.strip() for b in block if b.strip()), "")
    command = command.removeprefix("$ ").strip()
    if command and len(command) <= MAX_COMMAND_CHARS and "`" not in command:
        out.sentences[-1] = f"{out.sentences[-1]} `{command}`"


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph (markdown emphasis kept; whitespace collapsed)."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    out: list[str] = []
    for part in (s.strip() for s in _SENTENCE_END_RE.split(text)):
        if not part:
            continue
        if out and _ABBREVIATION_RE.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"  # "e.g. `pip install …`" goes on
        else:
            out.append(part)
    return out


# Clause boundaries: "Don't pin it; upgrade instead." / "…, but upgrading works" / "instead,".
_CLAUSE_RE = re.compile(
    r"\s*(?:;|\s-{1,2}\s|,?\s+\binstead\b(?!\s+of)[,:]?|,?\s+\bbut\b|,?\s+\bhowever\b,?|"
    r"^\s*instead\b[,:]?)\s*",
    re.IGNORECASE,
)


def clauses(sentence: str) -> list[str]:
    """A sentence cut where a negated part may meet an affirmed one."""
    return [c.strip(" ,.") for c in split_outside_code(_CLAUSE_RE, sentence) if c.strip(" ,.")]


_CODE_SPAN_RE = re.compile(r"`[^`]*`")


def split_outside_code(pattern: re.Pattern[str], text: str) -> list[str]:
    """`pattern.split(text)`, except inside `code spans` (`pd.concat([a, b])` stays whole)."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    masked = _CODE_SPAN_RE.sub(hide, text)
    parts = [p for p in pattern.split(masked) if p]
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], p) for p in parts]


def normalise(text: str) -> str:
    """Lowercase words only, for comparing a quote with the sentence it quotes."""
    return " ".join(re.findall(r"[a-z0-9@._/-]+", text.lower().replace("`", "")))
