"""The MCP server through the real protocol: the in-memory client, and one stdio subprocess."""

import os
import shutil
import sys
from pathlib import Path

import anyio
import mcp
import pytest
from mcp.client.stdio import StdioServerParameters, stdio_client

from experimentos.mcp.server import build_server

from .conftest import PROJECT

FIXTURE = PROJECT / "fixtures" / "drizzle-pin"
GOLDEN = {
    "task": "Bump drizzle-kit to the latest version to fix the migration default",
    "repo": str(FIXTURE),
    "libraries": ["drizzle-kit"],
}
TOOLS = {
    "get_work_brief",
    "start_pre_work_protocol",
    "get_agent_work_context",
    "resolve_dependencies",
    "search_knowledge",
    "get_page",
    "record_run_start",
    "record_run_event",
    "record_decision",
    "complete_run",
    "validate_run_completion",
    "get_next_required_action",
    "propose_page",
    "experiments_list",
    "experiments_tree",
    "experiments_describe",
    "tests_list",
    "tests_describe",
    "get_matrix_results",
    "propose_promotion",
}
WRITE_TOOLS = {
    "get_work_brief",
    "start_pre_work_protocol",
    "record_run_start",
    "record_run_event",
    "record_decision",
    "complete_run",
    "propose_page",
    "propose_promotion",
}


def run(server, script):
    async def main():
        async with mcp.Client(server) as client:
            return await script(client)

    return anyio.run(main)


@pytest.fixture
def server(kb):
    return build_server(kb)


def test_tools_are_listed_with_read_only_hints(server):
    async def script(c):
        return (await c.list_tools()).tools

    tools = {t.name: t for t in run(server, script)}
    assert set(tools) == TOOLS
    for name in TOOLS - WRITE_TOOLS:
        assert tools[name].annotations.read_only_hint is True, name
    for name in WRITE_TOOLS:
        assert tools[name].annotations.read_only_hint is False, name
    assert all(t.description for t in tools.values())


def test_brief_tools_agree_and_return_structured_answers(server):
    # Budget for the evidence too: at the default, the rules in full take it (issue 11, rule 5).
    args = {**GOLDEN, "budget": 4000}

    async def script(c):
        brief = await c.call_tool("get_work_brief", args)
        context = await c.call_tool("get_agent_work_context", args)
        pre = await c.call_tool("start_pre_work_protocol", args)
        return brief, context, pre

    brief, context, pre = run(server, script)
    assert not (brief.is_error or context.is_error or pre.is_error)
    b, ctx, p = brief.structured_content, context.structured_content, pre.structured_content
    assert b["brief_id"] == ctx["brief_id"] == p["brief_id"]
    assert b["markdown"].startswith("# Work brief:")
    assert ctx["version"] == "agent_work_context.v1"
    bounds = ctx["knowledge_boundaries"]
    assert "policy.keep-drizzle-kit-pin-verify-locally" in bounds["decision_capable"]
    assert "claim.upgrade-drizzle-kit-fixes-migration-default" in bounds["evidence_only"]
    assert ctx["local_versions"]["drizzle-kit"]["locked"] == "0.30.4"
    assert p["context"] == ctx and p["run_id"] is None
    assert any("drizzle-kit" in a for a in p["next_actions"])


