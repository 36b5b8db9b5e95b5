"""Reading uploaded lists as a stream (CSV with any common delimiter, or JSON Lines), and
the files a batch keeps on disk: its upload and the bodies its check planned.

Nothing here holds a whole file: `sniff` reads a sample, `read_records` yields one row's text
at a time, so a million-row file costs the memory of one row.
"""

import codecs
import csv
import json
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile

from profiles_ui.connections import Connection
from profiles_ui.models import Batch

CHUNK_FORMAT = "json"
SAMPLE_BYTES = 256 * 1024


DELIMITERS = ",;\t|"
# Raised from csv's default of 128 KB: an object or tags column may legitimately be long.
csv.field_size_limit(10 * 1024 * 1024)


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


# --- A batch's files ---------------------------------------------------------------------


def start(upload: UploadedFile, *, user: AbstractBaseUser, connection: Connection) -> Batch:
    """Keep the uploaded file and what it looks like; nothing is read beyond a sample."""
    batch = Batch(
        user=user,
        username=user.get_username(),
        original_name=Path(upload.name or "upload").name[:255],
        connection=connection.name,
        connection_production=connection.production,
    )
    batch.file.save(f"{uuid.uuid4().hex}{Path(batch.original_name).suffix[:10]}", upload, False)
    try:
        info = sniff(Path(batch.file.path))
    except UnreadableFile:
        batch.file.delete(save=False)
        raise
    batch.kind, batch.encoding, batch.delimiter = info.kind, info.encoding, info.delimiter
    batch.headers = info.headers
    batch.save()
    return batch


def file_info(batch: Batch) -> FileInfo:
    return FileInfo(batch.kind, batch.encoding, batch.delimiter, batch.headers)


def chunk_folder(batch: Batch) -> Path:
    """Where the check leaves each planned chunk's body until that chunk has been sent."""
    return Path(batch.file.path).with_name(f"batch-{batch.pk}-chunks")


def chunk_body_path(batch: Batch, index: int) -> Path:
    return chunk_folder(batch) / f"chunk-{index}.{CHUNK_FORMAT}"


def remove_chunk_bodies(batch: Batch) -> None:
    shutil.rmtree(chunk_folder(batch), ignore_errors=True)
