"""HTTP requests that carry credentials: one deadline, one origin, bounded answers.

Python's urllib follows a redirect to any origin and copies every header, Authorization
included, and its timeout is per socket read, so a server dripping a byte a second holds a
request forever. Here:

- a redirect is followed only within the origin (scheme, host, port) of the request; a
  redirect to another origin is refused before anything is sent there, so a credential never
  leaves the origin it was meant for;
- one `Deadline` bounds everything a caller does (every request, redirect and read): each
  read gets at most what is left of it, and a read past it fails;
- answers are read up to a byte limit.

Proxies from the environment (HTTPS_PROXY, NO_PROXY) work as with urllib.
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

READ_TIMEOUT = 30.0  # seconds one read may wait, within the deadline
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """A request that did not give an answer; `kind` says why: `unreachable`, `deadline`
    (past it), `redirect` (to another origin, or too many), `too-large` (the answer)."""

    def __init__(self, message: str, kind: str):
        self.kind = kind
        super().__init__(message)


class DeadlineExceeded(TimeoutError):
    """The deadline passed while connecting, sending or reading."""


class Deadline:
    """A point in time every request and read of one task must finish by."""

    def __init__(self, seconds: float):
        if not seconds > 0:
            raise ValueError("a deadline is a positive number of seconds")
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def timeout(self, limit: float = READ_TIMEOUT) -> float:
        """How long the next socket operation may wait; DeadlineExceeded when none is left."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(f"did not finish within {self.seconds:g} s")
        return min(left, limit)


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes
    url: str


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # an unparseable port matches no origin
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- sockets that check the deadline on every operation ----------------------------------------


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket):
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.release_reader()
        super().close()


class _DeadlineSocket:
    """A connected socket whose every send and receive waits at most what the deadline leaves
    (http.client reads the status line, headers and body through `makefile`)."""

    def __init__(self, sock: socket.socket, deadline: Deadline, read_timeout: float):
        self._sock = sock
        self._deadline = deadline
        self._read_timeout = read_timeout
        # Like socket.makefile: the connection closes its socket while the response still
        # reads from it, so the socket really closes when its last reader does.
        self._readers = 0
        self._closed = False

    def _arm(self) -> None:
        self._sock.settimeout(self._deadline.timeout(self._read_timeout))

    def _timed_out(self) -> Exception:
        if self._deadline.remaining() <= 0:
            return DeadlineExceeded(f"did not finish within {self._deadline.seconds:g} s")
        return TimeoutError(f"no answer for {self._read_timeout:g} s")

    def recv_into(self, buffer, *args) -> int:  # noqa: ANN001, ANN002
        self._arm()
        try:
            return self._sock.recv_into(buffer, *args)
        except TimeoutError:
            raise self._timed_out() from None

    def sendall(self, data) -> None:  # noqa: ANN001
        self._arm()
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise self._timed_out() from None

    def makefile(self, mode: str = "r", *args, **kwargs) -> io.BufferedReader:  # noqa: ANN002, ANN003
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def release_reader(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self._sock.close()

    def __getattr__(self, name: str):  # noqa: ANN204 - everything else is the socket's
        return getattr(self._sock, name)


class _DeadlineConnection:
    """Mixin: connect (and TLS handshake, bounded as one operation) within the deadline, then
    hand http.client a socket that checks it on every read and write."""

    def __init__(self, *args, deadline: Deadline, read_timeout: float, **kwargs) -> None:  # noqa: ANN002, ANN003
        self._deadline = deadline
        self._read_timeout = read_timeout
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        self.timeout = self._deadline.timeout(self._read_timeout)
        try:
            super().connect()
        except TimeoutError:
            if self._deadline.remaining() <= 0:
                raise DeadlineExceeded(
                    f"did not finish within {self._deadline.seconds:g} s"
                ) from None
            raise
        self.sock = _DeadlineSocket(self.sock, self._deadline, self._read_timeout)


class _HTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline, read_timeout: float):
        super().__init__()
        self._factory = functools.partial(
            _HTTPConnection, deadline=deadline, read_timeout=read_timeout
        )

    def http_open(self, req: urllib.request.Request):  # noqa: ANN201
        return self.do_open(self._factory, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline, read_timeout: float):
        super().__init__()
        self._factory = functools.partial(
            _HTTPSConnection, deadline=deadline, read_timeout=read_timeout
        )

    def https_open(self, req: urllib.request.Request):  # noqa: ANN201
        return self.do_open(self._factory, req, context=self._context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Every 3xx surfaces as an HTTPError: `request` decides whether to follow it."""

    def redirect_request(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        return None


# --- requests --------------------------------------------------------------------------------


def _read(stream, limit: int) -> bytes:  # noqa: ANN001 - a response or an HTTPError
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise FetchError(f"the answer is larger than {limit} bytes", "too-large")
    return data


def request(
    method: str,
    url: str,
    *,
    deadline: Deadline,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    read_timeout: float = READ_TIMEOUT,
) -> Response:
    """Send one request and read its answer (any status) within `deadline`.

    A redirect is followed, with the same headers, only to the same origin (at most
    MAX_REDIRECTS); one to another origin raises FetchError and nothing is sent there. A 303,
    or a 301/302 answering a POST, continues as a GET without the body.
    """
    opener = urllib.request.build_opener(
        _HTTPHandler(deadline, read_timeout), _HTTPSHandler(deadline, read_timeout), _NoRedirect()
    )
    start = origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        try:
            answer = _send(opener, req, deadline, read_timeout, max_bytes)
        except (DeadlineExceeded, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise _failure(exc, deadline) from None
        if isinstance(answer, Response):
            return answer
        target = urllib.parse.urljoin(url, answer[1].strip())
        if origin(target) != start:
            raise FetchError(
                f"{_origin_text(url)} redirected to another origin ({_origin_text(target)}); "
                "not followed",
                "redirect",
            )
        if answer[0] == 303 or (answer[0] in (301, 302) and method == "POST"):
            method, body = "GET", None
        url = target
    raise FetchError(f"more than {MAX_REDIRECTS} redirects", "redirect")


def _send(
    opener: urllib.request.OpenerDirector,
    req: urllib.request.Request,
    deadline: Deadline,
    read_timeout: float,
    max_bytes: int,
) -> Response | tuple[int, str]:
    """The answer, or (status, Location) of a redirect (its body is never read)."""
    try:
        with opener.open(req, timeout=deadline.timeout(read_timeout)) as answer:
            return Response(answer.status, answer.headers, _read(answer, max_bytes), req.full_url)
    except urllib.error.HTTPError as exc:
        with exc:
            location = exc.headers.get("Location") if exc.headers else None
            if exc.code in _REDIRECTS and location:
                return exc.code, location
            return Response(exc.code, exc.headers, _read(exc, max_bytes), req.full_url)


def _origin_text(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if host else url[:100]


def _failure(exc: BaseException, deadline: Deadline) -> FetchError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, DeadlineExceeded) or deadline.remaining() <= 0:
        message = f"no complete answer within the deadline of {deadline.seconds:g} s"
        return FetchError(message, "deadline")
    return FetchError(str(reason) or type(reason).__name__, "unreachable")
