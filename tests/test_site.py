"""The static site built from files: contents, escaping, links, determinism, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import re
from html import unescape
from pathlib import Path

import pytest

from experimentos.errors import UsageError
from experimentos.site import build as build_module
from experimentos.site import build_site, page_badges, source_date
from experimentos.site.markdown import render_markdown
from experimentos.site.svg import sanitize_svg
from experimentos.store import Workspace

from .conftest import PROJECT, page_text, write_files
from .site_helpers import BODY_WORD, MATRIX, REPORT_WORD, internal_refs, make_site_root

TODAY = dt.date(2026, 12, 1)
RUN = f"run.{MATRIX}.drizzle-pin.brief.codex.r1"


@pytest.fixture
def root(tmp_path: Path) -> Workspace:
    return make_site_root(tmp_path / "kb")


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _text(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def test_build_writes_every_page(root, tmp_path):
    result = build_site(root, tmp_path / "site", today=TODAY)
    site = tmp_path / "site"
    assert (result.knowledge, result.experiments, result.runs, result.reports) == (6, 2, 16, 1)
    for rel in (
        "index.html",
        "search.html",
        "knowledge/index.html",
        "knowledge/policy.keep-pins.html",
        "experiments/index.html",
        f"experiments/{MATRIX}/index.html",
        f"experiments/{MATRIX}/runs/{RUN}.html",
        f"experiments/{MATRIX}/results/{MATRIX}.html",
        f"experiments/{MATRIX}/matrices/{MATRIX}.html",
        "matrices/index.html",
        "reports/index.html",
        "assets/site.css",
        "assets/search.js",
        "assets/search-index.js",
    ):
        assert (site / rel).is_file(), rel
    assert result.pages == len(list(site.rglob("*.html")))


def test_knowledge_page_shows_fields_edges_and_badges(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    html = _text(tmp_path / "site", "knowledge/policy.keep-pins.html")
    assert "drizzle-kit" in html and "&gt;=0.30,&lt;0.31" in html  # appliesTo, escaped
    assert "Two runs broke" in html and "2026-06-01" in html  # review and expiry
    assert 'class="badge badge-expired"' in html and "review expired on 2026-06-01" in html
    assert 'class="badge badge-stale"' in html and "cites src/app.py, which changed" in html
    # Edges out as links, a missing target shown but not linked.
    assert 'href="failure.blind-upgrade.html"' in html
    assert '<span class="missing" title="failure.gone is not in this knowledge base">' in html
    # The incoming side, on the failure page.
    failure = _text(tmp_path / "site", "knowledge/failure.blind-upgrade.html")
    assert "needed by" in failure and 'href="policy.keep-pins.html"' in failure
    assert "badge-" not in _text(tmp_path / "site", "knowledge/claim.fresh.html")


def test_badges_come_from_one_function(root):
    pages = {doc.id: doc.page for doc in root.scan().documents}
    badges = page_badges(pages, root.root, TODAY)
    assert sorted(badges) == ["policy.keep-pins"]
    assert [b.kind for b in badges["policy.keep-pins"]] == ["expired", "stale"]
    assert page_badges(pages, root.root, dt.date(2026, 5, 1))["policy.keep-pins"][0].kind == (
        "stale"
    )


def test_file_content_is_escaped_and_scripts_never_survive(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    site = tmp_path / "site"
    for rel, data in _files(site).items():
        if not rel.endswith(".html"):
            continue
        text = data.decode()
        # Our only script is the search script; nothing from a file runs.
        assert re.findall(r"<script\b[^>]*>", text) == [
            f'<script src="{posixpath.relpath("assets/search.js", posixpath.dirname(rel) or ".")}"'
            " defer>"
        ], rel
        assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", text), rel
        assert not re.search(r'(?:href|src)="\s*javascript:', text, re.I), rel
    failure = _text(site, "knowledge/failure.blind-upgrade.html")
    assert "&lt;img src=x onerror=" in failure and "&lt;script&gt;" in failure
    assert "[bad](javascript:alert(1))" in failure  # never a link: markdown-it refuses it
    assert 'rel="noopener noreferrer"' in failure  # the external link is kept, marked


def test_report_page_keeps_tables_and_a_clean_chart(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    html = _text(tmp_path / "site", f"experiments/{MATRIX}/results/{MATRIX}.html")
    assert "<table>" in html and "<td>[0.34, 1.00]</td>" in html
    chart = re.search(r'<figure class="chart">(.*?)</figure>', html, re.S).group(1)
    assert chart.startswith("<svg") and "<rect" in chart and "<title>" in chart
    for bad in ("script", "onload", "foreignObject", "javascript", "style=", "onerror"):
        assert bad.lower() not in chart.lower(), bad
    assert "&lt;b onclick=" in html  # raw HTML outside the chart is text
    assert 'href="../../../knowledge/policy.keep-pins.html"' in html  # relative .md link
    assert '<span class="dead-link" title="../../nowhere.md">dead link</span>' in html
    assert "generator" in html and "codex, claude-code" in html  # frontmatter, generically
    assert html.count(f'href="../runs/run.{MATRIX}.') == 16  # the matrix's runs


def test_run_page_has_timeline_diff_oracle_and_transcript(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    html = _text(tmp_path / "site", f"experiments/{MATRIX}/runs/{RUN}.html")
    assert '<table class="timeline">' in html and "brief_loaded" in html and "+0.000s" in html
    assert '<span class="d-add">+  createdAt: timestamp(&#34;created_at&#34;' in html
    assert "ok: the schema matches the applied migrations" in html  # oracle output
    assert "&lt;script&gt;window.__xss = 6&lt;/script&gt;" in html  # a hostile event, escaped
    assert "Kept drizzle-kit at 0.30.4" in html  # transcript final answer
    assert 'href="../index.html"' in html  # back to the experiment


def test_experiment_page_lists_tests_runs_reports_and_tree(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    site = tmp_path / "site"
    html = _text(site, f"experiments/{MATRIX}/index.html")
    assert 'id="test-brief-helps"' in html and "manual: Does the brief help?" in html
    assert html.count('href="runs/run.') == 16
    assert f'href="results/{MATRIX}.html"' in html
    assert "Child &lt;ablation&gt;" in html  # a sub-experiment, escaped
    tree = _text(site, "experiments/index.html")
    assert tree.index("Scripted brief matrix") < tree.index("Child &lt;ablation&gt;")


def test_every_internal_link_resolves(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    site = tmp_path / "site"
    ids = {}
    for path in site.rglob("*.html"):
        ids[path] = set(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))
    checked = 0
    for path in site.rglob("*.html"):
        for ref in internal_refs(path.read_text(encoding="utf-8")):
            target_rel, _, fragment = unescape(ref).partition("#")
            target = (path.parent / target_rel).resolve() if target_rel else path
            assert target.is_file() and target.is_relative_to(site), (path, ref)
            if fragment:
                assert fragment in ids[target], (path, ref)
            checked += 1
    assert checked >= 7 * len(ids)  # at least the stylesheet, script, brand, nav and search


def test_search_index_holds_body_words(root, tmp_path):
    build_site(root, tmp_path / "site", today=TODAY)
    text = _text(tmp_path / "site", "assets/search-index.js")
    assert text.startswith("window.XOS_SEARCH_INDEX = ") and text.endswith(";\n")
    entries = json.loads(text[len("window.XOS_SEARCH_INDEX = ") : -2])
    by_url = {e["u"]: e for e in entries}
    assert BODY_WORD in by_url["knowledge/failure.blind-upgrade.html"]["w"].split()
    assert REPORT_WORD in by_url[f"experiments/{MATRIX}/results/{MATRIX}.html"]["w"].split()
    assert f"experiments/{MATRIX}/index.html#test-brief-helps" in by_url
    assert [e["u"] for e in entries] == sorted(e["u"] for e in entries)


def test_same_files_same_bytes(root, tmp_path):
    build_site(root, tmp_path / "a", today=TODAY, base_url="https://acme.github.io/kb")
    build_site(root, tmp_path / "b", today=TODAY, base_url="https://acme.github.io/kb")
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first == second
    assert "sitemap.xml" in first
    assert (
        b'<link rel="canonical" href="https://acme.github.io/kb/index.html">' in first["index.html"]
    )
    # Rebuilding in place replaces the site with the same bytes.
    build_site(root, tmp_path / "a", today=TODAY, base_url="https://acme.github.io/kb")
    assert _files(tmp_path / "a") == first


def test_build_replaces_the_old_site_and_a_failure_keeps_it(root, tmp_path, monkeypatch):
    out = tmp_path / "site"
    build_site(root, out, today=TODAY)
    (out / "stale-file.html").write_text("old", encoding="utf-8")
    build_site(root, out, today=TODAY)
    assert not (out / "stale-file.html").exists()
    before = _files(out)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "write_tree", broken)
    with pytest.raises(RuntimeError):
        build_site(root, out, today=TODAY)
    assert _files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "site"]  # no temp dir left


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("kb", "would replace the knowledge root"),
        ("kb/wiki/site", "inside wiki/"),
        ("kb/experiments", "inside experiments/"),
        ("foreign", "no site build made"),
        ("link", "symlink"),
        ("file", "not a directory"),
    ],
)
def test_refuses_outputs_that_could_harm(root, tmp_path, where, message):
    write_files(tmp_path, {"foreign/keep.txt": "mine", "file": "x"})
    (tmp_path / "link").symlink_to(tmp_path / "foreign")
    with pytest.raises(UsageError, match=message):
        build_site(root, tmp_path / where, today=TODAY)
    assert (tmp_path / "foreign/keep.txt").read_text() == "mine"


def test_hostile_sidecars_are_reported_not_followed(root, tmp_path):
    outside = tmp_path / "secret.diff"
    outside.write_text("+SECRET\n", encoding="utf-8")
    diff = root.root / f"experiments/{MATRIX}/runs/{RUN}.diff"
    diff.unlink()
    diff.symlink_to(outside)
    chart = root.root / f"experiments/{MATRIX}/results/chart.svg"
    chart.symlink_to(outside)
    result = build_site(root, tmp_path / "site", today=TODAY)
    html = _text(tmp_path / "site", f"experiments/{MATRIX}/runs/{RUN}.html")
    assert "SECRET" not in html and "No diff recorded." in html
    codes = {p.path: p.code for p in result.problems}
    assert codes[f"experiments/{MATRIX}/runs/{RUN}.diff"] == "symlink-outside-root"
    assert codes[f"experiments/{MATRIX}/results/chart.svg"] == "symlink-outside-root"
    assert "SECRET" not in "".join(d.decode() for d in _files(tmp_path / "site").values())


def test_broken_report_is_a_problem_not_a_crash(root, tmp_path):
    write_files(root.root, {f"experiments/{MATRIX}/results/broken.md": "---\n[unclosed\n---\n"})
    result = build_site(root, tmp_path / "site", today=TODAY)
    assert result.reports == 1
    assert any(p.path.endswith("results/broken.md") for p in result.problems)
    assert "results/broken.md" in _text(tmp_path / "site", "index.html")


def test_svg_allowlist_and_markdown_links():
    assert sanitize_svg(
        '<svg><g><rect x="1"/></g><p>x</p><img src=y><text>a&lt;b</text></svg>'
    ) == ('<svg><g><rect x="1"></rect></g><text>a&lt;b</text></svg>')
    assert 'fill="url(#g)"' in sanitize_svg('<svg><rect fill="url(#g)"/></svg>')
    assert "fill" not in sanitize_svg('<svg><rect fill="url(http://x/y)"/></svg>')
    html = render_markdown("[a](x.md) [[policy.p]] `[[policy.q]]`", lambda href: None)
    assert html.count("dead-link") == 2 and "<code>[[policy.q]]</code>" in html


def test_source_date_epoch():
    assert source_date({"SOURCE_DATE_EPOCH": "1767225600"}) == dt.date(2026, 1, 1)
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        source_date({"SOURCE_DATE_EPOCH": "yesterday"})


def test_cli_build_json_and_errors(root, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    result = cli(root.root, "site", "build", str(tmp_path / "site"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runs"] == 16 and data["reports"] == 1 and data["out"] == str(tmp_path / "site")
    bad = cli(root.root, "site", "build", str(tmp_path / "x"), "--base-url", "ftp://x", "--json")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["field"] == "--base-url"
    inside = cli(root.root, "site", "build", str(root.root / "wiki"))
    assert inside.exit_code == 2 and "inside wiki/" in inside.stderr


def test_the_projects_own_site_builds(tmp_path):
    result = build_site(Workspace(PROJECT), tmp_path / "site", today=TODAY)
    assert result.problems == [] and result.runs >= 16 and result.knowledge >= 30
    assert os.access(tmp_path / "site" / "index.html", os.R_OK)


def test_relative_links_land_on_their_target():
    import random

    from experimentos.site.env import relative

    rng = random.Random(3)
    names = ["a", "b", "index.html", "x.y"]
    for _ in range(2000):
        here = "/".join(rng.choice(names) for _ in range(rng.randint(0, 3))) + "/p.html"
        there = "/".join(rng.choice(names) for _ in range(rng.randint(0, 3))) + "/t.html"
        here, there = here.lstrip("/"), there.lstrip("/")
        rel = relative(here, there)
        assert posixpath.normpath(posixpath.join(posixpath.dirname(here), rel)) == there
        assert rel == posixpath.relpath(there, posixpath.dirname(here) or ".")


def test_a_page_resting_on_a_stale_page_is_badged_with_the_chain(root):
    write_files(
        root.root,
        {
            "wiki/knowledge/on-pins.md": page_text(
                "knowledge.on-pins", "knowledge_card", extra="dependsOn: [policy.keep-pins]\n"
            )
        },
    )
    pages = {doc.id: doc.page for doc in root.scan().documents}
    (badge,) = page_badges(pages, root.root, TODAY)["knowledge.on-pins"]
    assert badge.kind == "stale"
    assert "depends on policy.keep-pins" in badge.reason
    assert "knowledge.on-pins -> policy.keep-pins" in badge.reason
