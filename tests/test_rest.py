"""`experimentos serve`: the REST API and the MCP endpoint, through a real HTTP server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import anyio
import mcp
import pytest
import uvicorn
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from experimentos.http.rest import build_app
from experimentos.lab.runs import start_run
from experimentos.store import Workspace

KEY = "s3cret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """A tiny JSON client over urllib: (status, decoded body)."""

    def __init__(self, base: str, key: str | None = None):
        self.base, self.key = base, key

    def call(
        self, method: str, path: str, body=None, *, raw: bytes | None = None, key=...
    ) -> tuple[int, object]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        key = self.key if key is ... else key
        if key is not None:
            request.add_header("x-api-key", key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def serve(kb: Workspace) -> Iterator:
    """Start build_app under uvicorn in a thread on a free port; yields a starter."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(api_key: str | None = None, read_only: bool = False) -> str:
        port = free_port()
        app = build_app(kb, api_key=api_key, read_only=read_only)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_experiment_endpoints_round_trip(serve, kb):
    c = Client(serve(api_key=KEY), KEY)
    assert c.call("GET", "/experiments") == (200, [])
    status, parent = c.call("POST", "/experiments", {"name": "Base line", "kind": "ml"})
    assert status == 201 and parent["id"] == "experiment.base-line"
    assert parent["path"] == "experiments/base-line/README.md" and parent["status"] == "draft"
    assert (kb.root / "experiments/base-line/README.md").is_file()
    status, child = c.call(
        "POST",
        "/experiments",
        {"name": "Lower LR", "kind": "ml", "parent": "base-line", "hypothesis": "converges"},
    )
    assert status == 201 and child["parent"] == "experiment.base-line"

    status, listed = c.call("GET", "/experiments?parent=base-line")
    assert status == 200 and [e["id"] for e in listed] == ["experiment.lower-lr"]
    status, shown = c.call("GET", "/experiments/base-line")
    assert status == 200 and shown["children"] == ["experiment.lower-lr"] and shown["runs"] == 0

    status, changed = c.call(
        "PATCH",
        "/experiments/lower-lr",
        {"status": "running", "note": "go", "metrics": {"val_loss": 0.41, "ok": True}},
    )
    assert status == 200 and changed["status"] == "running"
    assert changed["metrics"] == {"val_loss": 0.41, "ok": True}
    assert changed["statusHistory"][-1]["note"] == "go"
    status, changed = c.call(
        "PATCH", "/experiments/lower-lr", {"parent": None, "metrics": {"ok": None}}
    )
    assert status == 200 and changed["parent"] is None and changed["metrics"] == {"val_loss": 0.41}

    run = start_run(kb, "lower-lr", "try it").model
    status, runs = c.call("GET", "/experiments/lower-lr/runs")
    assert status == 200 and [r["id"] for r in runs] == [run.id]
    assert c.call("GET", "/experiments/lower-lr/runs?status=finished") == (200, [])

    status, refused = c.call("DELETE", "/experiments/lower-lr")
    assert status == 400 and "run" in refused["error"]["message"]
    status, deleted = c.call("DELETE", "/experiments/lower-lr?force=true")
    assert status == 200 and deleted["id"] == "experiment.lower-lr" and deleted["runs"] == 1
    assert not (kb.root / "experiments/lower-lr").exists()
    assert c.call("GET", "/experiments/lower-lr")[0] == 404


def test_test_endpoints_round_trip(serve, kb):
    c = Client(serve())
    c.call("POST", "/experiments", {"name": "lab", "kind": "agent"})
    status, test = c.call(
        "POST",
        "/tests",
        {
            "experiment": "lab",
            "name": "Reads the brief",
            "assertion": {"kind": "manual"},
            "description": "Checked by a human.",
        },
    )
    assert status == 201 and test["id"] == "test.lab.reads-the-brief" and test["passed"] is None
    status, threshold = c.call(
        "POST",
        "/tests",
        {
            "experiment": "lab",
            "name": "few files",
            "assertion": {"kind": "metric_threshold", "metric": "files", "op": "<=", "value": 3},
        },
    )
    assert status == 201
    status, listed = c.call("GET", "/tests?experiment=lab&kind=manual")
    assert status == 200 and [t["id"] for t in listed] == ["test.lab.reads-the-brief"]
    status, shown = c.call("GET", "/tests/test.lab.reads-the-brief")
    assert status == 200 and shown["body"].strip() == "Checked by a human."

    status, pending = c.call("POST", "/tests/test.lab.reads-the-brief/evaluate", {})
    assert status == 200 and pending["evaluated"] is False
    status, bad = c.call("POST", "/tests/test.lab.reads-the-brief/evaluate", {"verdict": True})
    assert status == 400 and bad["error"]["field"] == "rationale"
    status, verdict = c.call(
        "POST",
        "/tests/test.lab.reads-the-brief/evaluate",
        {"verdict": True, "rationale": "it did", "reviewer": "ana"},
    )
    assert status == 200 and verdict["evaluated"] and verdict["passed"] is True
    assert "ana" in verdict["details"]
    status, passed = c.call("GET", "/tests?verdict=passed")
    assert [t["id"] for t in passed] == ["test.lab.reads-the-brief"]
    assert c.call("GET", f"/tests/{threshold['id']}")[1]["passed"] is None


