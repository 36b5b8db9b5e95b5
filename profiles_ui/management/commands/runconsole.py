"""Serve the console with gunicorn and run its task worker, as `make run` does.

Both run as child processes. If the task worker dies, it is started again (and the batches it
left are resumed); the web server goes on answering meanwhile. Ctrl-C or SIGTERM stops both.
"""

import os
import signal
import subprocess
import sys
import time
from urllib.request import urlopen

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from profiles_ui.roles import ROLES

RESTART_PAUSE = 2  # seconds between a worker's death and its replacement


class Command(BaseCommand):
    help = "Serve the console (gunicorn) and run its task worker until Ctrl-C; print the logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, port: int, **options) -> None:
        self.stopping = False
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        # No worker is running yet, so every batch left running was abandoned by the last one.
        call_command("resume_batches", all=True)
        env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "PORT": str(port)}
        web = subprocess.Popen(  # noqa: S603 - gunicorn from this environment
            [sys.executable, "-m", "gunicorn", "altcraft_admin.wsgi"], env=env
        )
        worker = self._start_worker()
        self._wait_until_serving(port, web)
        self._print_welcome(port)
        try:
            while not self.stopping and web.poll() is None:
                if worker.poll() is not None and not self.stopping:
                    self.stderr.write(
                        f"The task worker stopped (exit status {worker.returncode}); "
                        "starting a new one. The web server is still serving."
                    )
                    time.sleep(RESTART_PAUSE)
                    call_command("resume_batches", all=True)
                    worker = self._start_worker()
                time.sleep(0.5)
        finally:
            for process in (web, worker):
                if process.poll() is None:
                    process.terminate()
            for process in (web, worker):
                process.wait(timeout=30)
        self.stdout.write("Console and worker stopped.")

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _start_worker(self) -> subprocess.Popen:
        manage = [sys.executable, "manage.py"]
        if settings.TASKS_BACKEND == "rq":
            command = [*manage, "rqworker", "--job-class", "django_tasks_rq.Job", "default"]
        else:
            command = [*manage, "db_worker"]
        return subprocess.Popen(command)  # noqa: S603 - our own manage.py

    def _wait_until_serving(self, port: int, server: subprocess.Popen) -> None:
        """Print the welcome last, not buried above the server's own start-up lines."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)

    def _print_welcome(self, port: int) -> None:
        sandbox_token = os.environ.get(settings.SANDBOX_TOKEN_ENV, "")
        lines = [
            "",
            f"Altcraft Profile Console: http://127.0.0.1:{port}/",
            f"Task worker: {settings.TASKS_BACKEND}",
            f"Sandbox API: {settings.SANDBOX_BASE_URL}v1.1/  token: {sandbox_token}",
            "Demo logins (username / password):",
            *(f"  {role:<9} {settings.DEMO_PASSWORD}" for role in ROLES),
            "Stop with Ctrl-C.",
            "",
        ]
        self.stdout.write("\n".join(lines))
