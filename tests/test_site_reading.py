"""The site as people read it (issue 23): the matrix grid, one title per page, diffs one line per
line, clickable bare URLs, trust colours, and search that groups runs of one task. What only a
browser can see (wrapping, overflow, colours as rendered) is in test_site_browser.py."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from experimentos.reports.build import results_for
from experimentos.site import build_site
from experimentos.site.build import NAV
from experimentos.store import Workspace

from .conftest import PROJECT
from .site_helpers import MATRIX, SOURCE_URL, make_site_root
from .test_site import RUN, TODAY

GRID = f"experiments/{MATRIX}/matrices/{MATRIX}.html"
REPORT = f"experiments/{MATRIX}/results/{MATRIX}.html"
RUN_PAGE = f"experiments/{MATRIX}/runs/{RUN}.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Workspace, Path]:
    base = tmp_path_factory.mktemp("reading")
    root = make_site_root(base / "kb")
    build_site(root, base / "site", today=TODAY)
    return root, base / "site"


@pytest.fixture(scope="module")
def project_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("project") / "site"
    build_site(Workspace(PROJECT), out, today=TODAY)
    return out


def _text(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


class _Outline(HTMLParser):
    """Headings (level, text, inside a Markdown body?) and elements with their classes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str, bool]] = []
        self._open: list[str] = []
        self._heading: list | None = None
        self._body_depth: int | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        attrs = dict(attrs)
        if tag in ("br", "img", "link", "meta", "input", "hr"):
            return
        self._open.append(tag)
        if tag == "article" and "body" in (attrs.get("class") or "").split():
            self._body_depth = len(self._open)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]

    def handle_endtag(self, tag):  # noqa: ANN001
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append(
                (self._heading[0], " ".join(self._heading[1].split()), self._in_body())
            )
            self._heading = None
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass
        if self._body_depth is not None and len(self._open) < self._body_depth:
            self._body_depth = None

    def handle_data(self, data):  # noqa: ANN001
        if self._heading is not None:
            self._heading[1] += data

    def _in_body(self) -> bool:
        return self._body_depth is not None


def _outline(html: str) -> list[tuple[int, str, bool]]:
    parser = _Outline()
    parser.feed(html)
    return parser.headings


# --- one title per page, no heading said twice -----------------------------------------------


@pytest.mark.parametrize("which", ["fixture", "project"])
def test_every_page_has_one_title(built, project_site, which):
    site = built[1] if which == "fixture" else project_site
    for path in sorted(site.rglob("*.html")):
        h1 = [text for level, text, _ in _outline(path.read_text(encoding="utf-8")) if level == 1]
        assert len(h1) == 1, (path.relative_to(site), h1)


def test_the_report_title_is_said_once(project_site):
    headings = _outline(_text(project_site, REPORT))
    assert [h for h in headings if h[0] == 1] == [(1, f"Matrix {MATRIX}", False)]
    assert not any("Matrix" in text and MATRIX in text for _, text, body in headings if body)


def test_a_body_title_gives_way_to_the_page_title(built):
    _, site = built
    headings = _outline(_text(site, "knowledge/source.release-notes.html"))
    assert [h for h in headings if h[0] == 1] == [(1, "Release notes", False)]
    assert (2, "Another top heading", True) in headings  # a later h1 is a section


@pytest.mark.parametrize("which", ["fixture", "project"])
def test_no_page_repeats_a_heading_of_its_own(built, project_site, which):
    """The run page said "Oracle" twice (the section and the process table under it)."""
    site = built[1] if which == "fixture" else project_site
    for path in sorted(site.rglob("*.html")):
        own = [
            text for (_, text, in_body) in _outline(path.read_text(encoding="utf-8")) if not in_body
        ]
        repeated = sorted({t for t in own if own.count(t) > 1})
        assert repeated == [], (path.relative_to(site), repeated)


# --- diffs ------------------------------------------------------------------------------------


