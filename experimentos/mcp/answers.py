"""What the tools answer: structured content a program can rely on (the outputSchema), and text
a model reads: the Markdown itself where the answer is a document (a brief, a page, a matrix's
numbers), compact JSON otherwise. Never Markdown escaped inside a JSON string.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field


def reply(data: BaseModel | dict[str, Any], text: str | None = None) -> CallToolResult:
    """A tool result: `data` as structured content, `text` (default: compact JSON) as text."""
    if isinstance(data, BaseModel):
        structured = data.model_dump(mode="json", by_alias=True)
    else:
        structured = data
    if text is None:
        text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"), default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


class _Open(BaseModel):
    """An answer whose main keys are declared; the rest of the record comes along as is."""

    model_config = ConfigDict(extra="allow")


class WorkContext(_Open):
    """agent_work_context.v1 (the keys an agent acts on are declared; the others are listed in
    DESIGN.md and may grow)."""

    version: str
    brief_id: str
    run_id: str | None = None
    task: str
    required_load_order: list[str]
    knowledge_boundaries: dict[str, list[str]]
    decision_rules: list[dict[str, Any]]
    required_checks: list[str]
    forbidden_actions: list[str]
    completion_contract: dict[str, list[str]]
    token_estimate: int
    truncated: bool


class RunAnswer(_Open):
    """A run record: its id, where it lives, and its frontmatter."""

    run_id: str = Field(description="Pass it to record_run_event, record_decision, complete_run.")
    path: str
    experiment: str
    status: str


class RunCompleted(BaseModel):
    run: dict[str, Any] | None = Field(description="The ended run (null: the harness ends it).")
    completion: dict[str, Any] = Field(description="What validate_run_completion reports.")
    note: str | None = None


class ExperimentList(BaseModel):
    experiments: list[dict[str, Any]]


class TestList(BaseModel):
    __test__ = False  # not a pytest class

    tests: list[dict[str, Any]]


class TestAnswer(_Open):
    __test__ = False

    id: str
    path: str
    passed: bool | None = None


class PromotionAnswer(BaseModel):
    passed: bool = Field(description="Whether the gate passed (then `proposal` is set).")
    page: str
    matrix: str
    metric: str
    basis: str | None
    baseline: str | None
    treatment: str | None
    fixtures: list[str]
    headline: str
    delta: float | None
    low: float | None
    high: float | None
    p_value: float | None
    p_adjusted: float | None
    pairs: int
    repeats_needed: int | None
    reasons: list[str]
    regressions: list[str]
    notes: list[str]
    runs: int
    proposal: dict[str, Any] | None


def _rate(rate: dict[str, Any]) -> str:
    if rate.get("rate") is None:
        return f"– ({rate['k']}/{rate['n']})"
    low, high = rate.get("low"), rate.get("high")
    ci = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return f"{rate['rate']:.2f}{ci} ({rate['k']}/{rate['n']})"


def matrix_markdown(answer: dict[str, Any]) -> str:
    """get_matrix_results as a model reads it: the rates table, then the deltas."""
    lines = [
        f"# Matrix {answer['experiment']}/{answer['matrix']}",
        "",
        f"{answer['runs_counted']} runs counted, {answer['runs_excluded']} excluded, "
        f"{answer['runs_missing']} missing; baseline `{answer['baseline']}`; "
        f"report `{answer['report_path']}`",
        "",
        "| condition | agent | runs | pass [95% CI] | clean pass [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for g in answer["groups"]:
        lines.append(
            f"| {g['condition']} | {g['agent'] or 'all'} | {g['runs']} | {_rate(g['pass'])} | "
            f"{_rate(g['clean_pass'])} |"
        )
    if answer["deltas"]:
        lines += ["", "## Against the baseline", ""]
        for d in answer["deltas"]:
            who = f" ({d['agent']})" if d["agent"] else ""
            lines.append(f"- {d['metric']} {d['treatment']}{who}: {d['verdict']}")
    if answer["attributions"]:
        lines += ["", "## Pages", ""]
        lines += [f"- {a['page']}: {a['sentence']}" for a in answer["attributions"]]
    return "\n".join(lines) + "\n"


def search_markdown(response: dict[str, Any]) -> str:
    """search_knowledge as a list of hits: id, title, status, where it matched."""
    hits = response["results"]
    lines = [f"{len(hits)} page{'s' if len(hits) != 1 else ''} ({response['mode']} search)"]
    if response.get("notice"):
        lines.append(f"Note: {response['notice']}")
    for hit in hits:
        where = f" › {hit['heading']}" if hit.get("heading") else ""
        lines += [
            "",
            f"- **{hit['id']}** ({hit['type']}, {hit['status']}): {hit['title']}{where}",
            f"  {' '.join(hit['snippet'].split())}",
        ]
    return "\n".join(lines) + "\n"


def page_markdown(page: dict[str, Any]) -> str:
    """get_page: what the page may be used for, then the page itself."""
    fm = page["frontmatter"]
    head = f"# {page['id']}: {fm.get('title', '')}".rstrip(": ")
    status = f"{fm.get('status', 'draft')} {fm.get('type', '')}".strip()
    summary = fm.get("summary")
    lines = [head, "", f"{status} · boundary `{page['boundary']}` · `{page['path']}`"]
    if summary:
        lines += ["", summary]
    return "\n".join(lines) + "\n\n" + page["body"].strip() + "\n"
