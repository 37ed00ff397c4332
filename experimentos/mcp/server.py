"""The local MCP server: a thin adapter that serves briefs and knowledge to agents.

`build_server(workspace)` returns an `MCPServer`; every tool parses its arguments, calls one
library function over a warm `Live` knowledge base, and returns a small structured answer.
Domain errors become tool errors the model can read; the server stays up. Nothing here writes
to stdout (stdio is the protocol channel).
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import ToolAnnotations
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
from experimentos.mcp.promotion import register as register_promotion_tool
from experimentos.mcp.records import logged
from experimentos.mcp.records import register as register_record_tools
from experimentos.mcp.results import register as register_results_tool
from experimentos.mcp.state import (
    BriefAnswer,
    Dependencies,
    PageAnswer,
    PreWork,
    Server,
)
from experimentos.store import Workspace

INSTRUCTIONS = """\
experimentos serves reviewed knowledge about how coding agents fail and what helps.
Before you edit code, call start_pre_work_protocol (or get_work_brief) with the task, the
repository path and the libraries involved. Act on decision rules; treat evidence as unverified
until you check it locally; follow the completion contract before you report success."""

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

Task = Annotated[str, Field(description="What the agent is about to do, in its own words.")]
Repo = Annotated[
    str | None,
    Field(
        description="Path of the target repository (its manifests are read): absolute, or "
        "relative to the knowledge root."
    ),
]
Libraries = Annotated[list[str] | None, Field(description="Libraries the task involves.")]
Files = Annotated[list[str] | None, Field(description="Repo-relative files the task touches.")]
Budget = Annotated[int, Field(description="Token budget of the brief.")]
Depth = Annotated[int, Field(description="How many dependsOn hops to load.")]
RunIdArg = Annotated[
    str | None, Field(description="Your run id, if any: the server logs the call in that run.")
]


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


def _tool_error(exc: ExperimentosError) -> ToolError:
    return ToolError(str(exc))


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
    server = MCPServer(
        name="experimentos",
        title="experimentos knowledge",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )
    server.state = state  # for tests and embedding

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    @logged(state, "get_work_brief")
    def get_work_brief(
        task: Task,
        repo: Repo = None,
        libraries: Libraries = None,
        agent: str | None = None,
        model: str | None = None,
        toolchain: str | None = None,
        repo_type: str | None = None,
        files: Files = None,
        budget: Budget = DEFAULT_BUDGET,
        depth: Depth = DEFAULT_DEPTH,
        write: Annotated[bool, Field(description="Also write briefs/<id>.md.")] = False,
        run_id: RunIdArg = None,
    ) -> BriefAnswer:
        """The reviewed knowledge that applies to a task, as Markdown within a token budget."""
        try:
            request = _request(
                task, repo, libraries, agent, model, toolchain, repo_type, files, budget, depth
            )
            brief, path = state.brief(request, write=write)
        except ExperimentosError as exc:
            raise _tool_error(exc) from None
        return BriefAnswer(
            brief_id=brief.brief_id,
            token_estimate=brief.token_estimate,
            truncated=brief.truncated,
            search_mode=brief.search_mode,
            notice=brief.notice,
            path=path,
            markdown=render_brief(brief),
        )

    @server.tool(annotations=READ)
    @logged(state, "get_agent_work_context")
    def get_agent_work_context(
        task: Task,
        repo: Repo = None,
        libraries: Libraries = None,
        agent: str | None = None,
        model: str | None = None,
        toolchain: str | None = None,
        repo_type: str | None = None,
        files: Files = None,
        budget: Budget = DEFAULT_BUDGET,
        depth: Depth = DEFAULT_DEPTH,
        run_id: RunIdArg = None,
    ) -> dict[str, Any]:
        """The brief as structured data (agent_work_context.v1): boundaries, rules, checks."""
        try:
            request = _request(
                task, repo, libraries, agent, model, toolchain, repo_type, files, budget, depth
            )
            brief, _ = state.brief(request)
        except ExperimentosError as exc:
            raise _tool_error(exc) from None
        return brief.agent_work_context()

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    @logged(state, "start_pre_work_protocol")
    def start_pre_work_protocol(
        task: Task,
        repo: Repo = None,
        libraries: Libraries = None,
        agent: str | None = None,
        model: str | None = None,
        toolchain: str | None = None,
        repo_type: str | None = None,
        files: Files = None,
        budget: Budget = DEFAULT_BUDGET,
        depth: Depth = DEFAULT_DEPTH,
        experiment: Annotated[
            str | None, Field(description="Experiment slug: start a run under it.")
        ] = None,
        run_id: RunIdArg = None,
    ) -> PreWork:
        """Call before editing: the brief, its work context, the next actions, and (with an
        experiment or run id) a run that records that the brief and its dependencies loaded."""
        try:
            request = _request(
                task, repo, libraries, agent, model, toolchain, repo_type, files, budget, depth
            )
            brief, _ = state.brief(request)
            run_id = state.record_pre_work(brief, experiment, run_id, agent, model, toolchain)
        except ExperimentosError as exc:
            raise _tool_error(exc) from None
        brief = brief.model_copy(update={"run_id": run_id})
        return PreWork(
            brief_id=brief.brief_id,
            run_id=run_id,
            markdown=render_brief(brief),
            context=brief.agent_work_context(),
            next_actions=next_actions(brief),
        )

    @server.tool(annotations=READ)
    @logged(state, "resolve_dependencies")
    def resolve_dependencies(
        page_id: Annotated[str, Field(description="A page id, e.g. policy.keep-pins.")],
        depth: Depth = DEFAULT_DEPTH,
        run_id: RunIdArg = None,
    ) -> Dependencies:
        """What a page rests on, along dependsOn, with each dependency's boundary."""
        try:
            return state.dependencies(page_id, depth)
        except ExperimentosError as exc:
            raise _tool_error(exc) from None

    @server.tool(annotations=READ)
    @logged(state, "search_knowledge")
    def search_knowledge(
        query: str,
        mode: Annotated[str, Field(description="hybrid, vector or fts")] = "hybrid",
        limit: int = 10,
        type: str | None = None,
        status: str | None = None,
        library: str | None = None,
        agent: str | None = None,
        model: str | None = None,
        run_id: RunIdArg = None,
    ) -> SearchResponse:
        """Search the knowledge pages (hybrid full-text + vector); filters match appliesTo."""
        try:
            if limit > 100:
                raise UsageError("limit must be at most 100", field="limit")
            filters = Filters(type=type, status=status, library=library, agent=agent, model=model)
            return search(
                state.live.index(), query, mode=mode, limit=limit, filters=filters, sync=False
            )
        except ExperimentosError as exc:
            raise _tool_error(exc) from None

    @server.tool(annotations=READ)
    @logged(state, "get_page")
    def get_page(
        page_id: Annotated[str, Field(description="A page id, e.g. failure.red-green-churn.")],
        run_id: RunIdArg = None,
    ) -> PageAnswer:
        """One page: frontmatter, Markdown body, and its knowledge boundary."""
        try:
            return state.page(page_id)
        except ExperimentosError as exc:
            raise _tool_error(exc) from None

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


def warm_up(server: MCPServer) -> None:
    """Load the knowledge, the index and the embedding model in the background, so the first
    call does not pay for them (a call that arrives earlier waits on the same lock)."""
    import threading

    def load() -> None:
        try:
            index = server.state.live.index()
            if index is not None and index.embedder is not None:
                index.embedder.embed_query("warm up")
        except Exception:  # noqa: BLE001 - the first real call reports any problem
            pass

    threading.Thread(target=load, name="experimentos-warm-up", daemon=True).start()
