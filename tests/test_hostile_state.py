"""A hostile repository against the state directory and the store's writes (issue 19: 1, 2, 3, 13).

Everything under `.experimentos/` is reached through one guarded function (real directories
inside the root, never a link); lock files are opened without following a link and never
truncated through one; a write refuses a path with a `..` part or a component that resolves
outside the root; `agents list` runs only what `agents install` installed on this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.errors import UnsafeId, UnsafePath
from experimentos.store.files import atomic_write

from .matrix_helpers import EXP, GOOD, cli_run, make_root, runs_dir


def cli(root: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["--root", str(root), *args], env=env)


def _tree(path: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    if not path.exists():
        return out
    for p in sorted(path.rglob("*")):
        out[p.relative_to(path).as_posix()] = p.read_bytes() if p.is_file() else None
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside every root, with a file someone cares about."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "precious.txt").write_text("precious\n", encoding="utf-8")
    return path


# --- 1: the store's write helper --------------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    [
        "experiments/m/results/../../../../outside/PWNED.md",
        "newdir/../../outside/PWNED.md",
        "wiki/../../outside/PWNED.md",
        "../outside/PWNED.md",
        "wiki/./x.md",
        "wiki//x.md",
        "/tmp/PWNED.md",
        "wiki/x\x00.md",
        "",
        ".",
    ],
)
def test_a_write_refuses_a_path_with_a_dotdot_or_odd_part(tmp_path, outside, rel):
    root = tmp_path / "kb"
    (root / "wiki").mkdir(parents=True)
    (root / "experiments/m").mkdir(parents=True)
    with pytest.raises((UnsafeId, UnsafePath)):
        atomic_write(root, rel, b"x", expected=None)
    assert _tree(outside) == {"precious.txt": b"precious\n"}
    assert not (root / "newdir").exists() and not (root / "experiments/m/results").exists()


def test_a_write_refuses_any_component_that_resolves_outside(tmp_path, outside):
    root = tmp_path / "kb"
    root.mkdir()
    (outside / "deep").mkdir()
    (root / "a").symlink_to(outside)
    for rel in ("a/new.md", "a/deep/new.md", "a/deep/more/new.md", "a/missing/more/new.md"):
        with pytest.raises(UnsafeId):
            atomic_write(root, rel, b"x", expected=None)
    assert sorted(_tree(outside)) == ["deep", "precious.txt"]
    (root / "inside").mkdir()
    (root / "b").symlink_to(root / "inside")  # a link that stays inside the root is fine
    atomic_write(root, "b/c/new.md", b"ok", expected=None)
    assert (root / "inside/c/new.md").read_bytes() == b"ok"


# --- 2: a committed lock file that is a link ------------------------------------------------


def test_a_matrix_lock_that_is_a_symlink_never_truncates_its_target(tmp_path, outside):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    locks = ws.root / ".experimentos/matrix/locks"
    locks.mkdir(parents=True)
    (locks / "run.m.tiny.none.good.r1.lock").symlink_to(outside / "precious.txt")
    inside = ws.root / "README.md"
    inside.write_text("readme\n", encoding="utf-8")
    result = cli_run(ws.root, "matrix", "run", EXP, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert ".experimentos/matrix/locks/run.m.tiny.none.good.r1.lock" in result.stderr
    assert "symlink" in result.stderr
    assert _tree(outside) == {"precious.txt": b"precious\n"}
    assert not runs_dir(ws.root).exists()


@pytest.mark.parametrize(
    "name", ["write.lock", "index.lock", "matrix-knowledge.lock", "run.x.lock"]
)
def test_every_state_lock_refuses_a_symlink(tmp_path, outside, name):
    from experimentos.store.files import state_lock

    root = tmp_path / "kb"
    (root / ".experimentos").mkdir(parents=True)
    (root / ".experimentos" / name).symlink_to(outside / "precious.txt")
    with pytest.raises(UnsafePath), state_lock(root, name):
        pass
    assert _tree(outside) == {"precious.txt": b"precious\n"}


def test_the_onnx_export_lock_refuses_a_symlink(tmp_path, outside):
    from experimentos.index.onnx import export_lock

    models = tmp_path / "kb/.experimentos/models"
    models.mkdir(parents=True)
    (models / ".export.lock").symlink_to(outside / "made-by-the-lock")
    with pytest.raises(UnsafePath), export_lock(models / "graph.onnx"):
        pass
    assert sorted(_tree(outside)) == ["precious.txt"]


def test_a_lock_with_a_second_hard_link_is_refused(tmp_path):
    from experimentos.store.safe import open_lock

    root = tmp_path / "kb"
    (root / ".experimentos").mkdir(parents=True)
    victim = root / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    os.link(victim, root / ".experimentos/x.lock")
    with pytest.raises(UnsafePath):
        open_lock(root / ".experimentos/x.lock", ".experimentos/x.lock")
    assert victim.read_text(encoding="utf-8") == "keep\n"


# --- 3: links inside the state directory ------------------------------------------------------


@pytest.mark.parametrize(
    "link", [".experimentos/matrix", ".experimentos/matrix/knowledge", ".experimentos/matrix/locks"]
)
def test_matrix_run_never_writes_through_a_link_in_the_state_dir(tmp_path, outside, link):
    ws = make_root(tmp_path / "root", {"good": GOOD}, conditions=["none", "brief"])
    path = ws.root / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside)
    result = cli_run(ws.root, "matrix", "run", EXP, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert link in result.stderr and "symlink" in result.stderr
    assert _tree(outside) == {"precious.txt": b"precious\n"}
    assert not runs_dir(ws.root).exists()  # refused before the first cell


@pytest.mark.parametrize("link", [".experimentos", ".experimentos/cache", ".experimentos/index"])
def test_report_and_index_state_never_go_through_a_link(tmp_path, outside, link):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    path = ws.root / link
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside)
    cli(ws.root, "report", "build")
    cli(ws.root, "index")
    assert _tree(outside) == {"precious.txt": b"precious\n"}


# A stand-in for npm: `npm install --prefix P … pkg@version…` writes what npm writes (package.json,
# package-lock.json, node_modules/<pkg>/ with its bin and the .bin link), following links like
# npm's own writes would. It logs its argv so a test can tell whether it ran.
FAKE_NPM = """\
#!{python}
import json, os, sys
log = os.environ["FAKE_NPM_LOG"]
with open(log, "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
prefix = args[args.index("--prefix") + 1]
specs = [a for a in args[1:] if not a.startswith("-") and a != prefix]
bins = {{"@openai/codex": "codex", "@anthropic-ai/claude-code": "claude",
        "opencode-ai": "opencode"}}
os.makedirs(os.path.join(prefix, "node_modules", ".bin"), exist_ok=True)
deps = {{}}
for spec in specs:
    name, _, version = spec.rpartition("@")
    deps[name] = version
    pkg = os.path.join(prefix, "node_modules", name)
    os.makedirs(os.path.join(pkg, "bin"), exist_ok=True)
    with open(os.path.join(pkg, "package.json"), "w") as handle:
        json.dump({{"name": name, "version": version, "bin": {{bins[name]: "bin/cli.js"}}}}, handle)
    entry = os.path.join(pkg, "bin", "cli.js")
    with open(entry, "w") as handle:
        handle.write("#!/bin/sh\\ntouch \\"$MARK\\"\\necho '" + bins[name] + " " + version + "'\\n")
    os.chmod(entry, 0o755)
    link = os.path.join(prefix, "node_modules", ".bin", bins[name])
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.relpath(entry, os.path.dirname(link)), link)
with open(os.path.join(prefix, "package.json"), "w") as handle:
    json.dump({{"dependencies": deps}}, handle)
