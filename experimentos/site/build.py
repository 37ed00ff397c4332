"""`experimentos site build OUT`: the static site, from the files only, written atomically.

Every page is rendered into a fresh temp directory beside OUT, which then takes OUT's place (the
old site is removed only once the new one is in place); a failed build leaves OUT as it was.
The same files give the same bytes: everything is sorted, nothing carries a build time, and
the only date that matters (is a review expired?) is `today`, which callers pin with
SOURCE_DATE_EPOCH for reproducible builds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from experimentos import __version__
from experimentos.errors import UsageError
from experimentos.knowledge.graph import Graph
from experimentos.models.knowledge import Problem
from experimentos.site.badges import page_badges
from experimentos.site.collect import SiteSource, collect
from experimentos.site.env import render
from experimentos.site.knowledge_pages import knowledge_index, knowledge_page
from experimentos.site.lab_pages import (
    experiment_page,
    experiment_tree,
    report_index_rows,
    report_page,
    report_title,
    run_page,
)
from experimentos.site.matrix_pages import matrix_index_rows, matrix_views
from experimentos.site.search import (
    INDEX_PATH,
    SearchEntry,
    group_key,
    index_script,
    searchable,
)
from experimentos.site.urls import Link, SiteMap, experiment_url, matrix_url
from experimentos.store import Workspace

MARKER = ".experimentos-site"
ASSETS = ("site.css", "search.js")
# Directories the site may never be written into (or over): they hold the truth.
_PROTECTED = ("wiki", "policies", "experiments", "briefs", "fixtures", "schemas", ".git")
# A base URL is a path on this origin (one leading `/`: `//host` and `/\\host` are another host
# to a browser) or an http(s) URL with a host; no credentials, query or fragment.
_URL_PATH = r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*"
_BASE_PATH_RE = re.compile(rf"/(?![/\\]){_URL_PATH}")
_BASE_URL_RE = re.compile(
    rf"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,62}}\.)*[A-Za-z0-9-]{{1,63}}|\[[0-9A-Fa-f:.]+\])"
    rf"(?::[0-9]{{1,5}})?(?:/{_URL_PATH})?",
    re.IGNORECASE,
)
NAV = (
    ("Overview", "index.html", "home"),
    ("Knowledge", "knowledge/index.html", "knowledge"),
    ("Experiments", "experiments/index.html", "experiments"),
    ("Matrices", "matrices/index.html", "matrices"),
    ("Reports", "reports/index.html", "reports"),
)


@dataclass
class SiteBuild:
    """What a build wrote."""

    out: str
    pages: int = 0
    knowledge: int = 0
    experiments: int = 0
    runs: int = 0
    reports: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)


def source_date(env: dict[str, str] | None = None) -> dt.date:
    """Today, or the date of SOURCE_DATE_EPOCH when set (reproducible builds)."""
    value = (env if env is not None else os.environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return dt.date.today()
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC).date()
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"SOURCE_DATE_EPOCH={value!r} is not a Unix timestamp", field="SOURCE_DATE_EPOCH"
        ) from None


def check_out_dir(root: Path, out: Path) -> Path:
    """The resolved OUT, or UsageError when writing there could harm the knowledge root."""
    out = Path(out)
    if out.is_symlink():
        raise UsageError("OUT is a symlink; pass a real directory", path=out)
    target = out.resolve()
    root = root.resolve()
    if target == root or root.is_relative_to(target):
        raise UsageError("OUT would replace the knowledge root", path=out)
    for name in _PROTECTED:
        if target.is_relative_to(root / name):
            raise UsageError(f"OUT lies inside {name}/, which holds the knowledge", path=out)
    if target.exists():
        if not target.is_dir():
            raise UsageError("OUT exists and is not a directory", path=out)
        if any(target.iterdir()) and not (target / MARKER).is_file():
            raise UsageError(
                f"OUT is a non-empty directory that no site build made (no {MARKER}); "
                "empty it or pick another",
                path=out,
            )
    return target


def _check_base_url(base_url: str | None) -> str | None:
    if base_url is None or base_url == "":
        return None
    if not (_BASE_PATH_RE.fullmatch(base_url) or _BASE_URL_RE.fullmatch(base_url)):
        raise UsageError(
            f"{base_url[:200]!r} is neither an http(s) URL with a host nor a path starting with "
            "a single /",
            field="--base-url",
        )
    return base_url if base_url.endswith("/") else base_url + "/"


class _Writer:
    """Pages rendered into a dict first: the site is only written once all of it rendered."""

    def __init__(self, base_url: str | None, title: str):
        self.files: dict[str, bytes] = {}
        self.base_url = base_url
        self.title = title

    def page(self, path: str, template: str, title: str, section: str, **context: Any) -> None:
        depth = path.count("/")
        frame = {
            "path": path,
            "title": title,
            "root": "../" * depth,
            "canonical": f"{self.base_url}{path}" if self.base_url else None,
        }
        nav = [{"text": text, "url": url, "active": key == section} for text, url, key in NAV]
        html = render(
            template,
            {"page": frame, "site": {"name": self.title, "version": __version__}, "nav": nav}
            | context,
        )
        self.files[path] = html.encode("utf-8")


def _dedupe(source: SiteSource) -> None:
    """One page per id: the first path in sorted order wins, as in every other reader."""
    seen: dict[str, str] = {}
    kept = []
    for doc in source.documents:
        if doc.id in seen:
            source.problems.append(
                Problem(
                    path=doc.path,
                    code="duplicate-id",
                    severity="warning",
                    message=f"id {doc.id} is also {seen[doc.id]}; not shown",
                )
            )
            continue
        seen[doc.id] = doc.path
        kept.append(doc)
    source.documents = kept


def render_site(
    workspace: Workspace, *, base_url: str | None = None, today: dt.date, title: str
) -> tuple[dict[str, bytes], SiteBuild]:
    """Every file of the site (path -> bytes) and the counts; writes nothing."""
    source = collect(workspace)
    _dedupe(source)
    site = SiteMap(source)
    pages = {doc.id: doc.page for doc in source.documents}
    graph = Graph(pages)
    badges = page_badges(pages, workspace.root, today, graph)
    writer = _Writer(base_url, title)
    entries: list[SearchEntry] = []
    result = SiteBuild(out="")

    for doc in source.documents:
        path, ctx = knowledge_page(doc, graph, badges.get(doc.id, []), site, today)
        writer.page(path, "knowledge_page.html.j2", doc.page.title, "knowledge", doc=ctx)
        text = " ".join([doc.id, doc.page.summary, " ".join(doc.page.tags), doc.page.body])
        kind = doc.page.type.value
        entries.append(SearchEntry(doc.page.title, path, kind, doc.page.summary, text))
    writer.page(
        "knowledge/index.html",
        "knowledge_index.html.j2",
        "Knowledge",
        "knowledge",
        groups=knowledge_index(source.documents, badges, site, today),
    )

    views = matrix_views(
        workspace.root,
        {exp.slug: exp.model.name for exp in source.experiments},
        {(exp.slug, r.matrix_id) for exp in source.experiments for r in exp.reports},
    )
    grids: dict[str, list[Link]] = {}
    cell_of_run: dict[str, str] = {}
    for view in views:
        title = f"Matrix {view.matrix_id}"
        writer.page(view.path, "matrix.html.j2", title, "matrices", m=view.context)
        grids.setdefault(view.slug, []).append(Link(view.matrix_id, view.path))
        cell_of_run.update(view.cell_of_run)
    writer.page(
        "matrices/index.html",
        "matrices_index.html.j2",
        "Matrices",
        "matrices",
        rows=matrix_index_rows(views),
    )

    for exp in source.experiments:
        path, ctx = experiment_page(exp, site, source.experiments, grids.get(exp.slug, []))
        writer.page(path, "experiment.html.j2", exp.model.name, "experiments", exp=ctx)
        text = " ".join([exp.model.id, exp.model.hypothesis, exp.model.body])
        entries.append(SearchEntry(exp.model.name, path, "experiment", exp.model.hypothesis, text))
        for test in exp.tests:
            model = test.model
            url = site.by_id[model.id]
            text = " ".join([model.id, model.details, model.body])
            entries.append(SearchEntry(model.name, url, "test", model.details, text))
        for run in exp.runs:
            path, ctx = run_page(run, site, cell_of_run.get(run.record.id))
            writer.page(path, "run.html.j2", run.record.id, "experiments", run=ctx)
            record = run.record
            final = (record.matrix.transcript or {}).get("finalAnswer") if record.matrix else None
            parts = [record.id, record.task, record.agent, record.model, record.condition]
            parts += [record.outcome.value if record.outcome else None, record.body, final]
            text = " ".join(str(p) for p in parts if p)
            matrix_id = record.matrix.id if record.matrix else ""
            where = (
                matrix_url(exp.slug, matrix_id) if matrix_id else experiment_url(exp.slug) + "#runs"
            )
            group = group_key(exp.slug, matrix_id, record.task)
            entries.append(SearchEntry(record.id, path, "run", record.task, text, group, where))
        for report in exp.reports:
            grid = next((g for g in grids.get(exp.slug, []) if g.text == report.matrix_id), None)
            path, ctx = report_page(report, exp, site, grid)
            name = report_title(report)
            writer.page(path, "report.html.j2", name, "reports", report=ctx)
            text = f"{report.matrix_id} {exp.model.name} {searchable(report.body)}"
            entries.append(SearchEntry(name, path, "report", exp.model.name, text))
    writer.page(
        "experiments/index.html",
        "experiments_index.html.j2",
        "Experiments",
        "experiments",
        tree=experiment_tree(source.experiments),
    )
    reports = report_index_rows(source.experiments)
    writer.page("reports/index.html", "reports_index.html.j2", "Reports", "reports", rows=reports)
    writer.page("search.html", "search.html.j2", "Search", "search")
    attention = [
        {"link": site.link(page_id, pages[page_id].title), "badges": [b.__dict__ for b in items]}
        for page_id, items in sorted(badges.items())
    ]
    result.knowledge = len(source.documents)
    result.experiments = len(source.experiments)
    result.runs = sum(len(e.runs) for e in source.experiments)
    result.reports = len(reports)
    writer.page(
        "index.html",
        "index.html.j2",
        "Overview",
        "home",
        counts={
            "knowledge pages": result.knowledge,
            "experiments": result.experiments,
            "tests": sum(len(e.tests) for e in source.experiments),
            "runs": result.runs,
            "reports": result.reports,
        },
        tree=experiment_tree(source.experiments),
        reports=reports,
        matrices=matrix_index_rows(views),
        attention=attention,
        problems=[p.model_dump() for p in source.problems],
    )
    result.pages = len(writer.files)
    files = dict(writer.files)
    files.update(source.assets)
    files[INDEX_PATH] = index_script(entries)
    package = resources.files("experimentos.site") / "assets"
    for name in ASSETS:
        files[f"assets/{name}"] = (package / name).read_bytes()
    files[MARKER] = b"Made by `experimentos site build`; the next build replaces this directory.\n"
    if base_url and base_url.startswith("http"):
        files["sitemap.xml"] = _sitemap(base_url, sorted(writer.files))
    result.problems = source.problems
    result.files = len(files)
    result.bytes = sum(len(b) for b in files.values())
    return files, result


def _sitemap(base_url: str, paths: list[str]) -> bytes:
    from xml.sax.saxutils import escape

    urls = "".join(f"  <url><loc>{escape(base_url + p)}</loc></url>\n" for p in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}</urlset>\n"
    ).encode()


def write_tree(directory: Path, files: dict[str, bytes]) -> None:
    """Write `files` under `directory` (world-readable, as a web server needs)."""
    for rel in sorted(files):
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])
        target.chmod(0o644)
    for sub in [directory, *sorted(p for p in directory.rglob("*") if p.is_dir())]:
        sub.chmod(0o755)


def swap_in(new: Path, out: Path) -> None:
    """Put the finished directory `new` at `out`; the old site goes only once the new is there."""
    if not out.exists():
        os.rename(new, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.rename(out, old / "site")
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(old / "site", out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_site(
    workspace: Workspace,
    out: Path | str,
    *,
    base_url: str | None = None,
    today: dt.date | None = None,
    title: str = "experimentos",
) -> SiteBuild:
    """Build the site from the knowledge root into `out`, atomically."""
    target = check_out_dir(workspace.root, Path(out))
    base = _check_base_url(base_url)
    files, result = render_site(workspace, base_url=base, today=today or source_date(), title=title)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
    try:
        write_tree(tmp, files)
        swap_in(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    result.out = str(target)
    return result
