"""`mcp config`: portable project entries, absolute user entries, and an idempotent --write."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
from pathlib import Path

import anyio
import mcp
import pytest
from mcp.client.stdio import StdioServerParameters, stdio_client

from experimentos.mcp.clients import client_config

from .conftest import git

VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh HOME (user-scope files land here) and no CODEX_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    return path


@pytest.fixture
def project(kb):
    """A git project holding the knowledge base in knowledge/ (kb is moved there)."""
    top = kb.root.parent / "project"
    top.mkdir()
    git(top, "init", "-q")
    kb.root.rename(top / "knowledge")
    return top


def _parse(client: str, snippet: str) -> dict:
    if client == "codex":
        return tomllib.loads(snippet)["mcp_servers"]["experimentos"]
    return json.loads(snippet)["mcpServers"]["experimentos"]


@pytest.mark.parametrize("client", ["claude-code", "cursor", "codex"])
def test_user_scope_uses_absolute_paths(client, kb, home):
    found = client_config(client, kb.root, scope="user")
    server = _parse(client, found.snippet)
    assert Path(server["command"]).is_absolute()
    assert server["args"] == ["--root", str(kb.root), "mcp", "serve"]
    assert found.path.is_relative_to(home)


@pytest.mark.parametrize(
    ("client", "file"),
    [("claude-code", ".mcp.json"), ("cursor", ".cursor/mcp.json"), ("codex", ".codex/config.toml")],
)
def test_project_scope_is_portable(client, file, project, home):
    found = client_config(client, project / "knowledge", scope="project", read_only=True)
    server = _parse(client, found.snippet)
    assert server["command"] == "experimentos"
    assert server["args"] == ["--root", "knowledge", "mcp", "serve", "--read-only"]
    assert str(project) not in found.snippet and sys.prefix not in found.snippet
    assert found.path == project / file


def test_project_is_the_default_scope_of_claude_code_and_cursor_user_of_codex(kb, home):
    assert client_config("claude-code", kb.root).scope == "project"
    assert client_config("cursor", kb.root).scope == "project"
    assert client_config("codex", kb.root).scope == "user"


def test_a_portable_project_entry_starts_the_server_where_the_client_does(project, home):
    """What a teammate's client does: run the entry from PATH, in the project directory."""
    server = _parse("claude-code", client_config("claude-code", project / "knowledge").snippet)
    params = StdioServerParameters(
        command=server["command"],
        args=server["args"],
        cwd=project,
        env={**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ["PATH"]},
    )

    async def main():
        async with (
            stdio_client(params) as (read, write),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(
                "get_page", {"page_id": "policy.keep-drizzle-kit-pin-verify-locally"}
            )

    page = anyio.run(main)
    assert not page.is_error and page.structured_content["path"].startswith("policies/")


def test_cli_write_is_idempotent_and_keeps_other_entries(cli, project, home):
    knowledge = project / "knowledge"
    mcp_json = project / ".mcp.json"
    mcp_json.write_text(
        json.dumps({"mcpServers": {"other": {"command": "other-server"}}, "note": "ours"}),
        encoding="utf-8",
    )
    first = cli(knowledge, "mcp", "config", "--client", "claude-code", "--write")
    assert first.exit_code == 0, first.output
    assert "wrote" in first.stdout
    after_first = mcp_json.read_bytes()
    second = cli(knowledge, "mcp", "config", "--client", "claude-code", "--write", "--json")
    assert second.exit_code == 0 and json.loads(second.stdout)["written"] is False
    assert mcp_json.read_bytes() == after_first
    data = json.loads(after_first)
    assert data["note"] == "ours" and data["mcpServers"]["other"] == {"command": "other-server"}
    assert data["mcpServers"]["experimentos"]["args"] == ["--root", "knowledge", "mcp", "serve"]

    # a new file, in a directory that does not exist yet; then the same bytes again
    cursor = project / ".cursor" / "mcp.json"
    for _ in range(2):
        assert cli(knowledge, "mcp", "config", "--client", "cursor", "--write").exit_code == 0
    assert json.loads(cursor.read_text(encoding="utf-8"))["mcpServers"]["experimentos"]
    assert stat.S_IMODE(cursor.stat().st_mode) == 0o666 & ~_umask()

    # the user's ~/.claude.json: every other key kept, its private mode kept
    claude = home / ".claude.json"
    claude.write_text('{"numStartups": 3, "projects": {"/x": {}}}', encoding="utf-8")
    claude.chmod(0o600)
    user = cli(knowledge, "mcp", "config", "--client", "claude-code", "--scope", "user", "--write")
    assert user.exit_code == 0, user.output
    data = json.loads(claude.read_text(encoding="utf-8"))
    assert data["numStartups"] == 3 and data["projects"] == {"/x": {}}
    assert Path(data["mcpServers"]["experimentos"]["command"]).is_absolute()
    assert stat.S_IMODE(claude.stat().st_mode) == 0o600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


CODEX_HEAD = """\
# my codex settings
model = "gpt-5.1-codex"

[mcp_servers.other]
command = "other"   # keep this comment
args = ["a"]

"""
CODEX_STALE = """\
[mcp_servers.experimentos]
command = "/old/venv/bin/experimentos"
args = ["--root", "/old", "mcp", "serve"]

[mcp_servers.experimentos.env]
X = "1"
"""
CODEX_TAIL = """\

# providers below
[model_providers.sim]
name = "sim"
"""


def test_codex_write_replaces_only_its_own_table_and_honours_codex_home(
    cli, kb, home, tmp_path, monkeypatch
):
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    config = codex_home / "config.toml"
    config.write_text(CODEX_HEAD + CODEX_STALE + CODEX_TAIL, encoding="utf-8")
    result = cli(kb.root, "mcp", "config", "--client", "codex", "--write")
    assert result.exit_code == 0, result.output
    table = client_config("codex", kb.root).snippet
    assert config.read_text(encoding="utf-8") == CODEX_HEAD + table + CODEX_TAIL
    parsed = tomllib.loads(config.read_text(encoding="utf-8"))
    assert parsed["mcp_servers"]["other"] == {"command": "other", "args": ["a"]}
    assert parsed["mcp_servers"]["experimentos"]["args"][:2] == ["--root", str(kb.root)]
    assert not (home / ".codex").exists()
    before = config.read_bytes()
    assert cli(kb.root, "mcp", "config", "--client", "codex", "--write").exit_code == 0
    assert config.read_bytes() == before


def test_codex_write_twice_into_a_file_without_the_table_appends_it_once(cli, kb, home):
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(CODEX_HEAD.rstrip("\n"), encoding="utf-8")  # no final newline
    for _ in range(2):
        assert cli(kb.root, "mcp", "config", "--client", "codex", "--write").exit_code == 0
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CODEX_HEAD.rstrip("\n") + "\n")
    assert text.count("[mcp_servers.experimentos]") == 1
    assert set(tomllib.loads(text)["mcp_servers"]) == {"other", "experimentos"}


