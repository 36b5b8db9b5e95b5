"""Benchmark the builder: preview server time and the page's weight.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/altcraft_console SECRET_KEY=x \
        .venv/bin/python bench/bench_builder.py

In process, with Django's test client, against a throwaway test database:

- the htmx live preview of a profile with 7 subscriptions (one per channel) and 20 custom
  fields (goal: median <= 10 ms), next to a trivial view in the same run for information.
  The trivial view answers "ok" for a logged-in user through the same middleware, so both pay
  for the session and the user; /healthz, which needs neither, is shown too;
- the builder page's transfer: HTML plus its CSS, copy.js and htmx, raw and gzip-compressed
  as WhiteNoise serves static files (goal: <= 150 KB);
- requests made to be expensive (a preview claiming 2,000 subscription rows, a pasted XML file
  of 200,000 elements, a 1 MB paste just under the caps): their time, the answer's size, and
  and the memory they keep (goal: refused cheaply, nothing kept).

The catalog cache is primed, so no HTTP call to Altcraft happens while measuring.
"""

import gc
import gzip
import logging
import os
import statistics
import sys
import time
import tracemalloc
from functools import partial
from importlib import import_module
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altcraft_admin.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

from altcraft.channels import CHANNELS  # noqa: E402
from profiles_ui import catalog  # noqa: E402
from profiles_ui.connections import SANDBOX, all_connections  # noqa: E402

WARMUP, RUNS = 30, 400
PREVIEW_GOAL_MS, PAGE_GOAL_KB = 10.0, 150.0
CUSTOM_TYPES = ("string", "int", "float", "bool", "date")
IDENTIFIERS = {
    "email": {"email": "olly@example.com"},
    "sms": {"phone": "+79000000000"},
    "push": {"provider": "android-firebase", "subscription_id": "a81c264a938b475"},
    "telegram_bot": {"cc_id": "12345"},
    "whatsapp": {"cc_phone": "+79000000001"},
    "viber": {"cc_phone": "+79000000002"},
    "notify": {"cc_phone": "+79000000003"},
}
VALUES = {"string": "value", "int": "42", "float": "1.5", "bool": "true", "date": "2024-01-31"}


def prime() -> list[catalog.FieldInfo]:
    fields = [
        catalog.FieldInfo(f"field_{i}", f"Field {i}", CUSTOM_TYPES[i % len(CUSTOM_TYPES)])
        for i in range(20)
    ]
    sub_fields = [catalog.FieldInfo("api_new_field_1", "New field", "int")]
    catalog.prime(
        all_connections()[SANDBOX],
        databases=[catalog.Database(1, "Clients"), catalog.Database(2, "Partners")],
        database_fields={1: fields},
        resources=[catalog.Resource(1, "All channels", tuple(CHANNELS))],
        resource_fields={(1, channel): sub_fields for channel in CHANNELS},
    )
    return fields


def preview_form(fields: list[catalog.FieldInfo]) -> dict[str, str]:
    data = {
        "t-operation": "profiles/import",
        "t-connection": SANDBOX,
        "t-db_id": "1",
        "m-matching": "email",
        "m-email": "olly@example.com",
        "p-_fname": "Olly",
        "p-_lname": "Lambert",
        "p-phones": "+79000000000",
        "o-fmt": "json",
        "o-detect_geo": "on",
        "sub-TOTAL_FORMS": str(len(IDENTIFIERS)),
        "sub-INITIAL_FORMS": "0",
    }
    data |= {f"p-{f.name}": VALUES[f.type] for f in fields}
    for i, (channel, identifiers) in enumerate(IDENTIFIERS.items()):
        data |= {f"sub-{i}-channel": channel, f"sub-{i}-resource_id": "1"}
        data |= {f"sub-{i}-{key}": value for key, value in identifiers.items()}
        data[f"sub-{i}-sf_api_new_field_1"] = "7"
    return data


class SqlTimer:
    """Counts and times the queries a request makes (session, user, permissions)."""

    def __init__(self) -> None:
        self.count, self.ms = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.ms += (time.perf_counter() - started) * 1000

    def per_request(self, requests: int) -> tuple[float, float]:
        return self.count / requests, self.ms / requests


def timed(call) -> list[float]:
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def server_side(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    client_code = tracemalloc.Filter(False, "*/django/test/client.py", all_frames=True)
    return snapshot.filter_traces([client_code])


def expensive_requests(client: Client, data: dict[str, str]) -> list[tuple]:
    """Each request an attacker or a careless paste could make: its time and what it keeps."""
    form_type = "application/x-www-form-urlencoded"
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "preview"}
    cases = {
        "preview of 2,000 claimed rows": urlencode(data | {"sub-TOTAL_FORMS": "2000"}),
        "paste of 200,000 XML elements": urlencode(
            {"action": "paste", "paste-body": "<xml>" + "<a>1</a>" * 200_000 + "</xml>"}
        ),
        "paste of 1 MB, 9,000 elements": urlencode(
            {
                "action": "paste",
                "paste-body": "<xml>" + ("<a>" + "x" * 100 + "</a>") * 9_000 + "</xml>",
            }
        ),
    }
    rows = []
    for name, body in cases.items():
        post = partial(client.post, "/builder/", body, content_type=form_type, **headers)
        for _ in range(5):  # first-use imports and caches
            post()
        samples, size = [], 0
        for _ in range(20):
            started = time.perf_counter()
            size = len(post().content)
            samples.append((time.perf_counter() - started) * 1000)
        # Python objects still held after 20 more: what the requests kept, apart from the
        # allocator's reuse of freed memory, which RSS would mix in, and from the test
        # client's own copies of the bodies it sent (not the server's).
        tracemalloc.start(25)
        gc.collect()  # cycles not yet collected are garbage, not kept
        before = server_side(tracemalloc.take_snapshot())
        for _ in range(20):
            post()
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()
        after = server_side(tracemalloc.take_snapshot())
        tracemalloc.stop()
        kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        rows.append((name, statistics.median(samples), size, kept / 2**20, peak / 2**20))
    return rows


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def static_bytes(path: str) -> bytes:
    found = finders.find(path)
    if not found:
        raise SystemExit(f"static file not found: {path}")
    return Path(found).read_bytes()


