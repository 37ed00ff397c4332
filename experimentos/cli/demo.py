"""`experimentos demo`: a tour on a throwaway knowledge base seeded with the starter pages."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from experimentos.cli._common import plural
from experimentos.index import Index, search
from experimentos.knowledge.check import check_scan
from experimentos.knowledge.graph import Graph
from experimentos.store import Workspace
from experimentos.store.scaffold import copy_starter, init_workspace, starter_root


@dataclass
class DemoResult:
    root: str
    pages: int
    problems: int
    by_type: dict[str, int] = field(default_factory=dict)
    focus: str = ""
    closure: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)
    search_mode: str = ""
    search_results: list[str] = field(default_factory=list)
    brief_id: str = ""
    brief_tokens: int = 0
    knowledge_boundaries: dict[str, list[str]] = field(default_factory=dict)
    local_versions: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # page id -> why a rule / only evidence
    run_id: str = ""
    run_complete: bool = False
    run_steps: dict[str, str] = field(default_factory=dict)
    experiment_tree: list[str] = field(default_factory=list)
    experiment_status: str = ""
    matrix_runs: dict[str, str] = field(default_factory=dict)  # run id -> outcome
    report: str = ""  # the matrix report's path, relative to the root
    headline: list[str] = field(default_factory=list)
    kept: bool = True  # False: the temp knowledge base was removed after the tour


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=experimentos demo",
            "-c",
            "user.email=demo@experimentos.invalid",
            *args,
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )


def run_demo(
    directory: Path | None = None, echo: Callable[[str], None] = print, keep: bool = False
) -> DemoResult:
    """Tour a throwaway knowledge base; a temp one is removed afterwards unless `keep`."""
    if directory is not None:
        return _tour(Path(directory), echo, kept=True)
    root = Path(tempfile.mkdtemp(prefix="experimentos-demo-"))
    try:
        result = _tour(root, echo, kept=keep)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    if not keep:
        echo(f"Removed {root} (keep it with --keep, or choose a place with --dir).")
    return result


def _tour(root: Path, echo: Callable[[str], None], kept: bool) -> DemoResult:
    """Seed a git repository with the starter knowledge, check it, walk it, brief, run."""
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q")
    init_workspace(root)
    copied = copy_starter(root)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Seed the starter knowledge base")
    echo(f"1. Knowledge base: {root} (git repository, {plural(copied, 'starter page')} committed)")

    workspace = Workspace(root)
    scan = workspace.scan()
    report = check_scan(scan)
    echo(
        f"2. experimentos check: {plural(report.pages, 'page')}, "
        f"{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')}"
    )
    for problem in report.problems:
        echo(f"   {problem}")

    pages = scan.pages()
    by_type = dict(sorted(Counter(p.type.value for p in pages.values()).items()))
    echo("3. Pages by type: " + ", ".join(f"{k} {v}" for k, v in by_type.items()))
    decision = sorted(p.id for p in pages.values() if p.decision_capable)
    echo(f"   decision-capable (accepted policies and interventions): {len(decision)}")

    graph = Graph(pages)
    focus = max(
        (p.id for p in pages.values() if p.type.value == "policy"),
        key=lambda pid: (len(graph.closure(pid).nodes), pid),
        default="",
    )
    result = DemoResult(str(root), report.pages, len(report.problems), by_type, focus, kept=kept)
    if focus:
        closure = graph.closure(focus)
        result.closure = closure.ids
        echo(f"4. experimentos graph deps {focus}")
        for node in closure.nodes:
            page = pages[node.id]
            echo(f"   {'  ' * node.depth}{node.id}  [{page.status.value}]  {page.title}")
        target = closure.nodes[-1].id
        result.dependents = [n.id for n in graph.reverse(target)]
        echo(f"5. experimentos graph rdeps {target}: " + ", ".join(result.dependents))

    task = "bump drizzle-kit to fix the migration default"
    echo(f'6. experimentos search "{task}"  (builds the index first)')
    index = Index(workspace)
    summary = index.sync()
    echo(
        f"   indexed {plural(summary.pages, 'page')}, {plural(summary.chunks, 'vector')}, "
        f"mode {summary.mode}"
    )
    if summary.notice:
        echo(f"   note: {summary.notice}")
    response = search(index, task, limit=5, sync=False)
    result.search_mode = response.mode
    result.search_results = [hit.id for hit in response.results]
    for hit in response.results:
        echo(f"   {hit.score:.4f}  {hit.id}  [{hit.status}]")
    fixture, request = _brief(workspace, root, result, echo)
    _scripted_run(workspace, fixture, request, result, echo)
    _matrix(workspace, root, result, echo)
    if kept:
        echo(
            f'Next: `experimentos --root {root} brief "<task>" --repo <repo>`, '
            f"or serve agents with `experimentos --root {root} mcp serve`."
        )
    return result


def _brief(workspace: Workspace, root: Path, result: DemoResult, echo: Callable) -> None:
    import yaml

    from experimentos.briefs.compiler import compile_brief
    from experimentos.briefs.models import BriefRequest
    from experimentos.briefs.render import render_brief
    from experimentos.knowledge.live import Live

    fixture = root / "fixtures" / "drizzle-pin"
    shutil.copytree(starter_root() / "fixtures" / "drizzle-pin", fixture, dirs_exist_ok=True)
    spec = yaml.safe_load((fixture / "fixture.yaml").read_text(encoding="utf-8"))
    request = BriefRequest(
        task=spec["task"], repo=str(fixture), libraries=spec["libraries"], files=spec["files"]
    )
    echo(f'7. experimentos brief "{request.task}" --repo fixtures/drizzle-pin')
    live = Live(workspace, watch=False)
    brief = compile_brief(live, request)
    live.close()
    context = brief.agent_work_context()
    result.brief_id = brief.brief_id
    result.brief_tokens = brief.token_estimate
    result.knowledge_boundaries = context["knowledge_boundaries"]
    result.local_versions = {
        k: v.locked or v.declared or "" for k, v in brief.local_versions.items()
    }
    result.excluded = [x.id for x in brief.excluded]
    result.why = {e.id: e.trust for e in brief.entries}
    for line in render_brief(brief).splitlines():
        echo(f"   {line}" if line else "")
    echo("   Why each page is a rule, background or only evidence (brief --explain says more):")
    for entry in brief.entries:
        echo(f"   - {entry.id}: {entry.trust}")
    for excluded in brief.excluded[:5]:
        echo(f"   - {excluded.id}: excluded: {'; '.join(excluded.reasons)}")
    return fixture, request


def _scripted_run(workspace: Workspace, fixture: Path, request, result: DemoResult, echo) -> None:  # noqa: ANN001
    """An agent's run, scripted, through the real MCP tools (in-memory client)."""
    import anyio
    import mcp

    from experimentos.lab.experiments import (
        experiment_tree,
        new_experiment,
        read_experiment,
        set_experiment_status,
    )
    from experimentos.mcp.server import build_server

    exp = new_experiment(workspace, "Drizzle pin demo", "agent", hypothesis="A brief keeps the pin")
    slug = exp.model.id.split(".", 1)[1]
    set_experiment_status(workspace, slug, "running", note="the scripted run starts")
    echo(
        f'8. experimentos exp new "Drizzle pin demo" --kind agent; exp set-status {slug} running;'
        " a scripted run over MCP:"
    )
    server = build_server(workspace)
    brief_args = {"task": request.task, "repo": str(fixture), "libraries": request.libraries}

    async def script() -> dict:
        async with mcp.Client(server) as c:

            async def call(tool: str, args: dict) -> dict:
                answer = await c.call_tool(tool, args)
                if answer.is_error:
                    raise RuntimeError(f"{tool}: {answer.content[0].text}")
                echo(f"   {tool}")
                return answer.structured_content

            pre = await call("start_pre_work_protocol", {**brief_args, "experiment": slug})
            run_id = pre["run_id"]
            version = {"package": "drizzle-kit", "version": "0.30.4", "source": "package-lock.json"}
            steps = [
                ("package_version_checked", version),
                ("file_edited", {"path": "src/db/schema.ts", "summary": "default in one place"}),
                ("test_run", {"passed": True, "command": "npm test"}),
            ]
            await call(
                "record_decision",
                {
                    "run_id": run_id,
                    "decision": "keep drizzle-kit 0.30.4; fix the schema default instead",
                    "page_ids": ["policy.keep-drizzle-kit-pin-verify-locally"],
                },
            )
            for kind, payload in steps:
                event = {"type": kind, **payload}
                await call("record_run_event", {"run_id": run_id, "event": event})
            done = await call(
                "complete_run",
                {
                    "run_id": run_id,
                    "final_answer": "Kept the pin; fixed the default.",
                    "outcome": "success",
                },
            )
            return {"run_id": run_id, **done["completion"]}

    report = anyio.run(script)
    result.run_id = report["run_id"]
    result.run_complete = report["complete"]
    result.run_steps = {s["step"]: s["state"] for s in report["steps"]}
    echo(f"9. validate_run_completion {result.run_id}: complete={report['complete']}")
    for step in report["steps"]:
        echo(f"   {step['state']:>7}  {step['title']}")
    if read_experiment(workspace, slug).model.status.value == "running":
        verdict = "complete: the pin held" if report["complete"] else "incomplete contract"
        set_experiment_status(workspace, slug, "interpreted", note=f"scripted run {verdict}")
        echo(f"   experimentos exp set-status {slug} interpreted")
    result.experiment_status = read_experiment(workspace, slug).model.status.value
    echo("10. experimentos exp tree")
    for node in experiment_tree(workspace).roots:
        line = f"{node.id} [{node.kind}, {node.status}]"
        result.experiment_tree.append(line)
        echo(f"   {line}")


