"""Domain models: the only schema. JSON Schemas under schemas/ are generated from these.

Knowledge format version 1 (see DESIGN.md). Field names on disk are camelCase and are part of
the format; Python attributes are snake_case with the disk name as alias.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

FORMAT_VERSION = 1


class PageType(StrEnum):
    source = "source"
    claim = "claim"
    knowledge_card = "knowledge_card"
    failure = "failure"
    intervention = "intervention"
    policy = "policy"


class Status(StrEnum):
    draft = "draft"
    accepted = "accepted"
    rejected = "rejected"
    deprecated = "deprecated"
    superseded = "superseded"


class Confidence(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


# type -> (id prefix, directory relative to the knowledge root)
TYPE_LAYOUT: dict[PageType, tuple[str, str]] = {
    PageType.source: ("source", "wiki/sources"),
    PageType.claim: ("claim", "wiki/claims"),
    PageType.knowledge_card: ("knowledge", "wiki/knowledge"),
    PageType.failure: ("failure", "wiki/failures"),
    PageType.intervention: ("intervention", "wiki/interventions"),
    PageType.policy: ("policy", "policies"),
}
PREFIX_TYPE: dict[str, PageType] = {prefix: t for t, (prefix, _) in TYPE_LAYOUT.items()}

# Only accepted pages of these types may drive an agent's decisions.
DECISION_TYPES = frozenset({PageType.policy, PageType.intervention})

SLUG_MAX = 120
SLUG_PATTERN = r"[a-z0-9](?:[a-z0-9-]|\.(?!\.))*"
_SLUG_RE = re.compile(rf"^{SLUG_PATTERN}$")
# A reference names a page, or a record of another kind (run., experiment., test., …).
REF_PATTERN = rf"^[a-z][a-z_]*\.{SLUG_PATTERN}$"
_REF_RE = re.compile(REF_PATTERN)
PAGE_ID_PATTERN = rf"^(?:{'|'.join(PREFIX_TYPE)})\.{SLUG_PATTERN}$"


def slug_problem(slug: str) -> str | None:
    """Why `slug` is not a valid slug, or None when it is."""
    if not slug:
        return "slug is empty"
    if len(slug) > SLUG_MAX:
        return f"slug is longer than {SLUG_MAX} characters"
    if "/" in slug or "\\" in slug or "\x00" in slug:
        return "slug contains a path separator or NUL"
    if ".." in slug:
        return "slug contains '..'"
    if not _SLUG_RE.fullmatch(slug) or slug.endswith("."):
        return "slug must be lowercase [a-z0-9][a-z0-9.-]* and may not end with '.'"
    return None


def check_ref(value: str) -> str:
    if len(value) > SLUG_MAX + 20 or not _REF_RE.fullmatch(value) or value.endswith("."):
        raise ValueError(f"{value!r} is not a valid reference id (expected e.g. failure.some-slug)")
    return value


def _scalar_text(value: Any) -> Any:
    """Normalise YAML scalars that should have been text: `1.10` stays "1.10", dates become ISO."""
    source = getattr(value, "yaml_source", None)
    if source is not None:
        return source
    if isinstance(value, bool):
        return value  # let validation reject it with a clear "expected string"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _check_page_id(value: str) -> str:
    prefix, _, slug = value.partition(".")
    if prefix not in PREFIX_TYPE:
        expected = ", ".join(f"{p}." for p in PREFIX_TYPE)
        raise ValueError(f"id {value!r} must start with one of: {expected}")
    problem = slug_problem(slug)
    if problem:
        raise ValueError(f"id {value!r}: {problem}")
    return value


Text = Annotated[str, BeforeValidator(_scalar_text)]
PageId = Annotated[
    str,
    BeforeValidator(_scalar_text),
    AfterValidator(_check_page_id),
    Field(json_schema_extra={"pattern": PAGE_ID_PATTERN}),
]
Ref = Annotated[
    str,
    BeforeValidator(_scalar_text),
    AfterValidator(check_ref),
    Field(json_schema_extra={"pattern": REF_PATTERN}),
]
RefList = Annotated[list[Ref], BeforeValidator(_none_to_list)]
TextList = Annotated[list[Text], BeforeValidator(_none_to_list)]
OneOrMany = Text | list[Text]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
        regex_engine="python-re",
    )


class AppliesTo(_Model):
    """Context a page applies to. Every given key must match; absent keys match anything."""

    agent: OneOrMany | None = None
    model: OneOrMany | None = None
    toolchain: OneOrMany | None = None
    repo_type: OneOrMany | None = None
    library: OneOrMany | None = None
    versions: Text | None = Field(
        default=None, description="Version specifier checked against the repo's manifests"
    )
    paths: TextList = Field(default_factory=list, description="Globs of files the task touches")

    def values(self, key: str) -> list[str]:
        """The given key as a list (a single value is a list of one)."""
        value = getattr(self, key)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)


def _check_cite_path(value: str) -> str:
    parts = value.replace("\\", "/").split("/")
    if (
        value.startswith(("/", "\\"))
        or ".." in parts
        or "\x00" in value
        or re.match(r"^[A-Za-z]:", value)
    ):
        raise ValueError(f"cited path {value!r} must be relative to the repository, without '..'")
    return value


# At most 9 digits a number: no file has a billion lines, and int() refuses 4,300 digits.
LINES_PATTERN = r"^[0-9]{1,9}(-[0-9]{1,9})?$"


def _check_lines(value: str) -> str:
    if not re.fullmatch(LINES_PATTERN.strip("^$"), value):
        raise ValueError(f"lines {value[:40]!r} must look like 10 or 10-24 (at most 9 digits)")
    return value


class Cite(_Model):
    """Code a page is about; when its hash no longer matches, the page is stale."""

    path: Annotated[Text, AfterValidator(_check_cite_path)]
    lines: (
        Annotated[
            Text, AfterValidator(_check_lines), Field(json_schema_extra={"pattern": LINES_PATTERN})
        ]
        | None
    ) = None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class Origin(_Model):
    """Where a source page's text came from (e.g. an issue thread), as of when it was fetched."""

    url: Annotated[Text, Field(min_length=1)]
    fetched_at: dt.date = Field(alias="fetchedAt")
    state: Text | None = Field(default=None, description="e.g. open, closed (not_planned)")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="of the fetched content, to tell a changed thread from an unchanged one"
    )


