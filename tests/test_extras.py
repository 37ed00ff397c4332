"""The full-text-only notice names an install command that works where experimentos came from."""

import json
import shlex
import sys
from importlib import metadata
from pathlib import Path

import pytest

from experimentos.config import IndexConfig
from experimentos.index import embeddings, extras
from experimentos.index.extras import install_hint, requirement_for

from .conftest import PROJECT


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (
            {"url": "file:///src/experimentos", "dir_info": {"editable": True}},
            "-e '/src/experimentos[embeddings]'",
        ),
        ({"url": "file:///src/experimentos", "dir_info": {}}, "'/src/experimentos[embeddings]'"),
        (
            {"url": "file:///tmp/w/experimentos-0.4.0-py3-none-any.whl", "archive_info": {}},
            "'/tmp/w/experimentos-0.4.0-py3-none-any.whl[embeddings]'",
        ),
        (
            {"url": "file:///my%20src/x", "dir_info": {"editable": True}},
            "-e '/my src/x[embeddings]'",
        ),
        (
            {
                "url": "https://github.com/acme/experimentos.git",
                "vcs_info": {"vcs": "git", "commit_id": "abc123"},
            },
            "'experimentos[embeddings] @ git+https://github.com/acme/experimentos.git@abc123'",
        ),
        (None, "'experimentos[embeddings]'"),
    ],
)
def test_the_requirement_follows_the_install_origin(direct_url, expected):
    assert requirement_for("embeddings", direct_url) == expected


def test_this_editable_checkout_gets_pip_install_e_with_its_path():
    direct = json.loads(metadata.distribution("experimentos").read_text("direct_url.json"))
    assert direct["dir_info"]["editable"], "the dev install is editable (.ci/run: pip install -e)"
    hint = install_hint("embeddings")
    assert f"install -e {shlex.quote(f'{PROJECT}[embeddings]')}" in hint
    assert "install 'experimentos[embeddings]'" not in hint
    if sys.platform.startswith("linux"):  # PyPI's Linux torch is the CUDA build
        assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu && " in hint


def test_the_full_text_only_notice_carries_the_command(monkeypatch):
    monkeypatch.setattr(embeddings, "embeddings_installed", lambda: False)
    choice = embeddings.resolve_embedder(IndexConfig())
    assert choice.embedder is None
    assert choice.reason == (
        f"the embeddings extra is not installed; add it with: {install_hint('embeddings')}"
    )
    assert f"-e {shlex.quote(f'{PROJECT}[embeddings]')}" in choice.reason


def test_pip_of_another_interpreter_is_not_suggested(monkeypatch, tmp_path):
    other = tmp_path / "bin" / "pip"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n", encoding="utf-8")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", str(other.parent))
    assert extras._pip() == f"{shlex.quote(sys.executable)} -m pip"
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert extras._pip() == "pip"
