"""Inline SVG charts from report files, kept through an allowlist; everything else is escaped.

Reports carry their charts as inline `<svg>` (issue 13). The files are hostile like any other:
only drawing elements and presentation attributes survive, no scripts, no event handlers, no
styles, no links, no references outside the document (`url(#id)` only).
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "rect",
        "line",
        "polyline",
        "polygon",
        "path",
        "circle",
        "ellipse",
        "text",
        "tspan",
        "lineargradient",
        "stop",
        "clippath",
    }
)
ATTRIBUTES = frozenset(
    {
        "xmlns",
        "version",
        "viewbox",
        "preserveaspectratio",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "dx",
        "dy",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "d",
        "points",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-dasharray",
        "stroke-linecap",
        "stroke-linejoin",
        "opacity",
        "offset",
        "stop-color",
        "stop-opacity",
        "clip-path",
        "font-size",
        "font-family",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "alignment-baseline",
        "vector-effect",
        "class",
        "id",
        "role",
        "aria-label",
        "aria-labelledby",
        "aria-hidden",
        "focusable",
    }
)
_VOID = frozenset({"rect", "line", "polyline", "polygon", "path", "circle", "ellipse", "stop"})
# HTML elements that never hold content: dropping one must not swallow what follows it.
_EMPTY = _VOID | {
    "img",
    "br",
    "hr",
    "input",
    "meta",
    "link",
    "source",
    "embed",
    "area",
    "base",
    "col",
    "wbr",
    "param",
    "track",
    "image",
    "use",
}
_URL_RE = re.compile(r"url\s*\(", re.I)
_LOCAL_URL_RE = re.compile(r"^url\(#[A-Za-z0-9_.:-]+\)$")
SVG_BLOCK_RE = re.compile(r"<svg\b.*?</svg\s*>", re.I | re.S)


def _value_ok(value: str) -> bool:
    if _URL_RE.search(value):
        return bool(_LOCAL_URL_RE.fullmatch(value.strip()))
    return "javascript:" not in value.lower() and "\x00" not in value


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skip = 0  # depth inside a dropped element: its text is dropped too

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip or tag not in ELEMENTS:
            if tag not in _EMPTY:
                self.skip += 1
            return
        kept = "".join(
            f' {name}="{escape(value or "", quote=True)}"'
            for name, value in attrs
            if name in ATTRIBUTES and _value_ok(value or "")
        )
        self.out.append(f"<{tag}{kept}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip or tag not in ELEMENTS:
            return
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag not in _EMPTY:
                self.skip -= 1
            return
        if tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skip and self.open:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def sanitize_svg(markup: str) -> str:
    """The SVG with only allowlisted elements and attributes; text escaped."""
    parser = _Sanitizer()
    parser.feed(markup)
    return parser.result()
