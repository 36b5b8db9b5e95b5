"""What became of a batch's rows: outcomes per row, progress, and the downloadable report."""

import csv
import heapq
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from altcraft.error_codes import describe_error
from altcraft.formats import int_or_none
from profiles_ui.history.exports import neutralise
from profiles_ui.models import Batch, Submission


def row_outcomes(record: Submission, count: int) -> list[tuple[bool, str, Any, str]]:
    """(succeeded, profile_id, error, error_text) per profile of a final chunk record.

    A duplicate answer is the first answer to this chunk: its results are the real outcome.
    """
    results = record.results if isinstance(record.results, list) else None
    if record.answered_success:
        if results is None:
            return [(True, "", 0, "accepted; Altcraft gave no per-profile result")] * count
        outcomes = []
        for i in range(count):
            item = results[i] if i < len(results) else {}
            error = int_or_none(item.get("error"))
            text = str(item.get("error_text") or "")
            if i >= len(results):
                error, text = None, "Altcraft gave no result for this profile"
            outcomes.append((error == 0, str(item.get("profile_id") or ""), error, text))
        return outcomes
    if record.state == Submission.State.TRANSPORT_FAILED:
        why = f"not known whether it arrived: {record.transport_error}"
        return [(False, "", None, why)] * count
    if record.state == Submission.State.OUTCOME_UNKNOWN:
        why = f"HTTP {record.response_status}: Altcraft may have applied it"
        return [(False, "", None, why)] * count
    return [(False, "", record.error, record.error_text or record.get_state_display())] * count


# --- Progress and report -------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    planned: int
    sent: int
    succeeded: int
    failed: int
    chunks: int
    chunks_done: int
    rate: float  # rows per second
    seconds_left: float | None
    # Failed rows whose request got no readable answer: Altcraft may have applied them.
    unanswered: int

    @property
    def percent(self) -> int:
        return int(self.sent * 100 / self.planned) if self.planned else 100


def progress(batch: Batch) -> Progress:
    done = Q(done=True)
    totals = batch.chunks.aggregate(
        # First: once "failed" names the total below, it no longer names the column.
        unanswered=Coalesce(
            Sum("failed", filter=done & Q(submission__state__in=Submission.UNKNOWN_OUTCOME_STATES)),
            0,
        ),
        chunks=Count("pk"),
        chunks_done=Count("pk", filter=done),
        sent=Coalesce(Sum("row_count", filter=done), 0),
        succeeded=Coalesce(Sum("succeeded"), 0),
        failed=Coalesce(Sum("failed"), 0),
    )
    rate, left = 0.0, None
    if batch.started_at and totals["sent"]:
        until = batch.finished_at or timezone.now()
        elapsed = max((until - batch.started_at).total_seconds(), 0.001)
        rate = totals["sent"] / elapsed
        left = (
            (batch.valid_rows - totals["sent"]) / rate if batch.state == Batch.State.RUNNING else 0
        )
    return Progress(planned=batch.valid_rows, rate=rate, seconds_left=left, **totals)


REPORT_HEADER = ["row", "identifier", "result", "profile_id", "error", "error_text", "meaning"]


def report_rows(batch: Batch) -> Iterator[list[Any]]:
    """One line per row of the batch, in file order: sent rows, invalid rows, unsent rows."""
    return heapq.merge(_sent_lines(batch), _invalid_lines(batch), key=lambda line: line[0])


def _sent_lines(batch: Batch) -> Iterator[list[Any]]:
    chunks = batch.chunks.order_by("index").select_related("submission")
    for chunk in chunks.iterator(chunk_size=1):
        if not chunk.done:
            why = "cancelled" if batch.cancel_requested else "not sent yet"
            for number, ident in zip(chunk.rows, chunk.identifiers, strict=True):
                yield [number, ident, "not sent", "", "", why, ""]
            continue
        outcomes = row_outcomes(chunk.submission, chunk.row_count)
        for (ok, profile_id, error, text), number, ident in zip(
            outcomes, chunk.rows, chunk.identifiers, strict=True
        ):
            meaning = "" if ok or error is None else describe_error(error)
            yield [
                number,
                ident,
                "ok" if ok else "failed",
                profile_id,
                _blank(error),
                text,
                meaning,
            ]


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _invalid_lines(batch: Batch) -> Iterator[list[Any]]:
    if not batch.invalid_file or not batch.invalid_rows:
        return
    with open(batch.invalid_file.path, encoding=CSV_ENCODING, newline="") as text:
        header = text.readline()
        # The character after "row" is the file's delimiter; files written before the
        # identifier column have the problems second.
        reader = csv.reader(text, delimiter=header[3:4] or ",")
        with_identifier = INVALID_HEADER[1] in header
        for line in reader:
            identifier, problems = (line[1], line[2]) if with_identifier else ("", line[1])
            yield [int(line[0]), identifier, "invalid", "", "", problems, "not sent: fix the row"]


# The files people download open in a spreadsheet: the BOM tells Excel the text is UTF-8
# (without it Excel reads Cyrillic as Windows-1252), and the upload's own delimiter is the
# one its spreadsheet already split on.
CSV_ENCODING = "utf-8-sig"

INVALID_HEADER = ["row", "identifier", "problems"]


def delimiter_of(batch: Batch) -> str:
    return batch.delimiter if batch.kind == "csv" and batch.delimiter else ","


def csv_lines(rows: Iterable[list[Any]], delimiter: str = ",") -> Iterator[str]:
    """CSV text line by line, for a streaming download: a BOM first, every cell
    formula-safe."""
    yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def why_no_valid_row(batch: Batch) -> str:
    """Why a checked batch has nothing to send, in a sentence; "" when it has."""
    if batch.state != Batch.State.CHECKED or batch.valid_rows:
        return ""
    if not batch.total_rows:
        return "The file has no data rows."
    columns = Counter(
        header for row in batch.invalid_sample for header, _, problems in row["cells"] if problems
    )
    columns.update("the row as a whole" for row in batch.invalid_sample if row["row_problems"])
    where = ", ".join(f"{column} ({n} of them)" for column, n in columns.most_common(5))
    return (
        f"None of the {batch.total_rows:,} rows is valid. In the first invalid rows the "
        f"problems are in: {where}. Fix the file, or the mapping and its formats."
        if where
        else f"None of the {batch.total_rows:,} rows is valid."
    )
