"""The customer's history: every record about one customer, batch rows included, newest first;
what each set for them, what Altcraft answered for their row, and the fields they should have
after each record, folded from the page's records where the bodies allow it.

Batch bodies are up to 10 MB: a page reads the first BODY_HEAD characters of every body, and
further into a batch only as far as the customer's rows, within BODY_BUDGET per page.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, QuerySet, Value, When
from django.db.models.functions import Substr

from altcraft.error_codes import describe_error
from altcraft.fields import meant_as_function
from altcraft.live_profile import address_text
from profiles_ui.history import rows as batch_rows
from profiles_ui.history.display import LIST_COLUMNS, decode
from profiles_ui.history.forms import identifier_matches
from profiles_ui.models import Submission

PAGE_SIZE = 25
ROWS_PER_RECORD = 5  # of the customer's rows in one batch (they are rarely in one twice)
BODY_HEAD = 32 * 1024
BODY_BUDGET = 2 * 1024 * 1024

DELETE = "profiles/delete"


@dataclass
class Part:
    """What one record did to the customer: the whole request, or one of its batch rows."""

    row: batch_rows.RowAnswer | None  # None for a single request
    succeeded: bool
    unknown: bool  # no readable answer: Altcraft may or may not have applied it
    error: int | None
    error_text: str
    profile_id: str
    # The profile fields it sets, or None when the body cannot tell (purged, unreadable, or
    # beyond what a page reads).
    fields: dict[str, Any] | None = None
    subscriptions: list[str] = field(default_factory=list)
    unread: str = ""  # why `fields` is None

    @property
    def meaning(self) -> str:
        return "" if self.succeeded or self.error is None else describe_error(self.error)

    @property
    def field_list(self) -> list[tuple[str, Any, str]]:
        """(name, value, what kind of identifier it holds: "email", "phones" or ""), for
        templates, which link identifiers to the profile page; a list, since a field named
        "items" would hide a dict's own."""
        listed = []
        for name, value in (self.fields or {}).items():
            kind = ""
            if name == "email" and isinstance(value, str):
                kind = "email"
            elif name == "phones" and isinstance(value, list):
                kind = "phones"
            listed.append((name, value, kind))
        return listed


@dataclass
class Entry:
    record: Submission
    parts: list[Part]
    more_rows: bool = False
    # The fields the customer should have after this record, as far as this page tells.
    after: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False

    @property
    def after_list(self) -> list[tuple[str, Any]]:
        return list(self.after.items())


@dataclass
class Page:
    entries: list[Entry]
    older: int | None  # cursor: the id to show records before


def customer_records(
    visible: QuerySet[Submission], value: str, region: str = ""
) -> QuerySet[Submission]:
    """Every record carrying the identifier, batch rows included."""
    # Through the identifier index alone (older records were backfilled, see 0014): an OR
    # with the records' own columns would make PostgreSQL read every record.
    return visible.filter(pk__in=identifier_matches(value, "exact", region).values("submission_id"))


def page(
    visible: QuerySet[Submission],
    value: str,
    *,
    region: str = "",
    before: int | None = None,
    size: int | None = None,
) -> Page:
    size = size or PAGE_SIZE
    records = customer_records(visible, value, region)
    if before:
        records = records.filter(id__lt=before)
    columns = (*LIST_COLUMNS, "error_text", "transport_error", "response_status", "purged_at")
    records = records.only(*columns).annotate(head=Substr("request_body", 1, BODY_HEAD))
    found = list(records.order_by("-id")[: size + 1])
    older = found[size - 1].id if len(found) > size else None
    found = found[:size]
    hits = identifier_matches(value, "exact", region)
    matched = batch_rows.matching_rows(hits, [r.pk for r in found], ROWS_PER_RECORD)
    entries = [_entry(record, matched.get(record.pk)) for record in found]
    _read_changes(entries)
    fold(entries)
    return Page(entries, older)


def _entry(record: Submission, matched: batch_rows.RecordRows | None) -> Entry:
    if matched and matched.rows:
        unknown = _unknown(record)
        parts = [
            Part(row, row.succeeded, unknown, row.error, row.error_text, row.profile_id)
            for row in matched.rows
        ]
        return Entry(record, parts, more_rows=matched.more)
    text = record.error_text or record.transport_error
    part = Part(
        None, record.answered_success, _unknown(record), record.error, text, record.profile_id
    )
    return Entry(record, [part])


def _unknown(record: Submission) -> bool:
    return record.state in Submission.UNKNOWN_OUTCOME_STATES or not record.is_final


def _read_changes(entries: list[Entry]) -> None:
    """Each part's fields from its record's body: from the head read with the page, then, for
    bodies cut short there, as far as their rows in one more query, newest first within the
    page's budget."""
    further: dict[int, int] = {}  # record id -> characters to read
    budget = BODY_BUDGET
    for entry in entries:
        record = entry.record
        if record.purged_at or not record.head:
            _unread(entry.parts, "the request body was removed by the retention purge")
            continue
        needed = _changes_from(entry, record.head, complete=len(record.head) < BODY_HEAD)
        if needed and needed <= budget:
            further[record.pk] = needed
            budget -= needed
        elif needed:
            _unread(entry.parts, "a large request, not read on this page: open the record")
    bodies = _heads(further)
    for entry in entries:
        if (length := further.get(entry.record.pk)) is not None:
            body = bodies.get(entry.record.pk, "")
            if _changes_from(entry, body, complete=len(body) < length):
                _unread(entry.parts, "beyond what a page reads of the request: open the record")


