"""Bulk imports: checking a list, planning its chunks, sending them, resuming, reporting.

The life of a batch: `start` saves and sniffs the upload (draft); `check` reads every row once,
maps and validates it, writes the invalid rows to a file and plans the chunks of valid rows,
each with its Request-ID (checked); `send` (the background task) rebuilds each unsent chunk
from the same rows, records it and delivers it over a few parallel streams.

Crash safety rests on three facts: chunks are planned and stored before anything is sent; a
chunk's body is rebuilt byte for byte from the file (its SHA-256 is checked); a chunk's record
is written before its request leaves and carries the chunk's Request-ID, so re-delivering it
gets Altcraft's first answer and applies nothing twice. Outcomes are counted from each chunk's
record, once, when the chunk is settled.
"""

import csv
import hashlib
import heapq
import io
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import close_old_connections, transaction
from django.db import connection as db_connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from profiles_ui import services
from profiles_ui.altcraft.batching import ProfileTooLarge, split_into_chunks
from profiles_ui.altcraft.client import TOKEN_PLACEHOLDER
from profiles_ui.altcraft.errors import describe_error
from profiles_ui.altcraft.matching import MATCHING_MODES
from profiles_ui.altcraft.operations import get_operation
from profiles_ui.altcraft.validation import validate_profile
from profiles_ui.bulk_io import (
    Column,
    FileInfo,
    Mapper,
    UnreadableFile,
    column_of,
    read_rows,
    sniff,
)
from profiles_ui.connections import Connection, get_connection
from profiles_ui.models import Batch, BatchChunk, SavedMapping, Submission

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 20
PROGRESS_EVERY = 5_000  # rows between two saves of a check's progress
CHUNK_FORMAT = "json"
HEARTBEAT_SECONDS = 5
NOT_A_JSON_OBJECT = "the line is not a JSON object"


class BatchError(Exception):
    """A batch cannot go on; the message says why, for the operator."""


# --- Upload --------------------------------------------------------------------------------


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


def columns(batch: Batch) -> list[Column]:
    return [Column(**c) for c in batch.columns]


def identifier_key(batch: Batch) -> str:
    mode = MATCHING_MODES.get(batch.matching)
    if mode is None:
        return "email"
    if mode.batch_value_key:
        return mode.batch_value_key
    if mode.batch_top_level_keys and batch.field_name:
        return batch.field_name
    return "email" if "email" in mode.batch_any_of_keys or not mode.batch_any_of_keys else "phones"


def mapper_for(batch: Batch) -> Mapper:
    operation = get_operation(batch.operation)
    return Mapper(
        columns=columns(batch),
        custom_types=batch.custom_types,
        empty_clears=batch.empty_cells == Batch.EmptyCells.CLEAR,
        allow_functions=operation.allows_functions,
        identifier_key=identifier_key(batch),
    )


def envelope(batch: Batch) -> dict[str, Any]:
    """Every request parameter but the profiles; the same for every chunk of the batch.

    With the token in the body its placeholder goes first, where the client swaps it in.
    """
    operation = get_operation(batch.operation)
    connection = get_connection(batch.connection)
    if connection is None:
        raise BatchError(f"the connection {batch.connection!r} no longer exists")
    params: dict[str, Any] = {}
    if connection.token_placement == "body":  # noqa: S105 - a placement, not a secret
        params["token"] = TOKEN_PLACEHOLDER
    if operation.needs_workflow_id:
        params["workflow_id"] = batch.workflow_id
    else:
        params["db_id"] = batch.db_id
    if operation.takes_matching:
        params["matching"] = batch.matching
        if batch.field_name and MATCHING_MODES[batch.matching].batch_top_level_keys:
            params["field_name"] = batch.field_name
    if batch.skip_triggers:
        params["skip_triggers"] = True
    if batch.skip_invalid_subscriptions:
        params["skip_invalid_subscriptions"] = True
    return params


