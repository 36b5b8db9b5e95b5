"""`manage.py serve`: the development server, minus the 40 ms wait on every response."""

import os
import signal
import socket
import subprocess
import sys
from urllib.request import urlopen

import pytest
from django.core.management import CommandError, call_command

from profiles_ui.management.commands.serve import Command, NoDelayWSGIServer
from tests.processes import ROOT, children, database_url, running, wait_for


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthz(port: int) -> int:
    try:
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:  # noqa: S310
            return response.status
    except OSError:
        return 0


@pytest.fixture
def two_process_server():
    port = free_port()
    command = ["serve", "--noreload", "--skip-checks", "--processes", "2", f"127.0.0.1:{port}"]
    environment = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=environment,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: healthz(port) == 200, timeout=30)
        yield server, port
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_second_process_answers_on_the_same_port(two_process_server):
    server, port = two_process_server
    (copy,) = children(server.pid)
    server.send_signal(signal.SIGSTOP)  # only the copy can answer now
    try:
        assert [healthz(port) for _ in range(3)] == [200, 200, 200]
    finally:
        server.send_signal(signal.SIGCONT)
    server.terminate()
    server.wait(timeout=10)
    wait_for(lambda: not running(copy), timeout=10)


@pytest.mark.django_db(transaction=True)
def test_the_copies_end_when_the_first_process_is_killed(two_process_server):
    server, _ = two_process_server
    (copy,) = children(server.pid)
    server.kill()
    server.wait(timeout=10)
    wait_for(lambda: not running(copy), timeout=10)


def test_several_processes_need_the_reloader_off():
    with pytest.raises(CommandError, match="--processes needs --noreload"):
        call_command("serve", "--processes", "2", "127.0.0.1:0")
