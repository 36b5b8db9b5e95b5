"""Reading uploaded lists as a stream (CSV with any common delimiter, JSON Lines, or a JSON
array of objects), and the files a batch keeps on disk: its upload and the bodies its check
planned.

Nothing here holds a whole file: `sniff` reads a sample, `read_records` yields one row at a
time, so a million-row file costs the memory of one row. A JSON array is read by ijson, an
incremental parser (yajl, in C), one element at a time.
"""

import codecs
import csv
import io
import itertools
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile

from altcraft.codec import PayloadError, _depth, decode_json
from altcraft.formats import DEFAULT_PHONE_REGION, MAX_NESTING
from profiles_ui.connections import Connection
from profiles_ui.models import Batch

CHUNK_FORMAT = "json"
SAMPLE_BYTES = 256 * 1024


DELIMITERS = ",;\t|"
# Raised from csv's default of 128 KB: an object or tags column may legitimately be long.
csv.field_size_limit(10 * 1024 * 1024)


class UnreadableFile(ValueError):
    """The upload is not a CSV, JSON Lines or JSON array we can read; the message says why."""


@dataclass(frozen=True)
class FileInfo:
    kind: str  # csv, jsonl or json (an array of objects)
    encoding: str  # a Python codec name: utf-8, utf-8-sig, utf-16 or cp1251
    delimiter: str
    headers: list[str]


# A row may nest as deep as a field's value may (formats.MAX_NESTING), one more for itself.
MAX_ROW_NESTING = MAX_NESTING + 1


def _encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the BOM and the byte order from it
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
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise UnreadableFile("the file holds no text")
    if text.lstrip().startswith("{"):
        return FileInfo("jsonl", encoding, "", _named(_jsonl_headers(text)))
    if text.lstrip().startswith("["):
        return FileInfo("json", encoding, "", _named(_json_array_headers(path, encoding)))
    lines = text.splitlines()
    # The last line of the sample may be cut; leave it out of the sniffing.
    head = "\n".join(lines[:50] if len(lines) < 50 else lines[:-1][:50])
    try:
        delimiter = csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = lines[0]
        delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
    headers = [h.strip() for h in next(csv.reader([lines[0]], delimiter=delimiter), [])]
    if not any(headers):
        raise UnreadableFile("the first row has no column names")
    if len(set(headers)) != len(headers):
        seen = sorted({h for h in headers if headers.count(h) > 1})
        raise UnreadableFile(f"column names appear twice: {', '.join(seen)}")
    return FileInfo("csv", encoding, delimiter, _named(headers))


def _named(headers: list[str]) -> list[str]:
    for number, header in enumerate(headers, 1):
        if "\x00" in header:
            raise UnreadableFile(f"the header row: the name of column {number} holds a NUL byte")
    return headers


def _jsonl_headers(text: str) -> list[str]:
    headers: dict[str, None] = {}
    why = ""
    for number, line in enumerate(text.splitlines()[:200], 1):
        row = _json_line(line)
        if NOT_AN_OBJECT in row:
            why = why or f"line {number}: {row[NOT_AN_OBJECT]}"
            continue
        headers.update(dict.fromkeys(row))
    if not headers:
        raise UnreadableFile(f"the first lines are not JSON objects ({why})")
    return list(headers)


def _json_line(line: str) -> dict[str, Any]:
    """A JSON Lines line as a row, or a row saying why it is none."""
    try:
        row = decode_json(line, max_depth=MAX_ROW_NESTING)
    except PayloadError as exc:
        return {NOT_AN_OBJECT: f"the line is not a JSON object: {exc}"}
    return row if isinstance(row, dict) else {NOT_AN_OBJECT: "the line is not a JSON object"}


SNIFF_ITEMS = 200  # elements of a JSON array whose keys become its columns


def _json_array_headers(path: Path, encoding: str) -> list[str]:
    headers: dict[str, None] = {}
    try:
        for number, row in _json_items(path, encoding):
            if number > SNIFF_ITEMS:
                break
            if NOT_AN_OBJECT not in row:
                headers.update(dict.fromkeys(row))
    except UnreadableFile:
        if not headers:
            raise
    if not headers:
        raise UnreadableFile("the array holds no JSON objects (profiles)")
    return list(headers)


