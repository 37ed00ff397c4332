"""The documentation: every shell block in the README and docs/ is run by a test or marked
illustrative, the run blocks run, the docs build with `mkdocs build --strict`, and the command
reference lists every command.

The marker convention (one HTML comment on the line before the fence; it renders as nothing):

    <!-- run -->                  run here, in a fresh git repository after `experimentos init`
    <!-- run: project -->         run here, in a committed copy of this project's knowledge
    <!-- run: bare -->            run here, in a fresh git repository without a knowledge base
    <!-- run by tests/NAME.py --> another test runs it (that file must read this document)
    <!-- illustrative: WHY -->    shown, never run (WHY says why: network, a token, minutes…)

A run block runs as one bash script (lines ending in `\\` continue; shell variables carry from
one command to the next), in one sandbox per page and setup: each command must exit 0, or the
code its line ends with (`# exit 1`), and nothing may print a traceback. Blocks of a page share
their sandbox's files, so a page reads as one session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import PROJECT

DOCS = PROJECT / "docs"
SHELLS = ("bash", "sh", "shell", "console", "zsh")
_FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_MARKER_RE = re.compile(
    r"^<!--\s*(?:(?P<run>run)(?::\s*(?P<setup>[a-z-]+))?"
    r"|run by (?P<by>tests/[\w/]+\.py)"
    r"|illustrative:\s*(?P<why>\S.*?))\s*-->$"
)
SETUPS = ("kb", "project", "bare")
_EXIT_RE = re.compile(r"\s+# exit (\d+)$")
TIMEOUT = 600


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    marker: str | None  # the comment line before the fence, if any

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(PROJECT)}:{self.line}"

    def parsed_marker(self) -> re.Match | None:
        return _MARKER_RE.match(self.marker) if self.marker else None


def documents() -> list[Path]:
    return [PROJECT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file, with the line before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    i = 0
    while i < len(lines):
        match = _FENCE_RE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.group("fence"), match.group("info").strip()
        language = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), None)
        marker = before if before and before.startswith("<!--") else None
        out.append(Block(path, i + 1, language, "\n".join(lines[i + 1 : end]), marker))
        i = end + 1
    return out


def shell_blocks() -> list[Block]:
    return [b for path in documents() for b in blocks(path) if b.language in SHELLS]


def commands(text: str) -> list[str]:
    """A block's commands: lines joined across `\\` continuations; comments and blanks dropped."""
    out, current = [], []
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        if not line.endswith("\\"):
            out.append("\n".join(current))
            current = []
    assert not current, "a block ends in a line continuation"
    return out


# --- every block is run or marked -------------------------------------------------------------


def test_every_shell_block_is_run_or_marked_illustrative():
    problems = []
    for block in shell_blocks():
        match = block.parsed_marker()
        if match is None:
            problems.append(
                f"{block.where}: a {block.language} block with no marker (one line before it: "
                "<!-- run -->, <!-- run: project -->, <!-- run by tests/x.py --> or "
                "<!-- illustrative: why -->)"
            )
        elif match.group("setup") and match.group("setup") not in SETUPS:
            problems.append(f"{block.where}: unknown setup {match.group('setup')!r} ({SETUPS})")
        elif match.group("by"):
            test = PROJECT / match.group("by")
            name = block.path.relative_to(PROJECT).as_posix()
            if not test.is_file():
                problems.append(f"{block.where}: {match.group('by')} does not exist")
            elif block.path.name not in test.read_text(encoding="utf-8") and name not in (
                test.read_text(encoding="utf-8")
            ):
                problems.append(f"{block.where}: {match.group('by')} never reads {name}")
    assert not problems, "\n".join(problems)
    assert len(shell_blocks()) > 0


