"""The scripted model's HTTP server: stdlib `http.server` in a daemon thread on 127.0.0.1.

Routes (an optional `/r/<tag>` prefix, e.g. the run id, only labels the request log):
  POST /v1/responses                OpenAI Responses API (codex), SSE when `stream` is true
  POST /v1/messages                 Anthropic Messages API (claude-code), SSE when `stream`
  POST /v1/messages/count_tokens    a deterministic estimate
  GET  /v1/models                   an empty list
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from experimentos.agents.sim.messages import MessagesWire
from experimentos.agents.sim.policy import Policy
from experimentos.agents.sim.responses import ResponsesWire
from experimentos.agents.sim.wire import Move, approx_tokens
from experimentos.store.parse import load_json

MAX_BODY = 64 * 1024 * 1024
_PATH = re.compile(r"^(?:/r/(?P<tag>[A-Za-z0-9._-]{1,200}))?(?P<rest>/[^?]*)")


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) resets connections when many runs ask at once.
    request_queue_size = 128
    daemon_threads = True


@dataclass(frozen=True)
class Served:
    """One request the server answered (kept for tests and debugging; bounded)."""

    tag: str | None
    method: str
    path: str
    status: int
    answer: str  # "call <name>", "text", "side", or an error


class SimServer:
    """A scripted model on 127.0.0.1. Use as a context manager, or start()/stop()."""

    def __init__(
        self, policy: Policy, *, host: str = "127.0.0.1", port: int = 0, dump: Path | None = None
    ):
        self.policy = policy
        self.dump = dump  # a directory: every request and answer is written there (debugging)
        self._count = itertools.count(1)
        self._lock = threading.Lock()
        self.served: collections.deque[Served] = collections.deque(maxlen=10_000)
        self._httpd = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def base_url(self, tag: str | None = None) -> str:
        """The URL to hand a client; `tag` (e.g. a run id) labels its requests in `served`."""
        return f"{self.url}/r/{tag}" if tag else self.url

    def start(self) -> SimServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="experimentos-sim", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, served: Served) -> None:
        with self._lock:
            self.served.append(served)

    def _dump(self, api: str, body: dict[str, Any], events: Any) -> None:
        assert self.dump is not None
        self.dump.mkdir(parents=True, exist_ok=True)
        with self._lock:
            number = next(self._count)
        record = {"api": api, "request": body, "answer": events}
        path = self.dump / f"{number:05d}-{api}.json"
        path.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")

    def answer(self, api: str, body: dict[str, Any]) -> tuple[Any, bool, str]:
        """(events or JSON, streamed?, label) for one model request."""
        wire = ResponsesWire(body) if api == "responses" else MessagesWire(body)
        if isinstance(wire, MessagesWire) and not wire.conversation.has_tools:
            move, label = wire.side_answer(), "side"
        else:
            move = wire.decide(self.policy)
            label = _label(move)
        events, whole = wire.render(move)
        if self.dump is not None:
            self._dump(api, body, events)
        return (events if body.get("stream") else whole), bool(body.get("stream")), label


def _label(move: Move) -> str:
    if move.call is None:
        return "text"
    call = move.call
    name = call.get("name") or call.get("type")
    return f"call {call['namespace']}.{name}" if call.get("namespace") else f"call {name}"


def _handler_for(sim: SimServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "experimentos-sim"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None  # the request log is `sim.served`; stderr stays quiet

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _json(self, status: int, data: Any, tag: str | None, answer: str) -> None:
            # recorded before the answer goes out, so a client that got it finds it logged
            sim.record(Served(tag, self.command, self.path, status, answer))
            self._send(status, json.dumps(data).encode("utf-8"), "application/json")

        def _error(self, status: int, message: str, tag: str | None) -> None:
            error = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": message},
            }
            self._json(status, error, tag, f"error: {message}")

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            found = _PATH.match(self.path)
            tag = found.group("tag") if found else None
            if found and found.group("rest").rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": []}, tag, "models")
            else:
                self._error(404, f"no route for GET {self.path}", tag)

        def do_POST(self) -> None:  # noqa: N802
            found = _PATH.match(self.path)
            tag = found.group("tag") if found else None
            rest = found.group("rest").rstrip("/") if found else ""
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._error(400, "missing or oversized Content-Length", tag)
                return
            raw = self.rfile.read(length)
            try:
                body = load_json(raw or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body is not a JSON object")
            except ValueError as exc:
                self._error(400, f"invalid JSON body: {exc}", tag)
                return
            if rest == "/v1/messages/count_tokens":
                count = approx_tokens(json.dumps(body, default=str))
                self._json(200, {"input_tokens": count}, tag, "count_tokens")
                return
            api = {"/v1/responses": "responses", "/v1/messages": "messages"}.get(rest)
            if api is None:
                self._error(404, f"no route for POST {self.path}", tag)
                return
            try:
                payload, streamed, label = sim.answer(api, body)
            except Exception as exc:  # a scripted-model bug must not kill the server thread
                self._error(500, f"scripted model failed: {type(exc).__name__}: {exc}", tag)
                return
            if not streamed:
                self._json(200, payload, tag, label)
                return
            stream = "".join(
                f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in payload
            )
            sim.record(Served(tag, self.command, self.path, 200, label))
            self._send(200, stream.encode("utf-8"), "text/event-stream")

    return Handler
