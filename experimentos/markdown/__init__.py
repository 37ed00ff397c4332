"""Markdown written from text this tool does not control (records, refs, file names).

escape   per-context escaping: prose and table cells, code spans, lines, inline SVG text
         (Markdown people read rendered: reports, the pull-request comment)
raw      page text as data in Markdown agents read raw (briefs): only what would open a
         heading, list item, fence or section is escaped, so code spans and snake_case stay
         readable and cost no extra tokens
"""
