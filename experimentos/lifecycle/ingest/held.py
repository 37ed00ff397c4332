"""Staying on a release line: "stay on 1.x", "stick with acme-orm 1", "remain on v7". The line
kept is the pin's target; whose advice it is depends on the comment around it. Said beside the
fix for the thread's own line ("Fixed in 2.1.0. Stay on 1.x if you depend on the old API"), it
speaks to readers on the kept line, so the pin is scoped to that line, and a step it points back
to with "there" ("… and call `x()` there") is for the same line.
"""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest.lines import Line
from experimentos.lifecycle.ingest.roles import parse_version
from experimentos.lifecycle.ingest.said import Advice

# "stay on 1.x", "stick with acme-orm 1", "remain on v7": the line the reader is told to keep
_STAY_RE = re.compile(
    r"\b(?:stay|stick|remain|keep)(?:s|ed|ing)?\s+(?:on|with|to|at)\s+(?:the\s+)?"
    r"(?:(?P<lib>@?[A-Za-z][\w.-]*(?:/[\w.-]+)?)\s+)?[vV]?(?P<major>\d+)(?:\.(?P<minor>\d+))?"
    r"(?:\.[xX*])*(?:\s+(?:line|branch|series|releases?))?(?!\w|\.\d)",
    re.IGNORECASE,
)


def stay_line(text: str, library: str | None) -> Line | None:
    """The whole release line a "stay on …" in `text` keeps (1.x from "stay on 1.x")."""
    match = _STAY_RE.search(text.replace("`", ""))
    if not match:
        return None
    named = match["lib"]
    own = library is not None and named is not None and named.lower() == library.lower()
    if named and named.lower() not in ("release", "version", "v") and not own:
        return None  # another package's line
    major = int(match["major"])
    if match["minor"] is not None and major == 0:
        minor = int(match["minor"])
        return Line(None, f"0.{minor}", f"0.{minor + 1}", match.group(0))
    if major == 0:
        return None
    return Line(None, f"{major}.0", f"{major + 1}.0", match.group(0))


def there_line(piece: str, sentence: str, library: str | None) -> Line | None:
    """ "Stay on 1.x …, and call `x()` there": the line "there" points back to."""
    if not re.search(r"\bthere\b(?!\s+(?:is|are|was|were|will|should|might|may)\b)", piece, re.I):
        return None
    at = sentence.find(piece)
    return stay_line(sentence[:at] if at > 0 else "", library)  # the words before it


def held_lines(mine: list[Advice], index: int, library: str | None) -> None:
    """A comment that gives its thread's line the fix (an upgrade to 2.1.0) and tells readers to
    "stay on 1.x": the staying is for those on 1.x, so the pin is scoped to 1.x (the comment's
    other readers are told to upgrade). `mine`: the advice the comment gave, in order."""
    fixes = [
        parse_version(a.target.lstrip("v"))
        for a in mine
        if a.kind == "upgrade" and a.target and re.match(r"v?\d", a.target)
    ]
    majors = {v.major for v in fixes if v is not None}
    for advice in mine:
        if advice.kind != "pin" or advice.line is not None:
            continue
        if any(s.comment != index for s in advice.said):
            continue  # said elsewhere too: the thread's line is whose it is
        line = stay_line(advice.said[-1].text, library)
        if line is None or not line.high:
            continue
        high = parse_version(line.high)
        if high is not None and any(high.major <= m for m in majors):
            advice.line = line
