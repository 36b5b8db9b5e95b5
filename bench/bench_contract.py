"""Benchmark of the Altcraft contract codec and batch splitter (run by `make bench`).

Usage: python bench/bench_contract.py [--runs N] [--quick]

Reports, in one run: encoding a 10,000-profile batch (7 subscriptions each, about 10 MB)
to JSON and XML next to plain json.dumps, parsing both back, and the peak memory of
splitting 100,000- and 1,000,000-profile streams, with the goals of the issue.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altcraft.batching import split_into_chunks  # noqa: E402
from altcraft.codec import decode, encode_json, encode_xml  # noqa: E402

OPERATION = "profiles/import_batch"
ENVELOPE = {"db_id": 1, "matching": "email", "skip_triggers": True}


def profile(i: int) -> dict:
    """A realistic profile: system fields, custom fields and one subscription per channel."""
    email = f"user{i}@example.com"
    phone = f"+7900{i % 10_000_000:07d}"
    return {
        "email": email,
        "_fname": "Ольга" if i % 2 else "Olly",
        "_lname": "Lambert & Sons <Ltd>",
        "phones": [phone],
        "_bdate": "1990-02-22T21:00:00Z",
        "_sex": "female",
        "_regdate": "2023-12-31T23:59:59+03:00",
        "_regip": "94.231.119.122",
        "_tz": "Europe/Moscow",
        "_city": "Ryazan",
        "_postal_code": "390000",
        "customer_id": f"C-{i:08d}",
        "subscriptions": [
            {
                "resource_id": 1,
                "channel": "email",
                "email": email,
                "status": "subscribed",
                "priority": 0,
                "cats": ["news", "promo"],
            },
            {"resource_id": 2, "channel": "sms", "phone": phone, "status": 0},
            {
                "resource_id": 3,
                "channel": "push",
                "provider": "android-firebase",
                "subscription_id": f"a81c264a938b475{i:012d}",
                "custom_fields": {"_browser_name": "Firefox", "_device_type": "web"},
            },
            {"resource_id": 4, "channel": "whatsapp", "cc_data": {"phone": phone}},
            {"resource_id": 5, "channel": "viber", "cc_data": {"phone": phone}},
            {"resource_id": 6, "channel": "telegram_bot", "cc_data": {"id": 100_000 + i}},
            {"resource_id": 7, "channel": "notify", "cc_data": {"phone": phone}},
        ],
    }


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def split_child(count: int, fmt: str) -> None:
    """Runs in a subprocess: splits a generated stream and prints peak RSS and chunk count."""

    def stream() -> Iterator[dict]:
        for i in range(count):
            yield {
                "email": f"user{i}@example.com",
                "_fname": "Olly",
                "subscriptions": [
                    {"resource_id": 1, "channel": "email", "email_data": {"email": f"u{i}@ex.com"}}
                ],
            }

    start = time.perf_counter()
    chunks = profiles = 0
    for chunk in split_into_chunks(stream(), fmt=fmt, envelope=ENVELOPE):
        chunks += 1
        profiles += len(chunk.profiles)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {"peak_kib": peak_rss_kib(), "chunks": chunks, "profiles": profiles, "s": elapsed}
        )
    )


def peak_rss_kib() -> int:
    """Peak RSS of this process's own memory image.

    Linux carries ru_maxrss across fork and exec, so a child started by a big parent would
    report the parent's size; VmHWM belongs to the new image only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_split(count: int, fmt: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--split-child", str(count), "--fmt", fmt],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer profiles, for a smoke run")
    parser.add_argument("--split-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fmt", default="json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.split_child:
        split_child(args.split_child, args.fmt)
        return

    count = 1_000 if args.quick else 10_000
    streams = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    runs = args.runs
    payload = {**ENVELOPE, "data": [profile(i) for i in range(count)]}
    t_plain, plain = median_time(
        lambda: json.dumps(payload, ensure_ascii=False, separators=(",", ":")), runs
    )
    t_json, body_json = median_time(lambda: encode_json(payload), runs)
    t_xml, body_xml = median_time(lambda: encode_xml(payload), runs)
    t_loads, _ = median_time(lambda: json.loads(body_json), runs)
    t_djson, back_json = median_time(lambda: decode(body_json, "json", operation=OPERATION), runs)
    t_dxml, back_xml = median_time(lambda: decode(body_xml, "xml", operation=OPERATION), runs)
    assert back_json == payload and back_xml == payload, "round trip changed the payload"

    mb_json, mb_xml = len(body_json) / 1e6, len(body_xml) / 1e6
    mb_plain = len(plain.encode()) / 1e6
    rows = [
        ("json.dumps (baseline)", mb_plain, t_plain),
        ("encode_json", mb_json, t_json),
        ("encode_xml", mb_xml, t_xml),
        ("json.loads (baseline)", mb_json, t_loads),
        ("decode json", mb_json, t_djson),
        ("decode xml", mb_xml, t_dxml),
    ]
    print(f"Batch of {count:,} profiles, 7 subscriptions each; median of {runs} runs")
    print(f"{'step':24} {'MB':>7} {'seconds':>8} {'MB/s':>8} {'profiles/s':>11}")
    for name, mb, seconds in rows:
        print(f"{name:24} {mb:7.2f} {seconds:8.3f} {mb / seconds:8.1f} {count / seconds:11,.0f}")

    # Each stream is split in its own process so that its peak RSS is its own; the two run
    # side by side (after the timings, so they do not disturb them).
    with ThreadPoolExecutor(max_workers=2) as pool:
        splits = list(pool.map(lambda n: run_split(n, "json"), streams))
    print("\nSplitting a generated stream into 10,000-profile / 10 MB JSON requests")
    print(f"{'profiles':>10} {'chunks':>7} {'seconds':>8} {'peak RSS MiB':>13}")
    for n, result in zip(streams, splits, strict=True):
        assert result["profiles"] == n
        print(f"{n:10,} {result['chunks']:7} {result['s']:8.1f} {result['peak_kib'] / 1024:13.1f}")

    json_speed, xml_speed = mb_json / t_json, mb_xml / t_xml
    small, large = (s["peak_kib"] for s in splits)
    xml_parse_speed = mb_xml / t_dxml
    goals = [
        (
            "encode_json time / json.dumps time",
            t_json / t_plain,
            "<= 1.20",
            t_json <= 1.2 * t_plain,
        ),
        (
            "encode_xml MB/s / encode_json MB/s",
            xml_speed / json_speed,
            ">= 0.35",
            xml_speed >= 0.35 * json_speed,
        ),
        ("decode xml MB/s", xml_parse_speed, ">= 30", xml_parse_speed >= 30),
        ("split peak RSS, large / small stream", large / small, "<= 1.10", large <= 1.1 * small),
    ]
    print("\nGoals")
    for name, value, goal, met in goals:
        print(f"{name:40} {value:8.2f} {goal:>8}  {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
