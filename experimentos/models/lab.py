"""Models of the experiments umbrella: experiments, their tests and runs (format version 1).

File formats (DESIGN.md, "Experiments, tests and runs"):

    experiments/<slug>/README.md              Experiment
    experiments/<slug>/tests/<test>.md        ExperimentTest (an assertion and its last verdict)
    experiments/<slug>/runs/<run-id>.md       RunRecord (its events: see runs/contract.py)

Keys on disk are camelCase like page frontmatter; metric names are data and keep the case they
were given. The event contract of a run's event log lives in experimentos/models/events.py.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from experimentos.models.fixture import FIXTURE_NAME
from experimentos.models.knowledge import SLUG_PATTERN, Text, slug_problem
from experimentos.models.names import (
    NAME_SLUG_PATTERN,
    check_agent_name,
    check_condition,
    check_fixture_name,
    check_matrix_id,
    name_slug_problem,
)

EXPERIMENT_ID_PATTERN = rf"^experiment\.{NAME_SLUG_PATTERN}$"
TEST_ID_PATTERN = rf"^test\.{NAME_SLUG_PATTERN}\.{NAME_SLUG_PATTERN}$"
RUN_ID_PATTERN = rf"^run\.{SLUG_PATTERN}$"
METRIC_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,79}$"
_METRIC_RE = re.compile(METRIC_NAME_PATTERN)


def _prefixed(prefix: str, parts: int):  # noqa: ANN202 - a validator factory
    def check(value: str) -> str:
        head, _, rest = value.partition(".")
        pieces = rest.split(".") if parts > 1 else [rest]
        if head != prefix or len(pieces) != parts:
            raise ValueError(f"{value!r} is not a {prefix} id (expected {prefix}.<slug>)")
        for piece in pieces:
            problem = slug_problem(piece) if prefix == "run" else name_slug_problem(piece)
            if problem:
                raise ValueError(f"{value!r}: {problem}")
        return value

    return check


def _utc(value: dt.datetime) -> dt.datetime:
    """Timestamps are UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def metric_name_problem(name: str) -> str | None:
    """Why `name` is not a valid metric name, or None when it is."""
    if not isinstance(name, str) or not _METRIC_RE.fullmatch(name):
        return f"metric name {name!r} must match {METRIC_NAME_PATTERN} (letters, digits, _ . : -)"
    return None


def _check_metric_name(value: str) -> str:
    problem = metric_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _none_to_dict(value: object) -> object:
    return {} if value is None else value


def _none_to_list(value: object) -> object:
    return [] if value is None else value


Timestamp = Annotated[dt.datetime, AfterValidator(_utc)]
ExperimentId = Annotated[
    str,
    AfterValidator(_prefixed("experiment", 1)),
    Field(json_schema_extra={"pattern": EXPERIMENT_ID_PATTERN}),
]
TestId = Annotated[
    str,
    AfterValidator(_prefixed("test", 2)),
    Field(json_schema_extra={"pattern": TEST_ID_PATTERN}),
]
RunId = Annotated[
    str,
    AfterValidator(_prefixed("run", 1)),
    Field(json_schema_extra={"pattern": RUN_ID_PATTERN}),
]
MatrixId = Annotated[
    Text,
    AfterValidator(check_matrix_id),
    Field(json_schema_extra={"pattern": rf"^{NAME_SLUG_PATTERN}$"}),
]
FixtureName = Annotated[
    Text, AfterValidator(check_fixture_name), Field(json_schema_extra={"pattern": FIXTURE_NAME})
]
MetricName = Annotated[
    str,
    AfterValidator(_check_metric_name),
    Field(json_schema_extra={"pattern": METRIC_NAME_PATTERN}),
]
# A measure (tokens, seconds, dollars, bytes, a metric) is finite and at most MAX_MEASURE in
# size: a larger one is corrupt or hostile, and sums, means and squares of it overflow (fsum of
# a 400-digit count or of 1.7e308 twice raises OverflowError).
MAX_MEASURE = 1e15


