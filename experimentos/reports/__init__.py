"""Matrix reports: ground-truth metrics per run, honest statistics, deterministic Markdown.

    rows.py      one row per matrix run (cached by content hash under .experimentos/)
    sources.py   the working tree, or the tree of a git revision (`ID@REV`)
    load.py      runs grouped into matrices; what the spec expects
    analysis.py  rates, means, paired deltas, page attribution, pass@k: the library API
    render.py    Markdown with YAML frontmatter and inline SVG charts (one Jinja environment)
    charts.py    bar and whisker geometry for the SVG template
    build.py     `report build [--check]`
    compare.py   `report compare A B` and `report summary`
    answer.py    the small structured answer of the MCP tool `get_matrix_results`

The per-run metrics themselves are experimentos.matrix.metrics (the runner stores them too).

Library API for other parts (e.g. a promotion gate):

    from experimentos.reports.analysis import paired_delta, page_attribution
    from experimentos.reports.load import find_matrix
    from experimentos.reports.sources import open_source

    rows = find_matrix(open_source(root, rev=None), "brief-helps").rows
    d = paired_delta(rows, "clean_pass", "none", "brief", fixtures=["drizzle-pin"])
    d.delta, d.result.low, d.result.high, d.p_value, d.underpowered, d.repeats_needed
    a = page_attribution(rows, "policy.keep-pins")        # brief-without:<page> - brief
"""
