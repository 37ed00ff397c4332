"""Markdown bodies to HTML with markdown-it-py: raw HTML escaped, links resolved or dropped.

markdown-it-py is CommonMark-exact, pure Python, already installed with typer (through rich), and
lets a rule rewrite link tokens before rendering; raw HTML in a file is escaped (`html: False`).
Every link is resolved by the page that renders it: `[[page-id]]`, relative paths to files that
have a page in the site, `#fragments`, and http(s)/mailto URLs survive; anything else becomes
plain text, so the site never holds a dead internal link. Bare http(s) URLs in text become
links too (linkify, without fuzzy hosts: `README.md` is a file name, not a domain). Report charts
(`<svg>…</svg>`) are lifted out before parsing and put back through the SVG allowlist.

Every site page carries its title as its only `<h1>`: a body that opens with the same title as
a level-1 heading loses that heading, and any other level-1 heading in a body is a section
(`<h2>`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from markupsafe import Markup

from experimentos.site.svg import SVG_BLOCK_RE, sanitize_svg

Resolver = Callable[[str], str | None]

WIKI_PREFIX = "xos-ref:"
_WIKI_RE = re.compile(r"\[\[([a-z][a-z_]*\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?:\|([^\]\n]*))?\]\]")
_EXTERNAL_RE = re.compile(r"^(?:https?:|mailto:)", re.I)
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARK_RE = re.compile(f"(?:<p>)?{_MARK_OPEN}(\\d+){_MARK_CLOSE}(?:</p>)?")


def _wiki_link(state, silent: bool) -> bool:  # noqa: ANN001 - markdown-it StateInline
    """Inline rule: [[page-id]] and [[page-id|label]] become links to the page."""
    if not state.src.startswith("[[", state.pos):
        return False
    match = _WIKI_RE.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        target, label = match.group(1), match.group(2)
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": WIKI_PREFIX + target}
        text = state.push("text", "", 0)
        text.content = (label or "").strip() or target
        state.push("link_close", "a", -1)
    state.pos = match.end()
    return True


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _one_title(state) -> None:  # noqa: ANN001 - markdown-it StateCore
    """Core rule: drop a leading h1 that repeats the page's title; other h1s become h2."""
    tokens = state.tokens
    title = state.env.get("title")
    if (
        title
        and len(tokens) >= 3
        and tokens[0].type == "heading_open"
        and tokens[0].tag == "h1"
        and _words(_plain(tokens[1])) == _words(title)
    ):
        del tokens[:3]
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"


def _plain(inline) -> str:  # noqa: ANN001 - markdown-it Token
    return "".join(child.content for child in inline.children or [])


def _resolve_links(state) -> None:  # noqa: ANN001 - markdown-it StateCore
    """Core rule: every link and image goes through the page's resolver."""
    resolve: Resolver = state.env["resolve"]
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children = []
        dead = False
        for token in block.children:
            if token.type == "link_open":
                href = str(token.attrs.get("href", ""))
                target = resolve(href)
                if target is None:
                    token.tag, token.attrs = "span", {"class": "dead-link", "title": href}
                    dead = True
                else:
                    token.attrs["href"] = target
                    if _EXTERNAL_RE.match(target):
                        token.attrs["rel"] = "noopener noreferrer"
                        token.attrs["class"] = "external"
            elif token.type == "link_close" and dead:
                token.tag, dead = "span", False
            elif token.type == "image":
                src = resolve(str(token.attrs.get("src", "")))
                if src is None or _EXTERNAL_RE.match(src):
                    # External images would load from the network; missing ones would 404.
                    token.type, token.tag, token.attrs = "text", "", {}
                    token.content = f"[image: {token.content}]"
                    token.children = None
                else:
                    token.attrs["src"] = src
            children.append(token)
        block.children = children


# Without fuzzy hosts, linkify finds only URLs with a scheme (or `//`): a body without one skips
# the rule, whose regexes would otherwise run on every text token (a tenth of a site build).
_MAY_LINKIFY_RE = re.compile(r"//|mailto:", re.I)


@functools.cache
def _parser(linkify: bool = True):  # noqa: ANN202 - markdown_it.MarkdownIt, imported lazily
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": linkify, "typographer": False})
    md.enable(["table", "strikethrough"])
    if linkify:
        md.enable("linkify")
        # Scheme-less "hosts" would turn README.md (.md is a TLD) and x.config.ts into links.
        md.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
    md.inline.ruler.before("link", "xos_wiki_link", _wiki_link)
    md.core.ruler.push("xos_one_title", _one_title)
    md.core.ruler.push("xos_resolve_links", _resolve_links)
    # A table scrolls in its own box rather than widening the page (a phone, a wide report).
    md.add_render_rule("table_open", lambda *a: '<div class="table-wrap">\n<table>\n')
    md.add_render_rule("table_close", lambda *a: "</table>\n</div>\n")
    return md


def render_markdown(
    text: str, resolve: Resolver, *, keep_svg: bool = False, title: str | None = None
) -> Markup:
    """HTML for a Markdown body of the page titled `title`; with keep_svg, inline <svg> charts
    survive the allowlist."""
    text = text.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
    charts: list[str] = []
    if keep_svg:

        def lift(match: re.Match) -> str:
            charts.append(sanitize_svg(match.group(0)))
            return f"{_MARK_OPEN}{len(charts) - 1}{_MARK_CLOSE}"

        text = SVG_BLOCK_RE.sub(lift, text)
    parser = _parser(bool(_MAY_LINKIFY_RE.search(text)))
    html = parser.render(text, {"resolve": resolve, "title": title})
    if charts:
        html = _MARK_RE.sub(
            lambda m: f'<figure class="chart">{charts[int(m.group(1))]}</figure>', html
        )
    return Markup(html)