def trivial(request: HttpRequest) -> HttpResponse:
    request.user.get_username()  # loads the session and the user, as every page does
    return HttpResponse("ok")


class BenchUrls:
    """The project's URLs plus the trivial view, for this process only."""

    urlpatterns = [
        path("bench/trivial/", trivial),
        *import_module("altcraft_admin.urls").urlpatterns,
    ]


def main() -> int:
    logging.disable(logging.WARNING)
    settings.ROOT_URLCONF = BenchUrls
    clear_url_caches()
    # No setup_test_environment(), as in bench_history: its template instrumentation copies
    # every context for the test client, which is test overhead, not server time. The
    # client's host is allowed here.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if connection.vendor != "sqlite":
        # Other benchmarks may be running against the same server: a name of our own.
        name = f"test_{connection.settings_dict['NAME']}_builder_{os.getpid()}"
        connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        return run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run() -> int:
    fields = prime()
    user = User.objects.create_user("bench-marketer")
    user.groups.add(Group.objects.get(name="marketer"))
    client = Client()
    client.force_login(user)
    data = preview_form(fields)
    # An import form has no file input, so the page posts it URL-encoded, as here.
    body = urlencode(data)
    form_type = "application/x-www-form-urlencoded"
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "preview"}
    check = client.post("/builder/", body, content_type=form_type, **headers)
    if check.status_code != 200 or b'id="preview-json"' not in check.content:
        print(check.content.decode()[:3000])
        raise SystemExit("the preview did not render a payload; the benchmark form is wrong")
    sql = SqlTimer()
    with connection.execute_wrapper(sql):
        preview = timed(lambda: client.post("/builder/", body, content_type=form_type, **headers))
    sql_per_request = sql.per_request(WARMUP + RUNS)
    health = timed(lambda: client.get("/healthz"))
    baseline = timed(lambda: client.get("/bench/trivial/"))

    page = client.get("/builder/")
    html = page.content
    statics = [
        "vendor/simplecss/simple.min.css",
        "css/console.css",
        "js/copy.js",
        "django_htmx/htmx-2.min.js",
    ]
    assets = [static_bytes(path) for path in statics]
    raw = len(html) + sum(len(a) for a in assets)
    # HTML is served as is (no GZipMiddleware); WhiteNoise serves the .gz of static files.
    transferred = len(html) + sum(len(gzip.compress(a, compresslevel=9)) for a in assets)

    median, health_median = statistics.median(preview), statistics.median(health)
    baseline_median = statistics.median(baseline)
    ratio = median / baseline_median
    rows = [
        (
            "preview median (ms)",
            f"{median:.2f}",
            f"<= {PREVIEW_GOAL_MS:.0f}",
            median <= PREVIEW_GOAL_MS,
        ),
        ("preview p99 (ms)", f"{p99(preview):.2f}", "-", None),
        ("  of which SQL, mean (ms)", f"{sql_per_request[1]:.2f}", "-", None),
        ("  SQL queries per preview", f"{sql_per_request[0]:.0f}", "-", None),
        ("trivial logged-in view median (ms)", f"{baseline_median:.2f}", "-", None),
        ("preview / trivial view", f"{ratio:.1f}x", "-", None),
        ("/healthz median (ms)", f"{health_median:.2f}", "-", None),
        ("preview / healthz", f"{median / health_median:.1f}x", "-", None),
        ("page HTML (KB)", f"{len(html) / 1024:.1f}", "-", None),
        ("page + CSS + JS raw (KB)", f"{raw / 1024:.1f}", "-", None),
        (
            "page + CSS + JS transferred (KB)",
            f"{transferred / 1024:.1f}",
            f"<= {PAGE_GOAL_KB:.0f}",
            transferred / 1024 <= PAGE_GOAL_KB,
        ),
    ]
    costly = expensive_requests(client, data)
    print(f"Builder benchmark ({RUNS} runs after {WARMUP} warm-up, {connection.vendor})")
    print(f"{'measure':<34}{'value':>10}  {'goal':<8} result")
    for name, value, goal, met in rows:
        result = "" if met is None else ("goal met" if met else "GOAL NOT MET")
        print(f"{name:<34}{value:>10}  {goal:<8} {result}")
    print("\nExpensive requests after 5 of each: median time of 20, answer size,")
    print("Python memory the server kept after 20 more, and their peak (tracemalloc)")
    for name, ms, size, grown, peak in costly:
        print(
            f"{name:<34}{ms:>8.1f} ms {size / 1024:>8.1f} KB"
            f" {grown:>+8.2f} MB kept {peak:>7.1f} MB peak"
        )
    return 0 if all(met is not False for *_, met in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