def test_a_diff_is_one_line_per_line(built):
    """Each diff line is a block; a newline between blocks showed every line twice as tall."""
    root, site = built
    html = _text(site, RUN_PAGE)
    pre = re.search(r'<pre class="diff">(.*?)</pre>', html, re.S).group(1)
    assert not re.search(r"</span>\s+<span", pre)  # nothing between two line blocks
    diff = (root.root / f"experiments/{MATRIX}/runs/{RUN}.diff").read_text(encoding="utf-8")
    # Copying the block gives the diff back, byte for byte.
    assert unescape(re.sub(r"<[^>]+>", "", pre)) == diff
    assert pre.count('<span class="d-') == len(diff.splitlines())


# --- links in text ----------------------------------------------------------------------------


def test_bare_urls_are_links(built):
    _, site = built
    html = _text(site, "knowledge/source.release-notes.html")
    body = re.search(r'<article class="body">(.*?)</article>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]*)</a>', body)
    assert (SOURCE_URL, SOURCE_URL) in links  # the trailing full stop is not part of it
    assert (f"{SOURCE_URL}/guide", f"{SOURCE_URL}/guide") in links
    for href, _ in links:
        assert href.startswith("https://"), href  # file names are not taken for hosts
    assert body.count('rel="noopener noreferrer"') == len(links)
    assert "README.md and drizzle.config.ts" in body


# --- trust, not status ------------------------------------------------------------------------


def _status_badge(html: str) -> tuple[str, str, str]:
    """(classes, title, text) of the first status badge of a page."""
    match = re.search(r'<span class="(status [^"]*)" title="([^"]*)">([^<]*)</span>', html)
    assert match, "no status badge"
    return match.group(1), unescape(match.group(2)), match.group(3)


@pytest.mark.parametrize(
    ("page", "trust", "why"),
    [
        ("policy.reviewed", "rule", "decision rule"),
        ("claim.unreviewed", "evidence", "a claim is evidence, never a decision rule"),
        ("policy.keep-pins", "evidence", "its review expired on 2026-06-01"),
        ("claim.fresh", "draft", "evidence only"),
    ],
)
def test_status_badges_are_coloured_by_trust(built, page, trust, why):
    _, site = built
    classes, title, text = _status_badge(_text(site, f"knowledge/{page}.html"))
    assert f"trust-{trust}" in classes.split() and why in title
    index = _text(site, "knowledge/index.html")
    row = re.search(rf'<tr>\s*<td><a href="{re.escape(page)}\.html".*?</tr>', index, re.S)
    assert f"trust-{trust}" in _status_badge(row.group(0))[0].split()


def test_only_a_decision_rule_is_green():
    css = (Path(__file__).parents[1] / "experimentos/site/assets/site.css").read_text("utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    green = [
        selector.strip()
        for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css)
        if "var(--ok)" in body
        for selector in selectors.split(",")
    ]
    assert ".trust-rule" in green
    assert not [s for s in green if "trust-" in s and s != ".trust-rule"]
    assert ".status-accepted" not in green  # an accepted claim is not a rule


# --- search -----------------------------------------------------------------------------------


def _index(site: Path) -> list[dict]:
    text = _text(site, "assets/search-index.js")
    return json.loads(text[len("window.XOS_SEARCH_INDEX = ") : -2])


def test_runs_of_one_task_share_a_search_group(built):
    _, site = built
    runs = [e for e in _index(site) if e["k"] == "run"]
    by_task: dict[str, set[str]] = {}
    for entry in runs:
        by_task.setdefault(entry["s"], set()).add(entry["g"])
        assert entry["gu"] == GRID  # a group opens on the matrix grid
    assert len(by_task) == 2 and all(len(groups) == 1 for groups in by_task.values())
    assert len({g for groups in by_task.values() for g in groups}) == 2
    assert all("g" not in e for e in _index(site) if e["k"] != "run")


