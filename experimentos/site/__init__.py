"""The static site: knowledge pages, experiments, runs and matrix reports as HTML, from files.

`build_site(workspace, out)` renders everything with one Jinja2 environment (site/env.py) into
a temp directory and swaps it in; see site/build.py.
"""

from experimentos.site.badges import Badge, page_badges
from experimentos.site.build import SiteBuild, build_site, render_site, source_date

__all__ = ["Badge", "SiteBuild", "build_site", "page_badges", "render_site", "source_date"]