def _finite(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if abs(value) > MAX_MEASURE:
        size = f"{len(str(abs(value)))} digits" if isinstance(value, int) else f"{value:.3g}"
        raise ValueError(f"a number of {size} is out of range (at most {MAX_MEASURE:.0e})")
    return value


def measure_or_none(value: object) -> object:
    """`value` when it is a finite number within MAX_MEASURE (or not a number), else None: for
    what an agent reports about itself, which a record keeps only when it is a usable number."""
    try:
        return _finite(value)
    except ValueError:
        return None


Count = Annotated[int, AfterValidator(_finite)]
Measure = Annotated[float, AfterValidator(_finite)]
# bool before int: YAML `true` stays a boolean, never 1.
MetricValue = Annotated[bool | int | float | str, AfterValidator(_finite)]
Metrics = Annotated[dict[MetricName, MetricValue], BeforeValidator(_none_to_dict)]


class _Record(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        regex_engine="python-re",
    )


# --- experiments -----------------------------------------------------------------------------


class ExperimentKind(StrEnum):
    ml = "ml"
    rl = "rl"
    analysis = "analysis"
    backtest = "backtest"
    paper = "paper"
    bot = "bot"
    agent = "agent"
    research = "research"
    hypothesis = "hypothesis"
    optimization = "optimization"
    ablation = "ablation"
    sweep = "sweep"


class ExperimentStatus(StrEnum):
    draft = "draft"
    running = "running"
    interpreted = "interpreted"
    archived = "archived"


# The lifecycle: draft -> running -> interpreted -> archived; interpreted -> running reopens;
# archived is final.
TRANSITIONS: dict[ExperimentStatus, tuple[ExperimentStatus, ...]] = {
    ExperimentStatus.draft: (ExperimentStatus.running,),
    ExperimentStatus.running: (ExperimentStatus.interpreted,),
    ExperimentStatus.interpreted: (ExperimentStatus.archived, ExperimentStatus.running),
    ExperimentStatus.archived: (),
}


class StatusChange(_Record):
    """One transition in an experiment's status history."""

    from_: ExperimentStatus = Field(alias="from")
    to: ExperimentStatus
    at: Timestamp
    note: Text = ""


class Experiment(_Record):
    """experiments/<slug>/README.md: the umbrella that runs, tests and matrices belong to."""

    id: ExperimentId
    name: Annotated[Text, Field(min_length=1)]
    kind: ExperimentKind
    status: ExperimentStatus = ExperimentStatus.draft
    parent: ExperimentId | None = None
    hypothesis: Text = ""
    metrics: Metrics = Field(default_factory=dict)
    created: Timestamp
    status_history: Annotated[list[StatusChange], BeforeValidator(_none_to_list)] = Field(
        default_factory=list, alias="statusHistory"
    )
    body: SkipJsonSchema[str] = Field(default="", exclude=True)

    @property
    def slug(self) -> str:
        return self.id.split(".", 1)[1]

    @model_validator(mode="after")
    def _not_own_parent(self) -> Experiment:
        if self.parent == self.id:
            raise ValueError(f"{self.id} cannot be its own parent")
        return self


# --- tests (assertions) ----------------------------------------------------------------------


class Operator(StrEnum):
    gt = ">"
    ge = ">="
    lt = "<"
    le = "<="
    eq = "=="
    ne = "!="


class RunOutcome(StrEnum):
    """Whether a run accomplished its task."""

    success = "success"
    failure = "failure"
    partial = "partial"


LATEST = "latest"
RunSelector = Annotated[
    RunId | Literal["latest"], Field(description="A run id, or `latest` (the latest ended run)")
]


def _check_number(value: object) -> object:
    if isinstance(value, bool | int | float):
        return value
    raise ValueError(f"expected a number or true/false, got {value!r}")


Number = Annotated[bool | int | float, BeforeValidator(_check_number), AfterValidator(_finite)]


class MetricThreshold(_Record):
    """A metric of one run (scope run) or of the experiment's aggregate (scope experiment)."""

    kind: Literal["metric_threshold"] = "metric_threshold"
    metric: MetricName
    op: Operator
    value: Number
    scope: Literal["run", "experiment"] = "run"
    run: RunSelector | None = Field(default=None, description="scope run only (default latest)")

    @model_validator(mode="after")
    def _run_only_for_runs(self) -> MetricThreshold:
        if self.scope == "experiment" and self.run is not None:
            raise ValueError("`run` applies to scope run only; drop it or use scope run")
        return self


class RunOutcomeCheck(_Record):
    """A given run, or the latest ended one, ended with the expected outcome."""

    kind: Literal["run_outcome"] = "run_outcome"
    run: RunSelector = LATEST
    expected: RunOutcome = RunOutcome.success


class ManualCheck(_Record):
    """A verdict a person sets, with a rationale."""

    kind: Literal["manual"] = "manual"
    question: Text = ""


class ConditionDelta(_Record):
    """metric(treatment) - metric(baseline) <op> value; evaluable once matrices exist."""

    kind: Literal["condition_delta"] = "condition_delta"
    metric: MetricName
    baseline: Annotated[Text, Field(min_length=1)]
    treatment: Annotated[Text, Field(min_length=1)]
    op: Operator = Operator.ge
    value: Number = 0


Assertion = Annotated[
    MetricThreshold | RunOutcomeCheck | ManualCheck | ConditionDelta,
    Field(discriminator="kind"),
]
ASSERTION_KINDS = ("metric_threshold", "run_outcome", "manual", "condition_delta")


class ExperimentTest(_Record):
    """experiments/<slug>/tests/<test>.md: an assertion and the verdict of its last evaluation."""

    id: TestId
    name: Annotated[Text, Field(min_length=1)]
    assertion: Assertion
    passed: bool | None = None
    details: Text = ""
    run_ref: RunId | None = Field(default=None, alias="runRef")
    evaluated_at: Timestamp | None = Field(default=None, alias="evaluatedAt")
    body: SkipJsonSchema[str] = Field(default="", exclude=True)

    @property
    def experiment_slug(self) -> str:
        return self.id.split(".")[1]

    @property
    def slug(self) -> str:
        return self.id.split(".")[2]


# --- runs ------------------------------------------------------------------------------------


class RunStatus(StrEnum):
    """running until finished; failed: the run itself broke; aborted: stopped early on purpose."""

    running = "running"
    finished = "finished"
    failed = "failed"
    aborted = "aborted"


_COMMIT_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _check_commit(value: str) -> str:
    if not _COMMIT_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a full git commit hash")
    return value


class MatrixKnowledge(_Record):
    """The knowledge a matrix run's MCP server served (none for the `none` condition)."""

    commit: Annotated[str, AfterValidator(_check_commit)] | None = None
    variant: Text = ""  # what it is: "working tree", "without policy.x", "as of <rev>"
    content_hash: Text | None = Field(default=None, alias="contentHash")
    pages: Count | None = None
    dirty: bool = False  # the working tree's knowledge differed from the commit


class MatrixProcess(_Record):
    """How a process of the run ended: the agent, or the oracle."""

    command: Text | None = None
    exit_code: Count | None = Field(default=None, alias="exitCode")
    passed: bool | None = None  # the oracle only: exit 0
    timed_out: bool = Field(default=False, alias="timedOut")
    seconds: Measure | None = None
    output_tail: Text = Field(default="", alias="outputTail")
    output_bytes: Count | None = Field(default=None, alias="outputBytes")
    truncated: bool = False


class MatrixUsage(_Record):
    """What the run cost; None where the agent does not say."""

    tokens_in: Count | None = Field(default=None, alias="tokensIn")
    tokens_out: Count | None = Field(default=None, alias="tokensOut")
    cost_usd: Measure | None = Field(default=None, alias="costUsd")
    turns: Count | None = None
    wall_seconds: Measure | None = Field(default=None, alias="wallSeconds")
    # The tokens and cost were made up by a script (the scripted model counts characters; a
    # script agent prints what it likes), not billed by a provider.
    simulated: bool = False


class MatrixRuntime(_Record):
    """An interpreter on the PATH the oracle and the agent ran with."""

    path: Text
    version: Text | None = None


class MatrixNetwork(_Record):
    """Whether the agent's shell commands could reach the network (experimentos.agents.network)."""

    access: bool | None = None  # None: unknown
    how: Text = ""


class MatrixModel(_Record):
    """The model a matrix run's agent talked to: the spec's model endpoint (provider, base URL
    without credentials, configured name, the variable that held the key, never the key). The
    model id the provider reported in the transcript is the run's `modelReported`."""

    provider: Text | None = None  # openai-responses | openai-chat | anthropic; None: CLI default
    endpoint: Text | None = None  # the base URL; None: the CLI's default provider
    name: Text | None = None  # the configured model name
    key_env: Text | None = Field(default=None, alias="keyEnv")


class MatrixMetric(_Record):
    """One ground-truth metric of a matrix run (experimentos.matrix.metrics): its value, the
    record field or file it was read from, and why it is null when it is (never 0 instead)."""

    value: Annotated[bool | int | float | None, AfterValidator(_finite)]
    source: Text
    reason: Text | None = None


class MatrixFingerprint(_Record):
    """What a matrix run's result depends on (experimentos.matrix.fingerprint): a stored result
    counts only while every part is unchanged. Hashes are "sha256:<hex>"."""

    fixture: Text  # the fixture directory's content hash
    knowledge: Text | None = None  # the condition's knowledge (None: no knowledge served)
    agent: Text  # the agent entry of matrix.yaml, normalised (every field, the model block too)
    agent_files: dict[str, Text] = Field(default_factory=dict, alias="agentFiles")  # script,
    # policy: path (as the entry names it) -> content hash
    agent_version: Text | None = Field(default=None, alias="agentVersion")  # the CLI's --version
    model: dict[str, Any] | None = None  # provider, baseUrl, name, as the entry names them
    time_limit_s: float = Field(alias="timeLimitSeconds")
    prompt: int = 1  # the version of the prompt the runner composes


class MatrixAttempt(_Record):
    """An earlier attempt at the same cell that did not count (harness error, interruption)."""

    status: RunStatus
    reason: Text = ""
    ended: Timestamp | None = None


class MatrixRun(_Record):
    """The `matrix` block of a run made by `matrix run`: which cell, from what, and what came of
    it. Sidecar files next to the record: <run-id>.diff and <run-id>.transcript.jsonl."""

    id: MatrixId  # the matrix id: results/<id>.md, and the start of every run id
    cell: Annotated[Text, Field(min_length=1)]  # fixture/condition/agent/repeat
    cell_hash: Text = Field(alias="cellHash")  # the cell's inputs; a resume must match it
    spec_hash: Text = Field(alias="specHash")  # the whole matrix.yaml, normalised
    fixture: FixtureName
    fixture_hash: Text = Field(alias="fixtureHash")
    adapter: Text
    agent_version: Text | None = Field(default=None, alias="agentVersion")  # CLI --version
    repeat: Annotated[int, Field(ge=1, le=1_000_000)]
    attempt: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    previous_attempts: Annotated[list[MatrixAttempt], BeforeValidator(_none_to_list)] = Field(
        default_factory=list, alias="previousAttempts"
    )
    harness: Text = ""  # experimentos version
    fingerprint: MatrixFingerprint | None = None  # what the result depends on (cellHash's parts)
    # Whose decisions the run shows: a model's, or a script's (the scripted adapter, a real CLI
    # driven by the scripted model, a shell script). A scripted run checks the harness; it is
    # never evidence about agents. None: recorded before runs said so.
    decisions: Literal["model", "script"] | None = None
    decided_by: Text = Field(default="", alias="decidedBy")  # e.g. "the scripted model playing …"
    # The model id the provider reported in the transcript (may be more exact than the entry's
    # name, e.g. a dated snapshot); None when the transcript does not say.
    model_reported: Text | None = Field(default=None, alias="modelReported")
    # The opaque name the agent knew the run by (experimentos.lab.runs.tokens): the run id
    # names the cell, so the agent never sees it.
    run_token: Text | None = Field(default=None, alias="runToken")
    time_limit_s: Measure = Field(alias="timeLimitSeconds")
    prompt: Text = ""
    knowledge: MatrixKnowledge | None = None
    # The model endpoint and the provider-reported model id (None: the agent names no model).
    model_endpoint: MatrixModel | None = Field(default=None, alias="modelEndpoint")
    agent_process: MatrixProcess | None = Field(default=None, alias="agentProcess")
    agent_network: MatrixNetwork | None = Field(default=None, alias="agentNetwork")
    # python3 and node as the oracle and the agent found them on PATH (resolved, --version)
    runtimes: dict[str, MatrixRuntime] = Field(default_factory=dict)
    oracle: MatrixProcess | None = None
    usage: MatrixUsage | None = None
    rules: dict[str, Any] | None = None  # the rule report (matrix/rules.py)
    diff: dict[str, Any] | None = None  # diff stats, sidecar path, bytes, truncated
    transcript: dict[str, Any] | None = None  # sidecar path, lines, bytes, parse summary
    reason: Text | None = None  # why the run failed or was aborted
    timings: dict[str, Measure] = Field(default_factory=dict)  # seconds per harness phase
    # Metrics from ground truth (oracle, rules, diff, usage, the server's log), with sources.
    ground_truth: dict[str, MatrixMetric] | None = Field(default=None, alias="groundTruth")


class RunRecord(_Record):
    """experiments/<slug>/runs/<run-id>.md: one agent run; the body is its human summary."""

    id: RunId
    experiment: ExperimentId
    task: Annotated[Text, Field(min_length=1)]
    agent: Text | None = None
    model: Text | None = None
    toolchain: Text | None = None
    condition: Text | None = None
    status: RunStatus = RunStatus.running
    outcome: RunOutcome | None = None
    brief: Text | None = None
    knowledge_commit: Annotated[str, AfterValidator(_check_commit)] | None = Field(
        default=None, alias="knowledgeCommit"
    )
    started: Timestamp
    ended: Timestamp | None = None
    metrics: Metrics = Field(default_factory=dict)
    matrix: MatrixRun | None = None  # set on runs made by `matrix run`
    body: SkipJsonSchema[str] = Field(default="", exclude=True)

    @property
    def experiment_slug(self) -> str:
        return self.experiment.split(".", 1)[1]

    @model_validator(mode="wrap")
    @classmethod
    def _matrix_names(cls, data: Any, handler: Any) -> RunRecord:
        """A matrix run's agent and condition are parts of its run id and of report rows: they
        follow the matrix grammar (models/names.py), whatever the file says."""
        if isinstance(data, dict) and data.get("matrix") is not None:
            errors = []
            for key, check in (("agent", check_agent_name), ("condition", check_condition)):
                value = data.get(key)
                try:
                    check(value)
                except ValueError as exc:
                    kind = PydanticCustomError("value_error", "{reason}", {"reason": str(exc)})
                    errors.append(InitErrorDetails(type=kind, loc=(key,), input=value))
            if errors:
                raise ValidationError.from_exception_data(cls.__name__, errors)
        return handler(data)

    @model_validator(mode="after")
    def _ended_when_done(self) -> RunRecord:
        if self.status is RunStatus.running and self.ended is not None:
            raise ValueError("a running run has no `ended` time")
        if self.ended is not None and self.ended < self.started:
            raise ValueError("`ended` is before `started`")
        return self
