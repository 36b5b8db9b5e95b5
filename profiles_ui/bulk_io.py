"""Reading uploaded lists as a stream: CSV (any common delimiter) or JSON Lines.

Nothing here holds a whole file: `sniff` reads a sample, `read_rows` yields one row at a time,
so a million-row file costs the memory of one row. Rows become profile dicts in `map_row`,
which also remembers which column each profile key came from, so validation problems can be
shown on the column the operator knows.
"""

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from altcraft.channels import CHANNELS
from altcraft.fields import SYSTEM_FIELDS

SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
# Raised from csv's default of 128 KB: an object or tags column may legitimately be long.
csv.field_size_limit(10 * 1024 * 1024)

# Channels whose subscription is identified by one value, so one column can carry it. Push
# needs two (provider and subscription ID) and is left to the builder.
SUBSCRIPTION_CHANNELS = tuple(c for c in CHANNELS if len(CHANNELS[c].identifier_keys) == 1)

# Common header spellings -> profile fields (after lower-casing and turning spaces into _).
HEADER_ALIASES = {
    "e_mail": "email",
    "mail": "email",
    "email_address": "email",
    "phone": "phones",
    "phone_number": "phones",
    "mobile": "phones",
    "tel": "phones",
    "first_name": "_fname",
    "firstname": "_fname",
    "name": "_fname",
    "given_name": "_fname",
    "last_name": "_lname",
    "lastname": "_lname",
    "surname": "_lname",
    "family_name": "_lname",
    "middle_name": "_mname",
    "birthday": "_bdate",
    "birth_date": "_bdate",
    "date_of_birth": "_bdate",
    "dob": "_bdate",
    "gender": "_sex",
    "sex": "_sex",
    "zip": "_postal_code",
    "postcode": "_postal_code",
    "timezone": "_tz",
    "time_zone": "_tz",
}
_SUB_HEADER = re.compile(
    rf"^({'|'.join(SUBSCRIPTION_CHANNELS)})[ _@-]?(?:sub(?:scription)?)?[ _@-]?(\d+)$"
)


class UnreadableFile(ValueError):
    """The upload is neither CSV nor JSON Lines we can read; the message says why."""


@dataclass(frozen=True)
class FileInfo:
    kind: str  # csv or jsonl
    encoding: str  # a Python codec name: utf-8, utf-8-sig or cp1251
    delimiter: str
    headers: list[str]


def _encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # Incremental, so a character cut in half at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def sniff(path: Path) -> FileInfo:
    """Kind, encoding, delimiter and column names, from the first part of the file."""
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    if not sample.strip():
        raise UnreadableFile("the file is empty")
    encoding = _encoding(sample)
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=False)
    if text.lstrip().startswith("{"):
        return FileInfo("jsonl", encoding, "", _jsonl_headers(text))
    lines = text.splitlines()
    # The last line of the sample may be cut; leave it out of the sniffing.
    head = "\n".join(lines[:50] if len(lines) < 50 else lines[:-1][:50])
    try:
        delimiter = csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = lines[0]
        delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
    headers = next(csv.reader([lines[0]], delimiter=delimiter))
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise UnreadableFile("the first row has no column names")
    if len(set(headers)) != len(headers):
        seen = sorted({h for h in headers if headers.count(h) > 1})
        raise UnreadableFile(f"column names appear twice: {', '.join(seen)}")
    return FileInfo("csv", encoding, delimiter, headers)


def _jsonl_headers(text: str) -> list[str]:
    headers: dict[str, None] = {}
    for line in text.splitlines()[:200]:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            headers.update(dict.fromkeys(row))
    if not headers:
        raise UnreadableFile("the first lines are not JSON objects")
    return list(headers)


