"""Sending checked batches in the background, cancelling them, and the batch of a retry.

`send` (the task) reads each unsent chunk's body as the check wrote it, records it and
delivers it over a few parallel streams. Crash safety rests on three facts: chunks are planned
and their bodies written before anything is sent; a chunk's body is read back byte for byte
(its SHA-256 is checked); a chunk's record is written before its request leaves and carries
the chunk's Request-ID, so re-delivering it gets Altcraft's first answer and applies nothing
twice.
Outcomes are counted from each chunk's record, once, when the chunk is settled.
"""

import hashlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import close_old_connections, transaction
from django.db import connection as db_connection
from django.db.models.functions import Coalesce
from django.utils import timezone

from altcraft.batching import body_prefix
from profiles_ui import services
from profiles_ui.bulk import outcomes
from profiles_ui.bulk.check import BatchError, envelope
from profiles_ui.bulk.files import (
    CHUNK_FORMAT,
    chunk_body_path,
    chunk_identifiers_path,
    remove_chunk_bodies,
)
from profiles_ui.bulk.report import row_outcomes
from profiles_ui.connections import Connection, get_connection
from profiles_ui.models import Batch, BatchChunk, Submission

logger = logging.getLogger(__name__)


HEARTBEAT_SECONDS = 5


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
        _finish(batch, Batch.State.FAILED, str(exc))
        return
    except Exception:
        logger.exception("batch %s stopped", batch_id)
        _finish(batch, Batch.State.FAILED, "an internal error stopped the batch; see the log")
        raise
    finally:
        stop.set()
        beat.join()
    cancelled = Batch.objects.filter(pk=batch_id, cancel_requested=True).exists()
    pending = BatchChunk.objects.filter(batch_id=batch_id, done=False).exists()
    _finish(batch, Batch.State.CANCELLED if cancelled and pending else Batch.State.FINISHED)


def _finish(batch: Batch, state: str, error: str = "") -> None:
    finished = Batch.objects.filter(pk=batch.pk, state=Batch.State.RUNNING).update(
        state=state, finished_at=timezone.now(), error=error
    )
    if finished:
        # A final batch is never sent again: a retry checks its rows anew from the upload.
        remove_chunk_bodies(batch)


def _heartbeat(batch_id: int, stop: threading.Event) -> None:
    try:
        while not stop.wait(HEARTBEAT_SECONDS):
            Batch.objects.filter(pk=batch_id).update(heartbeat_at=timezone.now())
    finally:
        db_connection.close()


def _send_chunks(batch: Batch, connection: Connection) -> None:
    streams = max(1, settings.BULK_STREAMS)
    # A slot per stream and one more, taken before the next body is read: that body is
    # ready when a stream frees. At most `streams` + 1 bodies are in memory.
    slots = threading.BoundedSemaphore(streams + 1)
    # Records are written one at a time: at a batch's start each stream's record of up to
    # 10 MB, inserted all at once, took as long as all of them, and the first request left
    # only when the last record was in.
    recording = threading.Lock()
    with ThreadPoolExecutor(streams, thread_name_prefix=f"batch-{batch.pk}") as pool:
        futures = []
        bodies = _bodies(batch)
        while True:
            slots.acquire()
            cancelled = _cancelled(batch)
            item = None if cancelled else next(bodies, None)
            if item is None:
                slots.release()
                break
            future = pool.submit(_deliver_chunk, batch, connection, recording, *item)
            del item  # the worker thread holds the only reference to the body now
            future.add_done_callback(lambda _: slots.release())
            futures.append(future)
        for future in futures:
            future.result()


def _bodies(batch: Batch) -> Iterator[tuple[BatchChunk, bytes]]:
    """Each unsent chunk and the body the check wrote for it, checked against its plan and
    against the connection as it is now (where the token goes)."""
    todo = batch.chunks.filter(done=False).order_by("index").defer("rows", "identifiers")
    prefix = body_prefix(envelope(batch), CHUNK_FORMAT)
    for chunk in list(todo):
        try:
            body = chunk_body_path(batch, chunk.index).read_bytes()
        except FileNotFoundError:
            body = None
        if body is None or hashlib.sha256(body).hexdigest() != chunk.body_sha256:
            raise BatchError(
                f"chunk {chunk.index + 1}'s body is missing or has changed since the batch "
                "was checked; nothing more was sent"
            )
        if not body.startswith(prefix):
            raise BatchError(
                f"the connection {batch.connection!r} has changed since the batch was checked "
                "(where its token goes); nothing more was sent"
            )
        yield chunk, body
        del body  # not kept alive while this generator waits for a free stream