with open(os.path.join(prefix, "package-lock.json"), "w") as handle:
    json.dump({{"lockfileVersion": 3}}, handle)
"""


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch):
    bindir = tmp_path / "fake-bin"
    bindir.mkdir()
    npm = bindir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable), encoding="utf-8")
    npm.chmod(0o755)
    log = tmp_path / "npm.log"
    mark = tmp_path / "executed"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv("MARK", str(mark))
    return log, mark


@pytest.mark.parametrize(
    "link",
    [".experimentos/agents", ".experimentos/agents/node_modules",
     ".experimentos/agents/package.json", ".experimentos/agents/package-lock.json"],
)  # fmt: skip
def test_agents_install_never_writes_through_a_link(tmp_path, outside, fake_npm, link):
    root = make_root(tmp_path / "root", {"good": GOOD}).root
    path = root / link
    path.parent.mkdir(parents=True, exist_ok=True)
    target = outside / "precious.txt" if link.endswith(".json") else outside
    path.symlink_to(target)
    result = cli(root, "agents", "install", "codex")
    assert _tree(outside) == {"precious.txt": b"precious\n"}
    if link == ".experimentos/agents":
        assert result.exit_code == 2 and ".experimentos/agents" in result.output
        assert not fake_npm[0].exists()  # refused before npm ran
    else:  # installed into a fresh directory that replaced the one holding the link
        assert result.exit_code == 0, result.output
        assert not (root / link).is_symlink()


# --- 13: agents list runs only what agents install installed --------------------------------


def _plant_codex(root: Path, mark: Path) -> Path:
    bin_dir = root / ".experimentos/agents/node_modules/.bin"
    bin_dir.mkdir(parents=True)
    codex = bin_dir / "codex"
    codex.write_text(f"#!/bin/sh\ntouch {mark}\necho codex-cli 0.171.0\n", encoding="utf-8")
    codex.chmod(0o755)
    return codex


def test_agents_list_never_runs_a_committed_cli(tmp_path):
    root = make_root(tmp_path / "root", {"good": GOOD}).root
    mark = tmp_path / "executed"
    _plant_codex(root, mark)
    result = cli(root, "agents", "list", "--json")
    assert not mark.exists(), "agents list ran a file the repository shipped"
    assert result.exit_code == 0, result.output
    codex = next(i for i in json.loads(result.stdout) if i["adapter"] == "codex")
    assert not codex["available"] and "experimentos agents install codex" in codex["problem"]
    assert "not installed by" in codex["problem"]


def test_agents_list_and_a_matrix_refuse_a_forged_install_record(tmp_path, fake_npm):
    log, mark = fake_npm
    root = make_root(tmp_path / "root", {"good": GOOD}).root
    assert cli(root, "agents", "install", "codex").exit_code == 0
    record_path = root / ".experimentos/agents/experimentos-install.json"
    installed = json.loads(record_path.read_text(encoding="utf-8"))
    entry = installed["installed"]["codex"]
    data = (root / ".experimentos/agents" / entry["entry"]).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    listed = json.loads(cli(root, "agents", "list", "--json").stdout)
    codex = next(i for i in listed if i["adapter"] == "codex")
    assert codex["available"] and codex["version"] == "0.171.0" and not mark.exists()
    # The same files and record copied elsewhere (what a commit or a tarball delivers): refused.
    clone = tmp_path / "clone"
    shutil.copytree(root, clone, symlinks=True)
    listed = json.loads(cli(clone, "agents", "list", "--json").stdout)
    codex = next(i for i in listed if i["adapter"] == "codex")
    assert not codex["available"] and "not installed by" in codex["problem"]
    assert not mark.exists()
    # A tampered entry file in the real install: refused too.
    target = root / ".experimentos/agents" / entry["entry"]
    target.write_text("#!/bin/sh\ntouch " + str(mark) + "\n", encoding="utf-8")
    listed = json.loads(cli(root, "agents", "list", "--json").stdout)
    codex = next(i for i in listed if i["adapter"] == "codex")
    assert not codex["available"] and not mark.exists()


def test_an_install_record_that_does_not_parse_is_refused_not_a_traceback(tmp_path):
    root = make_root(tmp_path / "root", {"good": GOOD}).root
    mark = tmp_path / "executed"
    _plant_codex(root, mark)
    for junk in (b"", b"[]", b'{"installed": {"codex": 3}}', b"\xff\xfe", b'{"installed": []}'):
        (root / ".experimentos/agents/experimentos-install.json").write_bytes(junk)
        result = cli(root, "agents", "list", "--json")
        assert result.exit_code == 0 and not mark.exists(), result.output


def test_a_fifo_or_link_in_the_report_cache_never_blocks_or_leaks(tmp_path, outside):
    import subprocess

    from experimentos.store.scaffold import init_workspace

    from .report_helpers import EXP as HAND
    from .report_helpers import write_hand_matrix

    root = tmp_path / "kb"
    init_workspace(root)
    write_hand_matrix(root)
    cache = root / ".experimentos/cache/report-rows"
    cache.mkdir(parents=True)
    os.mkfifo(cache / f"{HAND}.json")
    result = subprocess.run(
        [sys.executable, "-m", "experimentos", "--root", str(root), "report", "build"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (cache / f"{HAND}.json").unlink()
    (cache / f"{HAND}.json").symlink_to(outside / "precious.txt")
    assert cli(root, "report", "build", "--check").exit_code == 0
    assert _tree(outside) == {"precious.txt": b"precious\n"}


def test_a_matrix_run_refuses_state_a_repository_committed(tmp_path):
    from .conftest import git

    ws = make_root(tmp_path / "root", {"good": GOOD})
    lock = ws.root / ".experimentos/matrix/locks/run.m.tiny.none.good.r1.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text('{"pid": 1, "start": "1", "workdir": "/tmp/xos-run-x"}', encoding="utf-8")
    git(ws.root, "add", "-f", ".experimentos")
    git(ws.root, "commit", "-q", "-m", "ship a lock")
    for dry in ([], ["--dry-run"]):
        result = cli(ws.root, "matrix", "run", EXP, *dry)
        assert result.exit_code == 2, result.output
        assert "committed to git" in result.output and "git rm -r --cached" in result.output
    assert not runs_dir(ws.root).exists()


@pytest.mark.parametrize(
    "link, target",
    [(".gitignore", "precious.txt"), ("experimentos.toml", "made-by-init.toml"),
     ("wiki", "."), ("experiments", "new-dir")],
)  # fmt: skip
def test_init_never_writes_through_a_link(tmp_path, outside, link, target):
    root = tmp_path / "repo"
    root.mkdir()
    (root / link).symlink_to(outside / target)
    result = CliRunner().invoke(app, ["--root", str(root), "init"])
    assert "Traceback" not in result.output
    assert _tree(outside) == {"precious.txt": b"precious\n"}


def test_a_committed_index_is_never_searched_and_check_names_committed_state(tmp_path):
    """A clone that ships .experimentos/index (git add -f) hands search and briefs someone
    else's rows: the index refuses it (exit 2, the fix named), and check reports the state."""
    from .conftest import git

    root = tmp_path / "kb"
    assert cli(tmp_path, "init", str(root)).exit_code == 0
    assert cli(root, "index").exit_code == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "add", "-f", ".experimentos/index")
    git(root, "commit", "-q", "-m", "ship an index")
    for args in (["search", "pinned dependency"], ["brief", "bump drizzle-kit"], ["index"]):
        result = cli(root, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "committed to git" in result.output and "git rm -r --cached" in result.output
    checked = json.loads(cli(root, "check", "--json").stdout)["problems"]
    found = [p for p in checked if p["code"] == "state-committed"]
    assert [(p["path"], p["severity"]) for p in found] == [(".experimentos", "error")]
    git(root, "rm", "-r", "-q", "--cached", ".experimentos")
    assert cli(root, "search", "pinned dependency").exit_code == 0
