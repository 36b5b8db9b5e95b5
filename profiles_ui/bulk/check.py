"""The check of a bulk batch: every row parsed, mapped, validated and encoded once, the invalid
rows kept in a file, the valid ones planned into chunks, each with its Request-ID and its body
written to a file of its own. What is sent is exactly what was checked.

Checking is CPU-bound and each row is checked on its own, so a large batch's rows go in
blocks to worker processes and come back in file order. Only a few blocks are in flight at a
time, so memory does not grow with the file. The workers get each row's text as the file has
it (read_records) and parse it themselves, so the process reading the file does little more
than split it.
"""

import csv
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import batched
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from altcraft.batching import ProfileTooLarge, encode_item, split_into_chunks
from altcraft.client import TOKEN_PLACEHOLDER
from altcraft.matching import MATCHING_MODES
from altcraft.operations import get_operation
from altcraft.validation import validate_profile
from profiles_ui.bulk import report
from profiles_ui.bulk.files import (
    CHUNK_FORMAT,
    NOT_AN_OBJECT,
    FileInfo,
    UnreadableFile,
    chunk_body_path,
    chunk_folder,
    chunk_identifiers_path,
    file_info,
    parse_records,
    read_records,
    remove_chunk_bodies,
)
from profiles_ui.bulk.mapping import Mapper, Problems, column_of, mapper_for, mapping_problems
from profiles_ui.bulk.outcomes import selected_rows
from profiles_ui.connections import get_connection
from profiles_ui.history import identifiers as found
from profiles_ui.history.exports import neutralise
from profiles_ui.models import Batch, BatchChunk

logger = logging.getLogger(__name__)

BLOCK = 2_000  # rows sent to a worker process at once


AHEAD = 4  # blocks in flight per process: each stays busy while this one catches up


@dataclass(frozen=True)
class Rules:
    """What checking a row needs; pickled to each worker process."""

    file: FileInfo  # how to parse the rows' text
    mapper: Mapper
    fmt: str
    custom_field_types: dict[str, str] | None
    matching: str | None
    field_name: str | None
    allow_functions: bool
    allow_keep_value: bool
    phone_region: str  # the connection's: how the history normalises phones


def problems_of(
    rules: Rules, profile: dict, origin: dict[str, str], cells: Problems | None = None
) -> Problems:
    """{column ("" for the row): [messages]} for one mapped row.

    `cells` are the Mapper's problems with cells it could not read: each is the one problem
    of its column, so what validation then says about that column's value is left out.
    """
    if NOT_AN_OBJECT in profile:
        return {"": [profile[NOT_AN_OBJECT]]}
    invalid = validate_profile(
        profile,
        batch=True,
        custom_field_types=rules.custom_field_types,
        path_prefix="",
        matching=rules.matching,
        field_name=rules.field_name,
        allow_functions=rules.allow_functions,
        allow_keep_value=rules.allow_keep_value,
    )
    problems: Problems = dict(cells) if cells else {}
    for problem in invalid:
        column = column_of(problem.path, origin)
        if cells and column in cells:
            continue
        detail = problem.path.lstrip(".") if not column else _inner_path(problem.path)
        message = f"{detail}: {problem.message}" if detail else problem.message
        problems.setdefault(column, []).append(message)
    return problems


def _inner_path(path: str) -> str:
    # The column already names the field; keep only the part inside a subscription.
    if path.startswith("subscriptions["):
        return path.partition("]")[2].lstrip(".")
    return ""


class CheckedBlock(NamedTuple):
    """The checks of a block of rows, in file order: the valid rows' numbers, identifiers and
    encoded profiles side by side, and the invalid rows. Flat lists travel between processes
    in a fifth of the time of an object per row, and are taken in whole by the planner."""

    rows: int  # how many rows the block has
    numbers: list[int]  # of the valid rows
    identifiers: list[str]  # the valid profiles' identifiers, for the report
    items: list[bytes]  # the valid profiles, encoded as they go into a chunk's body
    # The valid profiles' identifiers as the history indexes them: (kind, value) pairs each.
    # Found here, in the check's processes, so that sending only writes them.
    found: list[list[tuple[str, str]]]
    # (number, problems, row, identifier)
    invalid: list[tuple[int, dict[str, list[str]], dict[str, Any], str]]
    converted: list[dict[str, Any]]  # the first valid rows with converted cells


