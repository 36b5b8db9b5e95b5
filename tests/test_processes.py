"""Process-wide settings: freed large buffers go back to the system."""

import subprocess
import sys

import pytest

from tests.processes import ROOT

# Three 20 MB bodies made and freed one after another, then what the process still holds.
HELD_AFTER_FREEING = """
import sys
from profiles_ui.processes import return_large_buffers_to_the_os

if sys.argv[1] == "set":
    assert return_large_buffers_to_the_os()

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

before = rss_mb()
for _ in range(3):
    body = b"x" * (20 * 2**20)
    del body
print(rss_mb() - before)
"""


def held_mb(mode: str) -> int:
    finished = subprocess.run(  # noqa: S603 - this interpreter, with the script above
        [sys.executable, "-c", HELD_AFTER_FREEING, mode],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    )
    return int(finished.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_large_buffers_are_returned_once_the_threshold_is_set():
    assert held_mb("leave") >= 15  # glibc's own rule keeps the freed body in the heap
    assert held_mb("set") <= 5
