"""The schema the whole package stands on: pydantic models and the problems they report.

knowledge.py  pages (format 1): ids, slugs, types, statuses, appliesTo, reviews, Problem
lab.py        experiments, tests, run records and their timestamps
events.py     the run event contract (one JSON object per line of <run-id>.events.jsonl)
fixture.py    a fixture's manifest (fixture.yaml)

Nothing here imports another part of experimentos except experimentos.errors; the JSON Schemas
under schemas/ are generated from these models.
"""