def check_block(rules: Rules, records: tuple[tuple[int, str], ...]) -> CheckedBlock:
    """Parse, map, validate and encode a block of read_records' records."""
    block = CheckedBlock(len(records), [], [], [], [], [], [])
    mapper, fmt, region = rules.mapper, rules.fmt, rules.phone_region
    for number, row in parse_records(records, rules.file):
        profile, origin, cells = mapper.map(row)
        if problems := problems_of(rules, profile, origin, cells):
            block.invalid.append((number, problems, row, mapper.identifier(profile)))
            continue
        if len(block.converted) < SAMPLE_SIZE and (changed := mapper.conversions(row, profile)):
            block.converted.append({"row": number, "cells": changed})
        block.numbers.append(number)
        block.identifiers.append(mapper.identifier(profile))
        block.items.append(encode_item(profile, fmt))
        raw = found.in_profile(profile, None, rules.field_name)
        block.found.append([(kind, value) for _, kind, value in found.normalised(raw, region)])
    return block


def check_blocks(
    records: Iterable[tuple[int, str]], rules: Rules, *, processes: int = 1
) -> Iterator[CheckedBlock]:
    """The records of read_records checked in blocks, in order, in `processes` processes if
    > 1."""
    if processes <= 1:
        for block in batched(records, BLOCK):
            yield check_block(rules, block)
        return
    # forkserver: the workers start from a clean process, not a copy of this one with its
    # database connections and threads. The server sets Django up (as the web server does)
    # and loads this module once, before its first fork; each worker starts with both done.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["altcraft_admin.wsgi", __name__])
    pool = ProcessPoolExecutor(
        processes, mp_context=context, initializer=_end_with, initargs=(os.getpid(),)
    )
    with pool:
        pending: deque[Future[CheckedBlock]] = deque()
        try:
            for block in batched(records, BLOCK):
                pending.append(pool.submit(check_block, rules, block))
                if len(pending) > AHEAD * processes:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _end_with(parent: int) -> None:
    """Ends this check process once `parent`, the process checking the batch, is gone.

    A process killed with SIGKILL (or by the out-of-memory killer) runs no clean-up, and its
    check processes would otherwise wait for work forever.
    """

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone, or its number reused
                os._exit(1)

    threading.Thread(target=watch, name="end-with-the-check", daemon=True).start()


# --- Checking a batch ---------------------------------------------------------------------

SAMPLE_SIZE = 20


# A check's progress is saved at most this often (seconds), and after its last block: often
# enough for the bar to move on a file of a few thousand rows, rarely enough to cost nothing.
PROGRESS_INTERVAL = 0.5


class BatchError(Exception):
    """A batch cannot go on; the message says why, for the operator."""


class CheckStopped(Exception):
    """The batch left the checking state while its check ran: someone stopped it."""


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


@dataclass
class _Plan:
    """Row numbers and identifiers of valid profiles not yet assigned to a chunk."""

    rows: list[int]
    identifiers: list[str]
    found: list[list[tuple[str, str]]]
    offset: int = 0  # position of rows[0] in the stream of valid profiles


def selected_records(batch: Batch) -> Iterator[tuple[int, str]]:
    """The file's rows this batch is about, unparsed: all of them, or the parent's rows a
    follow-up batch (a retry, an import of rows not found, a chunk's fix) selects."""
    records = read_records(Path(batch.file.path), file_info(batch))
    if batch.parent_id is None:
        yield from records
        return
    wanted = selected_rows(batch.parent, batch.parent_rows, batch.parent_chunk)
    for number, record in records:
        if number in wanted:
            yield number, record


