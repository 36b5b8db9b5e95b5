"""Checking bulk rows in worker processes: the same answers, in file order, none left behind."""

import dataclasses
import os
import signal
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles_ui import row_checks
from profiles_ui.altcraft.profile_validation import plainly_valid_profile
from profiles_ui.bulk_io import Column, FileInfo, Mapper
from profiles_ui.row_checks import Rules, check_blocks
from tests.processes import ROOT, children, running, wait_for

RULES = Rules(
    file=FileInfo("csv", "utf-8", ",", ["email", "phone"]),
    mapper=Mapper([Column("email", "email"), Column("phone", "phones")], {}),
    fmt="json",
    custom_field_types=None,
    matching="email",
    field_name=None,
    allow_functions=True,
    allow_keep_value=False,
)


def numbered_records(count: int) -> list[tuple[int, str]]:
    """Rows as read_records gives them: numbered, and as their text in the file."""
    records = [(i + 1, f"u{i}@example.com,+7900{i:07d}\r\n") for i in range(count)]
    records[4] = (5, "not-an-email,+79000000004\r\n")
    records[11] = (12, '"u11@example.com","+7"\r\n')
    return records


def test_processes_give_the_same_checks_in_file_order(monkeypatch):
    monkeypatch.setattr(row_checks, "BLOCK", 2)  # 10 blocks, more than are ever in flight
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
    invalid = [(number, row) for block in spread for number, _, row in block.invalid]
    assert invalid == [
        (5, {"email": "not-an-email", "phone": "+79000000004"}),
        (12, {"email": "u11@example.com", "phone": "+7"}),
    ]
    assert list(spread[2].invalid[0][1]) == ["email"]
    assert list(spread[5].invalid[0][1]) == ["phone"]


def test_rows_are_encoded_as_json_writes_them_with_or_without_float_columns():
    header = ["email", "score", "prefs", "visits"]
    csv_file = FileInfo("csv", "utf-8", ",", header)
    fields = [Column("email", "email"), Column("score", "custom:score")]
    fields += [Column("prefs", "custom:prefs"), Column("visits", "custom:visits")]
    record = [(1, 'a@example.com,0.00001,"{""k"": 1e-7}",3\r\n')]

    def rules(custom_types: dict[str, str], file: FileInfo = csv_file) -> Rules:
        return dataclasses.replace(RULES, file=file, mapper=Mapper(fields, custom_types))

    plain = rules({"score": "string", "prefs": "string", "visits": "int"})
    floats = rules({"score": "float", "prefs": "object", "visits": "int"})
    objects = rules({"score": "string", "prefs": "arr_object", "visits": "int"})
    lines = rules({}, FileInfo("jsonl", "utf-8", "", header))

    assert [r.floats() for r in (plain, floats, objects, lines)] == [False, True, True, True]
    [checked] = check_blocks(record, plain)
    assert checked.items == [
        b'{"email":"a@example.com","score":"0.00001","prefs":"{\\"k\\": 1e-7}","visits":3}'
    ]
    [checked] = check_blocks(record, floats, processes=1)
    assert checked.items == [
        b'{"email":"a@example.com","score":1e-05,"prefs":{"k":1e-07},"visits":3}'
    ]
    line = [(1, '{"email": "a@example.com", "score": 0.00001}\n')]
    [checked] = check_blocks(line, lines)
    assert checked.items == [b'{"email":"a@example.com","score":1e-05}']


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
        yield number, f"u{number}@example.com,\\n"

for _ in row_checks.check_blocks(endless(), RULES, processes=2):
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


