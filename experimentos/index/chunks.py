"""What the index stores of a page: one full-text document, and windows for the vectors.

Full-text search ranks whole pages (title + summary + body), as BM25 is meant to be used;
measured on the retrieval benchmark, page-level BM25 beat section-level BM25 (nDCG@10 0.878 vs
0.842). Vectors are computed over windows of the same text: the first window starts with the
title and summary; a window holds about as many words as the model reads (0.75 words per
token of max_seq_length) and the next one overlaps it by 30 words. `max_windows` caps how many
windows of a long page are embedded: embedding is the cost of indexing, and full-text search
already covers the whole page. Each window remembers the heading of the section it starts in.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from experimentos.models.knowledge import Page

OVERLAP_WORDS = 30


def window_words(max_seq_length: int) -> int:
    """Words per window for a model that reads `max_seq_length` word-piece tokens."""
    return max(OVERLAP_WORDS * 2, int(max_seq_length * 0.75))


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


def plain(text: str) -> str:
    """Body text as a reader sees it: [[id|label]] -> label, [[id]] -> id."""
    return _LINK_RE.sub(lambda m: m.group(2) or m.group(3), text)


def _words_with_headings(body: str) -> list[tuple[str, str]]:
    """(word, heading of the section it is in) for every word of the body."""
    out: list[tuple[str, str]] = []
    heading, fenced = "", False
    for line in plain(body).splitlines():
        if _FENCE_RE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING_RE.match(line)
        if match:
            heading = match.group(2).strip()
            line = heading
        out.extend((word, heading) for word in line.split())
    return out


def page_document(page: Page) -> str:
    """The text full-text search indexes for a page."""
    parts = [page.title.strip(), page.summary.strip(), plain(page.body).strip()]
    return "\n".join(p for p in parts if p)


def chunk_page(page: Page, words_per_window: int = 192, max_windows: int = 1) -> list[Chunk]:
    """Overlapping windows over title + summary + body, for embedding."""
    head = [(w, "") for w in f"{page.title} {page.summary}".split()]
    words = head + _words_with_headings(page.body)
    if not words:
        return [Chunk(0, "", page.title)]
    chunks: list[Chunk] = []
    step = words_per_window - OVERLAP_WORDS
    for start in range(0, max(len(words) - OVERLAP_WORDS, 1), step):
        if len(chunks) == max_windows:
            break
        window = words[start : start + words_per_window]
        chunks.append(Chunk(len(chunks), window[0][1], " ".join(w for w, _ in window)))
    return chunks


def heading_at(document: str, position: int) -> str:
    """The Markdown heading of the section that contains `position` in a page document."""
    heading = ""
    end = document.find("\n", position)
    upto = document[: end if end >= 0 else len(document)]
    for match in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", upto, re.MULTILINE):
        heading = match.group(1).strip()
    return heading