def apply_options(
    batch: Batch, options: dict[str, Any], custom: list[Any], user: AbstractBaseUser
) -> None:
    """Store the mapping form's choices on a draft batch (and as a saved mapping if named)."""
    mapped = [asdict(column) for column in options["mapped"]]
    batch.columns = mapped
    batch.custom_types = {f.name: f.type for f in custom}
    batch.matching = options.get("matching") or ""
    batch.field_name = options.get("field_name") or ""
    batch.skip_triggers = options["skip_triggers"]
    batch.skip_invalid_subscriptions = options["skip_invalid_subscriptions"]
    batch.empty_cells = options["empty_cells"]
    batch.state = Batch.State.DRAFT
    batch.save()
    if options.get("save_as"):
        SavedMapping.objects.create(
            name=options["save_as"], columns=mapped, created_by=user.get_username()
        )


# --- Check and plan ------------------------------------------------------------------------


@dataclass
class _Plan:
    """Row numbers and identifiers of valid profiles not yet assigned to a chunk."""

    rows: list[int]
    identifiers: list[str]
    offset: int = 0  # position of rows[0] in the stream of valid profiles


def selected_rows(batch: Batch) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's rows this batch is about: all of them, or a retry's failed rows."""
    rows = read_rows(Path(batch.file.path), file_info(batch))
    if batch.parent_id is None:
        yield from rows
        return
    wanted = failed_rows(batch.parent)
    for number, row in rows:
        if number in wanted:
            yield number, row


def queue_check(batch: Batch) -> None:
    """Hand the check to the workers: a million rows take longer than a page should wait."""
    from profiles_ui.tasks import check_batch

    updated = Batch.objects.filter(
        pk=batch.pk, state__in=(Batch.State.DRAFT, Batch.State.CHECKED)
    ).update(
        state=Batch.State.CHECKING,
        checked_rows=0,
        estimated_rows=estimate_rows(batch),
        heartbeat_at=timezone.now(),
        error="",
    )
    if not updated:
        raise BatchError("this batch has already been sent")
    transaction.on_commit(lambda: check_batch.enqueue(batch.pk))


def estimate_rows(batch: Batch) -> int:
    """Lines in the file, less the header: the progress bar's 100% (quoted line breaks and
    blank lines make it a little high)."""
    if batch.parent_id is not None:
        return batch.parent.chunks.aggregate(rows=Coalesce(Sum("failed"), 0))["rows"]
    lines, last = 0, b"\n"
    with batch.file.open("rb") as data:
        while block := data.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    return max(lines - (batch.kind == "csv"), 0)


def run_check(batch_id: int) -> None:
    """The task: check a batch queued for checking; a failure sends it back to its mapping."""
    batch = Batch.objects.filter(pk=batch_id, state=Batch.State.CHECKING).first()
    if batch is None:
        return  # checked already, or the mapping changed since
    try:
        check(batch)
    except BatchError as exc:
        _check_failed(batch_id, str(exc))
    except Exception:
        logger.exception("checking batch %s stopped", batch_id)
        _check_failed(batch_id, "an internal error stopped the check; see the log")
        raise


def _check_failed(batch_id: int, error: str) -> None:
    Batch.objects.filter(pk=batch_id, state=Batch.State.CHECKING).update(
        state=Batch.State.DRAFT, error=error
    )


def check(batch: Batch) -> Batch:
    """Map and validate every row, keep the invalid ones in a file, plan the valid ones.

    Chunks are written one at a time, not in one transaction: on SQLite a long transaction
    would hold the only write lock while a worker is sending another batch. How many rows
    are done is saved every few thousand rows, for the progress bar and as a heartbeat.
    """
    if batch.state not in (Batch.State.DRAFT, Batch.State.CHECKING, Batch.State.CHECKED):
        raise BatchError("this batch has already been sent")
    operation = get_operation(batch.operation)
    mapper = mapper_for(batch)
    types = batch.custom_types or None
    batch.chunks.all().delete()
    invalid_path = Path(batch.file.path).with_name(f"batch-{batch.pk}-invalid.csv")
    plan = _Plan([], [])
    counts = {"total": 0, "invalid": 0}
    sample: list[dict] = []

    def valid_profiles(writer: Any) -> Iterator[dict]:
        for number, row in selected_rows(batch):
            counts["total"] += 1
            if counts["total"] > settings.BULK_MAX_ROWS:
                raise BatchError(f"the file has more than {settings.BULK_MAX_ROWS:,} rows")
            if not counts["total"] % PROGRESS_EVERY:
                Batch.objects.filter(pk=batch.pk).update(
                    checked_rows=counts["total"], heartbeat_at=timezone.now()
                )
            profile, origin = mapper.map(row)
            problems = _problems(batch, operation, profile, origin, types)
            if problems:
                counts["invalid"] += 1
                writer.writerow([number, _problem_text(problems), *_cells(batch, row)])
                if len(sample) < SAMPLE_SIZE:
                    sample.append(_sample_row(batch, number, row, problems))
                continue
            plan.rows.append(number)
            plan.identifiers.append(mapper.identifier(profile))
            yield profile

    with open(invalid_path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "problems", *batch.headers])
        try:
            for index, chunk in enumerate(
                split_into_chunks(
                    valid_profiles(writer), fmt=CHUNK_FORMAT, envelope=envelope(batch)
                )
            ):
                _store_chunk(batch, index, chunk.profiles, chunk.body, chunk.first_index, plan)
        except ProfileTooLarge as exc:
            raise BatchError(f"row {plan.rows[exc.index - plan.offset]}: {exc}") from None
    batch.total_rows = batch.checked_rows = counts["total"]
    batch.invalid_rows = counts["invalid"]
    batch.valid_rows = counts["total"] - counts["invalid"]
    batch.invalid_sample = sample
    batch.invalid_file.name = str(invalid_path.relative_to(settings.MEDIA_ROOT))
    batch.state = Batch.State.CHECKED
    batch.save()
    return batch


def _store_chunk(
    batch: Batch, index: int, profiles: list, body: bytes, first: int, plan: _Plan
) -> None:
    start_at = first - plan.offset
    end_at = start_at + len(profiles)
    rows = plan.rows[start_at:end_at]
    BatchChunk.objects.create(
        batch=batch,
        index=index,
        first_row=rows[0],
        row_count=len(rows),
        request_id=uuid.uuid4(),
        body_sha256=hashlib.sha256(body).hexdigest(),
        rows=rows,
        identifiers=plan.identifiers[start_at:end_at],
    )
    del plan.rows[:end_at], plan.identifiers[:end_at]
    plan.offset += end_at


def _problems(
    batch: Batch, operation: Any, profile: dict, origin: dict[str, str], types: Any
) -> dict[str, list[str]]:
    """{column ("" for the row): [messages]} for one mapped row."""
    if "\x00not-an-object" in profile:
        return {"": [NOT_A_JSON_OBJECT]}
    found = validate_profile(
        profile,
        batch=True,
        custom_field_types=types,
        path_prefix="",
        matching=batch.matching or None,
        field_name=batch.field_name or None,
        allow_functions=operation.allows_functions,
        allow_keep_value=operation.allows_keep_value,
    )
    problems: dict[str, list[str]] = {}
    for problem in found:
        column = column_of(problem.path, origin)
        detail = problem.path.lstrip(".") if not column else _inner_path(problem.path)
        message = f"{detail}: {problem.message}" if detail else problem.message
        problems.setdefault(column, []).append(message)
    return problems


def _inner_path(path: str) -> str:
    # The column already names the field; keep only the part inside a subscription.
    if path.startswith("subscriptions["):
        return path.partition("]")[2].lstrip(".")
    return ""


def _problem_text(problems: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{column or 'row'}: {message}"
        for column, messages in problems.items()
        for message in messages
    )


def _cells(batch: Batch, row: dict[str, Any]) -> list[str]:
    return [_cell_text(row.get(header)) for header in batch.headers]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _sample_row(batch: Batch, number: int, row: dict, problems: dict[str, list[str]]) -> dict:
    return {
        "row": number,
        "cells": [[h, _cell_text(row.get(h))[:120], problems.get(h, [])] for h in batch.headers],
        "row_problems": problems.get("", []),
    }


# --- Sending -------------------------------------------------------------------------------


def queue(batch: Batch) -> None:
    """Hand a checked batch to the workers once the state change is committed."""
    from profiles_ui.tasks import send_batch

    updated = Batch.objects.filter(pk=batch.pk, state=Batch.State.CHECKED).update(
        state=Batch.State.QUEUED
    )
    if not updated:
        raise BatchError("this batch is not waiting to be sent")
    transaction.on_commit(lambda: send_batch.enqueue(batch.pk))


def send(batch_id: int) -> None:
    """The task: claim the batch, send its unsent chunks, settle it. Safe to run twice."""
    now = timezone.now()
    claimed = Batch.objects.filter(pk=batch_id, state=Batch.State.QUEUED).update(
        state=Batch.State.RUNNING, started_at=Coalesce("started_at", now), heartbeat_at=now
    )
    if not claimed:
        return  # finished, cancelled, or another worker has it
    batch = Batch.objects.get(pk=batch_id)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(batch_id, stop), daemon=True)
    beat.start()
    try:
        connection = get_connection(batch.connection)
        if connection is None:
            raise BatchError(f"the connection {batch.connection!r} no longer exists")
        _send_chunks(batch, connection)
    except BatchError as exc:
        _finish(batch_id, Batch.State.FAILED, str(exc))
        return
    except Exception:
        logger.exception("batch %s stopped", batch_id)
        _finish(batch_id, Batch.State.FAILED, "an internal error stopped the batch; see the log")
        raise
    finally:
        stop.set()
        beat.join()
    cancelled = Batch.objects.filter(pk=batch_id, cancel_requested=True).exists()
    pending = BatchChunk.objects.filter(batch_id=batch_id, done=False).exists()
    _finish(batch_id, Batch.State.CANCELLED if cancelled and pending else Batch.State.FINISHED)


def _finish(batch_id: int, state: str, error: str = "") -> None:
    Batch.objects.filter(pk=batch_id, state=Batch.State.RUNNING).update(
        state=state, finished_at=timezone.now(), error=error
    )


def _heartbeat(batch_id: int, stop: threading.Event) -> None:
    try:
        while not stop.wait(HEARTBEAT_SECONDS):
            Batch.objects.filter(pk=batch_id).update(heartbeat_at=timezone.now())
    finally:
        db_connection.close()


def _send_chunks(batch: Batch, connection: Connection) -> None:
    streams = max(1, settings.BULK_STREAMS)
    # One slot per stream, taken before the next body is built.
    slots = threading.BoundedSemaphore(streams)
    with ThreadPoolExecutor(streams, thread_name_prefix=f"batch-{batch.pk}") as pool:
        futures = []
        bodies = _bodies(batch)
        while True:
            # A free stream first, then the next body: at most `streams` bodies in memory.
            slots.acquire()
            # Asked only once a stream is free, so a cancel stops the very next chunk.
            cancelled = Batch.objects.filter(pk=batch.pk, cancel_requested=True).exists()
            item = None if cancelled else next(bodies, None)
            if item is None:
                slots.release()
                break
            future = pool.submit(_deliver_chunk, batch, connection, *item)
            del item  # the worker thread holds the only reference to the body now
            future.add_done_callback(lambda _: slots.release())
            futures.append(future)
        for future in futures:
            future.result()


def _bodies(batch: Batch) -> Iterator[tuple[BatchChunk, bytes]]:
    """Each unsent chunk and its body, rebuilt from the same rows as when it was planned."""
    todo = list(
        batch.chunks.filter(done=False).order_by("index").values_list("pk", "index", flat=False)
    )
    if not todo:
        return
    mapper = mapper_for(batch)
    params = envelope(batch)
    rows = read_rows(Path(batch.file.path), file_info(batch))
    for pk, _index in todo:
        chunk = BatchChunk.objects.get(pk=pk)
        profiles = [mapper.map(row)[0] for row in _take(rows, chunk.rows)]
        bodies = list(split_into_chunks(profiles, fmt=CHUNK_FORMAT, envelope=params))
        body = bodies[0].body if len(bodies) == 1 else b""
        if hashlib.sha256(body).hexdigest() != chunk.body_sha256:
            raise BatchError(
                f"chunk {chunk.index + 1} no longer matches its plan: the file or the "
                "connection's settings changed since the batch was checked"
            )
        chunk.rows = chunk.identifiers = []  # not needed to send; keep memory flat
        del profiles, bodies  # not kept alive while this generator waits for a free stream
        yield chunk, body
        del body


def _take(rows: Iterator[tuple[int, dict]], wanted: list[int]) -> Iterator[dict]:
    """The rows numbered `wanted` (ascending), read on from where the last chunk stopped."""
    for number in wanted:
        for current, row in rows:
            if current == number:
                yield row
                break
        else:
            raise BatchError(f"row {number} is missing from the file")


def _deliver_chunk(batch: Batch, connection: Connection, chunk: BatchChunk, body: bytes) -> None:
    try:
        record = _record_for(batch, connection, chunk, body)
        if record.state == Submission.State.PENDING:
            record = services.deliver(record, connection)
        settle(chunk, record)
    finally:
        close_old_connections()
        db_connection.close()


def _record_for(batch: Batch, connection: Connection, chunk: BatchChunk, body: bytes) -> Submission:
    """The chunk's record: the one a crashed run left, or a new pending one."""
    with transaction.atomic():
        record = Submission.objects.filter(request_id=chunk.request_id).first()
        if record is None:
            total = batch.chunks.count()
            record = services.record_pending(
                user=batch.user,
                connection=connection,
                operation=batch.operation,
                body=body,
                fmt=CHUNK_FORMAT,
                about={
                    "matching": batch.matching,
                    "db_id": batch.db_id,
                    "workflow_id": batch.workflow_id,
                    "profile_count": chunk.row_count,
                },
                reason=f"Bulk batch {batch.pk}, chunk {chunk.index + 1} of {total}",
                request_id=chunk.request_id,
            )
        BatchChunk.objects.filter(pk=chunk.pk).update(submission=record)
    return record