def test_dependencies_search_and_pages(server):
    async def script(c):
        deps = await c.call_tool(
            "resolve_dependencies", {"page_id": "policy.keep-drizzle-kit-pin-verify-locally"}
        )
        shallow = await c.call_tool(
            "resolve_dependencies",
            {"page_id": "policy.keep-drizzle-kit-pin-verify-locally", "depth": 1},
        )
        found = await c.call_tool(
            "search_knowledge", {"query": "apostrophes break my bash command", "limit": 3}
        )
        filtered = await c.call_tool(
            "search_knowledge", {"query": "upgrade", "type": "policy", "mode": "fts"}
        )
        page = await c.call_tool("get_page", {"page_id": "policy.no-destructive-git"})
        return deps, shallow, found, filtered, page

    deps, shallow, found, filtered, page = run(server, script)
    d = deps.structured_content
    ids = [x["id"] for x in d["dependencies"]]
    assert ids[:2] == ["failure.migration-tool-default-change", "failure.pinned-dependency-upgrade"]
    assert "knowledge.version-ranges-and-pre-releases" in ids
    assert all(x["boundary"] == "domain_context" for x in d["dependencies"])
    assert all(x["depth"] == 1 for x in shallow.structured_content["dependencies"])
    hits = found.structured_content["results"]
    assert hits[0]["id"] == "knowledge.shell-quoting-layers" and len(hits) <= 3
    assert {h["type"] for h in filtered.structured_content["results"]} == {"policy"}
    p = page.structured_content
    assert p["path"] == "policies/no-destructive-git.md" and p["boundary"] == "decision_capable"
    assert p["frontmatter"]["id"] == "policy.no-destructive-git" and p["body"].strip()


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("get_work_brief", {"task": "  "}, "task: the task is empty"),
        ("get_work_brief", {"task": "x", "budget": 0}, "budget"),
        ("get_agent_work_context", {"task": "x", "depth": -1}, "depth"),
        ("start_pre_work_protocol", {"task": "x", "repo": "/no/such/repo"}, "repo"),
        ("get_page", {"page_id": "../../etc/passwd"}, "unknown prefix"),
        ("get_page", {"page_id": "policy.nope"}, "no page 'policy.nope'"),
        ("resolve_dependencies", {"page_id": "policy.UPPER"}, "policy.UPPER"),
        ("search_knowledge", {"query": " "}, "query is empty"),
        ("search_knowledge", {"query": "x", "mode": "magic"}, "mode: Input should be"),
    ],
)
def test_bad_arguments_are_tool_errors_and_the_server_stays_up(server, tool, args, message):
    async def script(c):
        bad = await c.call_tool(tool, args)
        good = await c.call_tool("get_page", {"page_id": "policy.no-destructive-git"})
        return bad, good

    bad, good = run(server, script)
    assert bad.is_error and message in bad.content[0].text
    assert not good.is_error


def test_resources_and_prompt(server, kb):
    async def script(c):
        brief = await c.call_tool("get_work_brief", GOLDEN)
        brief_id = brief.structured_content["brief_id"]
        page = await c.read_resource("wiki://pages/policy.no-destructive-git")
        text = await c.read_resource(f"brief://{brief_id}")
        prompt = await c.get_prompt("pre_work", {"task": "fix the flaky test", "repo": "/r"})
        templates = await c.list_resource_templates()
        with pytest.raises(Exception, match="no page"):
            await c.read_resource("wiki://pages/policy.nope")
        with pytest.raises(Exception, match="not a brief id"):
            await c.read_resource("brief://..nope")
        return page, text, prompt, templates

    page, text, prompt, templates = run(server, script)
    on_disk = (kb.root / "policies" / "no-destructive-git.md").read_text(encoding="utf-8")
    assert page.contents[0].text == on_disk
    assert text.contents[0].text.startswith("# Work brief:")
    assert "start_pre_work_protocol" in prompt.messages[0].content.text
    uris = {t.uri_template for t in templates.resource_templates}
    assert uris == {"wiki://pages/{id}", "brief://{id}"}


def test_write_and_read_only(kb):
    async def script(c):
        return await c.call_tool("get_work_brief", {**GOLDEN, "write": True})

    written = run(build_server(kb), script)
    rel = written.structured_content["path"]
    assert (kb.root / rel).is_file()
    refused = run(build_server(kb, read_only=True), script)
    assert refused.is_error and "--read-only" in refused.content[0].text


def test_an_edit_on_disk_is_seen_by_the_next_call(server, kb):
    path = kb.root / "policies" / "keep-drizzle-kit-pin-verify-locally.md"

    async def script(c):
        before = await c.call_tool("get_work_brief", GOLDEN)
        text = path.read_text(encoding="utf-8").replace("status: accepted", "status: draft", 1)
        path.write_text(text, encoding="utf-8")
        after = await c.call_tool("get_agent_work_context", GOLDEN)
        gone = kb.root / "wiki" / "failures" / "red-green-churn.md"
        gone.unlink()
        page = await c.call_tool("get_page", {"page_id": "failure.red-green-churn"})
        return before, after, page

    before, after, page = run(server, script)
    bounds = after.structured_content["knowledge_boundaries"]
    assert "policy.keep-drizzle-kit-pin-verify-locally" in bounds["evidence_only"]
    assert after.structured_content["brief_id"] != before.structured_content["brief_id"]
    assert page.is_error


