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


class Command(BaseCommand):
    help = "Serve the console and run its task worker until Ctrl-C; print the URL and logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, port: int, **options) -> None:
        manage = [sys.executable, "manage.py"]
        if settings.TASKS_BACKEND == "rq":
            worker = [*manage, "rqworker", "--job-class", "django_tasks_rq.Job", "default"]
        else:
            worker = [*manage, "db_worker"]
        # No worker is running yet, so every batch left running was abandoned by the last one.
        call_command("resume_batches", all=True)
        processes = [
            subprocess.Popen([*manage, "serve", "--noreload", f"127.0.0.1:{port}"]),  # noqa: S603
            subprocess.Popen(worker),  # noqa: S603
        ]
        self._wait_until_serving(port, processes[0])
        self._print_welcome(port)
        # Ctrl-C reaches the whole process group; we only wait for both children to finish.
        signal.signal(signal.SIGINT, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: [p.terminate() for p in processes])
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                process.wait(timeout=15)
        self.stdout.write("Console and worker stopped.")

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
