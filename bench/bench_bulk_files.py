"""Benchmark checking a bulk file read as CSV and as a JSON array (json_agg output), side by
side: the check's time and the peak memory of the process reading the file (`make bench`).

    .venv/bin/python bench/bench_bulk_files.py [--rows 1000000] [--processes 1]

Both files hold the same profiles, as people and databases write them: national phones,
dd.mm.yyyy dates and a gender letter in the CSV; phone arrays, timestamps, a gender number
and an object field in the JSON. Each case runs in a process of its own, so each peak is its
own. The goal: the JSON array costs no more memory than the CSV (within 20 MB).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMORY_MARGIN_MB = 20
COLUMNS = ["Электронная почта", "Телефон", "Имя", "Дата рождения", "Пол", "address"]


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    csv_path, json_path = folder / "profiles.csv", folder / "profiles.json"
    with open(csv_path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(
                [
                    f"user{i}@example.ru",
                    f"8 (916) {i // 10000 % 1000:03d}-{i // 100 % 100:02d}-{i % 100:02d}",
                    f"Имя{i}",
                    f"{i % 28 + 1:02d}.{i % 12 + 1:02d}.{1950 + i % 60}",
                    "мж"[i % 2],
                    json.dumps({"city": "Рязань", "flat": i % 300}, ensure_ascii=False),
                ]
            )
    with open(json_path, "w", encoding="utf-8") as out:
        out.write("[")
        for i in range(rows):
            profile = {
                "Электронная почта": f"user{i}@example.ru",
                "Телефон": [f"7916{i:07d}"],
                "Имя": f"Имя{i}",
                "Дата рождения": f"{1950 + i % 60}-{i % 12 + 1:02d}-{i % 28 + 1:02d}T21:00:00",
                "Пол": 1 + i % 2,
                "address": {"city": "Рязань", "flat": i % 300},
            }
            out.write(("" if i == 0 else ",\n ") + json.dumps(profile, ensure_ascii=False))
        out.write("]\n")
    return csv_path, json_path


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_case(path: Path, processes: int) -> None:
    """Check one file as the worker does, and print one JSON line of results."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altcraft_admin.settings")
    import django

    django.setup()
    from profiles_ui.bulk.check import Rules, check_blocks
    from profiles_ui.bulk.files import read_records, sniff
    from profiles_ui.bulk.mapping import Column, Mapper

    info = sniff(path)
    mapper = Mapper(
        [
            Column(COLUMNS[0], "email"),
            Column(COLUMNS[1], "phones"),
            Column(COLUMNS[2], "_fname"),
            Column(COLUMNS[3], "_bdate", date_format="dmy_dot" if info.kind == "csv" else "iso"),
            Column(COLUMNS[4], "_sex"),
            Column(COLUMNS[5], "custom:address"),
        ],
        {"address": "object"},
    )
    rules = Rules(info, mapper, "json", {"address": "object"}, "email", None, True, False, "RU")
    started = time.perf_counter()
    rows = valid = 0
    for block in check_blocks(read_records(path, info), rules, processes=processes):
        rows += block.rows
        valid += len(block.numbers)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "valid": valid, "seconds": seconds, "peak_mb": peak_mb()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--case", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.processes)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        paths = write_files(Path(folder), args.rows)
        for kind, path in zip(("CSV", "JSON array"), paths, strict=True):
            done = subprocess.run(
                [sys.executable, __file__, "--case", str(path), "--processes", str(args.processes)],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            if done.returncode:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            results[kind] = json.loads(done.stdout.strip().splitlines()[-1])
            size = path.stat().st_size / 2**20
            r = results[kind]
            print(
                f"{kind:>10}: {r['rows']:,} rows ({size:,.0f} MB), {r['valid']:,} valid, "
                f"checked in {r['seconds']:.1f} s ({r['rows'] / r['seconds']:,.0f} rows/s), "
                f"peak memory {r['peak_mb']:.0f} MB"
            )
    csv_result, json_result = results["CSV"], results["JSON array"]
    ok = json_result["peak_mb"] <= csv_result["peak_mb"] + MEMORY_MARGIN_MB
    ok = ok and json_result["valid"] == csv_result["valid"] == args.rows
    print(f"JSON array memory within {MEMORY_MARGIN_MB} MB of CSV's: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
