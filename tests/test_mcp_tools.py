"""The MCP tools as an agent meets them, through the real protocol: names a client accepts,
schemas that say everything a call needs (each event type its own, closed sets as enums, every
parameter described), answers with Markdown text beside structured content that matches its
outputSchema, errors that name every problem, and a lean tools/list.

The agent-side test fills every write tool's arguments from its inputSchema alone (a generic
filler that knows nothing of these tools) and expects success on the first try.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import mcp
import pytest
from mcp.client.stdio import StdioServerParameters, stdio_client

from experimentos.mcp.server import DEPRECATED_ALIASES, build_server
from experimentos.models.events import AGENT_EVENT_TYPES
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import PROJECT, git

GOLDEN = {
    "task": "Bump drizzle-kit to the latest version to fix the migration default",
    "repo": str(PROJECT / "fixtures" / "drizzle-pin"),
    "libraries": ["drizzle-kit"],
}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# What the lean listing weighs (bytes of compact JSON); benchmarks/mcp_tools.py measures it.
# Before this listing: 20,934 bytes for less (no event schemas, no enums, few descriptions).
LISTING_BUDGET = 27_000


def run(server, script):
    async def main():
        async with mcp.Client(server) as client:
            return await script(client)

    return anyio.run(main)


def listing(server) -> list:
    async def script(c):
        return (await c.list_tools()).tools

    return run(server, script)


@pytest.fixture
def project(tmp_path: Path) -> Workspace:
    """A git repository holding the project's own knowledge and its scripted matrix, committed
    (proposals are branches, so there must be a commit)."""
    root = tmp_path / "project"
    init_workspace(root)
    for top in ("wiki", "policies", "experiments"):
        shutil.copytree(PROJECT / top, root / top, dirs_exist_ok=True)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "knowledge")
    return Workspace(root)


# --- names ---------------------------------------------------------------------------------


def test_tools_are_snake_case_and_the_dotted_names_are_hidden_aliases(kb):
    from experimentos.lab.experiments import new_experiment

    new_experiment(kb, "Drizzle pin", "agent")
    server = build_server(kb)
    names = [t.name for t in listing(server)]
    assert all(SNAKE.match(n) for n in names), names
    assert not set(DEPRECATED_ALIASES) & set(names)
    assert {new for new, _ in DEPRECATED_ALIASES.values()} <= set(names)

    async def script(c):
        return [
            await c.call_tool("experiments_describe", {"experiment": "drizzle-pin"}),
            await c.call_tool("data.experiments.describe", {"id": "drizzle-pin"}),
            await c.call_tool("experiments_list", {}),
            await c.call_tool("data.experiments.list", {}),
            await c.call_tool("data.tests.list", {}),
        ]

    new, old, listed, old_listed, tests = run(server, script)
    assert not any(r.is_error for r in (new, old, listed, old_listed, tests))
    assert new.structured_content == old.structured_content
    assert listed.structured_content == old_listed.structured_content


def test_an_unknown_tool_is_answered_with_the_nearest_names(kb):
    async def script(c):
        return await c.call_tool("experiments.list", {})

    result = run(build_server(kb), script)
    assert result.is_error and "did you mean experiments_list?" in result.content[0].text


# --- schemas ---------------------------------------------------------------------------------


def _walk(schema: dict, path: str = ""):
    """Every (path, property schema) of an input schema, into union members and items."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}{name}", sub
        yield from _walk(sub, f"{path}{name}.")
        for i, option in enumerate(sub.get("oneOf", []) + sub.get("anyOf", [])):
            const = option.get("properties", {}).get("type", {}).get("const", i)
            yield from _walk(option, f"{path}{name}[{const}].")
        if isinstance(sub.get("items"), dict):
            yield from _walk(sub["items"], f"{path}{name}[].")


def test_each_event_type_has_its_own_schema_in_the_tool(kb):
    tools = {t.name: t for t in listing(build_server(kb))}
    event = tools["record_run_event"].input_schema["properties"]["event"]
    assert event["discriminator"] == {"propertyName": "type"}
    members = {m["properties"]["type"].get("const", "custom"): m for m in event["oneOf"]}
    assert set(members) == {*AGENT_EVENT_TYPES, "custom"}
    assert members["file_edited"]["required"] == ["path", "type"]
    assert "path" in members["file_inspected"]["properties"]
    assert members["test_run"]["properties"]["passed"]["type"] == "boolean"
    assert members["custom"]["properties"]["type"]["examples"] == ["x-note"]
    assert tools["record_run_event"].input_schema["required"] == ["run_id", "event"]


