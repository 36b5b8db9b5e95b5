"""runserver without its 40 ms pause on every response.

The development server writes a response's headers and its body with separate sends. With
Nagle's algorithm on, the body then waits for the client to acknowledge the headers, and
clients delay that acknowledgement by up to 40 ms: a sandbox call that takes 2 ms took 44.
Accepted connections here send each write at once.
"""

import socket

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.servers.basehttp import WSGIServer


class NoDelay:
    """For a socketserver server: turn Nagle's algorithm off on each accepted connection."""

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()  # type: ignore[misc]
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class NoDelayWSGIServer(NoDelay, WSGIServer):
    pass


class Command(RunserverCommand):
    help = "Serve the console for development, as runserver does, without delayed responses."
    server_cls = NoDelayWSGIServer
