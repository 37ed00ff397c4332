"""Outbound GitHub calls against real local HTTP servers: credentials stay in their origin, every
form of the token is redacted, and one deadline bounds a whole fetch (issue 19: 5, 6, 11)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from experimentos.ci.comment import MARKER
from experimentos.ci.github import Repository, upsert_comment
from experimentos.cli import app
from experimentos.errors import redact
from experimentos.proposals import propose_new_page, push_proposal
from experimentos.proposals.push import GitHubError

from .proposal_helpers import add_bare_remote, branches, make_repo

ISSUES = Path(__file__).parent / "data" / "issues"
TOKEN = "tok_local_secret_1234567890"
REF = "drizzle-team/drizzle-orm#4301"
ISSUE_PATH = "/repos/drizzle-team/drizzle-orm/issues/4301"


class Server:
    """A real HTTP server on its own port; `answer(handler)` writes each reply. Every request
    is recorded with its method, path and headers."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: ANN002
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                # The client may give up (its deadline): then stop dripping.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    answer(self)

            do_GET = do_POST = do_PATCH = _any  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def authorizations(self) -> list[str]:
        return [
            r["headers"]["Authorization"] for r in self.requests if "Authorization" in r["headers"]
        ]


def send_json(handler: BaseHTTPRequestHandler, status: int, data, headers: dict | None = None):  # noqa: ANN001
    body = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def redirect_to(target: Callable[[], str], code: int = 302):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Location", target() + handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def rest_payload() -> dict:
    return json.loads(
        (ISSUES / "drizzle-kit-default-regression.rest.json").read_text(encoding="utf-8")
    )


def github_issues(handler: BaseHTTPRequestHandler) -> None:
    payload = rest_payload()
    path = handler.path.partition("?")[0]
    if path.endswith("/comments"):
        send_json(handler, 200, payload["comments"])
    elif path.endswith("/issues/4301"):
        send_json(handler, 200, payload["issue"])
    else:
        send_json(handler, 404, {"message": "Not Found"})


@pytest.fixture
def kb(tmp_path, monkeypatch):
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "EXPERIMENTOS_GITHUB_API",
                 "EXPERIMENTOS_GITHUB_DEADLINE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return make_repo(tmp_path / "kb")


def fetch(root: Path, *extra: str):
    return CliRunner().invoke(
        app, ["--root", str(root), "ingest", "issue", "--fetch", REF, "--json", *extra]
    )


# --- 5: credentials never follow a redirect to another origin ---------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_fetch_never_sends_the_token_to_the_origin_a_redirect_names(kb, monkeypatch, code):
    with Server(github_issues) as other, Server(redirect_to(lambda: other.url, code)) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = fetch(kb.root)
    assert api.authorizations == [f"Bearer {TOKEN}"]
    assert other.authorizations == []  # the second port never sees the token
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert "another origin" in error["message"] and TOKEN not in result.output
    assert branches(kb.root) == []