def test_closed_sets_are_enums_and_every_parameter_is_described(kb):
    tools = {t.name: t for t in listing(build_server(kb))}
    enums = {
        ("search_knowledge", "mode"): {"hybrid", "vector", "fts"},
        ("search_knowledge", "type"): {"policy", "failure", "claim"},
        ("search_knowledge", "status"): {"draft", "accepted"},
        ("complete_run", "status"): {"finished", "failed", "aborted"},
        ("complete_run", "outcome"): {"success", "failure", "partial"},
        ("experiments_list", "kind"): {"agent", "ablation"},
        ("experiments_list", "status"): {"draft", "running"},
        ("tests_list", "verdict"): {"passed", "failed", "unset"},
        ("tests_list", "kind"): {"manual", "run_outcome"},
        ("propose_promotion", "metric"): {"clean_pass", "pass"},
    }
    for (tool, name), values in enums.items():
        assert values <= set(tools[tool].input_schema["properties"][name]["enum"]), (tool, name)
    undescribed = [
        f"{tool.name}.{path}"
        for tool in tools.values()
        for path, sub in _walk(tool.input_schema)
        if not sub.get("description") and "const" not in sub and not path.endswith(".type")
    ]
    assert undescribed == []
    for tool in tools.values():
        assert tool.description and len(tool.description) < 400, tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name


def test_the_listing_is_lean(kb):
    tools = listing(build_server(kb))
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    text = json.dumps({"tools": dumped}, separators=(",", ":"))
    assert len(text.encode()) <= LISTING_BUDGET
    for tool in dumped:
        schema = json.dumps(tool["inputSchema"])
        assert '"title"' not in schema and '{"type": "null"}' not in schema, tool["name"]
        assert "$ref" not in schema and "\n   " not in tool["description"], tool["name"]


# --- answers ---------------------------------------------------------------------------------


def test_answers_are_markdown_text_beside_structured_content_matching_the_output_schema(kb):
    server = build_server(kb)
    tools = {t.name: t for t in listing(server)}

    async def script(c):
        return {
            "get_work_brief": await c.call_tool("get_work_brief", GOLDEN),
            "start_pre_work_protocol": await c.call_tool("start_pre_work_protocol", GOLDEN),
            "get_agent_work_context": await c.call_tool("get_agent_work_context", GOLDEN),
            "get_page": await c.call_tool("get_page", {"page_id": "policy.no-destructive-git"}),
            "search_knowledge": await c.call_tool(
                "search_knowledge", {"query": "drizzle pin", "mode": "fts", "limit": 3}
            ),
            "resolve_dependencies": await c.call_tool(
                "resolve_dependencies", {"page_id": "policy.keep-drizzle-kit-pin-verify-locally"}
            ),
            "experiments_tree": await c.call_tool("experiments_tree", {}),
        }

    answers = run(server, script)
    for name, answer in answers.items():
        assert not answer.is_error, (name, answer.content)
        jsonschema.validate(answer.structured_content, tools[name].output_schema)
    brief = answers["get_work_brief"]
    assert brief.content[0].text.startswith("# Work brief:")
    assert brief.content[0].text == brief.structured_content["markdown"]
    pre = answers["start_pre_work_protocol"].content[0].text
    assert pre.startswith("# Work brief:") and "## Next actions" in pre
    assert not pre.lstrip().startswith("{")
    page = answers["get_page"].content[0].text
    assert page.startswith("# policy.no-destructive-git") and "decision_capable" in page
    hits = answers["search_knowledge"].content[0].text
    assert "(fts search)" in hits and "**" in hits
    # a data answer's text is its structured content, compact (no indentation to pay for)
    context = answers["get_agent_work_context"]
    assert json.loads(context.content[0].text) == context.structured_content
    assert "\n" not in context.content[0].text


# --- errors ----------------------------------------------------------------------------------


def test_argument_errors_name_every_problem_at_once(kb):
    from experimentos.lab.experiments import new_experiment
    from experimentos.lab.runs import read_events, start_run

    new_experiment(kb, "Drizzle pin", "agent")
    run_id = start_run(kb, "drizzle-pin", "t").model.id

    async def script(c):
        wrong_fields = await c.call_tool(
            "record_run_event",
            {"run_id": run_id, "event": {"type": "file_edited", "file": "a.ts", "lines": 3}},
        )
        wrong_type = await c.call_tool(
            "record_run_event", {"run_id": run_id, "event": {"type": "decision_recorded"}}
        )
        old_shape = await c.call_tool(
            "record_run_event", {"run_id": run_id, "type": "file_edited", "payload": {}}
        )
        several = await c.call_tool(
            "search_knowledge", {"query": "x", "mode": "magic", "limt": 3, "type": "polcy"}
        )
        condition = await c.call_tool(
            "record_run_start", {"experiment": "drizzle-pin", "task": "t", "condition": "nope"}
        )
        return wrong_fields, wrong_type, old_shape, several, condition

    wrong_fields, wrong_type, old_shape, several, condition = run(build_server(kb), script)
    assert condition.is_error and "brief-without:<page-id>" in condition.content[0].text
    text = wrong_fields.content[0].text
    assert wrong_fields.is_error and "3 problems" in text
    assert "event.path: required" in text and "event.file: unknown field" in text
    assert "event.lines: unknown field" in text
    text = wrong_type.content[0].text
    assert "file_edited" in text and "decision_recorded: recorded by record_decision" in text
    text = old_shape.content[0].text
    assert "type: unknown argument" in text and "payload: unknown argument" in text
    assert "event: required" in text and "takes: run_id, event" in text
    text = several.content[0].text
    assert "3 problems" in text
    assert "limt: unknown argument (did you mean limit?)" in text
    assert "mode: Input should be 'hybrid', 'vector' or 'fts' (got 'magic')" in text
    assert "type: Input should be" in text
    # the server's record of the run keeps the refused calls too
    calls = [e.payload for e in read_events(kb, run_id).events if e.type == "mcp_tool_called"]
    assert [c["ok"] for c in calls] == [False, False, False]


