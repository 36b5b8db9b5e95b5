"""How fast this machine runs plain Python, printed first by `make bench`.

The goals are figures on some machine; this line says which kind of machine a run's figures
come from, so that runs on different machines can be compared (the CPU time of a bulk import
or a search scales with it).
"""

import os
import statistics
import time

ADDITIONS = 10_000_000


def additions_seconds() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(ADDITIONS):
        total += i
    return time.perf_counter() - started


if __name__ == "__main__":
    seconds = statistics.median(additions_seconds() for _ in range(3))
    print(
        f"machine: {os.cpu_count()} CPUs; {ADDITIONS:,} Python additions in {seconds:.2f} s"
        " (median of 3)"
    )
