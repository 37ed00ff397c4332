"""The tools' parameters: one description (and examples) per name, so every tool that takes a
`run_id` or an `agent` says the same thing, and closed sets are enums a client can see.

Examples name pages and experiments of the starter knowledge (`experimentos demo`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from experimentos.briefs.models import MAX_BUDGET, MAX_DEPTH
from experimentos.models.knowledge import PageType, Status
from experimentos.models.lab import ExperimentKind, ExperimentStatus, RunOutcome
from experimentos.models.names import parse_condition


def _p(description: str, *examples: object, **limits: object) -> object:
    return Field(description=description, examples=list(examples) or None, **limits)


Task = Annotated[
    str,
    _p(
        "What you are about to do, in your own words.",
        "Bump drizzle-kit to fix the migration default",
    ),
]
Repo = Annotated[
    str | None,
    _p("Your repository (its manifests are read): absolute, or relative to the knowledge root."),
]
Libraries = Annotated[list[str] | None, _p("Libraries the task involves.", ["drizzle-kit"])]
Files = Annotated[
    list[str] | None, _p("Repository-relative files the task touches.", ["src/db/schema.ts"])
]
Agent = Annotated[str | None, _p("Your agent (appliesTo.agent).", "claude-code")]
Model = Annotated[str | None, _p("Your model (appliesTo.model).", "claude-sonnet-4-5")]
Toolchain = Annotated[str | None, _p("Your toolchain (appliesTo.toolchain).", "shell")]
RepoType = Annotated[str | None, _p("The repository's kind (appliesTo.repo_type).", "python_cli")]
Budget = Annotated[int, _p("Token budget of the brief.", ge=1, le=MAX_BUDGET)]
Depth = Annotated[int, _p("How many dependsOn hops to load.", ge=0, le=MAX_DEPTH)]
RunId = Annotated[
    str,
    _p("The run id from record_run_start or start_pre_work_protocol.", "run.20260426-1015-ab12"),
]
OptionalRunId = Annotated[
    str | None,
    _p("Your run id, if any: the call is recorded in that run."),
]
PageId = Annotated[str, _p("A page id.", "policy.keep-drizzle-kit-pin-verify-locally")]
PageIds = Annotated[
    list[str] | None,
    _p(
        "Pages (e.g. policies) the decision follows.",
        ["policy.keep-drizzle-kit-pin-verify-locally"],
    ),
]
ExperimentSlug = Annotated[str, _p("An experiment, by slug or id.", "scripted-brief-matrix")]
ExperimentFilter = Annotated[
    str | None, _p("Only this experiment (slug or id).", "scripted-brief-matrix")
]
MatrixId = Annotated[str, _p("A matrix id, or <experiment>/<id>.", "scripted-brief-matrix")]
Query = Annotated[str, _p("What to look for, in words.", "apostrophes break my shell command")]
SearchMode = Annotated[
    Literal["hybrid", "vector", "fts"],
    _p("hybrid: full-text and vectors fused; vector: meaning only; fts: words only."),
]
Limit = Annotated[int, _p("At most this many pages.", ge=1, le=100)]
TypeFilter = Annotated[PageType | None, _p("Only pages of this type.")]
StatusFilter = Annotated[Status | None, _p("Only pages with this status.")]
Library = Annotated[str | None, _p("Only pages for this library (appliesTo).", "drizzle-kit")]
KindFilter = Annotated[ExperimentKind | None, _p("Only experiments of this kind.")]
ExperimentStatusFilter = Annotated[
    ExperimentStatus | None, _p("Only experiments with this status.")
]
ParentFilter = Annotated[str | None, _p("Only children of this experiment (slug or id).")]
Verdict = Annotated[
    Literal["passed", "failed", "unset"] | None,
    _p("Only tests with this verdict (unset: not evaluated yet)."),
]
AssertionKind = Annotated[
    Literal["metric_threshold", "run_outcome", "manual", "condition_delta"] | None,
    _p("Only tests whose assertion is of this kind."),
]
TestId = Annotated[
    str, _p("A test id, test.<experiment>.<test>.", "test.scripted-brief-matrix.clean")
]


def _condition(value: str | None) -> str | None:
    return None if value is None else parse_condition(value).text


Condition = Annotated[
    str | None,
    AfterValidator(_condition),  # one of the matrix's condition kinds, refused otherwise
    _p(
        "The experimental condition: none, brief, brief-without:<page-id> or knowledge@<rev>.",
        "brief",
    ),
]
BriefId = Annotated[str | None, _p("The brief you were given.", "brief.0123456789abcdef")]
Outcome = Annotated[RunOutcome | None, _p("Whether the task was accomplished.")]
EndStatus = Annotated[
    Literal["finished", "failed", "aborted"],
    _p("finished: the run ran to its end; failed: it broke; aborted: stopped on purpose."),
]
