"""Actionable advice in an issue thread, and the later comments that correct it.

Advice is read clause by clause (phrases.py): a clause counts when it tells the reader to act
(an imperative, "you should …", "try …", "the fix is to …") or reports that an action fixed it
("Downgrading to 0.30.6 fixed it"). Questions, negated clauses and narration ("I upgraded and it
broke") are not advice. Four kinds are recognised, each with a stable key that names the claim:

  upgrade  "upgrade drizzle-kit to 0.31.2", "bump to latest"          upgrade-<lib>-<version>
  pin      "pin urllib3<2", "downgrade to 0.30.6", "stay on vite 4"   pin-<lib>-<spec>
  flag     "pass --pre to pip", "use the `--legacy-peer-deps` flag"   flag-<name>
  use      "use `pd.concat` instead of `df.append`", "`a` was renamed to `b`"   use-<new>

A negated clause by a maintainer (owner, member, collaborator) that names earlier advice (its
version, flag, identifier or verb), or that comes with a quote of it, contradicts that advice;
the same from the advice's own author withdraws it. Advice given in the correcting comment is
recorded as contradicting what it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from experimentos.lifecycle.ingest.phrases import (
    Kind,
    advice_in,
    fixed_in,
    key_of,
    negated,
    pieces,
    refers_to,
    retracts,
)
from experimentos.lifecycle.ingest.scope import Scope
from experimentos.lifecycle.ingest.text import normalise, read_message
from experimentos.lifecycle.ingest.thread import Comment, Thread


@dataclass
class Said:
    """One place in the thread where advice was given."""

    comment: int
    author: str
    role: str
    maintainer: bool
    date: str
    url: str
    text: str


@dataclass
class Correction:
    kind: Literal["contradicted", "withdrawn"]
    comment: int
    author: str
    role: str
    date: str
    url: str
    text: str


@dataclass
class Advice:
    """One actionable piece of advice and everywhere the thread gives or corrects it."""

    kind: Kind
    key: str  # stable: names the claim
    subject: str  # library, flag or new identifier
    target: str | None = None  # version/spec, the tool a flag goes to, or the old identifier
    said: list[Said] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    contradicts: list[str] = field(default_factory=list)  # keys of advice this corrects

    @property
    def first(self) -> Said:
        return self.said[0]

    @property
    def by_maintainer(self) -> bool:
        return any(s.maintainer for s in self.said)

    def action(self) -> str:
        """The advice as one imperative phrase."""
        if self.kind == "upgrade":
            if self.target == "latest":
                return f"upgrade {self.subject} to the latest version"
            return f"upgrade {self.subject} to {self.target}"
        if self.kind == "pin":
            spec = self.target or ""
            return (
                f"pin {self.subject} to {spec}"
                if spec[:1].isdigit()
                else (f"pin {self.subject}{spec}")
            )
        if self.kind == "flag":
            return (
                f"pass {self.subject} to {self.target}" if self.target else (f"pass {self.subject}")
            )
        if self.target:
            return f"use {self.subject} instead of {self.target}"
        return f"use {self.subject}"


def find_advice(thread: Thread, scope: Scope) -> list[Advice]:
    """Advice in the thread, in order of first mention, with corrections attached."""
    found: dict[str, Advice] = {}
    for index, comment in enumerate(thread.comments):
        message = read_message(comment.body)
        negatives: list[tuple[str, str]] = []  # (negated piece, its sentence)
        given: list[str] = []
        for sentence in message.sentences:
            plain = sentence.replace("\u2019", "'")
            if plain.rstrip().endswith("?"):
                continue
            fixed = fixed_in(plain, scope)
            for piece in pieces(plain):
                if negated(piece):
                    negatives.append((piece, sentence))
                    continue
                for kind, subject, target in advice_in(piece, scope, fixed):
                    key = key_of(kind, subject, target)
                    advice = found.get(key)
                    if advice is None:
                        advice = found[key] = Advice(kind, key, subject, target)
                    if not advice.said or advice.said[-1].comment != index:
                        advice.said.append(_said(index, comment, sentence))
                    given.append(key)
        if negatives or retracts(comment.body):
            _correct(found, index, comment, negatives, message.quotes, given)
    return list(found.values())


def _said(index: int, comment: Comment, sentence: str) -> Said:
    return Said(
        index,
        comment.author,
        "author" if comment.opening else comment.role,
        comment.maintainer,
        comment.created_at,
        comment.url,
        sentence,
    )


def _correct(
    found: dict[str, Advice],
    index: int,
    comment: Comment,
    negatives: list[tuple[str, str]],
    quotes: list[str],
    given: list[str],
) -> None:
    quoted = [normalise(q) for q in quotes if len(normalise(q)) >= 12]
    for advice in found.values():
        earlier = [s for s in advice.said if s.comment < index]
        if not earlier:
            continue
        own = any(s.author == comment.author for s in earlier)
        if not (comment.maintainer or own):
            continue  # a user's disagreement is not a correction
        hits = [
            sentence
            for piece, sentence in negatives
            if refers_to(advice.kind, advice.subject, advice.target, piece)
        ]
        quotes_it = any(
            q in normalise(s.text) or normalise(s.text) in q for q in quoted for s in earlier
        )
        if not hits and not (quotes_it and (negatives or retracts(comment.body))):
            continue
        text = hits[0] if hits else (negatives[0][1] if negatives else comment.body.strip())
        kind = "withdrawn" if own and not comment.maintainer else "contradicted"
        if own and comment.maintainer and all(s.author == comment.author for s in earlier):
            kind = "withdrawn"
        advice.corrections.append(
            Correction(
                kind, index, comment.author, comment.role, comment.created_at, comment.url, text
            )
        )
        for key in dict.fromkeys(given):
            if key != advice.key and advice.key not in found[key].contradicts:
                found[key].contradicts.append(advice.key)
