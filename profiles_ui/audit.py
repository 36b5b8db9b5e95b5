"""The chain that makes the audit trail tamper-evident.

Every final record, record view and purge gets an AuditEntry when it is written: the SHA-256 of
its canonical content, and an HMAC-SHA256 over that digest and the previous entry's HMAC,
keyed by AUDIT_CHAIN_KEY, which is not in the database. Whoever can write to the database but
does not hold the key can still change or remove rows, but cannot make the chain agree again:
`verify` recomputes every link from the rows as they are and names the first that does not.

The database refuses most of this anyway (triggers, see migration 0009); the chain is what
shows it when they were disabled, or the tables were changed by their owner.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import batched
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Model

from profiles_ui.models import (
    AuditEntry,
    ChainCheck,
    ProfileLookup,
    PurgeLog,
    RecordView,
    Submission,
)

GENESIS = "0" * 64
Kind = AuditEntry.Kind
# The columns each kind's content is made of. Columns a final row may still change are left
# out: a purge empties a record's bodies (their digest at the time is kept in the entry), and
# deleting a user clears the user columns (the username is copied).
HASHED: dict[str, tuple[type[Model], tuple[str, ...]]] = {
    Kind.RECORD: (
        Submission,
        (
            "id", "created_at", "finished_at", "username", "role", "connection",
            "connection_production", "operation", "url", "format", "request_id", "matching",
            "email", "phone", "profile_id", "db_id", "workflow_id", "profile_count", "state",
            "response_status", "response_headers", "error", "error_text", "results",
            "transport_error", "duration_ms", "attempts", "parent_id", "reason",
        ),
    ),
    Kind.VIEW: (RecordView, ("id", "submission_id", "username", "viewed_at")),
    Kind.PURGE: (
        PurgeLog,
        ("id", "ran_at", "ran_by", "older_than_days", "cutoff", "records", "first_id", "last_id"),
    ),
    Kind.LOOKUP: (
        ProfileLookup,
        (
            "id", "username", "looked_up_at", "identifier_kind", "field_name", "identifier",
            "connection", "db_id", "outcome",
        ),
    ),
}  # fmt: skip
APPEND_ATTEMPTS = 50


def bodies_digest(request_body: str, response_body: str) -> str:
    return hashlib.sha256(f"{request_body}\0{response_body}".encode()).hexdigest()


def append(kind: str, obj: Model, *, body_sha256: str = "") -> AuditEntry:
    """Add the entry of a row just written (a record as it became final, a view, a purge).

    Call it in the transaction that wrote the row, so that neither exists without the other.
    Two writers reading the same last entry cannot both follow it (AuditEntry.previous is
    unique): the second tries again after the first.
    """
    content = _content_digest(_row(kind, obj.pk), body_sha256)
    for _ in range(APPEND_ATTEMPTS):
        previous = AuditEntry.objects.order_by("-id").values_list("mac", flat=True).first()
        previous = previous or GENESIS
        entry = AuditEntry(
            kind=kind,
            object_id=obj.pk,
            body_sha256=body_sha256,
            content_sha256=content,
            previous=previous,
            mac=_mac(previous, kind, obj.pk, content),
        )
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError:
            continue  # another entry took that place first
        return entry
    raise RuntimeError("the audit chain stayed busy; nothing was written")


def log_view(submission: Submission, user: Any) -> RecordView:
    """Someone opened a record's page: the view and its chain entry, together."""
    with transaction.atomic():
        view = RecordView.objects.create(
            submission=submission, user=user, username=user.get_username()
        )
        append(Kind.VIEW, view)
    return view


def log_lookup(user: Any, **about: Any) -> ProfileLookup:
    """Someone looked a customer up in Altcraft: the access-log row and its chain entry."""
    with transaction.atomic():
        lookup = ProfileLookup.objects.create(user=user, username=user.get_username(), **about)
        append(Kind.LOOKUP, lookup)
    return lookup


def _row(kind: str, pk: int) -> dict[str, Any] | None:
    model, columns = HASHED[kind]
    return model.objects.filter(pk=pk).values(*columns).first()


