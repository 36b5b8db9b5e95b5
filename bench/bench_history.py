"""Benchmark of the history pages and exports at 1,000,000 records holding 10,000,000
identifiers (run by `make bench`).

Usage: DATABASE_URL=postgres://... SECRET_KEY=x python bench/bench_history.py [--rows N] [--runs N]

Creates a throwaway PostgreSQL database, seeds it in SQL (INSERT ... SELECT generate_series),
then times the pages in-process with the test client, logged in as support: median server
time over --runs requests. Exports are timed for speed, and their peak Python memory is
taken with tracemalloc on two sizes to show it does not grow with the export. The database
is dropped at the end, whatever happens.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altcraft_admin.settings")
os.environ.setdefault("DEMO_PASSWORD", "bench-only")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

PAGE_GOAL_MS = 50.0
EXPORT_GOAL_PER_S = 20_000

# One statement: every column of a realistic record, varied by i. Ids and created_at grow
# together, one record every 30 s, so 1,000,000 records span about a year.
SEED_SQL = """
INSERT INTO profiles_ui_submission (
    created_at, finished_at, user_id, username, role, connection, connection_production,
    operation, url, format, request_id, request_body, matching, email, phone, profile_id,
    db_id, workflow_id, profile_count, state, response_status, response_headers,
    response_body, error, error_text, results, transport_error, duration_ms, attempts,
    parent_id, reason, purged_at, rows_outcome, rows_failed)
SELECT
    now() - make_interval(secs => (%(rows)s - i) * 30),
    now() - make_interval(secs => (%(rows)s - i) * 30 - 1),
    u.id, u.username, 'marketer', 'sandbox', false,
    (ARRAY['profiles/import', 'profiles/update', 'profiles/import_batch',
           'profiles/add', 'workflows/import_and_start', 'profiles/update_batch'])[1 + i %% 6],
    'https://ru.altkraft.com/api/v1.1/profiles/import', 'json',
    md5(i::text)::uuid,
    '{"token":"$ALTCRAFT_TOKEN","db_id":1,"matching":"email","email":"user' || i %% 200000
        || '@example.com","data":{"email":"user' || i %% 200000 || '@example.com",'
        || '"_fname":"Ann","_lname":"Lambert","phones":["+7900' || lpad((i %% 300000)::text, 7, '0')
        || '"],"subscriptions":[{"resource_id":1,"channel":"email","email":"user' || i %% 200000
        || '@example.com","status":"subscribed"}]}}',
    'email', 'user' || i %% 200000 || '@example.com',
    '+7900' || lpad((i %% 300000)::text, 7, '0'),
    left(md5('p' || (i %% 250000)::text), 24),
    1, NULL, 1,
    s.state,
    CASE WHEN s.state = 'transport_failed' THEN NULL ELSE 200 END,
    '{"Content-Type": "application/json"}'::jsonb,
    CASE WHEN s.state = 'transport_failed' THEN ''
         ELSE '{"error":' || s.error || ',"error_text":"Successful operation","profile_id":"'
              || left(md5('p' || (i %% 250000)::text), 24) || '"}' END,
    CASE WHEN s.state = 'transport_failed' THEN NULL ELSE s.error END,
    CASE WHEN s.error = 0 THEN 'Successful operation' ELSE 'refused' END,
    NULL, '', 40 + i %% 300, 1, NULL, '', NULL,
    r.outcome, CASE r.outcome WHEN '' THEN NULL WHEN 'succeeded' THEN 0 ELSE 1 END