def _heads(lengths: dict[int, int]) -> dict[int, str]:
    """The first `length` characters of each record's body, in one query."""
    if not lengths:
        return {}
    length = Case(*(When(pk=pk, then=Value(n)) for pk, n in lengths.items()))
    found = Submission.objects.filter(pk__in=lengths).annotate(
        head=Substr("request_body", 1, length)
    )
    return dict(found.values_list("pk", "head"))


def _changes_from(entry: Entry, body: str, *, complete: bool) -> int:
    """Fill in the parts this body tells about; how many characters of the body are still
    needed for the rest (0 when none are)."""
    record = entry.record
    batch = [part for part in entry.parts if part.row is not None and part.fields is None]
    if not batch:
        if not complete:
            return BODY_BUDGET  # a single request this large is read whole, if the budget allows
        payload = decode(body, record.format, record.operation)
        if payload is None:
            _unread(entry.parts, "the request body cannot be read")
            return 0
        # A deletion and a subscription change set no profile field.
        fields_set = record.operation != DELETE and not record.operation.startswith("subscr")
        data = payload.get("data") if fields_set else {}
        if isinstance(data, dict):
            _set_from(entry.parts[0], data, payload, record.operation)
        else:
            _unread(entry.parts, "the request holds several profiles")
        return 0
    wanted = {part.row.row for part in batch}
    if record.format == "json":
        scan = scan_rows(body, wanted)
    elif complete:
        payload = decode(body, record.format, record.operation) or {}
        data = payload.get("data") if isinstance(payload.get("data"), list) else []
        scan = Scan({row: data[row] for row in wanted if row < len(data)})
    else:
        return BODY_BUDGET
    for part in batch:
        item = scan.items.get(part.row.row)
        if isinstance(item, dict):
            _set_from(part, item, {}, record.operation)
        elif complete or item is not None:
            part.unread = "this row of the request cannot be read"
    if complete or all(part.fields is not None for part in batch):
        return 0
    return scan.estimate(max(wanted))


@dataclass
class Scan:
    items: dict[int, Any]
    read: int = 0  # items of data read
    start: int = 0  # where data's first item begins
    end: int = 0  # where the last item read ends

    def estimate(self, row: int) -> int:
        """Characters likely needed to reach the end of `row`, from the items read so far."""
        if not self.read:
            return BODY_BUDGET
        average = (self.end - self.start) / self.read
        return int(self.start + (row + 1) * average * 1.25) + 4096


_SCAN = json.JSONDecoder().scan_once
_SPACE = re.compile(r"[ \t\n\r]*")


def scan_rows(body: str, wanted: set[int]) -> Scan:
    """The wanted items of a JSON body's top-level "data" array, reading no further than the
    last of them: each value before it is skipped by the C scanner of the json module, and a
    body cut short ends the scan where it is cut."""
    scan = Scan({})
    last = max(wanted)

    def space(at: int) -> int:
        return _SPACE.match(body, at).end()

    def after_value(at: int) -> int:
        at = space(at) if body[at] in " \t\n\r" else at
        if body[at] == ",":
            at += 1
            at = space(at) if body[at] in " \t\n\r" else at
        return at

    try:
        at = space(0)
        if body[at] != "{":
            return scan
        at = space(at + 1)
        while body[at] != "}":
            key, at = _SCAN(body, at)
            at = space(at)
            if body[at] != ":":
                return scan
            at = space(at + 1)
            if key == "data" and body[at] == "[":
                break
            _, at = _SCAN(body, at)
            at = after_value(at)
        else:
            return scan
        at = scan.start = scan.end = space(at + 1)
        while scan.read <= last and body[at] != "]":
            item, at = _SCAN(body, at)
            if scan.read in wanted:
                scan.items[scan.read] = item
            scan.read, scan.end = scan.read + 1, at
            at = after_value(at)
    except (StopIteration, ValueError, IndexError):
        pass  # not JSON there, or the body is cut short: what was read so far stands
    return scan


def _set_from(part: Part, data: dict, payload: dict, operation: str) -> None:
    part.fields = {k: v for k, v in data.items() if k != "subscriptions"}
    subscriptions = data.get("subscriptions")
    if operation.startswith("subscriptions/"):
        subscriptions = [payload]  # the request itself is the subscription
    for sub in subscriptions if isinstance(subscriptions, list) else ():
        if isinstance(sub, dict):
            part.subscriptions.append(_subscription_text(sub, operation))


def _subscription_text(sub: dict, operation: str) -> str:
    words = [str(sub.get("channel") or "subscription"), address_text(sub)]
    if sub.get("resource_id") is not None:
        words.append(f"resource {sub['resource_id']}")
    if operation == "subscriptions/delete":
        words.append("deleted")
    elif sub.get("status"):
        words.append(str(sub["status"]))
    return " ".join(word for word in words if word)


def _unread(parts: Iterable[Part], why: str) -> None:
    for part in parts:
        if part.fields is None:
            part.unread = why


def fold(entries: list[Entry]) -> None:
    """The fields known after each entry (newest first), folded oldest to newest.

    Only a succeeded row changes what is known. A row whose outcome is unknown makes the fields
    it sets unknown, as does a functional update ({"action": "incr"}) its field; a succeeded
    row whose body cannot be read makes everything unknown. A deletion leaves nothing.
    """
    known: dict[str, Any] = {}
    deleted = False
    for entry in reversed(entries):
        for part in entry.parts:
            if not (part.succeeded or part.unknown):
                continue
            if part.fields is None:
                known, deleted = {}, False
                continue
            if entry.record.operation == DELETE:
                if part.succeeded:
                    known, deleted = {}, True
                continue
            for name, value in part.fields.items():
                if part.unknown or meant_as_function(value):
                    known.pop(name, None)
                else:
                    known[name] = value
                    deleted = False
        entry.after, entry.deleted = dict(known), deleted
