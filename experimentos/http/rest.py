"""The HTTP surface: the MCP streamable-HTTP endpoint at /mcp plus a small JSON REST API.

Every handler parses the request, calls one library function (in a worker thread: the
library is synchronous) and renders JSON. Domain errors become {"error": {type, message,
field}} with a 4xx status; nothing else leaks a traceback.

In front of everything sits a gate: only loopback Host names (plus `[server] allowed_hosts`)
are answered, a browser Origin must be the server's own (or `[server] allowed_origins`), and
with an API key set /mcp needs it as well as every REST write (`x-api-key: KEY` or
`Authorization: Bearer KEY`). REST writes must be JSON; bodies are read under a limit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from experimentos.errors import (
    AlreadyExists,
    ConcurrentEdit,
    ExperimentosError,
    GitError,
    IllegalTransition,
    NotFound,
    ReviewRequired,
    UnsafeId,
    add_secret,
    redact,
)
from experimentos.http.gate import MCP_PATH, UNAUTHORIZED, Gate, gate_error, key_ok
from experimentos.lab import assertions, experiments
from experimentos.lab.runs import list_runs
from experimentos.models.lab import metric_name_problem
from experimentos.store import Workspace
from experimentos.store.parse import JsonError, load_json

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; requests here are small JSON objects
_JSON_WRITES = ("POST", "PUT", "PATCH")

_STATUS: list[tuple[type[ExperimentosError], int]] = [
    (NotFound, 404),
    (IllegalTransition, 409),
    (AlreadyExists, 409),
    (ConcurrentEdit, 409),
    (ReviewRequired, 409),
    (GitError, 409),
]

Handler = Callable[[Request], Awaitable[Any]]


class HttpError(Exception):
    """A refusal decided by the HTTP layer itself (auth, read-only, malformed request)."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None):
        self.status, self.kind, self.message, self.field = status, kind, message, field
        super().__init__(message)