def test_a_missing_page_or_experiment_suggests_the_nearest_ids(kb):
    from experimentos.lab.experiments import new_experiment

    new_experiment(kb, "Drizzle pin", "agent")

    async def script(c):
        return [
            await c.call_tool("get_page", {"page_id": "policy.no-destructive-gits"}),
            await c.call_tool("experiments_describe", {"experiment": "drizzle-pn"}),
        ]

    page, experiment = run(build_server(kb), script)
    assert "did you mean policy.no-destructive-git?" in page.content[0].text
    assert "did you mean drizzle-pin?" in experiment.content[0].text


# --- an agent that knows only the schemas ----------------------------------------------------


class SchemaFiller:
    """Arguments from an input schema alone, as a careful agent would write them: constants and
    enums as given, values it was handed by earlier answers (same name), the schema's
    examples, defaults, then a plain value of the right type. Optional arguments are given only
    when it has something better than a placeholder for them."""

    def __init__(self) -> None:
        self.memory: dict[str, Any] = {}

    def remember(self, answer: Any) -> None:
        if isinstance(answer, dict):
            for key, value in answer.items():
                if isinstance(value, str):
                    self.memory[key] = value
                else:
                    self.remember(value)
        elif isinstance(answer, list):
            for value in answer:
                self.remember(value)

    def value(self, schema: dict, name: str | None = None) -> Any:
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if name in self.memory and schema.get("type") == "string":
            remembered = self.memory[name]  # same name, but it must still fit the schema
            if re.fullmatch(schema.get("pattern", ".*"), remembered, re.S):
                return remembered
        if schema.get("examples"):
            return schema["examples"][0]
        if "default" in schema:
            return schema["default"]
        options = schema.get("oneOf") or schema.get("anyOf")
        if options:
            return self.value(options[0], name)
        kind = schema.get("type")
        if kind == "object":
            return self.object(schema)
        if kind == "array":
            count = max(1, schema.get("minItems", 0))
            return [self.value(schema.get("items", {}), None) for _ in range(count)]
        if kind == "integer":
            return max(1, schema.get("minimum", 1))
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return True
        return "example"

    def known(self, schema: dict, name: str) -> bool:
        return any(k in schema for k in ("const", "enum", "examples")) or (
            name in self.memory and schema.get("type") == "string"
        )

    def object(self, schema: dict) -> dict:
        required = set(schema.get("required", []))
        return {
            name: self.value(sub, name)
            for name, sub in schema.get("properties", {}).items()
            if name in required or self.known(sub, name)
        }

    def calls(self, tool) -> list[dict]:
        """One call per alternative of a union argument (each event type), else one call."""
        schema = tool.input_schema
        for name, sub in schema.get("properties", {}).items():
            if "oneOf" in sub:
                base = self.object(schema)
                return [{**base, name: self.object(option)} for option in sub["oneOf"]]
        return [self.object(schema)]


def test_an_agent_fills_every_write_tool_from_its_schema_alone_and_succeeds(project):
    server = build_server(project)
    filler = SchemaFiller()

    async def script(c):
        tools = (await c.list_tools()).tools
        writes = [t for t in tools if not t.annotations.read_only_hint]
        answers = []
        for tool in writes:
            for arguments in filler.calls(tool):
                result = await c.call_tool(tool.name, arguments)
                answers.append((tool.name, arguments, result))
                assert not result.is_error, (tool.name, arguments, result.content[0].text)
                jsonschema.validate(result.structured_content, tool.output_schema)
                filler.remember(result.structured_content)
        return writes, answers

    writes, answers = run(server, script)
    called = {name for name, _, _ in answers}
    assert called == {t.name for t in writes}
    assert {"record_run_event", "propose_page", "complete_run"} <= called
    events = [a["event"]["type"] for name, a, _ in answers if name == "record_run_event"]
    assert set(AGENT_EVENT_TYPES) <= set(events) and any(t.startswith("x-") for t in events)
    assert git(project.root, "branch", "--list", "xos/*").strip()  # the proposal is a branch


