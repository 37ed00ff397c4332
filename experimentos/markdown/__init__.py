"""Markdown written from text this tool does not control (records, refs, file names).

escape   per-context escaping: prose and table cells, code spans, lines, inline SVG text
"""
