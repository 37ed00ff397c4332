"""What the GitHub workflows call (.github/workflows/): the logic lives here, not in YAML.

- publish: regenerated reports onto a pull request's branch (sync_reports), the one reports
  pull request of a branch (publish_reports), merged matrix results (publish_results), never
  a push to the default branch; checks dispatched where GitHub starts none;
- numbers: what a results pull request and its comment say (headlines, changed report rows);
- comment: the pull-request comments (results, brief impact), built read-only and posted
  from a workflow_run job;
- plan: experiment, repeats and shards of a sharded matrix run (only what is missing);
- github: the few REST calls; commit: commits onto a given commit in a private worktree.
"""

from experimentos.ci.comment import (
    IMPACT_MARKER,
    MARKER,
    PrComment,
    build_comments,
    post_comment,
    pr_comment,
)
from experimentos.ci.github import Repository, upsert_comment
from experimentos.ci.plan import MatrixPlan, plan_matrix
from experimentos.ci.publish import (
    Published,
    changed_files,
    publish_reports,
    publish_results,
    sync_reports,
)

__all__ = [
    "IMPACT_MARKER",
    "MARKER",
    "MatrixPlan",
    "PrComment",
    "Published",
    "Repository",
    "build_comments",
    "changed_files",
    "plan_matrix",
    "post_comment",
    "pr_comment",
    "publish_reports",
    "publish_results",
    "sync_reports",
    "upsert_comment",
]
