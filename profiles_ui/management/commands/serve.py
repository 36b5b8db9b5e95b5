"""runserver without its 40 ms pause on every response, optionally in several processes.

The development server writes a response's headers and its body with separate sends. With
Nagle's algorithm on, the body then waits for the client to acknowledge the headers, and
clients delay that acknowledgement by up to 40 ms: a sandbox call that takes 2 ms took 44.
Accepted connections here send each write at once.

One process answers its requests one at a time as far as Python goes (the GIL), whatever the
number of threads. `--processes N` forks N - 1 more processes after the port is bound, all
accepting on the same socket, so parallel requests (a bulk batch's streams reaching the
sandbox) are worked on in parallel, as they are by Altcraft's own servers.
"""

import os
import signal
import socket

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.management.base import CommandError
from django.core.servers.basehttp import WSGIServer
from django.db import connections

from profiles_ui.processes import exit_with


class NoDelay:
    """For a socketserver server: turn Nagle's algorithm off on each accepted connection."""

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()  # type: ignore[misc]
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class NoDelayWSGIServer(NoDelay, WSGIServer):
    processes = 1

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        if self.processes > 1:
            fork_servers(self.processes - 1)
        super().serve_forever(poll_interval)


def fork_servers(count: int) -> list[int]:
    """Fork `count` copies of this server process; returns their PIDs in the first one.

    The copies serve the socket already bound. Each opens database connections of its own
    (one inherited from the parent would be shared, and corrupted, by both), ends with the
    first process when it is terminated, and ends by itself if the first one is killed.
    """
    connections.close_all()
    parent = os.getpid()
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            exit_with(parent)
            return []
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    return children


class Command(RunserverCommand):
    help = "Serve the console for development, as runserver does, without delayed responses."
    server_cls = NoDelayWSGIServer

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Serve from this many processes (needs --noreload). Injected faults that fail "
            "only once are remembered per process.",
        )

    def handle(self, *args, **options) -> None:
        processes = options["processes"]
        if processes < 1:
            raise CommandError("--processes must be 1 or more")
        if processes > 1 and options["use_reloader"]:
            raise CommandError("--processes needs --noreload: the reloader restarts one process")
        self.server_cls = type("NoDelayWSGIServer", (NoDelayWSGIServer,), {"processes": processes})
        super().handle(*args, **options)