def test_a_redirect_within_the_origin_is_followed_with_the_token(kb, monkeypatch):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path.startswith("/moved"):
            handler.path = handler.path.removeprefix("/moved")
            return github_issues(handler)
        handler.send_response(301)
        handler.send_header("Location", "/moved" + handler.path)
        handler.end_headers()

    with Server(answer) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = fetch(kb.root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert len(api.requests) == 4 and set(api.authorizations) == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize("code", [302, 307])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_client_refuses_any_change_of_origin(code, host):
    """Another port, or the same port under another host name: another origin."""
    from experimentos.net.http import Deadline, FetchError, request

    where: dict[str, str] = {}
    with Server(github_issues) as other, Server(redirect_to(lambda: where["to"], code)) as api:
        port = api.url.rsplit(":", 1)[1]
        where["to"] = other.url if host == "127.0.0.1" else f"http://localhost:{port}"
        with pytest.raises(FetchError) as err:
            request(
                "GET",
                api.url + "/x",
                deadline=Deadline(10),
                headers={"Authorization": "Bearer secret-value"},
            )
    assert err.value.kind == "redirect"
    assert other.requests == [] and len(api.requests) == 1


@pytest.mark.parametrize("code", [302, 307])
def test_proposals_push_never_sends_the_token_to_another_origin(kb, tmp_path, monkeypatch, code):
    add_bare_remote(kb.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(kb, "claim", "x", "X", why="w")
    created = {"number": 7, "html_url": "https://github.com/acme/kb/pull/7"}
    with (
        Server(lambda h: send_json(h, 201, created)) as other,
        Server(redirect_to(lambda: other.url, code)) as api,
    ):
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = push_proposal(kb, proposal.name)
    assert api.authorizations == [f"Bearer {TOKEN}"]
    assert other.requests == []
    assert result.pull_request is None and "another origin" in result.pr_error


def test_the_pr_comment_never_sends_the_token_to_another_origin(monkeypatch):
    with (
        Server(lambda h: send_json(h, 200, [])) as other,
        Server(redirect_to(lambda: other.url, 302)) as api,
    ):
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        with pytest.raises(GitHubError, match="another origin"):
            upsert_comment(Repository("acme", "kb"), 3, MARKER + "\nbody", TOKEN, MARKER)
    assert other.requests == [] and api.authorizations == [f"Bearer {TOKEN}"]


# --- 6: every form of the token that was sent is redacted -------------------------------------


def echo_authorization(handler: BaseHTTPRequestHandler) -> None:
    auth = handler.headers.get("Authorization", "")
    token = auth.split()[-1] if auth else ""
    send_json(
        handler,
        401,
        {"message": f"Bad credentials (you sent {auth})", "errors": [{"message": token}]},
    )


@pytest.mark.parametrize("raw", [TOKEN + "\n", f"  {TOKEN}  ", f"{TOKEN}\r\n", f"\t{TOKEN} \n"])
def test_a_token_with_whitespace_around_it_is_redacted_from_api_errors(kb, tmp_path, monkeypatch,
                                                                       raw):  # fmt: skip
    add_bare_remote(kb.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(kb, "claim", "x", "X", why="w")
    with Server(echo_authorization) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", raw)
        fetched = fetch(kb.root)
        pushed = CliRunner().invoke(
            app, ["--root", str(kb.root), "proposals", "push", proposal.name, "--json"]
        )
    # What was sent is the stripped token; it is echoed back and must never be printed.
    assert set(api.authorizations) == {f"Bearer {TOKEN}"}
    assert fetched.exit_code == 2 and "Bad credentials" in fetched.output
    assert pushed.exit_code == 1 and "Bad credentials" in pushed.stdout
    for result in (fetched, pushed):
        assert TOKEN not in result.output
        assert "[REDACTED]" in result.output


def test_redact_masks_the_stripped_and_encoded_forms_of_a_padded_secret(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", f" {TOKEN}/+= \n")
    stripped = f"{TOKEN}/+="
    for shown in (stripped, "tok_local_secret_1234567890%2F%2B%3D", f"Bearer {stripped}"):
        assert TOKEN not in redact(f"echo: {shown}.")


def test_a_token_with_a_newline_inside_is_refused_without_echoing_it(kb, monkeypatch):
    with Server(github_issues) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", "tok_first_half\ntok_second_half")
        result = fetch(kb.root)
    assert result.exit_code == 2 and api.requests == []
    assert "tok_first_half" not in result.output and "tok_second_half" not in result.output


# --- 11: one deadline for the whole fetch ----------------------------------------------------


def drip_body(handler: BaseHTTPRequestHandler) -> None:
    """A valid answer, one byte every 0.2 s: each read succeeds, the whole takes minutes."""
    path = handler.path.partition("?")[0]
    payload = rest_payload()
    data = payload["comments"] if path.endswith("/comments") else payload["issue"]
    body = json.dumps(data).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.2)


def drip_status_line(handler: BaseHTTPRequestHandler) -> None:
    """Even the status line and headers arrive a byte at a time."""
    handler.close_connection = True
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"a" * 500:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.2)


@pytest.mark.parametrize("drip", [drip_body, drip_status_line])
@pytest.mark.parametrize("how", ["env", "option"])
def test_a_dripping_api_is_cut_off_at_the_fetch_deadline(kb, monkeypatch, drip, how):
    with Server(drip) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        if how == "env":
            monkeypatch.setenv("EXPERIMENTOS_GITHUB_DEADLINE", "1.5")
            result = fetch(kb.root)
        else:
            result = fetch(kb.root, "--fetch-deadline", "1.5")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "fetch" and "deadline of 1.5 s" in error["message"]
    assert branches(kb.root) == []


def test_the_deadline_covers_every_request_of_the_fetch_not_each_one():
    """Three requests of 0.6 s each: every one alone fits in 1.5 s, all three do not."""
    from experimentos.net.http import Deadline, FetchError, request

    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.6)
        send_json(handler, 200, {"ok": True})

    with Server(slow) as api:
        deadline = Deadline(1.5)
        request("GET", api.url + "/1", deadline=deadline)
        request("GET", api.url + "/2", deadline=deadline)
        with pytest.raises(FetchError) as err:
            request("GET", api.url + "/3", deadline=deadline)
    assert err.value.kind == "deadline"


def test_the_fetch_deadline_is_stated_in_help():
    result = CliRunner().invoke(app, ["ingest", "issue", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--fetch-deadline" in text and "EXPERIMENTOS_GITHUB_DEADLINE" in text
    assert "whole fetch" in text


def test_proposals_push_is_bounded_by_the_deadline_too(kb, tmp_path, monkeypatch):
    add_bare_remote(kb.root, tmp_path / "remote.git", url="https://github.com/acme/kb")
    proposal = propose_new_page(kb, "claim", "x", "X", why="w")
    with Server(drip_status_line) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_DEADLINE", "1")
        result = push_proposal(kb, proposal.name)
    assert result.pull_request is None and "deadline of 1 s" in result.pr_error


# --- 9: a --fetch answer nested 200,000 deep -------------------------------------------------


def test_a_fetch_answer_nested_200000_deep_is_bad_input(kb, monkeypatch):
    deep = ("[" * 200_000 + "]" * 200_000).encode()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(deep)))
        handler.end_headers()
        handler.wfile.write(deep)

    with Server(answer) as api:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", api.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = fetch(kb.root)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "fetch" and "nested too deeply" in error["message"]
