"""`manage.py runconsole` (behind `make run`): gunicorn serves, a dead task worker is replaced."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.helpers import ROOT, children, database_url, free_port, running, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def get(port: int, path: str = "/healthz") -> tuple[int, str]:
    try:
        with urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:  # noqa: S310
            return response.status, response.headers.get("Server", "")
    except OSError:
        return 0, ""


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_of(console: subprocess.Popen) -> int | None:
    found = [pid for pid in children(console.pid) if "db_worker" in command_of(pid)]
    return found[0] if found and running(found[0]) else None


@pytest.fixture
def console(tmp_path):
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runconsole", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: get(port)[0] == 200, timeout=60)
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_the_console_is_served_by_gunicorn_with_its_worker_beside_it(console):
    process, port = console
    assert get(port) == (200, "gunicorn")
    assert any("gunicorn" in command_of(pid) for pid in children(process.pid))
    wait_for(lambda: worker_of(process) is not None, timeout=30)


def test_a_killed_worker_is_replaced_while_the_pages_keep_answering(console):
    process, port = console
    wait_for(lambda: worker_of(process) is not None, timeout=30)
    first = worker_of(process)
    os.kill(first, signal.SIGKILL)
    assert get(port)[0] == 200
    wait_for(lambda: worker_of(process) not in (None, first), timeout=30)
    assert get(port)[0] == 200
    assert process.poll() is None


def test_stopping_the_console_stops_both(console):
    process, _ = console
    wait_for(lambda: worker_of(process) is not None, timeout=30)
    helpers = children(process.pid)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert "Console and worker stopped." in process.stdout.read()
    wait_for(lambda: not any(running(pid) for pid in helpers), timeout=30)
