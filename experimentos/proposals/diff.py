"""Semantic diffs of page files and the structured commit message of a proposal.

A change is read by parsing the page at both ends, so it is reported as what a reviewer cares
about (page added, status draft -> accepted, a field's old and new value), not as lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from experimentos.errors import InvalidPage
from experimentos.models.knowledge import FRONTMATTER_KEYS, Page
from experimentos.proposals.models import FieldChange, FileChange, PageDiff, Transition
from experimentos.store import parse_document

SUBJECT_PREFIX = "xos:"
EVIDENCE_TRAILER = "Evidence"
KIND_TRAILER = "Xos-Kind"
BASE_TRAILER = "Xos-Base"
_TRAILER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$")
_VALUE_MAX = 80


def _parse(raw: bytes | None, path: str) -> tuple[Page | None, list[str]]:
    if raw is None:
        return None, []
    try:
        return parse_document(raw, path).page, []
    except InvalidPage as exc:
        return None, [str(p) for p in exc.problems]


def _fields(page: Page) -> dict[str, Any]:
    # Nested models without their defaults, so `review.rationale: "" -> "x"` is one change.
    full = page.model_dump(mode="json", by_alias=True, exclude={"body"})
    trimmed = page.model_dump(mode="json", by_alias=True, exclude={"body"}, exclude_defaults=True)
    return {key: trimmed.get(key, full[key]) for key in full}


def field_changes(old: Page, new: Page) -> list[FieldChange]:
    """Frontmatter fields (besides status) that differ, nested mappings one level deep."""
    before, after = _fields(old), _fields(new)
    changes = []
    for key in FRONTMATTER_KEYS:
        if key == "status" or before.get(key) == after.get(key):
            continue
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            a, b = a or {}, b or {}
            for sub in dict.fromkeys([*a, *b]):
                if a.get(sub) != b.get(sub):
                    changes.append(
                        FieldChange(field=f"{key}.{sub}", old=a.get(sub), new=b.get(sub))
                    )
        else:
            changes.append(FieldChange(field=key, old=a, new=b))
    return changes


def page_diff(path: str, old_raw: bytes | None, new_raw: bytes | None) -> PageDiff:
    """The semantic change of one page file between two versions (None: absent)."""
    old, old_problems = _parse(old_raw, path)
    new, new_problems = _parse(new_raw, path)
    change = "added" if old_raw is None else "removed" if new_raw is None else "modified"
    either = new or old
    diff = PageDiff(
        path=path,
        id=either.id if either else None,
        change=change,
        title=either.title if either else None,
        problems=old_problems + new_problems,
    )
    old_status = old.status.value if old else None
    new_status = new.status.value if new else None
    if old_status != new_status:
        diff.status = Transition(old=old_status, new=new_status)
    if old and new:
        diff.fields = field_changes(old, new)
        diff.body_changed = old.body != new.body
    elif old_raw != new_raw and old_raw is not None and new_raw is not None:
        diff.body_changed = True  # a side does not parse: say it changed, the problems say why
    return diff


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


def describe(diff: PageDiff) -> str:
    """One line for a commit message or a terminal: what happened to the page."""
    who = f"{diff.path} ({diff.id})" if diff.id else diff.path
    if diff.change == "added":
        status = f", {diff.status.new}" if diff.status and diff.status.new else ""
        return f"added {who}: {_value(diff.title)}{status}"
    if diff.change == "removed":
        return f"removed {who}"
    parts = []
    if diff.status:
        parts.append(f"status {diff.status.old} -> {diff.status.new}")
    parts += [f"{c.field} {_value(c.old)} -> {_value(c.new)}" for c in diff.fields]
    if diff.body_changed:
        parts.append("body changed")
    parts += [f"invalid: {p}" for p in diff.problems]
    return f"changed {who}: " + ("; ".join(parts) or "formatting only")


def compose_message(
    kind: str,
    slug: str,
    diffs: list[PageDiff],
    why: str,
    evidence: list[str],
    base: str,
    files: Sequence[FileChange] = (),
) -> str:
    """`xos: <kind> <slug>`, what changed per page (and file), why, and the trailers tools read
    back."""
    lines = [f"{SUBJECT_PREFIX} {kind} {slug}", "", "Changes:"]
    lines += [f"- {describe(d)}" for d in diffs]
    lines += [f"- {f.change} {f.path}" for f in files]
    lines += ["", "Why:", why.strip(), ""]
    if evidence:
        lines.append(f"{EVIDENCE_TRAILER}: {', '.join(evidence)}")
    lines += [f"{KIND_TRAILER}: {kind}", f"{BASE_TRAILER}: {base}"]
    return "\n".join(lines) + "\n"


def trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    found = {}
    for line in paragraphs[-1].splitlines():
        match = _TRAILER_RE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def why_of(message: str) -> str:
    """The text of the `Why:` section of a proposal's commit message."""
    text = message.strip()
    start = text.find("\nWhy:\n")
    if start < 0:
        return ""
    rest = text[start + len("\nWhy:\n") :]
    if trailers(text):
        cut = rest.rfind("\n\n")
        rest = rest[:cut] if cut >= 0 else ""
    return rest.strip()


def evidence_of(message: str) -> list[str]:
    value = trailers(message).get(EVIDENCE_TRAILER, "")
    return [part.strip() for part in value.split(",") if part.strip()]
