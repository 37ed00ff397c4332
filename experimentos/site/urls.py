"""Where each thing lives in the site, and how a reference or a relative link finds it.

Every URL here is relative to the site root; templates make it relative to the page.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from experimentos.site.collect import SiteSource
from experimentos.site.env import relative
from experimentos.site.markdown import WIKI_PREFIX, Resolver

_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_EXTERNAL_RE = re.compile(r"^(?:https?://|mailto:)", re.I)


def page_url(page_id: str) -> str:
    return f"knowledge/{page_id}.html"


def experiment_url(slug: str) -> str:
    return f"experiments/{slug}/index.html"


def run_url(slug: str, run_id: str) -> str:
    return f"experiments/{slug}/runs/{run_id}.html"


def report_url(slug: str, matrix_id: str) -> str:
    return f"experiments/{slug}/results/{matrix_id}.html"


def matrix_url(slug: str, matrix_id: str) -> str:
    """The grid of one matrix's runs (fixture x condition x agent)."""
    return f"experiments/{slug}/matrices/{matrix_id}.html"


def test_anchor(test_slug: str) -> str:
    return f"test-{test_slug}"


@dataclass(frozen=True)
class Link:
    """A link a template shows: `url` is root-relative; a missing target is shown, not linked."""

    text: str
    url: str = ""
    missing: bool = False
    note: str = ""


class SiteMap:
    """Ids and source paths -> site URLs, for one build."""

    def __init__(self, source: SiteSource):
        self.by_id: dict[str, str] = {}
        self.by_path: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        for doc in source.documents:
            url = page_url(doc.id)
            self.by_id.setdefault(doc.id, url)
            self.by_path[doc.path] = url
            self.titles.setdefault(doc.id, doc.page.title)
        for exp in source.experiments:
            url = experiment_url(exp.slug)
            self.by_id[exp.model.id] = url
            self.by_path[exp.path] = url
            self.titles[exp.model.id] = exp.model.name
            for test in exp.tests:
                anchor = f"{url}#{test_anchor(test.model.slug)}"
                self.by_id[test.model.id] = anchor
                self.by_path[test.path] = anchor
                self.titles[test.model.id] = test.model.name
            for run in exp.runs:
                url_run = run_url(exp.slug, run.record.id)
                self.by_id.setdefault(run.record.id, url_run)
                self.by_path[run.path] = url_run
            for report in exp.reports:
                self.by_path[report.path] = report_url(exp.slug, report.matrix_id)
        for rel in source.assets:
            self.by_path[rel] = rel

    def link(self, ref: str, text: str | None = None) -> Link:
        """A link to the page, experiment, test or run with this id."""
        url = self.by_id.get(ref)
        label = text or ref
        if url is None:
            return Link(label, missing=True, note=f"{ref} is not in this knowledge base")
        return Link(label, url)

    def resolver(self, page: str, source_path: str) -> Resolver:
        """How links in the Markdown of `source_path`, shown on site page `page`, resolve."""
        base = posixpath.dirname(source_path)

        def resolve(href: str) -> str | None:
            href = href.strip()
            if href.startswith(WIKI_PREFIX):
                url = self.by_id.get(href[len(WIKI_PREFIX) :])
                return relative(page, url) if url else None
            if href.startswith("#"):
                return href
            if _EXTERNAL_RE.match(href):
                return href
            if not href or _SCHEME_RE.match(href) or href.startswith("/"):
                return None
            path, hashmark, fragment = href.partition("#")
            target = posixpath.normpath(posixpath.join(base, path.split("?", 1)[0]))
            url = self.by_path.get(target)
            if url is None:
                return None
            if hashmark and "#" not in url:
                url = f"{url}#{fragment}"
            return relative(page, url)

        return resolve
