"""`experimentos impact --base REV`: every task's brief at a base revision and now.

The tasks: every fixture's task (compiled against that fixture's files, as its matrix runs see
it) and the tasks listed under `[impact]` in experimentos.toml. Each brief is compiled twice
with the brief compiler as a library: over the knowledge of the working tree, and over the
knowledge at the base revision, which `git archive` writes into a private temp directory (the
user's tree, index and HEAD are never touched). Everything but the knowledge is the same on
both sides: the task, its repository's manifests and cited code, and the date.

Speed: the base is built from the working tree's view: pages whose bytes are equal share its
parsed documents, and its search index starts as a copy of the working tree's synced for the
differing pages only; only those page files are written out. Both views are frozen (loaded
once, never polled): nothing changes while the briefs are compiled.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from experimentos.briefs.models import BriefRequest
from experimentos.config import CONFIG_NAME, ImpactTask
from experimentos.errors import ExperimentosError, InvalidPage, UsageError
from experimentos.impact.diff import BriefDiff, diff_briefs
from experimentos.knowledge.live import Snapshot, load_snapshot
from experimentos.store import Workspace, parse_document
from experimentos.store.files import STATE_DIR
from experimentos.store.git import Repo
from experimentos.store.gitroot import work_tree
from experimentos.store.paths import id_for_path

Progress = Callable[[str], None]


class TaskSpec(BaseModel):
    name: str
    source: str  # fixture | config | option
    request: BriefRequest


class TaskImpact(BaseModel):
    name: str
    source: str
    task: str
    diff: BriefDiff | None = None
    error: str | None = Field(default=None, description="the brief did not compile on a side")


class Impact(BaseModel):
    base: str
    base_commit: str
    pages_changed: list[str] = Field(default_factory=list, description="page files that differ")
    tasks: list[TaskImpact] = Field(default_factory=list)
    search_mode: str = ""
    notice: str = ""
    seconds: float = 0.0

    @property
    def changed(self) -> list[TaskImpact]:
        return [t for t in self.tasks if t.error or (t.diff and t.diff.changed)]


def impact_tasks(
    workspace: Workspace, *, fixtures: bool | None = None, extra: list[str] | None = None
) -> list[TaskSpec]:
    """The fixtures' tasks (unless `fixtures` is False or `[impact] fixtures = false`), the
    tasks of `[impact]`, and `extra` task texts."""
    from experimentos.matrix.fixtures import list_fixtures

    config = workspace.config.impact
    budget = {"budget": config.budget} if config.budget else {}
    root = workspace.root
    default_repo = str(work_tree(root) or root)
    out: list[TaskSpec] = []
    if fixtures if fixtures is not None else config.fixtures:
        found, _problems = list_fixtures(root)  # `fixture check` reports bad fixtures
        for loaded in found:
            request = BriefRequest(
                task=loaded.fixture.task, repo=str(loaded.directory), **budget
            ).checked()
            out.append(TaskSpec(name=loaded.name, source="fixture", request=request))
    for i, item in enumerate(config.tasks):
        task = ImpactTask(task=item) if isinstance(item, str) else item
        repo = default_repo
        if task.repo:
            target = (root / task.repo).resolve()
            if not target.is_dir() or not target.is_relative_to(root.resolve()):
                raise UsageError(
                    f"{task.repo!r} is not a directory inside the knowledge root",
                    path=CONFIG_NAME,
                    field=f"impact.tasks.{i}.repo",
                )
            repo = str(target)
        fields = task.model_dump(exclude={"name", "repo", "budget"}, exclude_none=True)
        request = BriefRequest(
            **fields, repo=repo, **({"budget": task.budget} if task.budget else budget)
        )
        try:
            request = request.checked()
        except UsageError as exc:
            raise UsageError(exc.message, path=CONFIG_NAME, field=f"impact.tasks.{i}") from None
        name = task.name or _short(request.task)
        out.append(TaskSpec(name=name, source="config", request=request))
    for text in extra or []:
        request = BriefRequest(task=text, repo=default_repo, **budget).checked()
        out.append(TaskSpec(name=_short(request.task), source="option", request=request))
    names: dict[str, int] = {}
    for spec in out:  # names are keys of the report: make them unique
        seen = names.get(spec.name, 0)
        names[spec.name] = seen + 1
        if seen:
            spec.name = f"{spec.name} ({seen + 1})"
    return out


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


class Frozen:
    """What the brief compiler reads of a knowledge base (`snapshot()`, `index()`,
    `workspace`, `notice`, as experimentos.knowledge.live.Live offers them) for files that do
    not change while it is used: loaded once, never polled again."""

    def __init__(self, workspace: Workspace, snapshot: Snapshot, index, notice: str):  # noqa: ANN001
        self.workspace = workspace
        self._snapshot = snapshot
        self._index = index
        self.notice = notice

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def index(self):  # noqa: ANN201 - experimentos.index.Index
        return self._index


def _notice(summary) -> str:  # noqa: ANN001 - SyncSummary
    return summary.notice if summary.rebuilt or summary.mode == "fts" else ""


def _head(workspace: Workspace) -> Frozen:
    """The working tree: every page parsed, its search index synced (incremental)."""
    from experimentos.index import Index

    snapshot = load_snapshot(workspace)
    index = Index(workspace)
    return Frozen(workspace, snapshot, index, _notice(index.sync()))


def _base(root: Path, base: str, head: Frozen, where: Path) -> tuple[str, Frozen, list[str]]:
    """The knowledge at `base` as a frozen view, built from the working tree's: the pages
    whose bytes are the same share its parsed documents, and its search index starts as a
    copy of the working tree's, synced for the page files that differ. Only those files (and
    the base's experimentos.toml) are written under `where`. Returns (commit, view, the page
    paths that differ)."""
    from experimentos.index import Index
    from experimentos.matrix.knowledge import knowledge_at

    commit, files = knowledge_at(root, base)
    repo, prefix = Repo.containing(root)
    config = repo.blob(commit, f"{prefix}/{CONFIG_NAME}" if prefix else CONFIG_NAME)
    if config is not None:
        (where / CONFIG_NAME).write_bytes(config)
    ours = head.snapshot()
    pages = {rel: data for rel, data in files.items() if id_for_path(rel) is not None}
    mine = set(ours.documents) | set(ours.failed)
    differ = sorted(
        rel
        for rel in set(pages) | mine
        if rel not in ours.documents or rel not in pages or ours.documents[rel].raw != pages[rel]
    )
    documents = {rel: doc for rel, doc in ours.documents.items() if rel in pages}
    failed: dict = {}
    for rel in differ:
        documents.pop(rel, None)
        if rel not in pages:
            continue  # gone at the base
        target = where / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pages[rel])
        try:
            documents[rel] = parse_document(pages[rel], rel)
        except InvalidPage as exc:
            failed[rel] = ((0, 0, 0), exc.problems)
    stats = {rel: ours.stats.get(rel, (0, 0, 0)) for rel in documents}
    snapshot = Snapshot(documents=documents, stats=stats, failed=failed, previous=ours)
    workspace = Workspace(where)
    _seed_index(root, where)
    index = Index(workspace)
    summary = index.sync(changed=differ)
    return commit, Frozen(workspace, snapshot, index, _notice(summary)), differ


def _seed_index(head: Path, base: Path) -> None:
    """Start the base's index (and the exported embedding model) from the working tree's."""
    source = head / STATE_DIR
    target = base / STATE_DIR
    target.mkdir(parents=True, exist_ok=True)
    index = source / "index"
    if index.is_dir() and not index.is_symlink():
        shutil.copytree(index, target / "index", symlinks=True)
    models = source / "models"
    if models.is_dir() and not models.is_symlink():
        (target / "models").mkdir(exist_ok=True)
        for item in models.iterdir():
            if item.is_file() and not item.is_symlink():
                try:
                    os.link(item, target / "models" / item.name)  # read only: no copy needed
                except OSError:
                    shutil.copy2(item, target / "models" / item.name)


def brief_impact(
    workspace: Workspace,
    base: str,
    *,
    tasks: list[TaskSpec] | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> Impact:
    """Every task's brief over the knowledge at `base` and over the working tree's, compared."""
    from experimentos.briefs.compiler import compile_brief
    from experimentos.briefs.render import render_brief

    began = time.perf_counter()
    note = progress or (lambda _text: None)
    root = workspace.root
    today = today or dt.date.today()
    tasks = impact_tasks(workspace) if tasks is None else tasks
    holder = Path(tempfile.mkdtemp(prefix="xos-impact-"))
    try:
        note("reading the working tree's knowledge and syncing its search index")
        head = _head(workspace)
        note(f"reading the knowledge at {base}")
        commit, before_view, differ = _base(root, base, head, holder)
        result = Impact(base=base, base_commit=commit, pages_changed=differ)
        for i, spec in enumerate(tasks, 1):
            note(f"[{i}/{len(tasks)}] {spec.name}")
            item = TaskImpact(name=spec.name, source=spec.source, task=spec.request.task)
            try:
                before = compile_brief(before_view, spec.request, today)
                after = compile_brief(head, spec.request, today)
            except ExperimentosError as exc:
                item.error = str(exc)
            else:
                item.diff = diff_briefs(before, after, render_brief(before), render_brief(after))
                result.search_mode = result.search_mode or after.search_mode
                result.notice = result.notice or after.notice
            result.tasks.append(item)
    finally:
        shutil.rmtree(holder, ignore_errors=True)
    result.seconds = round(time.perf_counter() - began, 3)
    return result