# Columns of every kind a plain row can have, and cells good, bad, empty and padded.
PLAIN_COLUMNS = [
    Column("email", "email"), Column("phone", "phones"), Column("first", "_fname"),
    Column("born", "_bdate"), Column("status", "_status"), Column("tz", "_tz"),
    Column("visits", "custom:visits"), Column("score", "custom:score"),
    Column("vip", "custom:vip"), Column("labels", "custom:labels"),
    Column("since", "custom:since"), Column("email", subscribe="email:1"),
    Column("mail", subscribe="email:2"), Column("sms", subscribe="sms:2"),
    Column("tg", subscribe="telegram_bot:3"), Column("wa", subscribe="whatsapp:4"),
    Column("viber", subscribe="viber:5"), Column("notify", subscribe="notify:6"),
    Column("prefs", "custom:prefs"),
]  # fmt: skip
PLAIN_TYPES = {
    "visits": "int", "score": "float", "vip": "bool", "labels": "tags", "since": "date",
    "prefs": "object",
}  # fmt: skip
# {column: (cells validation accepts, cells it refuses)}; an empty cell is left out.
PHONES = (["+79160000001", " +447400123456", ""], ["+7", "8916", "+1 202"])
CELLS = {
    "email": (["a@example.com", " b@example.org ", ""], ["not-an-email", "a@@b.c", "a@b"]),
    "phone": PHONES,
    "first": (["Olly", "Ольга", "  "], ["x\x01y"]),
    "born": (["1990-02-22", ""], ["1990-02-30", "yesterday"]),
    "status": (["0", "1", ""], ["7", "x"]),
    "tz": (["Europe/Moscow", ""], ["Mars/Base"]),
    "visits": (["3", "-1", ""], ["3.5", "many"]),
    "score": (["1.5", "1,5", ""], ["nan", "inf", "x"]),
    "vip": (["true", "no", ""], ["maybe"]),
    "labels": (["a,b", "a", " , "], []),
    "since": (["2024-01-01", ""], ["2024-13-01"]),
    "mail": (["c@example.com", ""], ["c@", "@c.com"]),
    "sms": PHONES,
    "tg": (["123", ""], ["abc", "-5", "0"]),
    "wa": PHONES,
    "viber": PHONES,
    "notify": PHONES,
    # an object field: an object is left to the whole validation, so refused or not alike
    "prefs": (['{"a": 1}', '{"action": "unset"}', ""], ["[1]", "{oops"]),
}


@pytest.mark.parametrize("allow_functions", [True, False])  # import_batch, add_batch
@pytest.mark.parametrize("matching", ["email", "phone", "email_or_phone", None])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_plain_check_passes_a_row_exactly_when_the_whole_validation_does(
    matching, allow_functions, data
):
    mapper = Mapper(PLAIN_COLUMNS, PLAIN_TYPES, allow_functions=allow_functions)
    headers = list(CELLS)
    rules = dataclasses.replace(
        RULES,
        file=FileInfo("csv", "utf-8", ",", headers),
        mapper=mapper,
        custom_field_types=PLAIN_TYPES,
        matching=matching,
        allow_functions=allow_functions,
    )
    checks = rules.plain_checks()
    assert checks is not None
    # A few refused cells at most: a row with many has its first one found by any check.
    spoiled = data.draw(st.sets(st.sampled_from([h for h in headers if CELLS[h][1]]), max_size=2))
    row = {
        header: data.draw(st.sampled_from(CELLS[header][header in spoiled]), label=header)
        for header in headers
    }
    profile, origin = mapper.map(row)

    plain = plainly_valid_profile(profile, *checks, matching, None)
    full_problems = row_checks.problems_of(rules, profile, origin)

    if any(isinstance(value, dict) for value in profile.values()):
        assert not plain  # an object (maybe a functional update) is the whole validation's
    else:
        assert plain == (not full_problems)


@pytest.mark.parametrize(
    "columns, types, kind",
    [
        ([Column("id", "profile_id")], {}, "csv"),  # checked with the matching mode
        ([Column("x", "_unknown")], {}, "csv"),
        ([Column("x", "custom:nope")], {"other": "int"}, "csv"),
        ([Column("x", subscribe="push:1:fcm")], {}, "csv"),  # four keys
        ([Column("email", "email")], {}, "jsonl"),  # values of any type
    ],
)
def test_rows_that_need_the_whole_validation_never_take_the_plain_path(columns, types, kind):
    rules = dataclasses.replace(
        RULES,
        file=FileInfo(kind, "utf-8", ",", [c.header for c in columns]),
        mapper=Mapper(columns, types),
        custom_field_types=types,
    )

    assert rules.plain_checks() is None
