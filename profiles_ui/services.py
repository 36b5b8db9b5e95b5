"""The one place that sends to Altcraft.

Order matters: the record is written (pending) before the request leaves, so a crash in the
middle still leaves a trace with its Request-ID; it is finalised exactly once afterwards.
"""

import copy
import threading
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db import connection as database
from django.utils import timezone

from altcraft.client import (
    TOKEN_PLACEHOLDER,
    AltcraftClient,
    AltcraftResponse,
    TransportError,
)
from altcraft.codec import decode, encode_json, encode_xml
from altcraft.formats import int_or_none
from profiles_ui import audit
from profiles_ui.bulk import outcomes
from profiles_ui.connections import Connection, get_connection
from profiles_ui.history import identifiers as found
from profiles_ui.models import Identifier, Submission
from profiles_ui.roles import user_role

_clients: dict[tuple[str, str], AltcraftClient] = {}
_clients_lock = threading.Lock()


def client_for(connection: Connection) -> AltcraftClient:
    """One pooled client per connection for the life of the process."""
    key = (connection.name, connection.base_url)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = AltcraftClient(
                connection.base_url,
                connect_timeout=settings.ALTCRAFT_CONNECT_TIMEOUT,
                read_timeout=settings.ALTCRAFT_READ_TIMEOUT,
                retries=settings.ALTCRAFT_RETRIES,
                backoff=settings.ALTCRAFT_RETRY_BACKOFF,
            )
        return _clients[key]


def request_body(payload: dict[str, Any], fmt: str, connection: Connection) -> bytes:
    """The exact bytes that are previewed, recorded and sent, but with the token a placeholder.

    The token goes first so the client can swap in the real one without re-encoding.
    """
    if connection.token_placement == "body":  # noqa: S105 - a placement, not a secret
        payload = {"token": TOKEN_PLACEHOLDER, **{k: v for k, v in payload.items() if k != "token"}}
    return encode_json(payload) if fmt == "json" else encode_xml(payload)


def identifiers(payload: dict[str, Any]) -> dict[str, Any]:
    """Who the request is about, copied onto the record for search and the timeline."""
    data = payload.get("data")
    profile = data if isinstance(data, dict) else {}
    phones = profile.get("phones")
    first_phone = phones[0] if isinstance(phones, list) and phones else ""
    return {
        "matching": str(payload.get("matching") or ""),
        "email": str(payload.get("email") or profile.get("email") or "")[:254],
        "phone": str(payload.get("phone") or first_phone or "")[:32],
        "profile_id": str(payload.get("profile_id") or "")[:64],
        "db_id": int_or_none(payload.get("db_id")),
        "workflow_id": int_or_none(payload.get("workflow_id")),
        "profile_count": len(data) if isinstance(data, list) else 1,
    }


def submit(
    *,
    user: AbstractBaseUser,
    connection: Connection,
    operation: str,
    payload: dict[str, Any],
    fmt: str = "json",
    parent: Submission | None = None,
    reason: str = "",
    request_id: uuid.UUID | None = None,
) -> Submission:
    """Record, send and finalise one request built from `payload`; returns the final record."""
    record = record_pending(
        user=user,
        connection=connection,
        operation=operation,
        body=request_body(payload, fmt, connection),
        fmt=fmt,
        about=identifiers(payload),
        parent=parent,
        reason=reason,
        request_id=request_id,
        payload=payload,
    )
    return deliver(record, connection)


def resend(
    record: Submission,
    *,
    user: AbstractBaseUser,
    reason: str,
    request_id: uuid.UUID | None = None,
) -> Submission:
    """Send a recorded body again, byte for byte, as a new record with a new Request-ID."""
    if not record.is_final:
        raise ResendRefused("this record is still pending; wait for its answer first")
    connection = get_connection(record.connection)
    if connection is None:
        raise ResendRefused(f"the connection {record.connection!r} no longer exists")
    if record.purged_at or not record.request_body:
        raise ResendRefused("this record's body was removed by the retention purge")
    about = {
        name: getattr(record, name)
        for name in ("matching", "email", "phone", "profile_id", "db_id", "workflow_id")
    }
    new_record = record_pending(
        user=user,
        connection=connection,
        operation=record.operation,
        body=record.request_body.encode(),
        fmt=record.format,
        about={**about, "profile_count": record.profile_count},
        parent=record,
        reason=reason,
        request_id=request_id,
    )
    return deliver(new_record, connection)