def test_the_api_key_guards_mutations_only(serve):
    base = serve(api_key=KEY)
    anonymous, wrong, right = Client(base), Client(base, "nope"), Client(base, KEY)
    body = {"name": "x", "kind": "ml"}
    for client in (anonymous, wrong):
        status, error = client.call("POST", "/experiments", body)
        assert status == 401 and error["error"]["type"] == "Unauthorized"
    assert anonymous.call("GET", "/experiments") == (200, [])
    assert right.call("POST", "/experiments", body)[0] == 201
    assert anonymous.call("PATCH", "/experiments/x", {"status": "running"})[0] == 401
    assert anonymous.call("DELETE", "/experiments/x")[0] == 401
    assert anonymous.call("POST", "/tests/test.x.y/evaluate", {})[0] == 401
    assert right.call("GET", "/experiments/x")[1]["status"] == "draft"


def test_without_a_key_writes_are_open_and_read_only_refuses_them(serve):
    open_ = Client(serve())
    assert open_.call("POST", "/experiments", {"name": "x", "kind": "ml"}, key=None)[0] == 201
    frozen = Client(serve(read_only=True))
    status, error = frozen.call("POST", "/experiments", {"name": "y", "kind": "ml"})
    assert status == 403 and error["error"]["type"] == "ReadOnly"
    assert [e["id"] for e in frozen.call("GET", "/experiments")[1]] == ["experiment.x"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/experiments", {"kind": "ml"}, "name"),
        ("POST", "/experiments", {"name": "x", "kind": "magic"}, "kind"),
        ("POST", "/experiments", {"name": 3, "kind": "ml"}, "name"),
        ("POST", "/experiments", {"name": "x", "kind": "ml", "colour": "red"}, "colour"),
        ("GET", "/experiments?status=bogus", None, "status"),
        ("PATCH", "/experiments/base", {"status": "flying"}, "status"),
        ("PATCH", "/experiments/base", {"metrics": {"bad name!": 1}}, "metrics.bad name!"),
        ("PATCH", "/experiments/base", {"metrics": {"m": [1]}}, "metrics.m"),
        ("PATCH", "/experiments/base", {"metrics": 5}, "metrics"),
        ("PATCH", "/experiments/base", {}, "body"),
        ("POST", "/tests", {"experiment": "base", "name": "t"}, "assertion"),
        ("POST", "/tests", {"experiment": "base", "name": "t", "assertion": {"kind": "x"}}, "kind"),
        (
            "POST",
            "/tests",
            {"experiment": "base", "name": "t", "assertion": {"kind": "metric_threshold"}},
            "assertion.metric",
        ),
        ("POST", "/tests/test.base.t/evaluate", {"verdict": "yes"}, "verdict"),
        ("GET", "/tests?verdict=maybe", None, "passed"),
    ],
)
def test_bad_input_is_400_naming_the_field(serve, method, path, body, field):
    c = Client(serve())
    c.call("POST", "/experiments", {"name": "base", "kind": "ml"})
    status, error = c.call(method, path, body)
    assert status == 400, error
    assert error["error"]["field"] == field and error["error"]["message"]
    assert c.call("GET", "/experiments/base")[1]["metrics"] == {}  # nothing half-applied