# --- the real transports ---------------------------------------------------------------------


def _exe() -> str:
    return shutil.which("experimentos", path=str(Path(sys.executable).parent)) or "experimentos"


def test_stdio_round_trip_lists_snake_names_and_takes_an_event(kb):
    from experimentos.lab.experiments import new_experiment
    from experimentos.lab.runs import read_events, start_run

    new_experiment(kb, "Drizzle pin", "agent")
    run_id = start_run(kb, "drizzle-pin", "t").model.id
    params = StdioServerParameters(
        command=_exe(),
        args=["--root", str(kb.root), "mcp", "serve"],
        env={**os.environ, "EXPERIMENTOS_ROOT": ""},
    )

    async def main():
        async with (
            stdio_client(params) as (read, write),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = await session.list_tools()
            event = {"type": "file_edited", "path": "src/db/schema.ts"}
            edited = await session.call_tool("record_run_event", {"run_id": run_id, "event": event})
            old = await session.call_tool("data.experiments.describe", {"id": "drizzle-pin"})
            return tools, edited, old

    tools, edited, old = anyio.run(main)
    assert all(SNAKE.match(t.name) for t in tools.tools)
    assert not edited.is_error and edited.structured_content["type"] == "file_edited"
    assert not old.is_error and old.structured_content["runs"] == 1
    assert [e.type for e in read_events(kb, run_id).events][-2:] == [
        "file_edited",
        "mcp_tool_called",
    ]


def _inspector(root: Path, *args: str) -> subprocess.CompletedProcess:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed")
    command = [npx, "--yes", "@modelcontextprotocol/inspector", "--cli"]
    command += [_exe(), "--root", str(root), "mcp", "serve", *args]
    env = {**os.environ, "EXPERIMENTOS_ROOT": "", "npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip("the MCP Inspector did not start in time (offline npm cache?)")
    if done.returncode != 0 and "inspector" in done.stderr and "ERR!" in done.stderr:
        pytest.skip(f"the MCP Inspector is unavailable: {done.stderr.strip()[:200]}")
    return done


def test_the_mcp_inspector_cli_lists_and_calls_the_tools(kb):
    from experimentos.lab.experiments import new_experiment
    from experimentos.lab.runs import read_events, start_run

    new_experiment(kb, "Drizzle pin", "agent")
    run_id = start_run(kb, "drizzle-pin", "t").model.id
    listed = _inspector(kb.root, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    names = {t["name"] for t in json.loads(listed.stdout)["tools"]}
    assert {"record_run_event", "experiments_list", "get_work_brief"} <= names
    assert all(SNAKE.match(n) for n in names)
    event = json.dumps({"type": "test_run", "passed": True, "command": "npm test"})
    called = _inspector(
        kb.root, "--method", "tools/call", "--tool-name", "record_run_event",
        "--tool-arg", f"run_id={run_id}", "--tool-arg", f"event={event}",
    )  # fmt: skip
    assert called.returncode == 0, called.stderr
    answer = json.loads(called.stdout)
    assert not answer.get("isError"), answer
    assert answer["structuredContent"]["type"] == "test_run"
    brief = _inspector(
        kb.root, "--method", "tools/call", "--tool-name", "get_work_brief",
        "--tool-arg", "task=keep the drizzle-kit pin",
    )  # fmt: skip
    assert json.loads(brief.stdout)["content"][0]["text"].startswith("# Work brief:")
    assert [e.type for e in read_events(kb, run_id).events if e.source == "agent"] == ["test_run"]


def test_a_stdio_server_whose_client_leaves_waits_for_its_warm_up_then_exits_0(kb, tmp_path):
    """A client that closes stdin while the warm-up is still in native code (ONNX Runtime,
    LanceDB) must not make the process abort on exit ("terminate called without an active
    exception", exit -6, seen under load): the server joins the warm-up, then exits 0."""
    marker = tmp_path / "warm-up-finished"
    script = f"""
import sys, threading, time
import experimentos.mcp.server as server
def slow(_server):
    def load():
        time.sleep(1.5)
        open({str(marker)!r}, "w").close()
    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    return thread
server.warm_up = slow
from experimentos.cli import main
sys.argv = ["experimentos", "--root", {str(kb.root)!r}, "mcp", "serve"]
main()
"""
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(hello) + "\n",
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"id":1' in done.stdout.replace(" ", "")
    assert marker.exists()  # the warm-up ran to its end before the process exited
