"""The pages an ingested thread becomes, and how a re-ingest merges them with what is there.

One `source` page per thread (its `origin` holds the URL, fetch date, state and content hash) and
one draft `claim` per piece of advice, `derivedFrom` the source, scoped by `appliesTo` to the
library and version range the thread is about. Ids are stable: the source's from the issue, a
claim's from the advice's key, so a re-ingest finds the pages it made before.

Re-ingesting updates what the thread owns on the source (origin, summary, the "Source" and
"Advice found" sections) and only adds to a claim that exists (a correction note and tag, the
`contradicts` edges, an alignment tag it did not have): whatever a person edited is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from experimentos.lifecycle.ingest.advice import Advice, ClaimScope, Correction, Said
from experimentos.lifecycle.ingest.scope import Alignment, Scope
from experimentos.lifecycle.ingest.thread import Thread
from experimentos.lifecycle.ingest.vocab import slug_part
from experimentos.models.knowledge import (
    SLUG_MAX,
    AppliesTo,
    Confidence,
    Origin,
    Page,
    PageType,
    Status,
)

ISSUE_TAG = "github-issue"
CORRECTION_TAGS = ("contradicted", "withdrawn")
STANCE_TAGS = (*CORRECTION_TAGS, "endorsed")
ALIGNMENT_TAGS = ("same-release-line", "other-release-line")
SOURCE_SECTIONS = ("Source", "Advice found")
QUOTE_CHARS = 600


def source_id(thread: Thread) -> str:
    return f"source.{_slug(f'github-{thread.owner}-{thread.repo}-{thread.number}')}"


def claim_id(thread: Thread, advice: Advice) -> str:
    base = source_id(thread).split(".", 1)[1]
    return f"claim.{_slug(f'{base}-{advice.key}')}"


def _slug(text: str) -> str:
    slug = slug_part(text)
    if len(slug) <= SLUG_MAX:
        return slug
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{slug[: SLUG_MAX - 9].rstrip('-.')}-{digest}"


def _scope_words(scope: Scope) -> str:
    if scope.library is None:
        return "an unnamed library"
    return f"{scope.library} {scope.range}" if scope.range else scope.library


def _applies(library: str | None, versions: str | None) -> AppliesTo | None:
    if library is None:
        return None
    return AppliesTo(library=library, versions=versions)


def _who(said: Said | Correction) -> str:
    return f"@{said.author} ({said.role})"


def _who_why(said: Said) -> str:
    return f"@{said.author} ({said.role}: {said.how})" if said.how else _who(said)


def _quote(text: str) -> str:
    text = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
    return "> " + text.replace("\n", "\n> ")


def _date(stamp: str) -> str:
    return stamp[:10] if stamp else "undated"


def build_source(
    thread: Thread,
    scope: Scope,
    advice: list[Advice],
    ids: dict[str, str],
    fetched: dt.date,
) -> Page:
    """The source page of a thread (nothing written)."""
    corrected = [a for a in advice if a.corrections]
    summary = (
        f"GitHub issue {thread.ref} ({thread.state_text}, {len(thread.comments) - 1} comments) "
        f"about {_scope_words(scope)}: {len(advice)} piece(s) of advice found"
    )
    if corrected:
        summary += f", {len(corrected)} corrected later in the thread"
    opening = thread.comments[0]
    lines = [
        "## Source",
        "",
        f"[{thread.ref}]({thread.url}): opened by @{opening.author} on "
        f"{_date(thread.created_at)}; {thread.state_text}; "
        f"{len(thread.comments) - 1} comments"
        + (f"; labels: {', '.join(thread.labels)}" if thread.labels else "")
        + ".",
        "",
        f"Versions: {scope.how or 'none named'}"
        + (f" ({scope.library} {scope.range})." if scope.range else "."),
        "",
        "## Advice found",
        "",
    ]
    if not advice:
        lines.append("No actionable advice was found in this thread.")
    for item in advice:
        note = ""
        events = sorted([*item.corrections, *item.endorsements], key=lambda e: e.comment)
        if events:
            last = events[-1]
            note = f"; {last.kind} by {_who(last)} on {_date(last.date)}"
        lines.append(
            f"- `{ids[item.key]}`: {item.action()} ({_who(item.first)}, "
            f"{_date(item.first.date)}{note})"
        )
    tags = [ISSUE_TAG, thread.state] + (["wontfix"] if thread.wontfix else [])
    return Page(
        id=source_id(thread),
        type=PageType.source,
        title=_title(f"{thread.ref}: {thread.title}"),
        status=Status.draft,
        confidence=Confidence.medium,
        summary=summary + ".",
        applies_to=_applies(scope.library, scope.range),
        origin=Origin(
            url=thread.url, fetched_at=fetched, state=thread.state_text, sha256=thread.sha256()
        ),
        tags=tags,
        body="\n".join(lines) + "\n",
    )


def build_claim(
    thread: Thread,
    scope: Scope,
    claim_scope: ClaimScope,
    alignment: Alignment,
    item: Advice,
    ids: dict[str, str],
) -> Page:
    """The draft claim for one piece of advice (nothing written)."""
    action = item.action()
    where = _versions_words(claim_scope.library, claim_scope.range)
    advises = (
        f"advises not to {action[7:]}" if action.startswith("do not ") else (f"advises to {action}")
    )
    summary = (
        f"{_who(item.first)} {advises} in {thread.ref}"
        + (f", for {where}" if where else "")
        + ". Evidence only: verify it locally."
    )
    summary += f" {_stance_sentence(item)}" if _stance_sentence(item) else ""
    if item.prerelease:
        summary += " It points at a pre-release."
    body = ["## Claim", "", action[0].upper() + action[1:] + ".", ""]
    for said in item.said:
        body += [_quote(said.text), "", f"{_who_why(said)}, {_date(said.date)}, {said.url}", ""]
    body += [
        "## Applies to",
        "",
        (f"{where}: {claim_scope.how}." if where else "No library or version is named for it.")
        + (" The advice points at a pre-release." if item.prerelease else ""),
        "",
        "## Thread",
        "",
        f"{thread.ref} ({thread.state_text}) is about "
        f"{_scope_words(scope)}" + (f": {scope.how}." if scope.how else "."),
        "",
    ]
    if item.contradicts:
        body += [
            "Given as the alternative to: "
            + ", ".join(f"`{ids[key]}`" for key in item.contradicts if key in ids)
            + ".",
            "",
        ]
    body += _correction_section([*item.corrections, *item.endorsements])
    if alignment.verdict != "unknown" or alignment.reason != "no repository given (--repo)":
        body += ["## Version alignment", "", _alignment_text(alignment), ""]
    body += [
        "## What to verify locally",
        "",
        f"- The version of {claim_scope.library or 'the library'} installed here, and whether "
        "the problem reproduces on it.",
        "- That the advice fixes it here, and what else it changes (run the tests).",
    ]
    tags = [ISSUE_TAG, item.kind]
    if item.by_maintainer:
        tags.append("maintainer")
    tags += list(dict.fromkeys(c.kind for c in item.corrections))
    if item.endorsements or (item.by_maintainer and item.stance == "endorsed"):
        tags.append("endorsed")
    if item.prerelease:
        tags.append("pre-release")
    if alignment.tag:
        tags.append(alignment.tag)
    confidence = Confidence.medium if item.stance == "endorsed" else Confidence.low
    return Page(
        id=ids[item.key],
        type=PageType.claim,
        title=_title(f"{action[0].upper()}{action[1:]} ({thread.ref})"),
        status=Status.draft,
        confidence=confidence,
        summary=summary,
        applies_to=_applies(claim_scope.library, claim_scope.range),
        contradicts=[ids[key] for key in item.contradicts if key in ids],
        derived_from=[source_id(thread)],
        tags=list(dict.fromkeys(tags)),
        body="\n".join(body) + "\n",
    )


def _versions_words(library: str | None, versions: str | None) -> str:
    if library is None:
        return ""
    return f"{library} {versions}" if versions else library


def _stance_sentence(item: Advice) -> str:
    stance = item.stance
    if stance == "corrected":
        last = [c for c in item.corrections if c.kind == "contradicted"][-1]
        return f"Contradicted later in the thread by {_who(last)}."
    if stance == "withdrawn":
        last = [c for c in item.corrections if c.kind == "withdrawn"][-1]
        return f"Withdrawn later in the thread by its author {_who(last)}."
    if stance == "endorsed":
        if item.endorsements:
            return f"Endorsed later in the thread by {_who(item.endorsements[-1])}."
        return "Given by a maintainer."
    return ""


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199].rstrip() + "…"


def _correction_heading(kind: str) -> str:
    return f"{kind.capitalize()} in the thread"


def _correction_section(corrections: list[Correction]) -> list[str]:
    out: list[str] = []
    for kind in STANCE_TAGS:
        items = [c for c in corrections if c.kind == kind]
        if not items:
            continue
        out += [f"## {_correction_heading(kind)}", ""]
        for c in items:
            out += [_quote(c.text), "", f"{_who(c)}, {_date(c.date)}, {c.url}", ""]
    return out


def _alignment_text(alignment: Alignment) -> str:
    if alignment.verdict == "outside":
        return (
            f"{alignment.reason}. Briefs for this repository exclude the claim "
            "(appliesTo.versions)."
        )
    if alignment.verdict == "inside":
        return f"{alignment.reason}: the repository is on the release line the thread is about."
    return f"Unknown: {alignment.reason}."


# --- re-ingest --------------------------------------------------------------------------------


def sections(body: str) -> list[tuple[str | None, str]]:
    """(heading, text) pairs of a body; the text before the first `## ` heading has None."""
    out: list[tuple[str | None, str]] = []
    heading: str | None = None
    chunk: list[str] = []
    for line in body.splitlines(keepends=True):
        match = re.match(r"^##\s+(.+?)\s*$", line)
        if match:
            if heading is not None or "".join(chunk).strip():
                out.append((heading, "".join(chunk)))
            heading, chunk = match.group(1), []
        else:
            chunk.append(line)
    if heading is not None or "".join(chunk).strip():
        out.append((heading, "".join(chunk)))
    return out


def _join(parts: list[tuple[str | None, str]]) -> str:
    text = ""
    for heading, chunk in parts:
        if heading is not None:
            text += f"## {heading}\n"
        text += chunk if chunk.endswith("\n") or not chunk else chunk + "\n"
    return text


def merge_source(existing: Page, generated: Page) -> Page:
    """The thread's current state on the existing source page; a person's edits stay."""
    fresh = dict(sections(generated.body))
    parts = sections(existing.body)
    have = {h for h, _ in parts}
    merged = [(h, _replace(text, fresh[h]) if h in fresh else text) for h, text in parts]
    missing = [(h, fresh[h]) for h in SOURCE_SECTIONS if h not in have]
    body = _join(missing + merged)
    origin = generated.origin
    old = existing.origin
    if (
        old is not None
        and origin is not None
        and (old.url, old.sha256, old.state)
        == (
            origin.url,
            origin.sha256,
            origin.state,
        )
    ):
        origin = old  # the same content: keep the date it was first fetched
    update = {
        "origin": origin,
        "summary": generated.summary,
        "tags": list(dict.fromkeys([*existing.tags, *generated.tags])),
        "body": body,
    }
    if existing.applies_to is None:
        update["applies_to"] = generated.applies_to
    return _copy(existing, update)


def _replace(old: str, new: str) -> str:
    """A section's new text, keeping the blank lines the page had after it."""
    if old.rstrip() == new.rstrip():
        return old
    return new.rstrip("\n") + "\n" + "\n" * (len(old) - len(old.rstrip("\n")) - 1)