DEMO_MATRIX = """\
# The drizzle-pin fixture with and without the brief, played by the scripted agent (a policy
# script standing in for an LLM: no agent CLI, no API key). Its policy reads the brief: with a
# reviewed rule against the trap it makes the right fix; without one it bumps the pin.
description: drizzle-pin x none/brief x the scripted agent x 2 repeats
fixtures: [drizzle-pin]
conditions: [none, brief]
agents:
  - {name: scripted, adapter: scripted, options: {policy: experiments/brief-vs-none/policy.yaml}}
repeats: 2
timeLimit: 60
jobs: 2
search: fts
"""


def _matrix(workspace: Workspace, root: Path, result: DemoResult, echo: Callable) -> None:
    """Does the knowledge help? A small matrix with the scripted agent, then its report."""
    from experimentos.lab.experiments import new_experiment, set_experiment_status
    from experimentos.matrix.runner import run_matrix
    from experimentos.reports.build import build_reports

    exp = new_experiment(
        workspace, "Brief vs none", "agent", hypothesis="The brief keeps agents off the trap"
    )
    slug = exp.model.id.split(".", 1)[1]
    policy = starter_root() / "experiments" / "scripted-brief-matrix" / "policy.yaml"
    shutil.copyfile(policy, root / "experiments" / slug / "policy.yaml")
    (root / "experiments" / slug / "matrix.yaml").write_text(DEMO_MATRIX, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "The brief-vs-none matrix")
    echo(f"11. experimentos matrix run {slug}  (a fresh fixture copy per run, the oracle decides)")

    def show(run) -> None:  # noqa: ANN001 - RunResult
        result.matrix_runs[run.run_id] = run.outcome or run.status or ""
        echo(f"   {run.outcome or run.status:<8} {run.run_id}  {run.seconds:.1f}s")

    set_experiment_status(workspace, slug, "running", note="the matrix starts")
    run_matrix(workspace, slug, on_result=show)
    built = build_reports(workspace, [slug])
    (written,) = built.reports
    result.report = written.path
    echo(f"12. experimentos report build: {written.path}")
    text = (root / written.path).read_text(encoding="utf-8")
    section = text.split("## Headline", 1)[1].split("\n## ", 1)[0]
    result.headline = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    for line in result.headline:
        echo(f"   {line}")
    set_experiment_status(workspace, slug, "interpreted", note=f"report: {written.path}")
    echo(f"   experimentos exp set-status {slug} interpreted")
