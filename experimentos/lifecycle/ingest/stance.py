"""What later comments do to earlier advice: a maintainer's affirmation endorses it, a
maintainer's negated clause that names it corrects it (unless it speaks of another release
line), its author's negation or retraction withdraws it. advice.py calls these as it walks the
thread; the rules are in its docstring."""

from __future__ import annotations

import re
from collections.abc import Collection

from experimentos.lifecycle.ingest import phrases, vocab
from experimentos.lifecycle.ingest.lines import Line
from experimentos.lifecycle.ingest.roles import parse_version
from experimentos.lifecycle.ingest.said import Advice, Found, event_at
from experimentos.lifecycle.ingest.text import normalise, read_message
from experimentos.lifecycle.ingest.thread import Comment, Thread
from experimentos.repofacts.facts import python_key


def refers_to(advice: Advice, text: str) -> bool:
    """Whether `text` names this advice: its version, flag, identifier or verb."""
    low = text.lower().replace("`", "")
    if advice.kind == "flag":
        return advice.subject.lstrip("-") in low
    if advice.kind in ("use", "avoid") and not vocab.is_versioned(advice.target):
        return advice.subject.lower().removesuffix("()").split(".")[-1] in low
    if advice.kind == "workaround":
        ident = vocab.ident_in(advice.subject)
        return bool(ident) and ident.lower() in low
    version = (advice.target or "").lower().lstrip("<>=~^!")
    if (
        version
        and version not in ("latest", "lts")
        and re.search(rf"(?<![\w.]){re.escape(version)}(?![\w])", low)
    ):
        return True
    verbs = (
        vocab.UP_VERBS
        if advice.kind in ("upgrade", "avoid")
        else rf"(?:{vocab.PIN_VERBS}|{vocab.BACK_VERBS})"
    )
    return bool(re.search(rf"\b{verbs}", low, re.IGNORECASE))


def endorse(found: Found, index: int, comment: Comment, thread: Thread, given: list[str]) -> None:
    _endorse_admitted(found, index, comment, given)
    message = read_message(comment.body)
    cues = [s for s in message.sentences if phrases.endorses(s) or _thanks_for_fix(s)]
    if not cues:
        return
    earlier = [a for a in found.values() if a.said and a.first.comment < index]
    earlier = [a for a in earlier if a.key not in given]
    if not earlier:
        return
    named = [a for a in earlier if refers_to(a, comment.body) and _subject_in(a, comment.body)]
    if not named:
        named = _answered(earlier, index, comment, thread)
    for advice in named:
        if advice.endorsements and advice.endorsements[-1].comment == index:
            continue
        advice.endorsements.append(event_at("endorsed", index, comment, cues[0]))


def _endorse_admitted(found: Found, index: int, comment: Comment, given: list[str]) -> None:
    """A maintainer's "upgrade to 2.1.0" endorses an earlier "install 'acme-orm>=2.1'": the
    version they name is one the earlier advice admits."""
    for key in dict.fromkeys(given):
        mine = found.get(key)
        version = parse_version((mine.target or "").lstrip("v")) if mine else None
        if mine is None or mine.kind != "upgrade" or version is None:
            continue
        for other, admits in found.upgrade_ranges(mine.subject):
            if other is mine or other.first.comment >= index:
                continue
            admitted = admits.contains(version, prereleases=True)
            if admitted and not (other.endorsements and other.endorsements[-1].comment == index):
                other.endorsements.append(event_at("endorsed", index, comment, mine.said[-1].text))


def _thanks_for_fix(sentence: str) -> bool:
    return bool(
        re.search(
            r"\bthanks?\s+(?:you\s+)?for\s+(?:the\s+|this\s+|your\s+)?(?:post\s+and\s+)?"
            r"(?:solution|fix|workaround|tip)\b",
            sentence,
            re.IGNORECASE,
        )
    )


def _subject_in(advice: Advice, text: str) -> bool:
    if advice.kind in ("flag", "use", "workaround"):
        return True
    return python_key(advice.subject).split("/")[-1] in python_key(text.replace("`", " "))


def _answered(earlier: list[Advice], index: int, comment: Comment, thread: Thread) -> list[Advice]:
    """The advice an affirmation answers: the @-mentioned user's, else the comment before."""
    mentioned = set(re.findall(r"@([\w-]+)", comment.body))
    if mentioned:
        theirs = [a for a in earlier if any(s.author in mentioned for s in a.said)]
        if theirs:
            last = max(s.comment for a in theirs for s in a.said if s.author in mentioned)
            return _one_fix([a for a in theirs if any(s.comment == last for s in a.said)])
    # the latest advice before it (the comments between, if any, gave none)
    previous = max((s.comment for a in earlier for s in a.said if s.comment < index), default=-1)
    if previous < 0 or index - previous > 3:
        return []
    return _one_fix([a for a in earlier if any(s.comment == previous for s in a.said)])