def test_stdio_round_trip_with_a_real_subprocess(kb):
    exe = shutil.which("experimentos", path=str(Path(sys.executable).parent)) or "experimentos"
    params = StdioServerParameters(
        command=exe,
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
            result = await session.call_tool("get_agent_work_context", GOLDEN)
            bad = await session.call_tool("get_page", {"page_id": "nope"})
            return tools, result, bad

    tools, result, bad = anyio.run(main)
    assert {t.name for t in tools.tools} == TOOLS
    context = result.structured_content
    assert (
        "policy.keep-drizzle-kit-pin-verify-locally"
        in (context["knowledge_boundaries"]["decision_capable"])
    )
    assert bad.is_error


def test_a_scripted_run_is_recorded_by_the_server_and_completes(kb):
    from experimentos.lab.experiments import new_experiment
    from experimentos.lab.runs import read_events, read_run

    new_experiment(kb, "Drizzle pin", "agent")
    server = build_server(kb)

    async def script(c):
        pre = await c.call_tool("start_pre_work_protocol", {**GOLDEN, "experiment": "drizzle-pin"})
        run_id = pre.structured_content["run_id"]
        assert pre.structured_content["context"]["run_id"] == run_id
        early = await c.call_tool("get_next_required_action", {"run_id": run_id})
        await c.call_tool(
            "record_decision",
            {
                "run_id": run_id,
                "decision": "keep the pin",
                "page_ids": ["policy.no-destructive-git"],
            },
        )
        edit = {"run_id": run_id, "event": {"type": "file_edited", "path": "src/db/schema.ts"}}
        await c.call_tool("record_run_event", edit)
        bad = await c.call_tool("record_run_event", {"run_id": run_id, "event": {"type": "edited"}})
        tests = {"run_id": run_id, "event": {"type": "test_run", "passed": True}}
        await c.call_tool("record_run_event", tests)
        done = await c.call_tool(
            "complete_run", {"run_id": run_id, "final_answer": "kept the pin", "outcome": "success"}
        )
        tree = await c.call_tool("experiments_tree", {})
        described = await c.call_tool("experiments_describe", {"experiment": "drizzle-pin"})
        return run_id, early, bad, done, tree, described

    run_id, early, bad, done, tree, described = run(server, script)
    assert early.structured_content["step"] == "decision"
    assert bad.is_error and "x-" in bad.content[0].text
    assert done.structured_content["completion"]["complete"] is True
    assert done.structured_content["completion"]["evidence"] == "server"
    assert tree.structured_content["roots"][0]["id"] == "experiment.drizzle-pin"
    assert described.structured_content["runs"] == 1
    record = read_run(kb, run_id).model
    assert record.status == "finished" and record.brief.startswith("brief.")
    events = read_events(kb, run_id).events
    first = [(e.type, e.source) for e in events[:2]]
    assert first == [("brief_loaded", "server"), ("dependency_resolved", "server")]
    logged = [e.payload["tool"] for e in events if e.type == "mcp_tool_called"]
    assert logged[0] == "start_pre_work_protocol" and "complete_run" in logged
    assert [e.step for e in events] == list(range(1, len(events) + 1))


def test_read_only_refuses_every_write_tool(kb):
    async def script(c):
        return [
            await c.call_tool("record_run_start", {"experiment": "x", "task": "t"}),
            await c.call_tool("record_decision", {"run_id": "run.x", "decision": "d"}),
            await c.call_tool("propose_page", {"content": "---\n---\n", "why": "w"}),
            await c.call_tool("propose_promotion", {"page_id": "policy.x", "matrix": "m"}),
            await c.call_tool("start_pre_work_protocol", {**GOLDEN, "experiment": "x"}),
        ]

    for result in run(build_server(kb, read_only=True), script):
        assert result.is_error and "--read-only" in result.content[0].text


def test_mcp_serve_in_a_terminal_explains_itself_on_stderr_only(kb):
    """A person who runs `mcp serve` by hand learns what it is and how to stop it (Ctrl-D)."""
    import pty
    import select
    import subprocess

    exe = shutil.which("experimentos", path=str(Path(sys.executable).parent)) or "experimentos"
    master, terminal = pty.openpty()
    proc = subprocess.Popen(
        [exe, "--root", str(kb.root), "mcp", "serve"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "EXPERIMENTOS_ROOT": ""},
    )
    os.close(terminal)
    try:
        # the note comes before the server warms up; without one, fail instead of hanging
        ready, _, _ = select.select([proc.stderr], [], [], 60)
        first = proc.stderr.readline().decode() if ready else ""
        os.write(master, b"\x04")  # Ctrl-D: end of input, the stdio server exits
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    assert "speaks MCP" in first and "Ctrl-C or Ctrl-D" in first and str(kb.root) in first
    assert out == b"" and proc.returncode == 0 and b"Traceback" not in err


def test_a_relative_repo_is_taken_from_the_knowledge_root_not_the_servers_cwd(
    kb, tmp_path, monkeypatch
):
    shutil.copytree(FIXTURE, kb.root / "fixtures" / "drizzle-pin")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "fixtures").mkdir(parents=True)  # a same-named directory the cwd would pick
    monkeypatch.chdir(elsewhere)
    server = build_server(kb)
    args = {**GOLDEN, "repo": "fixtures/drizzle-pin"}

    async def script(client):
        relative = await client.call_tool("get_agent_work_context", args)
        absolute = await client.call_tool(
            "get_agent_work_context", {**GOLDEN, "repo": str(kb.root / "fixtures/drizzle-pin")}
        )
        return relative, absolute

    relative, absolute = run(server, script)
    assert not relative.is_error, relative.content[0].text
    context = relative.structured_content
    assert context["local_versions"]["drizzle-kit"]["locked"] == "0.30.4"
    assert context["brief_id"] == absolute.structured_content["brief_id"]


