"""`manage.py serve`: the development server, minus the 40 ms wait on every response."""

import socket

from profiles_ui.management.commands.serve import Command, NoDelayWSGIServer


def test_accepted_connections_send_without_waiting_for_acknowledgements():
    server = NoDelayWSGIServer(("127.0.0.1", 0), None)
    try:
        client = socket.create_connection(server.server_address)
        accepted, _ = server.get_request()
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        finally:
            accepted.close()
            client.close()
    finally:
        server.server_close()


def test_serve_runs_the_development_server_on_that_server():
    assert Command.server_cls is NoDelayWSGIServer
