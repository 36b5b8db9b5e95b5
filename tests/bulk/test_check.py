"""Checking bulk rows in worker processes: the same answers, in file order, none left behind."""

import dataclasses
import os
import signal
import subprocess
import sys

from profiles_ui.bulk import check
from profiles_ui.bulk.check import Rules, check_blocks
from profiles_ui.bulk.files import FileInfo
from profiles_ui.bulk.mapping import Column, Mapper
from tests.helpers import ROOT, children, running, wait_for

RULES = Rules(
    file=FileInfo("csv", "utf-8", ",", ["email", "phone"]),
    mapper=Mapper([Column("email", "email"), Column("phone", "phones")], {}),
    fmt="json",
    custom_field_types=None,
    matching="email",
    field_name=None,
    allow_functions=True,
    allow_keep_value=False,
    phone_region="RU",
)


def numbered_records(count: int) -> list[tuple[int, str]]:
    """Rows as read_records gives them: numbered, and as their text in the file."""
    records = [(i + 1, f"u{i}@example.com,+7900{i:07d}\r\n") for i in range(count)]
    records[4] = (5, "not-an-email,+79000000004\r\n")
    records[11] = (12, '"u11@example.com","+7"\r\n')
    return records


def test_processes_give_the_same_checks_in_file_order(monkeypatch):
    monkeypatch.setattr(check, "BLOCK", 2)  # 10 blocks, more than are ever in flight
    records = numbered_records(20)

    alone = list(check_blocks(records, RULES, processes=1))
    spread = list(check_blocks(records, RULES, processes=2))

    assert spread == alone
    assert [block.rows for block in spread] == [2] * 10
    valid = [number for block in spread for number in block.numbers]
    assert valid == [number for number in range(1, 21) if number not in (5, 12)]
    assert len([i for block in spread for i in block.identifiers]) == len(valid)
    assert spread[0].identifiers[0] == "u0@example.com"
    assert spread[0].items[0] == b'{"email":"u0@example.com","phones":["+79000000000"]}'
    # Invalid rows come back parsed, to be shown, with each problem on its column.
    invalid = [(number, row) for block in spread for number, _, row, _ in block.invalid]
    assert invalid == [
        (5, {"email": "not-an-email", "phone": "+79000000004"}),
        (12, {"email": "u11@example.com", "phone": "+7"}),
    ]
    assert list(spread[2].invalid[0][1]) == ["email"]
    assert list(spread[5].invalid[0][1]) == ["phone"]


def test_rows_are_encoded_with_their_columns_types():
    header = ["email", "score", "prefs", "visits"]
    fields = [Column("email", "email"), Column("score", "custom:score")]
    fields += [Column("prefs", "custom:prefs"), Column("visits", "custom:visits")]
    types = {"score": "float", "prefs": "object", "visits": "int"}
    rules = dataclasses.replace(
        RULES, file=FileInfo("csv", "utf-8", ",", header), mapper=Mapper(fields, types)
    )
    record = [(1, 'a@example.com,"0,5","{""k"": 1e-7}",3\r\n')]

    [checked] = check_blocks(record, rules)

    assert checked.items == [b'{"email":"a@example.com","score":0.5,"prefs":{"k":1e-7},"visits":3}']


CHECK_FOREVER = """
import sys, time
import django
django.setup()
from profiles_ui.bulk import check
from tests.bulk.test_check import RULES

check.BLOCK = 5

def endless():
    number = 0
    while True:
        number += 1
        time.sleep(0.01)
        yield number, f"u{number}@example.com,\\n"

for _ in check.check_blocks(endless(), RULES, processes=2):
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
