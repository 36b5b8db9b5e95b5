"""Bulk imports up to sending: the upload, its mapping, and the check that plans the chunks.

The life of a batch: `start` saves and sniffs the upload (draft); `queue_check` hands the
check to a worker (checking); `check` reads every row once, maps and validates it, writes the
invalid rows to a file and plans the chunks of valid rows, each with its Request-ID and its
body written to a file of its own (checked): what is sent is exactly what was checked.
Sending, resuming and retrying are in `batch_sending`; counting outcomes and the report in
`batch_report`.
"""

import csv
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from altcraft.batching import ProfileTooLarge, split_into_chunks
from altcraft.client import TOKEN_PLACEHOLDER
from altcraft.matching import MATCHING_MODES
from altcraft.operations import get_operation
from profiles_ui.batch_report import failed_rows
from profiles_ui.bulk_io import (
    Column,
    FileInfo,
    Mapper,
    UnreadableFile,
    read_records,
    sniff,
)
from profiles_ui.connections import Connection, get_connection
from profiles_ui.models import Batch, BatchChunk, SavedMapping
from profiles_ui.row_checks import Rules, check_blocks

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 20
PROGRESS_EVERY = 5_000  # rows between two saves of a check's progress
CHUNK_FORMAT = "json"


class BatchError(Exception):
    """A batch cannot go on; the message says why, for the operator."""


class CheckStopped(Exception):
    """The batch left the checking state while its check ran: someone stopped it."""


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


def chunk_folder(batch: Batch) -> Path:
    """Where the check leaves each planned chunk's body until that chunk has been sent."""
    return Path(batch.file.path).with_name(f"batch-{batch.pk}-chunks")


def chunk_body_path(batch: Batch, index: int) -> Path:
    return chunk_folder(batch) / f"chunk-{index}.{CHUNK_FORMAT}"


def remove_chunk_bodies(batch: Batch) -> None:
    shutil.rmtree(chunk_folder(batch), ignore_errors=True)


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


def selected_records(batch: Batch) -> Iterator[tuple[int, str]]:
    """The file's rows this batch is about, unparsed: all of them, or a retry's failed rows."""
    records = read_records(Path(batch.file.path), file_info(batch))
    if batch.parent_id is None:
        yield from records
        return
    wanted = failed_rows(batch.parent)
    for number, record in records:
        if number in wanted:
            yield number, record


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


def stop_check(batch: Batch, *, user: AbstractBaseUser) -> bool:
    """Send a batch being checked back to its mapping; its check stops at its next progress
    save. False when there is no check to stop (it has just ended)."""
    done = Batch.objects.filter(pk=batch.pk).values_list("checked_rows", flat=True).first()
    error = f"{user.get_username()} stopped it after {done or 0:,} rows; nothing was sent"
    stopped = Batch.objects.filter(pk=batch.pk, state=Batch.State.CHECKING).update(
        state=Batch.State.DRAFT, error=error
    )
    return bool(stopped)


def run_check(batch_id: int) -> None:
    """The task: check a batch queued for checking; a failure sends it back to its mapping."""
    batch = Batch.objects.filter(pk=batch_id, state=Batch.State.CHECKING).first()
    if batch is None:
        return  # checked already, or the mapping changed since
    try:
        check(batch)
    except CheckStopped:
        logger.info("the check of batch %s was stopped", batch_id)
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
    # A check the workers run stops when its batch leaves that state (stop_check).
    checking = batch.state == Batch.State.CHECKING
    progress = Batch.objects.filter(pk=batch.pk)
    if checking:
        progress = progress.filter(state=Batch.State.CHECKING)
    rules = rules_for(batch)
    large = batch.estimated_rows >= settings.BULK_CHECK_PARALLEL_FROM
    processes = settings.BULK_CHECK_PROCESSES if large else 1
    batch.chunks.all().delete()
    remove_chunk_bodies(batch)
    chunk_folder(batch).mkdir(parents=True, exist_ok=True)
    invalid_path = Path(batch.file.path).with_name(f"batch-{batch.pk}-invalid.csv")
    plan = _Plan([], [])
    counts = {"total": 0, "invalid": 0}
    sample: list[dict] = []

    max_rows = settings.BULK_MAX_ROWS  # read once: each read of a setting goes through a proxy

    def valid_items(writer: Any) -> Iterator[bytes]:
        for block in check_blocks(selected_records(batch), rules, processes=processes):
            before = counts["total"]
            counts["total"] += block.rows
            if counts["total"] > max_rows:
                raise BatchError(f"the file has more than {max_rows:,} rows")
            if counts["total"] // PROGRESS_EVERY > before // PROGRESS_EVERY:
                saved = progress.update(checked_rows=counts["total"], heartbeat_at=timezone.now())
                if not saved:
                    raise CheckStopped
            for number, problems, row in block.invalid:
                counts["invalid"] += 1
                writer.writerow([number, _problem_text(problems), *_cells(batch, row)])
                if len(sample) < SAMPLE_SIZE:
                    sample.append(_sample_row(batch, number, row, problems))
            plan.rows += block.numbers
            plan.identifiers += block.identifiers
            yield from block.items

    with open(invalid_path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "problems", *batch.headers])
        try:
            chunks = split_into_chunks(
                valid_items(writer), fmt=CHUNK_FORMAT, envelope=envelope(batch), encoded=True
            )
            for index, chunk in enumerate(chunks):
                _store_chunk(batch, index, chunk.profiles, chunk.body, chunk.first_index, plan)
        except ProfileTooLarge as exc:
            raise BatchError(f"row {plan.rows[exc.index - plan.offset]}: {exc}") from None
    result = {
        "total_rows": counts["total"],
        "checked_rows": counts["total"],
        "invalid_rows": counts["invalid"],
        "valid_rows": counts["total"] - counts["invalid"],
        "invalid_sample": sample,
        "invalid_file": str(invalid_path.relative_to(settings.MEDIA_ROOT)),
        "state": Batch.State.CHECKED,
    }
    for name, value in result.items():
        setattr(batch, name, value)
    if not progress.update(**result):
        raise CheckStopped
    return batch


def rules_for(batch: Batch) -> Rules:
    operation = get_operation(batch.operation)
    return Rules(
        file=file_info(batch),
        mapper=mapper_for(batch),
        fmt=CHUNK_FORMAT,
        custom_field_types=batch.custom_types or None,
        matching=batch.matching or None,
        field_name=batch.field_name or None,
        allow_functions=operation.allows_functions,
        allow_keep_value=operation.allows_keep_value,
    )


def _store_chunk(
    batch: Batch, index: int, profiles: list, body: bytes, first: int, plan: _Plan
) -> None:
    start_at = first - plan.offset
    end_at = start_at + len(profiles)
    rows = plan.rows[start_at:end_at]
    _write_body(chunk_body_path(batch, index), body)
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


def _write_body(path: Path, body: bytes) -> None:
    # Renamed into place only once whole: a body file is either complete or absent.
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


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
