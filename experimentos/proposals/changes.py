"""The page changes a proposal can carry. Each applies itself to a Workspace through the store.

`precheck()` validates what can be validated without the base branch (before git is touched);
`apply(workspace)` runs inside the proposal's private worktree and returns the written document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, ClassVar

from pydantic import ValidationError

from experimentos.errors import InvalidPage, UsageError
from experimentos.knowledge.pages import plan_status
from experimentos.models.knowledge import Page, Problem
from experimentos.store import Document, Workspace, id_for_path, page_path, parse_document
from experimentos.store.documents import checksum, frontmatter_dict, validation_problems
from experimentos.store.files import atomic_write, safe_target
from experimentos.store.paths import parse_status, split_id

_FIXED_FIELDS = ("id", "type")


@dataclass(frozen=True)
class NewPage:
    """Create a page (refused when a page with its id exists at the base)."""

    page: Page

    @property
    def page_id(self) -> str:
        return self.page.id

    def precheck(self) -> None:
        page_path(self.page.id)

    def apply(self, workspace: Workspace) -> Document:
        return workspace.save(self.page)


@dataclass(frozen=True)
class PageFile:
    """A whole page file, written by hand or by an agent: created, or replacing the base's.

    The bytes are kept exactly. `path` (relative to the knowledge root) is optional; when given
    it must be where the page's id says the page lives.
    """

    raw: bytes
    path: str | None = None

    @property
    def page_id(self) -> str:
        return self.document().id

    def document(self) -> Document:
        """The parsed page at its path; InvalidPage for bad content or an id/path mismatch."""
        where = self.path or "<proposed page>"
        doc = parse_document(self.raw, where)
        expected = page_path(doc.id).as_posix()
        if self.path is not None:
            rel = PurePosixPath(self.path).as_posix()
            implied = id_for_path(rel)
            if rel != expected:
                message = (
                    f"id {doc.id!r} does not match its path (expected {implied!r})"
                    if implied
                    else f"not a page location; page {doc.id!r} belongs at {expected}"
                )
                raise InvalidPage(
                    rel, [Problem(path=rel, field="id", code="id-path-mismatch", message=message)]
                )
        return parse_document(self.raw, expected) if where != expected else doc

    def precheck(self) -> None:
        self.document()

    def apply(self, workspace: Workspace) -> Document:
        doc = self.document()
        target = workspace.root / doc.path
        expected = checksum(target.read_bytes()) if target.is_file() else None
        atomic_write(workspace.root, doc.path, self.raw, expected=expected)
        return doc


@dataclass(frozen=True)
class PageEdit:
    """Change frontmatter fields (disk names; None removes one) and optionally the body."""

    page_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    body: str | None = None
    # It edits the page as the base has it: edits in the working tree are not in it.
    in_place: ClassVar[bool] = True

    def precheck(self) -> None:
        split_id(self.page_id)
        fixed = [k for k in _FIXED_FIELDS if k in self.fields]
        if fixed:
            raise UsageError(
                f"a page's {fixed[0]} cannot be edited; propose a new page instead",
                field=fixed[0],
            )
        if "body" in self.fields:
            raise UsageError("pass the body as `body`, not as a field", field="body")
        if not self.fields and self.body is None:
            raise UsageError(f"the edit of {self.page_id} changes nothing")

    def apply(self, workspace: Workspace) -> Document:
        doc = workspace.read(self.page_id)
        data = frontmatter_dict(doc.page, doc.keys)
        for key, value in self.fields.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        body = doc.page.body if self.body is None else self.body
        try:
            page = Page.model_validate({**data, "body": body})
        except ValidationError as exc:
            raise InvalidPage(doc.path, validation_problems(doc.path, exc)) from None
        return workspace.save(page, like=doc)


@dataclass(frozen=True)
class StatusChange:
    """A status transition under the review rules of `experimentos page set-status`."""

    page_id: str
    status: str
    rationale: str = ""
    evidence: tuple[str, ...] = ()
    reviewer: str | None = None
    in_place: ClassVar[bool] = True

    def precheck(self) -> None:
        split_id(self.page_id)
        parse_status(self.status)

    def apply(self, workspace: Workspace) -> Document:
        page, doc = plan_status(
            workspace,
            self.page_id,
            self.status,
            self.rationale,
            list(self.evidence),
            self.reviewer,
        )
        return workspace.save(page, like=doc)


@dataclass(frozen=True)
class WrittenFile:
    path: str


@dataclass(frozen=True)
class GeneratedFile:
    """A file a tool regenerates (a matrix report, a run record and its sidecars): written as
    given, or removed when `raw` is None. Never a page: pages go through PageFile."""

    path: str
    raw: bytes | None

    def precheck(self) -> None:
        rel = PurePosixPath(self.path)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or "\\" in self.path:
            raise UsageError(f"{self.path!r} is not a path inside the knowledge root", field="path")
        if id_for_path(rel.as_posix()) is not None:
            raise UsageError(f"{self.path} is a page; propose it as a page", field="path")

    def apply(self, workspace: Workspace) -> WrittenFile:
        target = safe_target(workspace.root, self.path)
        if self.raw is None:
            if target.is_file():
                target.unlink()
        else:
            expected = checksum(target.read_bytes()) if target.is_file() else None
            atomic_write(workspace.root, self.path, self.raw, expected=expected)
        return WrittenFile(self.path)


PageChange = NewPage | PageFile | PageEdit | StatusChange | GeneratedFile
