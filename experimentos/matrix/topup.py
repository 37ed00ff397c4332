"""Top-up: bring a matrix up to N repeats per cell, running only what is missing.

`matrix run EXP --repeats N` (and the `matrix:<experiment>:<repeats>` pull-request label) means:
every cell of the matrix should have N finished runs. Cells that already have a result are
kept; the runs that are missing (never run, failed, aborted, left running by a dead runner) are
the only ones that run, whatever resume semantics the runner applies to a recorded result.
When N is more than the spec's `repeats`, matrix.yaml is raised to N first (a one-line edit
that keeps the author's comments), so the report expects what was run; a smaller N only limits
this run to repeats 1..N.

Shards of a top-up partition the *pending* cells (round-robin over that list), so n machines
share the missing runs evenly however they are spread over the matrix; every machine that
checks out the same commit computes the same list.
"""

from __future__ import annotations

import re
from pathlib import Path

from experimentos.errors import ExperimentosError, UsageError
from experimentos.matrix.spec import parse_spec, spec_rel
from experimentos.store.documents import checksum
from experimentos.store.files import atomic_write
from experimentos.store.safe import read_regular

# A top-level `repeats:` line in block style: the value, then an optional comment.
_REPEATS_LINE = re.compile(r"^repeats:[ \t]*(\d+)[ \t]*(#[^\n]*)?$", re.MULTILINE)
MAX_REPEATS = 1000


def check_repeats(value: int | str | None) -> int | None:
    """A repeats count from a flag or a label (None: the spec's own)."""
    if value is None or value == "":
        return None
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"repeats {value!r} is not a number", field="repeats") from None
    if not 1 <= count <= MAX_REPEATS:
        raise UsageError(f"repeats must be 1 to {MAX_REPEATS}, got {count}", field="repeats")
    return count


def raised_spec_text(raw: bytes, rel: str, repeats: int) -> bytes | None:
    """matrix.yaml's bytes with `repeats` raised to `repeats`; None when it already has at
    least that many. UsageError when the file cannot be edited safely by line."""
    spec = parse_spec(raw, rel)
    if spec.repeats >= repeats:
        return None
    text = raw.decode("utf-8")
    found = list(_REPEATS_LINE.finditer(text))
    if len(found) > 1:
        raise UsageError("repeats is set twice", path=rel, field="repeats")
    if found:
        match = found[0]
        start, end = match.span(1)
        new = text[:start] + str(repeats) + text[end:]
    elif re.search(r"^repeats\s*:", text, re.MULTILINE) or text.lstrip().startswith("{"):
        raise UsageError(
            f"set `repeats: {repeats}` by hand: this file's repeats is not a plain top-level line",
            path=rel,
            field="repeats",
        )
    else:
        new = text + ("" if text.endswith("\n") or not text else "\n") + f"repeats: {repeats}\n"
    data = new.encode("utf-8")
    try:
        checked = parse_spec(data, rel)
    except ExperimentosError:
        checked = None
    if checked is None or checked.repeats != repeats:
        raise UsageError(f"set `repeats: {repeats}` by hand", path=rel, field="repeats")
    return data


def raise_repeats(root: Path, slug: str, repeats: int) -> tuple[int, int] | None:
    """Raise the spec's repeats to `repeats` in place: (old, new), or None when it already
    has at least that many. Refused (nothing written) when the file changed meanwhile."""
    rel = spec_rel(slug)
    raw = read_regular(Path(root), rel)
    data = raised_spec_text(raw, rel, repeats)
    if data is None:
        return None
    old = parse_spec(raw, rel).repeats
    atomic_write(Path(root), rel, data, expected=checksum(raw))
    return old, repeats
