"""A knowledge root with everything the site shows: pages with edges and badges, experiments,
tests, real matrix runs (copied from this project), a matrix report with a chart, and hostile
content that must come out escaped."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import PROJECT, page_text, write_files

MATRIX = "scripted-brief-matrix"
REPORT_WORD = "zanzibarquux"  # appears only in the report body
BODY_WORD = "quetzalcoatlus"  # appears only in the body of failure.blind-upgrade
XSS_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 220 70" role="img" '
    'aria-label="clean pass by condition" onload="window.__xss = 1">'
    "<title>clean pass by condition</title>"
    '<rect x="60" y="8" width="150" height="14" fill="#1a7f37"/>'
    '<line x1="120" y1="15" x2="210" y2="15" stroke="#222" stroke-width="2"/>'
    '<text x="4" y="19" font-size="10">brief</text>'
    '<rect x="60" y="40" width="20" height="14" fill="#b42318" style="x" '
    'href="javascript:alert(1)"/>'
    '<text x="4" y="51" font-size="10">none</text>'
    "<script>window.__xss = 2</script>"
    '<foreignObject><img src="x" onerror="window.__xss = 3"></foreignObject>'
    "</svg>"
)
REPORT = f"""---
matrix: {MATRIX}
title: Scripted brief matrix, clean pass by condition
specHash: sha256:1db0526ef4556f3012a346462b0e3f306628bb52e570c206c3ed0da4d4c0d0d2
generator: experimentos test
runs: {{counted: 16, excluded: []}}
agents: [codex, claude-code]
---

## Clean pass by condition and agent

| condition | agent | clean pass | 95% interval |
|---|---|---|---|
| brief | codex | 1.00 | [0.34, 1.00] |
| none | codex | 0.00 | [0.00, 0.66] |

{XSS_SVG}

The {REPORT_WORD} note: see [the policy](../../../policies/keep-pins.md) and
[[policy.keep-pins]]; a [dead link](../../nowhere.md) and <b onclick="x()">raw html</b>.
"""
CITED = "src/app.py"
SOURCE_URL = "https://example.org/releases/v0.31.10"
CITED_TEXT = "def main():\n    return 1\n"


def make_site_root(path: Path) -> Workspace:
    """The root described above, under `path`."""
    init_workspace(path)
    good = hashlib.sha256(CITED_TEXT.encode()).hexdigest()
    write_files(
        path,
        {
            CITED: CITED_TEXT,
            "wiki/failures/blind-upgrade.md": page_text(
                "failure.blind-upgrade",
                "failure",
                'Blind upgrade <img src=x onerror="window.__xss = 4">',
                body=f"## Symptoms\n\nThe {BODY_WORD} symptom. <script>window.__xss = 5</script>\n"
                "[bad](javascript:alert(1)) and [out](https://example.org/x).\n",
            ),
            "policies/keep-pins.md": page_text(
                "policy.keep-pins",
                "policy",
                "Keep pins",
                extra=(
                    "status: accepted\n"
                    "summary: Do not bump pinned versions.\n"
                    "appliesTo: {library: drizzle-kit, versions: '>=0.30,<0.31'}\n"
                    "dependsOn: [failure.blind-upgrade, failure.gone]\n"
                    "review: {reviewer: lab, reviewedAt: 2026-01-01, rationale: Two runs broke, "
                    "evidence: [failure.blind-upgrade]}\n"
                    "expires: 2026-06-01\n"
                    f"cites: [{{path: {CITED}, sha256: '{'0' * 64}'}}]\n"
                ),
                body="## Rule\n\nSee [[failure.blind-upgrade|the failure]].\n",
            ),
            "wiki/claims/fresh.md": page_text(
                "claim.fresh",
                "claim",
                "Fresh claim",
                extra=f"cites: [{{path: {CITED}, sha256: {good}}}]\n",
            ),
            # Trust, not status: an accepted claim nobody reviewed is evidence only, and a
            # reviewed accepted policy is a decision rule.
            "wiki/claims/unreviewed.md": page_text(
                "claim.unreviewed",
                "claim",
                "Unreviewed claim",
                extra="status: accepted\nsummary: Said in a thread; nobody checked it.\n",
            ),
            "policies/reviewed.md": page_text(
                "policy.reviewed",
                "policy",
                "Reviewed rule",
                extra=(
                    "status: accepted\nsummary: A reviewed decision rule.\n"
                    "review: {reviewer: lab, reviewedAt: 2026-01-01, rationale: Checked, "
                    "evidence: [failure.blind-upgrade]}\n"
                ),
                body="## Rule\n\nDo the reviewed thing.\n",
            ),
            # A source with bare URLs (and file names a fuzzy linkifier would take for hosts),
            # whose body opens with its own title as a level-1 heading.
            "wiki/sources/release-notes.md": page_text(
                "source.release-notes",
                "source",
                "Release notes",
                extra="status: accepted\n",
                body=(
                    f"# Release notes\n\nReleases: {SOURCE_URL}. Guide: <{SOURCE_URL}/guide>.\n"
                    "See README.md and drizzle.config.ts.\n\n"
                    "# Another top heading\n\nText.\n"
                ),
            ),
        },
    )
    shutil.copytree(PROJECT / "experiments" / MATRIX, path / "experiments" / MATRIX)
    events = (
        path / f"experiments/{MATRIX}/runs/run.{MATRIX}.drizzle-pin.brief.codex.r1.events.jsonl"
    )
    with events.open("a", encoding="utf-8") as handle:  # a hostile payload on the timeline
        handle.write(
            '{"step": 99, "ts": "2026-11-30T12:24:01Z", "type": "x-evil", "source": "agent", '
            '"payload": {"html": "<script>window.__xss = 6</script>"}}\n'
        )
    write_files(
        path,
        {
            f"experiments/{MATRIX}/results/{MATRIX}.md": REPORT,
            f"experiments/{MATRIX}/tests/brief-helps.md": (
                "---\nid: test.scripted-brief-matrix.brief-helps\nname: Brief helps\n"
                "assertion: {kind: manual, question: Does the brief help?}\npassed: true\n"
                "details: Read the report.\n---\n"
            ),
            "experiments/child/README.md": (
                "---\nid: experiment.child\nname: Child <ablation>\nkind: ablation\n"
                f"parent: experiment.{MATRIX}\ncreated: 2026-11-30T00:00:00Z\n---\n\nNotes.\n"
            ),
        },
    )
    return Workspace(path)


_REF_RE = re.compile(r'(?:href|src)="([^"]*)"')


def internal_refs(html: str) -> list[str]:
    """Every href/src of a page that is not external."""
    return [
        ref
        for ref in _REF_RE.findall(html)
        if not re.match(r"^(?:https?:|mailto:|data:)", ref) and ref
    ]
