"""MkDocs hooks: the command reference (docs/cli.md) is rendered from the CLI at build time."""

from __future__ import annotations


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001, ARG001
    from experimentos.cli.reference import MARKER, cli_reference

    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
