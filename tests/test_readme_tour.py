"""The README's short tour, run verbatim, line by line, in a fresh `git init` repository.

Each command runs in bash with this environment's `experimentos` on PATH, a fresh HOME (no git
identity, no client configs) and its own TMPDIR. Every command must exit 0 and do what the
tour says it does; a tour line without a check here fails the test, so the README and this
test change together.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from experimentos.index.embeddings import embeddings_installed

from .conftest import PROJECT, git

README = PROJECT / "README.md"
TIMEOUT = 600  # seconds per command; the slow ones load the embedding model


def tour_commands() -> list[str]:
    """The tour's bash block, split into commands (backslash continuations joined)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## A short tour\n", 1)[1]
    block = re.search(r"```bash\n(.*?)\n```", section, re.S)
    assert block, "the tour has no ```bash block"
    commands, current = [], []
    for line in block.group(1).splitlines():
        current.append(line)
        if not line.endswith("\\"):
            commands.append("\n".join(current))
            current = []
    assert not current, "the tour ends in a line continuation"
    return commands


class Run:
    def __init__(self, repo: Path, env: dict[str, str], tmp: Path):
        self.repo, self.env, self.tmp = repo, env, tmp

    def __call__(self, command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", command],
            cwd=self.repo,
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )


def _mcp_round_trip(run: Run, command: str) -> subprocess.CompletedProcess:
    """`mcp serve` speaks MCP on stdio: initialise, list the tools, then close stdin."""
    errors = run.tmp.parent / "mcp-serve.stderr"
    with errors.open("w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=run.repo,
            env=run.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "readme-tour", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    lines = []
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        while True:  # the answer to tools/list, then end of input: the server exits
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if json.loads(line).get("id") == 2:
                break
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    err = errors.read_text(encoding="utf-8")
    return subprocess.CompletedProcess(command, proc.returncode, "".join(lines) + rest, err)


# --- what each tour command must show ----------------------------------------------------------


def _init(r: subprocess.CompletedProcess, run: Run) -> None:
    assert "committed the layout" in r.stdout
    assert git(run.repo, "log", "--format=%s").splitlines() == [
        "Start the experimentos knowledge base"
    ]


def _page_new(r: subprocess.CompletedProcess, run: Run) -> None:
    if "--propose" in r.args:
        assert "proposed xos/page/claim.pins-break" in r.stdout
        assert not (run.repo / "wiki/claims/pins-break.md").exists()  # your tree is untouched
    else:
        assert re.match(r"created (wiki|policies)/\S+\.md \(\S+, draft\)", r.stdout), r.stdout


def _set_status(r, run) -> None:
    assert r.stdout.strip() == "policy.keep-pins is now accepted"


def _page_list(r, run) -> None:
    assert r.stdout.split()[:2] == ["policy.keep-pins", "accepted"] and r.stderr == "1 page\n"


def _page_show(r, run) -> None:
    page = json.loads(r.stdout)
    assert page["id"] == "policy.keep-pins" and page["status"] == "accepted"
    assert page["dependsOn"] == ["failure.blind-upgrade"]


def _graph_deps(r, run) -> None:
    lines = r.stdout.splitlines()
    assert lines[0].startswith("policy.keep-pins") and "failure.blind-upgrade" in lines[1]


def _graph_rdeps(r, run) -> None:
    assert "<- policy.keep-pins" in r.stdout


def _check(r, run) -> None:
    assert r.stdout.strip().endswith(", 0 errors, 0 warnings")


def _index(r, run) -> None:
    mode = "hybrid" if embeddings_installed() else "fts"
    assert "added 2," in r.stdout and f"mode {mode}" in r.stdout


def _search(r, run) -> None:
    if "--json" in r.args:
        answer = json.loads(r.stdout)
        ids = [hit["id"] for hit in answer["results"]]
        if "--mode vector" in r.args and embeddings_installed():
            assert answer["mode"] == "vector"
        assert ids and ids[0] == "failure.blind-upgrade", answer
    else:
        assert "policy.keep-pins" in r.stdout


def _proposals_show(r, run) -> None:
    assert "xos/page/claim.pins-break" in r.stdout and "claim.pins-break" in r.stdout


def _schema(r, run) -> None:
    assert (run.repo / "schemas/page.schema.json").is_file()


def _brief(r, run) -> None:
    assert "policy.keep-pins" in r.stdout and "brief." in r.stdout


def _mcp_serve(r, run) -> None:
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    tools = {t["name"] for t in answers[-1]["result"]["tools"]}
    assert {"get_work_brief", "start_pre_work_protocol", "search_knowledge"} <= tools


def _mcp_config(r, run) -> None:
    entry = json.loads((run.repo / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]
    assert entry["experimentos"]["command"] == "experimentos"
    assert entry["experimentos"]["args"] == ["--root", ".", "mcp", "serve"]


def _demo(r, run) -> None:
    assert "0 errors" in r.stdout and "complete=True" in r.stdout
    assert "[agent, interpreted]" in r.stdout
    assert not list(run.tmp.glob("experimentos-demo-*"))  # it cleans up after itself


CHECKS: dict[str, Callable] = {
    "experimentos init": _init,
    "experimentos page new": _page_new,
    "experimentos page set-status": _set_status,
    "experimentos page list": _page_list,
    "experimentos page show": _page_show,
    "experimentos graph deps": _graph_deps,
    "experimentos graph rdeps": _graph_rdeps,
    "experimentos check": _check,
    "experimentos index": _index,
    "experimentos search": _search,
    "experimentos proposals show": _proposals_show,
    "experimentos schema export": _schema,
    "experimentos brief": _brief,
    "experimentos mcp serve": _mcp_serve,
    "experimentos mcp config": _mcp_config,
    "experimentos demo": _demo,
}


def _check_for(command: str) -> Callable:
    matches = [key for key in CHECKS if command == key or command.startswith(key + " ")]
    assert matches, f"no check for the tour line {command!r}: add one to {__name__}"
    return CHECKS[max(matches, key=len)]


def test_every_tour_line_has_a_check():
    for command in tour_commands():
        _check_for(command)


@pytest.fixture
def tour_env(tmp_path: Path) -> Run:
    repo, home, tmp = tmp_path / "repo", tmp_path / "home", tmp_path / "tmp"
    for directory in (repo, home, tmp):
        directory.mkdir()
    subprocess.run(
        ["git", "init", "-q"], cwd=repo, check=True, env={**os.environ, "HOME": str(home)}
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "EXPERIMENTOS_"))}
    env = {
        **keep,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(home),  # no git identity: the tour must not need one
        "TMPDIR": str(tmp),
        "LANCEDB_LOG": "error",
    }
    return Run(repo, env, tmp)


