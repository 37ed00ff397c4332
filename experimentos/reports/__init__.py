"""Matrix reports: ground-truth metrics per run, honest statistics, deterministic Markdown.

    rows.py      one row per matrix run (cached by content hash under .experimentos/)
    sources.py   the working tree, or the tree of a git revision (`ID@REV`)
    load.py      runs grouped into matrices; what the spec expects
    analysis.py  rates, means, paired deltas, page attribution, pass@k: the library API
    render.py    Markdown with YAML frontmatter and inline SVG charts (one Jinja environment)
    build.py     `report build [--check]`
    compare.py   `report compare A B` and `report summary`

The library API for other parts (e.g. a promotion gate): `paired_delta`, `page_attribution`,
`results_for`, `load_rows`/`open_source`.
"""
