"""The gate in front of everything `serve` answers (REST and /mcp): Host, Origin, API key.

A local server is reachable from any web page the user opens: a page can POST to
http://127.0.0.1 (cross-origin), or rebind its own domain name to 127.0.0.1 and read the
answers (the request then carries the attacker's Host). So only loopback Host names are
answered (plus `[server] allowed_hosts`), a request that carries an Origin must come from the
server's own origin (plus `[server] allowed_origins`), and when an API key is set, /mcp needs
it on every request — MCP clients send headers (`x-api-key: KEY` or `Authorization: Bearer
KEY`); the REST routes check it on writes themselves.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from experimentos.errors import redact

API_KEY_HEADER = "x-api-key"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
UNAUTHORIZED = f"missing or wrong API key (send {API_KEY_HEADER}: KEY or Authorization: Bearer KEY)"
MCP_PATH = "/mcp"


def gate_error(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    """The error body every refusal of `serve` has: {"error": {type, message, field}}."""
    return JSONResponse({"error": {"type": kind, "message": message, "field": field}}, status)


def key_ok(headers: Headers, api_key: str) -> bool:
    """Whether the request carries the key, as x-api-key or as an Authorization bearer token
    (what MCP clients can be configured to send)."""
    given = [headers.get(API_KEY_HEADER, "")]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given.append(token.strip())
    # compare every candidate, so the time taken does not tell which one matched
    return any([hmac.compare_digest(g.encode(), api_key.encode()) for g in given])


def host_name(host: str) -> str:
    """The name part of a Host header: `[::1]:8765` -> `::1`, `Localhost:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Gate:
    """ASGI middleware: refuse a foreign Host (421), a foreign Origin (403), and a request to
    /mcp without the API key when one is set (401). Everything else passes through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None = None,
        allowed_hosts: list[str] | tuple[str, ...] = (),
        allowed_origins: list[str] | tuple[str, ...] = (),
    ):
        self.app = app
        self.api_key = api_key
        self.hosts = {*LOOPBACK_HOSTS, *(h.strip().lower() for h in allowed_hosts)}
        self.origins = {o.strip().lower().rstrip("/") for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> JSONResponse | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not (host.strip().lower() in self.hosts or host_name(host) in self.hosts):
            return gate_error(
                421,
                "HostNotAllowed",
                redact(
                    f"Host {host[:100]!r} is not served here: only loopback names "
                    f"({', '.join(LOOPBACK_HOSTS)}) and [server] allowed_hosts in "
                    "experimentos.toml"
                ),
            )
        origin = headers.get("origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host}".lower()
            if origin.strip().lower().rstrip("/") not in {own, *self.origins}:
                return gate_error(
                    403,
                    "OriginNotAllowed",
                    redact(
                        f"cross-origin request from {origin[:100]!r} refused (allow an origin "
                        "with [server] allowed_origins in experimentos.toml)"
                    ),
                )
        path = scope.get("path", "")
        guarded = path == MCP_PATH or path.startswith(MCP_PATH + "/")
        if self.api_key is not None and guarded and not key_ok(headers, self.api_key):
            response = gate_error(401, "Unauthorized", UNAUTHORIZED)
            response.headers["WWW-Authenticate"] = 'Bearer realm="experimentos"'
            return response
        return None
