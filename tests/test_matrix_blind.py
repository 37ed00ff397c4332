"""Blind conditions: nothing a matrix run's agent can see names its condition or an ablated page.

The probe below is a real agent process (the shell adapter) that gathers everything it can see
— its environment, argv, working directory path, every file in its workdir, HOME and TMPDIR,
and the text of every answer the attached MCP server gives (every tool it lists, called with
the ids it discovers, the run tools with its run token, the resources it finds) — and writes
it to one file. The test then searches that file for the real run id, the cell, the condition
and, in the ablation, the removed page.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from experimentos.agents.base import AgentSpec, RunSetup, open_adapter
from experimentos.matrix.cells import expand
from experimentos.matrix.execute import attachment
from experimentos.matrix.plan import plan_matrix
from experimentos.matrix.runner import run_matrix

from .conftest import git, page_text, write_files
from .matrix_helpers import EXP, make_root, read_spec, records, write_spec

PAGE = "policy.fix-the-file"
# A page that names the policy in its frontmatter and its body: in the ablation, a brief that
# carried it unchanged would name the page that was removed.
NOTES = page_text(
    "knowledge.file-notes",
    "knowledge_card",
    "Notes on the file",
    extra=f"status: accepted\nsummary: app.txt holds one word.\ndependsOn: [{PAGE}]\n",
    body=f"## Notes\n\napp.txt holds one word; the rule for it is [[{PAGE}]] ({PAGE}).\n",
)

PROBE = r"""
import asyncio, json, os, re, sys
from pathlib import Path

