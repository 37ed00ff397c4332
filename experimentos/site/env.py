"""The site's one Jinja2 environment: autoescape on, StrictUndefined, filters registered here.

Templates receive contexts built in Python (experimentos/site/pages.py) and hold no logic
beyond loops and presence checks. Every URL in a context is relative to the site root; the
`rel` filter turns it into a link relative to the page being rendered, so the site works from
file:// and from any sub-path.
"""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
from typing import Any

import jinja2


def relative(from_page: str, target: str) -> str:
    """`target` (root-relative, optionally with #fragment) as seen from the page `from_page`."""
    path, hashmark, fragment = target.partition("#")
    if not path:
        return f"#{fragment}" if hashmark else ""
    here = posixpath.dirname(from_page) or "."
    rel = posixpath.relpath(path, here)
    return rel + (f"#{fragment}" if hashmark else "")


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
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) or "—"
    return str(value)


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
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