GateBasis = Literal["ablation", "guardedBy", "appliesTo"]


class Gate(_Model):
    """The measured evidence behind a review written by `experimentos promote`: the comparison
    of a matrix it read (the condition without the page vs the one with it), its numbers, and
    whether the promotion gate passed. A gate that did not pass is only ever recorded with the
    `override` of the person who accepted the page anyway (the body repeats it)."""

    matrix: Annotated[Text, Field(min_length=1)] = Field(
        description="<experiment>/<matrix-id> whose run records were read"
    )
    metric: Annotated[Text, Field(min_length=1)] = Field(description="e.g. clean_pass")
    basis: GateBasis | None = Field(
        default=None,
        description="ablation (brief-without:<page> vs brief), guardedBy or appliesTo (brief "
        "vs none on the fixtures the page is for); None: the matrix has no such comparison",
    )
    baseline: Text | None = Field(default=None, description="the condition without the page")
    treatment: Text | None = Field(default=None, description="the condition with the page")
    fixtures: TextList = Field(default_factory=list)
    pairs: int = Field(default=0, ge=0)
    delta: float | None = Field(default=None, description="treatment minus baseline")
    low: float | None = Field(default=None, description="95% interval of the delta")
    high: float | None = None
    p_value: float | None = Field(default=None, alias="pValue", ge=0, le=1)
    p_adjusted: float | None = Field(default=None, alias="pAdjusted", ge=0, le=1)
    repeats_needed: int | None = Field(default=None, alias="repeatsNeeded", ge=0)
    passed: bool
    override: Text | None = Field(
        default=None, description="why the page was accepted although the gate did not pass"
    )

    @model_validator(mode="after")
    def _failed_gate_is_overridden(self) -> Gate:
        if self.passed and self.override is not None:
            raise ValueError("a gate that passed has no override")
        if not self.passed and not (self.override or "").strip():
            raise ValueError("a gate that did not pass is recorded only with an override rationale")
        return self


class Review(_Model):
    reviewer: Text
    reviewed_at: dt.date = Field(alias="reviewedAt")
    rationale: Text = ""
    evidence: RefList = Field(default_factory=list)
    gate: Gate | None = None


class Page(_Model):
    """One knowledge page: the frontmatter fields plus the Markdown body."""

    id: PageId
    type: PageType
    title: Annotated[Text, Field(min_length=1)]
    status: Status = Status.draft
    confidence: Confidence = Confidence.medium
    summary: Text = ""
    applies_to: AppliesTo | None = Field(default=None, alias="appliesTo")
    depends_on: RefList = Field(default_factory=list, alias="dependsOn")
    contradicts: RefList = Field(default_factory=list)
    supersedes: RefList = Field(default_factory=list)
    mitigates: RefList = Field(default_factory=list)
    derived_from: RefList = Field(default_factory=list, alias="derivedFrom")
    validated_by: RefList = Field(default_factory=list, alias="validatedBy")
    required_checks: TextList = Field(default_factory=list, alias="requiredChecks")
    forbidden_actions: TextList = Field(default_factory=list, alias="forbiddenActions")
    cites: Annotated[list[Cite], BeforeValidator(_none_to_list)] = Field(default_factory=list)
    origin: Origin | None = None
    review: Review | None = None
    expires: dt.date | None = None
    tags: TextList = Field(default_factory=list)
    body: SkipJsonSchema[str] = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _id_matches_type(self) -> Page:
        prefix = self.id.split(".", 1)[0]
        if PREFIX_TYPE.get(prefix) is not self.type:
            expected = TYPE_LAYOUT[self.type][0]
            raise ValueError(f"id {self.id!r} must start with '{expected}.' for type {self.type}")
        return self

    @property
    def slug(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def decision_capable(self) -> bool:
        """Accepted and of a type that can decide. Deciding also takes a complete review that
        has not expired: experimentos.knowledge.trust.decision_capable checks all of it."""
        return self.status is Status.accepted and self.type in DECISION_TYPES

    def edges(self) -> dict[str, list[str]]:
        """Frontmatter edges by kind (disk names)."""
        return {
            "dependsOn": self.depends_on,
            "contradicts": self.contradicts,
            "supersedes": self.supersedes,
            "mitigates": self.mitigates,
            "derivedFrom": self.derived_from,
            "validatedBy": self.validated_by,
        }


# Frontmatter keys in their canonical order (the order DESIGN.md lists them).
FRONTMATTER_KEYS: list[str] = [
    (f.alias or name) for name, f in Page.model_fields.items() if name != "body"
]


class Problem(BaseModel):
    """One finding of `check` or of parsing: where, which field, a stable code, and why."""

    path: str
    field: str | None = None
    code: str
    severity: Literal["error", "warning"] = "error"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.severity} [{self.code}] {self.message}"
