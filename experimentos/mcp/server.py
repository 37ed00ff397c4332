"""The local MCP server: a thin adapter that serves briefs and knowledge to agents.

`build_server(workspace)` returns an `MCPServer`; every tool parses its arguments, calls one
library function over a warm `Live` knowledge base, and returns a small structured answer.
Domain errors become tool errors the model can read; the server stays up. Nothing here writes
to stdout (stdio is the protocol channel).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Annotated, NoReturn

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from experimentos import __version__
from experimentos.briefs.models import (
    DEFAULT_BUDGET,
    DEFAULT_DEPTH,
    Brief,
    BriefRequest,
)
from experimentos.briefs.render import render_brief
from experimentos.errors import ExperimentosError, NotFound, UnsafeId, UsageError
from experimentos.index.search import Filters, SearchResponse, search
from experimentos.knowledge.live import Live
from experimentos.mcp import params as p
from experimentos.mcp.answers import WorkContext, page_markdown, reply, search_markdown
from experimentos.mcp.promotion import register as register_promotion_tool
from experimentos.mcp.records import log_call, logged
from experimentos.mcp.records import register as register_record_tools
from experimentos.mcp.results import register as register_results_tool
from experimentos.mcp.state import (
    BriefAnswer,
    Dependencies,
    PageAnswer,
    PreWork,
    Server,
)
from experimentos.mcp.toolserver import ToolServer
from experimentos.store import Workspace

INSTRUCTIONS = """\
experimentos serves reviewed knowledge about how coding agents fail and what helps.
Before you edit code, call start_pre_work_protocol (or get_work_brief) with the task, the
repository path and the libraries involved. Act on decision rules; treat evidence as unverified
until you check it locally; follow the completion contract before you report success."""

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# Compiling a brief may write briefs/<id>.md (write) or start a run (experiment): not read-only.
BRIEF = ToolAnnotations(read_only_hint=False, open_world_hint=False)
# The old dotted names: some clients reject dots. Callable for one release, not listed.
DEPRECATED_ALIASES = {
    "data.experiments.list": ("experiments_list", {}),
    "data.experiments.tree": ("experiments_tree", {}),
    "data.experiments.describe": ("experiments_describe", {"id": "experiment"}),
    "data.tests.list": ("tests_list", {}),
    "data.tests.describe": ("tests_describe", {"id": "test"}),
}


def _request(
    task: str,
    repo: str | None,
    libraries: list[str] | None,
    agent: str | None,
    model: str | None,
    toolchain: str | None,
    repo_type: str | None,
    files: list[str] | None,
    budget: int,
    depth: int,
) -> BriefRequest:
    return BriefRequest(
        task=task,
        repo=repo,
        libraries=libraries or [],
        agent=agent,
        model=model,
        toolchain=toolchain,
        repo_type=repo_type,
        files=files or [],
        budget=budget,
        depth=depth,
    )


def _resource_error(exc: ExperimentosError) -> ResourceError:
    """An id that names nothing (unknown, or not an id at all) is resource-not-found; anything
    else (a page that does not parse, a file that may not be read) is a resource error."""
    if isinstance(exc, NotFound | UnsafeId | UsageError):
        return ResourceNotFoundError(str(exc))
    return ResourceError(str(exc))


def build_server(
    workspace: Workspace,
    *,
    read_only: bool = False,
    live: Live | None = None,
    knowledge: Workspace | None = None,
    run_id: str | None = None,
    run_token: str | None = None,
) -> MCPServer:
    """The experimentos MCP server over `workspace` (tools, resources and the pre_work prompt).

    `knowledge`: serve pages from another directory (records stay in `workspace`); `run_id`:
    log every call in that run (source server), whether or not the agent passes a run id;
    `run_token`: a blind matrix run (experimentos.lab.runs.tokens): the agent knows its run by
    the token alone, and only the tools of MATRIX_RUN_TOOLS are offered.
    """
    state = Server(
        workspace,
        read_only=read_only,
        live=live,
        knowledge=knowledge,
        run_id=run_id,
        run_token=run_token,
    )
    server = ToolServer(
        name="experimentos",
        title="experimentos knowledge",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )
    server.state = state  # for tests and embedding
    for old, (new, renames) in DEPRECATED_ALIASES.items():
        server.alias(old, new, renames)

    def rejected(tool: str, arguments: dict, message: str) -> None:
        run = state.bound_run or arguments.get("run_id")
        log_call(state, tool, run if isinstance(run, str) else None, arguments, message)

    server.on_rejected = rejected

    @server.tool(annotations=BRIEF)
    @logged(state, "get_work_brief")
    def get_work_brief(
        task: p.Task,
        repo: p.Repo = None,
        libraries: p.Libraries = None,
        agent: p.Agent = None,
        model: p.Model = None,
        toolchain: p.Toolchain = None,
        repo_type: p.RepoType = None,
        files: p.Files = None,
        budget: p.Budget = DEFAULT_BUDGET,
        depth: p.Depth = DEFAULT_DEPTH,
        write: Annotated[
            bool, Field(description="Also write the brief to briefs/<id>.md.")
        ] = False,
        run_id: p.OptionalRunId = None,
    ) -> Annotated[CallToolResult, BriefAnswer]:
        """Use before editing code to read, as Markdown, the reviewed knowledge that applies to
        a task within a token budget: decision rules to act on, background, evidence to verify.
        start_pre_work_protocol gives the same brief and can also start a run."""
        request = _request(
            task, repo, libraries, agent, model, toolchain, repo_type, files, budget, depth
        )
        brief, path = state.brief(request, write=write)
        markdown = render_brief(brief)
        answer = BriefAnswer(
            brief_id=brief.brief_id,
            token_estimate=brief.token_estimate,
            truncated=brief.truncated,
            search_mode=brief.search_mode,
            notice=brief.notice,
            path=path,
            markdown=markdown,
        )
        return reply(answer, markdown)

    @server.tool(annotations=READ)
    @logged(state, "get_agent_work_context")
    def get_agent_work_context(
        task: p.Task,
        repo: p.Repo = None,
        libraries: p.Libraries = None,
        agent: p.Agent = None,
        model: p.Model = None,
        toolchain: p.Toolchain = None,
        repo_type: p.RepoType = None,
        files: p.Files = None,
        budget: p.Budget = DEFAULT_BUDGET,
        depth: p.Depth = DEFAULT_DEPTH,
        run_id: p.OptionalRunId = None,
    ) -> Annotated[CallToolResult, WorkContext]:
        """The brief as data (agent_work_context.v1: boundaries, decision rules, checks,
        completion contract), for a program that acts on it; to read it, use get_work_brief."""
        request = _request(
            task, repo, libraries, agent, model, toolchain, repo_type, files, budget, depth
        )
        brief, _ = state.brief(request)
        return reply(brief.agent_work_context())

    @server.tool(annotations=BRIEF)
    @logged(state, "start_pre_work_protocol")
    def start_pre_work_protocol(
        task: p.Task,
        repo: p.Repo = None,
        libraries: p.Libraries = None,
        agent: p.Agent = None,
        model: p.Model = None,
        toolchain: p.Toolchain = None,
        repo_type: p.RepoType = None,
        files: p.Files = None,
        budget: p.Budget = DEFAULT_BUDGET,
        depth: p.Depth = DEFAULT_DEPTH,
        experiment: Annotated[
            str | None,
            Field(
                description="Start a run under this experiment (slug) and record in it what "
                "you were given.",
                examples=["scripted-brief-matrix"],
            ),
        ] = None,
        run_id: p.OptionalRunId = None,
    ) -> Annotated[CallToolResult, PreWork]:
        """Call first, before you edit code: the brief (Markdown), its work context, your next
        actions and, with `experiment` or `run_id`, a run that records what you were given."""
        request = _request(
            task, repo, libraries, agent, model, toolchain, repo_type, files, budget, depth
        )
        brief, _ = state.brief(request)
        run_id = state.record_pre_work(brief, experiment, run_id, agent, model, toolchain)
        brief = brief.model_copy(update={"run_id": run_id})
        markdown = render_brief(brief)
        actions = next_actions(brief)
        answer = PreWork(
            brief_id=brief.brief_id,
            run_id=run_id,
            markdown=markdown,
            context=brief.agent_work_context(),
            next_actions=actions,
        )
        text = markdown.rstrip() + "\n\n## Next actions\n" + "".join(f"\n- {a}" for a in actions)
        if run_id:
            text += f"\n\nRun: `{run_id}` (pass it as run_id to the record_* tools)"
        return reply(answer, text + "\n")

    @server.tool(annotations=READ)
    @logged(state, "resolve_dependencies")
    def resolve_dependencies(
        page_id: p.PageId, depth: p.Depth = DEFAULT_DEPTH, run_id: p.OptionalRunId = None
    ) -> Annotated[CallToolResult, Dependencies]:
        """Before relying on a page: the pages it rests on (along dependsOn), each with the
        boundary that says how far to trust it."""
        return reply(state.dependencies(page_id, depth))

    @server.tool(annotations=READ)
    @logged(state, "search_knowledge")
    def search_knowledge(
        query: p.Query,
        mode: p.SearchMode = "hybrid",
        limit: p.Limit = 10,
        type: p.TypeFilter = None,  # noqa: A002 - the page field's name
        status: p.StatusFilter = None,
        library: p.Library = None,
        agent: p.Agent = None,
        model: p.Model = None,
        run_id: p.OptionalRunId = None,
    ) -> Annotated[CallToolResult, SearchResponse]:
        """When the brief does not cover something: search the knowledge pages (full text and
        meaning); library, agent and model match a page's appliesTo."""
        filters = Filters(
            type=type.value if type else None,
            status=status.value if status else None,
            library=library,
            agent=agent,
            model=model,
        )
        found = search(
            state.live.index(), query, mode=mode, limit=limit, filters=filters, sync=False
        )
        data = found.model_dump(mode="json")
        return reply(data, search_markdown(data))

    @server.tool(annotations=READ)
    @logged(state, "get_page")
    def get_page(
        page_id: p.PageId, run_id: p.OptionalRunId = None
    ) -> Annotated[CallToolResult, PageAnswer]:
        """Read one page in full (frontmatter, body and its boundary) when a brief or a search
        names it."""
        answer = state.page(page_id)
        data = answer.model_dump(mode="json")
        return reply(data, page_markdown(data))

    register_record_tools(server, state)
    register_results_tool(server, state)
    register_promotion_tool(server, state)

    @server.resource(
        "wiki://pages/{id}", name="page", mime_type="text/markdown", description="A page file."
    )
    def page_resource(id: str) -> str:  # noqa: A002 - the URI template's name
        try:
            return state.page_file(id)
        except ExperimentosError as exc:
            raise _resource_error(exc) from None

    @server.resource(
        "brief://{id}", name="brief", mime_type="text/markdown", description="A compiled brief."
    )
    def brief_resource(id: str) -> str:  # noqa: A002
        try:
            return state.brief_markdown(id)
        except ExperimentosError as exc:
            raise _resource_error(exc) from None

    if state.run_token is not None:
        from experimentos.lab.runs.tokens import MATRIX_RUN_TOOLS

        # A blind matrix run: no tool whose answer reads the experiments (their runs and
        # conditions) or writes outside the run.
        for name in _tool_names(server):
            if name not in MATRIX_RUN_TOOLS:
                server.remove_tool(name)

    @server.prompt(name="pre_work", description="Load the work brief before editing code.")
    def pre_work(task: str, repo: str = "", libraries: str = "") -> str:
        names = ", ".join(x.strip() for x in libraries.split(",") if x.strip())
        lines = [
            "Before you edit any file for this task, call the experimentos tool",
            f"start_pre_work_protocol with task={task!r}"
            + (f", repo={repo!r}" if repo else "")
            + (f", libraries=[{names}]" if names else "")
            + ".",
            "Read the decision rules and act on them; verify every evidence page locally before",
            "relying on it; check the local versions it reports; run the required checks; and",
            "report what the completion contract asks for. Do not claim what it forbids.",
        ]
        return "\n".join(lines)

    return server


