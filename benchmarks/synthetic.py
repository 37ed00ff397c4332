"""A synthetic knowledge base of N valid pages, for speed benchmarks.

Sentences are drawn from the project's own pages, so vocabulary and sentence length are
realistic; bodies are 80-250 words in 2-3 sections (the starter pages are 200-310 words).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from experimentos.models.knowledge import TYPE_LAYOUT, PageType
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

PROJECT = Path(__file__).resolve().parents[1]
_TYPES = [
    (PageType.failure, 3),
    (PageType.intervention, 2),
    (PageType.policy, 2),
    (PageType.knowledge_card, 2),
    (PageType.claim, 1),
    (PageType.source, 1),
]
_LIBRARIES = ["drizzle-kit", "pydantic", "numpy", "react", "fastapi", "prisma", "pytest", "vite"]
_HEADINGS = ["Symptoms", "Why it happens", "What to do", "Rule", "Rationale", "Evidence", "Limits"]


def sentences() -> list[str]:
    text = []
    for path in sorted((PROJECT / "wiki").rglob("*.md")) + sorted(
        (PROJECT / "policies").glob("*.md")
    ):
        body = path.read_text(encoding="utf-8").split("---", 2)[2]
        body = re.sub(r"\[\[([^\]]+)\]\]", r"\1", body)
        for line in body.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            text.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) > 4)
    return text


def make_page(i: int, rng: random.Random, pool: list[str], ids: list[str] | None = None) -> str:
    page_type = rng.choices([t for t, _ in _TYPES], [w for _, w in _TYPES])[0]
    prefix = TYPE_LAYOUT[page_type][0]
    title = " ".join(rng.choice(pool).split()[:8]).rstrip(".,:;") + f" ({i})"
    summary = rng.choice(pool)
    words_target = rng.randint(80, 250)
    sections, words = [], 0
    while words < words_target:
        para = []
        while words < words_target and len(para) < 4:
            sentence = rng.choice(pool)
            para.append(sentence)
            words += len(sentence.split())
        sections.append(f"## {rng.choice(_HEADINGS)}\n\n{' '.join(para)}\n")
    applies = ""
    if rng.random() < 0.3:
        applies = f"appliesTo:\n  library: {rng.choice(_LIBRARIES)}\n"
    if ids and rng.random() < 0.3:  # dependsOn edges to earlier pages, as real pages have
        targets = sorted({rng.choice(ids) for _ in range(rng.randint(1, 2))})
        applies += f"dependsOn: [{', '.join(targets)}]\n"
    status = rng.choice(["accepted", "accepted", "draft"])
    review = ""
    if status == "accepted" and page_type in (PageType.policy, PageType.intervention):
        review = (
            "review: {reviewer: bench, reviewedAt: 2026-10-01, rationale: synthetic, "
            "evidence: [source.s0]}\n"
        )
    return (
        f"---\nid: {prefix}.s{i}\ntype: {page_type.value}\ntitle: {yaml_str(title)}\n"
        f"status: {status}\nconfidence: medium\nsummary: {yaml_str(summary)}\n{applies}{review}"
        f"---\n\n" + "\n".join(sections)
    )


def yaml_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def build(
    root: Path, pages: int, seed: int = 7, embedder: str = "minilm", edges: bool = False
) -> Workspace:
    """Write `pages` synthetic pages into a new knowledge root (with dependsOn edges if asked)."""
    init_workspace(root)
    (root / "experimentos.toml").write_text(f'[index]\nembedder = "{embedder}"\n')
    rng = random.Random(seed)
    pool = sentences()
    ids: list[str] = []
    for i in range(pages):
        text = make_page(i, rng, pool, ids if edges else None)
        ids.append(text.split("\nid: ", 1)[1].split("\n", 1)[0])
        prefix = text.split("\nid: ", 1)[1].split(".", 1)[0]
        page_type = next(t for t, (p, _) in TYPE_LAYOUT.items() if p == prefix)
        path = root / TYPE_LAYOUT[page_type][1] / f"s{i}.md"
        path.write_text(text, encoding="utf-8")
    write_review_evidence(root)
    return Workspace(root)


def write_review_evidence(root: Path) -> None:
    """The page the synthetic reviews name as evidence (a review naming a page that does not
    exist is incomplete, and the page would not be a rule)."""
    path = root / "wiki" / "sources" / "s0.md"
    if not path.exists():
        path.write_text(
            "---\nid: source.s0\ntype: source\ntitle: Synthetic review evidence\n"
            "status: accepted\nsummary: What the synthetic reviews cite.\n---\n\nEvidence.\n",
            encoding="utf-8",
        )