def settle(chunk: BatchChunk, record: Submission) -> None:
    """Count the chunk's outcome from its final record, once (a plain update, not +=)."""
    outcomes = row_outcomes(record, chunk.row_count)
    succeeded = sum(1 for ok, *_ in outcomes if ok)
    BatchChunk.objects.filter(pk=chunk.pk).update(
        submission=record, done=True, succeeded=succeeded, failed=chunk.row_count - succeeded
    )


def row_outcomes(record: Submission, count: int) -> list[tuple[bool, str, Any, str]]:
    """(succeeded, profile_id, error, error_text) per profile of a final chunk record.

    A duplicate answer is the first answer to this chunk: its results are the real outcome.
    """
    results = record.results if isinstance(record.results, list) else None
    if record.state in (Submission.State.SUCCEEDED, Submission.State.DUPLICATE) and (
        record.error == 0
    ):
        if results is None:
            return [(True, "", 0, "accepted; Altcraft gave no per-profile result")] * count
        outcomes = []
        for i in range(count):
            item = results[i] if i < len(results) else {}
            error = _int(item.get("error"))
            text = str(item.get("error_text") or "")
            if i >= len(results):
                error, text = None, "Altcraft gave no result for this profile"
            outcomes.append((error == 0, str(item.get("profile_id") or ""), error, text))
        return outcomes
    if record.state == Submission.State.TRANSPORT_FAILED:
        why = f"not known whether it arrived: {record.transport_error}"
        return [(False, "", None, why)] * count
    return [(False, "", record.error, record.error_text or record.get_state_display())] * count


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Cancel, retry, resume -----------------------------------------------------------------


