"""Brief impact: how a knowledge change alters the briefs agents get, task by task.

run.py      the tasks (fixtures' and experimentos.toml's), the base's knowledge in a
            private temp directory, every brief compiled at both sides
diff.py     two briefs of one task compared: rules added, removed, demoted, cut or
            compacted; pages, conflicts, warnings, tokens; the Markdown diff
render.py   Markdown for the CLI and the pull-request comment (within its size limit)
"""

from experimentos.impact.run import Impact, TaskImpact, TaskSpec, brief_impact, impact_tasks

__all__ = ["Impact", "TaskImpact", "TaskSpec", "brief_impact", "impact_tasks"]