def test_a_warm_server_keeps_what_lives_on_out_of_later_collections(server):
    """Gen-2 collections scanning the pages and the modules a first call imports cost 90-120 ms
    each at 10,000 pages, the p95 of a brief: after an answer that grew the process for good,
    the server freezes it; an answer that only made garbage freezes nothing."""
    import gc

    server.state.live.snapshot()  # pages loaded (and frozen) before any call
    kept = [[i] for i in range(5000)]  # what a first call leaves behind: modules, sessions
    frozen = gc.get_freeze_count()

    async def search(c):
        return await c.call_tool("search_knowledge", {"query": "drizzle pin", "mode": "fts"})

    assert not run(server, search).is_error
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert not run(server, search).is_error  # may still freeze what the first answer imported
    settled = gc.get_freeze_count()
    garbage = [[i] for i in range(5000)]  # made by an answer that imports nothing new
    assert not run(server, search).is_error
    assert gc.get_freeze_count() < settled + len(garbage)  # it stays collectable
    del kept, garbage


def test_a_warm_server_collects_young_objects_less_often(kb):
    """A brief memoises entries, floors and verdicts with the snapshot: under the default
    thresholds that kept state was promoted and rescanned by a full collection every few dozen
    briefs (12-14 ms of the p95 at 10,000 pages). A server loads its pages with higher ones;
    a one-shot command keeps Python's."""
    import gc

    from experimentos.knowledge.live import SERVER_GC_GEN0, Live

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        Live(kb, watch=False, index=False).snapshot()  # a one-shot command
        assert gc.get_threshold() == (700, 10, 10)
        served = Live(kb, index=False)  # a server (it watches the files)
        served.snapshot()
        served.close()
        assert gc.get_threshold()[0] >= SERVER_GC_GEN0
    finally:
        gc.set_threshold(*before)
