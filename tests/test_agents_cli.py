"""`experimentos agents list|install`."""

from __future__ import annotations

import json

from experimentos.agents.install import PINS


def test_agents_list_names_every_adapter_and_how_to_install(empty_kb, cli, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    result = cli(empty_kb.root, "agents", "list", "--json")
    assert result.exit_code == 0, result.output
    infos = {i["adapter"]: i for i in json.loads(result.stdout)}
    assert {"codex", "claude-code", "opencode"} <= set(infos)
    codex = infos["codex"]
    assert codex["available"] is False and codex["binary"] is None
    assert "experimentos agents install codex" in codex["problem"]
    assert codex["pinned"] == PINS["codex"].spec
    text = cli(empty_kb.root, "agents", "list")
    assert "-- codex" in text.stdout and "agents install codex" in text.stdout


def test_agents_list_finds_a_binary_on_path(empty_kb, cli, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "codex"
    fake.write_text("#!/bin/sh\necho 'codex-cli 9.9.9'\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    infos = {
        i["adapter"]: i for i in json.loads(cli(empty_kb.root, "agents", "list", "--json").stdout)
    }
    assert infos["codex"]["available"] is True
    assert infos["codex"]["binary"] == str(fake) and infos["codex"]["version"] == "codex-cli 9.9.9"


def test_agents_install_refuses_unknown_names_and_a_missing_npm(empty_kb, cli, monkeypatch):
    result = cli(empty_kb.root, "agents", "install", "cursor")
    assert result.exit_code == 2 and "no pinned CLI for cursor" in result.stderr
    monkeypatch.setenv("PATH", "/nonexistent")
    result = cli(empty_kb.root, "agents", "install", "codex", "--json")
    assert result.exit_code == 2 and "npm is not installed" in result.stderr
    assert json.loads(result.stdout)["error"]["type"] == "UsageError"
    assert not (empty_kb.root / ".experimentos" / "agents" / "node_modules").exists()
