"""Parsing, mapping, validating and encoding a bulk batch's rows, on several CPUs when it is
large.

Checking is CPU-bound and each row is checked on its own, so a large batch's rows go in
blocks to worker processes and come back in file order. Only a few blocks are in flight at a
time, so memory does not grow with the file. The workers get each row's text as the file has
it (read_records) and parse it themselves, so the process reading the file does little more
than split it; they return, for each row, its problems or its encoded profile: bytes travel
between processes faster than the dicts they were made from.
"""

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import batched
from typing import Any, NamedTuple

from altcraft.batching import encode_item
from altcraft.validation import validate_profile
from profiles_ui.bulk_io import NOT_AN_OBJECT, FileInfo, Mapper, column_of, parse_records
from profiles_ui.processes import exit_with

NOT_A_JSON_OBJECT = "the line is not a JSON object"
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


def problems_of(rules: Rules, profile: dict, origin: dict[str, str]) -> dict[str, list[str]]:
    """{column ("" for the row): [messages]} for one mapped row."""
    if NOT_AN_OBJECT in profile:
        return {"": [NOT_A_JSON_OBJECT]}
    found = validate_profile(
        profile,
        batch=True,
        custom_field_types=rules.custom_field_types,
        path_prefix="",
        matching=rules.matching,
        field_name=rules.field_name,
        allow_functions=rules.allow_functions,
        allow_keep_value=rules.allow_keep_value,
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


class CheckedBlock(NamedTuple):
    """The checks of a block of rows, in file order: the valid rows' numbers, identifiers and
    encoded profiles side by side, and the invalid rows. Flat lists travel between processes
    in a fifth of the time of an object per row, and are taken in whole by the planner."""

    rows: int  # how many rows the block has
    numbers: list[int]  # of the valid rows
    identifiers: list[str]  # the valid profiles' identifiers, for the report
    items: list[bytes]  # the valid profiles, encoded as they go into a chunk's body
    invalid: list[tuple[int, dict[str, list[str]], dict[str, Any]]]  # (number, problems, row)


def check_block(rules: Rules, records: tuple[tuple[int, str], ...]) -> CheckedBlock:
    """Parse, map, validate and encode a block of read_records' records."""
    block = CheckedBlock(len(records), [], [], [], [])
    mapper, fmt = rules.mapper, rules.fmt
    for number, row in parse_records(records, rules.file):
        profile, origin = mapper.map(row)
        if problems := problems_of(rules, profile, origin):
            block.invalid.append((number, problems, row))
            continue
        block.numbers.append(number)
        block.identifiers.append(mapper.identifier(profile))
        block.items.append(encode_item(profile, fmt))
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
    # database connections and threads.
    context = multiprocessing.get_context("forkserver")
    # The server imports this module (validation, phone metadata) once, before its first
    # fork; each worker then starts with it loaded instead of importing it again.
    context.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(
        processes, mp_context=context, initializer=exit_with, initargs=(os.getpid(),)
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