def _one_fix(advice: list[Advice]) -> list[Advice]:
    """What an affirmation of a comment confirms: all its advice when it is one fix in parts
    (two API swaps), the first when they are alternatives of different kinds ("replace
    ANTIALIAS by LANCZOS, or use Pillow==9.5.0")."""
    return advice if len({a.kind for a in advice}) <= 1 else advice[:1]


def correct(
    found: dict[str, Advice],
    index: int,
    comment: Comment,
    negatives: list[tuple[str, str, Line | None]],
    quotes: list[str],
    given: list[str],
    by_sentence: dict[str, list[str]],
    reported: Collection[str] = (),
) -> None:
    """Mark the advice a maintainer (or its own author) contradicts or withdraws here.
    `reported`: the versions the thread reports broken, the line advice without a version of
    its own ("upgrade to the latest") was given for."""
    quoted = [normalise(q) for q in quotes if len(normalise(q)) >= 12]
    retracted = phrases.retracts(comment.body)
    for advice in list(found.values()):
        earlier = [s for s in advice.said if s.comment < index]
        if not earlier or advice.key in given:
            continue
        own = any(s.author == comment.author for s in earlier)
        if not (comment.maintainer or own):
            continue  # a user's disagreement is not a correction
        hits = [
            sentence
            for piece, sentence, line in negatives
            if refers_to(advice, piece) and _same_line(advice, line, reported)
        ]
        quotes_it = any(
            q in normalise(s.text) or normalise(s.text) in q for q in quoted for s in earlier
        )
        if not hits and not (quotes_it and (negatives or retracted)) and not (own and retracted):
            continue
        text = hits[0] if hits else (negatives[0][1] if negatives else _retraction(comment))
        kind = "withdrawn" if own and not comment.maintainer else "contradicted"
        if own and comment.maintainer and all(s.author == comment.author for s in earlier):
            kind = "withdrawn"
        advice.corrections.append(event_at(kind, index, comment, text))
        for key in _alternatives(text, by_sentence, given):
            if key != advice.key and key in found and advice.key not in found[key].contradicts:
                found[key].contradicts.append(advice.key)


def _alternatives(text: str, by_sentence: dict[str, list[str]], given: list[str]) -> list[str]:
    """The advice a correction offers instead: given in its sentence, else in the next one
    ("Please don't use --force. Upgrade to 16.1.0, …")."""
    sentences = list(by_sentence)
    if text not in by_sentence:
        return list(dict.fromkeys(given))
    at = sentences.index(text)
    here = [k for k in by_sentence[text] if k in given]
    if here or at + 1 >= len(sentences):
        return list(dict.fromkeys(here))
    return list(dict.fromkeys(k for k in by_sentence[sentences[at + 1]] if k in given))


def _retraction(comment: Comment) -> str:
    for sentence in read_message(comment.body).sentences:
        if phrases.retracts(sentence):
            return sentence
    return comment.body.strip()[:300]


def _same_line(advice: Advice, line: Line | None, reported: Collection[str] = ()) -> bool:
    """Whether a negated clause can be about the advice's release line: "don't upgrade a 1.x
    project to 2.x" says nothing about advice given for 2.0.x."""
    if line is None or line.library is not None:
        return True
    own = advice.line
    if own is not None:
        return _overlap(line.low, line.high, own.low, own.high)
    if advice.kind == "upgrade" and advice.target:
        target = parse_version(advice.target.lstrip(">=v"))
        low = parse_version(line.low) if line.low else None
        high = parse_version(line.high) if line.high else None
        if target is None:
            # "upgrade to the latest": advice for the versions the thread reports broken
            return not reported or any(_within(v, low, high) for v in reported)
        # an upgrade to 2.1.0 is advice for versions below it, on its own major line or near
        if high is not None and high <= parse_version(f"{target.major}.0"):  # type: ignore[operator]
            return False
        return low is None or low < target
    return True


def _within(version: str, low: object, high: object) -> bool:
    parsed = parse_version(version)
    if parsed is None:
        return True  # a version not read cannot rule the line out
    return (low is None or low <= parsed) and (high is None or parsed < high)  # type: ignore[operator]


def _overlap(a_low: str | None, a_high: str | None, b_low: str | None, b_high: str | None) -> bool:
    def v(text: str | None):  # noqa: ANN202
        return parse_version(text) if text else None

    al, ah, bl, bh = v(a_low), v(a_high), v(b_low), v(b_high)
    if ah is not None and bl is not None and ah <= bl:
        return False
    return not (bh is not None and al is not None and bh <= al)