PAGE_ID = r"\b(?:policy|failure|knowledge|intervention|claim|source)\.[a-z0-9][a-z0-9.-]*[a-z0-9]"
seen = {"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ), "files": {}, "mcp": []}


def walk(base):
    for path in sorted(Path(base).rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        seen["files"][str(path)] = path.read_text(encoding="utf-8", errors="replace")


for base in {os.getcwd(), os.environ.get("HOME", ""), os.environ.get("TMPDIR", "")} - {""}:
    walk(base)
token = os.environ["EXPERIMENTOS_RUN_ID"]


def text_of(result):
    parts = [getattr(c, "text", "") or "" for c in getattr(result, "content", []) or []]
    for name in ("structuredContent", "structured_content"):
        if getattr(result, name, None) is not None:
            parts.append(json.dumps(getattr(result, name)))
    for item in getattr(result, "contents", []) or []:
        parts.append(getattr(item, "text", "") or "")
    return "\n".join(parts)


async def probe(spec):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=spec["command"], args=spec["args"],
                                   env={**os.environ, **spec["env"]})
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            init = await s.initialize()
            seen["mcp"].append(init.model_dump_json())
            tools = (await s.list_tools()).tools
            seen["mcp"].append(json.dumps([t.model_dump(mode="json") for t in tools]))
            task = os.environ["EXPERIMENTOS_TASK"][:300]
            ids = set()

            async def call(name, args):
                result = await s.call_tool(name, args)
                text = text_of(result)
                seen["mcp"].append(f"{name} {json.dumps(args)} -> {text}")
                ids.update(re.findall(PAGE_ID, text))
                return text

            first = {
                "start_pre_work_protocol": {"task": task, "repo": "."},
                "get_work_brief": {"task": task, "repo": "."},
                "get_agent_work_context": {"task": task, "repo": "."},
                "search_knowledge": {"query": "fix the file", "mode": "fts"},
                "record_run_event": {"run_id": token, "type": "x-probe", "payload": {}},
                "record_decision": {"run_id": token, "decision": "probe"},
                "validate_run_completion": {"run_id": token},
                "get_next_required_action": {"run_id": token},
            }
            names = [t.name for t in tools]
            for name in names:
                if name in first:
                    await call(name, first[name])
            for page in sorted(ids):
                if "get_page" in names:
                    await call("get_page", {"page_id": page})
                if "resolve_dependencies" in names:
                    await call("resolve_dependencies", {"page_id": page})
            for name in names:
                if name not in first and name not in ("get_page", "resolve_dependencies",
                                                       "complete_run"):
                    await call(name, {})
            if "complete_run" in names:
                await call("complete_run", {"run_id": token, "final_answer": "probed"})
            templates = await s.list_resource_templates()
            seen["mcp"].append(templates.model_dump_json())
            for brief in sorted(set(re.findall(r"brief\.[0-9a-f]{16}", "\n".join(seen["mcp"])))):
                seen["mcp"].append(text_of(await s.read_resource(f"brief://{brief}")))
            for page in sorted(ids):
                try:
                    seen["mcp"].append(text_of(await s.read_resource(f"wiki://pages/{page}")))
                except Exception as exc:  # noqa: BLE001
                    seen["mcp"].append(str(exc))


if os.environ.get("EXPERIMENTOS_MCP"):
    asyncio.run(probe(json.loads(os.environ["EXPERIMENTOS_MCP"])))
out = Path(os.environ["PROBE_OUT"]) / f"{token}.json"
out.write_text(json.dumps(seen), encoding="utf-8")
with open("app.txt", "w") as f:
    f.write("fixed\n")
print(json.dumps({"type": "final_answer", "text": "probed"}), flush=True)
"""


def _root(tmp_path: Path):
    ws = make_root(
        tmp_path / "root",
        {"probe": "import os\n" + PROBE},
        conditions=["none", "brief", f"brief-without:{PAGE}"],
    )
    out = tmp_path / "probe-out"
    out.mkdir()
    spec = read_spec(ws.root)
    spec["agents"][0]["options"]["env"] = {"PROBE_OUT": str(out)}
    write_spec(ws.root, spec)
    write_files(ws.root, {"wiki/knowledge/file-notes.md": NOTES})
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "notes")
    return ws, out


def _forbidden(run_id: str, record) -> list[str]:  # noqa: ANN001
    condition = record.condition
    found = [run_id, run_id.removeprefix("run."), record.matrix.cell, f"{EXP}.tiny."]
    if condition != "none" and condition != "brief":
        found += [condition, "brief-without", "without-", PAGE, PAGE.split(".", 1)[1]]
    return found


def test_nothing_the_agent_sees_names_its_condition_or_the_removed_page(tmp_path):
    ws, out = _root(tmp_path)
    summary = run_matrix(ws, EXP)
    assert summary.errored == 0, summary.runs
    found = records(ws.root)
    assert len(found) == 3
    tokens = set()
    for run_id, record in found.items():
        token = record.matrix.run_token
        assert token and token != run_id and re.fullmatch(r"run\.t[0-9a-f]{16}", token)
        tokens.add(token)
        dump = (out / f"{token}.json").read_text(encoding="utf-8")
        seen = json.loads(dump)
        assert seen["env"]["EXPERIMENTOS_RUN_ID"] == token
        if record.condition != "none":
            assert len(seen["mcp"]) > 10, seen["mcp"]  # the probe really talked to the server
            assert any("start_pre_work_protocol" in m and token in m for m in seen["mcp"])
        for secret in _forbidden(run_id, record):
            assert secret not in dump, (run_id, secret, _context(dump, secret))
    assert len(tokens) == 3
    # The brief condition served the page (it is not hidden from the run that has it)...
    brief = next(r for r in found.values() if r.condition == "brief")
    assert PAGE in (out / f"{brief.matrix.run_token}.json").read_text(encoding="utf-8")
    # ...and the server logged every call in the real run, under its real id.
    ablated = next(r for r in found.values() if r.condition.startswith("brief-without"))
    log = (ws.root / f"experiments/{EXP}/runs/{ablated.id}.events.jsonl").read_text()
    assert '"x-probe"' in log and '"source": "server"' in log.replace('":"', '": "')
    assert not list((ws.root / ".experimentos").rglob("run-tokens/*"))  # mappings cleaned up


def _context(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 200) : at + 200]


def test_agent_cli_invocations_carry_only_the_run_token(tmp_path, monkeypatch):
    """What the runner hands a real CLI adapter (argv, environment, the config files it writes
    in the run's home, the scripted model's URL) holds the token, never the run id."""
    ws, _ = _root(tmp_path)
    (ws.root / "p.yaml").write_text("scripts: [{name: a}]\n", encoding="utf-8")
    fake = tmp_path / "fake-cli"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    fake.chmod(0o755)
    plan = plan_matrix(ws, EXP)
    cell = next(c for c in expand(plan.spec, plan.matrix_id) if c.condition.kind == "brief-without")
    token = "run.t0123456789abcdef"
    for adapter in ("codex", "claude-code", "opencode", "scripted", "shell"):
        home = tmp_path / adapter / "home"
        home.mkdir(parents=True)
        options = {"binary": str(fake), "policy": "p.yaml"}
        if adapter == "shell":
            options = {"script": "agents/probe.py"}
        if adapter == "scripted":
            options = {"policy": "p.yaml"}
        spec = AgentSpec(name="a", adapter=adapter, options=options)
        with open_adapter(spec, ws.root) as agent:
            setup = RunSetup(
                run_id=token,
                workdir=tmp_path / adapter / "work",
                home=home,
                prompt="Make app.txt say fixed",
                time_limit_s=30,
                base_env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path / adapter / "tmp")},
                mcp=attachment(plan, tmp_path / "variant", token),
            )
            invocation = agent.prepare(setup)
        seen = json.dumps([invocation.argv, invocation.env, invocation.stdin])
        seen += "".join(p.read_text(encoding="utf-8") for p in home.rglob("*") if p.is_file())
        assert token in seen, adapter
        for secret in (cell.run_id, cell.condition.slug, cell.condition.text, PAGE):
            assert secret not in seen, (adapter, secret)
    assert sys.executable  # the attachment starts this interpreter's experimentos
