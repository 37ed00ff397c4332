"""`experimentos serve` under hostile clients: the key guards /mcp too, proposals are capped,
only loopback Hosts and same-origin browsers are answered, writes must be JSON, bodies are
streamed under a limit, and a PATCH of many metrics is one write."""

from __future__ import annotations

import http.client
import json
import os
import shutil
from pathlib import Path

import anyio
import mcp
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from experimentos.http import rest
from experimentos.lab import experiments
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from . import test_rest
from .conftest import PROJECT, git
from .test_rest import KEY, Client

serve = test_rest.serve  # the fixture that starts the server (over this module's `kb`)


@pytest.fixture
def kb(tmp_path: Path) -> Workspace:
    """The starter pages in a committed git repository, full-text only (fast to serve)."""
    root = tmp_path / "kb"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    init_workspace(root)
    for top in ("wiki", "policies"):
        shutil.copytree(PROJECT / top, root / top, dirs_exist_ok=True)
    config = root / "experimentos.toml"
    config.write_text(config.read_text().replace('"minilm"', '"none"'), encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "kb")
    return Workspace(root)


def raw_request(base: str, method: str, path: str, headers: dict, body: bytes | None = None):
    """One request with exactly these headers (urllib adds its own): (status, json body)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None and not {"Transfer-Encoding", "Content-Length"} & set(headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            conn.send(body)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        conn.close()


def mcp_call(url: str, headers: dict | None, tool: str, args: dict):
    async def main():
        async with (
            create_mcp_http_client(headers=headers) as client,
            streamable_http_client(url, http_client=client) as (read, write),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(tool, args)

    return anyio.run(main)


# --- 2. the key guards /mcp; proposals are capped ---------------------------------------------


def test_the_api_key_guards_the_mcp_endpoint(serve, kb):
    base = serve(api_key=KEY)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    headers = {
        "Host": base.removeprefix("http://"),
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    for auth in ({}, {"x-api-key": "wrong"}, {"Authorization": "Bearer wrong"}):
        status, error = raw_request(
            base, "POST", "/mcp", {**headers, **auth}, json.dumps(init).encode()
        )
        assert status == 401, auth
        assert error["error"]["type"] == "Unauthorized"
    branches = git(kb.root, "branch", "--list", "xos/*")
    for auth in ({"x-api-key": KEY}, {"Authorization": f"Bearer {KEY}"}):
        result = mcp_call(f"{base}/mcp", auth, "get_page", {"page_id": "policy.no-destructive-git"})
        assert not result.is_error, result.content
    assert git(kb.root, "branch", "--list", "xos/*") == branches


def test_without_the_key_no_mcp_write_gets_through(serve, kb):
    base = serve(api_key=KEY)
    with pytest.raises(Exception):  # noqa: B017 - the client gives up on a 401 in its own way
        mcp_call(
            f"{base}/mcp",
            None,
            "record_run_start",
            {"experiment": "x", "task": "t"},
        )
    assert git(kb.root, "branch", "--list", "xos/*") == ""
    assert not any((kb.root / "experiments").glob("*/runs"))


PAGE = """---
id: claim.barrage-{n}
type: claim
title: Barrage {n}
---

