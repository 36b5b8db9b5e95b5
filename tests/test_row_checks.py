"""Checking bulk rows in worker processes: the same answers, in file order, none left behind."""

import os
import signal
import subprocess
import sys

from profiles_ui import row_checks
from profiles_ui.bulk_io import Column, Mapper
from profiles_ui.row_checks import Rules, check_rows
from tests.processes import ROOT, children, running, wait_for

RULES = Rules(
    mapper=Mapper([Column("email", "email"), Column("phone", "phones")], {}),
    fmt="json",
    custom_field_types=None,
    matching="email",
    field_name=None,
    allow_functions=True,
    allow_keep_value=False,
)


def numbered_rows(count: int) -> list[tuple[int, dict]]:
    rows = [(i + 1, {"email": f"u{i}@example.com", "phone": f"+7900{i:07d}"}) for i in range(count)]
    rows[4][1]["email"] = "not-an-email"
    rows[11][1]["phone"] = "+7"
    return rows


def test_processes_give_the_same_checks_in_file_order(monkeypatch):
    monkeypatch.setattr(row_checks, "BLOCK", 2)  # 10 blocks, more than are ever in flight
    rows = numbered_rows(20)

    alone = list(check_rows(rows, RULES, processes=1))
    spread = list(check_rows(rows, RULES, processes=2))

    assert spread == alone
    assert [checked.number for _, checked in spread] == list(range(1, 21))
    assert [checked.number for _, checked in spread if checked.problems] == [5, 12]
    assert spread[0][1].item == b'{"email":"u0@example.com","phones":["+79000000000"]}'


CHECK_FOREVER = """
import sys, time
from profiles_ui import row_checks
from tests.test_row_checks import RULES

row_checks.BLOCK = 5

def endless():
    number = 0
    while True:
        number += 1
        time.sleep(0.01)
        yield number, {"email": f"u{number}@example.com"}

for _ in row_checks.check_rows(endless(), RULES, processes=2):
    print("checking", flush=True)
"""


def test_check_processes_end_when_the_process_using_them_is_killed():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    user = subprocess.Popen(  # noqa: S603 - this interpreter, with the script above
        [sys.executable, "-c", CHECK_FOREVER], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    try:
        assert user.stdout.readline() == b"checking\n"
        server = children(user.pid)
        workers = [pid for each in server for pid in children(each)]
        assert workers  # the pool starts its processes as blocks arrive
    finally:
        user.send_signal(signal.SIGKILL)
        user.wait()
    wait_for(lambda: not any(running(pid) for pid in server + workers), timeout=10)
