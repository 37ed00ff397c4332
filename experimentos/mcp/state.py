"""The state behind the MCP tools: the warm knowledge base, recent briefs, and the answers.

Both `server.py` (the knowledge tools) and `records.py` (the run and experiment tools) build on
this module; neither imports the other's tools.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from experimentos.briefs.compiler import boundary_of, compile_brief
from experimentos.briefs.models import BRIEF_ID_RE, Brief, BriefRequest
from experimentos.briefs.render import render_brief, write_brief
from experimentos.errors import NotFound, UsageError
from experimentos.knowledge.live import Live
from experimentos.store import Workspace
from experimentos.store.paths import split_id
from experimentos.store.safe import read_regular

WRITE_NOTE = "refused: the server runs with --read-only"
BRIEF_MEMORY = 64


class BriefAnswer(BaseModel):
    brief_id: str
    token_estimate: int
    truncated: bool
    search_mode: str
    notice: str = ""
    path: str | None = None  # briefs/<id>.md when written
    markdown: str


class PreWork(BaseModel):
    brief_id: str
    run_id: str | None = None
    markdown: str
    context: dict[str, Any]
    next_actions: list[str]


class Dependency(BaseModel):
    id: str
    title: str
    type: str
    status: str
    boundary: str
    depth: int
    via: str | None


class Dependencies(BaseModel):
    page_id: str
    depth: int
    dependencies: list[Dependency]
    missing: list[dict[str, str]]
    cycles: list[list[str]] = Field(default_factory=list)


class PageAnswer(BaseModel):
    id: str
    path: str
    boundary: str
    frontmatter: dict[str, Any]
    body: str


class Server:
    """The state behind the tools: the warm knowledge base and recently compiled briefs.

    `workspace` holds the records (experiments, runs, event logs). The knowledge may come from
    another directory (`knowledge`: a matrix run's knowledge variant). With `run_id` bound,
    every tool call is logged in that run, whatever run id the agent passes or omits. With a
    `run_token` too (a matrix run), the agent knows its run only by the token: it may pass the
    token where a run id goes, and every answer shows the token where the run id would be.
    """

    def __init__(
        self,
        workspace: Workspace,
        read_only: bool = False,
        live: Live | None = None,
        knowledge: Workspace | None = None,
        run_id: str | None = None,
        run_token: str | None = None,
    ):
        self.live = live or Live(knowledge or workspace)
        self._records = workspace if knowledge is not None else None
        self.read_only = read_only
        self.bound_run = run_id
        self.run_token = run_token if run_id is not None else None
        self.briefs: OrderedDict[str, Brief] = OrderedDict()
        self.proposals_opened = 0  # by this server process, for all its callers together
        self._proposals_lock = threading.Lock()

    @contextlib.contextmanager
    def proposal_slot(self) -> Iterator[None]:
        """Hold one of the proposals this server may open ([server] max_proposals); a refused
        or failed proposal gives its slot back. A barrage of propose_page calls stops here."""
        limit = self.live.workspace.config.server.max_proposals
        with self._proposals_lock:
            if self.proposals_opened >= limit:
                raise UsageError(
                    f"propose_page is refused: this server has opened {self.proposals_opened} "
                    f"proposals, its limit ([server] max_proposals = {limit} in "
                    "experimentos.toml); a person reviews them first (experimentos proposals "
                    "list), then restarts the server or raises the limit"
                )
            self.proposals_opened += 1
        try:
            yield
        except BaseException:
            with self._proposals_lock:
                self.proposals_opened -= 1
            raise

    def incoming_run(self, run_id: str | None) -> str | None:
        """The run id a tool argument means: the bound run for its token."""
        if self.run_token is not None and run_id == self.run_token:
            return self.bound_run
        return run_id

    def served(self, result: Any) -> list[str]:
        """The pages an answer served: a brief's pages (its entries), or a page read whole.
        The server logs them with the call, so a page's effect is measured only on the runs
        that were served it."""
        if isinstance(result, PageAnswer):
            return [result.id]
        brief_id = result.get("brief_id") if isinstance(result, dict) else None
        brief_id = brief_id or getattr(result, "brief_id", None)
        brief = self.briefs.get(brief_id) if isinstance(brief_id, str) else None
        return [e.id for e in brief.entries] if brief is not None else []

    def blind(self, value: Any) -> Any:
        """`value` (an answer, a message) with the bound run's id replaced by its token."""
        if self.run_token is None or self.bound_run is None:
            return value
        return _replace_text(value, self.bound_run, self.run_token)

    @property
    def records(self) -> Workspace:
        """Where runs and experiments are read and written."""
        return self._records or self.live.workspace

    def brief(self, request: BriefRequest, write: bool = False) -> tuple[Brief, str | None]:
        if write and self.read_only:
            raise UsageError(f"writing the brief file is {WRITE_NOTE}", field="write")
        brief = compile_brief(self.live, self.anchored(request))
        self.briefs[brief.brief_id] = brief
        self.briefs.move_to_end(brief.brief_id)
        while len(self.briefs) > BRIEF_MEMORY:
            self.briefs.popitem(last=False)
        path = write_brief(self.live.workspace, brief) if write else None
        return brief, path

    def anchored(self, request: BriefRequest) -> BriefRequest:
        """The request with a relative `repo` taken from the knowledge root.

        The server's working directory is wherever the client happened to start it, so it
        means nothing to the agent; the knowledge root is the one place both sides know.
        """
        if not request.repo:
            return request
        try:
            repo = Path(request.repo).expanduser()
        except RuntimeError:  # ~name of an unknown user
            raise UsageError(f"cannot expand {request.repo[:80]!r}", field="repo") from None
        if repo.is_absolute():
            return request
        return request.model_copy(update={"repo": str(self.live.workspace.root / repo)})

    def record_pre_work(
        self,
        brief: Brief,
        experiment: str | None,
        run_id: str | None,
        agent: str | None,
        model: str | None,
        toolchain: str | None,
    ) -> str | None:
        """Start (or reuse) the run and record, as the server, what the agent was given."""
        if self.bound_run is not None:
            run_id = self.bound_run  # a bound server records into its run, and only there
        if experiment is None and run_id is None:
            return None
        if self.read_only:
            raise UsageError(f"recording a run is {WRITE_NOTE}", field="experiment")
        from experimentos.lab.runs import append_event, start_run

        ws = self.records
        if run_id is None:
            record = start_run(
                ws, experiment, brief.request.task, agent=agent, model=model,
                toolchain=toolchain, brief=brief.brief_id,
            )  # fmt: skip
            run_id = record.model.id
        pages = [e.id for e in brief.entries]
        append_event(
            ws, run_id, "brief_loaded", {"brief_id": brief.brief_id, "page_ids": pages},
            source="server",
        )  # fmt: skip
        deps = [e.id for e in brief.entries if e.role == "dependency"] or pages
        if deps:
            payload = {"page_ids": deps, "brief_id": brief.brief_id}
            append_event(ws, run_id, "dependency_resolved", payload, source="server")
        return run_id

    def dependencies(self, page_id: str, depth: int) -> Dependencies:
        split_id(page_id)  # UnsafeId for anything that is not a page id
        if not 0 <= depth <= 10:
            raise UsageError("depth must be between 0 and 10", field="depth")
        snap = self.live.snapshot()
        snap.page(page_id)
        closure = snap.graph.closure(page_id, depth)
        deps = []
        for node in closure.nodes[1:]:
            page = snap.pages[node.id]
            deps.append(
                Dependency(
                    id=page.id,
                    title=page.title,
                    type=page.type.value,
                    status=page.status.value,
                    boundary=boundary_of(page, stale=False),
                    depth=node.depth,
                    via=node.via,
                )
            )
        members = {page_id, *closure.ids}
        cycles = [c for c in snap.graph.cycles() if members & set(c)]
        missing = [{"source": e.source, "target": e.target} for e in closure.missing]
        return Dependencies(
            page_id=page_id, depth=depth, dependencies=deps, missing=missing, cycles=cycles
        )

    def page(self, page_id: str) -> PageAnswer:
        split_id(page_id)
        snap = self.live.snapshot()
        page = snap.page(page_id)
        path = snap.path_of(page_id)
        return PageAnswer(
            id=page.id,
            path=path,
            boundary=boundary_of(page, stale=False),
            frontmatter=page.model_dump(mode="json", by_alias=True, exclude_defaults=True),
            body=page.body,
        )

    def page_file(self, page_id: str) -> str:
        """The page file's text, as the snapshot read it (inside the root, a regular file)."""
        split_id(page_id)
        snap = self.live.snapshot()
        snap.page(page_id)
        return snap.documents[snap.path_of(page_id)].raw.decode("utf-8")

    def brief_markdown(self, brief_id: str) -> str:
        if not BRIEF_ID_RE.fullmatch(brief_id):
            raise UsageError(f"{brief_id!r} is not a brief id (brief.<16 hex digits>)", field="id")
        if brief_id in self.briefs:
            return render_brief(self.briefs[brief_id])
        try:
            raw = read_regular(self.live.workspace.root, f"briefs/{brief_id}.md")
        except NotFound:
            raise NotFound(
                f"no brief {brief_id!r} (compile it with get_work_brief)", field="id"
            ) from None
        return raw.decode("utf-8", errors="replace")


def _replace_text(value: Any, old: str, new: str) -> Any:
    """Every string inside `value` (a model, dict, list or string) with `old` replaced."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, BaseModel):
        data = _replace_text(value.model_dump(mode="json", by_alias=True), old, new)
        return type(value).model_validate(data)
    if isinstance(value, dict):
        return {_replace_text(k, old, new): _replace_text(v, old, new) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_replace_text(v, old, new) for v in value)
    return value