def _cancelled(batch: Batch) -> bool:
    return Batch.objects.filter(pk=batch.pk, cancel_requested=True).exists()


def _deliver_chunk(
    batch: Batch,
    connection: Connection,
    recording: threading.Lock,
    chunk: BatchChunk,
    body: bytes,
) -> None:
    try:
        # Asked again as the chunk's stream takes it, so a cancel stops the very next chunk
        # even when its body was read ahead.
        if _cancelled(batch):
            return
        with recording:
            record = _record_for(batch, connection, chunk, body)
        if record.state == Submission.State.PENDING:
            record = services.deliver(record, connection, body)
        settle(chunk, record)
        # Its record keeps the body now; a resumed batch skips a settled chunk.
        chunk_body_path(batch, chunk.index).unlink(missing_ok=True)
        chunk_identifiers_path(batch, chunk.index).unlink(missing_ok=True)
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
                found_rows=_found_rows(batch, chunk),
            )
        BatchChunk.objects.filter(pk=chunk.pk).update(submission=record)
    return record


def _found_rows(batch: Batch, chunk: BatchChunk) -> list[tuple[int, str, str]] | None:
    """The chunk's identifiers as its check found them; None (read them from the body) when a
    batch checked before they were kept has none."""
    try:
        found = orjson.loads(chunk_identifiers_path(batch, chunk.index).read_bytes())
    except FileNotFoundError:
        return None
    return [(row, kind, value) for row, kind, value in found]


def settle(chunk: BatchChunk, record: Submission) -> None:
    """Count the chunk's outcome from its final record, once (a plain update, not +=)."""
    per_row = row_outcomes(record, chunk.row_count)
    succeeded = sum(1 for ok, *_ in per_row if ok)
    BatchChunk.objects.filter(pk=chunk.pk).update(
        submission=record, done=True, succeeded=succeeded, failed=chunk.row_count - succeeded
    )


def cancel(batch: Batch) -> None:
    """Stop after the chunks already sent; a batch not started yet stops at once."""
    Batch.objects.filter(pk=batch.pk, state__in=Batch.ACTIVE_STATES).update(cancel_requested=True)
    cancelled = Batch.objects.filter(pk=batch.pk, state=Batch.State.QUEUED).update(
        state=Batch.State.CANCELLED, finished_at=timezone.now()
    )
    if cancelled:
        remove_chunk_bodies(batch)


# What a retry keeps of its parent: the file, where it goes and how rows are read.
COPIED_ON_RETRY = (
    "file", "original_name", "kind", "encoding", "delimiter", "headers", "connection",
    "connection_production", "operation", "db_id", "workflow_id", "workflow_name", "matching",
    "field_name", "skip_triggers", "skip_invalid_subscriptions", "empty_cells", "columns",
    "custom_types", "phone_region",
)  # fmt: skip


NOTHING_SELECTED = {
    Batch.ParentRows.FAILED: "no row failed",
    Batch.ParentRows.RETRYABLE: "no failed row is one a retry can help",
    Batch.ParentRows.NOT_FOUND: "no row went unfound by the update",
}


def follow_up_batch(
    batch: Batch,
    *,
    user: AbstractBaseUser,
    rows: str,
    chunk: BatchChunk | None = None,
    operation: str = "",
) -> Batch:
    """A new batch of some of this batch's failed rows (`rows`, of `chunk` alone if given),
    same file, mapping and options, to be checked; `operation` replaces the batch's own."""
    if batch.state not in Batch.FINAL_STATES:
        raise BatchError("wait until the batch has finished")
    if not outcomes.selected_rows(batch, rows, chunk):
        raise BatchError(NOTHING_SELECTED[rows])
    fields = {name: getattr(batch, name) for name in COPIED_ON_RETRY}
    if operation:
        fields["operation"] = operation
    return Batch.objects.create(
        **fields,
        parent=batch,
        parent_rows=rows,
        parent_chunk=chunk,
        user=user,
        username=user.get_username(),
    )