def read_rows(path: Path, info: FileInfo) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) for every data row; row 1 is the first after the header.

    A bad byte in a file sniffed as UTF-8 becomes U+FFFD rather than stopping a long import
    half-way; validation then shows it on its cell.
    """
    return parse_records(read_records(path, info), info)


def read_records(path: Path, info: FileInfo) -> Iterator[tuple[int, str]]:
    """(row number, the row's text as the file has it) for every data row: the rows of
    read_rows, not yet parsed, so that parsing can be spread over processes.

    Telling where a CSV row ends is cheap unless it has a quote: a quoted cell may hold line
    breaks, so such a row is measured by the csv module itself.
    """
    with open(path, encoding=info.encoding, errors="replace", newline="") as text:
        if info.kind == "jsonl":
            number = 0
            for line in text:
                if line.strip():
                    number += 1
                    yield number, line
            return
        lines = iter(text)
        if (header := next(lines, None)) is not None:
            _whole_record(header, lines, info.delimiter)
        number = 0
        for line in lines:
            if '"' in line:
                line = _whole_record(line, lines, info.delimiter)
            elif line in _BLANK_LINES:
                continue  # blank lines are not rows
            number += 1
            yield number, line


_BLANK_LINES = frozenset({"\n", "\r\n", "\r"})


def _whole_record(first: str, lines: Iterator[str], delimiter: str) -> str:
    """The text of the CSV row that begins with line `first`, with the lines after it that
    csv reads as part of it (taken from `lines`)."""
    taken = [first]

    def feed() -> Iterator[str]:
        yield first
        for line in lines:
            taken.append(line)
            yield line

    # csv asks for the next line only while the row is open: it stops at the row's end.
    next(csv.reader(feed(), delimiter=delimiter), None)
    return "".join(taken)


def parse_records(
    records: Iterable[tuple[int, str]], info: FileInfo
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) for each record of read_records."""
    if info.kind == "jsonl":
        for number, line in records:
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            yield number, row if isinstance(row, dict) else {NOT_AN_OBJECT: line.strip()[:200]}
        return
    headers = info.headers
    width = len(headers)
    numbers: list[int] = []

    def texts() -> Iterator[str]:
        for number, text in records:
            numbers.append(number)
            yield text

    # Each record is one whole row, so csv reads exactly one text for each row it gives.
    for cells in csv.reader(texts(), delimiter=info.delimiter):
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        yield numbers.pop(), dict(zip(headers, cells, strict=False))


# The key of the row a JSON Lines line that is not an object becomes, and of its profile.
NOT_AN_OBJECT = "\x00not-an-object"


def count_rows(path: Path, info: FileInfo) -> int:
    return sum(1 for _ in read_rows(path, info))


# --- Mapping -------------------------------------------------------------------------------


def _normal(header: str) -> str:
    return re.sub(r"[\s\-.]+", "_", header.strip().lower())


def auto_field(header: str, custom_fields: dict[str, str]) -> str:
    """The profile field a column most likely holds: "email", "_fname", "custom:loyalty", ""."""
    name = _normal(header)
    if name in SYSTEM_FIELDS:
        return name
    if f"_{name}" in SYSTEM_FIELDS:
        return f"_{name}"
    if name in HEADER_ALIASES:
        return HEADER_ALIASES[name]
    for custom in custom_fields:
        if name == custom.lower():
            return f"custom:{custom}"
    return ""


def auto_subscription(header: str, resource_ids: set[int]) -> str:
    """A column named like "email_sub_2" or "sms@3": that channel's subscription on resource."""
    match = _SUB_HEADER.match(_normal(header))
    if match and int(match.group(2)) in resource_ids:
        return f"{match.group(1)}:{match.group(2)}"
    return ""


@dataclass
class Column:
    header: str
    field: str = ""  # "", a system field name, or "custom:<name>"
    subscribe: str = ""  # "", or "<channel>:<resource_id>"


@dataclass
class Mapper:
    """Turns rows into profiles for one batch's mapping and options.

    What each column becomes is worked out once; a million rows then only look up their cells.
    """

    columns: list[Column]
    custom_types: dict[str, str]
    empty_clears: bool = False
    allow_functions: bool = True
    identifier_key: str = "email"
    # (header, profile key, converter of a stripped text cell) per field column.
    _fields: list[tuple[str, str, Any]] = field(init=False)
    # (header, channel, resource ID, push provider) per subscription column.
    _subs: list[tuple[str, str, int, str]] = field(init=False)
    _sub_paths: list[str] = field(init=False)  # "subscriptions[0]"...: origin keys, made once

    def __post_init__(self) -> None:
        self._fields = []
        for column in self.columns:
            if column.field:
                key = column.field.removeprefix("custom:")
                self._fields.append((column.header, key, self._converter(column.field, key)))
        self._subs = []
        for column in self.columns:
            if column.subscribe:
                channel, resource, provider = parse_subscribe(column.subscribe)
                self._subs.append((column.header, channel, resource, provider))
        self._sub_paths = [f"subscriptions[{i}]" for i in range(len(self._subs))]

    def map(self, row: dict[str, Any]) -> tuple[dict, dict[str, str]]:
        """(profile, {profile path root: column}) for one row."""
        if NOT_AN_OBJECT in row:
            return {NOT_AN_OBJECT: True}, {}
        profile: dict[str, Any] = {}
        origin: dict[str, str] = {}
        clears = self.empty_clears and self.allow_functions
        for header, key, convert in self._fields:
            value = row.get(header)
            if type(value) is str:
                value = value.strip()
                if value:
                    profile[key] = convert(value)
                    origin[key] = header
                    continue
            elif value is not None:
                profile[key] = value  # JSON Lines already carries types
                origin[key] = header
                continue
            if clears and key != "email":
                profile[key] = {"action": "unset"}
                origin[key] = header
        subscriptions = []
        for header, channel, resource_id, provider in self._subs:
            value = row.get(header)
            if type(value) is str:
                value = value.strip()
            if value is None or value == "":
                continue
            origin[self._sub_paths[len(subscriptions)]] = header
            subscriptions.append(_subscription(channel, resource_id, value, provider))
        if subscriptions:
            profile["subscriptions"] = subscriptions
        return profile, origin

    def _converter(self, target: str, key: str) -> Any:
        if target == "phones":
            return _phones
        if target == "_status":
            return _status
        if target.startswith("custom:"):
            field_type = self.custom_types.get(key)
            return partial(_typed, field_type=field_type)  # picklable, unlike a lambda
        return str

    def identifier(self, profile: dict) -> str:
        value = profile.get(self.identifier_key)
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, dict):
            value = ""
        return str(value or "")[:254]


