"""Which version of a clause the general reading's act is on (general.py), and the action it
makes: the first version after the word of direction that is not left behind, its package, and
its kind."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest.kinds import kind_of, reported_broken, resolve, target_of
from experimentos.lifecycle.ingest.vocab import VER, Action, Context, plausible_release, version_of

# Words that put a version out of the act: it is where the problem is, or the one left behind.
_LEFT_RE = re.compile(r"\bfrom\s+\S*\s*$|从\s*$|\bon\s+$|\bwith\s+$", re.IGNORECASE)


def at(match: re.Match[str]) -> int:
    """Where a version match starts: its operator or its digits, not the space before."""
    for group in ("range", "op", "ver"):
        if match[group]:
            return match.start(group)
    return match.start()


def reported_broken_here(lib: str | None, ver: str, ctx: Context) -> bool:
    return reported_broken(resolve(lib, ctx, announce=ctx.maintainer) or "", ver, ctx)


def pick(
    versions: list[re.Match[str]], clause: str, after: int, known: frozenset[str] = frozenset()
) -> tuple[str | None, str, int] | None:
    """The version the act is on: the first after the word of direction that is not left
    behind ("from 0.28 to 0.27"), else the last before it."""
    usable = []
    for match in versions:
        if match["range"]:
            usable.append(("range", re.sub(r"\s+", " ", match["range"]), at(match)))
            continue
        ver, op = match["ver"], match["op"]
        bare = re.fullmatch(r"\d+", ver) is not None
        named = re.search(r"([\w.@/-]+)\s+$", clause[: at(match)])
        if (
            bare
            and not op
            and not re.search(
                r"(?:\bto|\bv|version|release|版本|为|到|at)\s*$", clause[: at(match)], re.I
            )
            and not (named and named.group(1).lower() in known)
        ):
            continue  # a bare number is a version only after "to", "version", "@", a package
        if version_of(ver) is None or not plausible_release(version_of(ver) or _HUGE):
            continue
        if _LEFT_RE.search(clause[max(0, at(match) - 12) : at(match)]) and after < 0:
            continue
        between = clause[after : at(match)] if 0 <= after <= at(match) else ""
        # "stay on acme-orm 1", "stick with chai 4": the verb's own preposition
        between = re.sub(r"^\s*(?:on|with)\b", "", between, flags=re.I)
        # "revert npm included with Node.js v16": where, not what; but "use gradio in 3.39.0"
        # puts the version right after the word ("in", "at"): the version itself
        where = re.search(r"\b(?:with|on|for|in|under|using|included)\b", between, re.IGNORECASE)
        if where and not re.fullmatch(r"(?:in|at)\s*", between[where.start() :], re.I):
            continue
        usable.append((op, ver, at(match)))
    if not usable:
        return None
    later = [u for u in usable if u[2] >= after] if after >= 0 else []
    later = [u for u in later if not _LEFT_RE.search(clause[max(0, u[2] - 8) : u[2]])] or later
    return (later or usable)[0] if later else usable[-1]


_HUGE = version_of("99999")


def make_action(lib: str | None, op: str | None, ver: str, group: str | None, ctx: Context):
    """The Action for a version the clause acts on, or None."""
    lib = resolve(lib, ctx, announce=ctx.maintainer)
    if lib is None:
        return None
    if op == "range":  # ">= 1.0.3 and < 3.0.0" is the target ">=1.0.3,<3.0.0"
        parts = re.findall(rf"(?:>=|>|~=|<=|<)\s*{VER}", ver)
        spec = ",".join(re.sub(r"\s+", "", part) for part in parts)
        return Action(kind_of(group, "range", spec, lib, ctx) or "pin", lib, spec)
    if op == "@":
        op = None
    kind = kind_of(group if group != "neutral" else None, op, ver, lib, ctx)
    if kind is None:
        return None
    return Action(kind, lib, target_of(kind, op, ver))