def _tool_names(server: MCPServer) -> list[str]:
    """The names of the tools registered on `server` (without a running session)."""
    return [tool.name for tool in server._tool_manager.list_tools()]  # noqa: SLF001


def next_actions(brief: Brief) -> list[str]:
    """What to do after reading the brief, in order."""
    ctx = brief.agent_work_context()
    actions = []
    if ctx["local_versions"]:
        names = ", ".join(sorted(ctx["local_versions"]))
        actions.append(f"check the installed versions of {names} in the repository")
    if ctx["knowledge_boundaries"]["decision_capable"]:
        actions.append("apply the decision rules; record which ones you followed and why")
    for check in ctx["required_checks"]:
        actions.append(f"required check: {check}")
    if ctx["evidence"]:
        actions.append("verify evidence pages locally before acting on them")
    actions.append("run the project's tests after your last edit and report the exact command")
    return actions


def warm_up(server: MCPServer) -> threading.Thread:
    """Load the knowledge, the index and the embedding model in the background, so the first
    call does not pay for them (a call that arrives earlier waits on the same lock). Returns
    the thread: a server that stops joins it before the process exits (see `stop_serving`)."""

    def load() -> None:
        try:
            index = server.state.live.index()
            if index is not None and index.embedder is not None:
                index.embedder.embed_query("warm up")
        except Exception:  # noqa: BLE001 - the first real call reports any problem
            pass

    thread = threading.Thread(target=load, name="experimentos-warm-up", daemon=True)
    thread.start()
    return thread


def stop_serving(warming: threading.Thread, timeout_s: float = 120.0) -> NoReturn:
    """End a server process whose client has gone: wait for the warm-up to leave native code
    (an interpreter that exits while ONNX Runtime or LanceDB threads are mid-call aborts with
    "terminate called without an active exception", exit -6), flush, and exit at once without
    running native destructors, which have nothing left to write."""
    warming.join(timeout_s)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # the client closed its end
            stream.flush()
    os._exit(0)