def _phones(value: str) -> list[str]:
    if "," not in value and ";" not in value:
        return [value]  # stripped already
    return [p.strip() for p in _PHONE_SEPARATORS.split(value) if p.strip()]


def _status(value: str) -> int | str:
    return int(value) if value.isdigit() else value


_PHONE_SEPARATORS = re.compile(r"[,;]")


def _typed(value: str, field_type: str | None) -> Any:
    """A CSV cell as its field's type; a cell that does not convert stays text for validation
    to name."""
    try:
        if field_type == "int":
            return int(value)
        if field_type == "float":
            return float(value.replace(",", "."))
        if field_type in ("object", "arr_object"):
            return json.loads(value)
    except ValueError:
        return value
    if field_type == "bool":
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            value.lower(), value
        )
    if field_type == "tags":
        return [t.strip() for t in value.split(",") if t.strip()]
    return value


def parse_subscribe(subscribe: str) -> tuple[str, int, str]:
    """(channel, resource ID, push provider) of a column's subscription: "<channel>:<resource>",
    or for push, whose cells hold subscription IDs, "push:<resource>:<provider>"."""
    channel, _, rest = subscribe.partition(":")
    resource, _, provider = rest.partition(":")
    return channel, int(resource), provider


def _subscription(channel: str, resource_id: int, text: Any, provider: str = "") -> dict:
    """A batch subscription in the console's canonical shape (contract §13)."""
    if channel == "email":
        return {"resource_id": resource_id, "channel": channel, "email_data": {"email": text}}
    if channel == "sms":
        return {"resource_id": resource_id, "channel": channel, "phone": text}
    if channel == "push":
        return {
            "resource_id": resource_id,
            "channel": channel,
            "provider": provider,
            "subscription_id": text,
        }
    if channel == "telegram_bot":
        telegram_id = int(text) if isinstance(text, str) and text.isdigit() else text
        return {"resource_id": resource_id, "channel": channel, "cc_data": {"id": telegram_id}}
    return {"resource_id": resource_id, "channel": channel, "cc_data": {"phone": text}}


_ROOT = re.compile(r"^\.?(subscriptions\[\d+\]|[^.\[]+)")


def column_of(path: str, origin: dict[str, str]) -> str:
    """The column a validation problem's path points into, or "" for the row as a whole."""
    match = _ROOT.match(path)
    return origin.get(match.group(1), "") if match else ""