def cancel(batch: Batch) -> None:
    """Stop after the chunks already sent; a batch not started yet stops at once."""
    Batch.objects.filter(pk=batch.pk, state__in=Batch.ACTIVE_STATES).update(cancel_requested=True)
    Batch.objects.filter(pk=batch.pk, state=Batch.State.QUEUED).update(
        state=Batch.State.CANCELLED, finished_at=timezone.now()
    )


def failed_rows(batch: Batch) -> set[int]:
    """Row numbers Altcraft did not accept: rejected items and rows of failed requests."""
    rows: set[int] = set()
    for chunk in batch.chunks.filter(done=True, failed__gt=0).select_related("submission"):
        for (ok, *_), number in zip(
            row_outcomes(chunk.submission, chunk.row_count), chunk.rows, strict=False
        ):
            if not ok:
                rows.add(number)
    return rows


# What a retry keeps of its parent: the file, where it goes and how rows are read.
COPIED_ON_RETRY = (
    "file", "original_name", "kind", "encoding", "delimiter", "headers", "connection",
    "connection_production", "operation", "db_id", "workflow_id", "workflow_name", "matching",
    "field_name", "skip_triggers", "skip_invalid_subscriptions", "empty_cells", "columns",
    "custom_types",
)  # fmt: skip


def retry(batch: Batch, *, user: AbstractBaseUser) -> Batch:
    """A new batch of this batch's failed rows, same file, mapping and options; checked."""
    if batch.state not in Batch.FINAL_STATES:
        raise BatchError("wait until the batch has finished")
    if not batch.chunks.filter(failed__gt=0).exists():
        raise BatchError("no row of this batch failed")
    fields = {name: getattr(batch, name) for name in COPIED_ON_RETRY}
    retry_batch = Batch.objects.create(
        **fields, parent=batch, user=user, username=user.get_username()
    )
    queue_check(retry_batch)
    return retry_batch


