"""Files on disk are hostile: symlinks that leave the root, symlink loops, FIFOs and a
`.experimentos` that is not a real directory. Every reader reports them with their path and
carries on; nothing hangs, nothing is read or written outside the root."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from pathlib import Path

import anyio
import mcp
import pytest
from mcp.shared.exceptions import MCPError

from experimentos.mcp.server import build_server
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import git, page_text, write_files
from .test_bad_input import snapshot

SECRET = "TOPSECRET-outside-the-root"


def fts_only(root: Path) -> None:
    """Full-text only: these tests are about files, not embeddings."""
    config = root / "experimentos.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('embedder = "minilm"', 'embedder = "none"'),
        encoding="utf-8",
    )


@pytest.fixture
def kb(tmp_path: Path) -> Workspace:
    root = tmp_path / "kb"
    init_workspace(root)
    fts_only(root)
    write_files(
        root,
        {
            "policies/keep-pins.md": page_text(
                "policy.keep-pins", "policy", "Keep pins", body="Do not bump pinned versions."
            ),
            "wiki/failures/blind-upgrade.md": page_text(
                "failure.blind-upgrade", "failure", "Blind upgrade", body="Bumped from advice."
            ),
        },
    )
    return Workspace(root)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the root holding page-shaped files with a secret in them."""
    out = tmp_path / "elsewhere"
    write_files(
        out,
        {
            "secret.md": page_text("source.secret", "source", "Secret", body=SECRET),
            "wiki/sources/secret.md": page_text("source.secret", "source", "Secret", body=SECRET),
            "wiki/policies-like.md": "x",
            "exp/README.md": (
                "---\nid: experiment.out\nname: Out\nkind: ml\nstatus: draft\n"
                f"created: 2026-01-01T00:00:00Z\n---\n\n{SECRET}\n"
            ),
        },
    )
    return out


def call(server, name: str, args: dict):
    async def main():
        async with mcp.Client(server) as client:
            return await client.call_tool(name, args)

    return anyio.run(main)


def read_resource(server, uri: str):
    async def main():
        async with mcp.Client(server) as client:
            try:
                return await client.read_resource(uri)
            except MCPError as exc:
                return exc

    return anyio.run(main)


def text_of(result) -> str:
    return json.dumps([c.model_dump(mode="json") for c in result.content])


# --- 1. .experimentos that is a symlink --------------------------------------------------------


def test_state_dir_symlinked_outside_is_refused_and_nothing_outside_changes(kb, cli, tmp_path):
    victim = tmp_path / "victim"
    write_files(victim, {"index/precious.txt": "keep me", "other.txt": "keep me too"})
    (kb.root / ".experimentos").symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    for args in (["index"], ["search", "pins"], ["index", "--rebuild"]):
        result = cli(kb.root, *args)
        assert result.exit_code == 2, (args, result.output)
        assert ".experimentos" in result.stderr and "Traceback" not in result.output
    # a write takes a lock under .experimentos/: refused as well, not created at the target
    result = cli(kb.root, "page", "new", "claim", "x", "--title", "X")
    assert result.exit_code == 2 and ".experimentos" in result.stderr
    assert snapshot(victim) == before
    assert sorted(p.name for p in victim.rglob("*")) == ["index", "other.txt", "precious.txt"]


def test_index_dir_symlinked_inside_state_dir_is_refused(kb, cli, tmp_path):
    victim = tmp_path / "victim"
    write_files(victim, {"precious.txt": "keep me"})
    (kb.root / ".experimentos").mkdir(exist_ok=True)
    (kb.root / ".experimentos/index").symlink_to(victim, target_is_directory=True)
    result = cli(kb.root, "index", "--rebuild")
    assert result.exit_code == 2 and ".experimentos/index" in result.stderr
    assert [p.name for p in victim.iterdir()] == ["precious.txt"]


def test_state_dir_that_is_a_file_is_a_clear_error(kb, cli):
    (kb.root / ".experimentos").write_text("not a directory", encoding="utf-8")
    result = cli(kb.root, "index")
    assert result.exit_code == 2
    assert ".experimentos" in result.stderr and "Traceback" not in result.output


def test_gitignore_ignores_the_state_path_as_file_link_or_directory(tmp_path, cli):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write_files(root, {".gitignore": "node_modules/\n.experimentos/\n"})  # an older init
    init_workspace(root)
    init_workspace(root)  # idempotent
    lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines.count(".experimentos") == 1 and lines[0] == "node_modules/"
    for kind in ("link", "file", "dir"):
        state = root / ".experimentos"
        if state.is_symlink() or state.is_file():
            state.unlink()
        elif state.is_dir():
            state.rmdir()
        if kind == "link":
            state.symlink_to(tmp_path, target_is_directory=True)
        elif kind == "file":
            state.write_text("x", encoding="utf-8")
        else:
            state.mkdir()
            (state / "x").write_text("x", encoding="utf-8")
        status = git(root, "status", "--porcelain", "--untracked-files=all")
        assert ".experimentos" not in status, (kind, status)
    fresh = tmp_path / "fresh"
    init_workspace(fresh)
    assert ".experimentos" in (fresh / ".gitignore").read_text(encoding="utf-8").splitlines()


