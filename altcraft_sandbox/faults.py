"""Transport faults the sandbox injects on request, so clients can be tested against them.

Nothing happens unless ``settings.SANDBOX_FAULTS_ENABLED`` is on. Then ``SANDBOX_FAULTS``
applies to every API request and a ``Sandbox-Fault`` header to the request carrying it (the
header wins). Both use one syntax: directives separated by ``;``::

    latency=<seconds>   answer normally, but only after this long
    status=<code>       answer HTTP <code> (e.g. 500, 503) with an error envelope
    drop                close the connection without an answer
    timeout[=<seconds>] wait this long (default: the console's read timeout + 1 s), then answer
    malformed           answer HTTP 200 with a truncated body that does not parse
    after               apply the request first, then fail (the answer is lost, the change is
                        not); without it the fault happens before anything is applied
    once                fail only the first attempt with this Request-ID (or this body); retries
                        are handled normally, so "retried after a lost answer" can be tested
    rate=<0..1>         fail only this share of requests (latency still applies to all)

Examples: ``status=503; once``, ``drop; after; once``, ``latency=0.2; status=500; rate=0.1``.

How ``drop`` works: WSGI gives an application no way to close its connection, so the sandbox
finds the client socket (gunicorn puts it in the environ as ``gunicorn.socket``; Django's
runserver and the test ``live_server`` only expose it through ``wsgi.input``'s buffered
reader) and shuts it down, then answers with a streaming response whose first chunk raises
ConnectionResetError, which wsgiref swallows without writing anything. The client sees the
connection closed with no response (requests: ConnectionError). Where no socket can be found
(e.g. Django's test client), ConnectionResetError is raised from the view instead.
"""

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse

HEADER = "Sandbox-Fault"
_FLAGS = {"drop", "malformed", "after", "once"}
_VALUES = {"latency", "status", "timeout", "rate"}

_seen_once: set[str] = set()
_seen_lock = threading.Lock()


class FaultSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Fault:
    latency: float = 0.0
    status: int | None = None
    drop: bool = False
    timeout: float | None = None
    malformed: bool = False
    after: bool = False
    once: bool = False
    rate: float = 1.0

    @property
    def fails(self) -> bool:
        return bool(self.status or self.drop or self.timeout is not None or self.malformed)


def parse(spec: str) -> Fault | None:
    """Read a fault specification; an empty one is no fault."""
    values: dict = {}
    for part in spec.replace(",", ";").split(";"):
        name, _, value = part.strip().partition("=")
        name = name.strip().lower()
        value = value.strip()
        if not name:
            continue
        if name in _FLAGS and not value:
            values[name] = True
        elif name == "timeout" and not value:
            values["timeout"] = settings.ALTCRAFT_READ_TIMEOUT + 1
        elif name in _VALUES:
            try:
                values[name] = int(value) if name == "status" else float(value)
            except ValueError:
                raise FaultSyntaxError(f"{HEADER}: {name} needs a number, not {value!r}") from None
        else:
            raise FaultSyntaxError(f"{HEADER}: unknown directive {part.strip()!r}")
    if values.get("status") is not None and not 100 <= values["status"] <= 599:
        raise FaultSyntaxError(f"{HEADER}: status must be an HTTP status code")
    return Fault(**values) if values else None


def for_request(request: HttpRequest) -> Fault | None:
    """The fault this request asks for, or None (always None unless faults are enabled)."""
    if not settings.SANDBOX_FAULTS_ENABLED:
        return None
    return parse(request.headers.get(HEADER, "") or settings.SANDBOX_FAULTS)


def should_fail(fault: Fault, once_key: str) -> bool:
    """Whether this attempt fails: rate is drawn, and `once` lets only the first attempt fail."""
    if not fault.fails or random.random() >= fault.rate:  # noqa: S311 - not for security
        return False
    if fault.once:
        with _seen_lock:
            if once_key in _seen_once:
                return False
            _seen_once.add(once_key)
    return True


def wait(fault: Fault) -> None:
    if fault.latency:
        time.sleep(fault.latency)


def _client_socket(request: HttpRequest) -> socket.socket | None:
    environ = request.META
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        return sock
    # runserver/live_server: wsgi.input is LimitedStream(BufferedReader(SocketIO(socket))).
    stream = environ.get("wsgi.input")
    for _ in range(4):
        read = getattr(stream, "_read", None)
        stream = getattr(read, "__self__", stream)
        raw = getattr(stream, "raw", None)
        sock = getattr(raw, "_sock", None)
        if isinstance(sock, socket.socket):
            return sock
    return None


def _reset() -> Iterator[bytes]:
    raise ConnectionResetError("sandbox: injected dropped connection")
    yield b""  # pragma: no cover - makes this a generator


def drop_connection(request: HttpRequest) -> StreamingHttpResponse:
    sock = _client_socket(request)
    if sock is None:
        raise ConnectionResetError("sandbox: injected dropped connection")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    return StreamingHttpResponse(_reset())