def resume(*, stale_after: int | None = None) -> list[int]:
    """Queue again the batches a dead worker left behind; returns their IDs.

    With `stale_after=None` every running batch is taken as abandoned: right for a worker
    that is starting and is the only one. Queued batches are queued again too, since their
    task may have died with the worker; a second task for one batch finds it claimed and ends.
    A check that stopped is started again from the first row.
    """
    from profiles_ui.tasks import check_batch, send_batch

    checking = Q(state=Batch.State.CHECKING)
    if stale_after is not None:
        checking &= Q(heartbeat_at__lt=timezone.now() - timedelta(seconds=stale_after))
    for batch_id in Batch.objects.filter(checking).values_list("pk", flat=True):
        check_batch.enqueue(batch_id)

    running = Q(state=Batch.State.RUNNING)
    if stale_after is not None:
        running &= Q(heartbeat_at__lt=timezone.now() - timedelta(seconds=stale_after))
    ids = list(
        Batch.objects.filter(running | Q(state=Batch.State.QUEUED)).values_list("pk", flat=True)
    )
    Batch.objects.filter(running, pk__in=ids).update(state=Batch.State.QUEUED)
    for batch_id in ids:
        send_batch.enqueue(batch_id)
    return ids


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

    @property
    def percent(self) -> int:
        return int(self.sent * 100 / self.planned) if self.planned else 100


def progress(batch: Batch) -> Progress:
    done = Q(done=True)
    totals = batch.chunks.aggregate(
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
    with open(batch.invalid_file.path, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader, None)
        for line in reader:
            yield [int(line[0]), "", "invalid", "", "", line[1], "not sent: fix the row"]


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text line by line, for a streaming download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