def _canonical(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if not isinstance(value, str | int | float | bool | list | dict) else value


def _content_digest(row: dict[str, Any] | None, body_sha256: str) -> str:
    text = json.dumps(
        {"row": row, "bodies": body_sha256},
        sort_keys=True,
        ensure_ascii=False,
        default=_canonical,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _mac(previous: str, kind: str, object_id: int, content: str) -> str:
    message = f"{previous}|{kind}|{object_id}|{content}".encode()
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message, hashlib.sha256).hexdigest()


# --- Verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    held: bool
    entries: int
    last_mac: str
    problem: str = ""


def verify() -> Verdict:
    """Walk the chain and the audit tables; the first break found, named for a person."""
    purges = {p.pk: p for p in PurgeLog.objects.all()}
    previous, count = GENESIS, 0
    entries = AuditEntry.objects.order_by("id").iterator(chunk_size=2000)
    for block in batched(entries, 2000):
        rows = _rows_of(block)
        for entry in block:
            problem = _entry_problem(entry, previous, rows, purges)
            if problem:
                return Verdict(False, count, previous, problem)
            previous, count = entry.mac, count + 1
    if problem := _unchained_problem():
        return Verdict(False, count, previous, problem)
    last = ChainCheck.objects.filter(held=True).first()
    if last is not None and last.last_mac and not _in_chain(last.last_mac):
        problem = (
            f"the chain no longer holds entry {last.last_mac[:12]}…, the last one the check of "
            f"{last.checked_at:%Y-%m-%d %H:%M} found: entries after it were removed"
        )
        return Verdict(False, count, previous, problem)
    return Verdict(True, count, previous)


def record_check(verdict: Verdict) -> ChainCheck:
    return ChainCheck.objects.create(
        held=verdict.held,
        entries=verdict.entries,
        last_mac=verdict.last_mac,
        problem=verdict.problem,
    )


def _rows_of(block: Iterable[AuditEntry]) -> dict[tuple[str, int], dict[str, Any]]:
    """The rows these entries are about, with the bodies of unpurged records, in one query
    per kind."""
    wanted: dict[str, list[int]] = {}
    for entry in block:
        wanted.setdefault(entry.kind, []).append(entry.object_id)
    found = {}
    for kind, ids in wanted.items():
        model, columns = HASHED.get(kind, (None, ()))
        if model is None:
            continue
        extra = ("request_body", "response_body", "purged_at") if kind == Kind.RECORD else ()
        for row in model.objects.filter(pk__in=ids).values(*columns, *extra):
            found[kind, row["id"]] = row
    return found


def _entry_problem(
    entry: AuditEntry,
    previous: str,
    rows: dict[tuple[str, int], dict[str, Any]],
    purges: dict[int, PurgeLog],
) -> str:
    what = f"{AuditEntry.Kind(entry.kind).label.lower()} {entry.object_id}"
    if entry.previous != previous:
        if previous == GENESIS:
            return f"the chain starts at entry {entry.pk}, after entries that were removed"
        return f"entry {entry.pk} ({what}) does not follow the one before it: entries were removed"
    if entry.mac != _mac(entry.previous, entry.kind, entry.object_id, entry.content_sha256):
        return f"entry {entry.pk} ({what}) was changed"
    row = rows.get((entry.kind, entry.object_id))
    if row is None:
        return f"{what} was removed"
    row = dict(row)
    if entry.kind == Kind.RECORD:
        request_body, response_body = row.pop("request_body"), row.pop("response_body")
        purged_at = row.pop("purged_at")
        if purged_at is None:
            if bodies_digest(request_body, response_body) != entry.body_sha256:
                return f"record {entry.object_id}'s request or response body was changed"
        elif request_body or response_body or not _purged_by(row, purged_at, purges):
            return f"record {entry.object_id} is marked purged, but no purge removed its bodies"
    if _content_digest(row, entry.body_sha256) != entry.content_sha256:
        return f"{what} was changed"
    return ""


def _purged_by(row: dict[str, Any], purged_at: Any, purges: dict[int, PurgeLog]) -> bool:
    return any(
        p.first_id is not None
        and p.first_id <= row["id"] <= p.last_id
        and row["created_at"] < p.cutoff
        and abs((p.ran_at - purged_at).total_seconds()) < 3600
        for p in purges.values()
    )


def _unchained_problem() -> str:
    """Rows written without an entry: inserted behind the console's back."""
    for kind, (model, _) in HASHED.items():
        rows = model.objects.all()
        if kind == Kind.RECORD:
            rows = rows.filter(state__in=Submission.FINAL_STATES)
        chained = AuditEntry.objects.filter(kind=kind).values("object_id")
        stray = rows.exclude(pk__in=chained).order_by("pk").values_list("pk", flat=True).first()
        if stray is not None:
            label = AuditEntry.Kind(kind).label.lower()
            return f"{label} {stray} is in no chain entry: it was inserted outside the console"
    return ""


def _in_chain(mac: str) -> bool:
    return AuditEntry.objects.filter(mac=mac).exists()