class _Utf8(io.RawIOBase):
    """A text file read as UTF-8 bytes: ijson reads bytes, and a JSON file may be UTF-16."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.text, self.pending = text, b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.pending) < size:
            piece = self.text.read(65_536)
            if not piece:
                break
            self.pending += piece.encode()
        data, self.pending = (
            (self.pending, b"")
            if size < 0
            else (
                self.pending[:size],
                self.pending[size:],
            )
        )
        return data


def _json_items(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(element number, object) for each element of a JSON array, read incrementally.

    An element nested deeper than a row may be is replaced by a row saying so before it goes
    anywhere else (pickling it to a check process would exhaust the stack).
    """
    number = 0
    with open(path, "rb") as raw:
        if encoding in ("utf-8", "utf-8-sig", "cp1251"):
            if raw.read(3) != codecs.BOM_UTF8:
                raw.seek(0)
            source: Any = raw
        else:
            source = _Utf8(io.TextIOWrapper(raw, encoding=encoding, errors="replace"))
        items = ijson.items(source, "item", use_float=True)
        try:
            for item in items:
                number += 1
                yield number, _json_row(item)
        except ijson.JSONError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "malformed JSON"
            raise UnreadableFile(
                f"the JSON array is malformed after element {number}: {first}"
            ) from None


def _json_row(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {NOT_AN_OBJECT: "the element is not a JSON object"}
    for value in item.values():
        if isinstance(value, (dict, list)) and _depth(value) >= MAX_ROW_NESTING:
            return {NOT_AN_OBJECT: f"the object is nested more than {MAX_ROW_NESTING} levels deep"}
    return item


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
    if info.kind == "json":
        yield from _json_items(path, info.encoding)
        return
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
    if info.kind == "json":
        yield from records  # parsed already, as the array was read
        return
    if info.kind == "jsonl":
        for number, line in records:
            yield number, _json_line(line)
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


# The key of the row a JSON line or element that is not an object becomes, and of its
# profile; its value says why.
NOT_AN_OBJECT = "\x00not-an-object"


def column_samples(path: Path, info: FileInfo, rows: int = 200) -> dict[str, list[Any]]:
    """{column: its non-empty values in the first `rows` rows}: shown on the mapping page,
    and what a column's date format is guessed from."""
    samples: dict[str, list[Any]] = {header: [] for header in info.headers}
    try:
        for _, row in itertools.islice(read_rows(path, info), rows):
            for header, values in samples.items():
                value = row.get(header)
                if value not in (None, ""):
                    values.append(value.strip() if isinstance(value, str) else value)
    except UnreadableFile:
        pass  # the check names the place; the samples are what came before it
    return samples


def count_rows(path: Path, info: FileInfo) -> int:
    return sum(1 for _ in read_rows(path, info))


# --- A batch's files ---------------------------------------------------------------------


def start(upload: UploadedFile, *, user: AbstractBaseUser, connection: Connection) -> Batch:
    """Keep the uploaded file and what it looks like; nothing is read beyond a sample."""
    batch = Batch(
        user=user,
        username=user.get_username(),
        original_name=Path(upload.name or "upload").name[:255],
        connection=connection.name,
        connection_production=connection.production,
        phone_region=getattr(connection, "phone_region", None) or DEFAULT_PHONE_REGION,
    )
    batch.file.save(f"{uuid.uuid4().hex}{Path(batch.original_name).suffix[:10]}", upload, False)
    try:
        info = sniff(Path(batch.file.path))
        batch.kind, batch.encoding, batch.delimiter = info.kind, info.encoding, info.delimiter
        batch.headers = info.headers
        batch.save()
    except BaseException:
        # Whatever stopped the upload, its file is not left behind.
        batch.file.delete(save=False)
        raise
    return batch


def file_info(batch: Batch) -> FileInfo:
    return FileInfo(batch.kind, batch.encoding, batch.delimiter, batch.headers)


def chunk_folder(batch: Batch) -> Path:
    """Where the check leaves each planned chunk's body until that chunk has been sent."""
    return Path(batch.file.path).with_name(f"batch-{batch.pk}-chunks")


def chunk_body_path(batch: Batch, index: int) -> Path:
    return chunk_folder(batch) / f"chunk-{index}.{CHUNK_FORMAT}"


def chunk_identifiers_path(batch: Batch, index: int) -> Path:
    """The chunk's identifiers as its check found them, for the history: [[row, kind, value]]."""
    return chunk_folder(batch) / f"chunk-{index}.identifiers.json"


def remove_chunk_bodies(batch: Batch) -> None:
    shutil.rmtree(chunk_folder(batch), ignore_errors=True)
