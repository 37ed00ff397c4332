"""Model endpoints: the spec's `model:` block, what each CLI adapter makes of it, the key's path
(environment only, masked everywhere), and what the run record says about the model."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from experimentos.agents.base import AgentSpec, McpAttachment, RunSetup, open_adapter
from experimentos.errors import InvalidPage, UsageError
from experimentos.matrix.plan import check_agents
from experimentos.matrix.runner import run_matrix
from experimentos.matrix.spec import parse_spec

from .matrix_helpers import EXP, make_root, read_spec, records, runs_dir, write_spec

KEY = "lk-7d2f9a41c0e35b86-local"  # a key value, named like nothing the redactor guesses
SECRET = "sk-test-4f9a1c-not-real"
LOCAL = "http://127.0.0.1:8080/v1"
REL = "experiments/e/matrix.yaml"


@pytest.fixture
def key(monkeypatch) -> str:
    monkeypatch.setenv("LOCAL_LLM_KEY", KEY)
    return KEY


def setup_for(tmp_path: Path) -> RunSetup:
    (tmp_path / "wd").mkdir(exist_ok=True)
    mcp = McpAttachment(name="experimentos", command="/usr/bin/xos", args=["mcp", "serve"])
    return RunSetup(
        run_id="run-1",
        workdir=tmp_path / "wd",
        home=tmp_path / "home",
        prompt="Fix it",
        time_limit_s=60,
        base_env={"PATH": "/usr/bin:/bin"},
        mcp=mcp,
        secrets={"ANTHROPIC_API_KEY": SECRET},
    )


def endpoint(provider: str, url: str | None = LOCAL, **extra) -> dict:
    block = {"provider": provider, "name": "qwen3-8b", "keyEnv": "LOCAL_LLM_KEY", **extra}
    if url is not None:
        block["baseUrl"] = url
    return block


def prepared(tmp_path: Path, adapter: str, model: dict, cli: Path):
    spec = AgentSpec(name="a", adapter=adapter, model=model, options={"binary": str(cli)})
    with open_adapter(spec, tmp_path) as agent:
        return agent.prepare(setup_for(tmp_path))


def written(tmp_path: Path) -> str:
    home = tmp_path / "home"
    return "".join(p.read_text(encoding="utf-8") for p in home.rglob("*") if p.is_file())


def assert_key_in_env_only(invocation, tmp_path: Path) -> None:
    assert KEY in invocation.env.values()
    assert KEY not in " ".join(invocation.argv) and KEY not in written(tmp_path)


# --- the spec ------------------------------------------------------------------------------


def spec_with(model: object) -> bytes:
    agent = {"name": "a", "adapter": "opencode", "model": model}
    data = {"fixtures": ["f"], "conditions": ["none"], "agents": [agent]}
    return json.dumps(data).encode("utf-8")


@pytest.mark.parametrize(
    ("model", "field", "says"),
    [
        ({"provider": "openai", "name": "m"}, "agents.0.model.provider", "openai-chat"),
        ({"provider": "openai-chat"}, "agents.0.model.name", "required"),
        ({"provider": "openai-chat", "name": "m", "baseUrl": "ftp://h/v1"},
         "agents.0.model.baseUrl", "http(s)"),
        ({"provider": "openai-chat", "name": "m", "baseUrl": "localhost:8080"},
         "agents.0.model.baseUrl", "http(s)"),
        ({"provider": "openai-chat", "name": "m", "baseUrl": "http://u:sk-in-url@h/v1"},
         "agents.0.model.baseUrl", "credentials"),
        ({"provider": "openai-chat", "name": "m", "baseUrl": "http://h/v1?api_key=abc123"},
         "agents.0.model.baseUrl", "query"),
        ({"provider": "anthropic", "name": "m", "keyEnv": "sk-ant-the-key-itself"},
         "agents.0.model.keyEnv", "not an environment variable name"),
        ({"provider": "anthropic", "name": "m", "apiKey": "x"}, "agents.0.model.apiKey",
         "unknown field"),
        ({"provider": "anthropic", "name": "two words"}, "agents.0.model.name", "no spaces"),
        ({"provider": "anthropic", "name": "m", "maxOutputTokens": 0},
         "agents.0.model.maxOutputTokens", "greater than"),
        (7, "agents.0.model", "a model name, or {provider"),
    ],
)  # fmt: skip
def test_a_bad_model_block_names_its_field(model, field, says):
    with pytest.raises(InvalidPage) as caught:
        parse_spec(spec_with(model), REL)
    problems = {p.field: p.message for p in caught.value.problems}
    assert field in problems, problems
    assert says in problems[field]
    # A key that was put in the wrong place is never echoed back.
    assert "sk-in-url" not in str(problems) and "abc123" not in str(problems)


def test_a_model_is_a_name_or_an_endpoint():
    plain = parse_spec(spec_with("gpt-5.5"), REL).agents[0]
    assert plain.model == "gpt-5.5" and plain.model_name == "gpt-5.5" and plain.endpoint is None
    agent = parse_spec(spec_with(endpoint("anthropic", "http://h:8080/v1/")), REL).agents[0]
    assert agent.model_name == "qwen3-8b" and agent.endpoint is not None
    assert agent.endpoint.endpoint == "http://h:8080/v1"
    assert agent.endpoint.anthropic_root == "http://h:8080"
    hosted = parse_spec(spec_with({"provider": "openai-responses", "name": "gpt-5.5"}), REL)
    assert hosted.agents[0].endpoint.endpoint == "https://api.openai.com/v1"
    assert agent.endpoint.record() == {
        "provider": "anthropic",
        "endpoint": "http://h:8080/v1",
        "name": "qwen3-8b",
        "keyEnv": "LOCAL_LLM_KEY",
    }


def test_the_schema_carries_the_endpoint_block():
    schema = json.loads((Path(__file__).parents[1] / "schemas" / "matrix.schema.json").read_text())
    block = schema["$defs"]["ModelEndpoint"]
    assert block["properties"]["provider"]["enum"] == [
        "openai-responses",
        "openai-chat",
        "anthropic",
    ]
    assert {"baseUrl", "keyEnv", "name"} <= set(block["properties"])


# --- codex ---------------------------------------------------------------------------------


def test_codex_speaks_responses_to_the_endpoint(tmp_path, fake_cli, key):
    model = endpoint("openai-responses", contextWindow=32768)
    invocation = prepared(tmp_path, "codex", model, fake_cli)
    argv = invocation.argv
    assert "model_provider=endpoint" in argv
    provider = next(a for a in argv if a.startswith("model_providers.endpoint="))
    parsed = tomllib.loads(provider.replace("model_providers.endpoint=", "p="))["p"]
    assert parsed["base_url"] == LOCAL and parsed["wire_api"] == "responses"
    assert parsed["env_key"] == "LOCAL_LLM_KEY"  # codex reads the key by the variable's name
    assert "model_context_window=32768" in argv
    assert argv[argv.index("-m") + 1] == "qwen3-8b"
    assert invocation.env["LOCAL_LLM_KEY"] == KEY
    assert_key_in_env_only(invocation, tmp_path)


@pytest.mark.parametrize("provider", ["openai-chat", "anthropic"])
def test_codex_refuses_what_it_cannot_speak(tmp_path, fake_cli, provider):
    spec = AgentSpec(name="a", adapter="codex", model=endpoint(provider))
    with pytest.raises(UsageError) as caught:
        check_agents(tmp_path, [spec], REL)
    assert caught.value.field == "agents.0.model.provider"
    assert "only the Responses API" in caught.value.message
    assert "openai-responses" in caught.value.message


# --- opencode ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "url", "npm", "base"),
    [
        ("openai-chat", LOCAL, "@ai-sdk/openai-compatible", LOCAL),
        ("openai-responses", "https://api.openai.com/v1", "@ai-sdk/openai",
         "https://api.openai.com/v1"),
        ("anthropic", "http://127.0.0.1:8080", "@ai-sdk/anthropic", "http://127.0.0.1:8080/v1"),
        ("anthropic", "http://127.0.0.1:8080/v1", "@ai-sdk/anthropic", "http://127.0.0.1:8080/v1"),
    ],
)  # fmt: skip
def test_opencode_gets_a_provider_per_endpoint(tmp_path, fake_cli, key, provider, url, npm, base):
    model = endpoint(provider, url, contextWindow=32768, maxOutputTokens=256)
    invocation = prepared(tmp_path, "opencode", model, fake_cli)
    config = json.loads(Path(invocation.env["OPENCODE_CONFIG"]).read_text(encoding="utf-8"))
    entry = config["provider"]["endpoint"]
    assert entry["npm"] == npm and entry["options"]["baseURL"] == base
    assert entry["options"]["apiKey"] == "{env:LOCAL_LLM_KEY}"
    assert entry["models"]["qwen3-8b"]["limit"] == {"context": 32768, "output": 256}
    assert invocation.argv[invocation.argv.index("--model") + 1] == "endpoint/qwen3-8b"
    assert "mcp" in config  # the MCP server stays attached beside the endpoint
    assert_key_in_env_only(invocation, tmp_path)


def test_a_server_without_keys_gets_a_placeholder(tmp_path, fake_cli):
    model = {"provider": "openai-chat", "baseUrl": LOCAL, "name": "gemma"}
    invocation = prepared(tmp_path, "opencode", model, fake_cli)
    config = json.loads(Path(invocation.env["OPENCODE_CONFIG"]).read_text(encoding="utf-8"))
    assert config["provider"]["endpoint"]["options"]["apiKey"] == "no-key"
    assert "limit" not in config["provider"]["endpoint"]["models"]["gemma"]


# --- claude-code ---------------------------------------------------------------------------


def test_claude_points_at_an_anthropic_endpoint(tmp_path, fake_cli, key):
    model = endpoint("anthropic", "http://127.0.0.1:8080/v1", maxOutputTokens=512)
    invocation = prepared(tmp_path, "claude-code", model, fake_cli)
    env = invocation.env
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8080"  # the CLI appends /v1/messages
    # The endpoint's key, not the hosted key the matrix's secrets also carry.
    assert env["ANTHROPIC_API_KEY"] == KEY
    assert env["ANTHROPIC_SMALL_FAST_MODEL"] == "qwen3-8b"
    assert env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "512"
    assert invocation.argv[invocation.argv.index("--model") + 1] == "qwen3-8b"
    assert_key_in_env_only(invocation, tmp_path)


@pytest.mark.parametrize("provider", ["openai-chat", "openai-responses"])
def test_claude_refuses_openai_endpoints(tmp_path, provider):
    spec = AgentSpec(name="a", adapter="claude-code", model=endpoint(provider))
    with pytest.raises(UsageError) as caught:
        check_agents(tmp_path, [spec], REL)
    assert caught.value.field == "agents.0.model.provider"
    assert "only the Anthropic Messages API" in caught.value.message


# --- refusals at plan time -----------------------------------------------------------------


def test_an_unset_key_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("LOCAL_LLM_KEY", raising=False)
    spec = AgentSpec(name="a", adapter="opencode", model=endpoint("openai-chat"))
    with pytest.raises(UsageError) as caught:
        check_agents(tmp_path, [spec], REL)
    assert caught.value.field == "agents.0.model.keyEnv"
    assert "LOCAL_LLM_KEY" in caught.value.message and "not set" in caught.value.message


def test_a_policy_and_an_endpoint_together_are_refused(tmp_path):
    (tmp_path / "p.yaml").write_text("scripts: [{name: a}]\n", encoding="utf-8")
    for adapter in ("codex", "scripted"):
        spec = AgentSpec(
            name="a", adapter=adapter, model=endpoint("openai-responses"),
            options={"policy": "p.yaml"},
        )  # fmt: skip
        with pytest.raises(UsageError) as caught:
            check_agents(tmp_path, [spec], REL)
        assert caught.value.field == "agents.0.model"


@pytest.mark.parametrize(("option", "moved_to"), [("base_url", "baseUrl"), ("env_key", "keyEnv")])
def test_the_old_options_say_where_they_went(tmp_path, option, moved_to):
    spec = AgentSpec(name="a", adapter="codex", options={option: "x"})
    with pytest.raises(UsageError) as caught:
        check_agents(tmp_path, [spec], REL)
    assert caught.value.field == f"agents.0.options.{option}"
    assert moved_to in caught.value.message


# --- the run record and the key, through a real matrix run ---------------------------------

# A stand-in for `claude` (the real CLI is proven against a real model in
# test_real_model.py): it prints stream-json naming the model the API reported, and leaks
# the key it was given into its text, its stderr and a file in the workdir.
FAKE_CLAUDE = """\
#!/bin/sh
[ "$1" = "--version" ] && { echo "2.1.332 (fake)"; exit 0; }  # the runner asks for a version
key="$ANTHROPIC_API_KEY"
echo "key=$key url=$ANTHROPIC_BASE_URL" >&2
echo "$key" > leaked.txt
cat <<EOF
{"type":"system","subtype":"init","model":"qwen3-8b","mcp_servers":[]}
{"type":"assistant","message":{"model":"qwen3-8b-q4_k_m.gguf",\\
"content":[{"type":"text","text":"I was given $key"}]}}
{"type":"result","subtype":"success","is_error":false,"result":"done $key","num_turns":1,\\
"usage":{"input_tokens":5,"output_tokens":3}}
EOF
"""


def test_the_record_names_the_model_and_never_holds_the_key(tmp_path, key):
    ws = make_root(tmp_path / "root", {"placeholder": "#!/bin/sh\n"})
    cli = tmp_path / "claude"
    cli.write_text(FAKE_CLAUDE, encoding="utf-8")
    cli.chmod(0o755)
    spec = read_spec(ws.root)
    model = endpoint("anthropic", "http://127.0.0.1:9/v1")
    spec["agents"] = [
        {"name": "local", "adapter": "claude-code", "model": model,
         "options": {"binary": str(cli)}},
    ]  # fmt: skip
    write_spec(ws.root, spec)
    summary = run_matrix(ws, EXP)
    assert summary.errored == 0, summary
    (record,) = records(ws.root).values()
    assert record.model == "qwen3-8b"
    assert record.matrix.model_endpoint.model_dump(by_alias=True) == {
        "provider": "anthropic",
        "endpoint": "http://127.0.0.1:9/v1",
        "name": "qwen3-8b",
        "keyEnv": "LOCAL_LLM_KEY",
    }
    assert record.matrix.model_reported == "qwen3-8b-q4_k_m.gguf"
    assert record.matrix.agent_process.output_tail == "key=[REDACTED] url=http://127.0.0.1:9\n"
    for path in [*runs_dir(ws.root).rglob("*"), *(ws.root / ".experimentos").rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    transcript = next(runs_dir(ws.root).glob("*.transcript.jsonl")).read_text(encoding="utf-8")
    assert "I was given [REDACTED]" in transcript
    diff = next(runs_dir(ws.root).glob("*.diff")).read_text(encoding="utf-8")
    assert "leaked.txt" in diff and "[REDACTED]" in diff


def test_a_shell_agent_gets_the_endpoint_in_its_environment(tmp_path, key):
    script = (
        "#!/bin/sh\n"
        'echo "{\\"type\\":\\"final_answer\\",\\"text\\":\\"$EXPERIMENTOS_MODEL_PROVIDER '
        "$EXPERIMENTOS_MODEL_BASE_URL $EXPERIMENTOS_MODEL $EXPERIMENTOS_MODEL_KEY_ENV "
        '$LOCAL_LLM_KEY\\"}"\n'
    )
    ws = make_root(tmp_path / "root", {"sh": script})
    spec = read_spec(ws.root)
    spec["agents"][0]["model"] = endpoint("openai-chat")
    write_spec(ws.root, spec)
    run_matrix(ws, EXP)
    (record,) = records(ws.root).values()
    transcript = next(runs_dir(ws.root).glob("*.transcript.jsonl")).read_text(encoding="utf-8")
    assert f"openai-chat {LOCAL} qwen3-8b LOCAL_LLM_KEY [REDACTED]" in transcript
    assert record.matrix.model_endpoint.provider == "openai-chat"
    assert record.matrix.model_reported is None


def test_claude_reports_the_model_the_api_named_not_its_own_synthetic_one():
    from experimentos.agents.claude import parse_claude

    lines = [
        '{"type":"system","subtype":"init","model":"configured"}',
        '{"type":"assistant","message":{"model":"gemma-3-270m","content":[{"type":"text",'
        '"text":"hi"}]}}',
        '{"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text",'
        '"text":"API Error: the response exceeded the output token maximum"}]}}',
    ]
    assert parse_claude(lines).model_id == "gemma-3-270m"
    assert parse_claude(lines[:1]).model_id is None  # the configured name is not a report
