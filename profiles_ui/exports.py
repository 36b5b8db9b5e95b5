"""Streamed CSV and JSON Lines exports of the history, in constant memory.

Rows come from `.values().iterator()` (a server-side cursor on PostgreSQL) and leave as soon as a
chunk is written, so an export of millions of records never holds more than one chunk.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from profiles_ui.altcraft.client import TOKEN_PLACEHOLDER
from profiles_ui.connections import all_connections
from profiles_ui.models import Submission

CHUNK_SIZE = 2_000
FIELDS = (
    "id",
    "created_at",
    "finished_at",
    "username",
    "role",
    "connection",
    "connection_production",
    "operation",
    "url",
    "format",
    "request_id",
    "state",
    "matching",
    "email",
    "phone",
    "profile_id",
    "db_id",
    "workflow_id",
    "profile_count",
    "response_status",
    "error",
    "error_text",
    "transport_error",
    "duration_ms",
    "attempts",
    "parent_id",
    "reason",
    "purged_at",
    "request_body",
    "response_body",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def configured_tokens() -> tuple[str, ...]:
    """Every token the connections would send, read now from the environment."""
    return tuple(token for c in all_connections().values() if len(token := c.token()) >= 4)


def redact(text: str, tokens: tuple[str, ...]) -> str:
    """Bodies are stored with the placeholder already; this guards against an answer that
    echoes the token back, so no page or export can ever show one."""
    for token in tokens:
        if token in text:
            text = text.replace(token, TOKEN_PLACEHOLDER)
    return text


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate is prefixed with ' so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write() hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def rows(records: QuerySet[Submission], tokens: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for row in records.values(*FIELDS).iterator(chunk_size=CHUNK_SIZE):
        for body in ("request_body", "response_body"):
            row[body] = redact(row[body], tokens)
        yield row


def csv_chunks(records: QuerySet[Submission], tokens: tuple[str, ...]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(FIELDS)
    batch: list[str] = []
    for row in rows(records, tokens):
        batch.append(writer.writerow([_cell(row[name]) for name in FIELDS]))
        if len(batch) == CHUNK_SIZE:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return neutralise(value)


def jsonl_chunks(records: QuerySet[Submission], tokens: tuple[str, ...]) -> Iterator[str]:
    # JSON Lines is read by programs, not spreadsheets: values are exported unchanged.
    batch: list[str] = []
    for row in rows(records, tokens):
        batch.append(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        if len(batch) == CHUNK_SIZE:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
WRITERS = {"csv": csv_chunks, "jsonl": jsonl_chunks}


def export_response(records: QuerySet[Submission], fmt: str) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    chunks: Iterable[str] = WRITERS[fmt](records.order_by("-id"), configured_tokens())
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="history-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
