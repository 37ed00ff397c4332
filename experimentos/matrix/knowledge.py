"""Knowledge variants: what the MCP server of a condition serves, built once into a directory.

    brief                    wiki/ and policies/ of the working tree (a snapshot, so edits made
                             while the matrix runs change nothing)
    brief-without:<page-id>  the same snapshot minus that page's file, and with every mention
                             of its id in other pages replaced (blindness: a brief that still
                             named the removed page would tell the agent which page it was,
                             and what the page's id says of its rule)
    knowledge@<git-rev>      wiki/ and policies/ as committed at that revision (`git archive`)

Every variant also gets the root's experimentos.toml (the same index settings everywhere, so the
only difference between conditions is the knowledge; the spec's `search` may switch the
embedder off, or on, for all of them alike). A variant lives under
.experimentos/matrix/knowledge/<content hash>/ and is reused while its content is unchanged; its
search index is built once there, before any run starts, so the per-run servers start warm.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from experimentos.config import CONFIG_NAME
from experimentos.errors import ExperimentosError, UsageError
from experimentos.index.embeddings import MINILM
from experimentos.lab.runs.records import knowledge_commit
from experimentos.matrix.spec import Condition
from experimentos.store.files import current_umask, state_lock
from experimentos.store.paths import KNOWLEDGE_ROOTS, id_for_path, page_path
from experimentos.store.safe import state_path
from experimentos.store.workspace import load_config

VARIANTS = ("matrix", "knowledge")  # under the state directory
READY = ".ready"
MAX_KNOWLEDGE_BYTES = 64 * 1024 * 1024
INDEX_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class KnowledgeSource:
    """The knowledge a condition serves, read and hashed (not yet written anywhere)."""

    condition: Condition
    commit: str | None  # the commit it comes from (HEAD of the root for working-tree variants)
    description: str
    content_hash: str | None = None  # None: no knowledge served (condition none)
    pages: int | None = None
    dirty: bool = False
    files: dict[str, bytes] = field(default_factory=dict, repr=False)

    def record(self) -> dict:
        """The `knowledge` block of a run record."""
        return {
            "commit": self.commit,
            "variant": self.description,
            "contentHash": self.content_hash,
            "pages": self.pages,
            "dirty": self.dirty,
        }


def _git(root: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=not binary, timeout=120, env=env
    )


def _working_tree_files(root: Path) -> dict[str, bytes]:
    """Regular files under wiki/ and policies/ (symlinks are never followed, nor copied)."""
    files: dict[str, bytes] = {}
    total = 0
    for top in KNOWLEDGE_ROOTS:
        base = root / top
        if base.is_symlink() or not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
            for name in sorted(filenames):
                path = Path(dirpath) / name
                st = path.lstat()
                if not stat.S_ISREG(st.st_mode):
                    continue
                total += st.st_size
                if total > MAX_KNOWLEDGE_BYTES:
                    raise UsageError(
                        f"the knowledge under wiki/ and policies/ is larger than "
                        f"{MAX_KNOWLEDGE_BYTES} bytes",
                        path=top,
                    )
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _config_bytes(root: Path, search: str | None) -> bytes | None:
    """The variants' experimentos.toml: the root's, with the embedder switched off for
    `search: fts` (and on for `hybrid`)."""
    path = root / CONFIG_NAME
    raw = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    if search is None:
        return raw
    config = load_config(root)
    index = config.index.model_copy(update={"embedder": "none" if search == "fts" else MINILM})
    lines = [f"# written by experimentos matrix (search: {search})", f"format = {config.format}"]
    lines.append("\n[index]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in index.model_dump().items()]
    base = config.proposals.base
    if base is not None:
        lines += ["\n[proposals]", f"base = {json.dumps(base)}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        digest.update(f"{len(rel)}:{rel}:{len(data)}\n".encode())
        digest.update(data)
    return "sha256:" + digest.hexdigest()


def _pages(files: dict[str, bytes]) -> int:
    return sum(1 for rel in files if id_for_path(rel) is not None)


def _with_config(files: dict[str, bytes], config: bytes | None) -> dict[str, bytes]:
    return {**files, CONFIG_NAME: config} if config is not None else dict(files)


def _dirty(root: Path) -> bool:
    result = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *KNOWLEDGE_ROOTS)
    return result.returncode == 0 and bool(result.stdout.strip())


def _at_revision(root: Path, rev: str, where: str) -> tuple[str, dict[str, bytes]]:
    """(commit, files of wiki/ and policies/ at that commit), via git archive."""
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0 or not found.stdout.strip():
        raise UsageError(
            f"knowledge@{rev}: {rev!r} is not a commit of the repository at {root}", field=where
        )
    commit = found.stdout.strip()
    prefix = _git(root, "rev-parse", "--show-prefix").stdout.strip()
    tops = [f"{prefix}{top}" for top in KNOWLEDGE_ROOTS]
    listed = _git(root, "ls-tree", "--name-only", commit, "--", *tops)
    present = [line for line in listed.stdout.splitlines() if line]
    if not present:
        raise UsageError(
            f"knowledge@{rev}: commit {commit[:12]} has no wiki/ or policies/", field=where
        )
    archive = _git(root, "archive", "--format=tar", commit, "--", *present, binary=True)
    if archive.returncode != 0:
        message = archive.stderr.decode("utf-8", "replace").strip()
        raise UsageError(f"knowledge@{rev}: git archive failed: {message}", field=where)
    files: dict[str, bytes] = {}
    total = 0
    with tarfile.open(fileobj=io.BytesIO(archive.stdout), mode="r:") as tar:
        for member in tar.getmembers():
            if not member.isreg():  # links and devices are never recreated
                continue
            rel = PurePosixPath(member.name)
            if rel.is_absolute() or ".." in rel.parts or not member.name.startswith(prefix):
                continue
            total += member.size
            if total > MAX_KNOWLEDGE_BYTES:
                raise UsageError(f"knowledge@{rev}: larger than {MAX_KNOWLEDGE_BYTES} bytes")
            handle = tar.extractfile(member)
            if handle is not None:
                files[member.name[len(prefix) :]] = handle.read()
    return commit, files


def knowledge_at(root: Path, rev: str, where: str = "base") -> tuple[str, dict[str, bytes]]:
    """(commit, the files of wiki/ and policies/ at `rev`), read with `git archive` (regular
    files only, within the size limit); UsageError naming `where` when `rev` is no commit."""
    return _at_revision(Path(root).resolve(), rev, where)


def resolve_knowledge(
    root: Path, conditions: list[Condition], search: str | None = None
) -> dict[str, KnowledgeSource]:
    """The knowledge of every condition, by condition text; UsageError naming `conditions.<i>`
    for a page that does not exist or a revision that does not resolve."""
    root = Path(root).resolve()
    head = knowledge_commit(root)
    config = _config_bytes(root, search)
    tree: dict[str, bytes] | None = None
    dirty: bool | None = None
    searched = f"; search: {search}" if search else ""
    out: dict[str, KnowledgeSource] = {}
    for i, condition in enumerate(conditions):
        where = f"conditions.{i}"
        if condition.kind == "none":
            out[condition.text] = KnowledgeSource(
                condition, head, "none: no MCP server, no knowledge served"
            )
            continue
        if condition.kind == "knowledge":
            commit, files = _at_revision(root, condition.arg or "", where)
            description = f"wiki/ and policies/ as of {condition.arg} ({commit[:12]}){searched}"
            files = _with_config(files, config)
            out[condition.text] = KnowledgeSource(
                condition, commit, description, _content_hash(files), _pages(files), False, files
            )
            continue
        if tree is None:
            tree = _working_tree_files(root)
            dirty = _dirty(root) if head else False
        files = dict(tree)
        state = f"working tree at {head[:12]}" if head else "working tree (not in git)"
        if dirty:
            state += " with uncommitted changes"
        description = state
        if condition.kind == "brief-without":
            page = condition.arg or ""
            rel = page_path(page).as_posix()
            if rel not in files:
                raise UsageError(
                    f"brief-without:{page}: no page {page!r} in the knowledge (expected {rel})",
                    field=where,
                )
            del files[rel]
            files = without_mentions(files, page)
            description = f"{state}, without {page}"
        description += searched
        files = _with_config(files, config)
        out[condition.text] = KnowledgeSource(
            condition, head, description, _content_hash(files), _pages(files), bool(dirty), files
        )
    return out


MENTION = "another page"  # what a mention of a removed page becomes (the same for every page)


def without_mentions(files: dict[str, bytes], page_id: str) -> dict[str, bytes]:
    """The knowledge files with `page_id` gone from every other page, as if it had never been
    written: dropped from the edge lists (dependsOn, mitigates, …), and every other mention
    (a `[[link]]`, the id in prose or in a text field) replaced by "another page".

    Review evidence is the one place where dropping the id would change another page: a policy
    whose review cites only the removed page would lose its review, and so its rule (an
    ablation that removed two rules). There the id is replaced by the reviewing page's own id,
    which keeps the review as it was and names nothing new.
    """
    from experimentos.errors import InvalidPage
    from experimentos.store.documents import parse_document, render

    needle = page_id.encode("utf-8")
    out = dict(files)
    for rel, data in files.items():
        if needle not in data or id_for_path(rel) is None:
            continue
        try:
            doc = parse_document(data, rel)
        except InvalidPage:
            continue  # a page that does not parse is never served
        page = doc.page
        update = {
            name: [x for x in getattr(page, name) if x != page_id]
            for name in ("depends_on", "contradicts", "supersedes", "mitigates", "derived_from",
                         "validated_by")
        }  # fmt: skip
        if page.review is not None and page_id in page.review.evidence:
            kept = [x for x in page.review.evidence if x != page_id] or [page.id]
            update["review"] = page.review.model_copy(update={"evidence": kept})
        changed = render(page.model_copy(update=update), doc)
        text = changed.decode("utf-8").replace(f"[[{page_id}]]", MENTION)
        text = text.replace(page_id, MENTION)
        try:
            parse_document(text.encode("utf-8"), rel)
            out[rel] = text.encode("utf-8")
        except InvalidPage:  # a mention inside a field that takes an id: keep the edges' edit
            out[rel] = changed
    return out


def variant_dir(root: Path, source: KnowledgeSource, *, create: bool = False) -> Path:
    """.experimentos/matrix/knowledge/<hash>: real directories inside the root, never a link
    (UnsafePath); with `create`, the directories above it are made."""
    digest = (source.content_hash or "").removeprefix("sha256:")[:20]
    if not digest:
        raise UsageError("condition none serves no knowledge", field="conditions")
    state_path(Path(root), *VARIANTS, create=create)
    return state_path(Path(root), *VARIANTS, digest, create=False)


def _ready(target: Path, source: KnowledgeSource) -> bool:
    """A variant finished by a build: its marker is a regular file naming its content hash."""
    try:
        fd = os.open(target / READY, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.read(fd, 256).decode("utf-8", "replace").strip() == source.content_hash
    finally:
        os.close(fd)


def build_variant(root: Path, source: KnowledgeSource, index: bool = True) -> Path:
    """The variant's directory, written (and its search index built) unless it already is.

    Safe against concurrent runners: the build holds a lock, writes into a temp directory and
    renames it into place; a half-built directory is never used.
    """
    if source.content_hash is None:
        raise UsageError("condition none serves no knowledge", field="conditions")
    root = Path(root)
    target = variant_dir(root, source, create=True)
    if _ready(target, source):
        return target
    with state_lock(root, "matrix-knowledge.lock"):
        target = variant_dir(root, source, create=True)
        if _ready(target, source):
            return target
        if target.exists():
            shutil.rmtree(target)  # a build that stopped half-way (a real directory: checked)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".build-"))
        tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; follow the umask
        try:
            for rel, data in source.files.items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if index:
            _build_index(target)
        (target / READY).write_text(source.content_hash + "\n", encoding="utf-8")
    return target


def _build_index(directory: Path) -> None:
    """Build the variant's search index in a child process (the runner never loads torch)."""
    argv = [sys.executable, "-m", "experimentos", "--root", str(directory), "index", "--json"]
    env = {**os.environ, "LANCEDB_LOG": "error", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("EXPERIMENTOS_ROOT", None)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=INDEX_TIMEOUT_S, env=env)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-800:]
        raise ExperimentosError(f"building the search index failed: {tail}", path=directory)
