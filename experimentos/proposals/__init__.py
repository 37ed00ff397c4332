"""Proposals: every knowledge change as a reviewable branch (and pull request).

A proposal applies page changes on a new branch `xos/<kind>/<slug>` in a private worktree
started from the base branch, commits there with a structured message (what changed, why,
evidence ids), and never touches the user's checked-out branch, index or working tree.
"""

from experimentos.proposals.changes import (
    GeneratedFile,
    NewPage,
    PageChange,
    PageEdit,
    PageFile,
    StatusChange,
)
from experimentos.proposals.create import (
    propose,
    propose_files,
    propose_new_page,
    propose_page,
    propose_status,
)
from experimentos.proposals.models import (
    FieldChange,
    FileChange,
    PageDiff,
    Proposal,
    ProposalDetail,
    ProposalSummary,
    PullRequest,
    PushResult,
    Transition,
)
from experimentos.proposals.push import github_repo, push_proposal
from experimentos.proposals.review import list_proposals, show_proposal

__all__ = [
    "FieldChange",
    "FileChange",
    "GeneratedFile",
    "NewPage",
    "PageChange",
    "PageDiff",
    "PageEdit",
    "PageFile",
    "Proposal",
    "ProposalDetail",
    "ProposalSummary",
    "PullRequest",
    "PushResult",
    "StatusChange",
    "Transition",
    "github_repo",
    "list_proposals",
    "propose",
    "propose_files",
    "propose_new_page",
    "propose_page",
    "propose_status",
    "push_proposal",
    "show_proposal",
]