# --- 3. symlinked directories that leave the root ----------------------------------------------


def test_page_dir_symlinked_outside_is_never_served(kb, cli, outside):
    sources = kb.root / "wiki/sources"
    for child in sources.iterdir():
        child.unlink()
    sources.rmdir()
    sources.symlink_to(outside / "wiki/sources", target_is_directory=True)
    result = cli(kb.root, "page", "show", "source.secret")
    assert result.exit_code == 2 and "outside" in result.stderr
    assert SECRET not in result.output
    result = cli(kb.root, "search", SECRET, "--json")
    assert result.exit_code == 0 and "source.secret" not in result.stdout
    assert "source.secret" not in cli(kb.root, "page", "list").stdout
    report = json.loads(cli(kb.root, "check", "--json").stdout)
    assert ("wiki/sources", "symlink-outside-root") in {
        (p["path"], p["code"]) for p in report["problems"]
    }
    server = build_server(kb)
    result = call(server, "get_page", {"page_id": "source.secret"})
    assert result.is_error and SECRET not in text_of(result)
    assert "outside" in text_of(result) or "no page" in text_of(result)
    answer = read_resource(server, "wiki://pages/source.secret")
    assert isinstance(answer, MCPError) and SECRET not in str(answer)
    server.state.live.close()


def test_wiki_itself_symlinked_outside_is_reported_and_not_served(kb, cli, outside):
    wiki = kb.root / "wiki"
    real = kb.root / "wiki-real"
    wiki.rename(real)
    wiki.symlink_to(outside / "wiki", target_is_directory=True)
    report = json.loads(cli(kb.root, "check", "--json").stdout)
    assert ("wiki", "symlink-outside-root") in {(p["path"], p["code"]) for p in report["problems"]}
    assert report["pages"] == 1  # the policy; nothing from the outside wiki
    result = cli(kb.root, "page", "show", "source.secret")
    assert result.exit_code == 2 and SECRET not in result.output
    assert "source.secret" not in cli(kb.root, "page", "list").stdout
    assert "source.secret" not in cli(kb.root, "search", SECRET, "--json").stdout


def test_experiment_dir_symlinked_outside_is_reported_and_not_served(kb, cli, outside):
    (kb.root / "experiments/out").symlink_to(outside / "exp", target_is_directory=True)
    result = cli(kb.root, "exp", "show", "out")
    assert result.exit_code == 2 and "outside" in result.stderr
    assert SECRET not in result.output
    assert "experiment.out" not in cli(kb.root, "exp", "list").stdout
    report = json.loads(cli(kb.root, "check", "--json").stdout)
    found = {(p["path"], p["code"], p["severity"]) for p in report["problems"]}
    assert ("experiments/out", "symlink-outside-root", "error") in found
    server = build_server(kb)
    result = call(server, "data.experiments.describe", {"id": "out"})
    assert result.is_error and SECRET not in text_of(result)
    server.state.live.close()


# --- 4. symlink loops -------------------------------------------------------------------------


def make_loops(root: Path) -> None:
    (root / "policies/loop.md").symlink_to("loop.md")
    (root / "wiki/claims/ping.md").symlink_to("pong.md")
    (root / "wiki/claims/pong.md").symlink_to("ping.md")
    knowledge = root / "wiki/knowledge"
    for child in knowledge.iterdir():
        child.unlink()
    knowledge.rmdir()
    knowledge.symlink_to("knowledge")  # a page directory that is a loop itself
    (root / "experiments/spin").symlink_to("spin")


