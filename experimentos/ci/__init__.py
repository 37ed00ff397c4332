"""What the GitHub workflows call (.github/workflows/): the logic lives here, not in YAML.

- publish: regenerated reports (reports.yml) and merged matrix results (matrix.yml) as pull
  requests through the proposals code, never a push to the default branch;
- comment: `report compare` for the reports a pull request changes, as one comment updated in
  place (pr-comment.yml);
- plan: experiment and shards of a sharded matrix run (matrix.yml).
"""

from experimentos.ci.comment import MARKER, PrComment, Target, pr_comment, upsert_comment
from experimentos.ci.plan import MatrixPlan, plan_matrix
from experimentos.ci.publish import (
    Published,
    changed_files,
    publish,
    publish_reports,
    publish_results,
)

__all__ = [
    "MARKER",
    "MatrixPlan",
    "PrComment",
    "Published",
    "Target",
    "changed_files",
    "plan_matrix",
    "pr_comment",
    "publish",
    "publish_reports",
    "publish_results",
    "upsert_comment",
]