def test_the_marker_check_can_fail(tmp_path, monkeypatch):
    doc = tmp_path / "docs" / "x.md"
    doc.parent.mkdir()
    doc.write_text(
        "# X\n\n```bash\necho unmarked\n```\n\n<!-- illustrative:  -->\n```sh\necho no why\n```\n"
        "\n<!-- run: nowhere -->\n```bash\necho\n```\n\n<!-- illustrative: fine -->\n"
        "```bash\necho ok\n```\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "PROJECT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "DOCS", tmp_path / "docs")
    (tmp_path / "README.md").write_text("# R\n", encoding="utf-8")
    with pytest.raises(AssertionError) as caught:
        test_every_shell_block_is_run_or_marked_illustrative()
    text = str(caught.value)
    assert "docs/x.md:3: a bash block with no marker" in text
    assert "docs/x.md:8: a sh block with no marker" in text  # a reason is required
    assert "docs/x.md:13: unknown setup 'nowhere'" in text
    assert "x.md:18" not in text


# --- run blocks run ---------------------------------------------------------------------------


def _run_blocks() -> dict[tuple[str, str], list[Block]]:
    """(document, setup) -> its run blocks, in order."""
    out: dict[tuple[str, str], list[Block]] = {}
    for block in shell_blocks():
        match = block.parsed_marker()
        if match and match.group("run"):
            key = (block.path.relative_to(PROJECT).as_posix(), match.group("setup") or "kb")
            out.setdefault(key, []).append(block)
    return out


def _sandbox(tmp_path: Path, setup: str) -> tuple[Path, dict[str, str]]:
    repo, home, tmp = tmp_path / "repo", tmp_path / "home", tmp_path / "tmp"
    for directory in (home, tmp):
        directory.mkdir()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "EXPERIMENTOS_"))}
    env = {
        **keep,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANCEDB_LOG": "error",
        "GIT_AUTHOR_NAME": "docs",
        "GIT_AUTHOR_EMAIL": "docs@localhost",
        "GIT_COMMITTER_NAME": "docs",
        "GIT_COMMITTER_EMAIL": "docs@localhost",
    }
    if setup == "project":
        repo.mkdir()
        for name in ("wiki", "policies", "experiments", "fixtures", "schemas"):
            shutil.copytree(PROJECT / name, repo / name, symlinks=True)
        shutil.copy(PROJECT / "experimentos.toml", repo / "experimentos.toml")
    else:
        repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    if setup == "kb":
        subprocess.run(
            ["experimentos", "init", "--commit"], cwd=repo, env=env, check=True, capture_output=True
        )
    elif setup == "project":
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", "knowledge"], cwd=repo, env=env, check=True)
    return repo, env