class ResendRefused(Exception):
    """A recorded request cannot be sent again; the message says why."""


def record_pending(
    *,
    user: AbstractBaseUser,
    connection: Connection,
    operation: str,
    body: bytes,
    fmt: str,
    about: dict[str, Any],
    parent: Submission | None = None,
    reason: str = "",
    request_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    found_rows: list[found.Found] | None = None,
) -> Submission:
    """The trace that exists before anything leaves: who, where, what, and its Request-ID.

    Every customer identifier the request carries is indexed with it, in the same transaction:
    `found_rows` where the caller has them normalised (a bulk chunk's, found by its check),
    else from `payload`, the body as a dict where the caller has it, else from the body read.

    A Request-ID is used once: a form posted twice (a double click, a reload) carries the same
    one, and the second post gets the first post's record instead of sending again.
    """
    request_id = request_id or uuid.uuid4()
    try:
        with transaction.atomic():
            record = Submission.objects.create(
                user=user,
                username=user.get_username(),
                role=user_role(user),
                connection=connection.name,
                connection_production=connection.production,
                operation=operation,
                url=client_for(connection).url(operation),
                format=fmt,
                request_id=request_id,
                request_body=body.decode(),
                parent=parent,
                reason=reason,
                **about,
            )
            if found_rows is None:
                if payload is None:
                    payload = payload_of(body, fmt, operation)
                found_rows = found.normalised(
                    found.found_in(payload), found.phone_region(connection)
                )
            write_identifiers(record, found_rows)
            return record
    except IntegrityError:
        earlier = Submission.objects.filter(request_id=request_id).first()
        if earlier is None:
            raise
        raise AlreadySent(earlier) from None


def payload_of(body: bytes, fmt: str, operation: str) -> dict[str, Any]:
    """A recorded body as a dict, for its identifiers; {} when it cannot be read."""
    try:
        return decode(body, fmt, operation=operation)
    except Exception:  # noqa: BLE001 - an unreadable body has no identifiers to index
        return {}


def index_identifiers(record: Submission, raw: Any, region: str) -> int:
    """Normalise and write a record's identifiers; the caller holds the transaction."""
    return write_identifiers(record, found.normalised(raw, region))


def write_identifiers(record: Submission, rows: list[found.Found]) -> int:
    """Write normalised identifier rows of a record; the caller holds the transaction.

    On PostgreSQL by COPY: a 10,000-profile chunk carries some 30,000, and COPY writes them in
    a fraction of the time of INSERTs (bench_bulk).
    """
    if database.vendor != "postgresql":
        Identifier.objects.bulk_create(
            [
                Identifier(submission_id=record.pk, row=row, kind=kind, value=value)
                for row, kind, value in rows
            ],
            batch_size=5_000,
        )
        return len(rows)
    table = Identifier._meta.db_table
    with (
        database.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} (submission_id, row, kind, value) FROM STDIN") as copy,
    ):
        for row, kind, value in rows:
            copy.write_row((record.pk, row, kind, value))
    return len(rows)


class AlreadySent(Exception):  # noqa: N818 - a condition, not a failure
    """This Request-ID was recorded before: `record` is what was sent under it."""

    def __init__(self, record: Submission) -> None:
        super().__init__(f"Request-ID {record.request_id} was already sent (record {record.pk})")
        self.record = record


def request_id_from(form_token: str) -> uuid.UUID:
    """The Request-ID a form's token stands for; a new one when the token is not a UUID."""
    try:
        return uuid.UUID(form_token)
    except ValueError:
        return uuid.uuid4()


