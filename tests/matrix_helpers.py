"""Shared set-up for the matrix tests: a real git root with a tiny fixture and shell agents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from experimentos.lab.experiments import new_experiment
from experimentos.models.lab import RunRecord
from experimentos.store import Workspace
from experimentos.store.records import load_record
from experimentos.store.scaffold import init_workspace

from .conftest import git, page_text, write_files

PROJECT = Path(__file__).resolve().parents[1]
EXP = "m"

TINY_FIXTURE = """\
name: tiny
description: one file to fix
task: Make app.txt say fixed
libraries: []
oracle:
  command: grep -q fixed app.txt
  timeoutSeconds: 5
allowedPaths: ["app.txt"]
protectedPaths: ["test.txt"]
forbiddenCommands: ['rm -rf']
"""

POLICY = page_text(
    "policy.fix-the-file",
    "policy",
    "Fix the file",
    extra="status: accepted\nsummary: Write fixed into app.txt.\n"
    "review: {reviewer: t, reviewedAt: 2026-01-01, rationale: r, evidence: [failure.broken]}\n"
    "dependsOn: [failure.broken]\n",
    body="## Rule\n\nWrite fixed into app.txt, never touch test.txt.\n",
)
FAILURE = page_text("failure.broken", "failure", "Broken file", body="## Symptoms\n\nbroken\n")

# Agents (shell scripts); each prints the shell transcript format on stdout.
GOOD = """\
#!/bin/sh
echo '{"type":"file_inspected","path":"app.txt"}'
echo fixed > app.txt
echo '{"type":"file_edited","path":"app.txt"}'
echo '{"type":"command","command":"grep fixed app.txt","exit_code":0}'
echo '{"type":"usage","tokens_in":10,"tokens_out":5,"cost_usd":0.5}'
echo '{"type":"final_answer","text":"done"}'
"""
LAZY = """\
#!/bin/sh
echo '{"type":"final_answer","text":"nothing to do"}'
"""
# Sleeps before fixing; writes its pid to $PIDS (for the kill tests).
SLEEPER = """\
#!/bin/sh
[ -n "$PIDS" ] && echo $$ > "$PIDS/$EXPERIMENTOS_RUN_ID.pid"
sleep "${NAP:-1}"
[ -n "$PIDS" ] && touch "$PIDS/$$.done"
echo fixed > app.txt
echo '{"type":"file_edited","path":"app.txt"}'
echo '{"type":"final_answer","text":"slept, then fixed"}'
"""
# Starts a child that would outlive it, then hangs.
HANG = """\
#!/bin/sh
sleep 300 &
echo $! > "$PIDS/child.pid"
echo $$ > "$PIDS/parent.pid"
echo '{"type":"command","command":"sleep 300","exit_code":null}'
sleep 300
"""
CRASH = """\
#!/bin/sh
echo '{"type":"error","message":"model unreachable"}'
echo 'boom' >&2
exit 3
"""
# Calls the bound MCP server over stdio without passing a run id, then fixes the file.
MCP_AGENT = """\
import asyncio, json, os, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

async def main():
    spec = json.loads(os.environ["EXPERIMENTOS_MCP"])
    params = StdioServerParameters(command=spec["command"], args=spec["args"],
                                   env={**os.environ, **spec["env"]})
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            res = await s.call_tool("start_pre_work_protocol",
                                    {"task": os.environ["EXPERIMENTOS_TASK"][:200], "repo": "."})
            text = res.content[0].text
            print(json.dumps({"type": "mcp_tool_called", "tool": "start_pre_work_protocol",
                              "ok": not res.is_error}), flush=True)
            await s.call_tool("get_page", {"page_id": "policy.fix-the-file"})
    rules = "fixed" if "never touch test.txt" in text else "guess"
    with open("app.txt", "w") as f:
        f.write(rules + "\\n")
    print(json.dumps({"type": "file_edited", "path": "app.txt"}), flush=True)
    print(json.dumps({"type": "final_answer", "text": rules}), flush=True)

asyncio.run(main())
"""


def make_root(
    path: Path,
    agents: dict[str, str],
    conditions: list[str] | None = None,
    repeats: int = 1,
    time_limit: float = 30,
    extra: dict | None = None,
) -> Workspace:
    """A committed git root: the tiny fixture, two pages, experiment `m` and its matrix.yaml
    with one shell agent per entry of `agents` (name -> script text)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    init_workspace(path)
    # Full-text search only: the tests exercise the matrix, not the embedding model.
    (path / "experimentos.toml").write_text('format = 1\n[index]\nembedder = "none"\n')
    files = {
        "fixtures/tiny/fixture.yaml": TINY_FIXTURE,
        "fixtures/tiny/app.txt": "broken\n",
        "fixtures/tiny/test.txt": "expects fixed\n",
        "policies/fix-the-file.md": POLICY,
        "wiki/failures/broken.md": FAILURE,
    }
    specs = []
    for name, script in agents.items():
        suffix = ".py" if script.startswith("import") else ".sh"
        rel = f"agents/{name}{suffix}"
        files[rel] = script
        specs.append({"name": name, "adapter": "shell", "options": {"script": rel}})
    write_files(path, files)
    for rel in files:
        if rel.startswith("agents/") and rel.endswith(".sh"):
            os.chmod(path / rel, 0o755)
    ws = Workspace(path)
    new_experiment(ws, EXP, "agent")
    spec = {
        "fixtures": ["tiny"],
        "conditions": conditions or ["none"],
        "agents": specs,
        "repeats": repeats,
        "timeLimit": time_limit,
        **(extra or {}),
    }
    write_spec(path, spec)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "root")
    return ws


def read_spec(root: Path) -> dict:
    return yaml.safe_load((root / "experiments" / EXP / "matrix.yaml").read_text())


def write_spec(root: Path, spec: dict) -> None:
    text = yaml.safe_dump(spec, sort_keys=False)
    (root / "experiments" / EXP / "matrix.yaml").write_text(text, encoding="utf-8")


def runs_dir(root: Path) -> Path:
    return root / "experiments" / EXP / "runs"


def records(root: Path) -> dict[str, RunRecord]:
    out = {}
    for path in sorted(runs_dir(root).glob("run.*.md")):
        out[path.stem] = load_record(root, path.relative_to(root).as_posix(), RunRecord).model
    return out


def cli_run(root: Path, *args: str, env: dict | None = None, timeout: float = 300):
    """`experimentos --root ROOT …` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "experimentos", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def json_out(result) -> dict:  # noqa: ANN001
    assert result.stdout, result.stderr
    return json.loads(result.stdout)