# --- the matrix grid --------------------------------------------------------------------------


class _Grid(HTMLParser):
    """The grid's cells: data-cell -> {count, rate, runs (hrefs), classes, href}."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: dict[str, dict] = {}
        self.columns: list[str] = []
        self._cell: dict | None = None
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        attrs = dict(attrs)
        if tag == "td" and "data-cell" in attrs:
            self._cell = {
                "runs": [],
                "count": "",
                "classes": attrs.get("class", ""),
                "style": attrs.get("style", ""),
            }
            self.cells[attrs["data-cell"]] = self._cell
        elif self._cell is not None and tag in ("a", "span"):
            if "count" in (attrs.get("class") or "").split():
                self._cell["href"] = attrs.get("href")
                self._in = "count"
            elif tag == "a":
                self._cell["runs"].append(attrs["href"])
        elif tag == "th" and "data-column" in attrs:
            self.columns.append(attrs["data-column"])

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag == "td":
            self._cell = None
        if tag in ("a", "span"):
            self._in = None

    def handle_data(self, data):  # noqa: ANN001
        if self._cell is not None and self._in == "count":
            self._cell["count"] += data


def _grid(html: str) -> _Grid:
    parser = _Grid()
    parser.feed(html)
    return parser


def test_matrix_grid_shows_clean_pass_per_fixture_condition_agent(built):
    root, site = built
    html = _text(site, GRID)
    grid = _grid(html)
    results = results_for(root.root, MATRIX)
    expected = {
        f"{g.fixture}/{g.condition}/{g.agent}": g.rates["clean_pass"]
        for g in results.fixture_groups
    }
    shown = {key: cell for key, cell in grid.cells.items() if not key.startswith("all/")}
    assert sorted(shown) == sorted(expected) and len(shown) == 8
    for key, rate in expected.items():
        cell = shown[key]
        assert cell["count"] == f"{rate.k}/{rate.n}", key
        assert f"--rate: {rate.p:.2f}" in cell["style"], key
        assert len(cell["runs"]) == 2  # each repeat, linked
    assert shown["drizzle-pin/brief/codex"]["count"] == "2/2"
    assert shown["drizzle-pin/none/codex"]["count"] == "0/2"
    # Columns: agent x condition, in the spec's order; the baseline first.
    assert grid.columns == ["codex/none", "codex/brief", "claude-code/none", "claude-code/brief"]
    # Every run of the matrix is one click from the grid, and the count opens the cell's runs.
    hrefs = {h for cell in shown.values() for h in cell["runs"]}
    assert hrefs == {
        f"../runs/{p.stem}.html" for p in (root.root / f"experiments/{MATRIX}/runs").glob("*.md")
    }
    anchor = shown["drizzle-pin/brief/codex"]["href"]
    assert anchor.startswith("#cell-") and f'id="{anchor[1:]}"' in html
    drill = html[html.index(f'id="{anchor[1:]}"') :]
    assert f"run.{MATRIX}.drizzle-pin.brief.codex.r1.html" in drill.split("</tbody>")[0]
    # The total over fixtures, per condition and agent.
    assert grid.cells["all/brief/codex"]["count"] == "4/4"
    assert "clean pass" in html and "legend" in html


def test_matrix_grid_counts_what_the_report_counts(tmp_path):
    """A failed run is excluded (listed with its reason), a run without a rule report has an
    unknown clean pass: neither is in the cell's n."""
    root = make_site_root(tmp_path / "kb")
    runs = root.root / f"experiments/{MATRIX}/runs"
    failed = runs / f"run.{MATRIX}.sdk-rename.none.codex.r1.md"
    text = failed.read_text(encoding="utf-8").replace("status: finished", "status: failed", 1)
    failed.write_text(text.replace("  reason: null", "  reason: the agent CLI crashed"), "utf-8")
    unknown = runs / f"run.{MATRIX}.sdk-rename.none.codex.r2.md"
    text = unknown.read_text(encoding="utf-8")
    unknown.write_text(re.sub(r"  rules:\n(?:    .*\n)+", "  rules: null\n", text), "utf-8")
    build_site(root, tmp_path / "site", today=TODAY)
    html = _text(tmp_path / "site", GRID)
    grid = _grid(html)
    assert grid.cells["sdk-rename/none/codex"]["count"] == "0/0"
    assert "empty" in grid.cells["sdk-rename/none/codex"]["classes"]
    assert "the agent CLI crashed" in html and "excluded" in html
    rates = {
        f"{g.fixture}/{g.condition}/{g.agent}": g.rates["clean_pass"]
        for g in results_for(root.root, MATRIX).fixture_groups
    }
    assert {key: f"{rate.k}/{rate.n}" for key, rate in rates.items()} == {
        k: c["count"]
        for k, c in grid.cells.items()
        if k.count("/") == 2 and not k.startswith("all/")
    }


