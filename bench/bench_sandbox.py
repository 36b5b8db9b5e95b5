"""Benchmark the sandbox over real HTTP, against a throwaway test database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/altcraft_console SECRET_KEY=x \
        .venv/bin/python bench/bench_sandbox.py

The sandbox is served by gunicorn in a process of its own (one worker, as gunicorn.conf.py
sets it up), so the figures include HTTP, WSGI and Django's middleware:

- import_batch of 10,000 profiles, created and then updated (goal: >= 5,000 profiles/s);
- the cost per request of the console's Altcraft client over a bare requests.Session, both
  posting the same body to /sandbox/api/noop, which only reads the body (the floor).
"""

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altcraft_admin.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

PROFILES = 10_000
BATCH_RUNS = 3
NOOP_REQUESTS = 500
IMPORT_GOAL = 5_000  # profiles per second
# No figure was set for the client; 2 ms a request is well under any network round trip.
CLIENT_GOAL_MS = 2.0


PORT = 8767


def database_url() -> str:
    """DATABASE_URL of the throwaway test database, for the server process."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{settings['NAME']}"))


def start_server() -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - gunicorn from this environment
        [sys.executable, "-m", "gunicorn", "altcraft_admin.wsgi"], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{PORT}/sandbox/api/"
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).ok:
                return server, base
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the sandbox server did not start")


def batch_body(token: str, run: int) -> bytes:
    data = [
        {
            "email": f"user{i}@example.com",
            "_fname": "Olly",
            "_lname": f"Lambert {run}",
            "custom_id": f"C-{i}",
            "loyalty_level": i % 7,
            "subscriptions": [
                {
                    "channel": "email",
                    "email_data": {"email": f"user{i}@example.com"},
                    "resource_id": 2,
                }
            ],
        }
        for i in range(PROFILES)
    ]
    body = {"token": token, "db_id": 1, "matching": "email", "data": data}
    return json.dumps(body).encode()


def time_import(base: str, token: str, run: int) -> float:
    body = batch_body(token, run)
    started = time.perf_counter()
    response = requests.post(
        base + "v1.1/profiles/import_batch",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=300,
    )
    elapsed = time.perf_counter() - started
    answer = response.json()
    failed = [r for r in answer.get("result", []) if r["error"]]
    if answer["error"] or failed or len(answer["result"]) != PROFILES:
        raise SystemExit(f"import_batch failed: {answer.get('error_text')} {failed[:3]}")
    return elapsed


def bench_import(base: str, token: str) -> tuple[list[float], list[float]]:
    from altcraft_sandbox.seed import reset

    created, updated = [], []
    for run in range(BATCH_RUNS):
        reset()
        created.append(time_import(base, token, run))
        updated.append(time_import(base, token, run + 100))
    return created, updated


def bench_client(base: str, token: str) -> tuple[list[float], list[float]]:
    from altcraft.client import AltcraftClient

    body = json.dumps(
        {"db_id": 1, "email": "olly@example.com", "data": {"_fname": "Olly"}}
    ).encode()
    session = requests.Session()
    plain = []
    for _ in range(NOOP_REQUESTS):
        started = time.perf_counter()
        answer = session.post(
            base + "noop",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        answer.json()
        plain.append(time.perf_counter() - started)
    # The client builds <base>v1.1/<method>; /sandbox/api/v1.1/noop is the same endpoint.
    client = AltcraftClient(base, retries=0)
    through_client = []
    for _ in range(NOOP_REQUESTS):
        started = time.perf_counter()
        client.send("noop", body, fmt="json", token=token, token_placement="bearer")  # noqa: S106
        through_client.append(time.perf_counter() - started)
    return plain, through_client


def main() -> None:
    logging.getLogger("altcraft.client").setLevel(logging.WARNING)
    setup_test_environment()
    vendor = connection.vendor
    if vendor == "sqlite":
        # A file, not the default shared in-memory database, so server threads see one DB.
        connection.settings_dict["TEST"]["NAME"] = "/tmp/bench_sandbox.sqlite3"  # noqa: S108
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = None
    try:
        from altcraft_sandbox.seed import demo_token, seed

        seed()
        token = demo_token()
        server, base = start_server()
        created, updated = bench_import(base, token)
        plain, through_client = bench_client(base, token)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        connection.creation.destroy_test_db(old_name, verbosity=0)

    def rate(times: list[float]) -> float:
        return PROFILES / statistics.median(times)

    overhead_ms = (statistics.median(through_client) - statistics.median(plain)) * 1000
    rows = [
        (
            "import_batch 10,000 new (profiles/s)",
            f"{rate(created):,.0f}",
            f">= {IMPORT_GOAL:,}",
            rate(created) >= IMPORT_GOAL,
        ),
        (
            "import_batch 10,000 matched (profiles/s)",
            f"{rate(updated):,.0f}",
            f">= {IMPORT_GOAL:,}",
            rate(updated) >= IMPORT_GOAL,
        ),
        ("noop via requests.Session (ms)", f"{statistics.median(plain) * 1000:.2f}", "floor", None),
        (
            "noop via AltcraftClient (ms)",
            f"{statistics.median(through_client) * 1000:.2f}",
            "",
            None,
        ),
        (
            "client overhead per request (ms)",
            f"{overhead_ms:.2f}",
            f"<= {CLIENT_GOAL_MS}",
            overhead_ms <= CLIENT_GOAL_MS,
        ),
    ]
    print(
        f"Sandbox on {vendor}, served by gunicorn, medians of {BATCH_RUNS} batch runs "
        f"and {NOOP_REQUESTS} noop requests"
    )
    print(f"{'measure':<42} {'median':>10}  {'goal':>10}  met")
    for name, value, goal, met in rows:
        verdict = "" if met is None else ("yes" if met else "NO")
        print(f"{name:<42} {value:>10}  {goal:>10}  {verdict}")
    if any(met is False for *_, met in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