@pytest.mark.parametrize(
    ("client", "file", "content", "says"),
    [
        ("claude-code", ".mcp.json", "{not json", "not valid JSON"),
        ("claude-code", ".mcp.json", '["a list"]', "not a JSON object"),
        ("claude-code", ".mcp.json", '{"mcpServers": 3}', "mcpServers"),
        ("codex", ".codex/config.toml", "a = [", "not valid TOML"),
        (
            "codex",
            ".codex/config.toml",
            '[mcp_servers]\nexperimentos = { command = "x" }\n',
            "cannot replace",
        ),
    ],
)
def test_a_file_that_does_not_parse_is_refused_untouched(
    cli, kb, home, client, file, content, says
):
    path = kb.root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    result = cli(kb.root, "mcp", "config", "--client", client, "--scope", "project", "--write")
    assert result.exit_code == 2 and says in result.stderr
    assert path.read_text(encoding="utf-8") == content
    assert not list(path.parent.glob(f".{path.name}.*"))  # no temp file left


def test_a_project_file_linked_outside_the_project_is_refused(cli, kb, home, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("{}", encoding="utf-8")
    (kb.root / ".mcp.json").symlink_to(outside)
    result = cli(kb.root, "mcp", "config", "--client", "claude-code", "--write")
    assert result.exit_code == 2 and "outside the project" in result.stderr
    assert outside.read_text(encoding="utf-8") == "{}"


def test_cli_mcp_config_prints_and_refuses_bad_input(cli, kb, home):
    ok = cli(kb.root, "mcp", "config", "--client", "codex")
    assert ok.exit_code == 0 and "[mcp_servers.experimentos]" in ok.stdout
    assert "config.toml" in ok.stderr and not (home / ".codex").exists()
    bad = cli(kb.root, "mcp", "config", "--client", "vim")
    assert bad.exit_code == 2 and "unknown client 'vim'" in bad.stderr
    bad = cli(kb.root, "mcp", "config", "--client", "codex", "--scope", "team")
    assert bad.exit_code == 2 and "unknown scope 'team'" in bad.stderr
    bad = cli(kb.root, "mcp", "serve", "--transport", "carrier-pigeon")
    assert bad.exit_code == 2 and "unknown transport" in bad.stderr


def test_codex_merge_keeps_crlf_and_ignores_a_header_inside_a_multiline_string(cli, kb, home):
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    head = (
        'notes = """\r\n[mcp_servers.experimentos]\r\n"""\r\n\r\n[mcp_servers."experimentos"]\r\n'
    )
    tail = '\r\n[[profiles]]\r\nname = "a"\r\n'
    config.write_bytes((head + 'command = "old"\r\n' + tail).encode())
    assert cli(kb.root, "mcp", "config", "--client", "codex", "--write").exit_code == 0
    table = client_config("codex", kb.root).snippet.replace("\n", "\r\n")
    expected = head.rsplit("[mcp_servers.", 1)[0] + table + tail
    assert config.read_bytes() == expected.encode()
    parsed = tomllib.loads(config.read_text(encoding="utf-8"))
    assert parsed["notes"] == "[mcp_servers.experimentos]\n" and parsed["profiles"] == [
        {"name": "a"}
    ]
