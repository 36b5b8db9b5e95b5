"""Benchmark a bulk import end to end, on PostgreSQL, in a throwaway database (`make bench`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/altcraft_console .venv/bin/python \
        bench/bench_bulk.py [--rows 100000] [--streams 4] [--sandbox-processes 4]

The web server (gunicorn, as gunicorn.conf.py sets it up) and a task worker (db_worker) run as
they do under `make run`, with its environment (Makefile: WORKER_MALLOC). The sandbox, standing
in for Altcraft's servers, answers from a gunicorn of its own with --sandbox-processes
single-threaded workers, so the console's memory is its own and the streams' requests are
worked on in parallel, as Altcraft works on them. A first batch of
20,000 other rows is checked and left unsent: the worker then has what one that has been up
has (its task code imported, the process server its checks fork from started). The script
then uploads a CSV of
--rows rows with 7 subscription columns, maps it, checks it, sends it, and stops the clock
when the last chunk's answer is recorded. It reports, with the issue's goals:

- rows/s end to end (upload to the last chunk acknowledged by the sandbox);
- the same rows sent one request per profile, for the first 2,000 rows (a Postman runner);
- pre-built chunk bodies posted to /sandbox/api/noop, which only reads them (the limit);
- for information, the console-side share of the time: the time no chunk was at the sandbox;
- CPU time of each process with that of the processes it starts (the worker's check
  processes, the sandbox's copies);
- peak memory (VmHWM) of the web workers and the task worker, and of each check process.
"""

import argparse
import contextlib
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway demo user
TOKEN = "bench-sandbox-token"  # noqa: S105 - the throwaway sandbox's
SINGLE_ROWS = 2_000
WARM_UP_ROWS = 20_000  # checked in the worker's check processes (BULK_CHECK_PARALLEL_FROM)
GOALS = {"rate": 5_000, "speedup": 50, "memory_mb": 300}
HEADERS = [
    "email", "first_name", "phone", "loyalty_level", "email_sub_1", "email_sub_2",
    "sms_sub_1", "sms_sub_3", "telegram_bot_sub_5", "whatsapp_sub_6", "viber_sub_7",
]  # fmt: skip
# The mapping the bench posts: (profile field, subscription) per column.
MAPPING = [
    ("email", ""), ("_fname", ""), ("phones", ""), ("custom:loyalty_level", ""),
    ("", "email:1"), ("", "email:2"), ("", "sms:1"), ("", "sms:3"),
    ("", "telegram_bot:5"), ("", "whatsapp:6"), ("", "viber:7"),
]  # fmt: skip


def row(i: int, prefix: str = "user", operator: str = "916") -> list[str]:
    email, phone = f"{prefix}{i}@example.com", f"+7{operator}{i:07d}"
    return [email, f"Name{i}", phone, str(i % 10), email, email, phone, phone, str(10 + i)]


def write_csv(path: Path, rows: int, prefix: str = "user", operator: str = "916") -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for i in range(rows):
            cells = row(i, prefix, operator)
            writer.writerow([*cells, cells[2], cells[2]])


def throwaway_database(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'altcraft'}_bench_bulk"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin, urlunsplit(parts._replace(path=f"/{name}"))


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """The processes started by pid, and theirs (the check's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):  # gone meanwhile
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found += children
        todo += children
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process and everything it started have used so far."""
    total = 0
    for each in [pid, *descendants(pid)]:
        try:
            fields = _stat(each)
        except OSError:
            continue
        # utime, stime, and the same of children already waited for (reaped check workers).
        total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