def estimate_rows(batch: Batch) -> int:
    """Lines in the file, less the header: the progress bar's 100% (quoted line breaks and
    blank lines make it a little high)."""
    if batch.parent_id is not None:
        return len(selected_rows(batch.parent, batch.parent_rows, batch.parent_chunk))
    lines, last = 0, b"\n"
    with batch.file.open("rb") as data:
        while block := data.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    if batch.kind == "json" and lines < 3:
        # An array written on one line: about 200 bytes a profile.
        return batch.file.size // 200
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
    except (BatchError, UnreadableFile) as exc:
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
    if problems := mapping_problems(batch):
        raise BatchError("; ".join(problems))
    rules = rules_for(batch)
    large = batch.estimated_rows >= settings.BULK_CHECK_PARALLEL_FROM
    processes = settings.BULK_CHECK_PROCESSES if large else 1
    batch.chunks.all().delete()
    remove_chunk_bodies(batch)
    chunk_folder(batch).mkdir(parents=True, exist_ok=True)
    invalid_path = Path(batch.file.path).with_name(f"batch-{batch.pk}-invalid.csv")
    plan = _Plan([], [], [])
    counts = {"total": 0, "invalid": 0}
    sample: list[dict] = []
    conversions: list[dict] = []

    max_rows = settings.BULK_MAX_ROWS  # read once: each read of a setting goes through a proxy
    saved_at = [time.monotonic()]

    def valid_items(writer: Any) -> Iterator[bytes]:
        for block in check_blocks(selected_records(batch), rules, processes=processes):
            counts["total"] += block.rows
            if counts["total"] > max_rows:
                raise BatchError(f"the file has more than {max_rows:,} rows")
            if time.monotonic() - saved_at[0] >= PROGRESS_INTERVAL:
                saved_at[0] = time.monotonic()
                saved = progress.update(checked_rows=counts["total"], heartbeat_at=timezone.now())
                if not saved:
                    raise CheckStopped
            for number, problems, row, identifier in block.invalid:
                counts["invalid"] += 1
                writer.writerow(
                    [neutralise(v) for v in (number, identifier, _problem_text(problems))]
                    + [neutralise(cell) for cell in _cells(batch, row)]
                )
                if len(sample) < SAMPLE_SIZE:
                    sample.append(_sample_row(batch, number, row, problems))
            conversions.extend(block.converted[: SAMPLE_SIZE - len(conversions)])
            plan.rows += block.numbers
            plan.identifiers += block.identifiers
            plan.found += block.found
            yield from block.items

    with open(invalid_path, "w", encoding=report.CSV_ENCODING, newline="") as out:
        writer = csv.writer(out, delimiter=report.delimiter_of(batch))
        writer.writerow(report.INVALID_HEADER + [neutralise(h) for h in batch.headers])
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
        "conversion_sample": conversions,
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
        phone_region=found.phone_region(get_connection(batch.connection)),
    )


def _store_chunk(
    batch: Batch, index: int, profiles: list, body: bytes, first: int, plan: _Plan
) -> None:
    start_at = first - plan.offset
    end_at = start_at + len(profiles)
    rows = plan.rows[start_at:end_at]
    _write_body(chunk_body_path(batch, index), body)
    found_rows = [
        (row, kind, value)
        for row, pairs in enumerate(plan.found[start_at:end_at])
        for kind, value in pairs
    ]
    _write_body(chunk_identifiers_path(batch, index), orjson.dumps(found_rows))
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
    del plan.rows[:end_at], plan.identifiers[:end_at], plan.found[:end_at]
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


def _shown_cell(value: Any) -> str:
    # PostgreSQL's jsonb cannot hold a NUL: the sample shows the symbol for one.
    return _cell_text(value)[:120].replace("\x00", "\u2400")


def _sample_row(batch: Batch, number: int, row: dict, problems: dict[str, list[str]]) -> dict:
    return {
        "row": number,
        "cells": [[h, _shown_cell(row.get(h)), problems.get(h, [])] for h in batch.headers],
        "row_problems": problems.get("", []),
    }