def test_the_readme_tour_runs_verbatim_in_a_fresh_repository(tour_env: Run):
    for command in tour_commands():
        check = _check_for(command)
        if command.startswith("experimentos mcp serve"):
            result = _mcp_round_trip(tour_env, command)
        else:
            result = tour_env(command)
        result.args = command  # the checks read the tour line itself
        where = f"tour line {command!r}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        assert result.returncode == 0, where
        assert "Traceback" not in result.stderr, where
        try:
            check(result, tour_env)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{where}") from None


def _install_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Two commands\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_install_is_what_ci_runs_and_says_how_to_get_cpu_torch():
    import tomllib

    section = _install_section()
    commands = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    ci = (PROJECT / ".ci/run").read_text(encoding="utf-8")
    test_command = commands[1].split(" && ", 2)[2]  # after `python3 -m venv .venv && . activate`
    assert test_command == "pip install -e '.[dev,embeddings]' && pytest"
    # The demo command: the install the tests use minus the dev extra, then the demo, which the
    # tour runs verbatim (its last line).
    assert commands[0].split(" && ", 2)[2] == "pip install '.[embeddings]' && experimentos demo"
    assert "experimentos demo" in [c.split("#")[0].strip() for c in tour_commands()]
    assert f"\n{test_command}\n" in ci, ".ci/run must run the README's test command"
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    [torch] = [r for r in extras["project"]["optional-dependencies"]["embeddings"] if "torch" in r]
    cpu = f"pip install {torch} --index-url https://download.pytorch.org/whl/cpu"
    assert any(cpu in block for block in commands), f"the install section must show `{cpu}`"
    assert "macOS" in section and "GB" in section and "core" in section