FROM generate_series(1, %(rows)s) AS i
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN i %% 100 < 85 THEN 'succeeded'
        WHEN i %% 100 < 93 THEN 'rejected'
        WHEN i %% 100 < 97 THEN 'transport_failed'
        WHEN i %% 100 < 99 THEN 'duplicate'
        ELSE 'bad_response' END AS state,
    CASE WHEN i %% 100 BETWEEN 85 AND 92
         THEN (ARRAY[400, 404, 409, 435])[1 + i %% 4] ELSE 0 END AS error
) AS s
CROSS JOIN LATERAL (
    -- How a batch request's rows fared; one in 50 of the answered ones partly failed.
    SELECT CASE
        WHEN i %% 6 NOT IN (2, 5) THEN ''
        WHEN s.state <> 'succeeded' OR s.error <> 0 THEN 'failed'
        WHEN i %% 50 = 2 THEN 'partly_failed'
        ELSE 'succeeded' END AS outcome
) AS r
JOIN (SELECT id, username, row_number() OVER (ORDER BY id) - 1 AS n
      FROM auth_user WHERE username LIKE 'bench-m%%') AS u ON u.n = i %% 20
"""


# Every record's own identifiers (its email, phone, profile_id and a messenger ID), then six
# rows of three identifiers in each batch record: 4 + 6 x 3 x 1/3, about 10 per record. One
# customer is in every 1,000th record: a timeline of 1,000 entries at 1,000,000 records.
SEED_IDENTIFIERS_SQL = """
INSERT INTO profiles_ui_identifier (submission_id, row, kind, value)
SELECT s.id, NULL, k.kind, CASE k.kind
    WHEN 'email' THEN s.email WHEN 'phone' THEN s.phone WHEN 'profile_id' THEN s.profile_id
    ELSE 'tg' || s.id END
FROM profiles_ui_submission s
CROSS JOIN (VALUES ('email'), ('phone'), ('profile_id'), ('messenger_id')) AS k (kind);

INSERT INTO profiles_ui_identifier (submission_id, row, kind, value)
SELECT s.id, r, k.kind, CASE k.kind
    WHEN 'email' THEN 'batch' || (s.id * 6 + r) %% 2000000 || '@example.org'
    WHEN 'phone' THEN '+7901' || lpad(((s.id * 6 + r) %% 3000000)::text, 7, '0')
    ELSE left(md5('b' || (s.id * 6 + r)::text), 24) END
FROM profiles_ui_submission s
CROSS JOIN generate_series(0, 5) AS r
CROSS JOIN (VALUES ('email'), ('phone'), ('profile_id')) AS k (kind)
WHERE s.operation LIKE '%%_batch';