def error_response(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    return gate_error(status, kind, redact(message), field)


def status_for(exc: ExperimentosError) -> int:
    """The HTTP status of a domain error: 404 missing, 409 conflict, else 400 bad input."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def record_json(model: Any, path: str | None = None) -> dict:
    """A lab record as JSON: its frontmatter fields, its path (when known) and its body."""
    data = model.model_dump(mode="json", by_alias=True)
    if path:
        data["path"] = path
    data["body"] = model.body
    return data


# --- request helpers -------------------------------------------------------------------------


async def json_body(request: Request) -> dict:
    """The request body as a JSON object (empty body: {}); 400 naming `body` otherwise.

    The body is streamed and refused (413) as soon as it passes MAX_BODY: a chunked upload of
    any size costs at most that much memory."""
    too_large = HttpError(413, "TooLarge", f"request body over {MAX_BODY} bytes", "body")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        data = load_json(raw)
    except JsonError as exc:
        raise HttpError(400, "InvalidJson", f"body is not valid JSON: {exc}", "body") from None
    if not isinstance(data, dict):
        raise HttpError(400, "InvalidJson", "body must be a JSON object", "body")
    return data


def _field(data: dict, name: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise HttpError(400, "UsageError", f"{name!r} is required", name)
        return None
    value = data[name]
    # bool is an int in Python; a flag must not pass for a number or the other way round
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        names = " or ".join(t.__name__ for t in _tuple(kind))
        raise HttpError(400, "UsageError", f"{name!r} must be {names}", name)
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _only(data: dict, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        names = ", ".join(sorted(allowed))
        raise HttpError(
            400, "UsageError", f"unknown field {unknown[0]!r} (expected: {names})", unknown[0]
        )


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").strip().lower()
    if value not in ("true", "false", "1", "0", ""):
        raise HttpError(400, "UsageError", f"{name} must be true or false", name)
    return value in ("true", "1")


# --- handlers ---------------------------------------------------------------------------------


class Api:
    """The REST handlers over one workspace."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    async def list_experiments(self, request: Request) -> list[dict]:
        q = request.query_params
        found = await run_in_threadpool(
            experiments.list_experiments,
            self.workspace,
            q.get("kind"),
            q.get("status"),
            q.get("parent"),
        )
        return [record_json(e) for e in found]

    async def create_experiment(self, request: Request) -> Response:
        data = await json_body(request)
        _only(data, {"name", "kind", "parent", "hypothesis"})
        record = await run_in_threadpool(
            experiments.new_experiment,
            self.workspace,
            _field(data, "name", str, required=True),
            _field(data, "kind", str, required=True),
            _field(data, "parent", str),
            _field(data, "hypothesis", str) or "",
        )
        return JSONResponse(record_json(record.model, record.path), 201)

    async def show_experiment(self, request: Request) -> dict:
        ref = request.path_params["id"]
        summary = await run_in_threadpool(experiments.describe_experiment, self.workspace, ref)
        data = summary.model_dump(mode="json", exclude={"experiment"})
        return {**record_json(summary.experiment), **data}

    async def patch_experiment(self, request: Request) -> dict:
        ref = request.path_params["id"]
        data = await json_body(request)
        _only(data, {"status", "note", "metrics", "parent"})
        if not data:
            raise HttpError(400, "UsageError", "nothing to change", "body")
        status = _field(data, "status", str)
        note = _field(data, "note", str) or ""
        if note and status is None:
            raise HttpError(400, "UsageError", "a note goes with a status change", "note")
        metrics = _field(data, "metrics", dict) or {}
        for name, value in metrics.items():
            # checked up front so that no change is written when one of them is bad
            problem = metric_name_problem(name)
            if problem:
                raise HttpError(400, "UsageError", problem, f"metrics.{name}")
            if value is not None and not isinstance(value, bool | int | float | str):
                raise HttpError(
                    400,
                    "UsageError",
                    "a metric is a number, true/false, text or null",
                    f"metrics.{name}",
                )
        # one atomic write for all of it: all the changes land, or none does
        record = await run_in_threadpool(
            functools.partial(
                experiments.update_experiment,
                self.workspace,
                ref,
                metrics=metrics,
                parent=_field(data, "parent", str),
                set_parent="parent" in data,
                status=status,
                note=note,
            )
        )
        return record_json(record.model, record.path)

    async def delete_experiment(self, request: Request) -> dict:
        ref = request.path_params["id"]
        force = _flag(request, "force")
        deleted = await run_in_threadpool(experiments.delete_experiment, self.workspace, ref, force)
        return deleted.model_dump(mode="json")

    async def experiment_runs(self, request: Request) -> list[dict]:
        ref = request.path_params["id"]
        runs = await run_in_threadpool(
            list_runs, self.workspace, ref, request.query_params.get("status")
        )
        return [record_json(r) for r in runs]

    async def list_tests(self, request: Request) -> list[dict]:
        q = request.query_params
        found = await run_in_threadpool(
            assertions.list_tests,
            self.workspace,
            q.get("experiment"),
            q.get("verdict"),
            q.get("kind"),
        )
        return [record_json(t) for t in found]

    async def create_test(self, request: Request) -> Response:
        data = await json_body(request)
        _only(data, {"experiment", "name", "assertion", "description"})
        record = await run_in_threadpool(
            assertions.create_test,
            self.workspace,
            _field(data, "experiment", str, required=True),
            _field(data, "name", str, required=True),
            _field(data, "assertion", dict, required=True),
            _field(data, "description", str) or "",
        )
        return JSONResponse(record_json(record.model, record.path), 201)

    async def show_test(self, request: Request) -> dict:
        record = await run_in_threadpool(
            assertions.read_test, self.workspace, request.path_params["id"]
        )
        return record_json(record.model, record.path)

    async def evaluate_test(self, request: Request) -> dict:
        data = await json_body(request)
        _only(data, {"verdict", "rationale", "reviewer"})
        result = await run_in_threadpool(
            assertions.evaluate_test,
            self.workspace,
            request.path_params["id"],
            _field(data, "verdict", bool),
            _field(data, "rationale", str) or "",
            _field(data, "reviewer", str),
        )
        # camelCase like every other answer here (and the test record's runRef, evaluatedAt)
        return {to_camel(k): v for k, v in result.model_dump(mode="json").items()}


# --- the app ----------------------------------------------------------------------------------


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _guard(
    handler: Handler, *, mutates: bool, api_key: str | None, read_only: bool
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: the api-key and read-only rules, JSON rendering and error mapping."""

    async def endpoint(request: Request) -> Response:
        try:
            if mutates:
                if api_key is not None and not key_ok(request.headers, api_key):
                    raise HttpError(401, "Unauthorized", UNAUTHORIZED, None)
                if read_only:
                    raise HttpError(403, "ReadOnly", "the server is read-only", None)
                # a browser form or a no-preflight fetch can send text/plain cross-site; only
                # a JSON body is a request this API understands
                if request.method in _JSON_WRITES and _media_type(request.headers) != (
                    "application/json"
                ):
                    raise HttpError(
                        415,
                        "UnsupportedMediaType",
                        "a write needs Content-Type: application/json",
                        None,
                    )
            result = await handler(request)
        except HttpError as exc:
            return error_response(exc.status, exc.kind, exc.message, exc.field)
        except ExperimentosError as exc:
            field = exc.field
            if field is None and isinstance(exc, UnsafeId) and "id" in request.path_params:
                field = "id"  # the id in the URL is what the client got wrong
            return error_response(status_for(exc), type(exc).__name__, str(exc), field)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            return error_response(400, "ValidationError", err["msg"], field)
        except Exception:  # a bug must not leak a traceback to the client; log it here
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return error_response(500, "InternalError", "unexpected server error", None)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


def rest_routes(
    workspace: Workspace, *, api_key: str | None = None, read_only: bool = False
) -> list[Route]:
    """The REST routes over `workspace` (mutations need `api_key` when it is set)."""
    api = Api(workspace)
    table: list[tuple[str, str, Handler]] = [
        ("/experiments", "GET", api.list_experiments),
        ("/experiments", "POST", api.create_experiment),
        ("/experiments/{id}", "GET", api.show_experiment),
        ("/experiments/{id}", "PATCH", api.patch_experiment),
        ("/experiments/{id}", "DELETE", api.delete_experiment),
        ("/experiments/{id}/runs", "GET", api.experiment_runs),
        ("/tests", "GET", api.list_tests),
        ("/tests", "POST", api.create_test),
        ("/tests/{id}", "GET", api.show_test),
        ("/tests/{id}/evaluate", "POST", api.evaluate_test),
    ]
    by_path: dict[str, dict[str, Handler]] = {}
    for path, method, handler in table:
        by_path.setdefault(path, {})[method] = handler
    routes = []
    for path, methods in by_path.items():
        for method, handler in methods.items():
            endpoint = _guard(
                handler, mutates=method != "GET", api_key=api_key, read_only=read_only
            )
            routes.append(Route(path, endpoint, methods=[method]))
    return routes


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, "NotFound", f"no route {request.url.path}", None)


async def _bad_method(request: Request, exc: Exception) -> Response:
    return error_response(405, "MethodNotAllowed", f"{request.method} is not allowed here", None)


def build_app(
    workspace: Workspace,
    *,
    api_key: str | None = None,
    read_only: bool = False,
    rest: bool = True,
) -> Starlette:
    """One app: MCP streamable HTTP at /mcp and (unless `rest` is False) the REST API over the
    same workspace, behind the gate (Host, Origin, and the API key on /mcp and REST writes)."""
    from mcp.server.transport_security import TransportSecuritySettings

    from experimentos.mcp.server import build_server

    add_secret(api_key)
    settings = workspace.config.server
    mcp = build_server(workspace, read_only=read_only)
    # The gate checks Host and Origin for /mcp as for the rest (honouring the configured
    # names), so the SDK's own loopback-only check would only refuse those; its Content-Type
    # check stays on.
    mcp_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host="127.0.0.1",
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    routes = rest_routes(workspace, api_key=api_key, read_only=read_only) if rest else []
    gate = Middleware(
        Gate,
        api_key=api_key,
        allowed_hosts=settings.allowed_hosts,
        allowed_origins=settings.allowed_origins,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # the mounted MCP routes need their session manager running; the Starlette app that
        # streamable_http_app returns would do this in its own lifespan, which we replace
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            mcp.state.live.close()

    app = Starlette(
        routes=[*routes, *mcp_app.routes],
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _bad_method},
        middleware=[gate],
    )
    app.state.mcp = mcp
    return app