def script(block: Block) -> str:
    """A block as one bash script: its commands in order (shell variables carry from one to the
    next), each checked against the exit code it expects; the first wrong one stops the script
    and names itself on stderr."""
    lines = []
    for n, command in enumerate(commands(block.text)):
        found = _EXIT_RE.search(command)
        expect = int(found.group(1)) if found else 0
        lines += [
            command,
            f'rc=$?; if [ "$rc" -ne {expect} ]; then '
            f'echo "XOS-DOCS: command {n + 1} exited $rc, expected {expect}" >&2; exit 99; fi',
        ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("document", "setup"), sorted(_run_blocks()), ids=lambda x: str(x).replace("/", ".")
)
def test_run_blocks_run(document, setup, tmp_path):
    repo, env = _sandbox(tmp_path, setup)
    for block in _run_blocks()[(document, setup)]:
        result = subprocess.run(
            ["bash", "-c", script(block)],
            cwd=repo,
            env=env,
            input="",
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        where = (
            f"{block.where} exited {result.returncode}\n{block.text}\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
        )
        assert result.returncode == 0, where
        assert "Traceback" not in result.stderr, where


def test_a_run_block_fails_on_a_wrong_exit_code(tmp_path):
    block = Block(
        PROJECT / "README.md",
        1,
        "bash",
        "X=1\ntest $X = 1\nfalse  # exit 1\ntrue  # exit 2\necho never",
        None,
    )
    result = subprocess.run(["bash", "-c", script(block)], capture_output=True, text=True)
    assert result.returncode == 99
    assert "command 4 exited 0, expected 2" in result.stderr and "never" not in result.stdout


# --- the README is the way in; the reference is in docs/ -----------------------------------------

README_MAX_LINES = 400
# The pitch, the two commands, the tour and where to go next: anything else belongs in docs/.
README_SECTIONS = ["Two commands", "A short tour", "Where to go next"]
_LINK_RE = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")


def _headings(path: Path) -> list[str]:
    """The Markdown headings of a file, outside code blocks."""
    out, fence = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _FENCE_RE.match(line)
        if match and (fence is None or match.group("fence").startswith(fence)):
            fence = match.group("fence")[:3] if fence is None else None
        elif fence is None and re.match(r"^#{1,6} ", line):
            out.append(line.split(" ", 1)[1].strip())
    return out


def github_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (MkDocs gives the same to ours; its
    --strict build checks them there): markup dropped, lowercase, punctuation out, spaces to -."""
    out: set[str] = set()
    for heading in _headings(path):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = 0
        while (slug if n == 0 else f"{slug}-{n}") in out:
            n += 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def local_links(path: Path) -> list[str]:
    """Relative link targets of a Markdown file, outside code blocks and code spans."""
    text = "\n".join(b for b in _prose(path.read_text(encoding="utf-8")))
    return [
        target
        for target in _LINK_RE.findall(re.sub(r"`[^`\n]*`", "", text))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def _prose(text: str) -> list[str]:
    out, fence = [], None
    for line in text.splitlines():
        match = _FENCE_RE.match(line)
        if match and (fence is None or match.group("fence").startswith(fence)):
            fence = match.group("fence")[:3] if fence is None else None
        elif fence is None:
            out.append(line)
    return out


def test_the_readme_is_short_and_keeps_only_the_way_in():
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < README_MAX_LINES, "move reference material into docs/"
    assert _headings(PROJECT / "README.md")[1:] == README_SECTIONS


def _nav_pages() -> list[str]:
    import yaml

    def leaves(node) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [page for item in node for page in leaves(item)]
        return [page for value in node.values() for page in leaves(value)]

    config = yaml.safe_load((PROJECT / "mkdocs.yml").read_text(encoding="utf-8"))
    return leaves(config["nav"])


def test_every_docs_page_is_in_the_nav_and_the_readme_leads_to_it():
    nav = _nav_pages()
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages, "mkdocs.yml's nav lists every page under docs/, once"
    linked = {link.split("#")[0] for link in local_links(PROJECT / "README.md")}
    missing = [page for page in pages if f"docs/{page}" not in linked]
    assert missing == ["getting-started.md"], f"the README's links leave out {missing}"


def test_links_in_the_readme_and_docs_resolve_on_github():
    """A relative link reaches a file of the repository and, for a Markdown file, one of its
    headings: the README's links into docs/ work on GitHub as they do on the built site."""
    problems = []
    for doc in documents():
        for target in local_links(doc):
            file, _, anchor = target.partition("#")
            goal = (doc.parent / file).resolve() if file else doc
            if not goal.exists() or PROJECT not in goal.parents:
                problems.append(f"{doc.relative_to(PROJECT)}: {target}: no such file")
            elif anchor and goal.suffix == ".md" and anchor not in github_anchors(goal):
                problems.append(f"{doc.relative_to(PROJECT)}: {target}: no such heading")
    assert not problems, "\n".join(problems)
    assert len(local_links(PROJECT / "README.md")) >= 15


def test_the_link_check_can_fail(tmp_path):
    page = tmp_path / "a.md"
    page.write_text(
        "# A page\n\n## Health: doctor and `cite`\n\n```md\n[in code](gone.md)\n```\n"
        "[ok](#health-doctor-and-cite) [bad](#health) `[span](gone.md)` [web](https://x.y/z)\n"
        "[file](b.md#x)\n",
        encoding="utf-8",
    )
    assert github_anchors(page) == {"a-page", "health-doctor-and-cite"}
    assert local_links(page) == ["#health-doctor-and-cite", "#health", "b.md#x"]


# A document and a section title in quotes: `docs/matrices.md, "The spec"` or `README, 'X'`.
_DOC_REF_RE = re.compile(r"\b(README|docs/[\w-]+\.md)(?:\.md)?,\s*[\"']([^\"'\n]+)[\"']")


def doc_references(text: str) -> list[tuple[str, str | None]]:
    """(document, section or None) for every pointer into the documentation in a text."""
    found = [(m.group(1), m.group(2)) for m in _DOC_REF_RE.finditer(text)]
    found += [(m, None) for m in re.findall(r"\bdocs/[\w-]+\.md\b", text)]
    return [("README.md" if doc == "README" else doc, section) for doc, section in found]


def _broken_references(text: str) -> list[str]:
    problems = []
    for doc, section in doc_references(text):
        path = PROJECT / doc
        if not path.is_file():
            problems.append(f"{doc}: no such document")
        elif section and section not in _headings(path):
            problems.append(f"{doc}: no heading {section!r} (it has {_headings(path)})")
    return problems


def test_the_code_points_at_documentation_that_exists():
    """Docstrings, help and error messages that send a reader to a section name a document
    and a heading that are there (the README's reference moved into docs/)."""
    problems = []
    for source in sorted((PROJECT / "experimentos").rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        problems += [f"{source.relative_to(PROJECT)}: {p}" for p in _broken_references(text)]
    assert not problems, "\n".join(problems)


def test_a_missing_matrix_spec_names_the_page_that_shows_one(tmp_path):
    from experimentos.errors import NotFound
    from experimentos.matrix.spec import load_spec

    with pytest.raises(NotFound) as caught:
        load_spec(tmp_path, "brief-helps")
    message = str(caught.value)
    assert doc_references(message) and not _broken_references(message), message
    assert "README" not in message


def test_the_reference_check_can_fail():
    text = "see README, \"Run a matrix\" and docs/matrices.md, 'No such' or docs/gone.md"
    assert doc_references(text) == [
        ("README.md", "Run a matrix"),
        ("docs/matrices.md", "No such"),
        ("docs/matrices.md", None),
        ("docs/gone.md", None),
    ]
    assert len(_broken_references(text)) == 3


# --- the site builds, the reference is complete -----------------------------------------------


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "d")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (tmp_path / "d" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "experimentos matrix run" in reference and "--shard" in reference
    # The getting-started page includes the README's two commands and tour (one source).
    import html

    page = (tmp_path / "d" / "getting-started" / "index.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "pip install -e '.[dev,embeddings]' && pytest" in text
    assert "experimentos init --commit" in text and "--8<--" not in text


def test_the_command_reference_lists_every_command_and_option():
    import typer

    from experimentos.cli.reference import cli_reference, command_paths, root_command, walk

    text = cli_reference()
    assert len(command_paths()) > 40
    for path, command in walk(root_command()):
        name = " ".join(("experimentos", *path))
        assert f"`{name}`" in text, name
        ctx = typer.Context(command, info_name=" ".join(path))
        for param in command.params:
            record = param.get_help_record(ctx)
            if record:
                assert f"`{record[0]}`" in text, (path, record[0])


def test_pages_publishes_the_docs_under_the_site(tmp_path):
    """pages.yml builds the site, then the docs into its docs/ (the order matters: a site build
    replaces its whole directory); .ci/run builds the docs with --strict."""
    pytest.importorskip("mkdocs")
    import yaml

    flow = yaml.safe_load((PROJECT / ".github/workflows/pages.yml").read_text(encoding="utf-8"))
    runs = [s.get("run", "") for s in flow["jobs"]["build"]["steps"]]
    site = next(i for i, r in enumerate(runs) if r.startswith("experimentos site build _site"))
    docs = next(i for i, r in enumerate(runs) if r.startswith("mkdocs build --strict"))
    assert runs[docs] == "mkdocs build --strict --site-dir _site/docs" and docs > site
    assert any("'.[docs]'" in r for r in runs)
    assert "mkdocs build --strict" in (PROJECT / ".ci/run").read_text(encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "LANCEDB_LOG": "error"}
    out = tmp_path / "_site"
    for argv in (
        ["experimentos", "--root", str(PROJECT), "site", "build", str(out)],
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out / "docs")],
    ):
        done = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "index.html").is_file() and (out / "docs" / "index.html").is_file()
    assert (out / "docs" / "cli" / "index.html").is_file()