def merge_claim(existing: Page, generated: Page) -> Page:
    """Add what the thread says now (corrections, edges, alignment) to a claim; keep the rest."""
    tags = list(existing.tags)
    new_tags = [t for t in generated.tags if t in STANCE_TAGS and t not in tags]
    tags += new_tags
    if not any(t in ALIGNMENT_TAGS for t in tags):
        tags += [t for t in generated.tags if t in ALIGNMENT_TAGS]
    body = existing.body
    have = {h for h, _ in sections(body)}
    for heading, text in sections(generated.body):
        if heading in {_correction_heading(k) for k in STANCE_TAGS} and heading not in have:
            body = body.rstrip("\n") + f"\n\n## {heading}\n{text}"
    summary = existing.summary
    for sentence in re.findall(
        r"(?:Contradicted|Withdrawn|Endorsed) later in the thread[^.]*\.", generated.summary
    ):
        if sentence not in summary:
            summary = f"{summary.rstrip()} {sentence}".strip()
    update = {
        "tags": tags,
        "body": body,
        "summary": summary,
        "contradicts": list(dict.fromkeys([*existing.contradicts, *generated.contradicts])),
        "derived_from": list(dict.fromkeys([*existing.derived_from, *generated.derived_from])),
    }
    return _copy(existing, update)


def _copy(page: Page, update: dict) -> Page:
    """`page` with `update` applied, validated again (model_copy does not validate)."""
    data = page.model_dump(by_alias=False, exclude={"body"}) | update
    body = data.pop("body", page.body)
    return Page.model_validate({**data, "body": body})
