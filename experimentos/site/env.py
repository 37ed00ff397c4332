"""The site's one Jinja2 environment: autoescape on, StrictUndefined, filters registered here.

Templates receive contexts built in Python (experimentos/site/pages.py) and hold no logic
beyond loops and presence checks. Every URL in a context is relative to the site root; the
`rel` filter turns it into a link relative to the page being rendered, so the site works from
file:// and from any sub-path.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import jinja2


def relative(from_page: str, target: str) -> str:
    """`target` (root-relative, optionally with #fragment) as seen from the page `from_page`.

    Both are site paths without `..` (posixpath.relpath would do, at the cost of a getcwd per
    link; a site has tens of thousands of links)."""
    path, hashmark, fragment = target.partition("#")
    suffix = f"#{fragment}" if hashmark else ""
    if not path:
        return suffix
    here = from_page.split("/")[:-1]
    there = path.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    return "../" * (len(here) - common) + "/".join(there[common:]) + suffix


@jinja2.pass_context
def _rel(context: jinja2.runtime.Context, target: str) -> str:
    return relative(context["page"]["path"], target)


def fmt(value: Any) -> str:
    """A value as the site prints it: stable, short, the same on every machine."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dt.datetime):  # to the second: finer is noise on a page
        return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) or "—"
    return str(value)


def verdict(value: bool | None) -> str:
    """pass, fail, or unset (not evaluated): also the CSS class of the verdict."""
    return "unset" if value is None else ("pass" if value else "fail")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("experimentos.site", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["rel"] = _rel
    env.filters["fmt"] = fmt
    env.filters["verdict"] = verdict
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