def test_symlink_loops_are_reported_and_every_command_carries_on(kb, cli):
    make_loops(kb.root)
    report = json.loads(cli(kb.root, "check", "--json").stdout)
    loops = {p["path"] for p in report["problems"] if p["code"] == "symlink-loop"}
    assert {
        "policies/loop.md",
        "wiki/claims/ping.md",
        "wiki/claims/pong.md",
        "wiki/knowledge",
        "experiments/spin",
    } <= loops
    assert report["pages"] == 2
    for args in (
        ["page", "list"],
        ["index"],
        ["search", "pinned"],
        ["graph", "deps", "policy.keep-pins"],
        ["exp", "list"],
    ):
        result = cli(kb.root, *args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
    assert "policy.keep-pins" in cli(kb.root, "search", "pinned", "--json").stdout
    result = cli(kb.root, "page", "show", "policy.loop")
    assert result.exit_code == 2 and "loop" in result.stderr
    summary = json.loads(cli(kb.root, "index", "--json").stdout)
    assert "policies/loop.md" in {p["path"] for p in summary["problems"]}


def test_symlink_loop_does_not_break_the_mcp_server(kb):
    make_loops(kb.root)
    server = build_server(kb)
    result = call(server, "get_page", {"page_id": "policy.keep-pins"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["id"] == "policy.keep-pins"
    result = call(server, "get_page", {"page_id": "policy.loop"})
    assert result.is_error
    result = call(server, "search_knowledge", {"query": "pinned", "mode": "fts"})
    assert not result.is_error, text_of(result)
    server.state.live.close()


# --- 5. FIFOs and other non-regular files -------------------------------------------------------


class FifoWatchdog:
    """Unblocks any reader stuck on the FIFOs after `seconds` and records that it had to.

    An open() of a FIFO for reading blocks until a writer appears; opening the write side
    (non-blocking, which only succeeds while a reader waits) releases it with an EOF. So a
    hang becomes a failed assertion instead of a stuck test run.
    """

    def __init__(self, paths: list[Path], seconds: float = 8.0):
        self.paths, self.seconds = paths, seconds
        self.fired: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(0.05):
            if time.monotonic() - start < self.seconds:
                continue
            for path in self.paths:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as exc:
                    if exc.errno != errno.ENXIO:  # ENXIO: nobody is reading, fine
                        raise
                    continue
                self.fired.append(str(path))
                os.close(fd)

    def __enter__(self) -> FifoWatchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self._stop.set()
        self._thread.join()


def test_fifo_named_like_a_page_is_reported_and_never_opened(kb, cli):
    fifos = [kb.root / "policies/fifo.md", kb.root / "wiki/claims/pipe.md"]
    for path in fifos:
        os.mkfifo(path)
    (kb.root / "experiments/lab").mkdir()
    os.mkfifo(kb.root / "experiments/lab/README.md")
    fifos.append(kb.root / "experiments/lab/README.md")
    with FifoWatchdog(fifos) as dog:
        report = json.loads(cli(kb.root, "check", "--json").stdout)
        results = {
            " ".join(args): cli(kb.root, *args)
            for args in (
                ["page", "list"],
                ["index"],
                ["search", "pinned"],
                ["page", "show", "policy.fifo"],
                ["exp", "show", "lab"],
            )
        }
    assert dog.fired == [], f"a command blocked on {dog.fired}"
    found = {(p["path"], p["code"]) for p in report["problems"]}
    assert ("policies/fifo.md", "not-a-regular-file") in found
    assert ("wiki/claims/pipe.md", "not-a-regular-file") in found
    assert report["pages"] == 2
    assert results["page list"].exit_code == 0 and results["index"].exit_code == 0
    assert "policy.keep-pins" in results["search pinned"].stdout
    assert results["page show policy.fifo"].exit_code == 2
    assert "regular file" in results["page show policy.fifo"].stderr
    assert results["exp show lab"].exit_code == 2


def test_fifo_does_not_hang_the_mcp_server(kb):
    fifo = kb.root / "policies/fifo.md"
    os.mkfifo(fifo)
    brief_fifo = kb.root / "briefs" / "brief.0123456789abcdef.md"
    os.mkfifo(brief_fifo)
    with FifoWatchdog([fifo, brief_fifo]) as dog:
        server = build_server(kb)
        result = call(server, "get_page", {"page_id": "policy.keep-pins"})
        fifo_page = call(server, "get_page", {"page_id": "policy.fifo"})
        resource = read_resource(server, "brief://brief.0123456789abcdef")
        server.state.live.close()
    assert dog.fired == [], f"the server blocked on {dog.fired}"
    assert not result.is_error and fifo_page.is_error
    assert isinstance(resource, MCPError)


def test_store_reads_only_regular_files_inside_the_root(kb, tmp_path):
    from experimentos.errors import NotFound, UnsafePath
    from experimentos.store.safe import read_regular

    (kb.root / "policies/out.md").symlink_to(tmp_path / "elsewhere.md")
    (tmp_path / "elsewhere.md").write_text("secret", encoding="utf-8")
    os.mkfifo(kb.root / "policies/fifo.md")
    (kb.root / "policies/loop.md").symlink_to("loop.md")
    (kb.root / "policies/inner.md").symlink_to("keep-pins.md")
    cases = {"policies/out.md": "symlink-outside-root", "policies/fifo.md": "not-a-regular-file"}
    cases |= {"policies/loop.md": "symlink-loop", "policies": "not-a-regular-file"}
    for rel, code in cases.items():
        with pytest.raises(UnsafePath) as caught:
            read_regular(kb.root, rel)
        assert caught.value.code == code and caught.value.path == rel
    with pytest.raises(NotFound):
        read_regular(kb.root, "policies/absent.md")
    assert b"Keep pins" in read_regular(kb.root, "policies/inner.md")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(kb.root / "policies/fifo.md")