def deliver(record: Submission, connection: Connection, body: bytes | None = None) -> Submission:
    """Send a pending record's body and finalise it.

    Safe to call again for a record left pending by a crash: the same Request-ID goes out, so
    Altcraft answers a request it already applied with its first answer and applies nothing.
    `body` is the record's body as bytes, where the caller has them: a batch chunk's is up to
    10 MB, and each parallel stream would otherwise hold a second copy while it sends.
    """
    try:
        response = client_for(connection).send(
            record.operation,
            body if body is not None else record.request_body.encode(),
            fmt=record.format,
            token=connection.token(),
            token_placement=connection.token_placement,
            request_id=record.request_id,
        )
    except TransportError as exc:
        return finalise(
            record,
            state=Submission.State.TRANSPORT_FAILED,
            transport_error=exc.reason,
            attempts=exc.attempts,
            duration_ms=exc.duration_ms,
        )
    return finalise(record, **outcome(response, record))


def outcome(response: AltcraftResponse, record: Submission) -> dict[str, Any]:
    if response.status >= 500 and not response.duplicate:
        # Altcraft failed while handling the request, perhaps after applying it: whatever
        # the body says, nothing is known of the outcome (contract decisions: HTTP 5xx are
        # transport-level faults, application errors come as HTTP 200).
        state = Submission.State.OUTCOME_UNKNOWN
    elif response.bad_response:
        state = Submission.State.BAD_RESPONSE
    elif response.duplicate and response.attempts == 1:
        # Altcraft had this Request-ID before this submission began (a resumed chunk, say):
        # it answered with its first response and applied nothing. A duplicate answer to our
        # own retry is just our first attempt's answer, and is judged by its error below.
        state = Submission.State.DUPLICATE
    elif response.error == 0:
        state = Submission.State.SUCCEEDED
    else:
        state = Submission.State.REJECTED
    return {
        "state": state,
        "response_status": response.status,
        "response_headers": response.headers,
        "response_body": response.body,
        "error": response.error,
        "error_text": response.error_text if not response.bad_response else response.bad_response,
        "results": response.results,
        "profile_id": (response.profile_id or record.profile_id)[:64],
        "duration_ms": response.duration_ms,
        "attempts": response.attempts,
    }


def finalise(record: Submission, **fields: Any) -> Submission:
    """The only change a record ever gets: pending to final, once."""
    fields["finished_at"] = timezone.now()
    answered = copy.copy(record)
    for name, value in fields.items():
        setattr(answered, name, value)
    fields.update(outcomes.rows_columns(answered))
    bodies = audit.bodies_digest(record.request_body, fields.get("response_body", ""))
    with transaction.atomic():
        updated = Submission.objects.filter(pk=record.pk, state=Submission.State.PENDING).update(
            **fields
        )
        if updated != 1:
            raise RuntimeError(f"Submission {record.pk} was already final")
        # The request's own profile_id was indexed with it; only what the answer adds is new.
        new_id = fields.get("profile_id") if fields.get("profile_id") != record.profile_id else None
        answer = found.found_in({}, fields.get("results"), new_id)
        index_identifiers(record, answer, found.phone_region(get_connection(record.connection)))
        audit.append(audit.Kind.RECORD, record, body_sha256=bodies)
    # Set in memory rather than reloading: a batch chunk's body can be 10 MB.
    for name, value in fields.items():
        setattr(record, name, value)
    return record


class LookupFailed(Exception):
    """A read-only call (databases/list, resources/fields_get...) gave no usable answer."""


def lookup(connection: Connection, method: str, params: dict[str, Any] | None = None) -> dict:
    """Ask Altcraft for reference data. Read-only, so not recorded in the history."""
    body = request_body(params or {}, "json", connection)
    try:
        response = client_for(connection).send(
            method,
            body,
            fmt="json",
            token=connection.token(),
            token_placement=connection.token_placement,
        )
    except TransportError as exc:
        raise LookupFailed(f"{method}: {exc.reason}") from None
    if response.bad_response:
        raise LookupFailed(f"{method}: {response.bad_response}")
    if not response.ok:
        raise LookupFailed(
            f"{method}: Altcraft answered error {response.error}: {response.error_text}"
        )
    return response.data or {}
