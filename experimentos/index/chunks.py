"""Split a page into search chunks: title + summary first, then body sections by heading.

Long sections are windowed so no chunk exceeds what the embedding model reads (~256 tokens);
tiny neighbouring sections are merged so a page costs few embeddings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from experimentos.models import Page

WINDOW_WORDS = 160  # ~210 word-piece tokens for English technical prose
OVERLAP_WORDS = 30
MIN_WORDS = 40  # sections shorter than this are merged with the next one

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_LINK_RE = re.compile(r"\[\[([^\]|]+)\|([^\]]+)\]\]|\[\[([^\]]+)\]\]")


@dataclass
class Chunk:
    ord: int
    heading: str
    text: str

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:32]


def _plain(text: str) -> str:
    """Body text as a reader sees it: [[id|label]] -> label, [[id]] -> id."""
    return _LINK_RE.sub(lambda m: m.group(2) or m.group(3), text)


def sections(body: str) -> list[tuple[str, str]]:
    """(heading, text) pairs; text before the first heading has an empty heading."""
    out: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in body.splitlines():
        if _FENCE_RE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING_RE.match(line)
        if match:
            out.append((match.group(2).strip(), []))
        else:
            out[-1][1].append(line)
    return [(h, "\n".join(lines).strip()) for h, lines in out if "\n".join(lines).strip()]


def _windows(words: list[str]) -> list[str]:
    if len(words) <= WINDOW_WORDS:
        return [" ".join(words)]
    step = WINDOW_WORDS - OVERLAP_WORDS
    return [
        " ".join(words[start : start + WINDOW_WORDS])
        for start in range(0, len(words) - OVERLAP_WORDS, step)
    ]


def chunk_page(page: Page) -> list[Chunk]:
    """The chunks of a page. Each section chunk starts with the page title for context."""
    head = page.title.strip()
    if page.summary.strip():
        head += "\n" + page.summary.strip()
    chunks = [Chunk(0, "", head)]
    merged: list[tuple[str, list[str]]] = []
    for heading, text in sections(_plain(page.body)):
        words = text.split()
        if merged and len(merged[-1][1]) < MIN_WORDS:
            prev_heading, prev_words = merged[-1]
            merged[-1] = (prev_heading or heading, [*prev_words, heading, *words])
        else:
            merged.append((heading, [heading, *words] if heading else words))
    for heading, words in merged:
        for window in _windows(words):
            chunks.append(Chunk(len(chunks), heading, f"{page.title}\n{window}"))
    return chunks