def test_matrix_grid_is_reachable(built):
    _, site = built
    assert any(url == "matrices/index.html" for _, url, _ in NAV)
    listing = _text(site, "matrices/index.html")
    assert f'href="../{GRID}"' in listing and "16 runs" in listing
    assert f'href="{GRID}"' in _text(site, "index.html")
    assert f'href="matrices/{MATRIX}.html"' in _text(site, f"experiments/{MATRIX}/index.html")
    assert f'href="../matrices/{MATRIX}.html"' in _text(site, REPORT)
    run = _text(site, RUN_PAGE)
    assert re.search(rf'href="\.\./matrices/{MATRIX}\.html#cell-\d+"', run)
    # An experiment without matrix runs has no grid.
    assert not (site / "experiments/child/matrices").exists()


def test_matrix_grid_of_an_empty_knowledge_base(tmp_path):
    root = make_site_root(tmp_path / "kb")
    shutil.rmtree(root.root / "experiments" / MATRIX)
    build_site(root, tmp_path / "site", today=TODAY)
    assert "No matrix runs yet" in _text(tmp_path / "site", "matrices/index.html")


def _decisions(root: Path, agent: str, value: str | None) -> None:
    """Rewrite what the records of `agent` say decided their runs (None: say nothing)."""
    for record in (root / f"experiments/{MATRIX}/runs").glob(f"*.{agent}.r*.md"):
        text = record.read_text(encoding="utf-8")
        line = "" if value is None else f"  decisions: {value}\n"
        record.write_text(re.sub(r"  decisions: \w+\n", line, text), encoding="utf-8")


@pytest.mark.parametrize(
    ("codex", "claude", "label", "marked"),
    [
        ("script", "script", "harness check", ["codex", "claude-code"]),
        ("model", "script", "mixed", ["claude-code"]),
        ("model", "model", None, []),
        (None, None, "unknown", []),
    ],
)
def test_matrix_grid_says_what_its_numbers_are_evidence_of(tmp_path, codex, claude, label, marked):
    """Runs a script decided are a harness check, on the grid as in the report."""
    root = make_site_root(tmp_path / "kb")
    _decisions(root.root, "codex", codex)
    _decisions(root.root, "claude-code", claude)
    build_site(root, tmp_path / "site", today=TODAY)
    html = _text(tmp_path / "site", GRID)
    found = re.findall(r'<p class="label label-([\w-]+)">', html)
    assert found == ([label.replace(" ", "-")] if label else [])
    assert results_for(root.root, MATRIX).label == (label or "agents")
    header = html.split("</thead>")[0]
    columns = re.findall(
        r'scope="colgroup">([\w-]+)( <span class="badge badge-harness-check">)?', header
    )
    assert [name for name, badge in columns if badge] == marked
    listing = _text(tmp_path / "site", "matrices/index.html")
    assert (f">{label}</span>" in listing) == bool(label)