def test_invalid_json_unknown_ids_and_illegal_transitions(serve, kb):
    c = Client(serve())
    for raw in (b"{not json", b"[1, 2]"):
        status, error = c.call("POST", "/experiments", raw=raw)
        assert status == 400 and error["error"] == {
            "type": "InvalidJson",
            "message": error["error"]["message"],
            "field": "body",
        }
    for path in ("/experiments/ghost", "/experiments/ghost/runs", "/tests/test.ghost.t"):
        status, error = c.call("GET", path)
        assert status == 404 and error["error"]["type"] == "NotFound", path
    assert c.call("PATCH", "/experiments/ghost", {"status": "running"})[0] == 404
    assert c.call("GET", "/nowhere")[0] == 404
    for path in ("/experiments/BAD%21", "/tests/../etc/passwd", "/experiments/a..b/runs"):
        status, error = c.call("GET", path)
        assert status in (400, 404) and "error" in error, path
    status, error = c.call("GET", "/experiments/BAD%21")
    assert status == 400 and error["error"]["type"] == "UnsafeId"
    assert error["error"]["field"] == "id"
    status, error = c.call("PUT", "/experiments", {})
    assert status == 405 and error["error"]["type"] == "MethodNotAllowed"

    c.call("POST", "/experiments", {"name": "base", "kind": "ml"})
    status, error = c.call("PATCH", "/experiments/base", {"status": "interpreted"})
    assert status == 409 and error["error"]["type"] == "IllegalTransition"
    assert error["error"]["field"] == "status" and "allowed: running" in error["error"]["message"]
    status, error = c.call("POST", "/experiments", {"name": "base", "kind": "ml"})
    assert status == 409 and error["error"]["type"] == "AlreadyExists"
    before = (kb.root / "experiments/base/README.md").read_bytes()
    assert c.call("PATCH", "/experiments/base", {"metrics": {"m": 1}, "status": "gone"})[0] == 400
    assert (kb.root / "experiments/base/README.md").read_bytes() == before


def test_mcp_over_streamable_http_on_the_same_server(serve):
    base = serve(api_key=KEY)

    async def main():
        async with (
            create_mcp_http_client(headers={"x-api-key": KEY}) as http,
            streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            page = await session.call_tool("get_page", {"page_id": "policy.no-destructive-git"})
            missing = await session.call_tool("get_page", {"page_id": "policy.nope"})
            return page, missing

    page, missing = anyio.run(main)
    data = page.structured_content
    assert data["path"] == "policies/no-destructive-git.md"
    assert data["frontmatter"]["id"] == "policy.no-destructive-git" and data["body"].strip()
    assert missing.is_error
    assert Client(base).call("GET", "/experiments") == (200, [])  # REST alongside MCP


def test_cli_serve_subprocess(kb):
    exe = shutil.which("experimentos", path=str(Path(sys.executable).parent)) or "experimentos"
    port = free_port()
    env = {**os.environ, "EXPERIMENTOS_ROOT": "", "EXPERIMENTOS_API_KEY": KEY}
    proc = subprocess.Popen(
        [exe, "--root", str(kb.root), "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        c = Client(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                assert c.call("GET", "/experiments") == (200, [])
                break
            except urllib.error.URLError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert c.call("POST", "/experiments", {"name": "x", "kind": "ml"})[0] == 401
        assert c.call("POST", "/experiments", {"name": "x", "kind": "ml"}, key=KEY)[0] == 201
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in err and "Traceback" not in err


def test_cli_serve_rejects_a_bad_port(cli, kb):
    result = cli(kb.root, "serve", "--port", "0")
    assert result.exit_code == 2 and "port" in result.stderr


def test_an_unexpected_failure_is_a_500_without_a_traceback(serve, monkeypatch):
    from experimentos.lab import experiments

    def boom(*_args):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(experiments, "list_experiments", boom)
    status, error = Client(serve()).call("GET", "/experiments")
    assert status == 500 and error["error"]["type"] == "InternalError"
    assert "secret" not in json.dumps(error)


def test_evaluate_answers_in_camel_case_like_every_other_answer(serve):
    c = Client(serve())
    c.call("POST", "/experiments", {"name": "lab", "kind": "agent"})
    c.call("POST", "/tests", {"experiment": "lab", "name": "ok", "assertion": {"kind": "manual"}})
    status, verdict = c.call(
        "POST", "/tests/test.lab.ok/evaluate", {"verdict": True, "rationale": "fine"}
    )
    assert status == 200 and verdict["passed"] is True
    assert {"runRef", "evaluatedAt"} <= set(verdict) and verdict["evaluatedAt"]
    assert not [key for key in verdict if "_" in key]
    shown = c.call("GET", "/tests/test.lab.ok")[1]
    assert shown["evaluatedAt"] == verdict["evaluatedAt"]


@pytest.mark.parametrize(
    ("args", "env_key", "says"),
    [
        (["--read-only"], None, "read-only"),
        (["--read-only"], KEY, "read-only"),
        ([], KEY, "x-api-key required"),
        ([], None, "writes are open"),
    ],
)
def test_cli_serve_says_what_guards_writes(cli, kb, monkeypatch, args, env_key, says):
    import experimentos.mcp.server

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    monkeypatch.setattr(experimentos.mcp.server, "warm_up", lambda server: None)
    if env_key:
        monkeypatch.setenv("EXPERIMENTOS_API_KEY", env_key)
    else:
        monkeypatch.delenv("EXPERIMENTOS_API_KEY", raising=False)
    result = cli(kb.root, "serve", *args)
    assert result.exit_code == 0 and started["host"] == "127.0.0.1"
    assert says in result.stderr
    if args:
        assert "writes are open" not in result.stderr
