"""The brief: what a request asks for, what was selected and why, and what the agent receives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from experimentos.errors import UsageError
from experimentos.repofacts.facts import LocalVersion, ManifestProblem

Boundary = Literal["decision_capable", "domain_context", "evidence_only"]
BOUNDARIES: tuple[Boundary, ...] = ("decision_capable", "domain_context", "evidence_only")
# How much of a page the Markdown shows: all of it; for a rule, its compact form (the rule
# sentence, forbidden actions and required checks, and a get_page pointer), or its line form
# (the same without the checks); for another page, its summary; or a reference (its heading) to
# read with get_page. A rule degrades full -> compact -> line before it is left out.
Form = Literal["full", "compact", "line", "ref"]
FORMS: tuple[Form, ...] = ("ref", "line", "compact", "full")  # least to most
CONTEXT_VERSION = "agent_work_context.v1"
BRIEF_ID_RE = re.compile(r"^brief\.[0-9a-f]{16}$")
MAX_TASK_CHARS = 8000
MAX_BUDGET = 200_000
# The smallest budget a brief can keep: its header (a digest of the task), one line of local
# facts, one line counting the knowledge warnings, one line counting what was left out, and the
# completion contract, each bounded in tokens whatever the request and the knowledge hold.
MIN_BUDGET = 200
MAX_DEPTH = 10
DEFAULT_BUDGET = 2000
DEFAULT_DEPTH = 2


class BriefRequest(BaseModel):
    """The inputs of a brief; with the knowledge content they decide its id."""

    task: str
    repo: str | None = None
    libraries: list[str] = Field(default_factory=list)
    agent: str | None = None
    model: str | None = None
    toolchain: str | None = None
    repo_type: str | None = None
    files: list[str] = Field(default_factory=list)
    budget: int = DEFAULT_BUDGET
    depth: int = DEFAULT_DEPTH

    def checked(self) -> BriefRequest:
        """A normalised copy; raises UsageError naming the field that is wrong."""
        task = " ".join(self.task.split()) if isinstance(self.task, str) else ""
        if not task:
            raise UsageError(
                "the task is empty; describe what the agent is about to do", field="task"
            )
        if len(task) > MAX_TASK_CHARS:
            raise UsageError(f"the task is longer than {MAX_TASK_CHARS} characters", field="task")
        if not MIN_BUDGET <= self.budget <= MAX_BUDGET:
            raise UsageError(
                f"budget must be between {MIN_BUDGET} tokens (the smallest brief: its header, "
                f"a line of local facts, the counts of warnings and of what was left out, and "
                f"the completion contract) and {MAX_BUDGET}, not {self.budget}",
                field="budget",
            )
        if not 0 <= self.depth <= MAX_DEPTH:
            raise UsageError(
                f"depth must be between 0 and {MAX_DEPTH}, not {self.depth}", field="depth"
            )

        if self.repo is not None and "\x00" in self.repo:
            raise UsageError("repo holds a NUL character, which no path can", field="repo")

        def clean(values: list[str], name: str) -> list[str]:
            out = []
            for value in values:
                value = value.strip()
                if not value:
                    raise UsageError(f"an empty value was given in {name}", field=name)
                if value not in out:
                    out.append(value)
            return out

        def text(value: str | None) -> str | None:
            return value.strip() or None if value is not None else None

        return self.model_copy(
            update={
                "task": task,
                "repo": text(self.repo),
                "libraries": sorted(clean(self.libraries, "libraries"), key=str.lower),
                "files": sorted(clean(self.files, "files")),
                "agent": text(self.agent),
                "model": text(self.model),
                "toolchain": text(self.toolchain),
                "repo_type": text(self.repo_type),
            }
        )


class BriefEntry(BaseModel):
    """One page in the brief, rendered compactly."""

    id: str
    type: str
    title: str
    status: str
    confidence: str
    summary: str
    boundary: Boundary
    role: Literal["selected", "dependency"]
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list)  # why it was chosen (--explain)
    required_by: list[str] = Field(default_factory=list)  # for dependencies
    depends_on: list[str] = Field(default_factory=list)
    rule: str = ""  # a decision rule's `## Rule` section, whole ("" without one)
    # For a decision rule, instructions; for any other page, what the page claims (unverified).
    required_checks: list[str] = Field(default_factory=list)
    forbidden_actions: list[str] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # always shown: why it is not a rule, scope
    trust: str = ""  # one line: why this page is a rule, background, or only evidence
    conflict_with: list[str] = Field(default_factory=list)  # decision rules it contradicts
    path: str
    form: Form = "full"
    compact: bool = False  # form != "full": the Markdown shows less than the page says
    tokens: int = 0  # of its Markdown block as shown
    # The block itself (without the reasons, which only --explain shows), made with the entry.
    _block: str | None = PrivateAttr(default=None)

    @property
    def rule_statement(self) -> str:
        """What the brief gives as the rule: the `## Rule` section, or the summary."""
        return self.rule if self.form == "full" and self.rule else self.summary


class Excluded(BaseModel):
    """A candidate that was left out because its scope or status contradicts the request."""

    id: str
    title: str
    reasons: list[str]


class Cut(BaseModel):
    """A selected page that did not fit the token budget (with its dependencies)."""

    id: str
    title: str
    tokens: int
    reason: str
    rule: bool = False  # a decision rule that did not fit: always listed in the Markdown


class MissingDependency(BaseModel):
    source: str
    target: str


class NotLoaded(BaseModel):
    """A dependency the closure did not load because it lies beyond the requested depth."""

    id: str
    required_by: str
    depth: int  # the --depth that stopped it


class StaleWarning(BaseModel):
    id: str
    reason: str


class Conflict(BaseModel):
    """Two decision-capable pages that contradict each other; the brief applies neither."""

    pages: list[str]  # the pair, sorted
    via: str | None = None  # the accepted page one contradicts and the other rests on
    reason: str


class KnowledgeWarning(BaseModel):
    """A problem of the knowledge base that changed this brief (the code is `check`'s)."""

    id: str
    code: str
    message: str


@dataclass
class Layout:
    """What the Markdown shows of a brief's optional parts, as the budget decided (the JSON
    always holds everything). A brief without one shows everything."""

    show_id: bool = True  # the brief id in the status line
    guidance: bool = True  # the line on how to read the sections
    scope: bool = True  # the request's scope (agent, model, libraries, files)
    notice: bool = True  # a notice about the index
    versions_named: int = -1  # version lines of named libraries (-1: all)
    versions_other: int = -1  # version lines of the other direct dependencies (-1: all)
    facts_extra: bool = True  # manifests read and manifest problems
    # Knowledge warnings: 0 one line of counts per code; 1 a line per code with its ids (up to
    # `warning_ids` of them, -1 all); 2 that, then each warning with its message (codes other
    # than the review ones, which the pages' own notes explain).
    warnings_tier: int = 2
    warning_ids: int = -1
    rules_listed: int = -1  # ids of rules left out that the Markdown names (-1: all)
    others_listed: int = -1  # other pages left out with a line (-1: up to LIST_LIMIT)


class Brief(BaseModel):
    """A compiled brief. `agent_work_context()` is the agent-facing contract."""

    brief_id: str
    request: BriefRequest
    knowledge_hash: str
    search_mode: str
    notice: str = ""
    entries: list[BriefEntry] = Field(default_factory=list)  # in the required load order
    excluded: list[Excluded] = Field(default_factory=list)
    cut: list[Cut] = Field(default_factory=list)  # every rule left out, and the first others
    cut_omitted: int = 0  # further pages left out for the budget, counted, not listed
    missing: list[MissingDependency] = Field(default_factory=list)
    not_loaded: list[NotLoaded] = Field(default_factory=list)
    stale_warnings: list[StaleWarning] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    warnings: list[KnowledgeWarning] = Field(default_factory=list)
    # Every direct dependency of the root manifests, plus lockfile entries the brief names.
    local_versions: dict[str, LocalVersion] = Field(default_factory=dict)
    named_libraries: list[str] = Field(default_factory=list)  # by --library or the task text
    unknown_libraries: list[str] = Field(default_factory=list)  # named, not declared
    manifests: list[str] = Field(default_factory=list)
    manifest_problems: list[ManifestProblem] = Field(default_factory=list)
    tokenizer: str
    token_estimate: int = 0  # tokens of the whole Markdown (render_brief), as `tokenizer` counts
    truncated: bool = False
    run_id: str | None = None
    _layout: Layout | None = PrivateAttr(default=None)  # what the budget let the Markdown show
    _markdown: str | None = PrivateAttr(default=None)  # as counted by the compiler
    _planned: int = PrivateAttr(default=0)  # the budget's own count of it (tests compare)

    def by_boundary(self, boundary: Boundary) -> list[BriefEntry]:
        return [e for e in self.entries if e.boundary == boundary]

    def agent_work_context(self) -> dict:
        """`agent_work_context.v1`: the keys DESIGN.md lists, then `conflicts` and
        `knowledge_warnings` (added by the trust rules; readers of v1 may ignore them)."""
        decision = self.by_boundary("decision_capable")
        # Instructions come from decision rules only (evidence never instructs); the structured
        # form carries a rule's checks and forbidden actions even when the Markdown, short of
        # budget, shows only its one-line statement.
        checks = _unique(c for e in decision for c in e.required_checks)
        forbidden = _unique(a for e in decision for a in e.forbidden_actions)
        evidence = self.by_boundary("evidence_only")
        return {
            "version": CONTEXT_VERSION,
            "brief_id": self.brief_id,
            "run_id": self.run_id,
            "task": self.request.task,
            "required_load_order": [e.id for e in self.entries],
            "knowledge_boundaries": {b: [e.id for e in self.by_boundary(b)] for b in BOUNDARIES},
            "decision_rules": [
                {
                    "id": e.id,
                    "title": e.title,
                    "rule": e.rule_statement,
                    "required_checks": e.required_checks,
                    "forbidden_actions": e.forbidden_actions,
                }
                for e in decision
            ],
            "known_failures": [
                {"id": e.id, "title": e.title, "summary": e.summary, "boundary": e.boundary}
                for e in self.entries
                if e.type == "failure"
            ],
            "evidence": [
                {
                    "id": e.id,
                    "type": e.type,
                    "status": e.status,
                    "confidence": e.confidence,
                    "summary": e.summary,
                    "verify": "evidence only: verify locally before acting on it",
                }
                for e in evidence
            ],
            "required_checks": checks,
            "forbidden_actions": forbidden,
            "local_versions": {
                name: v.model_dump(exclude_none=True) for name, v in self.local_versions.items()
            },
            "stale_warnings": [w.model_dump() for w in self.stale_warnings],
            "tool_sequence": TOOL_SEQUENCE,
            "completion_contract": {
                "must_report": MUST_REPORT,
                "must_not_claim": [
                    *MUST_NOT_CLAIM,
                    *(f"that {e.id} holds here without verifying it locally" for e in evidence),
                ],
            },
            "token_estimate": self.token_estimate,
            "truncated": self.truncated,
            "conflicts": [c.model_dump() for c in self.conflicts],
            "knowledge_warnings": [w.model_dump() for w in self.warnings],
        }


# The protocol an agent follows around a brief (tool names are the MCP server's).
TOOL_SEQUENCE = [
    "start_pre_work_protocol",
    "resolve_dependencies",
    "get_page",
    "record_run_event",
    "record_decision",
    "validate_run_completion",
    "complete_run",
]
MUST_REPORT = [
    "the local versions you checked, with the command or file you read them from",
    "which decision rules you applied and why, or why one did not apply",
    "every file you edited",
    "the exact test command you ran and its result",
]
MUST_NOT_CLAIM = [
    "that tests pass unless you ran them after your last edit",
    "that an evidence_only page is true for this repository unless you reproduced it",
    "that a dependency upgrade is needed unless a decision rule or a local reproduction says so",
]


def _unique(items) -> list[str]:  # noqa: ANN001
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
