"""The scripted model server over real HTTP: policy scripts, both wire formats, no state."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from experimentos.agents.sim import SimServer, load_policy, parse_policy
from experimentos.agents.sim.wire import NO_SCRIPT
from experimentos.errors import UsageError

DATA = Path(__file__).parent / "data"
KEEP = "policy.keep-drizzle-kit-pin-verify-locally"
NS_TOOLS = [
    {"type": "function", "name": "exec_command", "parameters": {}},
    {"type": "custom", "name": "apply_patch"},
    {
        "type": "namespace",
        "name": "mcp__experimentos",
        "tools": [{"type": "function", "name": "start_pre_work_protocol"}],
    },
]
CLAUDE_TOOLS = [
    {"name": n, "input_schema": {}}
    for n in ("Bash", "Read", "Edit", "Write", "mcp__experimentos__start_pre_work_protocol")
]


@pytest.fixture
def sim():
    with SimServer(load_policy(DATA / "sim" / "drizzle-pin.yaml")) as server:
        yield server


def post(url: str, body: dict, *, raw: bytes | None = None) -> tuple[int, str]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def responses(sim: SimServer, items: list[dict], tools: list[dict] | None = None) -> dict:
    """POST a codex-style request; return the one output item after checking the stream."""
    body = {"model": "gpt-5.5", "stream": True, "input": items, "tools": tools or NS_TOOLS}
    status, text = post(f"{sim.base_url('run-1')}/v1/responses", body)
    assert status == 200, text
    events = sse(text)
    names = [name for name, _ in events]
    assert names == ["response.created", "response.output_item.done", "response.completed"]
    usage = events[-1][1]["response"]["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    return events[1][1]["item"]


def codex_start(task: str = "Bump drizzle-kit to fix created_at", cwd: str = "/w") -> list[dict]:
    return [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "x"}]},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"<environment_context><cwd>{cwd}</cwd>"}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": task}]},
    ]


def answered(item: dict, output: str) -> list[dict]:
    kind = "custom_tool_call_output" if item["type"] == "custom_tool_call" else None
    kind = kind or "function_call_output"
    return [item, {"type": kind, "call_id": item["call_id"], "output": output}]


def test_codex_conversation_follows_the_branch_the_brief_decides(sim, tmp_path):
    (tmp_path / "src" / "db").mkdir(parents=True)
    schema = '  createdAt: timestamp("created_at", { mode: "date" }).defaultNow().notNull(),\n'
    (tmp_path / "src" / "db" / "schema.ts").write_text(schema, encoding="utf-8")
    items = codex_start(cwd=str(tmp_path))
    first = responses(sim, items)
    assert first["type"] == "function_call" and first["namespace"] == "mcp__experimentos"
    assert first["name"] == "start_pre_work_protocol"
    arguments = json.loads(first["arguments"])
    assert arguments["repo"] == str(tmp_path) and "drizzle-kit" in arguments["task"]
    items += answered(first, f"brief ... {KEEP} ...")
    second = responses(sim, items)
    assert second["name"] == "exec_command"
    assert json.loads(second["arguments"]) == {"cmd": "cat package.json"}
    items += answered(second, '{"devDependencies": {"drizzle-kit": "0.30.4"}}')
    third = responses(sim, items)
    assert third["type"] == "custom_tool_call" and third["name"] == "apply_patch"
    # the substring edit is widened to the whole line, as apply_patch needs it
    assert "-  createdAt: timestamp(" in third["input"]
    assert (
        '+  createdAt: timestamp("created_at", { mode: "date", withTimezone: true })'
        in (third["input"])
    )
    assert "*** Update File: src/db/schema.ts" in third["input"]
    items += answered(third, "Success. Updated the following files:\nM src/db/schema.ts")
    last = responses(sim, items)
    assert last["type"] == "message"
    assert last["content"][0]["text"].startswith("Kept drizzle-kit at 0.30.4")
    assert [s.answer for s in sim.served][-1] == "text"
    assert {s.tag for s in sim.served} == {"run-1"}


def test_codex_without_the_brief_bumps_the_pin(sim):
    items = codex_start()
    first = responses(sim, items)
    items += answered(first, "brief without the policy")
    second = responses(sim, items)
    items += answered(second, "{}")
    third = responses(sim, items)
    assert '+"drizzle-kit": "0.31.0"' in third["input"]  # file not on disk: edit as given
    assert "*** Update File: package.json" in third["input"]


def test_codex_without_an_mcp_server_skips_the_mcp_step(sim):
    tools = [t for t in NS_TOOLS if t["type"] != "namespace"]
    first = responses(sim, codex_start(), tools)
    assert first["name"] == "exec_command"


def test_codex_deferred_mcp_tools_are_searched_first(sim):
    tools = [
        {"type": "function", "name": "exec_command"},
        {"type": "function", "name": "list_mcp_resources"},
        {"type": "tool_search"},
    ]
    items = codex_start()
    search = responses(sim, items, tools)
    assert search["type"] == "tool_search_call"
    assert search["arguments"]["query"] == "start_pre_work_protocol"
    found = {
        "type": "tool_search_output",
        "call_id": search["call_id"],
        "tools": [
            {
                "type": "namespace",
                "name": "mcp__kb",
                "tools": [{"type": "function", "name": "start_pre_work_protocol"}],
            }
        ],
    }
    items += [search, found]
    call = responses(sim, items, tools)
    assert call["type"] == "function_call" and call["namespace"] == "mcp__kb"
    assert call["call_id"].startswith("call_sim_0_")
    items += answered(call, KEEP)
    assert responses(sim, items, tools)["name"] == "exec_command"


def test_same_request_gives_the_same_bytes(sim):
    body = {"model": "m", "stream": True, "input": codex_start(), "tools": NS_TOOLS}
    url = f"{sim.url}/v1/responses"
    assert post(url, body) == post(url, body)


def messages(sim: SimServer, body: dict) -> tuple[list[tuple[str, dict]], dict]:
    status, text = post(f"{sim.url}/v1/messages?beta=true", {"stream": True, **body})
    assert status == 200, text
    events = sse(text)
    assert [n for n, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    return events, events[1][1]["content_block"]


def claude_body(history: list[dict], tools: list[dict] | None = None) -> dict:
    system = [{"type": "text", "text": "You are Claude Code."}]
    first = {
        "role": "user",
        "content": [
            {"type": "text", "text": "<system-reminder>\n - Primary working directory: /w\n"},
            {"type": "text", "text": "Bump drizzle-kit to fix created_at"},
        ],
    }
    tools = CLAUDE_TOOLS if tools is None else tools
    return {
        "model": "claude-sonnet-4-5",
        "system": system,
        "messages": [first, *history],
        "tools": tools,
    }


def claude_turn(block: dict, result: str) -> list[dict]:
    return [
        {"role": "assistant", "content": [block]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": result}],
        },
    ]


def tool_use(events: list[tuple[str, dict]]) -> dict:
    opening = events[1][1]["content_block"]
    assert events[4][1]["delta"]["stop_reason"] == "tool_use"
    return {**opening, "input": json.loads(events[2][1]["delta"]["partial_json"])}


def test_claude_conversation_reads_before_it_edits(sim):
    history: list[dict] = []
    events, _ = messages(sim, claude_body(history))
    call = tool_use(events)
    assert call["name"] == "mcp__experimentos__start_pre_work_protocol"
    assert call["input"]["repo"] == "/w"
    history += claude_turn(call, [{"type": "text", "text": f"brief {KEEP}"}])
    call = tool_use(messages(sim, claude_body(history))[0])
    assert call == {**call, "name": "Bash"} and call["input"]["command"] == "cat package.json"
    history += claude_turn(call, "{}")
    read = tool_use(messages(sim, claude_body(history))[0])
    assert read["name"] == "Read" and read["input"] == {"file_path": "/w/src/db/schema.ts"}
    history += claude_turn(read, "1\tschema")
    edit = tool_use(messages(sim, claude_body(history))[0])
    assert edit["name"] == "Edit" and edit["id"].endswith("sim_2_1")
    assert edit["input"]["old_string"] == '{ mode: "date" }).defaultNow()'
    history += claude_turn(edit, "ok")
    events, block = messages(sim, claude_body(history))
    assert block["type"] == "text" and events[4][1]["delta"]["stop_reason"] == "end_turn"
    assert events[2][1]["delta"]["text"].startswith("Kept drizzle-kit")
    usage = events[0][1]["message"]["usage"]
    assert usage["input_tokens"] > 0 and events[4][1]["usage"]["output_tokens"] > 0


def test_claude_deferred_mcp_tool_is_loaded_with_toolsearch(sim):
    tools = [t for t in CLAUDE_TOOLS if not t["name"].startswith("mcp__")]
    tools.append({"name": "ToolSearch", "input_schema": {}})
    body = claude_body([], tools)
    reminder = (
        "<system-reminder>\nThe following deferred tools are now available via ToolSearch:\n"
        "mcp__experimentos__get_page\nmcp__experimentos__start_pre_work_protocol\n</system-reminder>"
    )
    body["messages"][0]["content"].insert(0, {"type": "text", "text": reminder})
    search = tool_use(messages(sim, body)[0])
    assert search["name"] == "ToolSearch"
    assert search["input"]["query"] == "select:mcp__experimentos__start_pre_work_protocol"
    body["messages"] += claude_turn(search, [{"type": "tool_reference", "tool_name": "x"}])
    call = tool_use(messages(sim, body)[0])
    assert call["name"] == "mcp__experimentos__start_pre_work_protocol"


def test_side_requests_without_tools_get_plain_text(sim):
    events, block = messages(sim, claude_body([], tools=[]))
    assert block["type"] == "text" and events[2][1]["delta"]["text"] == "OK."
    assert sim.served[-1].answer == "side"


def test_non_streaming_requests_get_one_json_message(sim):
    status, text = post(f"{sim.url}/v1/messages", {**claude_body([]), "stream": False})
    message = json.loads(text)
    assert status == 200 and message["stop_reason"] == "tool_use"
    assert message["content"][0]["name"] == "mcp__experimentos__start_pre_work_protocol"


def test_opencode_dialect_uses_its_tool_names(sim):
    tools = [{"name": n, "input_schema": {}} for n in ("bash", "read", "edit", "write")]
    tools.append({"name": "experimentos_start_pre_work_protocol", "input_schema": {}})
    call = tool_use(messages(sim, claude_body([], tools))[0])
    assert call["name"] == "experimentos_start_pre_work_protocol"
    history = claude_turn(call, "nothing useful")
    history += claude_turn(tool_use(messages(sim, claude_body(history, tools))[0]), "{}")
    read = tool_use(messages(sim, claude_body(history, tools))[0])
    assert read == {**read, "name": "read", "input": {"filePath": "/w/package.json"}}


def test_no_matching_script_answers_with_text(sim):
    body = {"stream": True, "input": codex_start(task="Refactor the parser"), "tools": NS_TOOLS}
    item = sse(post(f"{sim.url}/v1/responses", body)[1])[1][1]["item"]
    assert item["content"][0]["text"] == NO_SCRIPT


def test_parallel_conversations_do_not_mix(sim):
    """Forty concurrent requests at different points of two conversations, each answered
    from its own history."""
    late = codex_start()
    late += answered(responses(sim, late), KEEP)
    expected = {"early": "start_pre_work_protocol", "late": "exec_command"}
    bodies = {"early": codex_start(), "late": late}
    seen: list[tuple[str, str]] = []

    def ask(label: str) -> None:
        body = {"stream": True, "input": bodies[label], "tools": NS_TOOLS}
        item = sse(post(f"{sim.url}/v1/responses", body)[1])[1][1]["item"]
        seen.append((label, item["name"]))

    threads = [threading.Thread(target=ask, args=(k,)) for k in ["early", "late"] * 20]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 40 and all(name == expected[label] for label, name in seen)


def test_bad_requests_get_http_errors(sim):
    assert post(f"{sim.url}/v1/responses", {}, raw=b"{not json")[0] == 400
    assert post(f"{sim.url}/v1/nothing", {})[0] == 404
    assert post(f"{sim.url}/v1/responses", {}, raw=b"[1, 2]")[0] == 400
    with urllib.request.urlopen(f"{sim.url}/v1/models", timeout=5) as response:
        assert json.loads(response.read()) == {"object": "list", "data": []}


# --- policy scripts -----------------------------------------------------------------------


def script(**fields) -> dict:
    return {"scripts": [{"name": "a", **fields}]}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"scripts": []}, "scripts", "at least 1"),
        (script(steps=[{"shell": "ls", "final": "x"}]), "scripts.0.steps.0", "exactly one"),
        (script(steps=[{"edit": {"path": "a"}}]), "scripts.0.steps.0.edit.old", "required"),
        (script(match={"tool_result_matches": "("}), "scripts.0.match.tool_result_matches",
         "regular expression"),
        (script(steps=[{"if": {}, "then": []}]), "scripts.0.steps.0.if", "at least one key"),
        (script(stepz=[]), "scripts.0.stepz", "unknown field"),
        ({"version": 2, "scripts": [{"name": "a"}]}, "version", "1"),
    ],
)  # fmt: skip
def test_a_bad_policy_names_the_field(data, field, words):
    with pytest.raises(UsageError) as caught:
        parse_policy(data, path="p.yaml")
    assert caught.value.field == field and caught.value.path == "p.yaml"
    assert words in caught.value.message


def test_unreadable_policies_are_refused(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scripts: [\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_policy(bad)
    link = tmp_path / "link.yaml"
    link.symlink_to(DATA / "sim" / "drizzle-pin.yaml")
    with pytest.raises(UsageError, match="regular file"):
        load_policy(link)