INSERT INTO profiles_ui_identifier (submission_id, row, kind, value)
SELECT id, NULL, 'email', %(frequent)s FROM profiles_ui_submission WHERE id %% 1000 = 0;
"""
FREQUENT = "frequent.customer@example.com"


def seed(rows: int) -> float:
    started = time.perf_counter()
    marketer = Group.objects.get(name="marketer")
    for n in range(20):
        User.objects.create(username=f"bench-m{n:02d}").groups.add(marketer)
    with connection.cursor() as cursor:
        # Bulk-load the way PostgreSQL likes it: indexes built once afterwards, and no
        # per-row foreign-key triggers (the throwaway database is ours alone).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname"
            " NOT IN (SELECT conname FROM pg_constraint)",
            [["profiles_ui_submission", "profiles_ui_identifier"]],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(SEED_SQL, {"rows": rows})
        cursor.execute(SEED_IDENTIFIERS_SQL, {"frequent": FREQUENT})
        cursor.execute("SET session_replication_role = DEFAULT")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE profiles_ui_submission")
        cursor.execute("VACUUM ANALYZE profiles_ui_identifier")
    return time.perf_counter() - started


def median_ms(client: Client, url: str, runs: int) -> float:
    client.get(url)  # warm the plan and the cache, as a user's second request would
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def export(client: Client, url: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.get(url)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    return lines, time.perf_counter() - started


def peak_memory(run: Callable[[], object]) -> int:
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench_history measures PostgreSQL: set DATABASE_URL=postgres://...")

    # No setup_test_environment(): its template instrumentation copies every context for the
    # test client, which is test overhead, not server time. The client's host is allowed here.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"bench_history_{os.getpid()}"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args.rows, args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(rows: int, runs: int) -> None:
    seconds = seed(rows)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM profiles_ui_identifier")
        identifiers = cursor.fetchone()[0]
    print(f"Seeded {rows:,} records and {identifiers:,} identifiers in {seconds:.1f} s")
    support = User.objects.create(username="bench-support", is_staff=False)
    support.groups.add(Group.objects.get(name="support"))
    client = Client()
    client.force_login(support)

    ids = connection.cursor()
    ids.execute("SELECT min(id), max(id) FROM profiles_ui_submission")
    first, last = ids.fetchone()
    deep = first + (last - first) // 10  # 90 % of the way down the list
    email = "user12345@example.com"
    pages = [
        ("List, newest page", "/history/"),
        ("Filtered, deep (rejected, 90% down)", f"/history/?state=rejected&before={deep}"),
        ("Filtered by operation, deep", f"/history/?operation=profiles/add&before={deep}"),
        ("Filtered by error code 435", "/history/?error=435"),
        ("Filtered by rows partly failed", "/history/?rows=partly_failed"),
        ("Search by email (auto: exact)", f"/history/?q={email}"),
        ("Search, exact, a batch row's email", "/history/?q=batch12345@example.org&match=exact"),
        ("Search, exact, phone written locally", "/history/?q=8+900+001-23-45&match=exact"),
        ("Search, a phone without its country code", "/history/?q=9010012345"),
        ("Search, prefix of an email", "/history/?q=user1234&match=prefix"),
        ("Search, substring of an email", "/history/?q=er12345%40exa&match=contains"),
        # Every trigram of it is in most of the seeded emails: the trigram index's worst case.
        ("Search, substring: a whole email", f"/history/?q={email}&match=contains"),
        ("Search by Request-ID", f"/history/?q={_request_id(deep)}"),
        ("Customer timeline (email)", f"/history/timeline/?email={email}"),
        ("Customer timeline, 1,000 entries", f"/history/timeline/?email={FREQUENT}"),
        ("Record detail", f"/history/{deep}/"),
    ]
    results = []
    for label, url in pages:
        ms = median_ms(client, url, runs)
        results.append((label, f"{ms:.1f} ms", f"<= {PAGE_GOAL_MS:.0f} ms", ms <= PAGE_GOAL_MS))

    # Exports follow the list's filters (not its page cursor): date windows pick their size.
    # One record every 30 s: 7 days is about 20,000 records, 35 days 100,000, 70 days 200,000.
    def since(days: int) -> str:
        return f"date_from={(timezone.now() - timedelta(days=days)).date()}"

    for fmt in ("csv", "jsonl"):
        count, seconds = export(client, f"/history/export.{fmt}?{since(70)}")
        rate = (count - (fmt == "csv")) / seconds
        results.append(
            (f"Export {fmt.upper()} ({count:,} lines)", f"{rate:,.0f} rec/s",
             f">= {EXPORT_GOAL_PER_S:,} rec/s", rate >= EXPORT_GOAL_PER_S)
        )  # fmt: skip
    small = peak_memory(lambda: export(client, f"/history/export.csv?{since(7)}"))
    large = peak_memory(lambda: export(client, f"/history/export.csv?{since(35)}"))
    constant = large < small * 1.5
    results.append(
        ("Export peak memory, ~20k vs ~100k rows",
         f"{small / 2**20:.1f} MiB vs {large / 2**20:.1f} MiB", "constant", constant)
    )  # fmt: skip

    print(f"\nHistory at {rows:,} records, median of {runs} requests, logged in as support\n")
    width = max(len(r[0]) for r in results)
    print(f"{'Measure':<{width}}  {'Result':>22}  {'Goal':>16}  Met")
    for label, value, goal, met in results:
        print(f"{label:<{width}}  {value:>22}  {goal:>16}  {'yes' if met else 'NO'}")


def _request_id(record_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT request_id FROM profiles_ui_submission WHERE id = %s", [record_id])
        return str(cursor.fetchone()[0])


if __name__ == "__main__":
    main()