class ChildMemory(threading.Thread):
    """Samples the peak memory of the worker's child processes, which end with the check."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            for child in descendants(self.pid):
                with contextlib.suppress(OSError):
                    self.peak_mb = max(self.peak_mb, peak_mb(child))


def wait_until_up(base: str) -> None:
    for _ in range(100):
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the web process did not start")


def log_in(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/")
    session.post(
        f"{base}/login/",
        data={"username": "marketer", "password": PASSWORD},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base}/login/"},
    )
    return session


def post(session: requests.Session, url: str, **kwargs) -> requests.Response:
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": url}
    response = session.post(url, headers=headers, allow_redirects=False, **kwargs)
    if response.status_code != 302:
        raise SystemExit(f"POST {url}: HTTP {response.status_code}\n{response.text[:2000]}")
    return response


def upload_and_check(base: str, session: requests.Session, path: Path) -> tuple[int, float]:
    """Upload and map the file and wait for its check; returns (batch id, seconds mapped)."""
    started = time.perf_counter()
    with open(path, "rb") as upload:
        response = post(
            session,
            f"{base}/bulk/",
            files={"file": (path.name, upload, "text/csv")},
            data={"connection": "sandbox", "operation": "profiles/import_batch", "db_id": "1"},
        )
    batch_id = int(response.headers["Location"].strip("/").split("/")[-2])
    mapping = {
        "matching": "email",
        "empty_cells": "leave",
        "skip_triggers": "on",
        "phone_region": "RU",
    }
    for i, (field, sub) in enumerate(MAPPING):
        mapping[f"field_{i}"], mapping[f"sub_{i}"] = field, sub
    post(session, f"{base}/bulk/{batch_id}/mapping/", data=mapping)
    mapped = time.perf_counter() - started
    from profiles_ui.models import Batch

    while Batch.objects.values_list("state", flat=True).get(pk=batch_id) == "checking":
        time.sleep(0.05)
    return batch_id, mapped


def run_bulk(base: str, session: requests.Session, path: Path) -> tuple[int, float]:
    """Upload to the last chunk acknowledged; returns (batch id, seconds)."""
    started = time.perf_counter()
    batch_id, mapped = upload_and_check(base, session, path)
    checked = time.perf_counter() - started
    post(session, f"{base}/bulk/{batch_id}/preview/")
    from profiles_ui.models import Batch

    while Batch.objects.values_list("state", flat=True).get(pk=batch_id) in ("queued", "running"):
        time.sleep(0.05)
    batch = Batch.objects.get(pk=batch_id)
    if batch.state != "finished":
        raise SystemExit(f"batch {batch_id} ended {batch.state}: {batch.error}")
    print(f"  uploaded and mapped after {mapped:.1f} s, checked after {checked:.1f} s")
    return batch_id, time.perf_counter() - started


def sandbox_busy_seconds(batch_id: int) -> float:
    """Seconds during which at least one chunk of the batch was at the sandbox."""
    from profiles_ui.models import Batch, Submission

    records = Submission.objects.filter(batch_chunk__batch_id=batch_id)
    ends = list(records.values_list("finished_at", "duration_ms"))
    durations = [duration for _, duration in ends]
    spans = sorted((end.timestamp() - duration / 1000, end.timestamp()) for end, duration in ends)
    busy, end = 0.0, 0.0
    for start, stop in spans:
        busy += max(0.0, stop - max(start, end))
        end = max(end, stop)
    seconds = sorted(d / 1000 for d in durations)
    print(f"  {len(seconds)} chunks at the sandbox for {', '.join(f'{s:.1f}' for s in seconds)} s")
    batch = Batch.objects.get(pk=batch_id)
    print(
        f"  the first chunk reached the sandbox {spans[0][0] - batch.started_at.timestamp():.2f} s"
        f" after sending began; the batch was final {batch.finished_at.timestamp() - end:.2f} s"
        " after the last answer"
    )
    return busy


class RolledBack(Exception):
    pass


def identifier_share(batch_id: int) -> tuple[int, float, float]:
    """(identifiers, seconds to write them, the chunk's send seconds) for the batch's largest
    chunk: its identifier rows written again by services.write_identifiers, as sending wrote
    them (request and answer), in a transaction then rolled back, median of 3."""
    from django.db import transaction

    from profiles_ui import services
    from profiles_ui.models import Identifier, Submission

    record = (
        Submission.objects.filter(batch_chunk__batch_id=batch_id).order_by("-profile_count").first()
    )
    rows = list(Identifier.objects.filter(submission=record).values_list("row", "kind", "value"))
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        with contextlib.suppress(RolledBack), transaction.atomic():
            services.write_identifiers(record, rows)
            timings.append(time.perf_counter() - started)
            raise RolledBack
    return len(rows), statistics.median(timings), record.duration_ms / 1000


def run_single(api: str, rows: int) -> float:
    """One request per profile, one after another, as a Postman runner sends them."""
    from altcraft.client import TOKEN_PLACEHOLDER, AltcraftClient
    from altcraft.codec import encode_json

    client = AltcraftClient(api)
    started = time.perf_counter()
    for i in range(rows):
        email = f"single{i}@example.com"
        profile = {"email": email, "_fname": f"Name{i}", "loyalty_level": i % 10}
        body = {"token": TOKEN_PLACEHOLDER, "db_id": 1, "matching": "email", "email": email}
        response = client.send(
            "profiles/import", encode_json({**body, "data": profile}), fmt="json", token=TOKEN
        )
        assert response.ok, response.body
    return rows / (time.perf_counter() - started)


def run_limit(base: str, path: Path, streams: int) -> float:
    """Chunk bodies built beforehand, posted in parallel to an endpoint that only reads them."""
    from altcraft.batching import split_into_chunks

    with open(path, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader)
        profiles = (dict(zip(HEADERS, cells, strict=False)) for cells in reader)
        bodies = [c.body for c in split_into_chunks(profiles, envelope={"db_id": 1})]
    rows = sum(body.count(b'"email":') for body in bodies)
    session = requests.Session()
    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        list(pool.map(lambda body: session.post(f"{base}/sandbox/api/noop", data=body), bodies))
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--sandbox-processes", type=int, default=4)
    args = parser.parse_args()
    admin, url = throwaway_database(os.environ["DATABASE_URL"])
    port, sandbox_port = 8765, 8766
    base, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    media = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key",
        "DEMO_PASSWORD": PASSWORD,
        "SANDBOX_TOKEN": TOKEN,
        "SANDBOX_BASE_URL": f"{sandbox}/sandbox/api/",
        "MEDIA_ROOT": str(media),
        "TASKS_BACKEND": "database",
        "BULK_STREAMS": str(args.streams),
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }
    os.environ.update(env)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altcraft_admin.settings")
    django.setup()
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "-v0"], ["seed_demo"], ["seed_sandbox"]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)

    def serve(at: int, processes: int = 2, threads: int = 4) -> subprocess.Popen:
        workers = {
            "GUNICORN_BIND": f"127.0.0.1:{at}",
            "WEB_CONCURRENCY": str(processes),
            "GUNICORN_THREADS": str(threads),
        }
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "altcraft_admin.wsgi"],
            cwd=ROOT,
            env={**env, **workers, "GUNICORN_ACCESS_LOG": ""},
            stderr=subprocess.DEVNULL,
        )

    # One chunk at a time per sandbox process, as many processes as streams.
    web, sandbox_server = serve(port), serve(sandbox_port, args.sandbox_processes, threads=1)
    worker_command = [*manage, "db_worker", "--interval", "0.05", "--no-startup-delay"]
    worker = subprocess.Popen(worker_command, cwd=ROOT, env=env)
    processes = {"web": web, "worker": worker, "sandbox": sandbox_server}
    csv_path, warm_up_path = media / "bench.csv", media / "warm-up.csv"
    try:
        write_csv(csv_path, args.rows)
        wait_until_up(base)
        wait_until_up(sandbox)
        session = log_in(base)
        # First, on a quiet database: after the bulk load, PostgreSQL's autovacuum works on
        # the new rows for a minute or more and would slow these requests down.
        single = run_single(f"{sandbox}/sandbox/api/", SINGLE_ROWS)
        # A worker that has been up has imported the task code and started the process
        # server its checks fork from, once for its life: a first batch, checked and left
        # unsent, does both here, so they are not counted as the measured batch's work.
        write_csv(warm_up_path, WARM_UP_ROWS, prefix="warm-up", operator="917")
        upload_and_check(base, session, warm_up_path)
        print(
            f"== bulk import of {args.rows:,} rows, 7 subscription columns, {args.streams} streams,"
            f" sandbox in {args.sandbox_processes} processes"
        )
        cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        children = ChildMemory(worker.pid)
        children.start()
        batch_id, seconds = run_bulk(base, session, csv_path)
        children.stop.set()
        cpu = {name: cpu_seconds(p.pid) - cpu_before[name] for name, p in processes.items()}
        rate = args.rows / seconds
        busy = sandbox_busy_seconds(batch_id)
        share = 1 - busy / seconds
        identifiers, written, chunk_sent = identifier_share(batch_id)
        limit = run_limit(sandbox, csv_path, args.streams)
        web_mb = max(peak_mb(pid) for pid in [web.pid, *descendants(web.pid)])
        worker_mb = peak_mb(worker.pid)
    finally:
        for process in (web, sandbox_server, worker):
            process.terminate()
            process.wait(timeout=20)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" WITH (FORCE)')

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    speedup = rate / single
    worst_mb = max(web_mb, worker_mb)
    lines = [
        f"end to end:      {seconds:.1f} s, {rate:,.0f} rows/s"
        f" (goal >= {GOALS['rate']:,}: {verdict(rate >= GOALS['rate'])})",
        f"one per profile: {single:,.0f} rows/s for {SINGLE_ROWS:,} rows; bulk is {speedup:.0f}x"
        f" (goal >= {GOALS['speedup']}x: {verdict(speedup >= GOALS['speedup'])})",
        f"limit (noop):    {limit:,.0f} rows/s posting pre-built chunk bodies",
        f"identifiers:     {identifiers:,} of the largest chunk written in {written * 1000:.0f} ms,"
        f" {written / chunk_sent:.0%} of its {chunk_sent:.2f} s send"
        f" (goal <= 10%: {verdict(written / chunk_sent <= 0.10)})",
        f"sandbox busy:    {busy:.1f} s of {seconds:.1f} s; console-side share {share:.0%}"
        " (information)",
        "cpu time:        "
        + ", ".join(f"{name} {used:.1f} s" for name, used in cpu.items())
        + f" ({os.cpu_count()} CPUs)",
        f"peak memory:     web worker {web_mb:.0f} MB, task worker {worker_mb:.0f} MB"
        f" (each of its check processes {children.peak_mb:.0f} MB) for {args.rows:,} rows"
        f" (goal < {GOALS['memory_mb']} MB: {verdict(worst_mb < GOALS['memory_mb'])})",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