A claim.
"""


def test_proposals_one_server_opens_are_capped(kb):
    from experimentos.mcp.server import build_server

    config = kb.root / "experimentos.toml"
    config.write_text(config.read_text() + "\n[server]\nmax_proposals = 2\n", encoding="utf-8")
    server = build_server(Workspace(kb.root))

    async def main():
        async with mcp.Client(server) as client:
            return [
                await client.call_tool("propose_page", {"content": PAGE.format(n=n), "why": "w"})
                for n in range(4)
            ]

    results = anyio.run(main)
    server.state.live.close()
    assert [r.is_error for r in results] == [False, False, True, True]
    message = results[2].content[0].text
    assert "2 proposals" in message and "max_proposals" in message
    assert len(git(kb.root, "branch", "--list", "xos/*").split()) == 2


# --- 7. Host, Origin and content type ----------------------------------------------------------


def test_only_loopback_hosts_are_answered(serve):
    base = serve()
    port = base.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        status, _ = raw_request(base, "GET", "/experiments", {"Host": host})
        assert status == 200, host
    for host in (f"evil.example:{port}", "rebind.attacker.test", "127.0.0.1.evil.test", ""):
        for path in ("/experiments", "/mcp"):
            status, error = raw_request(base, "GET", path, {"Host": host})
            assert status == 421, (host, path)
            assert error["error"]["type"] == "HostNotAllowed"


def test_allowed_hosts_are_configurable(serve, kb):
    config = kb.root / "experimentos.toml"
    text = config.read_text() + '\n[server]\nallowed_hosts = ["kb.internal"]\n'
    config.write_text(text, encoding="utf-8")
    kb.config = Workspace(kb.root).config
    base = serve()
    port = base.rsplit(":", 1)[1]
    assert raw_request(base, "GET", "/experiments", {"Host": f"kb.internal:{port}"})[0] == 200
    assert raw_request(base, "GET", "/experiments", {"Host": "other.internal"})[0] == 421


def test_cross_origin_and_non_json_writes_are_refused(serve, kb):
    base = serve()
    host = base.removeprefix("http://")
    body = json.dumps({"name": "csrf", "kind": "ml"}).encode()
    for origin in ("http://evil.example", "null", f"http://{host}.evil.example"):
        headers = {"Host": host, "Origin": origin, "Content-Type": "application/json"}
        status, error = raw_request(base, "POST", "/experiments", headers, body)
        assert status == 403 and error["error"]["type"] == "OriginNotAllowed", origin
        status, _ = raw_request(base, "GET", "/experiments", {"Host": host, "Origin": origin})
        assert status == 403
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Host": host} | ({"Content-Type": content_type} if content_type else {})
        status, error = raw_request(base, "POST", "/experiments", headers, body)
        assert status == 415 and error["error"]["type"] == "UnsupportedMediaType", content_type
    assert not (kb.root / "experiments/csrf").exists()
    same = {"Host": host, "Origin": base, "Content-Type": "application/json; charset=utf-8"}
    assert raw_request(base, "POST", "/experiments", same, body)[0] == 201


# --- 8. bodies: streamed under a limit; deep JSON is a 400 --------------------------------------


def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all(serve, monkeypatch):
    seen: list[int] = []
    real_stream = rest.Request.stream

    async def counting(self):  # noqa: ANN001 - count what the server reads of the body
        async for chunk in real_stream(self):
            seen.append(len(chunk))
            yield chunk

    monkeypatch.setattr(rest.Request, "stream", counting)
    monkeypatch.setattr(rest.Request, "body", None)  # a handler must not read it all first
    base = serve()
    host = base.removeprefix("http://")
    conn = http.client.HTTPConnection(host.split(":")[0], int(host.split(":")[1]), timeout=60)
    conn.putrequest("POST", "/experiments", skip_host=True)
    for name, value in {
        "Host": host,
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    chunk = b" " * 65536
    sent = 0
    try:
        for _ in range(200):  # up to 13 MB, far past the 1 MB limit
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending: fine
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    assert response.status == 413 and data["error"]["type"] == "TooLarge"
    assert sum(seen) <= rest.MAX_BODY + max(seen)  # stopped one read past the limit


def test_a_declared_length_over_the_limit_is_refused_up_front(serve):
    base = serve()
    host = base.removeprefix("http://")
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Content-Length": str(rest.MAX_BODY + 1),
    }
    status, error = raw_request(base, "POST", "/experiments", headers, b"")
    assert status == 413 and error["error"]["type"] == "TooLarge"


def test_deeply_nested_json_is_a_400_with_the_reason(serve):
    c = Client(serve())
    depth = 100_000
    status, error = c.call("POST", "/experiments", raw=b"[" * depth + b"]" * depth)
    assert status == 400 and error["error"]["type"] == "InvalidJson"
    assert "nested" in error["error"]["message"] and error["error"]["field"] == "body"


# --- 11. PATCH of many metrics is one atomic write ----------------------------------------------


def test_patch_of_many_metrics_is_one_write(serve, kb, monkeypatch):
    c = Client(serve())
    assert c.call("POST", "/experiments", {"name": "sweep", "kind": "sweep"})[0] == 201
    writes: list[str] = []
    real = os.replace

    def counting(src, dst, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        writes.append(str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", counting)
    metrics = {f"m{i}": i / 7 for i in range(1500)}
    status, body = c.call(
        "PATCH", "/experiments/sweep", {"metrics": metrics, "status": "running", "note": "go"}
    )
    assert status == 200 and body["status"] == "running" and len(body["metrics"]) == 1500
    assert [Path(w).name for w in writes] == ["README.md"]
    # one write, and all-or-nothing: a bad status after good metrics changes nothing
    before = (kb.root / "experiments/sweep/README.md").read_bytes()
    status, _ = c.call(
        "PATCH", "/experiments/sweep", {"metrics": {"x": 1, "gone": None}, "status": "draft"}
    )
    assert status in (404, 409)
    assert (kb.root / "experiments/sweep/README.md").read_bytes() == before
    record = experiments.read_experiment(kb, "sweep").model
    assert record.metrics == metrics and record.status.value == "running"


def test_mcp_serve_over_http_is_guarded_by_the_key_too(kb):
    import subprocess
    import sys
    import time
    import urllib.error

    exe = shutil.which("experimentos", path=str(Path(sys.executable).parent)) or "experimentos"
    port = test_rest.free_port()
    env = {**os.environ, "EXPERIMENTOS_ROOT": "", "EXPERIMENTOS_API_KEY": KEY}
    proc = subprocess.Popen(
        [exe, "--root", str(kb.root), "mcp", "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"}
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}).encode()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, error = raw_request(base, "POST", "/mcp", headers, init)
                break
            except (ConnectionRefusedError, urllib.error.URLError):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 401 and error["error"]["type"] == "Unauthorized"
        result = mcp_call(f"{base}/mcp", {"x-api-key": KEY}, "data.experiments.list", {})
        assert not result.is_error
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "API key required" in err and "Traceback" not in err
