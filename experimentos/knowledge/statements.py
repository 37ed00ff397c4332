"""Page statements (title, summary, tags: what a page is about and when it applies) as terms,
and an index of the reviewed rules' statements per snapshot, kept up to date as pages change.

Briefs rank rules by how well their statement matches the task (briefs/rank.py) and find rules
by their statements alone, so that a crowd of pages echoing the task cannot push a rule out of
the search hits. The index is built on the first brief of a knowledge base and then updated
from snapshot to snapshot with the pages that changed (`carry`), never rebuilt per edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from experimentos.models.knowledge import DECISION_TYPES, Page, Status

_WORD_RE = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "into",
        "are",
        "was",
        "were",
        "been",
        "has",
        "have",
        "had",
        "not",
        "but",
        "any",
        "all",
        "its",
        "their",
        "them",
        "they",
        "you",
        "your",
        "our",
        "can",
        "will",
        "would",
        "should",
        "could",
        "when",
        "what",
        "which",
        "who",
        "how",
        "than",
        "then",
        "there",
        "here",
        "also",
        "only",
        "more",
        "most",
        "such",
        "per",
        "via",
        "out",
        "off",
        "one",
        "two",
        "use",
        "used",
        "using",
        "get",
    ]
)
_SUFFIXES = ("ing", "ed", "es", "s")


def terms(text: str) -> list[str]:
    """Lowercased words of three or more characters, stop words dropped, crudely stemmed."""
    out = []
    for word in _WORD_RE.findall(text.lower()):
        if len(word) < 3 or word in _STOP:
            continue
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def statement(page: Page) -> str:
    return " ".join([page.title, page.summary, *page.tags])


_TERMS: dict[str, tuple[Page, list[str], frozenset[str]]] = {}


def _statement(page: Page) -> tuple[list[str], frozenset[str]]:
    """(terms of the page's statement, as a set), kept while the page object is the same (a
    snapshot reuses the objects of unchanged pages)."""
    found = _TERMS.get(page.id)
    if found is None or found[0] is not page:
        if len(_TERMS) > 50_000:
            _TERMS.clear()
        words = terms(statement(page))
        found = _TERMS[page.id] = (page, words, frozenset(words))
    return found[1], found[2]


def statement_terms(page: Page) -> list[str]:
    """`terms(statement(page))`, memoised."""
    return _statement(page)[0]


def statement_set(page: Page) -> frozenset[str]:
    """The distinct terms of the page's statement, memoised."""
    return _statement(page)[1]


def reviewed_by_shape(page: Page) -> bool:
    """An accepted policy or intervention with a rationale and evidence: a rule unless its
    evidence, dates or cited code say otherwise (knowledge/trust.py decides that)."""
    review = page.review
    return (
        page.status is Status.accepted
        and page.type in DECISION_TYPES
        and review is not None
        and bool(review.evidence)
        and bool(review.rationale.strip())
    )


INDEX_KEY = "rule-statements"  # in a Snapshot's cache


class RuleIndex:
    """The reviewed rules of a snapshot, and term -> the rules whose statement holds it. Sets
    are replaced, never changed in place: an updated index shares the others with its
    predecessor."""

    def __init__(self, rules: frozenset[str], postings: dict[str, frozenset[str]]):
        self.rules, self.postings = rules, postings

    @classmethod
    def build(cls, pages: dict[str, Page]) -> RuleIndex:
        postings: dict[str, set[str]] = {}
        rules = frozenset(pid for pid, page in pages.items() if reviewed_by_shape(page))
        for pid in rules:
            for term in statement_set(pages[pid]):
                postings.setdefault(term, set()).add(pid)
        return cls(rules, {t: frozenset(ids) for t, ids in postings.items()})

    def updated(self, gone: Iterable[Page], came: Iterable[Page]) -> RuleIndex:
        """The index after `gone` pages were removed (or replaced) and `came` ones added."""
        rules, postings = set(self.rules), dict(self.postings)
        for page in gone:
            if page.id in rules:
                rules.discard(page.id)
                for term in statement_set(page):
                    postings[term] = postings.get(term, frozenset()) - {page.id}
        for page in came:
            if reviewed_by_shape(page):
                rules.add(page.id)
                for term in statement_set(page):
                    postings[term] = postings.get(term, frozenset()) | {page.id}
        return RuleIndex(frozenset(rules), postings)


def rule_index(pages: dict[str, Page], cache: dict) -> RuleIndex:
    """The snapshot's index (built on first use; `carry` keeps it from snapshot to snapshot)."""
    found = cache.get(INDEX_KEY)
    if found is None:
        found = cache[INDEX_KEY] = RuleIndex.build(pages)
    return found


def carry(previous: dict, cache: dict, gone: Iterable[Page], came: Iterable[Page]) -> None:
    """Into a new snapshot's cache, the index of the previous one updated with the changes."""
    found = previous.get(INDEX_KEY)
    if found is not None:
        cache[INDEX_KEY] = found.updated(gone, came)
