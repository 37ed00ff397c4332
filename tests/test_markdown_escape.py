"""Text from run records reaches reports, `report compare`, `report summary` and the PR comment
escaped for its context (issue 19, defect 10): no HTML, no comment that hides the rest, no
mention or cross-reference, no heading started by a newline, no link.

Every Markdown output is parsed with a CommonMark parser (tables on, raw HTML recognised) and
the tokens are checked: that is how GitHub reads it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.models.lab import RunStatus
from experimentos.store.scaffold import init_workspace

from .conftest import git
from .report_helpers import EXP, events, record, record_files, write_hand_matrix

IMG = "<img src=x onerror=alert(1)>"
HOSTILE = [
    IMG,
    "@octocat and @acme/team",
    "x\n## Regression: none\n",
    "<!-- everything after this is hidden",
    "a | b | c",
    "[click](https://evil.example)",
    "![pixel](https://evil.example/p.png)",
    "`code` `` break ``` out",
    "owner/repo#1 and #2",
    "- a list\n1. item\n> quote",
    "**bold** _em_ ~~gone~~ $x$",
    "&lt;img&gt; &#64;octocat",
    "\u202eright-to-left\u0000nul\ttab",
    "trailing backslash \\",
    "pipe after backslash \\| x",
]
MENTION = re.compile(r"(?<![\w`])[@#]\w")
ZWSP = "\u200b"


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from walk(token.children)


def injections(markdown: str, allowed_html: tuple[str, ...] = ()) -> list[str]:
    """What in `markdown` GitHub would read as more than text: raw HTML (other than the
    allowed blocks), links and images, headings we did not write, mentions."""
    found = []
    tokens = list(walk(parser().parse(markdown)))
    for i, token in enumerate(tokens):
        if token.type in ("html_block", "html_inline"):
            if not (allowed_html and token.content.lstrip().startswith(allowed_html)):
                found.append(f"html: {token.content[:60]!r}")
        elif token.type in ("link_open", "image"):
            found.append(f"{token.type}: {token.attrGet('href') or token.attrGet('src')}")
        elif token.type == "heading_open":
            # A heading a value started: its words, outside code spans, are the payload's.
            words = "".join(t.content for t in tokens[i + 1].children or [] if t.type == "text")
            if "Regression" in words or "hidden" in words:
                found.append(f"heading: {tokens[i + 1].content!r}")
        elif token.type == "text" and MENTION.search(token.content.replace(ZWSP, " ")):
            found.append(f"mention: {token.content[:60]!r}")
    return found


def shown_text(markdown: str) -> str:
    """The text a reader sees: inline text and code of every token, zero-width spaces gone."""
    out = []
    for token in walk(parser().parse(markdown)):
        if token.type in ("text", "code_inline", "html_inline"):
            out.append(token.content)
        elif token.type == "softbreak":
            out.append("\n")
    return "".join(out).replace(ZWSP, "").replace("&#8203;", "")


def printable(value: str) -> str:
    kept = "".join(c for c in value if c.isspace() or c.isprintable() and c != "\u202e")
    return " ".join(kept.split())


# --- the escaping module --------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_text_shows_the_value_and_nothing_else(value):
    from experimentos.markdown.escape import text

    escaped = text(value)
    assert "\n" not in escaped
    for where in (f"{escaped}\n", f"- {escaped}\n", f"Agent {escaped} ran.\n"):
        assert injections(where) == [], where
    # At the start of a line it is still one paragraph: no list, quote or heading.
    blocks = [t.type for t in parser().parse(f"{escaped}\n") if t.nesting == 1]
    assert blocks == ["paragraph_open"], blocks
    assert shown_text(f"Agent {escaped} ran.\n") == f"Agent {printable(value)} ran."


@pytest.mark.parametrize("value", HOSTILE)
def test_code_is_one_code_span_holding_the_value(value):
    from experimentos.markdown.escape import code

    span = code(value)
    tokens = [t for t in walk(parser().parse(f"see {span} here\n")) if t.type == "code_inline"]
    assert len(tokens) == 1 and tokens[0].content.strip() == printable(value).strip()


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_stays_one_cell(value):
    from experimentos.markdown.escape import cell, code, text

    for inner in (text(value), code(value), value):
        table = f"| a | b |\n|---|---|\n| {cell(inner)} | z |\n"
        rows = [t for t in walk(parser().parse(table)) if t.type == "tr_open"]
        cells = [t for t in walk(parser().parse(table)) if t.type == "td_open"]
        assert len(rows) == 2 and len(cells) == 2, table
        found = injections(table)
        if inner is value:  # printed raw: the safety net defuses HTML and mentions
            found = [f for f in found if f.startswith(("html", "mention"))]
        assert found == [], table


@pytest.mark.parametrize("value", HOSTILE)
def test_line_defuses_a_value_printed_raw(value):
    from experimentos.markdown.escape import line

    defused = line(f"- note: {value}")
    assert "\n" not in defused
    assert not [f for f in injections(defused + "\n") if f.startswith(("html", "mention"))]


def test_svg_text_is_escaped_and_one_line():
    from experimentos.markdown.escape import xml

    assert xml('a\n\n<b>"&') == "a &lt;b&gt;&quot;&amp;"


# --- reports, compare, summary and the PR comment built from hostile records ------------------


def hostile_records(root: Path) -> None:
    """Rewrite three of the hand matrix's records: an agent name, a condition and a failure
    reason, each holding HTML, a comment opener, mentions and a newline starting a heading."""
    payload = f"{IMG} @octocat <!-- x\n## Regression: none\nowner/repo#1"
    changes = [
        (("f1", "brief", "a1", 1), {"agent": payload}),
        (("f2", "brief", "a2", 2), {"condition": "brief`" + payload}),
        (("f1", "none", "a2", 3), {"status": RunStatus.failed, "outcome": None}),
    ]
    for (fixture, condition, agent, repeat), update in changes:
        rec = record(fixture, condition, agent, repeat).model_copy(update=update)
        if rec.status is RunStatus.failed:
            rec.matrix = rec.matrix.model_copy(update={"reason": payload})
        files = record_files(rec, events(fixture, condition, agent, repeat))
        for rel, text in files.items():
            (root / rel).write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    init_workspace(root)
    write_hand_matrix(root)
    assert run(root, "report", "build").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hand matrix")
    return root


def run(root: Path, *args: str):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def test_hostile_record_text_never_reaches_a_report_or_pr_comment_as_markdown(repo: Path):
    git(repo, "checkout", "-q", "-b", "feature")
    hostile_records(repo)
    built = run(repo, "report", "build")
    assert built.exit_code == 0, built.output
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hostile records")
    report = (repo / f"experiments/{EXP}/results/{EXP}.md").read_text(encoding="utf-8")
    body = report.split("\n---\n", 1)[1]  # the frontmatter is YAML, not Markdown
    assert injections(body, allowed_html=("<svg",)) == []

    compare = run(repo, "report", "compare", f"{EXP}@main", EXP)
    assert compare.exit_code in (0, 1), compare.output
    assert injections(compare.stdout) == []

    summary = run(repo, "report", "summary", "--base", "main")
    assert summary.exit_code in (0, 1), summary.output
    assert injections(summary.stdout) == []

    comment = run(repo, "ci", "pr-comment", "--base", "main", "--json")
    assert comment.exit_code in (0, 1), comment.output
    markdown = json.loads(comment.stdout)["body"]
    assert injections(markdown, allowed_html=("<!-- experimentos:report-compare -->",)) == []
    # The only raw HTML is the marker, first: no comment opener hides what follows it.
    html = [t for t in walk(parser().parse(markdown)) if t.type.startswith("html")]
    assert [t.content.strip() for t in html] == ["<!-- experimentos:report-compare -->"]


def test_a_ref_name_with_backticks_and_html_stays_in_its_code_span(repo: Path):
    branch = "x`<img/src=x/onerror=alert(1)>`@octocat"
    git(repo, "branch", branch)
    compare = run(repo, "report", "compare", f"{EXP}@{branch}", EXP)
    assert compare.exit_code == 0, compare.output
    assert injections(compare.stdout) == []
    summary = run(repo, "report", "summary", "--base", branch)
    assert injections(summary.stdout) == []
