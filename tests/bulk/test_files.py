"""Reading uploaded lists: delimiters, encodings, JSON Lines, and rows mapped to profiles."""

import csv
import tempfile
from itertools import batched
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles_ui.bulk.files import (
    FileInfo,
    UnreadableFile,
    parse_records,
    read_records,
    read_rows,
    sniff,
)
from profiles_ui.bulk.mapping import Column, Mapper, auto_field, auto_subscription, column_of


def write(tmp_path, content: bytes, name: str = "list.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    path = write(tmp_path, f"email{delimiter}name\na@example.com{delimiter}Ann\n".encode())
    info = sniff(path)
    assert (info.delimiter, info.headers) == (delimiter, ["email", "name"])


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    path = write(tmp_path, "\ufeffemail,имя\na@example.com,Анна\n".encode())
    info = sniff(path)
    assert info.headers == ["email", "имя"]
    assert list(read_rows(path, info)) == [(1, {"email": "a@example.com", "имя": "Анна"})]


def test_windows_1251_is_read_when_the_file_is_not_utf8(tmp_path):
    path = write(tmp_path, "email;имя\na@example.com;Ольга\n".encode("cp1251"))
    info = sniff(path)
    assert info.encoding == "cp1251"
    assert next(read_rows(path, info))[1]["имя"] == "Ольга"


def test_json_lines_keep_their_types(tmp_path):
    path = write(tmp_path, b'{"email": "a@example.com", "loyalty": 3}\n\n{"email": "b@x.io"}\n')
    info = sniff(path)
    assert info.kind == "jsonl"
    assert list(read_rows(path, info)) == [
        (1, {"email": "a@example.com", "loyalty": 3}),
        (2, {"email": "b@x.io"}),
    ]


def test_quoted_cells_may_hold_delimiters_and_newlines(tmp_path):
    path = write(tmp_path, b'email,note\na@example.com,"one, two\nthree"\nb@example.com,x\n')
    rows = list(read_rows(path, sniff(path)))
    assert [n for n, _ in rows] == [1, 2]
    assert rows[0][1]["note"] == "one, two\nthree"


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(UnreadableFile, match="empty"):
        sniff(write(tmp_path, b"  \n"))


def test_headers_are_mapped_to_profile_and_custom_fields():
    custom = {"loyalty_level": "int"}
    assert [
        auto_field(h, custom)
        for h in ("E-mail", "Phone", "First Name", "fname", "Loyalty_Level", "x")
    ] == [
        "email",
        "phones",
        "_fname",
        "_fname",
        "custom:loyalty_level",
        "",
    ]


def test_subscription_columns_name_channel_and_resource():
    assert auto_subscription("email_sub_2", {1, 2}) == "email:2"
    assert auto_subscription("sms@3", {3}) == "sms:3"
    assert auto_subscription("email_sub_9", {1, 2}) == ""


def mapper(**kwargs) -> Mapper:
    columns = [
        Column("mail", "email", "email:2"),
        Column("tel", "phones", "sms:3"),
        Column("level", "custom:loyalty_level"),
        Column("first", "_fname"),
    ]
    return Mapper(columns=columns, custom_types={"loyalty_level": "int"}, **kwargs)


def test_a_row_becomes_a_profile_with_typed_fields_and_subscriptions():
    profile, origin, _ = mapper().map(
        {"mail": "a@example.com", "tel": "+79000000001", "level": "3", "first": "Ann"}
    )
    assert profile == {
        "email": "a@example.com",
        "phones": ["+79000000001"],
        "loyalty_level": 3,
        "_fname": "Ann",
        "subscriptions": [
            {"resource_id": 2, "channel": "email", "email_data": {"email": "a@example.com"}},
            {"resource_id": 3, "channel": "sms", "phone": "+79000000001"},
        ],
    }
    assert column_of("subscriptions[1].phone", origin) == "tel"
    assert column_of("loyalty_level", origin) == "level"


def test_empty_cells_are_left_alone_by_default():
    profile, _, _ = mapper().map({"mail": "a@example.com", "tel": "", "level": "", "first": " "})
    assert profile == {
        "email": "a@example.com",
        "subscriptions": [
            {"resource_id": 2, "channel": "email", "email_data": {"email": "a@example.com"}}
        ],
    }


def test_empty_cells_can_clear_the_field():
    profile, _, _ = mapper(empty_clears=True).map(
        {"mail": "a@example.com", "level": "", "first": ""}
    )
    assert profile["_fname"] == {"action": "unset"}
    assert profile["loyalty_level"] == {"action": "unset"}


def rows_as_csv_reads_the_whole_file(path, info) -> list:
    """What read_rows must give: csv over the whole file, blank lines left out."""
    with open(path, encoding=info.encoding, errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=info.delimiter)
        next(reader, None)
        rows = [cells for cells in reader if cells]
    width = len(info.headers)
    return [
        (number, dict(zip(info.headers, cells + [""] * (width - len(cells)), strict=False)))
        for number, cells in enumerate(rows, 1)
    ]


# Quotes where they open a cell, in the middle of one and doubled, every kind of line break,
# blank lines, and a last line with or without its break.
CSV_PIECES = st.sampled_from(
    ["a", "é", " ", ",", ";", '"', '""', '"x"', "\n", "\r\n", "\r", "\n\n", "\x00", "\t"]
)


@settings(max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CSV_PIECES, max_size=40).map("".join), st.sampled_from([",", ";"]))
def test_rows_are_read_as_csv_reads_the_whole_file(text, delimiter):
    info = FileInfo("csv", "utf-8", delimiter, ["a", "b", "c"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_text("a,b,c\n" + text, encoding="utf-8", newline="")
        expected = rows_as_csv_reads_the_whole_file(path, info)
        assert list(read_rows(path, info)) == expected
        # Parsed in blocks, as the check's processes parse them.
        records = list(read_records(path, info))
        blocks = [parse_records(block, info) for block in batched(records, 3)]
        assert [row for block in blocks for row in block] == expected


def test_a_quoted_row_over_several_lines_is_one_record(tmp_path):
    path = write(tmp_path, b'email,note\r\na@example.com,"one\r\n\r\ntwo"\r\n\r\nb@example.com,x')
    assert list(read_records(path, sniff(path))) == [
        (1, 'a@example.com,"one\r\n\r\ntwo"\r\n'),
        (2, "b@example.com,x"),
    ]
