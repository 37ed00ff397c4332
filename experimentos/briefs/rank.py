"""Which decision rules apply best to this task, in the order a tight budget keeps them.

A rule's rank is the sum of three parts:
- **scope**: the `appliesTo` keys that match the request, a library the request names (by
  `--library` or in the task text) far above one the repository merely depends on, plus a
  matched version range, touched paths, agent, model, toolchain or repository type;
- **statement**: how well the rule's statement (title, summary, tags: what it is about and
  when it applies) matches the task, by BM25 with term weights from the statements of every page
  that can appear in this brief, relative to the best rule's;
- **search**: a quarter of the page's relative hybrid-search score (its whole text).
A rule whose scope says nothing about the request (no key matches) is a rule here only when its
statement and search score reach half the best rule's, and its statement shares words with the
task or search found it strongly: a reviewed rule about long-running commands does not belong in
a brief about a migration default just because search found it.

Rules are also found by their statements alone (`retrieve_rules`, over an index of the reviewed
rules' statements kept per snapshot): a crowd of other pages that echo the task cannot push a
rule out of the search hits.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from experimentos.briefs.models import Excluded
from experimentos.briefs.select import MIN_RELATIVE_SCORE, Candidate
from experimentos.knowledge.live import Snapshot
from experimentos.knowledge.statements import rule_index, statement_set, statement_terms, terms
from experimentos.models.knowledge import Page

SCOPE_WEIGHT = {
    "library_named": 1.0,  # appliesTo.library, named in the request
    "library": 0.3,  # appliesTo.library, a dependency the request does not name
    "undeclared": 0.6,  # named in the request, not declared by the manifests
    "versions": 0.5,
    "paths": 0.6,
    "agent": 0.3,
    "model": 0.3,
    "toolchain": 0.3,
    "repo_type": 0.3,
}
SEARCH_WEIGHT = 0.25
RULE_SHARE = 0.5  # of the best rule's relevance, for a rule whose scope matches nothing
RETRIEVE_LIMIT = 4  # rules found by their statements alone, at most
RETRIEVE_TERMS = 3  # words a statement shares with the task, at least, to be found that way
RETRIEVE_SHARE = 0.5  # of the best statement match, for a rule found that way
RETRIEVE_CHECKS = 1000  # statements looked at past those that cannot be rules here, at most
_K1, _B = 1.2, 0.75


def statement_scores(task: str, pool: list[Page], scored: list[Page]) -> dict[str, float]:
    """BM25 of each page of `scored` against the task, over the statements of `pool` (the
    pages that can appear: common words among them weigh little)."""
    query = frozenset(terms(task))
    pool = pool or scored
    df: Counter[str] = Counter()
    length = 0
    for page in pool:
        words, unique = statement_terms(page), statement_set(page)
        length += len(words)
        df.update(query & unique)
    n = len(pool)
    average = length / n or 1.0
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in query}
    out = {}
    for page in scored:
        words, unique = statement_terms(page), statement_set(page)
        shared = query & unique
        if not shared:
            out[page.id] = 0.0
            continue
        norm = _K1 * (1 - _B + _B * len(words) / average)
        counts = Counter(w for w in words if w in shared)
        out[page.id] = sum(idf[t] * c * (_K1 + 1) / (c + norm) for t, c in counts.items())
    return out


def scope_strength(cand: Candidate) -> float:
    total = 0.0
    for key in cand.matched:
        if key == "library":
            key = "library_named" if cand.named else "library"
        total += SCOPE_WEIGHT.get(key, 0.0)
    return total


def rank_rules(
    task: str, selected: list[Candidate], is_rule: Callable[[str], bool]
) -> tuple[list[Candidate], list[Excluded]]:
    """`selected` with its rules re-scored and ranked (the other pages keep their scores), best
    first; rules whose scope matches nothing and whose relevance falls short are excluded."""
    rule_ids = {c.page.id for c in selected if is_rule(c.page.id)}
    rules = [c for c in selected if c.page.id in rule_ids]
    if not rules:
        return selected, []
    # Term weights from the rules and the search hits (the pages about this task), not from
    # every page a library's scope brings in.
    pool = [c.page for c in selected if c.rank is not None or c.page.id in rule_ids]
    scores = statement_scores(task, pool, [c.page for c in rules])
    top = max(scores.values())
    relevance = {}
    for cand in rules:
        share = scores[cand.page.id] / top if top > 0 else 0.0
        relevance[cand.page.id] = share + SEARCH_WEIGHT * cand.relative
    best = max(relevance.values())
    kept, dropped = [], []
    for cand in rules:
        pid = cand.page.id
        strength = scope_strength(cand)
        weak = scores[pid] <= 0 and cand.relative < MIN_RELATIVE_SCORE
        if not cand.matched and (relevance[pid] < RULE_SHARE * best or weak):
            reason = (
                f"not relevant enough to be a rule here: its scope matches nothing in the "
                f"request, and its statement and search score ({relevance[pid]:.2f}) are below "
                f"half the best rule's ({best:.2f})"
                if not weak
                else "not relevant enough to be a rule here: its scope matches nothing in the "
                "request, its statement shares no word with the task, and search found it "
                f"only weakly ({cand.relative:.2f} of the best hit)"
            )
            dropped.append(Excluded(id=pid, title=cand.page.title, reasons=[reason]))
            continue
        cand.score = strength + relevance[pid]
        statement_reason = f"its statement matches the task ({scores[pid]:.2f})"
        cand.reasons = [*cand.reasons, statement_reason] if scores[pid] > 0 else cand.reasons
        kept.append(cand)
    kept.sort(key=lambda c: (-c.score, c.page.id))
    # The other pages keep their order (and their scores, which rank them among themselves).
    return [*kept, *(c for c in selected if c.page.id not in rule_ids)], dropped


def reviewed_rules(snap: Snapshot) -> frozenset[str]:
    """The ids of the snapshot's pages that `reviewed_by_shape` says may be rules."""
    return rule_index(snap.pages, snap.cache).rules


def retrieve_rules(
    snap: Snapshot, task: str, eligible: Callable[[str], bool] | None = None
) -> list[str]:
    """Reviewed rules whose statement shares RETRIEVE_TERMS or more of the task's words, best
    first (up to RETRIEVE_LIMIT, within RETRIEVE_SHARE of the best). With `eligible`, only
    rules it accepts (those that can be rules of this brief) count, and the best is the best of
    them: pages that echo the task but cannot be a rule here (an incomplete review, a scope
    elsewhere) take no place (up to RETRIEVE_CHECKS statements are looked at)."""
    index = rule_index(snap.pages, snap.cache)
    scores: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    n = len(index.rules)
    common = max(50, n // 10)
    for term in set(terms(task)):
        found = index.postings.get(term, ())
        if not found or len(found) > common:  # in a tenth of the rules: tells none apart
            continue
        idf = math.log(1 + (n - len(found) + 0.5) / (len(found) + 0.5))
        for page_id in found:
            scores[page_id] += idf
            matched[page_id] += 1
    ranked = sorted(
        (pid for pid in scores if matched[pid] >= RETRIEVE_TERMS),
        key=lambda pid: (-scores[pid], pid),
    )
    found: list[str] = []
    best = None
    for pid in ranked[:RETRIEVE_CHECKS]:
        if len(found) == RETRIEVE_LIMIT or (
            best is not None and scores[pid] < RETRIEVE_SHARE * best
        ):
            break
        if eligible is None or eligible(pid):
            best = scores[pid] if best is None else best
            found.append(pid)
    return found
